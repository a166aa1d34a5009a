"""The systems of the patient identifiers isotrack issues and reads: the practice's MRN and the iPLEDGE id.
The FHIR server serves them (``api.fhir.resources`` imports them from here); the lab import, CDS Hooks and the
FHIR searches match patients by them (``mrn_systems``: the practice's own MRN system and the other names the
practice gave its MRNs, ``Practice.mrn_aliases``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from isotrack.clinic.errors import InvalidInput

if TYPE_CHECKING:
    from isotrack.clinic.models import Practice

MRN_SYSTEM = "urn:isotrack:mrn"  # + ":<practice uuid>": an MRN is unique within its practice
IPLEDGE_ID_SYSTEM = "urn:isotrack:ipledge-id"
ALIASES_MAX = 20  # other names of one practice's MRNs
ALIAS_MAX = 255  # characters of one
OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
ALIAS = re.compile(r"[!-~]+")  # printable ASCII, no space: a URI, an OID or an HL7 namespace id


def mrn_system(practice: Practice) -> str:
    """The MRN system of one practice: ``urn:isotrack:mrn:<practice uuid>``."""
    return f"{MRN_SYSTEM}:{practice.uuid}"


def mrn_systems(practice: Practice) -> frozenset[str]:
    """Every name an identifier of the practice's MRNs may carry: isotrack's system, and each alias the
    practice set, an OID both bare (HL7's universal id) and as ``urn:oid:`` (FHIR's system)."""
    names = {mrn_system(practice)}
    for alias in practice.mrn_aliases or ():
        names.add(alias)
        bare = alias.removeprefix("urn:oid:")
        if OID.fullmatch(bare):
            names |= {bare, f"urn:oid:{bare}"}
    return frozenset(names)


def clean_mrn_aliases(value: object) -> list[str]:
    """The aliases as stored: trimmed, in order, each once. ``InvalidInput`` (field ``mrn_aliases``) names
    what is wrong: not text, too many or too long, a space or a control character, or one of isotrack's own
    systems (an MRN of another practice, or the iPLEDGE id, is never this practice's MRN)."""
    if not isinstance(value, list) or not all(isinstance(alias, str) for alias in value):
        raise InvalidInput("The other names of the MRNs are a list of text.", field="mrn_aliases")
    aliases = list(dict.fromkeys(alias.strip() for alias in value if alias.strip()))
    if len(aliases) > ALIASES_MAX:
        raise InvalidInput(f"At most {ALIASES_MAX} other names of the MRNs.", field="mrn_aliases")
    for alias in aliases:
        if len(alias) > ALIAS_MAX or not ALIAS.fullmatch(alias):
            raise InvalidInput(
                f"{alias[:40]!r} is not a name of an identifier system: a URI, an OID or an HL7 assigning "
                f"authority, without spaces, at most {ALIAS_MAX} characters.",
                field="mrn_aliases",
            )
        if alias.lower().startswith("urn:isotrack:"):
            raise InvalidInput(
                f"{alias[:60]!r} is one of isotrack's own systems: isotrack knows its own.",
                field="mrn_aliases",
            )
    return aliases
