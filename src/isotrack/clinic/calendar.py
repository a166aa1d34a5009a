"""Calendar reads: the planned events of courses (computed by the core from the stored facts, never stored),
for the calendar pages, the iCalendar feeds and the reminders.

Reading many courses costs a constant number of queries (`records.facts_of`); every page passes the
practice's today (`practice_today`), the core never reads a clock. Every event's status is the core's
(`PlannedEvent.status`): nothing here decides again whether a step is done, overdue, open or waiting.

Which courses a practice's calendar shows (`current_courses`, `practice_entries`): every course not entered in
error that has not ended, or ended within `KEEP_ENDED_COURSES_DAYS`; and a stopped course (IPL-PT-POSITIVE)
however long ago it ended while one of its follow-up steps (stop, refer, report) is not recorded, and for
`KEEP_ENDED_COURSES_DAYS` after the last of them was recorded.
"""

from __future__ import annotations

import calendar as month_calendar
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, QuerySet

from isotrack import core
from isotrack.clinic.models import Course, CourseStatus, Patient, Practice, StaffUser
from isotrack.clinic.records import course_facts, facts_of

# Courses that ended longer ago than this have nothing left to plan (the last step is end + 30 days), unless
# a stopped course's follow-up is still pending (see the module's docstring).
KEEP_ENDED_COURSES_DAYS = 90
# IPL-PT-POSITIVE: the follow-up steps of a stopped course, each until a prescriber records it.
FOLLOW_UP_EVENT_KINDS = frozenset({"pregnancy_stop", "pregnancy_refer", "pregnancy_report"})
# The core's statuses in the words of the pages, in the legend's order.
STATUS_LABELS: dict[str, str] = {
    "overdue": "Overdue",
    "open": "Open",
    "waiting": "Waiting",
    "upcoming": "Upcoming",
    "done": "Done",
    "past": "Past",
}
STATUS_EXPLANATIONS: dict[str, str] = {
    "overdue": "its last day has passed and it is not done",
    "open": "can be done now",
    "waiting": "cannot happen yet: an earlier iPLEDGE step is not done, a lockout runs, the course is on "
    "hold or an alert that holds the drug is open",
    "upcoming": "not possible yet; planned for the date shown",
    "done": "recorded as done",
    "past": "a date gone by, nothing to do",
}


@dataclass(frozen=True)
class CalendarEntry:
    """One planned event of one course, as pages, feeds and reminders show it."""

    course: Course
    event: core.PlannedEvent
    status: str  # the core's: done, overdue, open, upcoming, waiting, past

    @property
    def patient(self) -> Patient:
        return self.course.patient

    @property
    def uid(self) -> str:
        return event_uid(self.course, self.event.key)

    @property
    def date(self) -> date:
        return self.event.date

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def for_staff_only(self) -> bool:
        """The core's staff-only kinds (a stopped course's follow-up, an alert review, a hold's end): never in
        a patient's feed or e-mail."""
        return self.event.for_staff_only

    @property
    def to_do(self) -> bool:
        """A step that can still be done (open or upcoming): the only ones with an alarm."""
        return self.event.is_step and self.status in ("open", "upcoming")


def staff_words(entry: CalendarEntry) -> str:
    """What a staff feed or e-mail calls an event: the core's staff label without its detail (the detail can
    carry a result or a hold's reason, and both leave the practice); an alert review names its rule."""
    event = entry.event
    words = core.KIND_LABELS[event.kind]
    return f"{words} ({event.rule_id})" if event.kind == "alert_review" else words


def event_uid(course: Course, key: str) -> str:
    """RFC 5545 UID, stable across regenerations: a name-based UUID of the course's public id and the
    event's stable key (`pregnancy-test-3`). Opaque on purpose: a UID is visible to the calendar app and its
    cloud, and `{course}-pregnancy-test-3` would say what the patient's feed must not."""
    return f"{uuid.uuid5(course.uuid, key)}@isotrack"


def current_courses(practice: Practice, day: date) -> QuerySet[Course]:
    """Courses that may still have something planned: running, qualifying, ended within the last months, and
    every stopped course (whether its follow-up is pending is the core's to say: `practice_entries`)."""
    return (
        Course.objects.filter(patient__practice=practice)
        .exclude(status=CourseStatus.ENTERED_IN_ERROR)
        .filter(
            Q(end__isnull=True)
            | Q(end__gte=day - timedelta(days=KEEP_ENDED_COURSES_DAYS))
            | Q(status=CourseStatus.REVOKED)
        )
        .order_by("patient__family_name", "patient__given_name", "start")
    )


