"""The practice's quality measures for one period, from the replay of each course (issue 16).

A medical director and a compliance officer review, month by month, how long patients waited for their first
fill and why, which dispense windows were lost and what was missing when they closed, whether the labs were
drawn when due (and not when not), which alerts were raised and how soon a clinician acknowledged them, what
cumulative dose finished courses reached, the holds and dose reductions, and the safety events. Issue 16 asks
for these measures "by replaying each course with the core (the engine's answer on each past day, never a
second implementation)": a report that read iPLEDGE by its own rules would drift from the checklist the staff
worked from. So every figure here is read off an answer of the core, and this module only selects, counts and
sums:

- the first fill and the days spent waiting, by category: ``replay.first_fill`` (``FirstFill``);
- the windows and what a lost one lacked: ``replay.windows`` of the period (``WindowOutcome``);
- the phase on a day (stopped, active): the replay's ``spans``, and ``standing`` on the day before the period;
- the alerts: the engine's own (``monitoring.alerts``, the function ``evaluate`` calls, on the history and the
  dose report of the day), judged on the days an alert can appear or go (``_alert_days``), each kept with
  the runs of days the engine gave it (``AlertOutcome``); whether one was acknowledged, and when, is the
  engine's answer too (``urgency.findings``: a prescriber's acknowledgment, or a positive test's three
  follow-up steps);
- the baseline labs: the engine's BASELINE_LABS_MISSING (LAB-BASE) on the first fill's day;
- the peak-dose labs: the engine's LABS_PEAK_DOSE due item (LAB-PEAK, ``schedule.due_items``): its date, and
  the day the engine stopped listing it, because the labs were done (the course still active) or because the
  course was no longer active (``PeakLabs``);
- the cumulative mg/kg at the end of dosing and whether a target was reached: ``dose_report`` on the course's
  last day of dosing (DOSE-CUM, DOSE-WEIGHT, DOSE-LD, DOSE-TARGET);
- the positive pregnancy tests, the holds and the dose segments: the course's own records (facts, not
  judgments); a dose segment is a reduction when its conventional-equivalent dose
  (``dose.equivalence_factor``, DOSE-LD) is lower than the one before it, counted by the reason recorded
  with it (``DOSE_CHANGE_REASONS``).

``measures(courses, start, end)`` gives ``Measures``; ``DEFINITIONS`` words each of its figures for a
dashboard to show beside it (keys ``section.field``, e.g. ``windows.lost``). Every count is a sum over
courses, so the measures of two lists of courses add up to those of both (a property test checks it), and
one course's ``measures_of([outcome], start, end)`` is its part of each count; the medians and the quartiles
do not add, and are None when nothing was counted. ``COMPARISONS`` sets the published figures beside the
practice's.

Quartiles are nearest-rank (the p-th percentile of n sorted values is the value of rank ceil(p x n / 100)),
so a quartile is always a number of days some course actually waited; the median is the usual middle value
(the mean of the two middle values when n is even), the figure the literature quotes.

Cost: the iPLEDGE replay judges ``standing`` on its own candidate days (``replay``); the alerts are judged
apart, on fewer days, without the iPLEDGE assessment: the dates of the records an alert reads (labs, mood
screens, pregnancy tests, dispenses, weights, dose segments, the course's first and last day and the day after
it; a medication's or a contraception method's first day and the day after its last, and the first day a
course can be completed, for the medication alerts) and the day the engine projects the target to be reached
(DOSE-TARGET; a new projection each time, and three years on when none is given, the projection's horizon).
Between two of those days no alert can appear or go, with one exception: a tetracycline or vitamin A alert
before a planned course start is dated the day itself (spec: never after the day), so while it is given before
the start every day is judged. A property test (tests/core/test_quality_outcome.py) checks it against
``evaluate`` on every day.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import heapq
import math
import statistics
import typing
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from isotrack.core.course import (
    DOSE_CHANGE_REASONS,
    CourseFile,
    Dispense,
    LabResult,
    MoodScreen,
    PregnancyTest,
)
from isotrack.core.dose import PROJECTION_HORIZON_YEARS, add_years, dose_report, equivalence_factor
from isotrack.core.evaluate import phase_of
from isotrack.core.history import history_until
from isotrack.core.monitoring import Alert, alerts
from isotrack.core.quantities import TOLERANCE
from isotrack.core.replay import (
    WAITED_ORDER,
    FirstFill,
    Span,
    WindowOutcome,
    first_fill,
    first_known_day,
    spans_until_change,
    windows_of,
)
from isotrack.core.schedule import AFTER_LAST_DOSE_DAYS, due_items
from isotrack.core.urgency import ACKNOWLEDGEABLE, ALERT_ACTIONS, ALERT_ORDER, TIER_CRITICAL_LAB, findings

DAY = dt.timedelta(days=1)
# Why a course stopped early (issue 16): the clinic records one when a prescriber stops a course; a positive
# pregnancy test that stopped the course in the engine (IPL-PT-POSITIVE) is ``positive_test`` whatever was
# recorded; ``not_recorded`` for a course stopped with no reason on record (a course file has none).
STOP_REASONS: tuple[str, ...] = (
    "positive_test",
    "side_effects",
    "patient_choice",
    "lost_to_follow_up",
    "other",
)
NOT_RECORDED = "not_recorded"
# A dose reduction for side effects (issue 16): one whose recorded reason is a side effect or an abnormal lab
# result (course.DOSE_CHANGE_REASONS); a reduction with no reason recorded is ``not_recorded`` and not one.
FOR_SIDE_EFFECTS: frozenset[str] = frozenset({"side_effects", "lab_result"})
# A hold's reason is free text as the clinic recorded it (``Interruption.reason``); a hold without one:
ClosedAs: TypeAlias = Literal["completed", "stopped"]
# Age bands at the first day of dosing, for the split the issue asks for (iPLEDGE enrolls from age 12).
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 17, "under 18"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, None, "35 and over"),
)
AGE_UNKNOWN = "age unknown"
# The cumulative dose the literature measures courses against (relapse 82 % below 120 mg/kg against 30 %
# above, issue 16), reported beside the practice's own target (the course's ``policy.target_mg_per_kg``).
REFERENCE_MG_PER_KG = 120.0

# The engine's codes this module selects by (monitoring.ALERT_CODES, schedule.DUE_CODES).
BASELINE_LABS_MISSING = "BASELINE_LABS_MISSING"  # LAB-BASE, dated the first dispense
LABS_PEAK_DOSE = "LABS_PEAK_DOSE"  # LAB-PEAK, the due item
SELF_HARM_RISK = "SELF_HARM_RISK"  # MOOD: PHQ-9 item 9 above 0
# MED-TETRA, MED-VITA: dated the later of the medication's start and the course start, never after the day.
DATED_THE_DAY: frozenset[str] = frozenset({"TETRACYCLINE_IN_USE", "VITAMIN_A_IN_USE"})
# The phases in which a course's open alerts are someone's to handle (the worklist lists such a course): a
# completed course keeps alerts the engine never clears (BASELINE_LABS_MISSING, TARGET_REACHED), which are
# no longer anyone's work. A positive test is not acknowledged: its follow-up steps are counted apart.
IN_TREATMENT = frozenset({"qualifying", "active", "post_course"})
PREGNANCY_TEST_POSITIVE = "PREGNANCY_TEST_POSITIVE"  # IPL-PT-POSITIVE: handled by its follow-up steps
# The alerts the engine raises on a lab result (LAB-TG-HIGH, LAB-TG-CRIT, LAB-LFT-HIGH): an abnormal result,
# which a later draw may be checking (``Monitoring.draws_without_cause``). BASELINE_LABS_MISSING is no result.
RESULT_ALERTS: frozenset[str] = frozenset(
    {"TRIGLYCERIDES_HIGH", "TRIGLYCERIDES_CRITICAL", "LIVER_ENZYMES_HIGH"}
)
# Critical labs: the alerts of the engine's "Critical lab result" rank (urgency.TIER_CRITICAL_LAB: both hold
# the drug, ALERT-URGENCY): TRIGLYCERIDES_CRITICAL (LAB-TG-CRIT) and LIVER_ENZYMES_HIGH (LAB-LFT-HIGH).
CRITICAL_LAB_ALERTS: tuple[str, ...] = tuple(
    code for code in ALERT_ORDER if ALERT_ACTIONS[code].tier == TIER_CRITICAL_LAB
)


@dataclass(frozen=True, slots=True)
class FirstFills:
    """The courses whose first fill is dated in the period. ``count``: those with a known enrollment on or
    before the fill, the ones the days are measured for; ``unmeasured``: the others (no enrollment recorded,
    or one dated after the fill), counted apart rather than as zero or negative days. The days figures are
    over the ``count`` courses; ``waited`` sums their ``FirstFill.waited``, in ``WAITED_ORDER``, only
    categories with days, so its total is the sum of their days."""

    count: int = 0
    unmeasured: int = 0
    median_days: float | None = None
    p25_days: int | None = None
    p75_days: int | None = None
    min_days: int | None = None
    max_days: int | None = None
    waited: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Windows:
    """The dispense windows whose last day is in the period, as the replay judged them: ``closed`` =
    ``filled`` + ``lost``. ``missing``: for the lost ones, how many lacked each step (a window lacking two
    steps counts for both), as ``(code, count)`` sorted by code. Apart: ``replaced`` (the engine stopped
    showing them before their last day: a newer test, or the 2026 rules' end of the 30-day window) and
    ``course_closed`` (the course ended or was stopped while they were open): neither filled nor missed."""

    closed: int = 0
    filled: int = 0
    lost: int = 0
    missing: tuple[tuple[str, int], ...] = ()
    replaced: int = 0
    course_closed: int = 0


@dataclass(frozen=True, slots=True)
class Monitoring:
    """Labs and alerts (LAB-BASE, LAB-PEAK, ALERT-URGENCY), each figure the engine's answer on its day.

    - ``baseline_labs_done`` / ``baseline_labs_missing``: the courses whose first fill is dated in the period
      (all of them: with or without a known enrollment), as the engine judged them on the fill's day: without
      / with its BASELINE_LABS_MISSING alert (no triglycerides or no ALT dated on or before the first fill).
    - The peak-dose labs (LAB-PEAK): the courses whose LABS_PEAK_DOSE due date (first dispense +
      ``policy.labs_peak_days``, as the engine lists it) is in the period. ``peak_labs_due`` =
      ``peak_labs_on_time`` (the engine stopped listing it, the labs done, on or before the due date) +
      ``peak_labs_late`` (after it, by the period's end) + ``peak_labs_not_done`` (still not done at the
      period's end, or the course closed after the due date without them). Apart:
      ``peak_labs_course_closed``, the course ended or was stopped on or before the due date without them
      (the engine stopped asking): not a lab the practice missed.
    - ``draws_after_peak``: the lab draw days (a day with a lab result of any test: the 2022 Delphi consensus
      calls for baseline and peak-dose ALT and triglycerides, no routine monthly labs and no routine CBC)
      dated in the period, after the day of the peak-dose draw (the day the engine stopped listing
      LABS_PEAK_DOSE, the labs done); ``draws_without_cause``: of those, the ones that followed no abnormal
      result: on the day before the draw the engine gave no alert on a lab result (``RESULT_ALERTS``:
      triglycerides high or critical, liver enzymes high), acknowledged or not: an acknowledged alert still
      asks for the recheck (ALERT-URGENCY "recheck in 2-4 weeks").
    - ``alerts_raised``: the engine's alerts raised in the period (the first day the engine gave them), each
      counted once per code and alert date (an alert's identity, as acknowledgments know it), as ``(code,
      count)`` in the urgency order (``urgency.ALERT_ORDER``).
    - ``acknowledged``: the alerts a prescriber may acknowledge (``urgency.ACKNOWLEDGEABLE``: all but a
      positive pregnancy test) whose acknowledgment is dated in the period (the first one the engine counted),
      raised by its end; ``median_days_to_acknowledge``: the median days from their alert date to it.
    - ``unacknowledged``: the acknowledgeable alerts open on the period's last day: the engine still gave
      them that day (no newer result had cleared them) and no prescriber had acknowledged them."""

    baseline_labs_done: int = 0
    baseline_labs_missing: int = 0
    peak_labs_due: int = 0
    peak_labs_on_time: int = 0
    peak_labs_late: int = 0
    peak_labs_not_done: int = 0
    peak_labs_course_closed: int = 0
    draws_after_peak: int = 0
    draws_without_cause: int = 0
    alerts_raised: tuple[tuple[str, int], ...] = ()
    acknowledged: int = 0
    median_days_to_acknowledge: float | None = None
    unacknowledged: int = 0


@dataclass(frozen=True, slots=True)
class Dosing:
    """The courses completed in the period (``Courses.completed``: their last day of dosing is in it and they
    were not stopped). ``completed`` counts them all; ``without_weight`` those with no weight on record by
    then, whose mg/kg the core cannot give; the other figures are over the courses with a weight: how many
    reached 120 mg/kg, how many reached their own policy target, and the median cumulative mg/kg
    (conventional-equivalent, as the core reports it). Stopped courses are left out: a course stopped early
    is not a course that fell short of its target.

    Of every course (completed or not): ``interruptions``, the holds (DOSE-CUM) starting in the period, and
    ``interruptions_without_reason``, those with no reason recorded. A hold's reason is free text, which may
    name a person or a result: it is kept on the outcome (``holds``) for the course's own page and never made
    a key of the practice's figures, which go to CSV files and printouts; ``reductions``, the dose segments
    starting in the period (on or before the course's last day) whose conventional-equivalent dose (DOSE-LD)
    is lower than the segment's before it: lower mg/kg/day at the same weight (a change of weight alone is no
    reduction, and a change of product at the same equivalent dose neither); ``reductions_for_side_effects``,
    those whose recorded reason is side effects or an abnormal lab result (``FOR_SIDE_EFFECTS``); and
    ``reduction_reasons``, the reductions as ``(reason, count)`` in the order of ``DOSE_CHANGE_REASONS``
    (``not_recorded`` last: a dose change recorded with no reason, as before reasons were, or a course
    file's without one), only reasons counted."""

    completed: int = 0
    without_weight: int = 0
    reached_120: int = 0
    reached_target: int = 0
    median_mg_per_kg: float | None = None
    interruptions: int = 0
    interruptions_without_reason: int = 0
    reductions: int = 0
    reductions_for_side_effects: int = 0
    reduction_reasons: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Safety:
    """Positive pregnancy tests dated in the period: the courses with one, and the tests. The positive tests
    that stopped a course in the period (the engine's PREGNANCY_TEST_POSITIVE alert, dated a course's first
    positive test): ``follow_up_complete``, those whose three follow-up steps (stop, refer, report:
    IPL-PREG-STOP, IPL-PREG-REFER, IPL-PREG-REPORT) were all recorded by the period's end, as the engine
    counts them; ``follow_up_open``, the others. ``self_harm_risk``: the engine's SELF_HARM_RISK alerts (a
    PHQ-9 with item 9 above 0, MOOD) raised in the period; ``critical_labs``: its critical lab alerts
    (``CRITICAL_LAB_ALERTS``) raised in the period, as ``(code, count)`` in the urgency order. Their
    follow-up: ``self_harm_acknowledged`` and ``critical_labs_acknowledged``, those a clinician
    acknowledged by the period's end (ALERT-URGENCY: the record that a prescriber saw it and acted); the
    others were not."""

    courses_with_positive_test: int = 0
    positive_tests: int = 0
    follow_up_complete: int = 0
    follow_up_open: int = 0
    self_harm_risk: int = 0
    self_harm_acknowledged: int = 0
    critical_labs: tuple[tuple[str, int], ...] = ()
    critical_labs_acknowledged: int = 0


@dataclass(frozen=True, slots=True)
class Courses:
    """Courses started in the period (their first fill dated in it: a course planned but never dispensed did
    not start), completed in it (last day of dosing in it, not stopped), stopped in it (``stopped_on``: the
    engine's phase turned ``stopped`` on a day of it on or before the last day of dosing, a positive test; or
    the clinic recorded the course as stopped with its last day of dosing in it), of which
    ``stopped_before_first_fill`` had no fill yet, with ``stop_reasons`` as ``(reason, count)`` in the order
    of ``STOP_REASONS`` (``not_recorded`` last), and active on the period's last day."""

    started: int = 0
    completed: int = 0
    stopped: int = 0
    stopped_before_first_fill: int = 0
    stop_reasons: tuple[tuple[str, int], ...] = ()
    active: int = 0


@dataclass(frozen=True, slots=True)
class Measures:
    start: dt.date
    end: dt.date
    first_fill: FirstFills
    windows: Windows
    monitoring: Monitoring
    dosing: Dosing
    safety: Safety
    courses: Courses


DEFINITIONS: dict[str, str] = {
    "first_fill.count": "Courses whose first fill is dated in the period, enrolled on or before it.",
    "first_fill.unmeasured": (
        "Courses whose first fill is dated in the period but whose enrollment is not recorded (or is dated "
        "after the fill): not included in the days figures."
    ),
    "first_fill.median_days": (
        "Median days from enrollment to the first fill (the mean of the two middle values when the count is "
        "even)."
    ),
    "first_fill.p25_days": "25th percentile of the days from enrollment to the first fill (nearest rank).",
    "first_fill.p75_days": "75th percentile of the days from enrollment to the first fill (nearest rank).",
    "first_fill.min_days": "Fewest days from enrollment to the first fill.",
    "first_fill.max_days": "Most days from enrollment to the first fill.",
    "first_fill.waited": (
        "Where those days went, summed over the courses: each day before the first fill is put under "
        "what the checklist was waiting for that day (the 19-day confirmation test, the contraception "
        "lead-in, a missed window, the 2021 lockout, other steps, or ready but not picked up)."
    ),
    "windows.closed": (
        "Dispense windows whose last day is in the period that were filled or lost (the replaced ones and "
        "those open when the course ended are counted apart)."
    ),
    "windows.filled": "Of those, the windows a fill used (the engine's window on the fill's day).",
    "windows.lost": "Of those, the windows the engine still showed, unfilled, on their last day.",
    "windows.replaced": "Windows whose last day is in the period that a newer test or rule replaced first.",
    "windows.course_closed": "Windows whose last day is in the period, open when the course ended.",
    "windows.missing": (
        "For the lost windows, how many lacked each step on their last day (test, prescriber's entry, "
        "patient's questions, pick-up); a window lacking two steps counts for both."
    ),
    "monitoring.baseline_labs_done": (
        "Courses whose first fill is dated in the period with baseline triglycerides and ALT dated on or "
        "before it (no baseline-labs alert on the fill's day, LAB-BASE)."
    ),
    "monitoring.baseline_labs_missing": (
        "Courses whose first fill is dated in the period without baseline triglycerides or ALT (the "
        "baseline-labs alert on the fill's day, LAB-BASE)."
    ),
    "monitoring.peak_labs_due": (
        "Courses whose peak-dose labs (triglycerides and ALT, LAB-PEAK) fell due in the period: the sum of "
        "on time, late and not done."
    ),
    "monitoring.peak_labs_on_time": "Of those, the courses whose peak-dose labs were done by the due date.",
    "monitoring.peak_labs_late": (
        "Of those, the courses whose peak-dose labs were done after the due date, by the period's end."
    ),
    "monitoring.peak_labs_not_done": (
        "Of those, the courses whose peak-dose labs were not done by the period's end (or never, the course "
        "ending after the due date without them)."
    ),
    "monitoring.peak_labs_course_closed": (
        "Courses whose peak-dose labs would have fallen due in the period but that ended or were stopped "
        "before the due date without them: not counted as due."
    ),
    "monitoring.draws_after_peak": (
        "Days in the period with a lab result of any test, after the course's peak-dose draw."
    ),
    "monitoring.draws_without_cause": (
        "Of those, the days that followed no abnormal result (no alert on a lab result on the day before the "
        "draw, acknowledged or not): monthly or routine labs the 2022 Delphi consensus does not call for."
    ),
    "monitoring.alerts_raised": (
        "Alerts raised in the period (the first day the engine gave them), by alert; an alert is counted "
        "once for its code and date."
    ),
    "monitoring.acknowledged": (
        "Alerts acknowledged by a prescriber in the period (the first acknowledgment of each; a positive "
        "pregnancy test is handled by its follow-up steps instead)."
    ),
    "monitoring.median_days_to_acknowledge": (
        "Median days from an alert's date to its acknowledgment, over the alerts acknowledged in the period."
    ),
    "monitoring.unacknowledged": (
        "Alerts still open on the period's last day (not cleared by a newer result and not acknowledged) on "
        "courses in treatment that day (qualifying, active, or in the 30 days after the last dose); a "
        "positive pregnancy test is counted by its follow-up (safety.follow_up_open) instead."
    ),
    "dosing.completed": "Courses completed in the period (their last day of dosing in it, not stopped).",
    "dosing.without_weight": "Of those, the courses with no weight recorded: no mg/kg can be given.",
    "dosing.reached_120": "Of those with a weight, the courses that reached 120 mg/kg cumulative.",
    "dosing.reached_target": "Of those with a weight, the courses that reached their practice target.",
    "dosing.median_mg_per_kg": (
        "Median cumulative dose at the end of dosing, in mg/kg (micronized doses counted as their "
        "conventional equivalent), over the courses with a weight."
    ),
    "dosing.interruptions": "Holds (days with no dosing) starting in the period, of every course.",
    "dosing.interruptions_without_reason": "Of those holds, the ones with no reason recorded.",
    "dosing.reductions": (
        "Dose changes in the period to a lower daily dose than the one before (micronized doses counted as "
        "their conventional equivalent), whatever the reason recorded with them."
    ),
    "dosing.reductions_for_side_effects": (
        "Of those reductions, the ones the prescriber recorded as made for side effects or for an abnormal "
        "lab result."
    ),
    "dosing.reduction_reasons": (
        "Why the doses were reduced, as the prescriber recorded it with the dose change: side effects, an "
        "abnormal lab result, a change of weight, the planned step (titration), another reason, or no reason "
        "recorded (a dose change recorded before reasons were, or imported without one)."
    ),
    "safety.courses_with_positive_test": "Courses with a positive pregnancy test dated in the period.",
    "safety.positive_tests": "Positive pregnancy tests dated in the period.",
    "safety.follow_up_complete": (
        "Positive pregnancy tests that stopped a course in the period whose follow-up (stop the drug, refer, "
        "report) was all recorded by the period's end."
    ),
    "safety.follow_up_open": (
        "Positive pregnancy tests that stopped a course in the period with a follow-up step still not "
        "recorded at the period's end."
    ),
    "safety.self_harm_risk": (
        "Mood screens in the period reporting thoughts of self-harm (PHQ-9 item 9 above 0): the self-harm "
        "risk alert."
    ),
    "safety.critical_labs": (
        "Critical lab alerts raised in the period, by alert: triglycerides at or above the critical level "
        "and liver enzymes above 3 x the upper limit of normal (both hold the drug)."
    ),
    "safety.self_harm_acknowledged": (
        "Of those self-harm risk alerts, the ones a clinician acknowledged by the period's end (the record "
        "that the answer was seen and followed up); the others were not."
    ),
    "safety.critical_labs_acknowledged": (
        "Of those critical lab alerts, the ones a clinician acknowledged by the period's end; the others "
        "were not (a newer result may have cleared them)."
    ),
    "courses.started": "Courses whose first fill (the first dispense) is dated in the period.",
    "courses.stopped_before_first_fill": (
        "Of the courses stopped in the period, those stopped before any fill (e.g. a positive test before "
        "the first dispense): not courses ended early, since they never began."
    ),
    "courses.completed": "Courses whose last day of dosing is in the period and that were not stopped.",
    "courses.stopped": (
        "Courses stopped in the period: a positive pregnancy test dated in it stopped them, or the "
        "prescriber recorded the course as stopped with its last day of dosing in it."
    ),
    "courses.stop_reasons": (
        "Why the courses stopped in the period were stopped: a positive pregnancy test, side effects, the "
        "patient's choice, lost to follow-up, another reason, or no reason recorded."
    ),
    "courses.active": "Courses on treatment (dispensed, not ended, not stopped) on the period's last day.",
}


def nearest_rank(values: Sequence[int], percent: float) -> int | None:
    """The ``percent``-th percentile of the values by nearest rank: the value of rank ceil(percent x n / 100)
    in sorted order (the smallest for percent 0); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent * len(ordered) / 100))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


@dataclass(frozen=True, slots=True)
class PhaseRun:
    """The days ``first`` through ``last`` on which the engine gave the course the same phase."""

    first: dt.date
    last: dt.date
    phase: str


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """One alert of the engine, known by its code and date (as an acknowledgment knows it), replayed.

    ``shown``: the runs of days on which the engine gave it, ``(first, last)`` in order; ``last`` is None for
    a run still going on the day replayed through (it goes on while the outcome serves, ``holds_for``).
    ``acknowledged_on``: the first day the engine counted it acknowledged (``urgency.findings``: a
    prescriber's acknowledgment of its code and date; for a positive pregnancy test, its three follow-up steps
    recorded), None when it did not by the day replayed through."""

    code: str
    date: dt.date
    shown: tuple[tuple[dt.date, dt.date | None], ...]
    acknowledged_on: dt.date | None = None

    @property
    def raised_on(self) -> dt.date:
        """The first day the engine gave it."""
        return self.shown[0][0]

    def shown_on(self, day: dt.date) -> bool:
        return any(first <= day and (last is None or day <= last) for first, last in self.shown)


@dataclass(frozen=True, slots=True)
class PeakLabs:
    """The engine's LABS_PEAK_DOSE due item (LAB-PEAK): its date (``due``), and the first day the engine no
    longer listed it: ``done_on`` when the course was still active that day (the labs were done),
    ``closed_on`` when it was not (ended or stopped first); both None while it was still listed on the day
    replayed through."""

    due: dt.date
    done_on: dt.date | None = None
    closed_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class CourseOutcome:
    """One course replayed once over its whole life, through ``through``: everything the period's measures
    read of it, so that it can be kept (``outcome_to_json``) and summed for any period ending on or before
    ``through``, or later while nothing could change (``holds_for``). ``changes_on``: the first day after
    ``through`` on which the replay could change with no new record (None: none).

    ``closed_as`` and ``stop_reason`` are the clinic's record of how the course ended (a course file has
    neither: a course with a last day of dosing that the engine did not stop reads as completed).

    The monitoring and the records it counts, each dated on or before ``through``: ``alerts`` (every alert
    the engine gave, in the order raised); ``baseline_labs_missing``, whether the engine gave
    BASELINE_LABS_MISSING on the first fill's day (None: no fill); ``peak_labs`` (None: the engine never
    listed LABS_PEAK_DOSE); ``lab_draws``, the lab draw days after the peak-dose draw, each with whether the
    engine gave an alert on a lab result on the day before (``RESULT_ALERTS``: the draw had a cause);
    ``holds``, each hold's first day and reason as recorded; ``reductions``, the first day of each dose
    segment that lowered the dose, with the reason recorded for it (a code of ``DOSE_CHANGE_REASONS``; None:
    none recorded)."""

    through: dt.date
    changes_on: dt.date | None
    category: str
    age_at_start: int | None
    start: dt.date
    end: dt.date | None
    closed_as: ClosedAs | None
    stop_reason: str | None
    first_fill: FirstFill
    windows: tuple[WindowOutcome, ...]
    phases: tuple[PhaseRun, ...]
    end_mg_per_kg: float | None
    reached_120: bool
    reached_target: bool
    positive_tests: tuple[dt.date, ...]
    alerts: tuple[AlertOutcome, ...] = ()
    baseline_labs_missing: bool | None = None
    peak_labs: PeakLabs | None = None
    lab_draws: tuple[tuple[dt.date, bool], ...] = ()
    holds: tuple[tuple[dt.date, str | None], ...] = ()
    reductions: tuple[tuple[dt.date, str | None], ...] = ()

    def holds_for(self, end: dt.date) -> bool:
        """Whether the outcome serves a period ending on ``end``."""
        return end <= self.through or self.changes_on is None or end < self.changes_on

    @property
    def age_band(self) -> str:
        return age_band(self.age_at_start)

    def stopped_by_test_on(self) -> dt.date | None:
        """The engine's first day of phase ``stopped`` (a positive pregnancy test, IPL-PT-POSITIVE) on or
        before the last day of dosing; a positive test after the last dose is a safety event, not a stop."""
        day = next((run.first for run in self.phases if run.phase == "stopped"), None)
        return None if day is None or (self.end is not None and day > self.end) else day

    def stopped_on(self) -> dt.date | None:
        """The day the course was stopped: ``stopped_by_test_on``, or, when the clinic recorded it as
        stopped, its last day of dosing, whichever came first; None when it was not."""
        days = [day for day in (self.stopped_by_test_on(),) if day is not None]
        if self.closed_as == "stopped" and self.end is not None:
            days.append(self.end)
        return min(days, default=None)

    def stopped_why(self) -> str:
        """Why, from what stopped it first: the engine's stop is a positive test (on the same day as the
        clinic's record of a stop, the test decides); the clinic's is its recorded reason."""
        if self.stopped_by_test_on() == self.stopped_on() is not None:
            return "positive_test"
        return self.stop_reason if self.stop_reason in STOP_REASONS else NOT_RECORDED

    def phase_on(self, day: dt.date) -> str | None:
        """The engine's phase on the day (the last run's beyond ``through``, see ``holds_for``); None before
        the first day replayed."""
        for run in reversed(self.phases):
            if run.first <= day:
                return run.phase if day <= run.last or run is self.phases[-1] else None
        return None


def age_band(age: int | None) -> str:
    """The band (``AGE_BANDS``) of an age in whole years; ``AGE_UNKNOWN`` for none."""
    if age is None:
        return AGE_UNKNOWN
    for low, high, name in AGE_BANDS:
        if low <= age and (high is None or age <= high):
            return name
    return AGE_UNKNOWN  # a negative age: a birth date after the start, which plausibility refuses


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    """Age in whole years on the day: one more on each birthday (for a 29 February birth, on 1 March in
    the years without one)."""
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def course_outcome(
    course_file: CourseFile,
    through: dt.date,
    closed_as: ClosedAs | None = None,
    stop_reason: str | None = None,
) -> CourseOutcome:
    """The course replayed from its first known day through ``through`` (``spans_until_change``), its
    windows and first fill read off that one replay, its alerts and peak-dose labs off a second one on the
    days they can change (``_alert_replay``), its dose read on its last day of dosing."""
    origin = first_known_day(course_file)
    found_spans: tuple[Span, ...] = ()
    changes_on: dt.date | None = None
    monitored = _AlertReplay()
    if origin <= through:
        found_spans, changes_on = spans_until_change(course_file, origin, through)
        monitored = _alert_replay(course_file, origin, through)
        if monitored.changes_on is not None:
            changes_on = min(changes_on or dt.date.max, monitored.changes_on)
    course = course_file.course
    end_mg_per_kg: float | None = None
    reached_120 = reached_target = False
    if course.end is not None:
        report = dose_report(course_file, course.end)
        end_mg_per_kg = report.cumulative_mg_per_kg
        if end_mg_per_kg is not None:
            reached_target = report.target_reached_on is not None
            reached_120 = _reaches(course_file, course.end, REFERENCE_MG_PER_KG)
    return CourseOutcome(
        through=through,
        changes_on=changes_on if origin <= through else origin,
        category=course_file.patient.category,
        age_at_start=age_on(course_file.patient.birth_date, course.start),
        start=course.start,
        end=course.end,
        closed_as=closed_as,
        stop_reason=stop_reason,
        first_fill=first_fill(course_file, found_spans),
        windows=windows_of(course_file, found_spans, origin, through) if found_spans else (),
        phases=_phase_runs(found_spans),
        end_mg_per_kg=end_mg_per_kg,
        reached_120=reached_120,
        reached_target=reached_target,
        positive_tests=tuple(
            sorted(
                e.date for e in course_file.events if isinstance(e, PregnancyTest) and e.result == "positive"
            )
        ),
        alerts=monitored.alerts,
        baseline_labs_missing=monitored.baseline_labs_missing,
        peak_labs=monitored.peak_labs,
        lab_draws=monitored.lab_draws,
        holds=tuple(
            sorted(
                ((hold.start, hold.reason) for hold in course_file.interruptions if hold.start <= through),
                key=lambda hold: (hold[0], hold[1] or ""),
            )
        ),
        reductions=_reductions(course_file, through),
    )


def _phase_runs(found_spans: tuple[Span, ...]) -> tuple[PhaseRun, ...]:
    runs: list[PhaseRun] = []
    for span in found_spans:
        if runs and runs[-1].phase == span.phase:
            runs[-1] = PhaseRun(runs[-1].first, span.last, span.phase)
        else:
            runs.append(PhaseRun(span.first, span.last, span.phase))
    return tuple(runs)


def _reductions(course_file: CourseFile, through: dt.date) -> tuple[tuple[dt.date, str | None], ...]:
    """The first day and recorded reason of each dose segment (through ``through``, on or before the course's
    last day) whose conventional-equivalent mg/day (DOSE-LD, ``dose.equivalence_factor``) is lower than the
    segment's before it. mg/kg/day at one weight compares as mg/day does."""
    factor = course_file.policy.ld_equivalence_factor
    end = course_file.course.end
    found: list[tuple[dt.date, str | None]] = []
    before: float | None = None
    for segment in sorted(course_file.doses, key=lambda s: s.start):
        if segment.start > through or (end is not None and segment.start > end):
            break
        equivalent = segment.mg_per_day * equivalence_factor(segment.product, factor)
        if before is not None and equivalent < before - TOLERANCE:
            found.append((segment.start, segment.reason))
        before = equivalent
    return tuple(found)


