"""The practice calendar's stored plans (``PlanEntry``): each course's planned events, judged from the same
facts as its worklist line and stored beside it, so that a calendar page reads only the days it shows.

Each course's plan holds on dates of its own, kept on its worklist line (``plan_judged_on``,
``plan_changes_on``: ``core.judge_until_change`` gives the step and the plan each the first day it changes
with no new record). The plan is kept with the statuses of the day it was judged on; a page reads each
event's status on its own day with ``core.event_status_on``, which the core guarantees until the plan's change
date. A plan goes out of date when a write makes the patient's lines stale (``worklist_entries.mark_stale``
sets both change dates), its change date comes, or the practice's rules or the engine change; every calendar
read first judges the practice's out-of-date plans (``worklist.refresh`` with ``plans``), the worklist's reads
only the lines, and the nightly job both. Plans and lines hold apart: each changes on days of its own.

An event placed from the day (``core.PlannedEvent.floating``: a screening test still to do, a late fill's
projected cycles) is stored with the day its dates stand for (``placed_on``). The plan holds all the same
(the core moves such events with the day until the plan's change date); the same read moves the stored ones
to the day (``move_floating``: one UPDATE of the practice's floating rows that stand for another day), so a
page reads every row as it is, by its stored date.

The plans of a chunk are replaced in the transaction that stores their dates on the lines, one DELETE and one
INSERT (PostgreSQL: COPY) per chunk, and only for the lines stored: those whose generation is still the one
read before the facts (a row the UPDATE of its dates locked until the commit). A plan a concurrent write made
stale is kept until it is judged again, in the same read or the next.

Which courses the calendar shows (``on_the_calendar``, ``still_planned``): every course not entered in error
that has not ended, or ended within ``KEEP_ENDED_COURSES_DAYS``; and a stopped course (IPL-PT-POSITIVE)
however long ago it ended while one of its follow-up steps (stop, refer, report) is not recorded, and for
``KEEP_ENDED_COURSES_DAYS`` after the last of them was recorded. A course leaves the calendar on a day too
(``leaves_on``): its plan's change date is no later than that day. The calendar plans courses the worklist
does not list (ended within the period, without a step to do).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connections

from isotrack import core
from isotrack.clinic.models import CourseStatus, PlanEntry, WorklistEntry

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
    """The plans of one chunk of courses while they are judged: ``wanted`` are the courses whose plan is due
    and which the calendar may show, each judged with its line when that is due too
    (``worklist_entries.judge_courses``, which ``add``s the plan); ``states`` are the plan's dates each line
    keeps (``PLAN_FIELDS``); ``store`` replaces the plans of the lines whose dates were stored."""

    def __init__(self, due: list[dict[str, Any]], today: dt.date) -> None:
        self.today = today
        self.rows = {row["course_id"]: row for row in due}
        self.wanted = frozenset(
            course_id
            for course_id, row in self.rows.items()
            if on_the_calendar(row["course__status"], read_date(row["course__end"]), today)
        )
        self.plans: dict[int, core.TherapyCalendar] = {}

    def add(self, course_id: int, plan: core.TherapyCalendar) -> None:
        """A wanted course's plan, as the core judged it on the chunk's day."""
        self.plans[course_id] = plan

    def states(self) -> list[tuple[dict[str, Any], int, int]]:
        """For every course whose plan was due: (the plan's day and change date, course, generation). A course
        the calendar no longer shows keeps no plan, and no day alone brings it back (a write does)."""
        states = []
        for course_id, row in self.rows.items():
            until = self._until(course_id)
            values = {"plan_judged_on": self.today, "plan_changes_on": until}
            states.append((values, course_id, row["generation"]))
        return states

    def _until(self, course_id: int) -> dt.date:
        plan = self.plans.get(course_id)
        if plan is None:
            return NEVER
        end = read_date(self.rows[course_id]["course__end"])
        if not still_planned(end, plan.events, self.today):
            del self.plans[course_id]  # off the calendar: only a write brings it back
            return NEVER
        assert plan.changes_on is not None
        return min(plan.changes_on, leaves_on(end, plan, self.today))

    def store(self) -> None:
        """Inside the transaction that stored the chunk's plan dates (``states``): the plans of the lines
        stored replace their old ones (one DELETE, one INSERT or COPY); a line a concurrent write made stale
        keeps its old plan. The lines stored are those whose generation is still the one read before the
        facts: rows the UPDATE of their dates locked until the commit."""
        if not self.rows:
            return
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
                self.today if event.floating else None,
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
    "placed_on",
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


def move_floating(practice_id: int, today: dt.date, part: tuple[int, int] = (0, 1)) -> int:
    """Move the practice's floating events (``placed_on``) to ``today``: their date, earliest and latest by
    the days since the day they stand for, as ``core.TherapyCalendar.on`` reads them until the plan's change
    date (a plan whose change date came is judged again instead). One UPDATE off the ``plan_floating`` index:
    none when they stand for today already. ``part`` (k, n): only the courses whose key is k modulo n (one of
    n processes moving the practice's events at once). Returns how many rows moved."""
    connection = connections[PlanEntry.objects.db]
    quote = connection.ops.quote_name
    table = quote(PlanEntry._meta.db_table)
    placed = quote("placed_on")
    if connection.vendor == "postgresql":  # date - date: days; date + days: a date
        moves = [f"{quote(c)} = {quote(c)} + (%s::date - {placed})" for c in core.FLOATING_FIELDS]
    else:  # SQLite's dates are ISO text; date() with a days modifier gives ISO text again
        moves = [
            f"{quote(c)} = date({quote(c)}, printf('%%+d days', julianday(%s) - julianday({placed})))"
            for c in core.FLOATING_FIELDS
        ]
    # Names from the model, quoted; every value a parameter.
    sql = (
        f"UPDATE {table} SET {', '.join(moves)}, {placed} = %s "  # noqa: S608
        f"WHERE {quote('practice_id')} = %s AND {placed} IS NOT NULL AND {placed} <> %s"
    )
    k, n = part
    if n > 1:
        sql += f" AND {quote('course_id')} %% %s = %s"
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*[day] * len(moves), day, practice_id, day, *((n, k) if n > 1 else ())])
        return cursor.rowcount


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
        floating=row["placed_on"] is not None,
    )


def read_date(value: dt.date | str | None) -> dt.date | None:
    """A date as a raw cursor reads it (SQLite's: ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)
