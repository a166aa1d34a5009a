"""The patient's check-in before a monthly visit (issue 17, items 2 and 3): the one-time link, the birth date
that opens it, the answers as the patient gave them.

- ``issue_check_in``: one check-in per course and visit; the link's secret is an HMAC of its UUID under the
  server's key (``secret_of``: kept nowhere, only its SHA-256 to find the check-in). It expires at the end of
  the visit's day in the practice's zone.
- ``open_check_in``: the birth date the patient types, compared with the record; ``CHECK_IN_TRIES`` wrong
  dates lock the link for good (the clinic sends no second one for that visit: the patient answers at the
  visit). Expired, locked or already answered links open nothing.
- ``submit_check_in``: the answers, checked (``CheckInAnswers.checked``), kept as reported. None of them is a
  record: the engine reads none but a report of thoughts of self-harm (PHQ-9 item 9 above 0), which puts the
  course first on the worklist in the same transaction (SELF_HARM_REPORTED, ``records._reported``).

The patient is no member of staff: these writes have no audit row of their own (the audit trail's rows name a
member of staff); the check-in row keeps when each thing happened, and the clinician who confirms the answers
records them with the patient as their source (``review_check_in``)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.clinic import queries
from isotrack.clinic.access import Capability
from isotrack.clinic.actions.base import check_course, record
from isotrack.clinic.actions.observations import record_mood_screen, record_side_effect
from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import CheckIn, ContraceptionMethodCode, Course, ReportSource, Severity, StaffUser
from isotrack.clinic.queries import practice_today
from isotrack.clinic.worklist_entries import mark_stale
from isotrack.core import plausibility

CHECK_IN_TRIES = 5  # wrong birth dates before the link locks
PHQ_ITEMS = 9
PHQ2_ITEMS = 2
PHQ_ANSWER = range(0, 4)  # each PHQ item: 0 (not at all) to 3 (nearly every day)
MISSED_PILLS_AT_MOST = 31
MEDICINES_AT_MOST = 5

# The common side effects a check-in asks about (reference.md: dry lips, dry skin and eyes, nosebleeds, joint
# and back pain; headache or changes in vision: MED-TETRA's warning signs; mood), in the patient's words.
SYMPTOMS: dict[str, str] = {
    "dry_lips": "Dry or cracked lips",
    "dry_skin": "Dry skin",
    "dry_eyes": "Dry or irritated eyes",
    "nosebleeds": "Nosebleeds",
    "joint_back_pain": "Joint or back pain",
    "headache_vision": "Headache or changes in your vision",
    "mood": "Feeling low, irritable or not like yourself",
}
NONE = "none"
SEVERITIES = (NONE, *Severity.values)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedCheckIn:
    check_in: CheckIn
    secret: str  # the link's secret: shown once, in the reminder; never kept


def expiry_of(course: Course, visit_date: dt.date) -> dt.datetime:
    """The end of the visit's day in the practice's zone."""
    zone = ZoneInfo(course.patient.practice.time_zone)
    return dt.datetime.combine(visit_date + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def secret_of(check_in: CheckIn) -> str:
    """The link's secret: an HMAC of the check-in's UUID under the server's key, so that it is kept nowhere
    (only its hash, to find the check-in) and any run can write the same link again."""
    message = f"isotrack-check-in:{check_in.uuid}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_check_in(*, course: Course, visit_date: dt.date) -> IssuedCheckIn:
    """The visit's check-in (one per course and visit) and its link's secret, the same at every call."""
    found = CheckIn.objects.filter(course=course, visit_date=visit_date).first()
    if found is None:
        item = CheckIn(course=course, visit_date=visit_date, expires_at=expiry_of(course, visit_date))
        item.token_hash = token_hash(secret_of(item))
        try:
            with transaction.atomic():
                item.save()
            found = item
        except IntegrityError:  # another process issued it meanwhile: the same link
            found = CheckIn.objects.get(course=course, visit_date=visit_date)
    return IssuedCheckIn(found, secret_of(found))


def check_in_of(secret: str) -> CheckIn | None:
    """The check-in a link's secret names (None: none)."""
    if not secret or len(secret) > 100:
        return None
    return (
        CheckIn.objects.select_related("course__patient__practice")
        .filter(token_hash=token_hash(secret))
        .first()
    )


def state_of(check_in: CheckIn, now: dt.datetime | None = None) -> str:
    """The link's state at ``now`` (the clinic's clock by default): "answered", "locked", "expired" or
    "open"."""
    now = now or queries.now()
    if check_in.submitted_at is not None:
        return "answered"
    if check_in.locked_at is not None:
        return "locked"
    if now >= check_in.expires_at:
        return "expired"
    return "open"