# --- the alerts and the peak-dose labs, replayed on the days they can change --------------------------------


@dataclass(frozen=True, slots=True)
class _AlertReplay:
    alerts: tuple[AlertOutcome, ...] = ()
    baseline_labs_missing: bool | None = None
    peak_labs: PeakLabs | None = None
    lab_draws: tuple[tuple[dt.date, bool], ...] = ()
    changes_on: dt.date | None = None


def _alert_days(course_file: CourseFile) -> set[dt.date]:
    """The days an alert can appear or go without a projection (see the module's docstring): the dates of
    the records the alerts read and the course's first day, last day and the day after it."""
    found = {
        e.date for e in course_file.events if isinstance(e, LabResult | MoodScreen | PregnancyTest | Dispense)
    }
    found.update(w.date for w in course_file.weights)
    found.update(s.start for s in course_file.doses)
    found.update(course_file.reported_self_harm)  # SELF_HARM_REPORTED
    course = course_file.course
    found.add(course.start)
    if course.end is not None:
        found.add(course.end)
        if course.end < dt.date.max:
            found.add(course.end + DAY)
    if course_file.medications:  # MED-TETRA, MED-VITA, MED-INDUCER: a period's ends and a phase's change
        periods = [(m.start, m.end) for m in course_file.medications]
        periods += [(c.start, c.end) for c in course_file.contraception]
        for start, end in periods:
            found.add(start)
            if end is not None and end < dt.date.max:
                found.add(end + DAY)
        if course.end is not None and course.end < dt.date.max - (AFTER_LAST_DOSE_DAYS + 1) * DAY:
            found.add(course.end + (AFTER_LAST_DOSE_DAYS + 1) * DAY)  # the first day it can be completed
    return found


