"""FHIR searches as FHIR R4 defines them (https://hl7.org/fhir/R4/search.html): the parameters each resource
type supports, their values parsed and matched by type (token, string, date, reference), and what a search
does with a parameter it does not support.

A client that matches a patient by MRN must never get every patient because the server ignored what it asked.
So every parameter is either supported, and applied, or named: with ``Prefer: handling=strict`` a search with
an unsupported parameter (or modifier) answers 400 with an OperationOutcome; without it (lenient, FHIR's
default) the parameter is left out of the Bundle's ``self`` link and an OperationOutcome entry names it. A
value that cannot be read (a date that is not one, ``_count=many``) is refused in both modes.

Patient searches run in the database (``patient_filter``, paged by ``_count`` and ``_offset``). Every other
type is searched within one patient's resources (``patient`` is required), matched here on the resources'
JSON (``matches``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.http import QueryDict

from isotrack.api.fhir.resources import IPLEDGE_ID_SYSTEM, MRN_SYSTEM
from isotrack.clinic.inputs import whole_number

SPEC = "http://hl7.org/fhir/SearchParameter"
UTC_ZONE = ZoneInfo("UTC")
PAGE_COUNT, MAX_COUNT = 50, 200  # _count when none is given, and at most


class SearchError(ValueError):
    """A search that cannot be run as asked: 400 with an OperationOutcome."""


@dataclass(frozen=True)
class Param:
    """One supported search parameter: its name, FHIR type, the SearchParameter it implements, what it means
    here, and (for searches within a patient's resources) where its values are in a resource's JSON."""

    name: str
    type: str  # token, string, date, reference
    definition: str
    documentation: str
    values: Callable[..., list[Any]] = field(default=lambda resource, zone: [], compare=False)
    modifiers: tuple[str, ...] = ()


def _codings(*path: str) -> Callable[[dict[str, Any], ZoneInfo], list[Any]]:
    """The codings (``{system, code}``) of the CodeableConcept(s) at the path."""

    def values(resource: dict[str, Any], zone: ZoneInfo) -> list[Any]:
        concepts = _at(resource, path)
        return [coding for concept in concepts for coding in concept.get("coding", [])]

    return values


def _code(name: str) -> Callable[[dict[str, Any], ZoneInfo], list[Any]]:
    """A plain ``code`` element (a status): a coding with no system."""
    return lambda resource, zone: [{"code": resource[name]}] if name in resource else []


def _dates(*names: str) -> Callable[[dict[str, Any], ZoneInfo], list[Any]]:
    """The day ranges of the first of the elements present: a date, a dateTime (its day where the practice
    is) or a Period."""

    def values(resource: dict[str, Any], zone: ZoneInfo) -> list[Any]:
        for name in names:
            value = resource.get(name)
            if isinstance(value, str):
                return [_range(_day(value, zone))]
            if isinstance(value, dict) and value.get("start"):
                end = _range(_day(value["end"], zone))[1] if value.get("end") else date.max
                return [(_range(_day(value["start"], zone))[0], end)]
        return []

    return values


def _day(value: str, zone: ZoneInfo) -> str:
    """A FHIR date as it is; a dateTime with its offset as the day it falls on in ``zone``."""
    if "T" not in value:
        return value
    try:
        return datetime.fromisoformat(value).astimezone(zone).date().isoformat()
    except ValueError:
        return value[:10]


def _at(resource: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    found: list[Any] = [resource]
    for step in path:
        nxt: list[Any] = []
        for item in found:
            value = item.get(step) if isinstance(item, dict) else None
            nxt += value if isinstance(value, list) else [] if value is None else [value]
        found = nxt
    return found


_ID = Param("_id", "token", f"{SPEC}/Resource-id", "The resource's id.", lambda r, zone: [{"code": r["id"]}])
_PATIENT = Param(
    "patient",
    "reference",
    f"{SPEC}/clinical-patient",
    "The patient whose record it is: Patient/<id> or <id> (required for every type but Patient).",
)
_STATUS = Param("status", "token", "", "The resource's status code.", _code("status"))
RESULT_PARAMS = {
    "_count": "How many matches a page holds (1-200; 50 when not given).",
    "_offset": "How many matches the page skips (the next link carries it).",
}
SUPPORTED: dict[str, tuple[Param, ...]] = {
    "Patient": (
        _ID,
        Param(
            "patient",
            "reference",
            "",
            "The same as _id (Patient/<id> or <id>): kept from isotrack's earlier search by patient.",
        ),
        Param(
            "identifier",
            "token",
            f"{SPEC}/Patient-identifier",
            f"system|value: the MRN ({MRN_SYSTEM}:<practice id>, or another name the practice gave its "
            f"MRNs: the EHR's MRN system) or the iPLEDGE id ({IPLEDGE_ID_SYSTEM}).",
        ),
        Param(
            "name",
            "string",
            f"{SPEC}/Patient-name",
            "Family or given name (or one of its words) starts with, any case; :exact, the whole family or "
            "given name as written; :contains, anywhere.",
            modifiers=("exact", "contains"),
        ),
        Param(
            "family", "string", f"{SPEC}/individual-family", "Family name.", modifiers=("exact", "contains")
        ),
        Param("given", "string", f"{SPEC}/individual-given", "Given name.", modifiers=("exact", "contains")),
        Param(
            "birthdate",
            "date",
            f"{SPEC}/individual-birthdate",
            "Date of birth, with a prefix (eq, ne, lt, gt, le, ge, sa, eb) and as a year, month or day.",
        ),
    ),
    "Observation": (
        _ID,
        _PATIENT,
        Param(
            "category",
            "token",
            f"{SPEC}/Observation-category",
            "laboratory, vital-signs, survey or social-history (system|code).",
            _codings("category"),
        ),
        Param("code", "token", f"{SPEC}/clinical-code", "LOINC code (system|code).", _codings("code")),
        Param(
            "date",
            "date",
            f"{SPEC}/clinical-date",
            "When it was observed, with a prefix (eq, ne, lt, gt, le, ge, sa, eb).",
            _dates("effectiveDateTime", "effectivePeriod"),
        ),
    ),
    "Condition": (
        _ID,
        _PATIENT,
        Param(
            "category",
            "token",
            f"{SPEC}/Condition-category",
            "encounter-diagnosis, every course's indication (system|code).",
            _codings("category"),
        ),
        Param("code", "token", f"{SPEC}/clinical-code", "ICD-10-CM code (system|code).", _codings("code")),
        Param(
            "clinical-status",
            "token",
            f"{SPEC}/Condition-clinical-status",
            "active while the course is qualifying or under way (system|code); none once it ended.",
            _codings("clinicalStatus"),
        ),
    ),
    "CarePlan": (
        _ID,
        _PATIENT,
        replace(_STATUS, definition=f"{SPEC}/CarePlan-status"),
        Param(
            "date",
            "date",
            f"{SPEC}/clinical-date",
            "The course's period, with a prefix.",
            _dates("period"),
        ),
    ),
    "MedicationRequest": (
        _ID,
        _PATIENT,
        replace(_STATUS, definition=f"{SPEC}/medications-status"),
        Param(
            "code",
            "token",
            f"{SPEC}/clinical-code",
            "RxNorm code (system|code).",
            _codings("medicationCodeableConcept"),
        ),
        Param(
            "authoredon",
            "date",
            f"{SPEC}/MedicationRequest-authoredon",
            "When it was written, with a prefix.",
            _dates("authoredOn"),
        ),
    ),
    "MedicationDispense": (
        _ID,
        _PATIENT,
        replace(_STATUS, definition=f"{SPEC}/medications-status"),
        Param(
            "whenhandedover",
            "date",
            f"{SPEC}/MedicationDispense-whenhandedover",
            "When the patient picked it up, with a prefix.",
            _dates("whenHandedOver"),
        ),
    ),
    "MedicationStatement": (
        _ID,
        _PATIENT,
        replace(_STATUS, definition=f"{SPEC}/medications-status"),
        Param(
            "code",
            "token",
            f"{SPEC}/clinical-code",
            "RxNorm ingredient code (system|code), when isotrack knows it.",
            _codings("medicationCodeableConcept"),
        ),
        Param(
            "category",
            "token",
            f"{SPEC}/MedicationStatement-category",
            "isotrack's class of the medicine: urn:isotrack:medication-class|tetracycline, vitamin_a, "
            "enzyme_inducer or other.",
            _codings("category"),
        ),
        Param(
            "effective",
            "date",
            f"{SPEC}/MedicationStatement-effective",
            "The days it was taken, with a prefix.",
            _dates("effectivePeriod"),
        ),
    ),
    "DetectedIssue": (
        _ID,
        _PATIENT,
        Param(
            "code",
            "token",
            f"{SPEC}/DetectedIssue-code",
            "The rule or alert code (system|code).",
            _codings("code"),
        ),
    ),
    "Task": (
        _ID,
        replace(_PATIENT, definition=f"{SPEC}/Task-patient"),
        replace(_STATUS, definition=f"{SPEC}/Task-status"),
        Param("code", "token", f"{SPEC}/Task-code", "What is due (system|code).", _codings("code")),
    ),
}


@dataclass
class Search:
    """A search as it will run: the criteria (each parameter's values: all parameters must match, any one of
    a parameter's comma-separated values), the page, and what was left out."""

    kind: str
    criteria: list[tuple[Param, str, list[str]]]  # (parameter, modifier, values)
    count: int
    offset: int
    ignored: list[str]
    applied: QueryDict
    zone: ZoneInfo = field(default_factory=lambda: UTC_ZONE)

    def values_of(self, name: str) -> list[str]:
        return [value for param, _, values in self.criteria if param.name == name for value in values]


def strict(prefer: str) -> bool:
    """Whether the request's ``Prefer`` header asks for ``handling=strict`` (RFC 7240; FHIR 3.1.1.4)."""
    preferences = re.split(r"[,;]", prefer)
    return any(p.replace(" ", "").replace('"', "").lower() == "handling=strict" for p in preferences)


def parse(kind: str, query: QueryDict, *, strict_handling: bool, zone: ZoneInfo = UTC_ZONE) -> Search:
    """The search as asked (module docstring); ``zone`` is the practice's, in which a dateTime is a day."""
    supported = {param.name: param for param in SUPPORTED[kind]}
    criteria, ignored, applied = [], [], QueryDict(mutable=True)
    for key, values in query.lists():
        name, _, modifier = key.partition(":")
        if key in RESULT_PARAMS:
            continue
        param = supported.get(name)
        if param is None:
            if strict_handling:
                raise SearchError(f"{kind} searches do not support the parameter {key[:60]!r}.")
            ignored.append(key)
            continue
        if modifier and modifier not in param.modifiers:
            raise SearchError(f"The parameter {name} does not support the modifier :{modifier[:40]}.")
        for value in values:
            parts = [part.strip() for part in split(value, ",")]
            if not all(parts):  # "a," would add an empty alternative: a value that matches everything
                raise SearchError(f"The parameter {key[:60]} has an empty value (a comma in a value is \\,).")
            for part in parts:
                _check(param, part)
            criteria.append((param, modifier, parts))
            applied.appendlist(key, value)
    count = whole_number(query.get("_count", str(PAGE_COUNT)))
    offset = whole_number(query.get("_offset", "0"))
    if count is None or offset is None:
        raise SearchError("_count and _offset are whole numbers.")
    return Search(kind, criteria, min(count, MAX_COUNT), offset, ignored, applied, zone)


def split(value: str, separator: str) -> list[str]:
    """A parameter's value split at each ``separator`` that is not escaped (FHIR R4 3.1.1.6: ``\\,`` ``\\|``
    ``\\$`` ``\\\\`` stand for the character itself); the parts keep their escapes (``unescape``)."""
    parts, current, escaped = [], [], False
    for character in value:
        if escaped or character == "\\":
            escaped = not escaped and character == "\\"
            current.append(character)
        elif character == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current))
    return parts


