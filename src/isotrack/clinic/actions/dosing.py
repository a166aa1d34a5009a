"""The dose of a course: a prescriber's dose changes, holds (interruptions) and missed doses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability
from isotrack.clinic.actions.base import (
    action,
    check_course,
    create,
    plausible,
    today_of,
)
from isotrack.clinic.dose_planning import line_of
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import (
    Course,
    DoseSegment,
    Interruption,
    MissedDose,
    StaffUser,
)
from isotrack.core import plausibility


@action
def change_dose(
    *,
    actor: StaffUser,
    course: Course,
    starts_on: date,
    mg_per_day: Decimal,
    product: str,
    reason: str,
    brand: str = "",
    strength_mg: int | None = None,
) -> DoseSegment:
    """A new dose segment from `starts_on` on. Only a prescriber changes a dose, and says why. The capsule
    strength, when the prescriber gives one, is checked against the product line and the dose."""
    check_course(actor, course, Capability.PRESCRIBE)
    if not reason.strip():
        raise InvalidInput("Say why the dose changes.", field="reason")
    if starts_on < course.start:
        raise InvalidInput("A dose cannot start before the course starts.", field="starts_on")
    if DoseSegment.objects.filter(course=course, starts_on=starts_on).exists():
        raise InvalidInput("A dose already starts on that day.", field="starts_on")
    plausible(plausibility.mg_per_day(float(mg_per_day)), "mg_per_day")
    check_strength(strength_mg, mg_per_day, product, brand)
    plausible(
        plausibility.planned_within_a_year(starts_on, today_of(course.patient), "A new dose"), "starts_on"
    )
    segment = DoseSegment(
        course=course,
        starts_on=starts_on,
        mg_per_day=mg_per_day,
        product=product,
        brand=brand,
        strength_mg=strength_mg,
        reason=reason.strip(),
    )
    return create(actor, segment, patient=course.patient, code=EventCode.DOSE_CHANGE, reason=reason.strip())


def check_strength(strength_mg: int | None, mg_per_day: Decimal, product: str, brand: str) -> None:
    """A capsule strength given with a dose: one of its product line's, the dose a whole number of them."""
    if strength_mg is not None:
        line = line_of(product, brand)
        plausible(plausibility.capsule_strength(strength_mg, float(mg_per_day), line), "strength_mg")


@action
def record_interruption(
    *, actor: StaffUser, course: Course, start: date, end: date, reason: str
) -> Interruption:
    check_course(actor, course, Capability.PRESCRIBE)
    problem = plausibility.days_off(start, end, course.start, today_of(course.patient))
    if problem is not None:
        raise InvalidInput(problem[1], field=problem[0])
    item = Interruption(course=course, start=start, end=end, reason=reason)
    return create(actor, item, patient=course.patient, code=EventCode.INTERRUPTION_RECORD, reason=reason)


@action
def record_missed_dose(*, actor: StaffUser, course: Course, day: date) -> MissedDose:
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    if (problem := plausibility.days_off(day, day, course.start, today_of(course.patient))) is not None:
        raise InvalidInput(problem[1], field="date")
    if MissedDose.objects.filter(course=course, date=day).exists():
        raise InvalidInput("That missed dose is already recorded.", field="date")
    return create(
        actor, MissedDose(course=course, date=day), patient=course.patient, code=EventCode.MISSED_DOSE_RECORD
    )