def _alert_replay(course_file: CourseFile, origin: dt.date, through: dt.date) -> _AlertReplay:
    """The engine's alerts on every day from ``origin`` through ``through``, judged on the days they can
    change (``_alert_days`` and the day the target is projected to be reached), each judged the way
    ``evaluate`` does (``monitoring.alerts`` of the day's history and dose report); on the same days, the
    LABS_PEAK_DOSE due item (``schedule.due_items`` in the day's phase) until it is no longer listed."""
    pending = [origin]
    queued = {origin}
    later: list[dt.date] = []

    def queue(day: dt.date) -> None:
        if day > through:
            if not later or day < later[0]:
                later[:] = [day]
        elif day not in queued:
            queued.add(day)
            heapq.heappush(pending, day)

    for day in _alert_days(course_file):
        if day > origin:
            queue(day)
    course = course_file.course
    first_dispense = min((e.date for e in course_file.events if isinstance(e, Dispense)), default=None)
    judged: list[tuple[dt.date, dict[tuple[str, dt.date], Alert]]] = []
    baseline_missing: bool | None = None
    peak_due: dt.date | None = None
    peak_done = peak_closed = None
    while pending:
        day = heapq.heappop(pending)
        history = history_until(course_file, day)
        dose = dose_report(course_file, day)
        phase = phase_of(course_file, history)
        raised = alerts(course_file, history, dose, phase)
        judged.append((day, {(alert.code, alert.date): alert for alert in raised}))
        if day < course.start and any(alert.date == day for alert in raised if alert.code in DATED_THE_DAY):
            queue(day + DAY)  # dated the day itself before a planned start: another alert tomorrow
        if day == first_dispense:
            baseline_missing = any(alert.code == BASELINE_LABS_MISSING for alert in raised)
        if history.first_dispense is not None and peak_done is None and peak_closed is None:
            due = next(
                (d.date for d in due_items(course_file, history, phase) if d.code == LABS_PEAK_DOSE), None
            )
            if due is not None:
                peak_due = peak_due or due
            elif peak_due is not None and phase == "active":
                peak_done = day
            elif peak_due is not None:
                peak_closed = day
        projected = dose.projected_completion_date
        if projected is not None and projected > day:
            queue(projected)  # DOSE-TARGET: the day TARGET_REACHED may appear
        elif (
            projected is None
            and course_file.doses
            and dose.baseline_weight is not None
            and (course.end is None or course.end > day)
            and day.year + PROJECTION_HORIZON_YEARS < dt.MAXYEAR
        ):  # none within the projection's horizon (three years): look again the day after it
            queue(add_years(day, PROJECTION_HORIZON_YEARS) + DAY)
    found = _alert_outcomes(course_file, judged, through)
    peak = PeakLabs(peak_due, peak_done, peak_closed) if peak_due is not None else None
    return _AlertReplay(
        alerts=found,
        baseline_labs_missing=baseline_missing,
        peak_labs=peak,
        lab_draws=_lab_draws(course_file, judged, peak_done, through),
        changes_on=later[0] if later else None,
    )


