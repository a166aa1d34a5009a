"""Replaying a course with the core: the engine's answer on each past day, for the practice quality report.

The quality report (issue 16) measures what happened to a course: how long the first fill took and what the
days before it were spent waiting for, which dispense windows were filled and which were lost, and what was
missing when one closed. Those measures must be the engine's own answers on those days, never a second
implementation of the rules: a report that judged windows by its own reading of iPLEDGE would drift from the
checklist staff worked from. The spec makes a replay exact: "nothing dated after the day exists for the
answer", so ``standing(course_file, day)`` on a past day is the answer the course had then, whatever was
recorded later.

- ``spans(course_file, start, end)``: the course's iPLEDGE standing on every day of the period, as maximal
  runs of days with the same answer (``Span``: phase, rule set, allowed, blocking codes, window).
- ``windows(course_file, start, end)``: every dispense window open on some day of the period, with its
  outcome as the engine's answers tell it (``WindowOutcome``: filled, lost with the steps missing when it
  closed, replaced by a newer test or rule, closed with the course, or still open).
- ``first_fill(course_file)``: enrollment to first fill, in days, and how those days were spent
  (``WAITED_CATEGORIES``).
- ``replay_course(course_file, start, end)``: the three together (``CourseReplay``).

How the period is replayed without judging every day: the engine reads the day only by comparing it with dates
(``isotrack.core.change``): dates of the course's facts and dates the rules put in their answer (a window's
last day, a due date). So the answer can change only on one of those dates or the day after it. ``spans``
judges the course on the first day of the period and on each such candidate day within it, in order, adding
the dates of every standing it computes as it goes (a window seen on one day names the day it closes), and
merges consecutive candidates whose answers are equal. A property test (tests/core/test_replay.py) checks for
random courses and periods that every day of the period is covered once, by the answer ``standing`` gives on
that day directly.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import heapq
from dataclasses import dataclass
from typing import Literal, TypeAlias

# ``_dates`` is private to change.py: it is the one walk that finds every date a value holds, the walk whose
# candidate days tests/core/test_change.py proves. Imported, not copied, so that both modules skip days by the
# same rule.
from isotrack.core.change import _dates
from isotrack.core.course import CourseFile, Dispense, Enrollment
from isotrack.core.evaluate import Standing, standing
from isotrack.core.rules import Window
from isotrack.core.rules.ipledge import COUNSELING_WINDOW_DAYS, TEST_WINDOW_DAYS

DAY = dt.timedelta(days=1)
LONGEST_WINDOW_DAYS = max(COUNSELING_WINDOW_DAYS, TEST_WINDOW_DAYS)  # IPL-WIN-30, IPL-WIN-7
WINDOW_EXPIRED = "WINDOW_EXPIRED"
# What a lost window lacked when nothing else blocked on its last day: every step was done and the patient
# did not pick the prescription up. The checklist's own name for that step (``cycle.STEP_LABELS``), so that a
# report lists it beside the blocking codes of the other lost windows rather than as an empty list.
PICK_UP = "PICK_UP"

Outcome: TypeAlias = Literal["filled", "lost", "open", "replaced", "course_closed"]
# A window the engine still showed on its last day while one of these blocked was not missed by the practice:
# the course had ended or a positive test had stopped it.
CLOSING_CODES = frozenset({"COURSE_CLOSED", "PREGNANCY_TEST_POSITIVE"})
# One day's answer as a span keeps it: phase, rule set id, allowed, blocking codes (sorted), window.
_Answer: TypeAlias = tuple[str, str, bool, tuple[str, ...], Window | None]


@dataclass(frozen=True, slots=True)
class Span:
    """The days ``first`` through ``last`` (both inclusive) on which the course's iPLEDGE standing was the
    same: its phase, rule set, whether a fill was allowed, the blocking codes (sorted) and the window."""

    first: dt.date
    last: dt.date
    phase: str
    rule_set_id: str
    allowed: bool
    blocking: tuple[str, ...]
    window: Window | None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def answer(self) -> _Answer:
        return (self.phase, self.rule_set_id, self.allowed, self.blocking, self.window)


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    """One dispense window and what became of it, as the engine answered day by day (never by comparing
    dates here). ``outcome``:

    - ``filled``: a dispense dated within the window (on or before the period's end) used it: on that day the
      engine shows this window (the one the last dispense used); ``filled_on`` is that day;
    - ``lost``: no dispense used it, and on its last day (within the period) the engine still showed it;
      ``missing`` is that day's blocking codes but ``WINDOW_EXPIRED``, or ``(PICK_UP,)`` when nothing blocked;
    - ``course_closed``: as lost, but on its last day the course had ended or a positive test had stopped it
      (``CLOSING_CODES``): not a window the practice missed;
    - ``replaced``: the engine stopped showing it before its last day (a newer test opened another window, or
      the 2026 rules dropped the 30-day window): it closed neither filled nor missed;
    - ``open``: not used, and it closes after the period's end."""

    opens: dt.date
    closes: dt.date
    filled_on: dt.date | None
    outcome: Outcome
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FirstFill:
    """From enrollment to the first fill. ``days``: ``filled_on - enrolled_on`` in days (None unless both are
    known); ``waited``: how the days from enrollment to the day before the first fill (to the course's last
    known day when it was never filled) were spent, as ``(category, days)`` in the order of
    ``WAITED_ORDER``, only categories with days; they sum to ``days`` when the course was filled on or after
    enrollment."""

    enrolled_on: dt.date | None
    filled_on: dt.date | None
    days: int | None
    waited: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class CourseReplay:
    spans: tuple[Span, ...]
    windows: tuple[WindowOutcome, ...]
    first_fill: FirstFill


# How a day before the first fill was spent, read from the engine's blocking codes on that day. A day often
# has several codes (a missing test also leaves the prescriber's entry and the patient's questions
# missing), so the first row whose codes the day has decides; a day with a blocking code of no row is
# ``other_steps``, a day with none is ``ready_not_filled``. The order, and why:
# - ``closed``: the course was stopped (a positive test) or ended: nothing else was being waited for.
# - ``lockout``: IPL-LOCK-19 (2021 rules): a confirmation test taken fewer than 19 days after the one whose
#   window was missed does not count; a wait the rules impose, which no step of the practice shortens. The
#   engine names it once such a test is taken: the days between a missed window and the next test are
#   ``missed_window`` (the engine then says only that a new test is needed).
# - ``missed_window``: a window expired (IPL-WIN-7, IPL-WIN-30) and no new test (or counseling visit) opened
#   another; an expired window leaves only WINDOW_EXPIRED among the test's checks (spec clarification), and
#   the steps still missing with it were missing because of it.
# - ``lead_in``: the 30 days of two contraception methods before the confirmation test (IPL-CON-LEAD), or no
#   such cover on the day (IPL-CON-2): the lead-in had not begun or was broken, so no test could qualify.
# - ``confirmation_test``: waiting for the pre-treatment tests: no confirmation test yet (for a first fill,
#   PREGNANCY_TEST_MISSING means exactly that), no screening test, or a confirmation test within 19 days of
#   the screening (IPL-PT-SCREEN, IPL-PT-CONFIRM). Before the confirmation test is taken the engine names only
#   the missing test, so days of a lead-in still running are counted here too.
# - ``other_steps``: any other code: the prescriber's entry, the patient's questions, a test in the wrong
#   setting, the 2021 counseling visit, the enrollment.
# - ``ready_not_filled``: nothing blocked; the prescription was not yet picked up.
WAITED_CATEGORIES: tuple[tuple[str, frozenset[str]], ...] = (
    ("closed", frozenset({"COURSE_CLOSED", "PREGNANCY_TEST_POSITIVE"})),
    ("lockout", frozenset({"LOCKOUT_19_DAY"})),
    ("missed_window", frozenset({WINDOW_EXPIRED})),
    ("lead_in", frozenset({"CONTRACEPTION_LEAD_IN", "CONTRACEPTION_INSUFFICIENT"})),
    (
        "confirmation_test",
        frozenset({"PREGNANCY_TEST_MISSING", "SCREENING_TEST_MISSING", "CONFIRMATION_TOO_EARLY"}),
    ),
)
OTHER_STEPS = "other_steps"
READY_NOT_FILLED = "ready_not_filled"
WAITED_ORDER: tuple[str, ...] = (*(name for name, _ in WAITED_CATEGORIES), OTHER_STEPS, READY_NOT_FILLED)


def waited_category(blocking: tuple[str, ...]) -> str:
    """The category (``WAITED_CATEGORIES``) of a day before the first fill with these blocking codes."""
    if not blocking:
        return READY_NOT_FILLED
    codes = set(blocking)
    for name, members in WAITED_CATEGORIES:
        if codes & members:
            return name
    return OTHER_STEPS


def spans(course_file: CourseFile, start: dt.date, end: dt.date) -> tuple[Span, ...]:
    """The course's standing on every day from ``start`` through ``end``, as maximal runs of days with the
    same answer, in order: judged on candidate days only (see the module's docstring), never day by day."""
    return spans_until_change(course_file, start, end)[0]


def spans_until_change(
    course_file: CourseFile, start: dt.date, end: dt.date
) -> tuple[tuple[Span, ...], dt.date | None]:
    """``spans`` and the first day after ``end`` on which the answer could change with no new record: the
    earliest candidate day after ``end`` (a date of the course's facts or of an answer judged, or the day
    after one), None when there is none. The last span's answer holds on every day from ``end`` up to the
    day before it, so a replay through ``end`` serves a period that ends before that day."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    pending = [start]
    queued = {start}
    later: list[dt.date] = []
    _queue(pending, queued, _dates(course_file), start - DAY, end, later)
    judged: list[tuple[dt.date, _Answer]] = []
    while pending:
        day = heapq.heappop(pending)
        found = standing(course_file, day)
        judged.append((day, _answer(found)))
        _queue(pending, queued, _dates(found), day, end, later)
    found_spans: list[Span] = []
    for index, (day, answer) in enumerate(judged):
        last = judged[index + 1][0] - DAY if index + 1 < len(judged) else end
        if found_spans and found_spans[-1].answer() == answer:
            found_spans[-1] = dataclasses.replace(found_spans[-1], last=last)
        else:
            found_spans.append(Span(day, last, *answer))
    return tuple(found_spans), min(later, default=None)


def _queue(
    pending: list[dt.date],
    queued: set[dt.date],
    dates: set[dt.date],
    after: dt.date,
    end: dt.date,
    later: list[dt.date],
) -> None:
    """Adds each date and the day after it to the candidates: those after ``after``, on or before ``end``;
    the first candidate after ``end`` goes to ``later`` (``dt.date.max`` is no day a course reaches)."""
    for date in dates:
        for candidate in (date, date + DAY) if date < dt.date.max else ():
            if candidate > end:
                if not later or candidate < later[0]:
                    later[:] = [candidate]
            elif after < candidate and candidate not in queued:
                queued.add(candidate)
                heapq.heappush(pending, candidate)


def _answer(found: Standing) -> _Answer:
    dispense = found.dispense
    return (
        found.phase,
        found.rule_set.id,
        dispense.allowed,
        tuple(sorted(b.code for b in dispense.blocking)),
        dispense.window,
    )


def windows(course_file: CourseFile, start: dt.date, end: dt.date) -> tuple[WindowOutcome, ...]:
    """Every distinct dispense window that is open on some day from ``start`` through ``end`` and that the
    engine showed on some day of the period, in order of opening, with its outcome (``WindowOutcome``)."""
    return windows_of(course_file, spans(course_file, start, end), start, end)


def windows_of(
    course_file: CourseFile, found_spans: tuple[Span, ...], start: dt.date, end: dt.date
) -> tuple[WindowOutcome, ...]:
    """The windows of the spans, each judged by the engine's answers (``WindowOutcome``). The dispenses are
    those dated on or before ``end``, as in a replay: a fill after the period is not yet known. A dispense
    used the window the engine shows on its day (the spec: with no newer qualifying test, the window is the
    one the last dispense used), so one fill fills one window, the one it used."""
    seen: dict[Window, None] = {}
    for span in found_spans:
        window = span.window
        if window is not None and window.opens <= end and window.closes >= start:
            seen.setdefault(window)
    firsts = [span.first for span in found_spans]

    def shown_on(day: dt.date) -> Span | None:
        """The span holding the day, when the period does."""
        if not start <= day <= end:
            return None
        return found_spans[bisect.bisect_right(firsts, day) - 1]

    used: dict[Window, dt.date] = {}
    earliest = start - dt.timedelta(days=LONGEST_WINDOW_DAYS)  # a fill before it used no window of the period
    fills = sorted(
        e.date for e in course_file.events if isinstance(e, Dispense) and earliest <= e.date <= end
    )
    for fill in fills:
        held = shown_on(fill)  # a fill before the period: the engine asked on its day
        window = held.window if held is not None else standing(course_file, fill).dispense.window
        if window is not None and window.contains(fill):
            used.setdefault(window, fill)
    outcomes: list[WindowOutcome] = []
    for window in sorted(seen, key=lambda w: (w.opens, w.closes)):
        if window in used:
            outcomes.append(WindowOutcome(window.opens, window.closes, used[window], "filled"))
            continue
        if window.closes > end:
            outcomes.append(WindowOutcome(window.opens, window.closes, None, "open"))
            continue
        last_day = shown_on(window.closes)  # closes is within the period: open on some day of it
        if last_day is None or last_day.window != window:
            outcomes.append(WindowOutcome(window.opens, window.closes, None, "replaced"))
        elif set(last_day.blocking) & CLOSING_CODES or last_day.phase not in ("active", "qualifying"):
            outcomes.append(WindowOutcome(window.opens, window.closes, None, "course_closed"))
        else:
            missing = tuple(dict.fromkeys(c for c in last_day.blocking if c != WINDOW_EXPIRED))
            outcomes.append(WindowOutcome(window.opens, window.closes, None, "lost", missing or (PICK_UP,)))
    return tuple(outcomes)


def first_fill(course_file: CourseFile, found_spans: tuple[Span, ...] = ()) -> FirstFill:
    """Enrollment (the earliest ``Enrollment``) to the first fill (the earliest ``Dispense``), and how the
    days in between were spent, by category (``WAITED_CATEGORIES``), read from ``spans``.

    A course never filled is counted through its last known day: the latest date of its records, ``as_of``
    included; the policy's dates are left out, since they are the practice's settings, not this course's (the
    default date of the 2026 rules would otherwise stretch every unfilled course to November 2026).

    ``found_spans``: the course's spans over days that hold those days, when the caller has them (a replay of
    the course's whole life); the days are judged here otherwise."""
    enrolled_on = min((e.date for e in course_file.events if isinstance(e, Enrollment)), default=None)
    filled_on = min((e.date for e in course_file.events if isinstance(e, Dispense)), default=None)
    days = (filled_on - enrolled_on).days if enrolled_on is not None and filled_on is not None else None
    waited: tuple[tuple[str, int], ...] = ()
    if enrolled_on is not None:
        last = filled_on - DAY if filled_on is not None else _last_known_day(course_file)
        if last >= enrolled_on:
            if found_spans and found_spans[0].first <= enrolled_on and last <= found_spans[-1].last:
                waited = _waited(_clipped(found_spans, enrolled_on, last))
            else:
                waited = _waited(spans(course_file, enrolled_on, last))
    return FirstFill(enrolled_on, filled_on, days, waited)


