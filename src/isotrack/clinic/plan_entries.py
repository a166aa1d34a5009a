"""The practice calendar's stored plans (``PlanEntry``): each course's planned events, judged with its
worklist line and stored beside it, so that a calendar page reads only the days it shows.

When a chunk of worklist lines is judged (``worklist_entries._judge``), each course the calendar shows is
planned from the same facts and the same evaluation as its line (``core.judge_until_change``: the first day
either the next step or the plan changes with no new record). The plan is kept with the statuses of the day
it was judged on; a page reads each event's status on its own day with ``core.event_status_on``, which the
core guarantees until the line's change date. So the plan needs nothing of its own to go out of date: a write
makes the line stale (``worklist_entries.mark_stale``), its change date comes, or the practice's rules or the
engine change, and the line is judged again with its plan; every calendar read first judges the practice's
stale lines (``worklist.refresh``), like the worklist's.

The plans of a chunk are replaced in the transaction that stores its lines, one DELETE and one INSERT per
chunk, and only for the lines stored: those whose generation is still the one read before the facts (a row
the line's UPDATE locked until the commit). A line a concurrent write made stale keeps its old plan until it
is judged again, in the same read or the next.

Which courses the calendar shows (``on_the_calendar``, ``still_planned``): every course not entered in error
that has not ended, or ended within ``KEEP_ENDED_COURSES_DAYS``; and a stopped course (IPL-PT-POSITIVE)
however long ago it ended while one of its follow-up steps (stop, refer, report) is not recorded, and for
``KEEP_ENDED_COURSES_DAYS`` after the last of them was recorded. A course leaves the calendar on a day too
(``leaves_on``): its line's change date is no later than that day. The calendar plans courses the worklist
does not list (ended within the period, without a step to do); the worklist's line of a course the calendar
does not show is judged as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connections

from isotrack import core
from isotrack.clinic.models import CourseStatus, PlanEntry, WorklistEntry
from isotrack.clinic.records import facts_by_course

# Courses that ended longer ago than this have nothing left to plan (the last step is end + 30 days), unless
# a stopped course's follow-up is still pending (see the module's docstring).
KEEP_ENDED_COURSES_DAYS = 90
# IPL-PT-POSITIVE: the follow-up steps of a stopped course, each until a prescriber records it.
FOLLOW_UP_EVENT_KINDS = frozenset({"pregnancy_stop", "pregnancy_refer", "pregnancy_report"})
DAY = dt.timedelta(days=1)
NEVER = dt.date.max


def on_the_calendar(status: str, end: dt.date | None, day: dt.date) -> bool:
    """Whether a course may be on the practice's calendar on ``day`` before its plan is known: not entered in
    error, and not ended, ended within ``KEEP_ENDED_COURSES_DAYS``, or stopped (``still_planned`` says the
    rest)."""
    if status == CourseStatus.ENTERED_IN_ERROR:
        return False
    return end is None or end >= day - KEEP_ENDED_COURSES_DAYS * DAY or status == CourseStatus.REVOKED


def still_planned(end: dt.date | None, events: Iterable[core.PlannedEvent], day: dt.date) -> bool:
    """Whether a course belongs on the practice's calendar on ``day``: not ended, or ended within
    ``KEEP_ENDED_COURSES_DAYS``, or a stopped course whose follow-up is pending or was completed within
    them."""
    cutoff = day - KEEP_ENDED_COURSES_DAYS * DAY
    if end is None or end >= cutoff:
        return True
    follow_up = [event for event in events if event.kind in FOLLOW_UP_EVENT_KINDS]
    if any(event.status not in ("done", "past") for event in follow_up):
        return True
    return any(event.done_on is not None and event.done_on >= cutoff for event in follow_up)


def leaves_on(end: dt.date | None, plan: core.TherapyCalendar, day: dt.date) -> dt.date:
    """The first day after ``day`` on which the course leaves the calendar with no new record, by its plan
    read on that day (``NEVER``: no day alone takes it off)."""
    if end is None:
        return NEVER
    keep = (KEEP_ENDED_COURSES_DAYS + 1) * DAY
    candidates = {end + keep} | {
        e.done_on + keep for e in plan.events if e.kind in FOLLOW_UP_EVENT_KINDS and e.done_on is not None
    }
    for candidate in sorted(c for c in candidates if c > day):
        if not still_planned(end, plan.on(candidate), candidate):
            return candidate
    return NEVER


class ChunkPlans:
    """The plans of one chunk of worklist lines while it is judged: ``judge`` judges a course's line and
    plan together; ``held`` plans the calendar's courses the worklist does not judge and holds each line
    no later than its plan; ``store`` replaces the plans of the lines stored."""

    def __init__(self, stale: list[dict[str, Any]], today: dt.date) -> None:
        self.today = today
        self.rows = {row["course_id"]: row for row in stale}
        self.wanted = {
            course_id
            for course_id, row in self.rows.items()
            if on_the_calendar(row["course__status"], _date(row["course__end"]), today)
        }
        self.plans: dict[int, core.TherapyCalendar] = {}

    def judge(self, course_id: int, course_file: core.CourseFile) -> core.NextStep:
        """The course's next step until it changes, and its plan if the calendar may show the course: one
        evaluation a day for both, and the first day either changes."""
        found, plan = core.judge_until_change(course_file, self.today, plan=course_id in self.wanted)
        if plan is not None:
            self.plans[course_id] = plan
        assert found is not None
        return found

    def held(self, lines: list[tuple[dict[str, Any], int, int]]) -> list[tuple[dict[str, Any], int, int]]:
        """The chunk's lines (values, course, generation), each changing no later than its plan, once the
        courses the worklist did not judge are planned."""
        missing = [course_id for course_id in self.wanted if course_id not in self.plans]
        for course_id, course_file in facts_by_course(missing).items():
            _, plan = core.judge_until_change(course_file, self.today, step=False)
            assert plan is not None
            self.plans[course_id] = plan
        held = []
        for values, course_id, generation in lines:
            until = self._until(course_id)
            if until < values["changes_on"]:
                values = {**values, "changes_on": until}
            held.append((values, course_id, generation))
        return held

    def _until(self, course_id: int) -> dt.date:
        plan = self.plans.get(course_id)
        if plan is None:
            return NEVER
        end = _date(self.rows[course_id]["course__end"])
        if not still_planned(end, plan.events, self.today):
            del self.plans[course_id]  # off the calendar: only a write brings it back
            return NEVER
        assert plan.changes_on is not None
        return min(plan.changes_on, leaves_on(end, plan, self.today))

    def store(self) -> None:
        """Inside the transaction that stored the chunk's lines: the plans of the lines stored replace their
        old ones (one DELETE, one INSERT); a line a concurrent write made stale keeps its old plan."""
        lines = WorklistEntry.objects.filter(course_id__in=list(self.rows)).values_list(
            "course_id", "generation", "practice_id"
        )
        stored = {
            course_id: practice for course_id, g, practice in lines if g == self.rows[course_id]["generation"]
        }
        PlanEntry.objects.filter(course_id__in=list(stored)).delete()
        _insert(
            entry
            for course_id, practice_id in stored.items()
            if course_id in self.plans
            for entry in self._entries(course_id, practice_id)
        )

    def _entries(self, course_id: int, practice_id: int) -> Iterable[tuple[Any, ...]]:
        """The rows of a course's plan, as ``PLAN_COLUMNS``."""
        row = self.rows[course_id]
        copied = (
            practice_id,
            course_id,
            row["course__prescriber_id"],
            row["course__patient__family_name"],
            row["course__patient__given_name"],
        )
        for event in self.plans[course_id].events:
            yield (
                *copied,
                event.date,
                event.kind,
                event.number,
                core.KIND_ORDER[event.kind],
                event.earliest,
                event.latest,
                event.status,
                event.done_on,
                event.projected,
                event.due_code or "",
                event.due_date,
                event.detail,
                event.rule,
                core.overdue_from(event),
            )