def _alert_outcomes(
    course_file: CourseFile, judged: list[tuple[dt.date, dict[tuple[str, dt.date], Alert]]], through: dt.date
) -> tuple[AlertOutcome, ...]:
    """Each alert with its runs of days (an answer holds from its day to the day before the next judged) and
    the first day the engine counted it acknowledged (``urgency.findings`` on each day an acknowledgment or
    follow-up step is dated)."""
    runs: dict[tuple[str, dt.date], list[tuple[dt.date, dt.date | None]]] = {}
    first_seen: dict[tuple[str, dt.date], Alert] = {}
    for index, (day, given) in enumerate(judged):
        last = judged[index + 1][0] - DAY if index + 1 < len(judged) else None
        for key, alert in given.items():
            found = runs.setdefault(key, [])
            first_seen.setdefault(key, alert)
            if found and found[-1][1] == day - DAY:  # given the day before too: the run goes on
                found[-1] = (found[-1][0], last)
            else:
                found.append((day, last))
    answered_on = sorted(
        {a.date for a in course_file.acknowledgments if a.date <= through}
        | {f.date for f in course_file.follow_ups if f.date <= through}
    )
    outcomes = []
    for key, alert in first_seen.items():
        acknowledged_on = next(
            (day for day in answered_on if not findings(course_file, (alert,), day)[0].open), None
        )
        outcomes.append(AlertOutcome(alert.code, alert.date, tuple(runs[key]), acknowledged_on))
    return tuple(sorted(outcomes, key=lambda a: (a.raised_on, _urgency(a.code), a.date)))


