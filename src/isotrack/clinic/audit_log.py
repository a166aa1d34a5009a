"""The practice's audit, for its administrators and auditors: every change (the audit rows) and every look
(the access rows) in one list, newest first, filtered by person, patient, kind and dates, read a page at a
time by key in the database (``before``: the last row shown), and whole as CSV (streamed, in chunks).

Labels are words, not codes: a change's code (``weight.record``) reads "Weight recorded", a look's view
(``course``) "Course page"; the code stays beside the label in the CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import CharField, F, Q, QuerySet, Value

from isotrack.audit.models import AccessEvent, AuditEvent
from isotrack.clinic.inputs import whole_number
from isotrack.clinic.models import Patient, Practice, StaffUser

PAGE_SIZE = 50
KINDS = {"all": "Changes and looks", "changes": "Changes", "looks": "Looks"}
CHANNELS = {
    "page": "page",
    "print": "print view",
    "api": "API",
    "fhir": "FHIR",
    "cds": "CDS Hooks",
    "feed": "calendar feed",
}
_VERBS = {
    "record": "recorded",
    "change": "changed",
    "void": "voided",
    "correct": "corrected",
    "register": "registered",
    "start": "started",
    "activate": "activated",
    "end": "ended",
    "stop": "stopped",
    "prescribe": "prescribed",
    "acknowledge": "acknowledged",
    "create": "created",
    "revoke": "revoked",
    "invite": "invited",
    "import": "imported",
    "category": "category assigned",
    "contact": "contact details changed",
}
_VIEWS = {
    "home": "Worklist",
    "patients": "Patient list",
    "patient": "Patient page",
    "patient_audit": "Patient's audit trail",
    "course": "Course page",
    "course_print": "Course, printed",
    "calendar": "Calendar",
    "calendar_feed": "Calendar feed",
    "fhir_everything": "FHIR Patient $everything",
    "fhir_read": "FHIR read",
    "fhir_search": "FHIR search",
    "cds_service": "CDS Hooks card",
    "practice_audit": "Practice audit",
}


def change_label(code: str) -> str:
    """``weight.record`` → "Weight recorded", ``ipledge.prescriber_confirmation`` → "iPLEDGE prescriber
    confirmation"."""
    thing, _, verb = code.partition(".")
    words = thing.replace("_", " ").replace("-", " ")
    words = "iPLEDGE" if words == "ipledge" else words.capitalize()
    if verb in _VERBS:
        return f"{words} {_VERBS[verb]}"
    return f"{words} {verb.replace('_', ' ').replace('-', ' ')}".strip()


def look_label(view: str) -> str:
    if view in _VIEWS:
        return _VIEWS[view]
    if ":" in view:  # the JSON API's views, named by django-ninja: api-1.0.0:list_patients
        return "API " + view.split(":", 1)[1].replace("_", " ")
    return view.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Filters:
    person: StaffUser | None = None
    patient: Patient | None = None
    kind: str = "all"
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Row:
    at: datetime
    kind: str  # change, look
    code: str  # the change's code, or the look's view
    label: str
    actor: str
    actor_uuid: Any
    patient_mrn: str
    patient_uuid: Any
    channel: str
    detail: str
    key: str  # the row's place in the list, for the next page

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel)


def _bounds(practice: Practice, filters: Filters) -> Q:
    zone = ZoneInfo(practice.time_zone)
    bounds = Q()
    if filters.since is not None:
        bounds &= Q(at__gte=datetime.combine(filters.since, time.min, tzinfo=zone))
    if filters.until is not None:
        bounds &= Q(at__lt=datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=zone))
    if filters.person is not None:
        bounds &= Q(actor=filters.person)
    if filters.patient is not None:
        bounds &= Q(patient=filters.patient)
    return bounds


def _after(kind: str, before: tuple[datetime, str, int] | None) -> Q:
    """The rows of one kind that come after the key ``before`` in the list's order: time, then kind (looks
    before changes at the same instant), then id, each newest first. Ids of the two tables may be equal: the
    kind tells them apart."""
    if before is None:
        return Q()
    at, key_kind, row_id = before
    if kind == key_kind:
        return Q(at__lt=at) | Q(at=at, id__lt=row_id)
    return Q(at__lt=at) | Q(at=at) if kind < key_kind else Q(at__lt=at)


def _parts(practice: Practice, filters: Filters, before: tuple[datetime, str, int] | None) -> QuerySet[Any]:
    """Both kinds of row as one shape (at, kind, id, code, actor, patient, channel, detail), newest first."""
    where = Q(practice=practice) & _bounds(practice, filters)
    fields = ("at", "kind", "id", "code", "actor_id", "patient_id", "channel", "detail")
    changes = (
        AuditEvent.objects.filter(where & _after("change", before))
        .annotate(
            kind=Value("change", output_field=CharField()),
            code=F("action"),
            channel=Value("", output_field=CharField()),
            detail=F("reason"),
        )
        .values_list(*fields)
    )
    looks = (
        AccessEvent.objects.filter(where & _after("look", before))
        .annotate(kind=Value("look", output_field=CharField()), code=F("view"))
        .values_list(*fields)
    )
    if filters.kind == "changes":
        return changes.order_by("-at", "-kind", "-id")
    if filters.kind == "looks":
        return looks.order_by("-at", "-kind", "-id")
    return changes.order_by().union(looks.order_by(), all=True).order_by("-at", "-kind", "-id")


def page(practice: Practice, filters: Filters, before: str | None) -> tuple[list[Row], str | None]:
    """One page of the list, newest first, from after ``before`` (a row's key); and the key of the next page
    (None: this is the last)."""
    found = list(_parts(practice, filters, parse_key(before))[: PAGE_SIZE + 1])
    rows = _rows(found[:PAGE_SIZE])
    return rows, (rows[-1].key if len(found) > PAGE_SIZE else None)


def every_row(practice: Practice, filters: Filters, chunk: int = 2000) -> Iterator[Row]:
    """The whole list, newest first, read a chunk at a time (the CSV)."""
    before = None
    while True:
        found = list(_parts(practice, filters, before)[:chunk])
        yield from _rows(found)
        if len(found) < chunk:
            return
        before = (found[-1][0], found[-1][1], found[-1][2])


def _rows(found: list[tuple[Any, ...]]) -> list[Row]:
    actors = StaffUser.objects.in_bulk({values[4] for values in found})
    patients = Patient.objects.in_bulk({values[5] for values in found if values[5] is not None})
    rows = []
    for at, kind, row_id, code, actor_id, patient_id, channel, detail in found:
        actor, patient = actors[actor_id], patients.get(patient_id)
        rows.append(
            Row(
                at=at,
                kind=kind,
                code=code,
                label=change_label(code) if kind == "change" else look_label(code),
                actor=actor.display_name,
                actor_uuid=actor.uuid,
                patient_mrn=patient.mrn if patient is not None else "",
                patient_uuid=patient.uuid if patient is not None else None,
                channel=channel,
                detail=detail,
                key=f"{at.isoformat()}~{kind}~{row_id}",
            )
        )
    return rows


def parse_key(text: str | None) -> tuple[datetime, str, int] | None:
    """A row's key as ``page`` gave it, or None (none given, or not one: the first page)."""
    parts = (text or "").split("~")
    if len(parts) != 3 or parts[1] not in ("change", "look") or whole_number(parts[2], digits=18) is None:
        return None
    try:
        instant = datetime.fromisoformat(parts[0])
    except ValueError:
        return None
    return (instant, parts[1], int(parts[2])) if instant.tzinfo is not None else None