@transaction.atomic
def open_check_in(*, check_in: CheckIn, birth_date: dt.date | None) -> str:
    """The patient's birth date against the record: "open" when it matches; "wrong" (a try counted),
    "locked" (the last try failed, or it was locked), "expired" or "answered" otherwise."""
    item = CheckIn.objects.select_for_update().select_related("course__patient").get(pk=check_in.pk)
    state = state_of(item)
    if state != "open":
        return state
    if birth_date is not None and birth_date == item.course.patient.birth_date:
        return "open"
    item.failed_tries += 1
    if item.failed_tries >= CHECK_IN_TRIES:
        item.locked_at = timezone.now()
    item.save(update_fields=["failed_tries", "locked_at"])
    return "locked" if item.locked_at else "wrong"


def phq9_called_for(phq2: list[int] | tuple[int, ...]) -> bool:
    """Whether the PHQ-2's two answers call for the PHQ-9's other seven (MOOD: the core's rule)."""
    return core.phq9_called_for(sum(phq2[:PHQ2_ITEMS]))


@dataclass(frozen=True)
class Medicine:
    name: str
    start: dt.date | None = None


@dataclass(frozen=True)
class CheckInAnswers:
    """What the patient answered: PHQ-2 (``phq``'s first two items) and, when it calls for it
    (``core.phq9_called_for``), the PHQ-9's other seven; each symptom's severity (``SYMPTOMS``, none to
    severe); the contraception methods in use and the pills missed since the last visit (None: no pill, or
    not said); new medicines or supplements."""

    phq: tuple[int, ...]
    symptoms: dict[str, str]
    methods: tuple[str, ...] = ()
    missed_pills: int | None = None
    medicines: tuple[Medicine, ...] = field(default_factory=tuple)

    @property
    def phq2_score(self) -> int:
        return sum(self.phq[:PHQ2_ITEMS])

    @property
    def item9(self) -> int | None:
        return self.phq[PHQ_ITEMS - 1] if len(self.phq) == PHQ_ITEMS else None

    def checked(self) -> CheckInAnswers:
        """The answers, or InvalidInput naming the first wrong one."""
        if len(self.phq) not in (PHQ2_ITEMS, PHQ_ITEMS) or any(a not in PHQ_ANSWER for a in self.phq):
            raise InvalidInput("Answer each mood question (0 to 3).", field="phq")
        called_for = core.phq9_called_for(self.phq2_score)
        if called_for and len(self.phq) != PHQ_ITEMS:
            raise InvalidInput("Answer the seven further mood questions.", field="phq")
        if not called_for and len(self.phq) != PHQ2_ITEMS:
            raise InvalidInput("Only the first two mood questions are asked.", field="phq")
        if set(self.symptoms) != set(SYMPTOMS) or any(v not in SEVERITIES for v in self.symptoms.values()):
            raise InvalidInput(
                "Say for each how it has been (none, mild, moderate, severe).", field="symptoms"
            )
        if any(m not in ContraceptionMethodCode.values for m in self.methods):
            raise InvalidInput("Choose the methods from the list.", field="methods")
        if self.missed_pills is not None and not 0 <= self.missed_pills <= MISSED_PILLS_AT_MOST:
            raise InvalidInput(f"Pills missed: 0 to {MISSED_PILLS_AT_MOST}.", field="missed_pills")
        if len(self.medicines) > MEDICINES_AT_MOST or any(not m.name.strip() for m in self.medicines):
            raise InvalidInput(f"Name each new medicine (at most {MEDICINES_AT_MOST}).", field="medicines")
        if any(len(m.name) > 200 for m in self.medicines):
            raise InvalidInput("A medicine's name is at most 200 characters.", field="medicines")
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "phq": list(self.phq),
            "symptoms": dict(self.symptoms),
            "methods": list(self.methods),
            "missed_pills": self.missed_pills,
            "medicines": [
                {"name": m.name.strip(), "start": m.start.isoformat() if m.start else None}
                for m in self.medicines
            ],
        }


@transaction.atomic
def save_draft(*, check_in: CheckIn, draft: dict[str, Any]) -> None:
    """The first page's answers, kept on the check-in while the PHQ-9 is asked (never in a session)."""
    item = CheckIn.objects.select_for_update().get(pk=check_in.pk)
    if state_of(item) != "open":
        raise InvalidInput("This check-in can no longer be answered.", field=None)
    item.draft = draft
    item.save(update_fields=["draft"])


