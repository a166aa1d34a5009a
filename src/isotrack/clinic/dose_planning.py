"""What-if dose planning for a stored course: the figures a prescriber sees before saving a dose change.

Every number comes from the core (``completion_date_for_dose``, ``dose_needed_for_completion``,
``capsule_plan``, ``dose_report``, ``evaluate``); this module only picks the course's facts, the day, the
product line and the capsule strengths (a dose's stated strength alone, else the stocked ones), and packs the
answers for a page. Nothing is written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from isotrack import core
from isotrack.clinic.models import Course, DoseSegment, Product, StaffUser
from isotrack.clinic.records import course_facts
from isotrack.core import course as core_course
from isotrack.core import plausibility

# The capsule lines of reference.md section 2 (the core's capsule_plan names them), with the stored product
# (DOSE-LD: only Absorica LD is micronized) and the brand kept on the dose segment.
PRODUCT_LINES: dict[str, tuple[str, str, str]] = {
    # line: (label for staff, stored product, brand)
    "conventional": ("Conventional", "conventional", ""),
    "absorica": ("Absorica", "conventional", "Absorica"),
    "micronized": ("Absorica LD", "micronized", "Absorica LD"),
}
PRODUCT_LINE_CHOICES = [(line, label) for line, (label, _, _) in PRODUCT_LINES.items()]
DEFAULT_DAYS_SUPPLY = 30  # IPL-SUPPLY: at most 30 days per dispense


def capsule_strengths(line: str) -> tuple[int, ...]:
    """Every capsule strength of a product line (reference.md section 2, the core's list)."""
    return core.CAPSULE_STRENGTHS_MG[line]


def strengths_of(prescriber: StaffUser | None, line: str) -> tuple[int, ...] | None:
    """The capsule strengths of ``line`` the prescriber's pharmacies stock (their settings), or None: every
    strength of the line (reference.md section 2, the core's)."""
    stocked = (prescriber.stocked_strengths or {}).get(line) if prescriber is not None else None
    return tuple(stocked) if stocked else None


def plan_strengths(
    prescriber: StaffUser | None, line: str, strength_mg: int | None
) -> tuple[int, ...] | None:
    """The capsule strengths a dose's capsule plan uses: the one strength the prescriber stated for the dose
    (what is prescribed, and what FHIR sends as the clinical drug), else the ones the prescriber's pharmacies
    stock, else every strength of the line (None)."""
    if strength_mg:
        return (strength_mg,)
    return strengths_of(prescriber, line)


def segment_capsules(segment: DoseSegment, prescriber: StaffUser | None) -> core.CapsulePlan | None:
    """The core's capsule plan of a stored dose segment, in its stated strength when it has one (None: a dose
    the planner does not take, such as none at all)."""
    line = line_of(segment.product, segment.brand)
    try:
        return core.capsule_plan(
            float(segment.mg_per_day), line, plan_strengths(prescriber, line, segment.strength_mg)
        )
    except ValueError:
        return None


def product_words(product: str, brand: str = "") -> str:
    """A product in the one way staff read it everywhere: Conventional, Absorica or Absorica LD."""
    if product == Product.MICRONIZED:
        return PRODUCT_LINES["micronized"][0]
    return PRODUCT_LINES["absorica" if brand.strip().lower() == "absorica" else "conventional"][0]


def product_line_of(segment: DoseSegment | None) -> str:
    """The capsule line of a stored dose segment."""
    if segment is None:
        return "conventional"
    return line_of(segment.product, segment.brand)


def line_of(product: str, brand: str = "") -> str:
    """The capsule line of a stored product and brand."""
    if product == Product.MICRONIZED:
        return "micronized"
    return "absorica" if brand.strip().lower() == "absorica" else "conventional"


def stored_product(line: str) -> tuple[str, str]:
    """(product, brand) to store for a capsule line."""
    _, product, brand = PRODUCT_LINES[line]
    return product, brand


def current_segment(course: Course, day: date) -> DoseSegment | None:
    """The prescribed dose on the day (else the first one, for a course that has not started)."""
    segments = list(course.dose_segments.all())
    on_or_before = [s for s in segments if s.starts_on <= day]
    if on_or_before:
        return on_or_before[-1]
    return segments[0] if segments else None


def continued_strength(course: Course, day: date, mg_per_day: Decimal | None, line: str) -> int | None:
    """The stored capsule strength of the dose a visit continues (the one prescribed on ``day``), when the
    dose previewed is that one: its mg a day and its product line."""
    segment = current_segment(course, day)
    if segment is None or mg_per_day is None or segment.mg_per_day != mg_per_day:
        return None
    return segment.strength_mg if product_line_of(segment) == line else None


@dataclasses.dataclass(frozen=True)
class Capsules:
    """The capsule plan of a daily dose and the fill it makes (IPL-SUPPLY)."""

    plan: core.CapsulePlan  # .possible False: .problem and the nearest doses say why and what instead
    days_supply: int
    fill: dict[int, int] | None  # strength mg -> capsules for the fill (None when impossible)


@dataclasses.dataclass(frozen=True)
class DosePlan:
    """A proposed dose and what it would do, as of the day before it starts."""

    starts_on: date
    product_line: str
    mg_per_day: float | None  # typed, or the dose the target completion date needs
    needed_for_completion: date | None  # the target completion date that was asked for, if any
    current_mg_per_day: float | None
    current_completion_date: date | None
    projected_completion_date: date | None
    remaining_mg: float | None
    cumulative_mg_per_kg: float | None
    target_mg_per_kg: float
    mg_per_kg_per_day: float | None
    latest_weight_kg: float | None
    capsules: Capsules | None  # None when no dose was given
    alerts: tuple[core.Alert, ...]  # e.g. DOSE_ABOVE_MAXIMUM for the proposed dose
    nearest: tuple[tuple[int, date | None], ...]  # capsule doses near an impossible one, with their dates
    problem: str | None  # why no figure can be shown (plain words)


def plan_dose(
    course: Course,
    *,
    starts_on: date,
    product_line: str,
    mg_per_day: Decimal | None = None,
    completion_date: date | None = None,
    days_supply: int = DEFAULT_DAYS_SUPPLY,
    strength_mg: int | None = None,
) -> DosePlan:
    """The figures for a new dose of ``product_line`` from ``starts_on``: typed (``mg_per_day``), or the dose
    that reaches the target on ``completion_date``. A capsule strength stated for the dose plans its capsules
    in that strength alone (as saving stores it and FHIR sends it)."""
    if product_line not in PRODUCT_LINES:
        product_line = "conventional"
    facts = course_facts(course)
    day = max(starts_on, course.start) - timedelta(days=1)
    report = core.dose_report(facts, day)
    product = cast(core_course.Product, stored_product(product_line)[0])
    blank = DosePlan(
        starts_on=day + timedelta(days=1),
        product_line=product_line,
        mg_per_day=None,
        needed_for_completion=completion_date if mg_per_day is None else None,
        current_mg_per_day=report.current_mg_per_day,
        current_completion_date=report.projected_completion_date,
        projected_completion_date=None,
        remaining_mg=report.remaining_mg,
        cumulative_mg_per_kg=report.cumulative_mg_per_kg,
        target_mg_per_kg=report.target_mg_per_kg,
        mg_per_kg_per_day=None,
        latest_weight_kg=report.latest_weight.kg if report.latest_weight else None,
        capsules=None,
        alerts=(),
        nearest=(),
        problem=None,
    )
    mg: float | None = float(mg_per_day) if mg_per_day is not None else None
    if mg is None and completion_date is not None:
        if completion_date <= day:
            return replace(blank, problem="Choose a completion date after the new dose starts.")
        mg = core.dose_needed_for_completion(facts, day, completion_date)
        if mg is None:
            problem = (
                "No dose can be computed: record a weight for this course first."
                if report.cumulative_mg_per_kg is None
                else "No dose can reach the target on that date: the course has ended or has no dosing day "
                "left before it."
            )
            return replace(blank, problem=problem)
        if mg <= 0:
            return replace(blank, problem="The target is already reached: no further dose is needed.")
    if mg is None:
        return replace(blank, problem="Type a daily dose or a target completion date.")
    # The limits of saving a dose, word for word (core.plausibility): the preview never shows what saving
    # would refuse.
    too_much = plausibility.mg_per_day(mg)
    if too_much is not None:
        if completion_date is not None and mg_per_day is None:
            too_much = f"Finishing on {completion_date} would need {mg:.1f} mg a day. {too_much}"
        return replace(blank, problem=too_much)
    if strength_mg is not None:
        # Saving refuses a strength of another line, or a typed dose that is no whole number of it; a dose
        # computed for a target date is not a choice yet: its capsule plan shows the doses near it instead.
        refused = plausibility.capsule_strength(strength_mg, mg, product_line)
        if refused is not None and (
            mg_per_day is not None or strength_mg not in capsule_strengths(product_line)
        ):
            return replace(blank, problem=refused)
    try:
        strengths = plan_strengths(course.prescriber, product_line, strength_mg)
        plan = core.capsule_plan(mg, product_line, strengths)
        capsules = Capsules(plan, days_supply, plan.fill(days_supply) if plan.possible else None)
    except ValueError as error:  # a dose or a supply outside what the planner takes
        return replace(blank, mg_per_day=mg, problem=str(error))
    if report.cumulative_mg_per_kg is None:
        problem = "Record a weight to see the completion date: the projection divides by it."
        return replace(blank, mg_per_day=mg, capsules=capsules, problem=problem)
    planned = core.with_dose_from(facts, day + timedelta(days=1), mg, product)
    planned_report = core.dose_report(planned, day + timedelta(days=1))
    nearest = tuple(
        (near, core.completion_date_for_dose(facts, day, near, product))
        for near in (plan.nearest_lower_mg, plan.nearest_higher_mg)
        if near is not None
    )
    evaluation = core.evaluate(planned, day + timedelta(days=1))
    return replace(
        blank,
        mg_per_day=mg,
        projected_completion_date=core.completion_date_for_dose(facts, day, mg, product),
        mg_per_kg_per_day=planned_report.current_mg_per_kg_per_day,
        capsules=capsules,
        alerts=tuple(a for a in evaluation.alerts if a.code == "DOSE_ABOVE_MAXIMUM"),
        nearest=nearest,
    )


@dataclasses.dataclass(frozen=True)
class DaysOffPlan:
    """What a hold or a missed dose would do to the course, before it is saved."""

    start: date | None
    end: date | None
    days: int  # days without dosing it adds
    current_completion_date: date | None
    projected_completion_date: date | None
    cumulative_mg: float | None  # through today, with the days off
    current_cumulative_mg: float | None
    problem: str | None  # why it would be refused, in the words saving uses (core.plausibility)


def plan_days_off(course: Course, *, start: date | None, end: date | None, today: date) -> DaysOffPlan:
    """The course's figures on ``today`` with no dosing from ``start`` to ``end`` (a missed dose: one day),
    next to the figures without: the projected completion moves by the dosing days lost."""
    facts = course_facts(course)
    now = core.dose_report(facts, today)
    blank = DaysOffPlan(
        start,
        end,
        0,
        now.projected_completion_date,
        None,
        None,
        now.cumulative_mg,
        None,
    )
    if start is None or end is None:
        return replace(blank, problem="Type the first and last day without dosing.")
    refused = plausibility.days_off(start, end, course.start, today)
    if refused is not None:
        return replace(blank, problem=refused[1])
    then = core.dose_report(core.with_days_off(facts, start, end), today)
    return replace(
        blank,
        days=(end - start).days + 1,
        projected_completion_date=then.projected_completion_date,
        cumulative_mg=then.cumulative_mg,
    )
