"""The prescription a visit proposes to send (IPL-SUPPLY), or why none is proposed.

``proposed_prescription(course_file, day, days_supply)`` decides it for the visit form and for the visit
itself, which asks again once the visit's own records (a positive test, a critical lab, a dose change) are
in: a visit never saves a prescription that the engine would not propose.

None is proposed:
- once the course is closed: stopped by a positive pregnancy test (IPL-PT-POSITIVE), after its last day of
  dosing (IPL-COURSE-END), after the last dose (phases ``post_course`` and ``completed``);
- while an alert that calls for holding or stopping the drug is open (ALERT-URGENCY), until a prescriber
  acknowledges it;
- while the course is on hold on the day (DOSE-CUM: the hold says when dosing resumes);
- once the cumulative dose has reached the target (DOSE-TARGET: plan the course end instead);
- when no dose is prescribed.

The dose is that of the segment in effect on the day after the visit (a dose change from tomorrow is what
the fill carries), or the first planned segment while the course has not started; the product is the
segment's (DOSE-LD: micronized for Absorica LD). The days supply is the one asked for (1-30, IPL-SUPPLY),
never more days than the dose that remains needs at that dose, rounded up to a whole day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from isotrack.core.course import MAXIMUM_DAYS_SUPPLY, CourseFile, DoseSegment, Product
from isotrack.core.dose import equivalence_factor
from isotrack.core.evaluate import Evaluation, evaluate
from isotrack.core.quantities import TOLERANCE, format_number
from isotrack.core.weights import ACT_NOW, SETTLED

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Prescription:
    days_supply: int  # IPL-SUPPLY: 1-30
    mg_per_day: float
    product: Product


@dataclass(frozen=True, slots=True)
class PrescriptionProposal:
    prescription: Prescription | None
    reasons: tuple[str, ...] = ()  # why none is proposed: one sentence each, naming its rule id

    @property
    def proposed(self) -> bool:
        return self.prescription is not None

    @property
    def weight(self) -> str:
        """``core.weights``: ACT_NOW when none is proposed (the prescriber must not sign it as is)."""
        return SETTLED if self.proposed else ACT_NOW


def proposed_prescription(
    course_file: CourseFile,
    day: dt.date,
    days_supply: int = MAXIMUM_DAYS_SUPPLY,
    evaluation: Evaluation | None = None,
) -> PrescriptionProposal:
    """The prescription to send after a visit on ``day`` (see the module docstring)."""
    if not 1 <= days_supply <= MAXIMUM_DAYS_SUPPLY:
        raise ValueError(
            f"a prescription is for 1 to {MAXIMUM_DAYS_SUPPLY} days (IPL-SUPPLY), not {days_supply}"
        )
    if evaluation is None:
        evaluation = evaluate(course_file, day)
    reasons = _withheld(course_file, evaluation)
    segment = _segment(course_file, day)
    if segment is None and not reasons:
        reasons.append("No dose is prescribed for this course yet (DOSE-CUM).")
    if reasons or segment is None:
        return PrescriptionProposal(None, tuple(reasons))
    days = min(days_supply, _days_left(course_file, evaluation, segment) or days_supply)
    return PrescriptionProposal(Prescription(days, segment.mg_per_day, segment.product))


def _withheld(course_file: CourseFile, evaluation: Evaluation) -> list[str]:
    phase = evaluation.phase
    if phase == "stopped":
        return [
            "The course was stopped by a positive pregnancy test: nothing is prescribed (IPL-PT-POSITIVE)."
        ]
    end = course_file.course.end
    if phase in ("post_course", "completed") or (end is not None and end <= evaluation.as_of):
        return [f"The course's last day of dosing is {end}: nothing more is prescribed (IPL-COURSE-END)."]
    reasons = [
        f"Open alert, {f.action.label.lower()} ({f.alert.detail}): {f.action.asks_for}. A prescription is "
        f"proposed once a prescriber acknowledges it ({f.alert.rule_id})."
        for f in evaluation.findings
        if f.withholds_prescription and f.alert.code != "PREGNANCY_TEST_POSITIVE"
    ]
    hold = evaluation.hold
    if hold is not None:
        reasons.append(
            f"The course is on hold until {hold.end}: no prescription while it is held (DOSE-CUM)."
        )
    remaining = evaluation.dose.remaining_mg
    if remaining is not None and remaining <= TOLERANCE:
        target = format_number(evaluation.dose.target_mg_per_kg)
        reasons.append(f"The cumulative dose has reached the target of {target} mg/kg (DOSE-TARGET).")
    return reasons


def _segment(course_file: CourseFile, day: dt.date) -> DoseSegment | None:
    """The segment in effect on the day after the visit, else the first planned one."""
    after = max(day + DAY, course_file.course.start)
    doses = sorted(course_file.doses, key=lambda s: s.start)
    current = [s for s in doses if s.start <= after]
    if current:
        return current[-1]
    return doses[0] if doses else None


def _days_left(course_file: CourseFile, evaluation: Evaluation, segment: DoseSegment) -> int | None:
    """The whole days of dosing at the segment's dose that the remaining dose needs (None: unknown)."""
    remaining = evaluation.dose.remaining_mg  # conventional-equivalent mg (DOSE-LD)
    if remaining is None:
        return None
    per_day = segment.mg_per_day * equivalence_factor(
        segment.product, course_file.policy.ld_equivalence_factor
    )
    return max(1, math.ceil(remaining / per_day - TOLERANCE))
