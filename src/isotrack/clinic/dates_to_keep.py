"""What a patient's handout tells of one course on one day, as the core decides it: the month of treatment the
visit is about (``core.treatment_month``) and the dates to keep.

The dates are the course page's own reads, never computed again here: the evaluation's due items (its "Dates
to keep": the next fill, the monthly test, the peak-dose labs, the tests at the end and 30 days after,
contraception and no blood donation until), the last day of the current cycle's open window (its window
section: the pick-up deadline, IPL-WIN-7, or IPL-WIN-30 under the 2021 rules for a patient who cannot get
pregnant) and, before the first fill, the first day the confirmation test may be collected (the checklist's
step, IPL-PT-CONFIRM). A due date already past stays listed, as on the course page: it is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from isotrack import core
from isotrack.clinic.models import Course
from isotrack.clinic.records import course_facts

PICK_UP_BY = "PICK_UP_BY"  # the open window's last day
NEXT_DISPENSE = "NEXT_DISPENSE"  # the engine's due item of the next fill (core.DUE_LABELS)
CONFIRMATION_TEST_FROM = (
    "CONFIRMATION_TEST_FROM"  # the confirmation test's earliest day, before the first fill
)


@dataclass(frozen=True)
class DateToKeep:
    code: str  # a due code of the evaluation (core.DUE_LABELS), PICK_UP_BY or CONFIRMATION_TEST_FROM
    date: date
    overdue: bool  # past and still listed by the engine: to do as soon as possible


@dataclass(frozen=True)
class DatesToKeep:
    today: date
    phase: str  # the engine's phase on the day
    month: int | None  # the month of treatment the visit is about; None once dosing is over
    can_get_pregnant: bool
    dates: tuple[DateToKeep, ...]  # soonest first
    paused: bool = False  # on hold, or an open alert holds the drug: no next fill nor pick-up date is given


def dates_to_keep(course: Course, today: date) -> DatesToKeep:
    course_file = course_facts(course)
    evaluation = core.evaluate(course_file, today)
    cycle = core.current_cycle(course_file, today, evaluation)
    paused = cycle.hold is not None or any(f.withholds_prescription for f in evaluation.findings)
    # While the drug is held there is no fill to expect: no next fill date, no pick-up deadline.
    found = [
        DateToKeep(d.code, d.date, d.date < today)
        for d in evaluation.due
        if not (paused and d.code == NEXT_DISPENSE)
    ]
    if cycle.window is not None and not cycle.window_closed and not paused:
        found.append(DateToKeep(PICK_UP_BY, cycle.window.closes, False))
    for step in cycle.steps:
        if step.code == "CONFIRMATION_TEST" and step.pending and step.earliest and step.earliest > today:
            found.append(DateToKeep(CONFIRMATION_TEST_FROM, step.earliest, False))
    return DatesToKeep(
        today=today,
        phase=evaluation.phase,
        month=core.treatment_month(course_file, today, evaluation),
        can_get_pregnant=cycle.category == "can_get_pregnant",
        dates=tuple(sorted(found, key=lambda d: d.date)),  # stable: the engine's order within a day
        paused=paused,
    )
