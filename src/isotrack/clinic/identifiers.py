"""The systems of the patient identifiers isotrack issues and reads: the practice's MRN and the iPLEDGE id.
The FHIR server serves them (``api.fhir.resources`` imports them from here), the lab import matches patients
by them (``clinic.imports.labs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isotrack.clinic.models import Practice

MRN_SYSTEM = "urn:isotrack:mrn"  # + ":<practice uuid>": an MRN is unique within its practice
IPLEDGE_ID_SYSTEM = "urn:isotrack:ipledge-id"


def mrn_system(practice: Practice) -> str:
    """The MRN system of one practice: ``urn:isotrack:mrn:<practice uuid>``."""
    return f"{MRN_SYSTEM}:{practice.uuid}"
