"""The practice's quality measures (core.quality): a hand-built practice of a dozen courses with known
outcomes, every measure checked exactly for two periods; a second hand-built practice for the monitoring,
the holds and reductions, the safety events and the stop reasons; the published figures set beside them; and
properties over random courses (the counts add up, the quartiles are in order, the days waited are the days
to the first fill). tests/core/test_quality_outcome.py checks the kept outcomes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isotrack.core import (
    QUALITY_DEFINITIONS,
    Acknowledgment,
    ClosedAs,
    Course,
    CourseFile,
    Dispense,
    DoseSegment,
    Enrollment,
    FollowUp,
    Interruption,
    LabResult,
    Measures,
    MoodScreen,
    Patient,
    PatientAttestation,
    Policy,
    PregnancyTest,
    PrescriberConfirmation,
    Weight,
    course_outcome,
    first_fill,
    measures,
    measures_of,
    replay_course,
)
from isotrack.core.quality import (
    COMPARISONS,
    Courses,
    Dosing,
    FirstFills,
    Monitoring,
    Safety,
    Windows,
    nearest_rank,
)
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
    # Completed: 150 days and 100 days of 1 mg/kg/day, and one course with no weight. 100 mg/kg was that
    # course's own target; only the 150 reached 120.
    # No course of this practice has a hold or a change of dose.
    assert found.dosing == Dosing(
        completed=3,
        without_weight=1,
        reached_120=1,
        reached_target=2,
        median_mg_per_kg=125.0,
        interruptions=0,
        interruptions_without_reason=0,
        reductions=0,
        reductions_for_side_effects=0,
        reduction_reasons=(),
    )
    # The positive test's follow-up was never recorded; no mood screen, no lab after the baseline.
    assert found.safety == Safety(
        courses_with_positive_test=1,
        positive_tests=1,
        follow_up_complete=0,
        follow_up_open=1,
        self_harm_risk=0,
        self_harm_acknowledged=0,
        critical_labs=(),
        critical_labs_acknowledged=0,
    )
    assert found.monitoring == Monitoring(
        # The eleven first fills of the period (the ten measured and the one without an enrollment): the
        # courses built on simple_course (slow, positive test, crossing) have triglycerides and ALT on S - 14;
        # the others have no lab at all, so the engine raised BASELINE_LABS_MISSING on their fill's day.
        baseline_labs_done=3,
        baseline_labs_missing=8,
        # Peak-dose labs due (first fill + 60 days) in the period: every course filled but the one started
        # late (due S + 187) and the one long ago (due S - 243); none has a lab after its first fill, so none
        # was done. The positive test stopped its course on S + 25, before its due date S + 57: apart. The
        # courses that ended after their due date without them (completed, stopped at 100, without weight)
        # are not done.
        peak_labs_due=9,
        peak_labs_on_time=0,
        peak_labs_late=0,
        peak_labs_not_done=9,
        peak_labs_course_closed=1,
        draws_after_peak=0,
        draws_without_cause=0,
        # The positive test (S + 25); the eight baseline alerts above (the one long ago was raised before
        # the period); the target reached on S + 149 by the quick and the completed courses (150 days of
        # 1 mg/kg/day) and on S + 99 by the one stopped at 100 mg/kg (its own target).
        alerts_raised=(("PREGNANCY_TEST_POSITIVE", 1), ("BASELINE_LABS_MISSING", 8), ("TARGET_REACHED", 3)),
        acknowledged=0,
        median_days_to_acknowledge=None,
        # Still given on S + 150 and never acknowledged, on the courses in treatment that day (the seven
        # active ones and the completed course, ended the day before): the six baseline alerts of quick, lost
        # window, cannot get pregnant, no enrollment, started late and completed, and the targets reached by
        # quick and completed. The courses ended long before (long ago, without weight, stopped at 100) keep
        # alerts the engine never clears, but they are no one's work now. A positive test is handled by its
        # follow-up.
        unacknowledged=8,
    )
    # Started (a first fill in the period): the eleven first fills above; the course never filled did not
    # start, the one long ago started before. Active on the last day (S + 150): quick, slow, lost window,
    # crossing, cannot get pregnant, no enrollment, started late; the completed course ended the day before.
    # The positive test (S + 25) stopped a course filled before it: an early end, not one before dosing.
    assert found.courses == Courses(
        started=11, completed=3, stopped=1, stop_reasons=(("positive_test", 1),), active=7
    )


def test_a_second_period_leaves_out_what_happened_outside_it() -> None:
    found = measures(COURSES, S + days(1), S + days(120))
    # Only the course that cannot get pregnant had its first fill in it (S + 2); started late: S + 127.
    waited = (("missed_window", 5), ("ready_not_filled", 37))
    assert found.first_fill == FirstFills(1, 0, 42.0, 42, 42, 42, 42, waited)
    # Windows closing S + 1 .. S + 120: the four counseled courses' first windows, the crossing course's two
    # monthly ones, the filled and the lost (S + 59) windows of the course that cannot get pregnant.
    assert found.windows == Windows(closed=8, filled=7, lost=1, missing=(("PICK_UP", 1),))
    assert found.dosing == Dosing(
        completed=2, without_weight=1, reached_120=0, reached_target=1, median_mg_per_kg=100.0
    )
    assert found.safety == Safety(1, 1, follow_up_complete=0, follow_up_open=1)
    # The one first fill of the period (S + 2) had no baseline labs; the same peak-dose labs fall due in it
    # (S + 51 to S + 62); raised in it: the positive test, that course's baseline alert and the target of
    # the course stopped at 100 mg/kg (S + 99); open on S + 120: the baseline alerts of the eight courses
    # filled by then (the one started late was filled on S + 127) and that target.
    assert found.monitoring == Monitoring(
        baseline_labs_done=0,
        baseline_labs_missing=1,
        peak_labs_due=9,
        peak_labs_not_done=9,
        peak_labs_course_closed=1,
        alerts_raised=(("PREGNANCY_TEST_POSITIVE", 1), ("BASELINE_LABS_MISSING", 1), ("TARGET_REACHED", 1)),
        unacknowledged=7,  # on S + 120: not the courses ended long ago nor the one without weight (S + 59)
    )
    # The completed course is still dosing on S + 120; the course that cannot get pregnant started (its
    # first fill, S + 2).
    assert found.courses == Courses(
        started=1, completed=2, stopped=1, stop_reasons=(("positive_test", 1),), active=7
    )


def test_a_course_stopped_before_the_period_is_not_stopped_again_in_it() -> None:
    found = measures([positive_test()], S + days(26), S + days(40))  # the positive test was on S + 25
    assert found.courses == Courses()
    assert found.safety == Safety()
    assert measures([positive_test()], S + days(25), S + days(25)).courses.stopped == 1


def test_the_crossing_course_is_judged_by_each_rule_set_in_turn() -> None:
    spans = replay_course(crossing_into_2026(), S - days(60), S + days(150)).spans
    assert [s.rule_set_id for s in spans if s.last < S + days(30)][-1] == "us-ipledge-2021"
    assert {s.rule_set_id for s in spans if s.first >= S + days(30)} == {"us-ipledge-2026"}


def test_no_courses_give_zero_counts_and_no_medians() -> None:
    found = measures([], S, S)
    assert found == Measures(S, S, FirstFills(), Windows(), Monitoring(), Dosing(), Safety(), Courses())
    assert found.first_fill.median_days is None and found.dosing.median_mg_per_kg is None
    assert found.monitoring.median_days_to_acknowledge is None


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


# --- a second practice: labs, alerts, holds and reductions, safety events, stop reasons --------------------
# Each course is counseled (cannot get pregnant, 2021 rules, 60 kg) or can get pregnant (filled_course), and
# filled on S - 3: its peak-dose labs are due on S - 3 + 60 = S + 57 (LAB-PEAK).


def labs(day: dt.date, triglycerides: float, alt: float) -> tuple[LabResult, LabResult]:
    return LabResult(day, "triglycerides", triglycerides, "mg/dL"), LabResult(day, "alt", alt, "U/L")


def counseled(*events: object, **changes: object) -> CourseFile:
    """``cannot_get_pregnant(10)`` (enrolled S - 10, filled S - 3) with more events."""
    return cannot_get_pregnant(10, events=(*cannot_get_pregnant(10).events, *events), **changes)


BASELINE = labs(S - days(10), 98, 19)


def peak_labs_on_time() -> CourseFile:
    # Peak-dose labs on S + 50 (due S + 57), then a monthly draw on S + 80 that no abnormal result called for.
    # The dose lowered on S + 40 (60 to 40 mg/day) for side effects; on S + 100 micronized 32 mg/day, whose
    # conventional equivalent (x 1.25, DOSE-LD) is the same 40: no reduction, whatever its reason; on S + 120
    # micronized 24 mg/day (30 conventional), a reduction with no reason recorded. A hold for dry eyes,
    # S + 20 to S + 26.
    return counseled(
        *BASELINE,
        *labs(S + days(50), 120, 22),
        *labs(S + days(80), 130, 20),
        doses=(
            DoseSegment(S, 60),
            DoseSegment(S + days(40), 40, reason="side_effects"),
            DoseSegment(S + days(100), 32, "micronized", reason="side_effects"),
            DoseSegment(S + days(120), 24, "micronized"),
        ),
        interruptions=(Interruption(S + days(20), S + days(26), "dry eyes"),),
    )


def high_then_critical() -> CourseFile:
    # Peak-dose labs late (S + 70) with triglycerides of 600 (TRIGLYCERIDES_HIGH), acknowledged three days
    # later; the dose lowered on S + 75 for it (an abnormal lab result). The recheck on S + 90: triglycerides
    # 850 and ALT 150 (above 3 x 40): TRIGLYCERIDES_CRITICAL, acknowledged the next day, and
    # LIVER_ENZYMES_HIGH, never acknowledged; a hold S + 91 to S + 103; the recheck on S + 104 is normal and
    # clears both.
    return counseled(
        *BASELINE,
        *labs(S + days(70), 600, 22),
        *labs(S + days(90), 850, 150),
        *labs(S + days(104), 200, 30),
        doses=(DoseSegment(S, 60), DoseSegment(S + days(75), 40, reason="lab_result")),
        interruptions=(Interruption(S + days(91), S + days(103), "triglycerides"),),
        acknowledgments=(
            Acknowledgment("TRIGLYCERIDES_HIGH", S + days(70), S + days(73)),
            Acknowledgment("TRIGLYCERIDES_CRITICAL", S + days(90), S + days(91)),
        ),
    )


def no_labs_acknowledged() -> CourseFile:
    # No lab at all: BASELINE_LABS_MISSING on the fill (S - 3), acknowledged on S + 2; the peak-dose labs
    # never drawn. 40 mg/day, so the target is not reached within the periods.
    return counseled(
        doses=(DoseSegment(S, 40),),
        acknowledgments=(Acknowledgment("BASELINE_LABS_MISSING", S - days(3), S + days(2)),),
    )


def self_harm() -> CourseFile:
    # A PHQ-9 of 12 with item 9 = 1 on S + 27: MOOD_SCREEN_POSITIVE and SELF_HARM_RISK; the self-harm risk
    # acknowledged the same day, the positive screen never, but the PHQ-9 of 3 on S + 57 clears both. The
    # peak-dose labs on their due date, S + 57. The dose raised on S + 30, the planned step: no reduction.
    return counseled(
        *BASELINE,
        MoodScreen(S + days(27), "phq9", 12, 1),
        MoodScreen(S + days(57), "phq9", 3, 0),
        *labs(S + days(57), 110, 21),
        doses=(DoseSegment(S, 40), DoseSegment(S + days(30), 60, reason="planned")),
        acknowledgments=(Acknowledgment("SELF_HARM_RISK", S + days(27), S + days(27)),),
    )


def positive_followed_up() -> CourseFile:
    # positive_test (S + 25) with its three follow-up steps recorded by S + 30.
    return dataclasses.replace(
        positive_test(),
        follow_ups=(
            FollowUp("stop", S + days(25)),
            FollowUp("refer", S + days(26)),
            FollowUp("report", S + days(30)),
        ),
    )


def positive_not_reported() -> CourseFile:
    # A positive monthly test on S + 40: stopped and referred, never reported.
    return simple_course(
        events=(*filled_course().events, PregnancyTest(S + days(40), "monthly", "lab", "positive")),
        follow_ups=(FollowUp("stop", S + days(40)), FollowUp("refer", S + days(41))),
    )


def stopped_for_side_effects() -> CourseFile:
    # No baseline labs (BASELINE_LABS_MISSING, never acknowledged); a hold with no reason, S + 30 to S + 33;
    # the prescriber stopped the course on S + 45 for its side effects (the clinic's record, below), before
    # its peak-dose labs were due.
    return counseled(
        course=Course(S, S + days(45)),
        interruptions=(Interruption(S + days(30), S + days(33)),),
    )


MONITORED = {
    "peak labs on time": peak_labs_on_time(),
    "high then critical triglycerides": high_then_critical(),
    "no labs, acknowledged": no_labs_acknowledged(),
    "self-harm risk": self_harm(),
    "positive test, followed up": positive_followed_up(),
    "positive test, not reported": positive_not_reported(),
    "stopped for side effects": stopped_for_side_effects(),
}
CLOSED: dict[str, tuple[ClosedAs, str]] = {"stopped for side effects": ("stopped", "side_effects")}


def monitored(start: dt.date, end: dt.date) -> Measures:
    """The second practice's measures: each course replayed through the period's end with the clinic's
    record of how it ended (``course_outcome``), then counted."""
    return measures_of(
        [course_outcome(c, end, *CLOSED.get(name, (None, None))) for name, c in MONITORED.items()], start, end
    )


def test_the_monitoring_holds_and_safety_events_of_a_second_practice_over_seven_months() -> None:
    found = monitored(S - days(60), S + days(150))
    assert found.monitoring == Monitoring(
        # Every course was filled on S - 3: without labs the course that has none and the one stopped for
        # side effects; the five others with triglycerides and ALT before it.
        baseline_labs_done=5,
        baseline_labs_missing=2,
        # Due on S + 57: on time the course drawn on S + 50 and the one drawn on the due date itself; late
        # the one drawn on S + 70; not done the one with no labs. Apart: the two positive tests (S + 25,
        # S + 40) and the course stopped on S + 45 closed before the due date.
        peak_labs_due=4,
        peak_labs_on_time=2,
        peak_labs_late=1,
        peak_labs_not_done=1,
        peak_labs_course_closed=3,
        # After the peak-dose draw: S + 80 (nothing abnormal before it: without cause), S + 90 (the high
        # triglycerides of S + 70 still given the day before, though acknowledged: the recheck they asked
        # for) and S + 104 (after the critical result).
        draws_after_peak=3,
        draws_without_cause=1,
        # In the urgency order (ALERT-URGENCY).
        alerts_raised=(
            ("SELF_HARM_RISK", 1),
            ("PREGNANCY_TEST_POSITIVE", 2),
            ("TRIGLYCERIDES_CRITICAL", 1),
            ("LIVER_ENZYMES_HIGH", 1),
            ("MOOD_SCREEN_POSITIVE", 1),
            ("TRIGLYCERIDES_HIGH", 1),
            ("BASELINE_LABS_MISSING", 2),
        ),
        # Acknowledged: the self-harm risk after 0 days, the critical triglycerides after 1, the high ones
        # after 3, the missing baseline labs after 5 (S - 3 to S + 2): median (1 + 3) / 2.
        acknowledged=4,
        median_days_to_acknowledge=2.0,
        # Open on S + 150: none. The course stopped for side effects keeps its baseline alert, but a stopped
        # course is no one's work; the others were acknowledged or cleared by a newer result (the positive
        # screen, the liver enzymes).
        unacknowledged=0,
    )
    assert found.dosing == Dosing(
        # No course completed: two stopped by a positive test, one by the prescriber, four still running.
        interruptions=3,
        interruptions_without_reason=1,
        # 60 to 40 mg/day on S + 40 (side effects) and on S + 75 (the high triglycerides), 40 to 30 on S + 120
        # (no reason recorded); the switch to micronized and the planned increase are none, whatever their
        # reason.
        reductions=3,
        reductions_for_side_effects=2,
        reduction_reasons=(("side_effects", 1), ("lab_result", 1), ("not_recorded", 1)),
    )
    assert found.safety == Safety(
        courses_with_positive_test=2,
        positive_tests=2,
        follow_up_complete=1,  # stopped, referred and reported by S + 30
        follow_up_open=1,  # never reported
        self_harm_risk=1,
        self_harm_acknowledged=1,  # the day it was raised
        critical_labs=(("TRIGLYCERIDES_CRITICAL", 1), ("LIVER_ENZYMES_HIGH", 1)),
        # The critical triglycerides acknowledged the next day; the liver enzymes never (a newer result
        # cleared them).
        critical_labs_acknowledged=1,
    )
    assert found.courses == Courses(
        started=7,
        completed=0,
        stopped=3,
        stop_reasons=(("positive_test", 2), ("side_effects", 1)),
        active=4,
    )


def test_the_second_practice_over_its_first_two_months() -> None:
    found = monitored(S + days(1), S + days(60))
    assert found.monitoring == Monitoring(
        # No first fill in the period, no draw after a peak-dose draw (the next is S + 80). The peak-dose labs
        # of S + 70 were not done by S + 60: not done here (late only in a period that holds both days).
        peak_labs_due=4,
        peak_labs_on_time=2,
        peak_labs_not_done=2,
        peak_labs_course_closed=3,
        alerts_raised=(("SELF_HARM_RISK", 1), ("PREGNANCY_TEST_POSITIVE", 2), ("MOOD_SCREEN_POSITIVE", 1)),
        # The missing baseline (raised S - 3, before the period) acknowledged on S + 2, and the self-harm
        # risk the day it was raised: (5 + 0) / 2.
        acknowledged=2,
        median_days_to_acknowledge=2.5,
        # The baseline alert of the course stopped for side effects on S + 45: on S + 60 it is in its 30 days
        # after the last dose (the post-course test still to do), so still someone's work; the screen cleared.
        unacknowledged=1,
    )
    # The holds of S + 20 and S + 30 (not the one of S + 91); the reduction of S + 40 for side effects (not
    # those of S + 75 and S + 120).
    assert found.dosing == Dosing(
        interruptions=2,
        interruptions_without_reason=1,
        reductions=1,
        reductions_for_side_effects=1,
        reduction_reasons=(("side_effects", 1),),
    )
    # Both positive tests (S + 25, S + 40) and the self-harm screen (S + 27) are in it; the report of the
    # first, on S + 30, too. The critical results came on S + 90.
    assert found.safety == Safety(
        2, 2, follow_up_complete=1, follow_up_open=1, self_harm_risk=1, self_harm_acknowledged=1
    )
    # Nothing started in it (every course started on S); stopped: S + 25, S + 40 and S + 45.
    assert found.courses == Courses(
        stopped=3, stop_reasons=(("positive_test", 2), ("side_effects", 1)), active=4
    )


def test_the_reductions_are_counted_by_their_recorded_reason_in_the_cores_order() -> None:
    # Lowered every ten days for each reason (one twice, one with none), then raised for side effects: an
    # increase is no reduction, whatever its reason.
    steps = [
        (10, 70, "other"),
        (20, 60, None),
        (30, 50, "planned"),
        (40, 45, "weight_change"),
        (50, 40, "lab_result"),
        (60, 35, "side_effects"),
        (70, 30, "side_effects"),
        (80, 60, "side_effects"),
    ]
    course_file = counseled(
        doses=(DoseSegment(S, 80), *(DoseSegment(S + days(d), mg, reason=why) for d, mg, why in steps))
    )
    outcome = course_outcome(course_file, S + days(150))
    assert outcome.reductions == tuple((S + days(d), why) for d, _, why in steps[:-1])
    assert measures_of([outcome], S, S + days(150)).dosing == Dosing(
        reductions=7,
        reductions_for_side_effects=3,  # side effects twice, the abnormal lab result once
        reduction_reasons=(
            ("side_effects", 2),
            ("lab_result", 1),
            ("weight_change", 1),
            ("planned", 1),
            ("other", 1),
            ("not_recorded", 1),
        ),
    )
    # A period holding only some of them counts those.
    assert measures_of([outcome], S + days(15), S + days(35)).dosing == Dosing(
        reductions=2, reduction_reasons=(("planned", 1), ("not_recorded", 1))
    )


def test_a_follow_up_completed_after_the_period_is_open_in_it() -> None:
    # The follow-up of the positive test of S + 25 was complete on S + 30 (its report).
    course = [course_outcome(positive_followed_up(), S + days(150))]
    assert measures_of(course, S + days(25), S + days(29)).safety.follow_up_open == 1
    assert measures_of(course, S + days(25), S + days(30)).safety.follow_up_complete == 1


def test_the_published_figures_beside_the_practices_own() -> None:
    found = monitored(S - days(60), S + days(150))
    shares = {c.key: c.share(found) for c in COMPARISONS}
    assert shares["ended_early"] == 1.0  # 3 stopped, none completed
    assert shares["baseline_labs"] == 5 / 7
    assert shares["peak_labs"] == 2 / 4
    assert shares["labs_without_cause"] == 1 / 3
    assert shares["cumulative_120"] is None  # no course completed: nothing to divide
    assert shares["restarted"] is None and shares["charts_matching_ipledge"] is None  # not measured
    for comparison in COMPARISONS:
        assert comparison.label and comparison.published and comparison.source
        assert comparison.practice.endswith(".")
        assert (comparison.counts is None) == comparison.practice.startswith("Not measured")
    assert len({c.key for c in COMPARISONS}) == len(COMPARISONS)
    sources = {c.source for c in COMPARISONS}
    assert {"J Drugs Dermatol 2016", "J Drugs Dermatol 2015", "EADV 2024 summary"} <= sources
    assert any(s.startswith("Charrow et al.") for s in sources)
    assert any(s.startswith("2022 Delphi consensus") for s in sources)
    # A share of no courses is None, never a division by zero.
    assert all(c.share(measures([], S, S)) is None for c in COMPARISONS)


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
    assert dosing.reached_120 + dosing.without_weight <= dosing.completed
    assert dosing.reached_target + dosing.without_weight <= dosing.completed
    assert (dosing.median_mg_per_kg is None) == (dosing.completed == dosing.without_weight)


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


def test_a_self_harm_screen_acknowledged_after_the_period_is_not_followed_up_in_it() -> None:
    # The self-harm risk alert of S + 27, acknowledged on S + 29.
    course_file = dataclasses.replace(
        MONITORED["self-harm risk"],
        acknowledgments=(Acknowledgment("SELF_HARM_RISK", S + days(27), S + days(29)),),
    )
    outcome = [course_outcome(course_file, S + days(150))]
    before = measures_of(outcome, S + days(20), S + days(28)).safety
    assert (before.self_harm_risk, before.self_harm_acknowledged) == (1, 0)
    after = measures_of(outcome, S + days(20), S + days(29)).safety
    assert (after.self_harm_risk, after.self_harm_acknowledged) == (1, 1)
