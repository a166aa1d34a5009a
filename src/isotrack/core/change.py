"""How long a judgment holds: the first day on which a course's next step would change with no new record.

``next_step_until_change(course_file, day)`` is ``next_step`` with ``changes_on`` set: the first day after
``day`` on which ``next_step`` gives another answer (``answer``: what a worklist line shows and ranks by) if
nothing is recorded in between, at most ``HORIZON_DAYS`` ahead. A stored line judged on ``day`` holds on every
day before ``changes_on``; a new record, or another engine or policy, makes it stale sooner.

How it is found. The engine reads the day only by comparing it with dates: dates of the course's facts (a
test, a fill, a hold's end, the day a rule set takes effect) and dates the rules derive from them and put in
their answer (a window's last day, a due date, the earliest day a step is possible, the projected end). So the
answer can change only on one of those dates or the day after it. One bound is counted from the day itself: no
completion date is projected more than three years ahead (``dose.projection_appears_on`` gives the day one
appears, a candidate too). They are collected, every one of them, by walking the course file, the evaluation
and the next step (``_dates``: every field that its annotation lets hold a date, whatever the depth), and the
engine judges the course again on each, in order, until the answer differs. A fact dated after the day (a
weight entered ahead of its date) is unknown until its date, and so are the dates the rules derive from it:
judged on that date, the course's derived dates join the candidates. A property test
(tests/core/test_change.py) checks for random courses and days that the answer holds on every day in between.

The therapy calendar holds the same way, with one difference: an event's status moves with the day alone all
the time (a step opens on its earliest day, a date to know goes past), so a plan is kept with the statuses of
the day it was planned on and read with ``TherapyCalendar.on(day)`` (``calendar.event_status_on``: the status
from the event's own fields). ``plan_until_change(course_file, day)`` is ``therapy_calendar`` with
``changes_on``: the first day the calendar the core gives differs from the plan read that way, found on the
same candidate days (the plan's dates and the day after each included). An event placed from the day itself
(``PlannedEvent.floating``: a screening test still to do, a late fill's projected cycles) moves with the day
in ``on`` (the plan's order is the calendar's again after the move). The calendar compares a floating date
with a fixed one in one place only: a fill projected from today is planned while it falls on or before the
end. The first day the last of them would not (``TherapyCalendar.moves_until``) is a candidate too.
``judge_until_change`` gives both, judged from one evaluation a day, each with its own change date: a stored
worklist line holds until the step's, its stored plan until the plan's.

Decision: the horizon (``HORIZON_DAYS``) bounds the search, so a line is judged again at least every four
weeks even when nothing is due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import operator
import types
import typing
from collections.abc import Callable
from typing import Any

from isotrack.core.calendar import TherapyCalendar, therapy_calendar
from isotrack.core.course import CourseFile
from isotrack.core.cycle import NextStep, Step, next_step
from isotrack.core.dose import projection_appears_on
from isotrack.core.evaluate import Evaluation, evaluate

HORIZON_DAYS = 28
DAY = dt.timedelta(days=1)
# A step as a worklist line lists it: every field but its notes, in order (a tuple: no copy of the step made).
_STEP_LISTED = operator.attrgetter(*(f.name for f in dataclasses.fields(Step) if f.name != "notes"))


def answer(found: NextStep) -> tuple[Any, ...]:
    """What a worklist line shows and ranks by, without what follows from the day alone (the countdown and
    the days left are worked out from the step and the day when shown; the step's notes are not listed)."""
    step = _STEP_LISTED(found.step) if found.step else None
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
    """The next step (``step``) and the calendar (``plan``) on ``day``, each with its ``changes_on``: the
    first day it changes if nothing is recorded, or ``day + horizon``. One evaluation a day serves both."""
    if evaluation is None:
        evaluation = evaluate(course_file, day)
    found = next_step(course_file, day, evaluation) if step else None
    planned = therapy_calendar(course_file, day, evaluation=evaluation) if plan else None
    last = day + horizon * DAY
    held = answer(found) if found is not None else None
    dates = _dates((course_file, evaluation, found))
    for event in planned.events if planned is not None else ():  # its dates, read directly: faster
        if not event.floating:  # a floating event's dates move with the day: ``moves_until`` instead
            dates.update((event.date, event.earliest, event.latest))
        dates.update(d for d in (event.done_on, event.due_date) if d is not None)
    candidates = {c for date in dates for c in (date, date + DAY) if day < c < last}
    if evaluation.dose.projected_completion_date is None:  # the one horizon that moves with the day
        appears = projection_appears_on(course_file, day, last)
        if appears is not None and appears < last:
            candidates.add(appears)
    if planned is not None and planned.moves_until is not None and day < planned.moves_until < last:
        candidates.add(planned.moves_until)
    step_changes = last if found is not None else None  # None: not asked, or found
    plan_changes = last if planned is not None else None
    step_open, plan_open = found is not None, planned is not None
    # A fact dated after ``day`` (a weight entered ahead of its date) is unknown on ``day``: the dates the
    # rules derive from it (the day the target is reached) appear only on its own date, and are candidates
    # from then on.
    later_facts = {d for d in _dates(course_file) if day < d < last}
    queue = sorted(candidates)
    heapq.heapify(queue)
    while queue:
        candidate = heapq.heappop(queue)
        while queue and queue[0] == candidate:
            heapq.heappop(queue)
        if not (step_open or plan_open):
            break
        judged = evaluate(course_file, candidate)
        learns = candidate in later_facts
        judged_step = next_step(course_file, candidate, judged) if step_open or learns else None
        if step_open and judged_step is not None and answer(judged_step) != held:
            step_changes, step_open = candidate, False
        if learns:
            for date in _dates((judged, judged_step)) - candidates:
                for c in (date, date + DAY):
                    if candidate < c < last and c not in candidates:
                        candidates.add(c)
                        heapq.heappush(queue, c)
        if plan_open and planned is not None:
            events = therapy_calendar(course_file, candidate, evaluation=judged).events
            if not planned.holds_on(candidate, events):
                plan_changes, plan_open = candidate, False
    return (
        dataclasses.replace(found, changes_on=step_changes) if found is not None else None,
        dataclasses.replace(planned, changes_on=plan_changes) if planned is not None else None,
    )


# The day judged on is not a fact: the day after it is no more a candidate than any other day. (The history an
# evaluation keeps holds the course file's events again.)
_NOT_FACTS = frozenset({"as_of", "day", "history"})

# How ``_dates`` walks a value of each type, worked out once per type: a date is collected; a tuple's, list's
# or set's items and a dict's values are walked, and a dataclass instance's fields, read by one
# ``attrgetter``, but ``_NOT_FACTS`` and the fields whose annotation admits no date (text, numbers, flags, a
# vocabulary); any other value (text, numbers, None, a function, a class) holds no date.
_DATE, _ITEMS, _VALUES, _NOTHING = "date", "items", "values", "nothing"
_WALKS: dict[type, Callable[[Any], tuple[Any, ...]] | str] = {}
_NO_DATE: tuple[object, ...] = (str, int, float, bool, type(None))


def _walk_of(kind: type) -> Callable[[Any], tuple[Any, ...]] | str:
    if issubclass(kind, dt.date):
        return _DATE
    if dataclasses.is_dataclass(kind) and not issubclass(kind, type):
        try:
            hints = typing.get_type_hints(kind)
        except (NameError, TypeError):  # an annotation that does not resolve: every field is walked
            hints = {}
        names = [
            field.name
            for field in dataclasses.fields(kind)
            if field.name not in _NOT_FACTS and _may_hold_a_date(hints.get(field.name, Any))
        ]
        if not names:
            return _NOTHING
        get = operator.attrgetter(*names)
        return get if len(names) > 1 else lambda item: (get(item),)
    if issubclass(kind, tuple | list | set | frozenset):
        return _ITEMS
    if issubclass(kind, dict):
        return _VALUES
    return _NOTHING


def _may_hold_a_date(hint: object) -> bool:
    """False for an annotation whose values are never dates: text, a number, a flag, None, a ``Literal`` of
    those, a union of them, or a tuple, list or set of them."""
    if hint in _NO_DATE:
        return False
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return any(isinstance(value, dt.date) for value in typing.get_args(hint))
    if origin is typing.Union or origin is types.UnionType or origin in (tuple, list, set, frozenset):
        return any(_may_hold_a_date(member) for member in typing.get_args(hint) if member is not Ellipsis)
    return True


def _dates(value: object) -> set[dt.date]:
    """Every date held anywhere in ``value`` (dataclasses, tuples, lists, sets, dicts), the policy's included,
    but the day judged on (``_NOT_FACTS``). A loop over a stack, not nested generators: it walks every record
    of the course file, on every judgment."""
    found: set[dt.date] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        walk = _WALKS.get(kind)
        if walk is None:
            walk = _WALKS[kind] = _walk_of(kind)
        if walk is _NOTHING:
            continue
        if walk is _DATE:
            found.add(item)
        elif walk is _ITEMS:
            stack.extend(item)
        elif walk is _VALUES:
            stack.extend(item.values())
        else:
            stack.extend(walk(item))  # type: ignore[operator]
    return found