def unescape(part: str) -> str:
    return re.sub(r"\\(.)", r"\1", part)


def _check(param: Param, value: str) -> None:
    if param.type == "date":
        date_criterion(value)


# ---------------------------------------------------------------------------------------------- dates

PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?")


def _range(text: str) -> tuple[date, date]:
    """The days a FHIR date of year, month or day precision stands for (a dateTime: its day)."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise SearchError(f"{text[:40]!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD).")
    year, month, day = (int(part) if part else None for part in match.groups())
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)  # type: ignore[arg-type]
        if day is None:
            first = date(year, month, 1)  # type: ignore[arg-type]
            return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        day_ = date(year, month, day)  # type: ignore[arg-type]
    except ValueError:
        raise SearchError(f"{text[:40]!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD).") from None
    return day_, day_


def date_criterion(value: str) -> tuple[str, tuple[date, date]]:
    prefix = value[:2] if value[:2] in PREFIXES else "eq"
    return prefix, _range(value[2:] if value[:2] in PREFIXES else value)


def date_matches(prefix: str, search: tuple[date, date], target: tuple[date, date]) -> bool:
    """FHIR's comparison of a target's range of days with a search value's (3.1.1.4.2): eq, the search range
    holds the target's; ne, it does not; gt/lt, the target reaches above/below it; ge/le, either; sa/eb, the
    target starts after/ends before it."""
    (low, high), (start, end) = search, target
    within = low <= start and end <= high
    return {
        "eq": within,
        "ne": not within,
        "gt": end > high,
        "lt": start < low,
        "ge": end > high or within,
        "le": start < low or within,
        "sa": start > high,
        "eb": end < low,
    }[prefix]


def _day_filter(column: str, prefix: str, search: tuple[date, date]) -> Q:
    """``date_matches`` for a column holding one day, as a database filter."""
    low, high = search
    return {
        "eq": Q(**{f"{column}__range": (low, high)}),
        "ne": ~Q(**{f"{column}__range": (low, high)}),
        "gt": Q(**{f"{column}__gt": high}),
        "lt": Q(**{f"{column}__lt": low}),
        "ge": Q(**{f"{column}__gte": low}),
        "le": Q(**{f"{column}__lte": high}),
        "sa": Q(**{f"{column}__gt": high}),
        "eb": Q(**{f"{column}__lt": low}),
    }[prefix]


# ---------------------------------------------------------------------------------------------- tokens


def token(value: str) -> tuple[str | None, str | None]:
    """``system|code`` (both), ``|code`` (no system), ``system|`` (any code), ``code`` (any system): the
    system (``""`` for none, ``None`` for any) and the code (``None`` for any)."""
    parts = split(value, "|")
    if len(parts) == 1:
        return None, unescape(parts[0])
    system, code = unescape(parts[0]), unescape("|".join(parts[1:]))
    return system, code or None


def token_matches(value: str, codings: Iterable[dict[str, Any]]) -> bool:
    system, code = token(value)
    return any(
        (system is None or coding.get("system", "") == system)
        and (code is None or coding.get("code") == code)
        for coding in codings
    )


# ---------------------------------------------------------------------------------------------- Patient


def patient_filter(search: Search, mrn_systems: frozenset[str]) -> Q:
    """The Patient search's criteria as one database filter over the practice's patients; ``mrn_systems``
    are the names of the practice's MRNs (``clinic.identifiers.mrn_systems``)."""
    where = Q()
    for param, modifier, values in search.criteria:
        either = Q(pk__in=[])
        for value in values:
            if param.name in ("_id", "patient"):
                either |= _by_id(value.removeprefix("Patient/"))
            elif param.name == "identifier":
                either |= _by_identifier(value, mrn_systems)
            elif param.name == "birthdate":
                either |= _day_filter("birth_date", *date_criterion(value))
            else:
                columns = {"name": ("family_name", "given_name"), "family": ("family_name",)}
                for column in columns.get(param.name, ("given_name",)):
                    either |= _by_string(column, modifier, value)
        where &= either
    return where