def _lab_draws(
    course_file: CourseFile,
    judged: list[tuple[dt.date, dict[tuple[str, dt.date], Alert]]],
    peak_done: dt.date | None,
    through: dt.date,
) -> tuple[tuple[dt.date, bool], ...]:
    """The lab draw days after the peak-dose draw, each with whether the engine gave an alert on a lab result
    (``RESULT_ALERTS``) on the day before."""
    if peak_done is None:
        return ()
    days = [day for day, _ in judged]
    draws = sorted(
        {e.date for e in course_file.events if isinstance(e, LabResult) and peak_done < e.date <= through}
    )
    found = []
    for draw in draws:
        index = bisect.bisect_right(days, draw - DAY) - 1  # the answer that held on the day before
        shown = judged[index][1] if index >= 0 else {}
        found.append((draw, any(code in RESULT_ALERTS for code, _ in shown)))
    return tuple(found)


def _urgency(code: str) -> int:
    return ALERT_ORDER.index(code) if code in ALERT_ORDER else len(ALERT_ORDER)


# --- the measures of a period -------------------------------------------------------------------------------


def measures(courses: Sequence[CourseFile], start: dt.date, end: dt.date) -> Measures:
    """The practice's measures from ``start`` through ``end`` (both inclusive): each course replayed once
    through ``end`` (``course_outcome``), then counted (``measures_of``)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    return measures_of([course_outcome(course_file, end) for course_file in courses], start, end)


def measures_of(outcomes: Sequence[CourseOutcome], start: dt.date, end: dt.date) -> Measures:
    """The measures from ``start`` through ``end`` of courses already replayed, each through a day that
    serves the period (``CourseOutcome.holds_for``: a ValueError otherwise, never a figure of a replay that
    stopped short)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")

    def within(day: dt.date | None) -> bool:
        return day is not None and start <= day <= end

    days_to_fill: list[int] = []
    unmeasured = 0
    waited: Counter[str] = Counter()
    closed = filled = lost = replaced = course_closed = 0
    missing: Counter[str] = Counter()
    completed = without_weight = reached_120 = reached_target = 0
    mg_per_kg: list[float] = []
    with_positive = positive_tests = 0
    started = stopped = stopped_unfilled = active = 0
    stop_reasons: Counter[str] = Counter()
    baseline_done = baseline_missing = 0
    peak: Counter[str] = Counter()
    draws_after_peak = draws_without_cause = 0
    raised: Counter[str] = Counter()
    days_to_acknowledge: list[int] = []
    unacknowledged = 0
    holds = holds_without_reason = 0
    reduction_reasons: Counter[str] = Counter()
    follow_up_complete = follow_up_open = self_harm = self_harm_acknowledged = critical_acknowledged = 0
    critical: Counter[str] = Counter()

    for outcome in outcomes:
        if not outcome.holds_for(end):
            raise ValueError(
                f"a course replayed through {outcome.through} cannot serve a period ending {end}"
            )
        fill = outcome.first_fill
        if within(fill.filled_on):
            if fill.days is not None and fill.days >= 0:
                days_to_fill.append(fill.days)
                waited.update(dict(fill.waited))
            else:
                unmeasured += 1
            if outcome.baseline_labs_missing is not None:
                baseline_missing += outcome.baseline_labs_missing
                baseline_done += not outcome.baseline_labs_missing

        for window in outcome.windows:
            if not within(window.closes):
                continue
            if window.outcome == "filled":
                closed += 1
                filled += 1
            elif window.outcome == "lost":
                closed += 1
                lost += 1
                missing.update(window.missing)
            elif window.outcome == "replaced":
                replaced += 1
            elif window.outcome == "course_closed":
                course_closed += 1

        stopped_on = outcome.stopped_on()
        if stopped_on is not None and within(stopped_on):
            stopped += 1
            stop_reasons[outcome.stopped_why()] += 1
            first_filled = outcome.first_fill.filled_on
            stopped_unfilled += first_filled is None or first_filled > stopped_on
        elif stopped_on is None and within(outcome.end):
            completed += 1
            if outcome.end_mg_per_kg is None:
                without_weight += 1
            else:
                mg_per_kg.append(outcome.end_mg_per_kg)
                reached_target += outcome.reached_target
                reached_120 += outcome.reached_120

        positives = sum(1 for day in outcome.positive_tests if within(day))
        positive_tests += positives
        with_positive += positives > 0

        started += within(outcome.first_fill.filled_on)
        active += outcome.phase_on(end) == "active"

        if outcome.peak_labs is not None and within(outcome.peak_labs.due):
            peak[_peak_labs_status(outcome.peak_labs, end)] += 1
        for day, prompted in outcome.lab_draws:
            if within(day):
                draws_after_peak += 1
                draws_without_cause += not prompted

        for alert in outcome.alerts:
            if within(alert.raised_on):
                raised[alert.code] += 1
                acknowledged_by_end = alert.acknowledged_on is not None and alert.acknowledged_on <= end
                if alert.code == SELF_HARM_RISK:
                    self_harm += 1
                    self_harm_acknowledged += acknowledged_by_end
                if alert.code in CRITICAL_LAB_ALERTS:
                    critical[alert.code] += 1
                    critical_acknowledged += acknowledged_by_end
                if alert.code == PREGNANCY_TEST_POSITIVE:
                    if alert.acknowledged_on is not None and alert.acknowledged_on <= end:
                        follow_up_complete += 1
                    else:
                        follow_up_open += 1
            if alert.code not in ACKNOWLEDGEABLE:
                continue
            acknowledged_on = alert.acknowledged_on
            if within(acknowledged_on) and alert.raised_on <= end:
                assert acknowledged_on is not None
                days_to_acknowledge.append((acknowledged_on - alert.date).days)
            if (
                alert.shown_on(end)
                and (acknowledged_on is None or acknowledged_on > end)
                and outcome.phase_on(end) in IN_TREATMENT
            ):
                unacknowledged += 1

        for hold_start, reason in outcome.holds:
            if within(hold_start):
                holds += 1
                holds_without_reason += not (reason and reason.strip())
        for day, why in outcome.reductions:
            if within(day):
                reduction_reasons[why if why in DOSE_CHANGE_REASONS else NOT_RECORDED] += 1

    return Measures(
        start=start,
        end=end,
        first_fill=FirstFills(
            count=len(days_to_fill),
            unmeasured=unmeasured,
            median_days=median(days_to_fill),
            p25_days=nearest_rank(days_to_fill, 25),
            p75_days=nearest_rank(days_to_fill, 75),
            min_days=min(days_to_fill, default=None),
            max_days=max(days_to_fill, default=None),
            waited=tuple((name, waited[name]) for name in WAITED_ORDER if waited[name]),
        ),
        windows=Windows(closed, filled, lost, _sorted_counts(missing), replaced, course_closed),
        dosing=Dosing(
            completed,
            without_weight,
            reached_120,
            reached_target,
            median(mg_per_kg),
            interruptions=holds,
            interruptions_without_reason=holds_without_reason,
            reductions=reduction_reasons.total(),
            reductions_for_side_effects=sum(reduction_reasons[why] for why in FOR_SIDE_EFFECTS),
            reduction_reasons=tuple(
                (why, reduction_reasons[why])
                for why in (*DOSE_CHANGE_REASONS, NOT_RECORDED)
                if reduction_reasons[why]
            ),
        ),
        safety=Safety(
            with_positive,
            positive_tests,
            follow_up_complete=follow_up_complete,
            follow_up_open=follow_up_open,
            self_harm_risk=self_harm,
            self_harm_acknowledged=self_harm_acknowledged,
            critical_labs=_urgency_counts(critical),
            critical_labs_acknowledged=critical_acknowledged,
        ),
        courses=Courses(
            started=started,
            completed=completed,
            stopped=stopped,
            stopped_before_first_fill=stopped_unfilled,
            stop_reasons=tuple(
                (name, stop_reasons[name]) for name in (*STOP_REASONS, NOT_RECORDED) if stop_reasons[name]
            ),
            active=active,
        ),
        monitoring=Monitoring(
            baseline_labs_done=baseline_done,
            baseline_labs_missing=baseline_missing,
            peak_labs_due=peak["on_time"] + peak["late"] + peak["not_done"],
            peak_labs_on_time=peak["on_time"],
            peak_labs_late=peak["late"],
            peak_labs_not_done=peak["not_done"],
            peak_labs_course_closed=peak["course_closed"],
            draws_after_peak=draws_after_peak,
            draws_without_cause=draws_without_cause,
            alerts_raised=_urgency_counts(raised),
            acknowledged=len(days_to_acknowledge),
            median_days_to_acknowledge=median(days_to_acknowledge),
            unacknowledged=unacknowledged,
        ),
    )


