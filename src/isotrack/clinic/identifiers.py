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
ALIAS_MIN = 3  # characters: "MR", "L" or "1" names no assigning authority
HL7_DELIMITERS = set("|^~\\&")  # a pasted HL7 field ("LAB&1.2.3&ISO") is not one name: it would never match
# Names that are never an MRN system: HL7 identifier types (table 0203) and universal id types (0301), coding
# systems, and the systems of other numbers (SSN, NPI) and codes (LOINC, SNOMED CT). An alias among them would
# make a lab's type code, or a patient's social security number, read as an MRN.
NEVER_MRN_SYSTEMS = frozenset(
    {
        "npi",
        "prn",
        "ppn",
        "anon",
        "iso",
        "dns",
        "uri",
        "url",
        "uuid",
        "guid",
        "hcd",
        "clia",
        "clip",
        "x400",
        "x500",
        "hl7",
        "loinc",
        "sct",
        "snomed",
        "ucum",
        "icd10",
        "rxnorm",
        "http://hl7.org/fhir/sid/us-ssn",
        "http://hl7.org/fhir/sid/us-npi",
        "http://hl7.org/fhir/sid/us-mbi",
        "http://loinc.org",
        "http://snomed.info/sct",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "2.16.840.1.113883.4.1",
        "2.16.840.1.113883.4.6",
        "2.16.840.1.113883.6.1",
        "2.16.840.1.113883.6.96",
        "2.16.840.1.113883.6.88",
    }
)


def mrn_system(practice: Practice) -> str:
    """The MRN system of one practice: ``urn:isotrack:mrn:<practice uuid>``."""
    return f"{MRN_SYSTEM}:{practice.uuid}"


def _oid_urn_lowercase(alias: str) -> str:
    """``URN:OID:1.2.3`` as ``urn:oid:1.2.3``: the scheme is case-insensitive; FHIR writes it lowercase."""
    return f"urn:oid:{alias[8:]}" if alias.lower().startswith("urn:oid:") else alias


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


def typed_as_mrn(identifier: dict[str, object]) -> bool:
    """Whether a FHIR identifier's ``type`` lets it be an MRN: none given, or a coding (or text) MR. An EHR or
    a lab may issue several kinds of number under one system (MR, PI, AN...): only an MRN matches as one."""
    kind = identifier.get("type")
    if kind is None:
        return True
    if not isinstance(kind, dict):
        return False
    codings = kind.get("coding")
    codes = [c.get("code") for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []
    given = [code for code in codes if code] or ([kind["text"]] if kind.get("text") else [])
    return not given or any(isinstance(code, str) and code.strip().upper() == "MR" for code in given)


def clean_mrn_aliases(value: object) -> list[str]:
    """The aliases as stored: trimmed, in order, each once. ``InvalidInput`` (field ``mrn_aliases``) names
    what is wrong: not text, too many or too long, a space or a control character, or one of isotrack's own
    systems (an MRN of another practice, or the iPLEDGE id, is never this practice's MRN)."""
    if not isinstance(value, list) or not all(isinstance(alias, str) for alias in value):
        raise InvalidInput("The other names of the MRNs are a list of text.", field="mrn_aliases")
    aliases = list(dict.fromkeys(_oid_urn_lowercase(alias.strip()) for alias in value if alias.strip()))
    if len(aliases) > ALIASES_MAX:
        raise InvalidInput(f"At most {ALIASES_MAX} other names of the MRNs.", field="mrn_aliases")
    for alias in aliases:
        if len(alias) > ALIAS_MAX or not ALIAS.fullmatch(alias):
            raise InvalidInput(
                f"{alias[:40]!r} is not a name of an identifier system: a URI, an OID or an HL7 assigning "
                f"authority, without spaces, at most {ALIAS_MAX} characters.",
                field="mrn_aliases",
            )
        if len(alias) < ALIAS_MIN or set(alias) & HL7_DELIMITERS:
            raise InvalidInput(
                f"{alias[:40]!r} is not one name of an identifier system: at least {ALIAS_MIN} characters, "
                "and none of HL7's delimiters | ^ ~ \\ & (give the namespace id or the universal id alone).",
                field="mrn_aliases",
            )
        if alias.lower().removeprefix("urn:oid:") in NEVER_MRN_SYSTEMS:
            raise InvalidInput(
                f"{alias[:60]!r} names a kind of code or another number (a type, a coding system, SSN, NPI), "
                "never an MRN system.",
                field="mrn_aliases",
            )
        if alias.lower().startswith("urn:isotrack:"):
            raise InvalidInput(
                f"{alias[:60]!r} is one of isotrack's own systems: isotrack knows its own.",
                field="mrn_aliases",
            )
    return aliases