def medicine_start_problem(start: dt.date, birth: dt.date | None, today: dt.date) -> str | None:
    """Why a new medicine's first day as the patient typed it cannot be (None: it can): the core's rules for
    every clinical date (``core.plausibility``), in the patient's words."""
    if plausibility.not_after_today(start, today, "A medicine's first day"):
        return "This date is still to come."
    if plausibility.not_before_birth(start, birth, "A medicine's first day"):
        return "This date is before your date of birth."
    return None


@transaction.atomic
def submit_check_in(*, check_in: CheckIn, answers: CheckInAnswers) -> CheckIn:
    """The patient's answers, once: kept as reported (none is a record until a clinician confirms it). A
    report of thoughts of self-harm moves the course's worklist line in the same transaction."""
    item = CheckIn.objects.select_for_update().select_related("course__patient__practice").get(pk=check_in.pk)
    if state_of(item) != "open":
        raise InvalidInput("This check-in can no longer be answered.", field=None)
    answers = answers.checked()
    today = practice_today(item.course.patient.practice)
    for medicine in answers.medicines:
        if medicine.start is not None:
            problem = medicine_start_problem(medicine.start, item.course.patient.birth_date, today)
            if problem:
                raise InvalidInput(problem, field="medicines")
    item.answers = answers.to_json()
    item.draft = None
    item.submitted_at = timezone.now()
    item.reported_on = today
    item.self_harm_reported = (answers.item9 or 0) > 0
    item.save(update_fields=["answers", "draft", "submitted_at", "reported_on", "self_harm_reported"])
    if item.self_harm_reported:
        mark_stale(item.course.patient_id)
    return item


# --- the clinician's review (issue 17, item 3) ------------------------------------------------------------

GROUPS = ("mood", "symptoms", "medicines")  # what a clinician confirms, each as a whole


def pending_check_in(course: Course, today: dt.date) -> CheckIn | None:
    """The course's answered check-in a clinician has not reviewed, while its visit has not passed (the
    answers then expire from the visit form; they stay on the check-in)."""
    return (
        CheckIn.objects.filter(
            course=course, submitted_at__isnull=False, reviewed_at__isnull=True, visit_date__gte=today
        )
        .order_by("-visit_date")
        .first()
    )


def reported_records(check_in: CheckIn) -> dict[str, list[dict[str, Any]]]:
    """What each group would record if confirmed, in the clinic's words (nothing recorded here)."""
    answers = check_in.answers or {}
    phq = list(answers.get("phq", []))
    mood = []
    if phq:
        nine = len(phq) == PHQ_ITEMS
        mood.append(
            {
                "instrument": "phq9" if nine else "phq2",
                "score": sum(phq),
                "item9": phq[PHQ_ITEMS - 1] if nine else None,
            }
        )
    symptoms = [
        {"term": SYMPTOMS[key].lower(), "severity": severity}
        for key, severity in answers.get("symptoms", {}).items()
        if key in SYMPTOMS and severity != NONE
    ]
    medicines = [
        {
            "name": m["name"],
            "start": dt.date.fromisoformat(m["start"]) if m.get("start") else check_in.reported_on,
        }
        for m in answers.get("medicines", [])
    ]
    return {"mood": mood, "symptoms": symptoms, "medicines": medicines}


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


# What a clinician may correct of each reported record (the rest is as the patient reported it).
CORRECTABLE = {"mood": ("score", "item9"), "symptoms": ("severity",), "medicines": ("name", "start")}
# The review form's field of a record's value: mood_score, symptom_0_severity, medicine_1_start...
FIELD_PREFIX = {"mood": "mood", "symptoms": "symptom", "medicines": "medicine"}


@dataclass(frozen=True)
class Correction:
    """A clinician's change to one reported record (``group``, its ``index`` in ``reported_records``) before
    it is recorded: other ``values`` (the record's source is then the clinic), or left out (not recorded)."""

    group: str
    index: int
    values: dict[str, Any] = field(default_factory=dict)
    leave_out: bool = False

    def field_name(self, name: str) -> str:
        prefix = FIELD_PREFIX[self.group]
        return f"{prefix}_{name}" if self.group == "mood" else f"{prefix}_{self.index}_{name}"