def _peak_labs_status(peak: PeakLabs, end: dt.date) -> str:
    """A due date within the period: ``on_time``, ``late`` (done by ``end``), ``course_closed`` (no longer
    active on or before the due date, without them) or ``not_done``."""
    if peak.done_on is not None and peak.done_on <= end:
        return "on_time" if peak.done_on <= peak.due else "late"
    if peak.closed_on is not None and peak.closed_on <= peak.due:
        return "course_closed"
    return "not_done"


def _reaches(course_file: CourseFile, day: dt.date, target: float) -> bool:
    """Whether the course reached ``target`` mg/kg by ``day``: the core's own DOSE-TARGET answer for that
    target (its tolerance, its first day reached), not a comparison of rounded figures made here."""
    policy = dataclasses.replace(course_file.policy, target_mg_per_kg=target)
    with_target = dataclasses.replace(course_file, policy=policy)
    return dose_report(with_target, day).target_reached_on is not None


def _sorted_counts(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((code, n) for code, n in counts.items() if n))


def _urgency_counts(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    """Alert counts in the urgency order (``urgency.ALERT_ORDER``), any other code after them by name."""
    return tuple(sorted(((code, n) for code, n in counts.items() if n), key=lambda c: (_urgency(c[0]), c[0])))


# --- beside the published figures ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """A published figure a dashboard shows beside the practice's own (issue 16): ``label`` what is compared,
    ``published`` the figure as published, ``source`` its citation, ``practice`` the practice's comparable
    figure in words, and ``counts`` the function giving its numerator and denominator from a period's
    ``Measures``; ``counts`` is None when isotrack does not measure it, and ``practice`` then says why."""

    key: str
    label: str
    published: str
    source: str
    practice: str
    counts: Callable[[Measures], tuple[int, int]] | None = None

    def share(self, found: Measures) -> float | None:
        """The practice's share (numerator / denominator), None when not measured or nothing to count."""
        if self.counts is None:
            return None
        numerator, denominator = self.counts(found)
        return numerator / denominator if denominator else None


def _ended_early(found: Measures) -> tuple[int, int]:
    begun = found.courses.stopped - found.courses.stopped_before_first_fill
    return begun, begun + found.courses.completed


def _prescriptions_filled(found: Measures) -> tuple[int, int]:
    return found.windows.filled, found.windows.closed


def _reached_120(found: Measures) -> tuple[int, int]:
    return found.dosing.reached_120, found.dosing.completed - found.dosing.without_weight


def _baseline_labs(found: Measures) -> tuple[int, int]:
    done = found.monitoring.baseline_labs_done
    return done, done + found.monitoring.baseline_labs_missing


def _peak_labs_on_time(found: Measures) -> tuple[int, int]:
    return found.monitoring.peak_labs_on_time, found.monitoring.peak_labs_due


def _draws_without_cause(found: Measures) -> tuple[int, int]:
    return found.monitoring.draws_without_cause, found.monitoring.draws_after_peak


# The published figures and their sources as issue 16 gives them (the Delphi consensus as reference.md
# section 3 names it); none other.
DELPHI_2022 = "2022 Delphi consensus on lab monitoring (JAMA Derm 2022)"
COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "ended_early",
        "Courses ended early",
        "30.1 % of white and 43.5 % of non-white patients",
        "Charrow et al., isotretinoin course discontinuation",
        "Courses stopped in the period after their first fill, of those and the courses completed in it "
        "((courses.stopped - courses.stopped_before_first_fill) / (that + courses.completed)); isotrack "
        "records no race or ethnicity, so the practice's figure is for all its patients.",
        _ended_early,
    ),
    Comparison(
        "restarted",
        "Courses restarted",
        "8.7 % of courses restarted",
        "J Drugs Dermatol 2016",
        "Not measured: isotrack's measures see one course at a time, and a later course of the same patient "
        "is not linked to the earlier one.",
    ),
    Comparison(
        "charts_matching_ipledge",
        "Charts matching iPLEDGE",
        "73.1 % of charts matching iPLEDGE",
        "J Drugs Dermatol 2016",
        "Not measured: iPLEDGE has no public interface, so isotrack cannot compare the practice's records "
        "with what iPLEDGE holds.",
    ),
    Comparison(
        "prescriptions_filled",
        "Prescriptions filled",
        "93 % of prescriptions filled with a support program",
        "J Drugs Dermatol 2015",
        "Dispense windows filled, of the windows that closed in the period (windows.filled / "
        "windows.closed).",
        _prescriptions_filled,
    ),
    Comparison(
        "cumulative_120",
        "Completed courses reaching 120 mg/kg",
        "Relapse 82 % below 120 mg/kg against 30 % above",
        "EADV 2024 summary",
        "Completed courses with a weight that reached 120 mg/kg, of the completed courses with a weight "
        "(dosing.reached_120 / (dosing.completed - dosing.without_weight)); relapse itself is not recorded.",
        _reached_120,
    ),
    Comparison(
        "baseline_labs",
        "Baseline ALT and triglycerides",
        "ALT and triglycerides at baseline",
        DELPHI_2022,
        "First fills in the period with baseline triglycerides and ALT on record (monitoring."
        "baseline_labs_done / (monitoring.baseline_labs_done + monitoring.baseline_labs_missing)).",
        _baseline_labs,
    ),
    Comparison(
        "peak_labs",
        "Peak-dose ALT and triglycerides",
        "ALT and triglycerides at peak dose",
        DELPHI_2022,
        "Peak-dose labs done by their due date, of those due in the period (monitoring.peak_labs_on_time / "
        "monitoring.peak_labs_due).",
        _peak_labs_on_time,
    ),
    Comparison(
        "labs_without_cause",
        "Labs drawn without cause",
        "No routine CBC; monthly labs drawn without cause are overuse",
        DELPHI_2022,
        "Lab draw days after the peak-dose draw that followed no abnormal result, of all lab draw days after "
        "it (monitoring.draws_without_cause / monitoring.draws_after_peak).",
        _draws_without_cause,
    ),
)