# The columns ``ChunkPlans._entries`` writes, in its order.
PLAN_COLUMNS = (
    "practice_id",
    "course_id",
    "prescriber_id",
    "family_name",
    "given_name",
    "date",
    "kind",
    "number",
    "kind_order",
    "earliest",
    "latest",
    "status",
    "done_on",
    "projected",
    "due_code",
    "due_date",
    "detail",
    "rule",
    "overdue_from",
)


def _insert(rows: Iterable[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows streamed with one COPY (a chunk's ten thousand events in a few milliseconds,
    where an INSERT per row costs half a second). SQLite, in the process: one parameterized INSERT run for
    every row (``executemany``), one statement per chunk where ``bulk_create`` splits the rows by the limit
    of parameters per statement."""
    connection = connections[PlanEntry.objects.db]
    quote = connection.ops.quote_name
    table, columns = quote(PlanEntry._meta.db_table), ", ".join(quote(c) for c in PLAN_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Names from the model, quoted; the rows sent as data, never as SQL.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        date = connection.ops.adapt_datefield_value
        values = [tuple(date(v) if isinstance(v, dt.date) else v for v in row) for row in rows]
        if values:
            placeholders = ", ".join(["%s"] * len(PLAN_COLUMNS))
            # Names from the model, quoted; every value a parameter.
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)  # noqa: S608


def stored_event(row: dict[str, Any]) -> core.PlannedEvent:
    """The core's planned event back from a stored row's columns, with its status as planned."""
    return core.PlannedEvent(
        kind=row["kind"],
        number=row["number"],
        date=row["date"],
        earliest=row["earliest"],
        latest=row["latest"],
        status=row["status"],
        done_on=row["done_on"],
        projected=row["projected"],
        due_code=row["due_code"] or None,
        due_date=row["due_date"],
        detail=row["detail"],
        rule=row["rule"],
    )


def _date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)
