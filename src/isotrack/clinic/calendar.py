"""Calendar reads: the planned events of courses as the core plans them from the stored facts.

The practice's calendar (month, week, day, the overdue list, and the API's calendar) reads the stored plans
(``PlanEntry``, isotrack.clinic.plan_entries): only the rows of the days it shows, by key off one index, after
``worklist.refresh`` of the plans (the plans of the courses written since, or whose change date came, are
judged first). Each event's status on the day read is the core's (``core.event_status_on``,
which the core guarantees equal to its calendar of that day until the plan's change date). A month or a week
shows at most ``MONTH_DAY_EVENTS`` or ``WEEK_DAY_EVENTS`` events a day and counts the rest, which the day's
page lists by pages of ``PAGE_SIZE``; the Overdue box shows the first ``OVERDUE_SHOWN`` and counts them all.
A page costs the same for 50 courses or 50,000 (bench/calendar.py).

One course's calendar, the iCalendar feeds and the reminders are computed by the core from the facts on each
read (``entries``, ``practice_entries``: a constant number of queries, ``records.facts_of``). Every page
passes the practice's today (``practice_today``); the core never reads a clock. Every status is the core's:
nothing here decides again whether a step is done, overdue, open or waiting.

Which courses a practice's calendar shows: see ``plan_entries`` (``current_courses``, ``still_planned``).
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from isotrack import core
from isotrack.clinic import worklist
from isotrack.clinic.models import (
    PLAN_ORDER,
    Course,
    CourseStatus,
    Patient,
    PlanEntry,
    Practice,
    StaffUser,
    initials_of,
)
from isotrack.clinic.plan_entries import (
    FOLLOW_UP_EVENT_KINDS,
    KEEP_ENDED_COURSES_DAYS,
    on_the_calendar,
    stored_event,
)
from isotrack.clinic.plan_entries import still_planned as course_still_planned
from isotrack.clinic.records import course_facts, facts_of

__all__ = ["FOLLOW_UP_EVENT_KINDS", "KEEP_ENDED_COURSES_DAYS", "on_the_calendar"]

MONTH_DAY_EVENTS = 5  # events shown in a day of the month; the rest are counted, listed on the day's page
WEEK_DAY_EVENTS = 25  # events shown in a day of the week
PAGE_SIZE = 50  # events on a page of a day, of the overdue list, of the API's calendar (by default)
OVERDUE_SHOWN = 10  # events of the Overdue box above the month or the week
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

    @property
    def course_uuid(self) -> uuid.UUID:
        return self.course.uuid

    @property
    def patient_label(self) -> str:
        """How calendar pages name the patient: initials and MRN."""
        return f"{self.patient.initials} {self.patient.mrn}"


@dataclass(frozen=True)
class ShownEntry:
    """One stored planned event (``PlanEntry``) as the practice's calendar and the API show it, with the
    core's status on the day read."""

    course_uuid: uuid.UUID
    patient_uuid: uuid.UUID
    given_name: str
    family_name: str
    mrn: str
    event: core.PlannedEvent  # its status: the day's

    @property
    def status(self) -> str:
        return self.event.status

    @property
    def date(self) -> date:
        return self.event.date

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def for_staff_only(self) -> bool:
        return self.event.for_staff_only

    @property
    def patient_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def patient_label(self) -> str:
        return f"{initials_of(self.given_name, self.family_name)} {self.mrn}"

    @property
    def cursor(self) -> str:
        """Names the entry's place in the calendar's order for the next or the previous page: its day, its
        course's public id and the event's key (never a patient's name in a URL)."""
        return f"{self.event.date.isoformat()}.{self.course_uuid}.{self.event.key}"


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
    """Whether a course belongs on the practice's calendar on ``day`` (``plan_entries.still_planned``)."""
    return course_still_planned(course.end, events, day)


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
    """Every planned event of the practice's current courses computed afresh (the feeds and the reminders;
    the pages read the stored plans)."""
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


# ---------------------------------------------------------------------------------- the stored plans, read


def refresh(practice: Practice, today: date | None = None) -> date:
    """Judge the practice's out-of-date plans (``worklist.refresh``): what every read of the stored plans
    does first. Returns the day (the practice's today by default)."""
    return worklist.refresh(practice, today, plans=True)


_SHOWN = (
    "course__uuid",
    "course__patient__uuid",
    "course__patient__mrn",
    "given_name",
    "family_name",
    "date",
    "kind",
    "number",
    "earliest",
    "latest",
    "status",
    "done_on",
    "projected",
    "due_code",
    "due_date",
    "detail",
    "rule",
    "placed_on",
)


