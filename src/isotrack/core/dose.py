"""Cumulative dose (DOSE-CUM), its projection, dose planning and capsule plans.

Everything is arithmetic over stretches of days (days x mg), never a day-by-day loop: a course is cut into
*pieces* over which the prescribed dose and the divisor weight are constant; a piece contributes ``dosing days
x conventional-equivalent mg / kg`` where dosing days are its days minus the interruptions and missed doses
(merged first, so a missed dose inside a hold is not subtracted twice: DOSE-CUM "never double").

Decisions where the spec is silent (a compliance officer's reading):

- Weights dated after the evaluation day are not known on that day: they are ignored (an as-of replay must not
  use later measurements). "Else the first weight" therefore means the first weight on or before the day; with
  none, every per-kg figure is null. After the day the weight stays the latest known one, so in ``daily`` mode
  the projection divides by the latest weight, which is also what ``remaining_mg`` uses.
- Dose segments, interruptions and missed doses dated after the day are plans, and the projection uses them
  all (the spec names future segments and interruptions; a pre-recorded missed day is treated the same way so
  that evaluating on the projected date agrees with the projection).
- ``current_mg_per_day`` is the prescribed dose of the segment in effect, also on a day inside a hold.
- A target reached before the day is reported as the projected completion date (the first day it was reached),
  also after the course has ended; a course that ended (``end`` on or before the day) without reaching it has
  no projection. "More than 3 years" counts calendar years from the day (29 February -> 28).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from isotrack.core.course import CourseFile, DoseSegment, Interruption, Product, Weight
from isotrack.core.quantities import TOLERANCE

# DOSE-LD and reference.md section 2: the labeled maximum daily dose per kg.
MAXIMUM_MG_PER_KG_PER_DAY: dict[str, float] = {"conventional": 2.0, "micronized": 1.6}
# Spec "projected_completion_date": null if it would take more than 3 years.
PROJECTION_HORIZON_YEARS = 3

_Off = tuple[int, int]  # an inclusive range of day ordinals without dosing


@dataclass(frozen=True, slots=True)
class DoseReport:
    """The dose part of an evaluation, unrounded (``Evaluation.to_dict`` rounds for reporting)."""

    cumulative_mg: float  # labeled mg (DOSE-CUM)
    conventional_equivalent_mg: float  # micronized mg x policy.ld_equivalence_factor (DOSE-LD)
    cumulative_mg_per_kg: float | None  # conventional-equivalent (DOSE-WEIGHT); None without a weight
    target_mg_per_kg: float  # DOSE-TARGET
    remaining_mg: float | None
    current_segment: DoseSegment | None  # the segment in effect on the day (None after the end or before any)
    current_mg_per_day: float | None
    current_mg_per_kg_per_day: float | None
    projected_completion_date: dt.date | None
    target_reached_on: dt.date | None  # the day the target was reached, if on or before the day
    baseline_weight: Weight | None
    latest_weight: Weight | None  # the latest weight on or before the day


def equivalence_factor(product: Product | None, ld_equivalence_factor: float) -> float:
    """DOSE-LD: conventional-equivalent mg per labeled mg."""
    return ld_equivalence_factor if product == "micronized" else 1.0


def known_weights(course_file: CourseFile, day: dt.date) -> list[Weight]:
    """The weights dated on or before the day, oldest first."""
    return sorted((w for w in course_file.weights if w.date <= day), key=lambda w: w.date)


def baseline_weight(weights: Sequence[Weight], course_start: dt.date) -> Weight | None:
    """DOSE-WEIGHT: the latest weight on or before the course start, else the first weight."""
    if not weights:
        return None
    index = bisect.bisect_right([w.date for w in weights], course_start)
    return weights[index - 1] if index else weights[0]


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


# --- days without dosing ------------------------------------------------------------------------------------


def off_ranges(course_file: CourseFile) -> list[_Off]:
    """Interruptions and missed doses as merged, sorted ordinal ranges."""
    ranges = [(i.start.toordinal(), i.end.toordinal()) for i in course_file.interruptions]
    ranges += [(d.toordinal(), d.toordinal()) for d in course_file.missed_doses]
    if len(ranges) < 2:
        return ranges
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end + 1:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged


def dosing_days(first: int, last: int, offs: Sequence[_Off]) -> int:
    """The number of days in [first, last] outside the off ranges."""
    if last < first:
        return 0
    count = last - first + 1
    for start, end in offs:
        if start > last:
            break
        if end >= first:
            count -= min(end, last) - max(start, first) + 1
    return count


def nth_dosing_day(first: int, n: int, offs: Sequence[_Off]) -> int:
    """The ordinal of the n-th (1-based) dosing day counting from ``first``."""
    candidate = first + n - 1
    for start, end in offs:
        if end < first:
            continue
        if start > candidate:
            break
        candidate += end - max(start, first) + 1
    return candidate


# --- pieces: stretches with one dose and one divisor weight -------------------------------------------------


# A piece: (first ordinal, last ordinal, labeled mg/day, conventional-equivalent mg/day, divisor kg or None).
# A plain tuple: evaluations build a few dozen of them and must stay fast.
_Piece = tuple[int, int, float, float, float | None]


def _pieces(
    course_file: CourseFile, weights: Sequence[Weight], base: Weight | None, until: int
) -> list[_Piece]:
    """Pieces from the course start through ordinal ``until``, in date order."""
    policy = course_file.policy
    segments = sorted(course_file.doses, key=lambda s: s.start)
    start = course_file.course.start.toordinal()
    daily = policy.weight_basis == "daily" and len(weights) > 1
    # In daily mode the divisor changes on each weight's date after the first (before it, the first applies).
    changes = [w.date.toordinal() for w in weights[1:]] if daily else []
    base_kg = base.kg if base else None
    found: list[_Piece] = []
    for index, segment in enumerate(segments):
        first = max(segment.start.toordinal(), start)
        last = segments[index + 1].start.toordinal() - 1 if index + 1 < len(segments) else until
        last = min(last, until)
        if last < first:
            continue
        equivalent = segment.mg_per_day * equivalence_factor(segment.product, policy.ld_equivalence_factor)
        if not daily:
            found.append((first, last, segment.mg_per_day, equivalent, base_kg))
            continue
        at = first
        while at <= last:
            position = bisect.bisect_right(changes, at)
            next_change = changes[position] if position < len(changes) else last + 1
            stop = min(last, next_change - 1)
            found.append((at, stop, segment.mg_per_day, equivalent, weights[position].kg))
            at = stop + 1
    return found


def _reached_on(pieces: Iterable[_Piece], offs: Sequence[_Off], target: float) -> dt.date | None:
    """The first day the cumulative conventional-equivalent mg/kg reaches the target (DOSE-TARGET)."""
    need = target - TOLERANCE
    total = 0.0
    for first, last, _, equivalent, kg in pieces:
        if kg is None:
            return None
        days = dosing_days(first, last, offs)
        if days == 0:
            continue
        rate = equivalent / kg
        if total + days * rate >= need:
            # Within a constant stretch: the smallest k with total + k x rate >= need, by ceiling, then
            # nudged by one either way so that float division can never pick the wrong day.
            k = min(days, max(1, math.ceil((need - total) / rate)))
            while k > 1 and total + (k - 1) * rate >= need:
                k -= 1
            while k < days and total + k * rate < need:
                k += 1
            return dt.date.fromordinal(nth_dosing_day(first, k, offs))
        total += days * rate
    return None


def dose_report(course_file: CourseFile, day: dt.date) -> DoseReport:
    """DOSE-CUM, DOSE-WEIGHT, DOSE-LD, DOSE-TARGET: the dose figures through the end of the day."""
    policy = course_file.policy
    course = course_file.course
    weights = known_weights(course_file, day)
    base = baseline_weight(weights, course.start)
    latest = weights[-1] if weights else None
    offs = off_ranges(course_file)
    ended = course.end is not None and course.end <= day
    through = min(day, course.end) if course.end is not None else day
    through_ordinal = through.toordinal()
    limit = through if ended else add_years(day, PROJECTION_HORIZON_YEARS)
    pieces = _pieces(course_file, weights, base, limit.toordinal())

    labeled = equivalent = per_kg = 0.0
    for first, last, labeled_mg, equivalent_mg, kg in pieces:
        if first > through_ordinal:
            break
        days = dosing_days(first, min(last, through_ordinal), offs)
        labeled += days * labeled_mg
        equivalent += days * equivalent_mg
        if kg is not None:
            per_kg += days * equivalent_mg / kg
    cumulative_mg_per_kg = per_kg if base is not None else None

    target = policy.target_mg_per_kg
    divisor = base if policy.weight_basis == "baseline" else latest
    remaining = None
    if cumulative_mg_per_kg is not None and divisor is not None:
        remaining = max(0.0, (target - cumulative_mg_per_kg) * divisor.kg)
    reached = _reached_on(pieces, offs, target) if base is not None else None

    segment = current_segment(course_file, day)
    current_mg = (
        0.0 if course.end is not None and course.end < day else (segment.mg_per_day if segment else None)
    )
    current_per_kg = current_mg / latest.kg if current_mg is not None and latest is not None else None
    return DoseReport(
        cumulative_mg=labeled,
        conventional_equivalent_mg=equivalent,
        cumulative_mg_per_kg=cumulative_mg_per_kg,
        target_mg_per_kg=target,
        remaining_mg=remaining,
        current_segment=segment if current_mg else None,
        current_mg_per_day=current_mg,
        current_mg_per_kg_per_day=current_per_kg,
        projected_completion_date=reached,
        target_reached_on=reached if reached is not None and reached <= day else None,
        baseline_weight=base,
        latest_weight=latest,
    )


def projection_appears_on(course_file: CourseFile, day: dt.date, until: dt.date) -> dt.date | None:
    """The first day after ``day``, up to ``until``, on which ``dose_report`` projects a completion date where
    on ``day`` it projects none because the target lies more than PROJECTION_HORIZON_YEARS ahead (the
    horizon moves with the day: the one bound of the engine counted from the day, not from a fact's date).
    None when it gives one already, or none appears by ``until`` with nothing recorded."""
    course = course_file.course
    if course.end is not None and course.end <= until:
        return None  # an end ends the projection at it; a day before the end is a fact's date already
    weights = known_weights(course_file, day)
    base = baseline_weight(weights, course.start)
    if base is None:
        return None
    pieces = _pieces(course_file, weights, base, add_years(until, PROJECTION_HORIZON_YEARS).toordinal())
    reached = _reached_on(pieces, off_ranges(course_file), course_file.policy.target_mg_per_kg)
    if reached is None or reached <= add_years(day, PROJECTION_HORIZON_YEARS):
        return None
    later = day + dt.timedelta(days=1)
    while later <= until:
        if reached <= add_years(later, PROJECTION_HORIZON_YEARS):
            return later
        later += dt.timedelta(days=1)
    return None


def current_segment(course_file: CourseFile, day: dt.date) -> DoseSegment | None:
    """The dose segment in effect on the day, ignoring the course end (None before the first segment)."""
    found = None
    for segment in course_file.doses:
        if segment.start <= day and (found is None or segment.start >= found.start):
            found = segment
    return found


# --- dose planning (what-if) --------------------------------------------------------------------------------


def dose_needed_for_completion(
    course_file: CourseFile, day: dt.date, completion_date: dt.date
) -> float | None:
    """The labeled mg/day, from the day after ``day`` through ``completion_date``, that reaches the target on
    that date (DOSE-TARGET), in the product of the segment in effect on the day (else the first segment's).

    0.0 when the target is already reached. None when it cannot be computed: no weight, a course that has
    ended (end on or before the day), or no dosing day left before the completion date. Planned interruptions
    and missed doses are skipped; a planned course end in the future is ignored, as in the projection.
    """
    report = dose_report(course_file, day)
    course = course_file.course
    if report.cumulative_mg_per_kg is None or (course.end is not None and course.end <= day):
        return None
    missing = course_file.policy.target_mg_per_kg - report.cumulative_mg_per_kg
    if missing <= TOLERANCE:
        return 0.0
    first = max(day + dt.timedelta(days=1), course.start).toordinal()
    days = dosing_days(first, completion_date.toordinal(), off_ranges(course_file))
    divisor = (
        report.baseline_weight if course_file.policy.weight_basis == "baseline" else report.latest_weight
    )
    if days == 0 or divisor is None:
        return None
    segment = current_segment(course_file, day) or min(course_file.doses, key=lambda s: s.start, default=None)
    product = segment.product if segment else "conventional"
    factor = equivalence_factor(product, course_file.policy.ld_equivalence_factor)
    return missing * divisor.kg / days / factor


def completion_date_for_dose(
    course_file: CourseFile, day: dt.date, mg_per_day: float, product: Product
) -> dt.date | None:
    """The projected completion date if the dose changed to ``mg_per_day`` of ``product`` from the day after
    ``day`` (later planned segments are replaced; planned interruptions stay). None as for the projection."""
    if mg_per_day <= 0:
        raise ValueError(f"mg_per_day must be above 0, not {mg_per_day}")
    change = max(day + dt.timedelta(days=1), course_file.course.start)
    return dose_report(
        with_dose_from(course_file, change, mg_per_day, product), day
    ).projected_completion_date


def with_dose_from(
    course_file: CourseFile, start: dt.date, mg_per_day: float, product: Product
) -> CourseFile:
    """The course's facts with a new dose of ``mg_per_day`` of ``product`` from ``start`` on, replacing the
    segments that start on or after it: a plan, never a record (the preview of a dose change)."""
    kept = tuple(s for s in course_file.doses if s.start < start)
    return replace(course_file, doses=(*kept, DoseSegment(start, mg_per_day, product)))


def with_days_off(course_file: CourseFile, start: dt.date, end: dt.date) -> CourseFile:
    """The course's facts with no dosing from ``start`` through ``end``: a missed dose when both are the same
    day, else a hold. A plan, never a record (the preview of a hold or a missed dose)."""
    if end < start:
        raise ValueError(f"the days off end ({end}) before they start ({start})")
    if start == end:
        return replace(course_file, missed_doses=(*course_file.missed_doses, start))
    return replace(course_file, interruptions=(*course_file.interruptions, Interruption(start, end)))


# --- capsule plans ------------------------------------------------------------------------------------------

# Reference.md section 2: capsule strengths (mg) of each product line.
CAPSULE_STRENGTHS_MG: dict[str, tuple[int, ...]] = {
    "conventional": (10, 20, 30, 40),  # generic, Amnesteem, Claravis, Myorisan, Zenatane
    "absorica": (10, 20, 25, 30, 35, 40),  # Absorica (conventional, Lidose)
    "micronized": (8, 16, 20, 24, 28, 32),  # Absorica LD
}
MINIMUM_FILL_DAYS, MAXIMUM_FILL_DAYS = 1, 30  # IPL-SUPPLY
# A bound on the planner's input, far above any labeled maximum (2 mg/kg/day x 250 kg = 500 mg).
_PLANNABLE_MG = 1000


@dataclass(frozen=True, slots=True)
class CapsulePlan:
    """Capsules for one daily dose: fewest capsules, split into two doses as even as possible.

    ``possible`` is False when the dose is not a sum of the available strengths; then ``problem`` says so and
    ``nearest_lower_mg``/``nearest_higher_mg`` are the closest doses that are (never a silent rounding).
    """

    mg_per_day: float
    product: str
    strengths_mg: tuple[int, ...]
    possible: bool
    first_dose_mg: tuple[int, ...] = ()  # the capsules of the first (larger) dose of the day
    second_dose_mg: tuple[int, ...] = ()
    problem: str | None = None
    nearest_lower_mg: int | None = None
    nearest_higher_mg: int | None = None

    @property
    def capsules_per_day(self) -> dict[int, int]:
        """Capsule count per strength for one day."""
        counts: dict[int, int] = {}
        for strength in (*self.first_dose_mg, *self.second_dose_mg):
            counts[strength] = counts.get(strength, 0) + 1
        return dict(sorted(counts.items()))

    def fill(self, days: int) -> dict[int, int]:
        """Capsule count per strength for a fill of ``days`` days (IPL-SUPPLY: 1 to 30 days)."""
        if not self.possible:
            raise ValueError(self.problem)
        if not MINIMUM_FILL_DAYS <= days <= MAXIMUM_FILL_DAYS:
            raise ValueError(f"a fill is 1 to 30 days (IPL-SUPPLY), not {days}")
        return {strength: count * days for strength, count in self.capsules_per_day.items()}


def capsule_plan(mg_per_day: float, product: str, strengths: Sequence[int] | None = None) -> CapsulePlan:
    """The capsules for ``mg_per_day`` of a product line (``conventional``, ``absorica`` or ``micronized``),
    or of the given strengths (e.g. Amnesteem's 10/20/40)."""
    if strengths is None:
        if product not in CAPSULE_STRENGTHS_MG:
            raise ValueError(f"unknown product {product!r}: one of {', '.join(CAPSULE_STRENGTHS_MG)}")
        strengths = CAPSULE_STRENGTHS_MG[product]
    available = tuple(sorted({int(s) for s in strengths}))
    if not available or available[0] <= 0:
        raise ValueError("capsule strengths must be whole mg above 0")
    if not 0 < mg_per_day <= _PLANNABLE_MG:
        raise ValueError(f"mg_per_day must be above 0 and at most {_PLANNABLE_MG}, not {mg_per_day}")
    fewest = _fewest_capsules(math.floor(mg_per_day) + 2 * available[-1], available)
    whole = round(mg_per_day)
    listed = ", ".join(str(s) for s in available)
    if abs(mg_per_day - whole) > TOLERANCE or fewest[whole] is None:
        below = range(math.floor(mg_per_day), 0, -1)
        above = range(math.floor(mg_per_day) + 1, len(fewest))
        return CapsulePlan(
            mg_per_day,
            product,
            available,
            possible=False,
            problem=f"{mg_per_day:g} mg/day is not a sum of the available capsule strengths ({listed} mg)",
            nearest_lower_mg=next((m for m in below if fewest[m] is not None), None),
            nearest_higher_mg=next((m for m in above if fewest[m] is not None), None),
        )
    first, second = _even_split(whole, available, fewest)
    return CapsulePlan(
        mg_per_day, product, available, possible=True, first_dose_mg=first, second_dose_mg=second
    )


def _fewest_capsules(up_to: int, strengths: tuple[int, ...]) -> list[int | None]:
    """fewest[m]: the least number of capsules summing to m mg (None: impossible)."""
    fewest: list[int | None] = [0] + [None] * up_to
    for amount in range(1, up_to + 1):
        best = None
        for strength in strengths:
            if strength > amount:
                break
            previous = fewest[amount - strength]
            if previous is not None and (best is None or previous + 1 < best):
                best = previous + 1
        fewest[amount] = best
    return fewest


def _minimal_sets(
    amount: int, strengths: tuple[int, ...], fewest: list[int | None]
) -> Iterator[tuple[int, ...]]:
    """Every multiset (descending) of fewest[amount] capsules summing to amount."""

    def walk(rest: int, ceiling: int) -> Iterator[tuple[int, ...]]:
        if rest == 0:
            yield ()
            return
        need = fewest[rest]
        for strength in reversed(strengths):
            if strength > ceiling or strength > rest:
                continue
            below = fewest[rest - strength]
            if need is not None and below is not None and below == need - 1:
                for tail in walk(rest - strength, strength):
                    yield (strength, *tail)

    return walk(amount, strengths[-1])


def _even_split(
    amount: int, strengths: tuple[int, ...], fewest: list[int | None]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Of all fewest-capsule sets, the split into two doses with the smallest gap (larger dose first)."""
    best: tuple[int, tuple[int, ...], tuple[int, ...]] | None = None
    for capsules in _minimal_sets(amount, strengths, fewest):
        for first, second in _splits(capsules):
            gap = sum(first) - sum(second)
            if best is None or gap < best[0]:
                best = (gap, first, second)
    assert best is not None  # amount is reachable, so a minimal set exists
    return best[1], best[2]


def _splits(capsules: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The ways to split a capsule set into a first dose >= a second dose, by how many capsules of each
    strength go to the first dose (a product over few strengths, not 2^n subsets)."""
    counts: dict[int, int] = {}
    for capsule in capsules:
        counts[capsule] = counts.get(capsule, 0) + 1
    strengths = sorted(counts, reverse=True)
    total = sum(capsules)
    for taken in itertools.product(*(range(counts[s] + 1) for s in strengths)):
        first = tuple(s for s, n in zip(strengths, taken, strict=True) for _ in range(n))
        if 2 * sum(first) < total:
            continue
        second = tuple(s for s, n in zip(strengths, taken, strict=True) for _ in range(counts[s] - n))
        yield first, second