# --- keeping an outcome -------------------------------------------------------------------------------------
# A stored outcome is plain JSON (dates as ISO text), read back to the same value (a property test checks the
# round trip). The version changes whenever the shape does, so that an outcome kept in another shape is
# replayed again rather than misread. Format 2 added the alerts, the baseline and peak-dose labs, the lab
# draws after the peak, the holds and the dose reductions; format 3 the reason recorded for each reduction.
OUTCOME_FORMAT = 3


def outcome_to_json(outcome: CourseOutcome) -> dict[str, object]:
    fill = outcome.first_fill
    peak = outcome.peak_labs
    return {
        "format": OUTCOME_FORMAT,
        "through": outcome.through.isoformat(),
        "changes_on": _iso(outcome.changes_on),
        "category": outcome.category,
        "age_at_start": outcome.age_at_start,
        "start": outcome.start.isoformat(),
        "end": _iso(outcome.end),
        "closed_as": outcome.closed_as,
        "stop_reason": outcome.stop_reason,
        "first_fill": [
            _iso(fill.enrolled_on),
            _iso(fill.filled_on),
            fill.days,
            [list(w) for w in fill.waited],
        ],
        "windows": [
            [w.opens.isoformat(), w.closes.isoformat(), _iso(w.filled_on), w.outcome, list(w.missing)]
            for w in outcome.windows
        ],
        "phases": [[run.first.isoformat(), run.last.isoformat(), run.phase] for run in outcome.phases],
        "end_mg_per_kg": outcome.end_mg_per_kg,
        "reached_120": outcome.reached_120,
        "reached_target": outcome.reached_target,
        "positive_tests": [day.isoformat() for day in outcome.positive_tests],
        "alerts": [
            [
                a.code,
                a.date.isoformat(),
                [[first.isoformat(), _iso(last)] for first, last in a.shown],
                _iso(a.acknowledged_on),
            ]
            for a in outcome.alerts
        ],
        "baseline_labs_missing": outcome.baseline_labs_missing,
        "peak_labs": None
        if peak is None
        else [peak.due.isoformat(), _iso(peak.done_on), _iso(peak.closed_on)],
        "lab_draws": [[day.isoformat(), prompted] for day, prompted in outcome.lab_draws],
        "holds": [[day.isoformat(), reason] for day, reason in outcome.holds],
        "reductions": [[day.isoformat(), reason] for day, reason in outcome.reductions],
    }


