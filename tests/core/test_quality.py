"""The practice's quality measures (core.quality): a hand-built practice of a dozen courses with known
outcomes, every measure checked exactly for two periods, and properties over random courses (the counts add
up, the quartiles are in order, the days waited are the days to the first fill)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isotrack.core import (
    QUALITY_DEFINITIONS,
    Course,
    CourseFile,
    Dispense,
    DoseSegment,
    Enrollment,
    Measures,
    Patient,
    PatientAttestation,
    Policy,
    PregnancyTest,
    PrescriberConfirmation,
    Weight,
    first_fill,
    measures,
    replay_course,
)
from isotrack.core.quality import Courses, Dosing, FirstFills, Safety, Windows, nearest_rank
from tests.core.builders import START, any_course_files, days, simple_course
from tests.core.test_change import running_courses
from tests.core.test_replay import counseling_course, filled_course, lockout_course

S = START


# --- the practice: each course with the outcome it was built for --------------------------------------------


def cannot_get_pregnant(enrolled: int, start: dt.date = S, **changes: object) -> CourseFile:
    """Cannot get pregnant, 2021 rules: enrolled and counseled ``enrolled`` days before START's fill day
    (START - 3), so the first fill takes ``enrolled - 3`` days, all of them ready and not picked up."""
    shift = start - S
    fields: dict[str, object] = {
        "patient": Patient("cannot_get_pregnant"),
        "rules": "us-ipledge-2021",
        "contraception": (),
        "course": Course(start),
        "events": (
            Enrollment(start - days(enrolled)),
            PrescriberConfirmation(start - days(enrolled)),  # IPL-WIN-30: a 30-day window
            Dispense(start - days(3), 30),
        ),
        "weights": (Weight(S - days(14) + shift, 60.0),),
        "doses": (DoseSegment(start, 60),),  # 1 mg/kg/day at 60 kg
    }
    fields.update(changes)
    return simple_course(**fields)


def quick() -> CourseFile:
    return cannot_get_pregnant(5)  # first fill: 2 days


def completed_150() -> CourseFile:
    return cannot_get_pregnant(12, course=Course(S, S + days(149)))  # 9 days; 150 days x 1 mg/kg


def stopped_at_100() -> CourseFile:
    # 17 days; 100 mg/kg, which is this practice's target for this course (so the target is reached, 120 not).
    return cannot_get_pregnant(20, course=Course(S, S + days(99)), policy=Policy(target_mg_per_kg=100))


def without_weight() -> CourseFile:
    return cannot_get_pregnant(8, course=Course(S, S + days(59)), weights=())  # 5 days; no mg/kg


def positive_test() -> CourseFile:
    # filled_course (39 days), then a positive monthly test on S + 25: stopped.
    return simple_course(
        events=(*filled_course().events, PregnancyTest(S + days(25), "monthly", "lab", "positive"))
    )


def crossing_into_2026() -> CourseFile:
    # Enrolled S - 50 under the 2021 rules (first fill S - 3: 47 days), the 2026 rules in force from S + 30;
    # one month filled under each.
    base = simple_course()
    return simple_course(
        policy=Policy(ipledge_2026_effective=S + days(30)),
        events=(
            Enrollment(S - days(50)),
            *base.events[1:],
            Dispense(S - days(3), 30),
            PregnancyTest(S + days(25), "monthly", "lab", "negative"),
            PrescriberConfirmation(S + days(25)),
            PatientAttestation(S + days(26)),
            Dispense(S + days(27), 30),
            PregnancyTest(S + days(55), "monthly", "lab", "negative"),
            PrescriberConfirmation(S + days(55)),
            PatientAttestation(S + days(55)),
            Dispense(S + days(57), 30),
        ),
    )


def no_enrollment() -> CourseFile:
    return simple_course(events=(Dispense(S, 30),))  # filled, but no enrollment to count from


def started_late() -> CourseFile:
    return cannot_get_pregnant(10, start=S + days(130))  # first fill S + 127: 7 days


def long_ago() -> CourseFile:
    return cannot_get_pregnant(10, start=S - days(300), course=Course(S - days(300), S - days(200)))


PRACTICE = {
    "quick": quick(),
    "slow (19-day confirmation)": filled_course(),
    "lost window, then filled": lockout_course(),
    "never filled": simple_course(),
    "completed at 150 mg/kg": completed_150(),
    "stopped at 100 mg/kg": stopped_at_100(),
    "without weight": without_weight(),
    "positive test": positive_test(),
    "crossing into 2026": crossing_into_2026(),
    "cannot get pregnant": counseling_course(),
    "no enrollment": no_enrollment(),
    "started late": started_late(),
    "long ago": long_ago(),
}


COURSES = list(PRACTICE.values())


def test_every_measure_of_the_practice_over_seven_months() -> None:
    found = measures(COURSES, S - days(60), S + days(150))
    # First fills dated in the period, with their days: quick 2, without weight 5, started late 7,
    # completed 9, stopped at 100 17, slow 39, positive test 39, cannot get pregnant 42, crossing 47
    # (enrolled eight days earlier than the slow one), lost window 61. The course without an enrollment is
    # counted apart; the one long ago was filled before the period.
    assert found.first_fill == FirstFills(
        count=10,
        unmeasured=1,
        median_days=28.0,  # (17 + 39) / 2
        p25_days=7,  # rank ceil(0.25 x 10) = 3
        p75_days=42,  # rank ceil(0.75 x 10) = 8
        min_days=2,
        max_days=61,
        waited=(
            ("lockout", 7),  # the lost window's course (tests/core/test_replay.py)
            ("missed_window", 20),  # 15 there, 5 for the course that cannot get pregnant
            ("confirmation_test", 146),  # 30 + 36 (slow) + 36 (positive test) + 44 (crossing)
            ("other_steps", 11),  # 8 + 1 + 1 + 1
            ("ready_not_filled", 84),  # 1 + 37 + 2 + 2 + 2 + the counseled courses' 2 + 5 + 7 + 9 + 17
        ),
    )
    assert sum(d for _, d in found.first_fill.waited) == 2 + 5 + 7 + 9 + 17 + 39 + 39 + 42 + 47 + 61
    # Windows closing in the period: one filled for each course filled once; three for the crossing course
    # (one under the 2021 rules, two under the 2026 rules); the lost window's course lost two (the patient's
    # questions; then the 2021 lockout) before filling a third; the course never filled lost its only window
    # (not picked up); the course that cannot get pregnant lost one, filled one, and lost its third (S + 59).
    assert found.windows == Windows(
        closed=17,
        filled=12,
        lost=5,
        missing=(
            ("LOCKOUT_19_DAY", 1),
            ("PATIENT_ATTESTATION_MISSING", 2),
            ("PICK_UP", 3),
            ("PRESCRIBER_CONFIRMATION_MISSING", 1),
        ),
    )
    # Dosing ended: 150 days and 100 days of 1 mg/kg/day, and one course with no weight. 100 mg/kg was that
    # course's own target; only the 150 reached 120.
    assert found.dosing == Dosing(
        ended=3, without_weight=1, reached_120=1, reached_target=2, median_mg_per_kg=125.0
    )
    assert found.safety == Safety(courses_with_positive_test=1, positive_tests=1)
    # Started: all but the one long ago. Active on the last day (S + 150): quick, slow, lost window, crossing,
    # cannot get pregnant, no enrollment, started late; the completed course ended the day before.
    assert found.courses == Courses(started=12, stopped=1, active=7)


def test_a_second_period_leaves_out_what_happened_outside_it() -> None:
    found = measures(COURSES, S + days(1), S + days(120))
    # Only the course that cannot get pregnant had its first fill in it (S + 2); started late: S + 127.
    waited = (("missed_window", 5), ("ready_not_filled", 37))
    assert found.first_fill == FirstFills(1, 0, 42.0, 42, 42, 42, 42, waited)
    # Windows closing S + 1 .. S + 120: the four counseled courses' first windows, the crossing course's two
    # monthly ones, the filled and the lost (S + 59) windows of the course that cannot get pregnant.
    assert found.windows == Windows(closed=8, filled=7, lost=1, missing=(("PICK_UP", 1),))
    assert found.dosing == Dosing(
        ended=2, without_weight=1, reached_120=0, reached_target=1, median_mg_per_kg=100.0
    )
    assert found.safety == Safety(1, 1)
    # The completed course is still dosing on S + 120.
    assert found.courses == Courses(started=0, stopped=1, active=7)


def test_a_course_stopped_before_the_period_is_not_stopped_again_in_it() -> None:
    found = measures([positive_test()], S + days(26), S + days(40))  # the positive test was on S + 25
    assert found.courses == Courses(started=0, stopped=0, active=0)
    assert found.safety == Safety(0, 0)
    assert measures([positive_test()], S + days(25), S + days(25)).courses.stopped == 1


def test_the_crossing_course_is_judged_by_each_rule_set_in_turn() -> None:
    spans = replay_course(crossing_into_2026(), S - days(60), S + days(150)).spans
    assert [s.rule_set_id for s in spans if s.last < S + days(30)][-1] == "us-ipledge-2021"
    assert {s.rule_set_id for s in spans if s.first >= S + days(30)} == {"us-ipledge-2026"}


def test_no_courses_give_zero_counts_and_no_medians() -> None:
    found = measures([], S, S)
    assert found == Measures(S, S, FirstFills(), Windows(), Dosing(), Safety(), Courses())
    assert found.first_fill.median_days is None and found.dosing.median_mg_per_kg is None


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        measures([], S, S - days(1))


def test_quartiles_are_nearest_rank() -> None:
    assert nearest_rank([], 25) is None
    assert nearest_rank([7], 25) == nearest_rank([7], 75) == 7
    assert [nearest_rank([40, 10, 30, 20], p) for p in (0, 25, 50, 75, 100)] == [10, 10, 20, 30, 40]
    assert [nearest_rank([1, 2, 3, 4, 5], p) for p in (25, 50, 75)] == [2, 3, 4]  # ranks 2, 3, 4


def test_every_figure_has_a_definition() -> None:
    sections = {f.name: f.type for f in dataclasses.fields(Measures) if f.name not in ("start", "end")}
    found = measures([], S, S)
    names = {
        f"{section}.{f.name}" for section in sections for f in dataclasses.fields(getattr(found, section))
    }
    assert names == set(QUALITY_DEFINITIONS)
    assert all(text.endswith(".") for text in QUALITY_DEFINITIONS.values())


# --- properties ---------------------------------------------------------------------------------------------

courses = st.one_of(running_courses(), any_course_files())
periods = st.tuples(st.integers(-90, 240), st.integers(0, 120))


def period(offsets: tuple[int, int]) -> tuple[dt.date, dt.date]:
    start = S + days(offsets[0])
    return start, start + days(offsets[1])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(courses, max_size=4), periods)
def test_the_figures_are_consistent(course_files: list[CourseFile], offsets: tuple[int, int]) -> None:
    found = measures(course_files, *period(offsets))
    windows = found.windows
    assert windows.filled + windows.lost == windows.closed
    assert sum(n for _, n in windows.missing) >= windows.lost
    first = found.first_fill
    if first.count:
        assert first.min_days is not None and first.p25_days is not None and first.median_days is not None
        assert first.p75_days is not None and first.max_days is not None
        assert first.min_days <= first.p25_days <= first.median_days <= first.p75_days <= first.max_days
    else:
        assert (first.median_days, first.p25_days, first.p75_days, first.min_days, first.max_days) == (
            (None,) * 5
        )
    dosing = found.dosing
    assert dosing.reached_120 + dosing.without_weight <= dosing.ended
    assert dosing.reached_target + dosing.without_weight <= dosing.ended
    assert (dosing.median_mg_per_kg is None) == (dosing.ended == dosing.without_weight)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(courses, max_size=4), periods)
def test_the_days_waited_sum_to_the_days_to_the_first_fills_counted(
    course_files: list[CourseFile], offsets: tuple[int, int]
) -> None:
    start, end = period(offsets)
    found = measures(course_files, start, end)
    counted = [
        f.days
        for f in map(first_fill, course_files)
        if f.filled_on is not None and start <= f.filled_on <= end and f.days is not None and f.days >= 0
    ]
    assert len(counted) == found.first_fill.count
    assert sum(d for _, d in found.first_fill.waited) == sum(counted)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(courses, min_size=1, max_size=3), st.integers(-60, 200), st.integers(0, 60), st.integers(0, 60)
)
def test_a_period_split_in_two_counts_what_the_whole_counts(
    course_files: list[CourseFile], offset: int, first: int, second: int
) -> None:
    """Month by month adds up to the year: windows lost, first fills, positive tests and courses started or
    stopped are counted in the one part of a period their day falls in, whatever day the period starts (a
    window a newer test replaced is never lost in one part and not in the other)."""
    start = START + days(offset)
    middle = start + days(first)
    end = middle + days(1 + second)
    whole = measures(course_files, start, end)
    parts = [measures(course_files, start, middle), measures(course_files, middle + days(1), end)]

    def figures(found: Measures) -> tuple[int, ...]:
        return (
            found.windows.lost,
            found.first_fill.count + found.first_fill.unmeasured,
            found.safety.positive_tests,
            found.courses.started,
            found.courses.stopped,
        )

    assert figures(whole) == tuple(map(sum, zip(*(figures(part) for part in parts), strict=True)))
