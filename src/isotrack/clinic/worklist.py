"""The worklist: every qualifying and active course of the practice with its next required step, most urgent
first. The core decides each line (``core.next_step``: the next step of ``core.current_cycle``, judged by the
same functions); this module only reads.

Speed (bench/worklist.py: 5,000 active courses, in a constant number of queries): the lines need only where
each course stands in iPLEDGE (phase, dispense, due items), and those depend on the iPLEDGE entries,
pregnancy tests, dispenses, labs and contraception alone, never on doses or weights. So the worklist reads
those five tables as the driver's plain tuples (no model instances, no per-value converters), each in one
query, builds the core's facts from them and asks the core for the next step alone (no dose figures, no
alerts, the checklist only up to its first step not done). Every course is judged and ranked; the lines are
built for the page shown only. A test checks that every line agrees with the evaluation of the full exported
course file, and tests/core that ``next_step`` is ``current_cycle``'s next step.

Decisions:
- Courses listed: qualifying (draft) and active ones, and completed ones that ended less than
  ``RECENTLY_ENDED_DAYS`` ago and still have a step to do (the end-of-course and post-course tests).
- The order: overdue first, then by days to the deadline (or to the earliest day a step is possible), then the
  lines without a date; ties by family name.
"""

from __future__ import annotations

import datetime as dt
import gc
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.db import connections
from django.db.models import Q, QuerySet

from isotrack import core
from isotrack.clinic.models import (
    Contraception,
    Course,
    CourseStatus,
    Dispense,
    IpledgeEntry,
    LabResult,
    PatientCategory,
    PregnancyTest,
    Role,
    StaffUser,
)
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import policy_of
from isotrack.core import course as facts