def outcome_from_json(data: dict[str, Any]) -> CourseOutcome:
    """The outcome ``outcome_to_json`` gave; a ValueError for another format (replay the course instead)."""
    if data.get("format") != OUTCOME_FORMAT:
        raise ValueError(f"an outcome of format {data.get('format')!r}, not {OUTCOME_FORMAT}")
    enrolled_on, filled_on, fill_days, waited = data["first_fill"]
    peak = data["peak_labs"]
    return CourseOutcome(
        through=dt.date.fromisoformat(data["through"]),
        changes_on=_date(data["changes_on"]),
        category=data["category"],
        age_at_start=data["age_at_start"],
        start=dt.date.fromisoformat(data["start"]),
        end=_date(data["end"]),
        closed_as=data["closed_as"],
        stop_reason=data["stop_reason"],
        first_fill=FirstFill(
            _date(enrolled_on), _date(filled_on), fill_days, tuple((name, n) for name, n in waited)
        ),
        windows=tuple(
            WindowOutcome(
                dt.date.fromisoformat(opens),
                dt.date.fromisoformat(closes),
                _date(used_on),
                kind,
                tuple(missing),
            )
            for opens, closes, used_on, kind, missing in data["windows"]
        ),
        phases=tuple(
            PhaseRun(dt.date.fromisoformat(first), dt.date.fromisoformat(last), phase)
            for first, last, phase in data["phases"]
        ),
        end_mg_per_kg=data["end_mg_per_kg"],
        reached_120=data["reached_120"],
        reached_target=data["reached_target"],
        positive_tests=tuple(dt.date.fromisoformat(day) for day in data["positive_tests"]),
        alerts=tuple(
            AlertOutcome(
                code,
                dt.date.fromisoformat(date),
                tuple((dt.date.fromisoformat(first), _date(last)) for first, last in shown),
                _date(acknowledged_on),
            )
            for code, date, shown, acknowledged_on in data["alerts"]
        ),
        baseline_labs_missing=data["baseline_labs_missing"],
        peak_labs=None
        if peak is None
        else PeakLabs(dt.date.fromisoformat(peak[0]), _date(peak[1]), _date(peak[2])),
        lab_draws=tuple((dt.date.fromisoformat(day), prompted) for day, prompted in data["lab_draws"]),
        holds=tuple((dt.date.fromisoformat(day), reason) for day, reason in data["holds"]),
        reductions=tuple((dt.date.fromisoformat(day), reason) for day, reason in data["reductions"]),
    )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


# --- keeping a period's measures ----------------------------------------------------------------------------
# A period's measures as plain JSON, read back to the same value (a property test checks the round trip),
# for figures computed once and shown again (the clinic keeps a dashboard's). Read generically off the
# dataclasses: a section or a figure the core adds is kept with no change here; a stored answer of another
# shape (a figure missing or unknown) is a ValueError, so that it is computed again rather than misread.


def measures_to_json(found: Measures) -> dict[str, object]:
    kept: dict[str, object] = {"start": found.start.isoformat(), "end": found.end.isoformat()}
    for section in dataclasses.fields(found):
        figures = getattr(found, section.name)
        if dataclasses.is_dataclass(figures):
            kept[section.name] = {
                f.name: [list(pair) for pair in value] if isinstance(value, tuple) else value
                for f in dataclasses.fields(figures)
                for value in (getattr(figures, f.name),)
            }
    return kept


def measures_from_json(data: object) -> Measures:
    """The measures ``measures_to_json`` gave; a ValueError for anything else: another shape, or a value
    of another kind than its figure's (a count is a whole number, a statistic a number or null, a tuple
    of the core a list of ``[name, count]`` pairs)."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("start"), str)
        or not isinstance(data.get("end"), str)
    ):
        raise ValueError("measures of another shape: the period")
    sections: dict[str, Any] = {}
    for name, kind in _sections().items():
        stored = data.get(name)
        figures = dataclasses.fields(kind)
        if not isinstance(stored, dict) or set(stored) != {f.name for f in figures}:
            raise ValueError(f"measures of another shape: {name}")
        sections[name] = kind(**{f.name: _figure_from_json(f, stored[f.name], name) for f in figures})
    return Measures(
        start=dt.date.fromisoformat(data["start"]), end=dt.date.fromisoformat(data["end"]), **sections
    )


def _figure_from_json(field: dataclasses.Field[Any], value: object, section: str) -> object:
    """One figure read back, of the kind its default says: 0 a count, None a statistic, () a tuple."""

    def number(item: object) -> bool:
        return isinstance(item, int | float) and not isinstance(item, bool)

    default = field.default
    if default == () and isinstance(value, list):
        pairs = [item for item in value if isinstance(item, list) and len(item) == 2]
        if len(pairs) == len(value) and all(isinstance(k, str) and type(n) is int for k, n in pairs):
            return tuple((k, n) for k, n in pairs)
    else:
        statistic = default is None and (value is None or number(value))
        if statistic or (default == 0 and type(value) is int):
            return value
    raise ValueError(f"measures of another shape: {section}.{field.name}")


@functools.cache
def _sections() -> dict[str, type]:
    """The sections of ``Measures`` and their classes, in order."""
    hints = typing.get_type_hints(Measures)
    return {
        f.name: hints[f.name] for f in dataclasses.fields(Measures) if dataclasses.is_dataclass(hints[f.name])
    }
