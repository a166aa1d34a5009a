"""iPLEDGE entries in the order iPLEDGE counts them (core.entry_out_of_order): enrollment before anything
(IPL-ENROLL), a negative pregnancy test of the cycle before the prescriber's confirmation
(IPL-PRESCRIBER-CONFIRM), the confirmation before the patient's comprehension questions (IPL-PATIENT-QUIZ).
An entry out of order is refused naming the step that comes first; in order, it is accepted."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isotrack.core import (
    Dispense,
    Enrollment,
    PatientAttestation,
    PregnancyTest,
    PrescriberConfirmation,
    entry_out_of_order,
)
from tests.core.builders import START, days, simple_course


def without(*kinds: str, **changes: object):
    base = simple_course(**changes)
    return simple_course(events=tuple(e for e in base.events if e.kind not in kinds), **changes)


FIRST_FILL_DAY = START - days(3)


def untested():
    """Enrolled, no pregnancy test at all."""
    return simple_course(events=tuple(e for e in simple_course().events if e.kind == "enrollment"))


def filled(*, tested: bool = False):
    """The first fill on START - 3; a month later, a new monthly test or not."""
    events = (*simple_course().events, Dispense(START - days(3), 30))
    if tested:
        events += (PregnancyTest(START + days(26), "monthly", "office", "negative"),)
    return simple_course(events=events, as_of=None)


def no_confirmation_test():
    """Screened, no confirmation test yet, nothing entered in iPLEDGE but the enrollment."""
    kept = tuple(
        e
        for e in simple_course().events
        if not (e.kind == "pregnancy_test" and e.purpose == "confirmation")
        and e.kind not in ("prescriber_confirmation", "patient_attestation")
    )
    return simple_course(events=kept)


CASES = [
    # (what the course has, the entry, its day, the step named first or None)
    (
        "nothing in iPLEDGE yet",
        without("enrollment"),
        "prescriber_confirmation",
        FIRST_FILL_DAY,
        "Enrollment",
    ),
    ("nothing in iPLEDGE yet", without("enrollment"), "patient_attestation", FIRST_FILL_DAY, "Enrollment"),
    ("nothing in iPLEDGE yet", without("enrollment"), "enrollment", FIRST_FILL_DAY, None),
    ("no test at all", untested(), "prescriber_confirmation", FIRST_FILL_DAY, "“Screening pregnancy test"),
    (
        "a fill since the last test",
        filled(),
        "prescriber_confirmation",
        START + days(27),
        "“Monthly pregnancy test",
    ),
    ("a test since the fill", filled(tested=True), "prescriber_confirmation", START + days(27), None),
    (
        "no confirmation test",
        no_confirmation_test(),
        "patient_attestation",
        FIRST_FILL_DAY,
        "“Prescriber",
    ),
    (
        "the test, no confirmation",
        without("prescriber_confirmation", "patient_attestation"),
        "patient_attestation",
        FIRST_FILL_DAY,
        "“Prescriber confirms",
    ),
    (
        "the test, no confirmation",
        without("prescriber_confirmation", "patient_attestation"),
        "prescriber_confirmation",
        FIRST_FILL_DAY,
        None,
    ),
    (
        "the test and the confirmation",
        without("patient_attestation"),
        "patient_attestation",
        FIRST_FILL_DAY,
        None,
    ),
]


@pytest.mark.parametrize(
    ("situation", "course_file", "kind", "day", "first"), CASES, ids=[c[0] + ": " + c[2] for c in CASES]
)
def test_an_entry_out_of_order_names_the_step_that_comes_first(situation, course_file, kind, day, first):
    problem = entry_out_of_order(course_file, kind, day)
    if first is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(first) and "comes first" in problem, problem


def test_a_patient_who_cannot_get_pregnant_needs_no_test_before_the_confirmation():
    course_file = simple_course(
        patient=simple_course().patient.__class__("cannot_get_pregnant", dt.date(2007, 2, 11)),
        events=(Enrollment(START - days(42)),),
    )
    assert entry_out_of_order(course_file, "prescriber_confirmation", FIRST_FILL_DAY) is None


@given(st.integers(min_value=0, max_value=40))
def test_enrollment_is_never_out_of_order_and_nothing_comes_before_it(offset: int):
    day = START - days(42) + days(offset)
    empty = simple_course(events=())
    assert entry_out_of_order(empty, "enrollment", day) is None
    for kind in ("prescriber_confirmation", "patient_attestation"):
        assert entry_out_of_order(empty, kind, day).startswith("Enrollment in iPLEDGE comes first")


def test_the_builders_course_is_in_order():
    course_file = simple_course()
    kinds = [type(e) for e in course_file.events]
    assert PrescriberConfirmation in kinds and PatientAttestation in kinds and PregnancyTest in kinds