PAGE_SIZE = 100
RECENTLY_ENDED_DAYS = 120  # reference.md 1.7: the post-course test is due 30 days after the last dose
_NO_DATE = 10**6


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

    @property
    def urgent(self) -> bool:
        return self.days_left is not None and self.days_left <= 2

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
    with _collector_paused():
        judged = [found for found in _judged(courses, practice, today) if _kept(found[1], filters)]
    judged.sort(key=_urgency)  # every course ranked; the lines built for the page shown only
    pages = max(1, -(-len(judged) // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    prescribers = StaffUser.objects.filter(practice_id=practice.pk, role=Role.PRESCRIBER).order_by(
        "last_name", "first_name"
    )
    return Worklist(
        today=today,
        lines=[_line(*found) for found in judged[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]],
        total=len(judged),
        page=page,
        pages=pages,
        prescribers=[(str(p.uuid), p.display_name) for p in prescribers],
        steps=sorted(core.STEP_LABELS.items(), key=lambda item: item[1]),
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the lines are built: the ~100,000 facts of 5,000 courses
    are plain acyclic values (freed by reference counting as usual), yet their allocation triggers repeated
    collections that scan them all (~100 ms of a 5,000-course worklist). Only pauses a collector that is on,
    and turns it back on even if building the lines fails."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _courses(user: StaffUser, filters: WorklistFilters, today: dt.date) -> QuerySet[Course]:
    recently = today - dt.timedelta(days=RECENTLY_ENDED_DAYS)
    courses = Course.objects.filter(patient__practice_id=user.practice_id).filter(
        Q(status__in=(CourseStatus.DRAFT, CourseStatus.ACTIVE))
        | Q(status=CourseStatus.COMPLETED, end__gte=recently)
    )
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


def _kept(found: core.NextStep, filters: WorklistFilters) -> bool:
    return (not filters.phase or found.phase == filters.phase) and (
        not filters.step or (found.step.code if found.step else "") == filters.step
    )


def _urgency(judged: tuple[tuple[Any, ...], core.NextStep]) -> tuple[int, str]:
    """Overdue first, then by days left; ties by the line's patient name (``WorklistLine.patient_name``)."""
    row, found = judged
    return (found.days_left if found.days_left is not None else _NO_DATE, f"{row[_FAMILY]}, {row[_GIVEN]}")


# --- the lines ----------------------------------------------------------------------------------------------


_COLUMNS = (
    "id",
    "uuid",
    "start",
    "end",
    "target_mg_per_kg",
    "patient_id",
    "patient__given_name",
    "patient__family_name",
    "patient__mrn",
    "patient__ipledge_id",
    "patient__category",
    "patient__birth_date",
    "prescriber__first_name",
    "prescriber__last_name",
    "prescriber__credentials",
    "prescriber__username",
)
_GIVEN, _FAMILY = _COLUMNS.index("patient__given_name"), _COLUMNS.index("patient__family_name")
_CATEGORY_LABELS: dict[str, str] = dict(PatientCategory.choices)


def worklist_lines(courses: QuerySet[Course], practice: Any, today: dt.date) -> list[WorklistLine]:
    """One line per course that has a step to do (or is qualifying or active). Six queries in all."""
    return [_line(row, found) for row, found in _judged(courses, practice, today)]


def _judged(
    courses: QuerySet[Course], practice: Any, today: dt.date
) -> list[tuple[tuple[Any, ...], core.NextStep]]:
    """Each course's row and next step, for the courses that have a step to do (or are qualifying or
    active), in the rows' order. Six queries in all."""
    rows = _rows(courses.values_list(*_COLUMNS))  # the uuid converted for the lines shown only
    ids = courses.values("id")
    events = _events(ids)
    contraception = _contraception(courses.values("patient_id"))
    policies: dict[Any, facts.Policy] = {}
    base_policy = policy_of(practice)
    next_step = core.next_step
    judged = []
    for row in rows:
        course_id, _, start, end, target, patient_id = row[:6]
        category, birth = row[10:12]
        policy = policies.get(target)
        if policy is None:
            policy = policies[target] = replace(base_policy, target_mg_per_kg=float(target))
        course_file = facts.CourseFile(
            rules=practice.rules,
            policy=policy,
            patient=facts.Patient(category=category, birth_date=birth),
            course=facts.Course(start=start, end=end),
            contraception=contraception.get(patient_id, ()),
            events=events.get(course_id, ()),
        )
        found = next_step(course_file, today)
        if found.step is None and found.phase not in ("qualifying", "active"):
            continue
        judged.append((row, found))
    return judged


def _line(row: tuple[Any, ...], found: core.NextStep) -> WorklistLine:
    public_id = row[1] if isinstance(row[1], uuid.UUID) else uuid.UUID(row[1])  # SQLite: text
    given, family, mrn, ipledge_id, category = row[6:11]
    step = found.step
    return WorklistLine(
        course_uuid=public_id,
        patient_name=f"{family}, {given}",
        mrn=mrn,
        ipledge_id=ipledge_id,
        prescriber=_prescriber_name(*row[12:]),
        category=category,
        category_label=_CATEGORY_LABELS[category],
        phase=found.phase,
        phase_label=core.PHASE_LABELS[found.phase],
        step_code=step.code if step else "",
        step_label=step.label if step else "Nothing to do",
        step_status=step.status if step else "done",
        actor_label=core.ACTOR_LABELS[step.actor] if step else "",
        deadline=step.deadline if step else None,
        countdown=found.countdown,
        days_left=found.days_left,
        rule_id=step.rule_id if step else "",
        rule_set_id=found.rule_set_id,
        rule_set_title=found.rule_set_title,
    )


def _prescriber_name(first: str, last: str, credentials: str, username: str) -> str:
    name = f"{first} {last}".strip() or username
    return f"{name}, {credentials}" if credentials else name


def _events(course_ids: QuerySet[Course]) -> dict[int, tuple[facts.Event, ...]]:
    """The events the iPLEDGE standing depends on, per course: each type in date order (then id), as
    ``records.course_facts`` gives them (the core splits the events by type, so that is the order it sees)."""
    found: dict[int, list[facts.Event]] = defaultdict(list)
    kinds: dict[str, Any] = {
        "enrollment": facts.Enrollment,
        "prescriber_confirmation": facts.PrescriberConfirmation,
        "patient_attestation": facts.PatientAttestation,
    }
    entries = IpledgeEntry.objects.filter(course_id__in=course_ids).order_by("date", "id")
    for course_id, kind, day in _rows(entries.values_list("course_id", "kind", "date")):
        found[course_id].append(kinds[kind](day))
    tests = PregnancyTest.objects.filter(course_id__in=course_ids).order_by("specimen_date", "id")
    test = facts.PregnancyTest
    for course_id, day, purpose, setting, result, verifier in _rows(
        tests.values_list(
            "course_id", "specimen_date", "purpose", "setting", "result", "verified_by__username"
        )
    ):
        found[course_id].append(test(day, purpose, setting, result, verifier))
    dispenses = Dispense.objects.filter(course_id__in=course_ids).order_by("date", "id")
    dispense = facts.Dispense
    for course_id, day, days_supply in _rows(dispenses.values_list("course_id", "date", "days_supply")):
        found[course_id].append(dispense(day, days_supply))
    labs = LabResult.objects.filter(course_id__in=course_ids).order_by("effective_date", "id")
    lab = facts.LabResult
    for course_id, day, name, value, unit, uln in _rows(
        labs.values_list("course_id", "effective_date", "test", "value", "unit", "uln")
    ):
        found[course_id].append(lab(day, name, float(value), unit, float(uln) if uln is not None else None))
    return {course_id: tuple(events) for course_id, events in found.items()}


def _rows(query: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` query as the database driver gives them: dates, numbers and text, without
    Django's per-value converters (a third of the read time for ~90,000 rows). Only for columns whose driver
    value is already what the caller wants (dates, integers, text) or that it converts itself (decimals with
    ``float``, the course's uuid in ``_line``)."""
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _contraception(patient_ids: QuerySet[Course]) -> dict[int, tuple[facts.ContraceptionUse, ...]]:
    found: dict[int, list[facts.ContraceptionUse]] = defaultdict(list)
    uses = Contraception.objects.filter(patient_id__in=patient_ids).order_by("start", "id")
    use = facts.ContraceptionUse
    for patient_id, method, start, end in _rows(uses.values_list("patient_id", "method", "start", "end")):
        found[patient_id].append(use(method, start, end))
    return {patient_id: tuple(uses) for patient_id, uses in found.items()}