def still_planned(course: Course, events: Iterable[core.PlannedEvent], day: date) -> bool:
    """Whether a course belongs on the practice's calendar on ``day``: not ended, or ended within
    ``KEEP_ENDED_COURSES_DAYS``, or a stopped course whose follow-up is pending or was completed within
    them."""
    cutoff = day - timedelta(days=KEEP_ENDED_COURSES_DAYS)
    if course.end is None or course.end >= cutoff:
        return True
    follow_up = [event for event in events if event.kind in FOLLOW_UP_EVENT_KINDS]
    if any(event.status not in ("done", "past") for event in follow_up):
        return True
    return any(event.done_on is not None and event.done_on >= cutoff for event in follow_up)


def course_calendar(course: Course, day: date) -> core.TherapyCalendar:
    return core.therapy_calendar(course_facts(course), day)


def entries(courses: Iterable[Course], day: date, *, current_only: bool = False) -> list[CalendarEntry]:
    """Every planned event of the courses, soonest first; the facts of all of them in one batch. With
    ``current_only``, courses that have nothing left on the calendar (`still_planned`) are left out."""
    courses = list(courses)
    by_course = facts_of(courses)
    found: list[CalendarEntry] = []
    for course in courses:
        events = core.therapy_calendar(by_course[course.pk], day).events
        if current_only and not still_planned(course, events, day):
            continue
        found.extend(CalendarEntry(course, event, event.status) for event in events)
    # Stable: within a course and a day, the core's order (the order steps happen in) is kept.
    found.sort(key=lambda entry: (entry.event.date, entry.patient.family_name, entry.course.pk))
    return found


def practice_entries(
    practice: Practice, day: date, *, prescriber: StaffUser | None = None, patient: Patient | None = None
) -> list[CalendarEntry]:
    courses = current_courses(practice, day)
    if prescriber is not None:
        courses = courses.filter(prescriber=prescriber)
    if patient is not None:
        courses = courses.filter(patient=patient)
    return entries(courses.select_related("patient", "prescriber"), day, current_only=True)


def prescribers_of(practice: Practice) -> QuerySet[StaffUser]:
    return StaffUser.objects.filter(practice=practice, role="prescriber", is_active=True).order_by(
        "last_name", "first_name"
    )


# ------------------------------------------------------------------------------------------------ for pages


@dataclass(frozen=True)
class CalendarDay:
    date: date
    in_month: bool
    is_today: bool
    entries: list[CalendarEntry]

    @property
    def overdue(self) -> bool:
        return any(entry.status == "overdue" for entry in self.entries)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_weeks(year: int, month: int, found: list[CalendarEntry], today: date) -> list[list[CalendarDay]]:
    """The month as weeks (Monday first), each day with its entries."""
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in found:
        by_day.setdefault(entry.date, []).append(entry)
    weeks = month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    return [[CalendarDay(d, d.month == month, d == today, by_day.get(d, [])) for d in week] for week in weeks]


def week_days(first: date, found: list[CalendarEntry], today: date) -> list[CalendarDay]:
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in found:
        by_day.setdefault(entry.date, []).append(entry)
    return [
        CalendarDay(
            first + timedelta(days=i),
            True,
            first + timedelta(days=i) == today,
            by_day.get(first + timedelta(days=i), []),
        )
        for i in range(7)
    ]


def in_range(found: list[CalendarEntry], first: date, last: date) -> list[CalendarEntry]:
    return [entry for entry in found if first <= entry.date <= last]


def overdue(found: list[CalendarEntry]) -> list[CalendarEntry]:
    """Exactly the events the core calls overdue: never a projected event, never baseline labs before the
    engine raises BASELINE_LABS_MISSING (the core gives neither that status)."""
    return [entry for entry in found if entry.status == "overdue"]


def legend() -> list[tuple[str, str, str]]:
    """(status, words, explanation) of every status, for the pages' legend."""
    return [(status, label, STATUS_EXPLANATIONS[status]) for status, label in STATUS_LABELS.items()]


def find_prescriber(practice: Practice, prescriber_uuid: object) -> StaffUser | None:
    """A prescriber of the practice by public id; None for anything else (the page answers 404)."""
    try:
        key = uuid.UUID(str(prescriber_uuid))
    except ValueError:
        return None
    return prescribers_of(practice).filter(uuid=key).first()


def patient_by_mrn(practice: Practice, mrn: str) -> Patient | None:
    return Patient.objects.filter(practice=practice, mrn=mrn.strip()).first() if mrn.strip() else None
