"""Calendar reads: the planned events of courses (computed by the core from the stored facts, never stored),
for the calendar pages, the iCalendar feeds and the reminders.

Reading many courses costs a constant number of queries (`records.facts_of`); every page passes the
practice's today (`practice_today`), the core never reads a clock.
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

# Courses that ended longer ago than this have nothing left to plan (the last step is end + 30 days).
KEEP_ENDED_COURSES_DAYS = 90


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


def event_uid(course: Course, key: str) -> str:
    """RFC 5545 UID, stable across regenerations: a name-based UUID of the course's public id and the
    event's stable key (`pregnancy-test-3`). Opaque on purpose: a UID is visible to the calendar app and its
    cloud, and `{course}-pregnancy-test-3` would say what the patient's feed must not."""
    return f"{uuid.uuid5(course.uuid, key)}@isotrack"


def current_courses(practice: Practice, day: date) -> QuerySet[Course]:
    """Courses that still have something planned: running, qualifying, or ended within the last months."""
    return (
        Course.objects.filter(patient__practice=practice)
        .exclude(status=CourseStatus.ENTERED_IN_ERROR)
        .filter(Q(end__isnull=True) | Q(end__gte=day - timedelta(days=KEEP_ENDED_COURSES_DAYS)))
        .order_by("patient__family_name", "patient__given_name", "start")
    )


def course_calendar(course: Course, day: date) -> core.TherapyCalendar:
    return core.therapy_calendar(course_facts(course), day)


def entries(courses: Iterable[Course], day: date) -> list[CalendarEntry]:
    """Every planned event of the courses, soonest first; the facts of all of them in one batch."""
    courses = list(courses)
    by_course = facts_of(courses)
    found = []
    for course in courses:
        for event in core.therapy_calendar(by_course[course.pk], day).events:
            found.append(CalendarEntry(course, event, event.status))
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
    return entries(courses.select_related("patient", "prescriber"), day)


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
    """What the engine calls overdue (never a projected event: the core gives those no such status)."""
    return [entry for entry in found if entry.status == "overdue"]


def find_prescriber(practice: Practice, prescriber_uuid: object) -> StaffUser | None:
    """A prescriber of the practice by public id; None for anything else (the page answers 404)."""
    try:
        key = uuid.UUID(str(prescriber_uuid))
    except ValueError:
        return None
    return prescribers_of(practice).filter(uuid=key).first()


def patient_by_mrn(practice: Practice, mrn: str) -> Patient | None:
    return Patient.objects.filter(practice=practice, mrn=mrn.strip()).first() if mrn.strip() else None
