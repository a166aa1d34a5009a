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
    DoseChangeReason,
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
    change_reason: str | None,
    reason: str = "",
    brand: str = "",
    strength_mg: int | None = None,
) -> DoseSegment:
    """A new dose segment from `starts_on` on. Only a prescriber changes a dose, and says why:
    `change_reason`, one of ``DoseChangeReason`` (the codes the quality report counts reductions by), and
    `reason`, the prescriber's own note, needed only with ``other`` (it says what the other reason is); the
    audit row keeps both.

    `change_reason` None records the change with no reason, for what never had one: a course file's dose
    change without ``reason`` (an import) and a correction of such a segment. A person's choice is a code:
    "" (none chosen) and an unknown code are refused. The capsule strength, when the prescriber gives one,
    is checked against the product line and the dose."""
    check_course(actor, course, Capability.PRESCRIBE)
    code = check_change_reason(change_reason)
    note = reason.strip()
    if code == DoseChangeReason.OTHER and not note:
        raise InvalidInput("Say what the other reason for the dose change is.", field="reason")
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
        change_reason=code,
        reason=note,
    )
    # The audit list shows the event's reason: the code's words, then the note (what the prescriber gave).
    why = "; ".join(part for part in (segment.get_change_reason_display() if code else "", note) if part)
    return create(actor, segment, patient=course.patient, code=EventCode.DOSE_CHANGE, reason=why)


CHANGE_REASON_WORDS = ", ".join(f"{code} ({label.lower()})" for code, label in DoseChangeReason.choices)


def check_change_reason(change_reason: str | None) -> str:
    """The code to store: one of ``DoseChangeReason``, or "" for None (not recorded, see ``change_dose``)."""
    if change_reason is None:
        return ""
    if not change_reason:
        raise InvalidInput(f"Choose why the dose changes: {CHANGE_REASON_WORDS}.", field="change_reason")
    if change_reason not in DoseChangeReason.values:
        shown = change_reason if change_reason.isprintable() else repr(change_reason)
        raise InvalidInput(
            f"{shown[:40]} is not a reason for a dose change; choose one of {CHANGE_REASON_WORDS}.",
            field="change_reason",
        )
    return change_reason


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
