"""The worklist: every qualifying and active course of the practice with its next required step, most urgent
first. The core decides each line (``core.next_step``: the next step of ``core.current_cycle``, judged by the
same functions); this module only reads.

Speed (bench/worklist.py: 5,000 active courses, in a constant number of queries): each course's line is stored
(``WorklistEntry``) and judged again only when it may be out of date (``worklist_entries``: the patient's
records changed, it was judged for another day, the engine or the practice's policy changed). A page load
judges the out-of-date lines of the courses it lists (none, usually), then filters, ranks and pages the stored
lines in the database and builds the lines of the page shown. The countdown in words follows from the stored
step and the day (``core.countdown``). Tests check that every line agrees with the evaluation of the full
exported course file, and with the core's judgment of every course after each kind of write and as days pass.

Decisions:
- Courses listed: qualifying (draft) and active ones, completed ones that ended less than
  ``RECENTLY_ENDED_DAYS`` ago and still have a step to do (the end-of-course and post-course tests), and
  stopped ones while a follow-up step of a positive pregnancy test is not recorded (IPL-PT-POSITIVE).
- The order (the core's ``tier``, ALERT-URGENCY): a self-harm risk, a positive pregnancy test, a critical lab,
  another drug to stop, a course on hold, then the rest; within a tier overdue first, then by the deadline
  (or the earliest day a step is possible), then the lines without a date; then the most urgent open alert;
  ties by family name, given name, then the course's age.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, DateField, F, Q, QuerySet, Value, When

from isotrack import core
from isotrack.clinic import worklist_entries
from isotrack.clinic.models import (
    Course,
    CourseStatus,
    PatientCategory,
    Practice,
    Role,
    StaffUser,
)
from isotrack.clinic.queries import practice_today
from isotrack.core import urgency as core_urgency

PAGE_SIZE = 100
RECENTLY_ENDED_DAYS = 120  # reference.md 1.7: the post-course test is due 30 days after the last dose


@dataclass(frozen=True, slots=True)
class WorklistFilters:
    prescriber: str = ""  # a prescriber's uuid
    category: str = ""
    phase: str = ""
    step: str = ""
    q: str = ""  # name, MRN or iPLEDGE ID
    page: int = 1

    @property
    def active(self) -> bool:
        return any((self.prescriber, self.category, self.phase, self.step, self.q))


@dataclass(frozen=True, slots=True)
class WorklistAlert:
    """An alert of a line, as a badge: open, or acknowledged by a prescriber (ALERT-URGENCY)."""

    code: str
    label: str
    date: dt.date
    detail: str
    rule_id: str
    open: bool


@dataclass(frozen=True, slots=True)
class WorklistLine:
    course_uuid: Any
    patient_name: str
    mrn: str
    ipledge_id: str
    prescriber: str
    category: str
    category_label: str
    phase: str
    phase_label: str
    step_code: str
    step_label: str
    step_status: str
    actor_label: str
    deadline: dt.date | None
    countdown: str
    days_left: int | None
    rule_id: str
    rule_set_id: str
    rule_set_title: str
    tier: int = 5
    alerts: tuple[WorklistAlert, ...] = ()
    dispense_allowed: bool = False
    blocking: tuple[str, ...] = ()

    @property
    def open_alerts(self) -> tuple[WorklistAlert, ...]:
        return tuple(a for a in self.alerts if a.open)

    @property
    def urgent(self) -> bool:
        return self.tier < core_urgency.TIER_OTHER or (self.days_left is not None and self.days_left <= 2)

    @property
    def overdue(self) -> bool:
        return self.step_status == "overdue" or (self.days_left is not None and self.days_left < 0)


@dataclass(frozen=True, slots=True)
class Worklist:
    today: dt.date
    lines: list[WorklistLine]  # the page shown
    total: int  # lines matching the filters
    page: int
    pages: int
    prescribers: list[tuple[str, str]]  # (uuid, name) for the filter
    steps: list[tuple[str, str]]  # (code, label) for the filter


def worklist(user: StaffUser, filters: WorklistFilters, today: dt.date | None = None) -> Worklist:
    """The user's practice's worklist on ``today`` (the practice's today by default)."""
    practice = user.practice
    today = today or practice_today(practice)
    courses = _courses(user, filters, today)
    worklist_entries.refresh(courses, practice, today)
    listed = courses.filter(worklist_entry__listed=True)
    if filters.phase:
        listed = listed.filter(worklist_entry__phase=filters.phase)
    if filters.step:
        listed = listed.filter(worklist_entry__step_code=filters.step)
    total = listed.count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    shown = (
        listed.annotate(urgency=_urgency(today))
        .order_by(
            "worklist_entry__tier",
            F("urgency").asc(nulls_last=True),
            "worklist_entry__alert_urgency",
            "patient__family_name",
            "patient__given_name",
            "id",
        )
        .values_list(*_COLUMNS)[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    )
    prescribers = StaffUser.objects.filter(practice_id=practice.pk, role=Role.PRESCRIBER).order_by(
        "last_name", "first_name"
    )
    return Worklist(
        today=today,
        lines=[_line(row, today) for row in shown],
        total=total,
        page=page,
        pages=pages,
        prescribers=[(str(p.uuid), p.display_name) for p in prescribers],
        steps=sorted(core.STEP_LABELS.items(), key=lambda item: item[1]),
    )


def _urgency(today: dt.date) -> Case:
    """The day a line ranks by: its deadline, else the earliest day its step is possible while still ahead
    (``core.days_left``'s day); a line never judged (concurrent writes kept it from being judged) comes
    first."""
    return Case(
        When(worklist_entry__judged_on__isnull=True, then=Value(dt.date.min)),
        When(worklist_entry__deadline__isnull=False, then=F("worklist_entry__deadline")),
        When(worklist_entry__earliest__gt=today, then=F("worklist_entry__earliest")),
        default=None,
        output_field=DateField(),
    )


def refresh(practice: Practice, today: dt.date | None = None) -> int:
    """Judge every out-of-date line of the practice's worklist for ``today`` (by default the practice's
    today), so that the day's first page load need not: ``isotrack refresh-worklist``. Returns how many lines
    were judged."""
    today = today or practice_today(practice)
    return worklist_entries.refresh(_candidates(practice.pk, today), practice, today)


def _candidates(practice_id: int, today: dt.date) -> QuerySet[Course]:
    """The courses the worklist may list on ``today``: qualifying, active, recently completed, or stopped
    (their follow-up stays listed until it is recorded)."""
    recently = today - dt.timedelta(days=RECENTLY_ENDED_DAYS)
    return Course.objects.filter(patient__practice_id=practice_id).filter(
        Q(status__in=(CourseStatus.DRAFT, CourseStatus.ACTIVE, CourseStatus.REVOKED))
        | Q(status=CourseStatus.COMPLETED, end__gte=recently)
    )


def _courses(user: StaffUser, filters: WorklistFilters, today: dt.date) -> QuerySet[Course]:
    courses = _candidates(user.practice_id, today)
    if filters.prescriber:
        courses = courses.filter(prescriber__uuid=_uuid_or_none(filters.prescriber))
    if filters.category in PatientCategory.values:
        courses = courses.filter(patient__category=filters.category)
    text = filters.q.strip()
    if text:
        courses = courses.filter(
            Q(patient__family_name__icontains=text)
            | Q(patient__given_name__icontains=text)
            | Q(patient__mrn__iexact=text)
            | Q(patient__ipledge_id__iexact=text)
        )
    return courses


def _uuid_or_none(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


# --- the lines ----------------------------------------------------------------------------------------------


_STEP_COLUMNS = tuple(f"worklist_entry__{name}" for name in worklist_entries.STEP_FIELDS)
_COLUMNS = (
    "uuid",
    "patient__given_name",
    "patient__family_name",
    "patient__mrn",
    "patient__ipledge_id",
    "patient__category",
    "prescriber__first_name",
    "prescriber__last_name",
    "prescriber__credentials",
    "prescriber__username",
    "worklist_entry__judged_on",
    "worklist_entry__phase",
    "worklist_entry__rule_set_id",
    "worklist_entry__rule_set_title",
    "worklist_entry__tier",
    "worklist_entry__alerts",
    "worklist_entry__dispense_allowed",
    "worklist_entry__blocking",
    *_STEP_COLUMNS,
)
_CATEGORY_LABELS: dict[str, str] = dict(PatientCategory.choices)
NOT_JUDGED = "Not worked out yet: open the course"


def _line(row: tuple[Any, ...], today: dt.date) -> WorklistLine:
    public_id, given, family, mrn, ipledge_id, category = row[:6]
    judged_on, phase, rule_set_id, rule_set_title, tier, alerts, dispense_allowed, blocking = row[10:18]
    step = worklist_entries.stored_step(*row[18:])
    return WorklistLine(
        course_uuid=public_id,
        patient_name=f"{family}, {given}",
        mrn=mrn,
        ipledge_id=ipledge_id,
        prescriber=_prescriber_name(*row[6:10]),
        category=category,
        category_label=_CATEGORY_LABELS[category],
        phase=phase,
        phase_label=core.PHASE_LABELS.get(phase, ""),
        step_code=step.code if step else "",
        step_label=step.label if step else ("Nothing to do" if judged_on else NOT_JUDGED),
        step_status=step.status if step else "done",
        actor_label=core.ACTOR_LABELS[step.actor] if step else "",
        deadline=step.deadline if step else None,
        countdown=core.countdown(step, today) if step else ("nothing to do" if judged_on else ""),
        days_left=core.days_left(step, today) if step else None,
        rule_id=step.rule_id if step else "",
        rule_set_id=rule_set_id,
        rule_set_title=rule_set_title,
        tier=tier,
        alerts=tuple(
            WorklistAlert(
                code=a["code"],
                label=core.ALERT_ACTIONS[a["code"]].label,
                date=dt.date.fromisoformat(a["date"]),
                detail=a["detail"],
                rule_id=a["rule_id"],
                open=a["open"],
            )
            for a in worklist_entries.stored_alerts(alerts)
        ),
        dispense_allowed=dispense_allowed,
        blocking=tuple(blocking.split()),
    )


def _prescriber_name(first: str, last: str, credentials: str, username: str) -> str:
    name = f"{first} {last}".strip() or username
    return f"{name}, {credentials}" if credentials else name