def _planned(practice: Practice, prescriber: StaffUser | None) -> QuerySet[PlanEntry]:
    rows = PlanEntry.objects.filter(practice_id=practice.pk)
    return rows.filter(prescriber_id=prescriber.pk) if prescriber is not None else rows


def _shown(rows: Iterable[dict[str, Any]], today: date) -> list[ShownEntry]:
    """The rows as entries, each event with its status on ``today`` (the core's)."""
    found = []
    for row in rows:
        event = stored_event(row)
        found.append(
            ShownEntry(
                course_uuid=row["course__uuid"],
                patient_uuid=row["course__patient__uuid"],
                given_name=row["given_name"],
                family_name=row["family_name"],
                mrn=row["course__patient__mrn"],
                event=replace(event, status=core.event_status_on(event, today)),
            )
        )
    return found


@dataclass(frozen=True)
class CalendarDay:
    date: date
    in_month: bool
    is_today: bool
    entries: list[Any]  # the first of the day's events: ShownEntry, or CalendarEntry on a course's page
    count: int = 0  # every event of the day
    overdue: bool = False  # one of them is overdue

    @property
    def more(self) -> int:
        """Events of the day not shown (the day's page lists them)."""
        return self.count - len(self.entries)


@dataclass(frozen=True)
class DaySummary:
    count: int
    overdue: bool
    entries: list[ShownEntry]


def days_between(
    practice: Practice,
    today: date,
    first: date,
    last: date,
    *,
    prescriber: StaffUser | None = None,
    per_day: int = MONTH_DAY_EVENTS,
) -> dict[date, DaySummary]:
    """The days [first, last] of the stored plans that have events: each day's count, whether one is overdue
    on ``today``, and its first ``per_day`` events in the calendar's order. Three queries whatever the
    practice's size: the counts, the days with an overdue event, and the first events of each day (one
    UNION ALL of a limited read per day, each off the index)."""
    rows = _planned(practice, prescriber).filter(date__gte=first, date__lte=last)
    counts = dict(rows.order_by().values("date").annotate(n=Count("id")).values_list("date", "n"))
    if not counts:
        return {}
    overdue = set(rows.filter(overdue_from__lte=today).order_by().values_list("date", flat=True).distinct())
    firsts = PlanEntry.objects.filter(id__in=_firsts_of_each_day(rows, sorted(counts), per_day))
    by_day: dict[date, list[ShownEntry]] = {}
    for entry in _shown(firsts.order_by(*PLAN_ORDER).values(*_SHOWN), today):
        by_day.setdefault(entry.date, []).append(entry)
    return {day: DaySummary(count, day in overdue, by_day.get(day, [])) for day, count in counts.items()}


def _firsts_of_each_day(rows: QuerySet[PlanEntry], days: list[date], per_day: int) -> RawSQL:
    """The ids of the first ``per_day`` rows of each day, in the calendar's order: one limited read per day
    off the index, put together by UNION ALL (each in a subquery of its own: SQLite takes no LIMIT in a
    compound's parts)."""
    parts, params = [], []
    for number, day in enumerate(days):
        limited = rows.filter(date=day).order_by(*PLAN_ORDER).values("id")[:per_day]
        sql, values = limited.query.get_compiler(using=limited.db).as_sql()
        parts.append(f"SELECT id FROM ({sql}) AS day{number}")  # noqa: S608 -- Django's SQL, its parameters
        params.extend(values)
    return RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_grid(year: int, month: int) -> list[list[date]]:
    """The month as weeks, Monday first."""
    return month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)


def month_weeks(year: int, month: int, days: dict[date, DaySummary], today: date) -> list[list[CalendarDay]]:
    """The month as weeks (Monday first), each day with its first events and its count."""
    return [[_day(d, d.month == month, days, today) for d in week] for week in month_grid(year, month)]


def week_days(first: date, days: dict[date, DaySummary], today: date) -> list[CalendarDay]:
    return [_day(first + timedelta(days=i), True, days, today) for i in range(7)]


def _day(day: date, in_month: bool, days: dict[date, DaySummary], today: date) -> CalendarDay:
    summary = days.get(day)
    if summary is None:
        return CalendarDay(day, in_month, day == today, [])
    return CalendarDay(day, in_month, day == today, summary.entries, summary.count, summary.overdue)


def course_month_weeks(
    year: int, month: int, found: list[CalendarEntry], today: date
) -> list[list[CalendarDay]]:
    """One course's month (its events computed afresh): every event of each day."""
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in found:
        by_day.setdefault(entry.date, []).append(entry)
    return [
        [
            CalendarDay(
                d,
                d.month == month,
                d == today,
                by_day.get(d, []),
                len(by_day.get(d, [])),
                any(e.status == "overdue" for e in by_day.get(d, [])),
            )
            for d in week
        ]
        for week in month_grid(year, month)
    ]