def _by_id(value: str) -> Q:
    try:
        return Q(uuid=uuid.UUID(unescape(value)))
    except ValueError:
        return Q(pk__in=[])  # no patient has it


def _by_identifier(value: str, mrn_systems: frozenset[str]) -> Q:
    system, code = token(value)
    if system is None:
        return Q(mrn=code) | Q(ipledge_id=code) if code else Q(pk__in=[])
    if system in mrn_systems:
        return Q(mrn=code) if code else Q()
    if system == IPLEDGE_ID_SYSTEM:
        return Q(ipledge_id=code) if code else ~Q(ipledge_id="")
    return Q(pk__in=[])  # "|code" or another assigning authority's system: none of ours


def _by_string(column: str, modifier: str, value: str) -> Q:
    """FHIR's string search: the name (or one of its words: "Ann" finds "Mary Ann") starts with the value,
    in any case; ``:exact``, the whole name as written; ``:contains``, anywhere. Accents count as written."""
    value = unescape(value)
    if modifier == "exact":
        return Q(**{f"{column}__exact": value})
    if modifier == "contains":
        return Q(**{f"{column}__icontains": value})
    return Q(**{f"{column}__istartswith": value}) | Q(**{f"{column}__icontains": f" {value}"})


# ---------------------------------------------------------------------------------------- other resources


def patient_references(search: Search, base: str) -> set[uuid.UUID] | None:
    """The patients a search within patients' resources names: every ``patient`` parameter must hold (their
    sets intersect), any of one parameter's values; ``None`` when it names none. A value is ``<id>``,
    ``Patient/<id>`` or this server's ``<base>Patient/<id>``; anything else is refused."""
    chosen = []
    for param, _, values in search.criteria:
        if param.name != "patient":
            continue
        named = set()
        for value in values:
            reference = unescape(value).removeprefix(base).removeprefix("Patient/")
            try:
                named.add(uuid.UUID(reference))
            except ValueError:
                raise SearchError(f"{value[:80]!r} is not a patient: <id> or Patient/<id>.") from None
        chosen.append(named)
    return set.intersection(*chosen) if chosen else None


def matches(search: Search, resource: dict[str, Any]) -> bool:
    """Whether one resource (its JSON) meets every criterion but ``patient`` (its search already chose the
    patient's resources)."""
    for param, _, values in search.criteria:
        if param.name == "patient":
            continue
        found = param.values(resource, search.zone)
        if param.type == "date":
            if not any(date_matches(*date_criterion(value), target) for value in values for target in found):
                return False
        elif not any(token_matches(value, found) for value in values):
            return False
    return True