@transaction.atomic
def review_check_in(
    *,
    actor: StaffUser,
    check_in: CheckIn,
    confirmed: Collection[str],
    corrections: Collection[Correction] = (),
) -> CheckIn:
    """A clinician's review of a check-in's answers: each group in ``confirmed`` (of ``GROUPS``) becomes
    records through the kinds' own actions, dated the day the patient answered and recorded by the clinician:
    a record confirmed as reported has the patient as its source (``ReportSource.PATIENT``), one the clinician
    corrected (``corrections``) the clinic, and one left out is not recorded. The other groups stay on the
    check-in, never records. The review is audited, each correction with what was reported and what recorded.
    A self-harm report leaves the worklist's SELF_HARM_REPORTED only when the mood answers are confirmed as
    reported (a PHQ-9 with item 9 above 0 is then the engine's SELF_HARM_RISK); otherwise (not confirmed, or
    corrected) it stays until a prescriber acknowledges it, saying what was decided."""
    item = CheckIn.objects.select_for_update().select_related("course__patient").get(pk=check_in.pk)
    check_course(actor, item.course, Capability.RECORD_OBSERVATIONS)
    if item.submitted_at is None or item.reviewed_at is not None:
        raise InvalidInput("This check-in has no answers to review.", field=None)
    unknown = set(confirmed) - set(GROUPS)
    if unknown:
        raise InvalidInput(f"Nothing to confirm as {sorted(unknown)[0]!r}.", field="confirmed")
    course, day = item.course, item.reported_on
    assert day is not None
    found = reported_records(item)
    changed = _corrected(found, confirmed, corrections)
    recorders = {
        "mood": lambda source, values: record_mood_screen(
            actor=actor, course=course, day=day, source=source, **values
        ),
        "symptoms": lambda source, values: record_side_effect(
            actor=actor, course=course, onset=day, source=source, **values
        ),
        "medicines": lambda source, values: record_medication(
            actor=actor, patient=course.patient, source=source, **values
        ),
    }
    for group in GROUPS:
        if group not in confirmed:
            continue
        for index, reported in enumerate(found[group]):
            correction = changed.get((group, index))
            if correction is not None and correction.leave_out:
                continue
            values = reported | (correction.values if correction else {})
            source = ReportSource.CLINIC if correction else ReportSource.PATIENT
            try:
                recorders[group](source, values)
            except InvalidInput as error:
                name = Correction(group, index).field_name(error.field) if error.field else None
                raise InvalidInput(error.message, field=name) from error
    item.reviewed_at = timezone.now()
    item.reviewed_by = actor
    # A report of self-harm is closed by its mood answers confirmed as reported; corrected, it stays open
    # until a prescriber acknowledges it, saying what was decided (a correction is not a prescriber's review).
    item.mood_confirmed = "mood" in confirmed and not (item.self_harm_reported and ("mood", 0) in changed)
    item.save(update_fields=["reviewed_at", "reviewed_by", "mood_confirmed"])
    after: dict[str, Any] = {"visit_date": item.visit_date.isoformat(), "confirmed": sorted(confirmed)}
    if changed:
        after["corrected"] = [
            {
                "group": c.group,
                "index": c.index,
                "reported": _plain(found[c.group][c.index]),
                "recorded": None if c.leave_out else _plain(found[c.group][c.index] | c.values),
            }
            for c in changed.values()
        ]
    record(
        actor=actor,
        action=EventCode.CHECK_IN_REVIEW,
        instance=item,
        patient=course.patient,
        after=after,
        reason="reported by the patient at check-in",
    )
    return item


def _corrected(
    found: dict[str, list[dict[str, Any]]], confirmed: Collection[str], corrections: Collection[Correction]
) -> dict[tuple[str, int], Correction]:
    """The corrections by record, each of a record that was reported, of a group confirmed, of a value a
    clinician may correct; a value the same as the patient's is no correction."""
    changed: dict[tuple[str, int], Correction] = {}
    for correction in corrections:
        group, index = correction.group, correction.index
        if group not in GROUPS or not 0 <= index < len(found[group]):
            raise InvalidInput("There is no such reported answer to correct.", field=None)
        for name in correction.values:
            if name not in CORRECTABLE[group]:
                raise InvalidInput(f"{name!r} is not a value to correct here.", field=None)
        if group not in confirmed:
            name = next(iter(correction.values), "leave_out")
            raise InvalidInput(
                "Tick this group to record it as corrected, or clear the correction.",
                field=correction.field_name(name),
            )
        reported = found[group][index]
        values = {k: v for k, v in correction.values.items() if reported.get(k) != v}
        if values or correction.leave_out:
            changed[(group, index)] = Correction(group, index, values, correction.leave_out)
    return changed


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}
