"""How long a judgment holds: the first day on which a course's next step would change with no new record.

``next_step_until_change(course_file, day)`` is ``next_step`` with ``changes_on`` set: the first day after
``day`` on which ``next_step`` gives another answer (``answer``: what a worklist line shows and ranks by) if
nothing is recorded in between, at most ``HORIZON_DAYS`` ahead. A stored line judged on ``day`` holds on every
day before ``changes_on``; a new record, or another engine or policy, makes it stale sooner.

How it is found. The engine reads the day only by comparing it with dates: dates of the course's facts (a
test, a fill, a hold's end, the day a rule set takes effect) and dates the rules derive from them and put in
their answer (a window's last day, a due date, the earliest day a step is possible, the projected end). So the
answer can change only on one of those dates or the day after it. They are collected, every one of them, by
walking the course file, the evaluation and the next step (``_dates``), and the engine judges the course again
on each, in order, until the answer differs. A property test (tests/core/test_change.py) checks for random
courses and days that the answer holds on every day in between.

The therapy calendar holds the same way, with one difference: an event's status moves with the day alone all
the time (a step opens on its earliest day, a date to know goes past), so a plan is kept with the statuses of
the day it was planned on and read with ``TherapyCalendar.on(day)`` (``calendar.event_status_on``: the status
from the event's own fields). ``plan_until_change(course_file, day)`` is ``therapy_calendar`` with
``changes_on``: the first day the calendar the core gives differs from the plan read that way, found on the
same candidate days (the plan's dates and the day after each included). A plan with an event placed from the
day itself (``placed_from_the_day``) changes the next day. ``judge_until_change`` gives both, judged from one
evaluation a day, with the first day either changes: what a stored worklist line and its stored plan hold
until.

Decision: the horizon (``HORIZON_DAYS``) bounds the search, so a line is judged again at least every four
weeks even when nothing is due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from isotrack.core.calendar import TherapyCalendar, therapy_calendar
from isotrack.core.course import CourseFile
from isotrack.core.cycle import NextStep, next_step
from isotrack.core.evaluate import Evaluation, evaluate

HORIZON_DAYS = 28
DAY = dt.timedelta(days=1)


def answer(found: NextStep) -> tuple[Any, ...]:
    """What a worklist line shows and ranks by, without what follows from the day alone (the countdown and
    the days left are worked out from the step and the day when shown; the step's notes are not listed)."""
    step = dataclasses.replace(found.step, notes=()) if found.step else None
    return (
        found.rule_set_id,
        found.rule_set_title,
        found.phase,
        step,
        found.findings,
        found.tier,
        found.alert_urgency,
        found.dispense_allowed,
        found.blocking,
        found.rank_date,
    )


def next_step_until_change(
    course_file: CourseFile, day: dt.date, horizon: int = HORIZON_DAYS, evaluation: Evaluation | None = None
) -> NextStep:
    """``next_step(course_file, day)`` with ``changes_on``: the first day its ``answer`` changes if nothing
    is recorded, or ``day + horizon`` when it holds that long."""
    found, _ = judge_until_change(course_file, day, horizon, evaluation, plan=False)
    assert found is not None
    return found


def plan_until_change(
    course_file: CourseFile, day: dt.date, horizon: int = HORIZON_DAYS, evaluation: Evaluation | None = None
) -> TherapyCalendar:
    """``therapy_calendar(course_file, day)`` with ``changes_on``: the first day the core's calendar differs
    from this one read on that day (``TherapyCalendar.on``) if nothing is recorded, or ``day + horizon``."""
    _, plan = judge_until_change(course_file, day, horizon, evaluation, step=False)
    assert plan is not None
    return plan


def judge_until_change(
    course_file: CourseFile,
    day: dt.date,
    horizon: int = HORIZON_DAYS,
    evaluation: Evaluation | None = None,
    *,
    step: bool = True,
    plan: bool = True,
) -> tuple[NextStep | None, TherapyCalendar | None]:
    """The next step (``step``) and the calendar (``plan``) on ``day``, both with the same ``changes_on``: the
    first day either changes if nothing is recorded (each day judged from one evaluation), or ``day +
    horizon``."""
    if evaluation is None:
        evaluation = evaluate(course_file, day)
    found = next_step(course_file, day, evaluation) if step else None
    planned = therapy_calendar(course_file, day, evaluation=evaluation) if plan else None
    last = day + horizon * DAY
    if planned is not None and planned.placed_from_the_day:
        last = min(last, day + DAY)
    held = answer(found) if found is not None else None
    candidates: set[dt.date] = set()
    if last > day + DAY:  # else no day lies between
        dates = _dates((course_file, evaluation, found))
        for event in planned.events if planned is not None else ():  # its dates, read directly: faster
            dates.update((event.date, event.earliest, event.latest))
            dates.update(d for d in (event.done_on, event.due_date) if d is not None)
        for date in dates:
            for candidate in (date, date + DAY):
                if day < candidate < last:
                    candidates.add(candidate)
    changes_on = last
    for candidate in sorted(candidates):
        judged = evaluate(course_file, candidate)
        if found is not None and answer(next_step(course_file, candidate, judged)) != held:
            changes_on = candidate
            break
        if planned is not None and not planned.holds_on(
            candidate, therapy_calendar(course_file, candidate, evaluation=judged).events
        ):
            changes_on = candidate
            break
    return (
        dataclasses.replace(found, changes_on=changes_on) if found is not None else None,
        dataclasses.replace(planned, changes_on=changes_on) if planned is not None else None,
    )


# The day judged on is not a fact: the day after it is no more a candidate than any other day. (The history an
# evaluation keeps holds the course file's events again.)
_NOT_FACTS = frozenset({"as_of", "day", "history"})


def _dates(value: object) -> set[dt.date]:
    """Every date held anywhere in ``value`` (dataclasses, tuples, lists, dicts), the policy's included, but
    the day judged on (``_NOT_FACTS``)."""
    found: set[dt.date] = set()
    _collect(value, found)
    return found


def _collect(value: object, found: set[dt.date]) -> None:
    if isinstance(value, dt.date):
        found.add(value)
    elif isinstance(value, tuple | list | set | frozenset):
        for item in value:
            _collect(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    else:
        for name in _fields_of(type(value)):
            _collect(getattr(value, name), found)


_FIELDS: dict[type, tuple[str, ...]] = {}  # the fields walked, by class (a dataclass's, none for others)


def _fields_of(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        fields = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else ()
        names = _FIELDS[kind] = tuple(f.name for f in fields if f.name not in _NOT_FACTS)
    return names