@dataclass(frozen=True)
class EventPage:
    """One page of stored events in the calendar's order."""

    entries: list[ShownEntry]
    first_page: bool  # no event before this page
    last_page: bool  # no event after this page

    @property
    def next_after(self) -> str:
        return "" if self.last_page or not self.entries else self.entries[-1].cursor

    @property
    def previous_before(self) -> str:
        return "" if self.first_page or not self.entries else self.entries[0].cursor


def day_page(
    practice: Practice,
    today: date,
    day: date,
    *,
    prescriber: StaffUser | None = None,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page of the events of ``day``."""
    rows = _planned(practice, prescriber).filter(date=day)
    return _page(practice, rows, today, after=after, before=before, size=size)


def events_between(
    practice: Practice,
    today: date,
    first: date,
    last: date,
    *,
    prescriber: StaffUser | None = None,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page of the events of the days [first, last] (the API's calendar)."""
    rows = _planned(practice, prescriber).filter(date__gte=first, date__lte=last)
    return _page(practice, rows, today, after=after, before=before, size=size)


def overdue_count(practice: Practice, today: date, *, prescriber: StaffUser | None = None) -> int:
    """How many events are overdue on ``today`` (``core.overdue_from``: the first day each one is)."""
    return _planned(practice, prescriber).filter(overdue_from__lte=today).count()


def overdue_page(
    practice: Practice,
    today: date,
    *,
    prescriber: StaffUser | None = None,
    after: str = "",
    before: str = "",
    size: int = OVERDUE_SHOWN,
) -> EventPage:
    """One page of the events overdue on ``today``: exactly the ones the core calls overdue (never a
    projected event, never baseline labs before the engine raises BASELINE_LABS_MISSING)."""
    rows = _planned(practice, prescriber).filter(overdue_from__lte=today)
    return _page(practice, rows, today, after=after, before=before, size=size)


def _page(
    practice: Practice, rows: QuerySet[PlanEntry], today: date, *, after: str, before: str, size: int
) -> EventPage:
    """A page of ``size`` rows after the entry named by ``after`` (before ``before``), read by key."""
    boundary = _key_of(practice, before or after)
    backwards = bool(before) and boundary is not None
    if boundary is not None:
        rows = rows.filter(_beyond(boundary, backwards=backwards))
    ordering = [f"-{name}" for name in PLAN_ORDER] if backwards else list(PLAN_ORDER)
    found = list(rows.order_by(*ordering).values(*_SHOWN)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
        first_page, last_page = not more, False
    else:
        first_page, last_page = boundary is None, not more
    return EventPage(_shown(found, today), first_page, last_page)


def _key_of(practice: Practice, cursor: str) -> tuple[Any, ...] | None:
    """The calendar's order key of the entry a cursor names (``ShownEntry.cursor``); None if it names none
    of the practice's courses. The event need not still exist: its key is its place."""
    try:
        day_text, course_text, key = cursor.split(".", 2)
        day = date.fromisoformat(day_text)
        public_id = uuid.UUID(course_text)
        kind_text, number_text = key.rsplit("-", 1)
        kind, number = kind_text.replace("-", "_"), int(number_text)
    except ValueError:
        return None
    if kind not in core.KIND_ORDER:
        return None
    course = (
        Course.objects.filter(patient__practice_id=practice.pk, uuid=public_id)
        .values_list("patient__family_name", "patient__given_name", "id")
        .first()
    )
    if course is None:
        return None
    return (day, *course, core.KIND_ORDER[kind], number)


def _beyond(key: tuple[Any, ...], *, backwards: bool) -> RawSQL:
    """The rows after ``key`` in the calendar's order (before it, ``backwards``): a row comparison, which
    PostgreSQL and SQLite read off the index."""
    connection = connections[PlanEntry.objects.db]
    quote = connection.ops.quote_name
    table = quote(PlanEntry._meta.db_table)
    columns = ", ".join(f"{table}.{quote(name)}" for name in PLAN_ORDER)  # the columns' names
    marks = ", ".join(["%s"] * len(PLAN_ORDER))
    values = [connection.ops.adapt_datefield_value(v) if isinstance(v, dt.date) else v for v in key]
    # Names from the model, quoted; every value a parameter.
    sql = f"({columns}) {'<' if backwards else '>'} ({marks})"
    return RawSQL(sql, values, output_field=BooleanField())  # noqa: S611


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