def _clipped(found_spans: tuple[Span, ...], first: dt.date, last: dt.date) -> tuple[Span, ...]:
    """The spans' days from ``first`` through ``last``: every day of a span has its answer, so a span cut to
    those days is the span the engine gives for them."""
    return tuple(
        dataclasses.replace(span, first=max(span.first, first), last=min(span.last, last))
        for span in found_spans
        if span.last >= first and span.first <= last
    )


def first_known_day(course_file: CourseFile) -> dt.date:
    """The earliest date of the course's records (the policy's dates left out, see ``first_fill``)."""
    return min(_record_dates(course_file))


def _last_known_day(course_file: CourseFile) -> dt.date:
    return max(_record_dates(course_file))


def _record_dates(course_file: CourseFile) -> set[dt.date]:
    records = tuple(
        getattr(course_file, f.name) for f in dataclasses.fields(course_file) if f.name != "policy"
    )  # as_of is a value of the tuple here, so it is walked (as a field of the file it is not a fact)
    return _dates(records) - {dt.date.max}


def _waited(found_spans: tuple[Span, ...]) -> tuple[tuple[str, int], ...]:
    totals = dict.fromkeys(WAITED_ORDER, 0)
    for span in found_spans:
        totals[waited_category(span.blocking)] += span.days
    return tuple((name, total) for name, total in totals.items() if total)


def replay_course(course_file: CourseFile, start: dt.date, end: dt.date) -> CourseReplay:
    """The course's spans and windows over the period (one replay serves both) and its first fill."""
    found_spans = spans(course_file, start, end)
    return CourseReplay(
        spans=found_spans,
        windows=windows_of(course_file, found_spans, start, end),
        first_fill=first_fill(course_file),
    )
