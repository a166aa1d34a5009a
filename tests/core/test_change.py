"""How long a judgment holds (core.change): a line judged on day D and kept until its stamped change date is
the core's judgment on every day in between, and differs on that date (unless the horizon ended the
search)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isotrack.core import (
    HORIZON_DAYS,
    Acknowledgment,
    ContraceptionUse,
    Course,
    CourseFile,
    CourseFileError,
    Dispense,
    DoseSegment,
    Enrollment,
    FollowUp,
    Interruption,
    LabResult,
    MoodScreen,
    Patient,
    PatientAttestation,
    Policy,
    PregnancyTest,
    PrescriberConfirmation,
    Visit,
    Weight,
    answer,
    next_step,
    next_step_until_change,
    parse_course_file,
)
from tests.core.builders import START, any_course_files, days, medications, simple_course

DAY = dt.timedelta(days=1)
SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
COURSE_FILES = (
    sorted((Path(__file__).parent / "courses").glob("*.json"))
    + sorted(SCENARIOS.glob("*.json"))
    + sorted((SCENARIOS / "medications").glob("*.json"))
)


def assert_holds_until_change(course_file: CourseFile, day: dt.date) -> dt.date:
    """The property: the answer on ``day`` holds on every day before ``changes_on`` and differs on it (or the
    horizon ended the search). Returns the change date."""
    found = next_step_until_change(course_file, day)
    assert found.changes_on is not None
    assert day < found.changes_on <= day + HORIZON_DAYS * DAY
    held = answer(found)
    between = day + DAY
    while between < found.changes_on:
        assert answer(next_step(course_file, between)) == held, f"judged {day}, changed on {between}"
        between += DAY
    if found.changes_on < day + HORIZON_DAYS * DAY:
        assert answer(next_step(course_file, found.changes_on)) != held
    return found.changes_on


# --- table: known change dates ------------------------------------------------------------------------------


def test_a_window_that_closes_changes_the_line_the_day_after_its_last_day() -> None:
    # Confirmation test START - 6: the window's last day is START (IPL-WIN-7); START - 3 is first-fill ready.
    course_file = simple_course()
    found = next_step_until_change(course_file, START - days(3))
    assert found.step is not None and found.step.code == "PHARMACY_AUTHORIZATION"
    assert found.changes_on == START + DAY
    assert next_step(course_file, START + DAY).step != found.step


def test_a_rule_set_taking_effect_is_a_change_date() -> None:
    # A course that cannot get pregnant on automatic rules: the 2021 counseling visit is due until the 2026
    # rule set takes effect (the practice's date), when only the pick-up is left (IPL-2026-CNGP).
    effective = START + days(5)
    course_file = simple_course(
        patient=Patient("cannot_get_pregnant"),
        contraception=(),
        policy=Policy(ipledge_2026_effective=effective),
        events=(Enrollment(START - days(42)), LabResult(START - days(14), "triglycerides", 98, "mg/dL")),
    )
    found = next_step_until_change(course_file, START)
    assert found.rule_set_id == "us-ipledge-2021"
    assert found.changes_on == effective
    assert next_step(course_file, effective).rule_set_id == "us-ipledge-2026"


def test_a_line_with_nothing_ahead_is_judged_again_at_the_horizon() -> None:
    # Completed long ago, every end-of-course test done: nothing changes any more without a record.
    course_file = simple_course(course=Course(START, START + days(100)))
    day = START + days(400)
    found = next_step_until_change(course_file, day)
    assert found.changes_on == day + HORIZON_DAYS * DAY


def test_rank_date_is_the_deadline_else_the_earliest_day_while_ahead() -> None:
    course_file = simple_course()
    found = next_step(course_file, START - days(3))
    assert found.step is not None and found.rank_date == found.step.deadline == START


@pytest.mark.parametrize("path", COURSE_FILES, ids=lambda p: p.name)
def test_every_course_file_holds_until_its_change_date(path: Path) -> None:
    try:
        course_file = parse_course_file(json.loads(path.read_text()))
    except (CourseFileError, ValueError):
        return  # the files of invalid input have no judgment to hold (their own tests check the refusal)
    as_of = course_file.as_of or course_file.course.start
    for offset in (-35, -8, -1, 0, 1, 6, 20):
        assert_holds_until_change(course_file, as_of + days(offset))


# --- property: random running courses -----------------------------------------------------------------------

METHODS = st.sampled_from(
    [
        ("iud_copper", "male_condom"),
        ("combined_pill", "male_condom"),
        ("implant", "iud_hormonal"),
        ("abstinence",),
    ]
)
SCORES = st.sampled_from([(1, 0), (2, 0), (12, 0), (15, 1), (6, None)])


@st.composite
def running_courses(draw: st.DrawFn) -> CourseFile:
    """A course as practices run it, month by month, with what goes wrong: steps late or missing, windows
    missed, holds, positive tests, high labs, mood screens that flag, acknowledgments, an early end, either
    category, either rule set or the switch between them."""
    start = START + days(draw(st.integers(-20, 20)))
    category = draw(st.sampled_from(["can_get_pregnant", "cannot_get_pregnant"]))
    months = draw(st.integers(0, 6))
    events: list[object] = [Enrollment(start - days(draw(st.integers(25, 60))))]
    if category == "can_get_pregnant":
        screening = start - days(draw(st.integers(19, 45)))
        events.append(PregnancyTest(screening, "screening", "office", "negative"))
    baseline = start - days(draw(st.integers(3, 25)))
    events += [LabResult(baseline, "triglycerides", draw(st.sampled_from([98, 520, 850])), "mg/dL")]
    if draw(st.booleans()):
        events.append(LabResult(baseline, "alt", draw(st.sampled_from([19, 150])), "U/L"))
    acknowledgments: list[Acknowledgment] = []
    follow_ups: list[FollowUp] = []
    fill = start - DAY
    for month in range(months + 1):
        test_day = fill - days(draw(st.integers(0, 8)))
        if category == "can_get_pregnant" and draw(st.integers(0, 9)) > 0:
            purpose = "confirmation" if month == 0 else "monthly"
            result = "positive" if draw(st.integers(0, 30)) == 0 else "negative"
            events.append(PregnancyTest(test_day, purpose, draw(st.sampled_from(["office", "lab"])), result))
            if result == "positive" and draw(st.booleans()):
                follow_ups.append(FollowUp("stop", test_day + days(draw(st.integers(0, 5)))))
        if draw(st.integers(0, 5)) > 0:
            events.append(PrescriberConfirmation(test_day + days(draw(st.integers(0, 3)))))
        if category == "can_get_pregnant" and draw(st.integers(0, 5)) > 0:
            events.append(PatientAttestation(test_day + days(draw(st.integers(0, 4)))))
        if draw(st.integers(0, 3)) > 0:
            events.append(Visit(test_day))
            score, item9 = draw(SCORES)
            events.append(MoodScreen(test_day, "phq9", score, item9))
            if score >= 10 and draw(st.booleans()):
                acknowledgments.append(Acknowledgment("MOOD_SCREEN_POSITIVE", test_day, test_day + days(2)))
        if month < months and draw(st.integers(0, 6)) > 0:
            events.append(Dispense(fill, draw(st.sampled_from([30, 30, 28, 14]))))
        if month == 2 and draw(st.booleans()):
            value = draw(st.sampled_from([120, 610]))
            events.append(LabResult(fill + days(3), "triglycerides", value, "mg/dL"))
        fill += days(30 + draw(st.integers(-2, 6)))
    hold_from = start + days(draw(st.integers(10, 120)))
    interruptions = (
        (Interruption(hold_from, hold_from + days(draw(st.integers(0, 14)))),) if draw(st.booleans()) else ()
    )
    end = start + days(draw(st.integers(20, 200))) if draw(st.integers(0, 3)) == 0 else None
    contraception = tuple(ContraceptionUse(m, start - days(90)) for m in draw(METHODS))
    taken = draw(medications(start))
    for (
        medication
    ) in taken:  # MED-TETRA: a prescriber acknowledges the alert (or not), dated as the spec says
        if (
            medication.medication_class == "tetracycline"
            and medication.start >= start
            and draw(st.booleans())
        ):
            alert_date = medication.start
            acknowledgments.append(
                Acknowledgment("TETRACYCLINE_IN_USE", alert_date, alert_date + days(draw(st.integers(0, 3))))
            )
    later_kg = draw(st.sampled_from([60.0, 72.0]))
    effective = draw(st.sampled_from([dt.date(2026, 11, 15), start + days(draw(st.integers(-30, 150)))]))
    return CourseFile(
        patient=Patient(category),
        course=Course(start, end),
        rules=draw(st.sampled_from(["auto", "auto", "us-ipledge-2021", "us-ipledge-2026"])),
        policy=Policy(ipledge_2026_effective=effective, labs_peak_days=draw(st.sampled_from([60, 45]))),
        weights=(Weight(start - days(20), 60.0), Weight(start + days(50), later_kg)),
        doses=(
            DoseSegment(start, 40),
            DoseSegment(start + days(draw(st.integers(20, 60))), draw(st.sampled_from([60, 80, 140]))),
        ),
        interruptions=interruptions,
        missed_doses=(start + days(draw(st.integers(3, 40))),),
        contraception=contraception if category == "can_get_pregnant" else (),
        events=tuple(events),  # type: ignore[arg-type]
        medications=taken,
        acknowledgments=tuple(acknowledgments),
        follow_ups=tuple(follow_ups),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(running_courses(), st.integers(-30, 240))
def test_a_running_course_holds_until_its_change_date(course_file: CourseFile, offset: int) -> None:
    assert_holds_until_change(course_file, START + days(offset))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_course_files(), st.integers(-60, 400))
def test_any_course_file_holds_until_its_change_date(course_file: CourseFile, offset: int) -> None:
    assert_holds_until_change(course_file, START + days(offset))


def test_the_change_date_never_moves_a_judgment_itself() -> None:
    course_file = simple_course()
    day = START - days(3)
    assert dataclasses.replace(next_step_until_change(course_file, day), changes_on=None) == next_step(
        course_file, day
    )


def test_a_weight_dated_after_the_day_brings_its_target_date_into_the_search() -> None:
    """Found by the property above: judged on 2025-11-12, the only weight is dated 2025-11-13, so on the day
    no mg/kg and no date the target is reached; from the weight's own date it is 2025-12-09, where the
    TARGET_REACHED alert appears. The change date must not pass over it."""
    d = dt.date
    course_file = CourseFile(
        patient=Patient("can_get_pregnant"),
        course=Course(d(2025, 9, 8), None),
        policy=Policy(target_mg_per_kg=30, ipledge_2026_effective=d(2024, 1, 1)),
        weights=(Weight(d(2025, 11, 13), 38.5),),
        doses=(DoseSegment(d(2025, 9, 8), 10, "micronized"), DoseSegment(d(2025, 12, 10), 8, "conventional")),
        contraception=(ContraceptionUse("implant", d(2024, 1, 1), None),),
        events=(
            Enrollment(d(2024, 1, 1)),
            PregnancyTest(d(2024, 1, 1), "screening", "office", "negative"),
            PrescriberConfirmation(d(2024, 1, 1)),
            PatientAttestation(d(2024, 1, 1)),
            Dispense(d(2024, 1, 1), 1),
            Visit(d(2024, 1, 1)),
            MoodScreen(d(2024, 1, 1), "phq9", 3),
        ),
    )
    day = d(2025, 11, 12)
    found = next_step_until_change(course_file, day)
    assert "TARGET_REACHED" not in [f.alert.code for f in found.findings]
    assert "TARGET_REACHED" in [f.alert.code for f in next_step(course_file, d(2025, 12, 9)).findings]
    assert found.changes_on is not None and found.changes_on <= d(2025, 12, 9)
    assert_holds_until_change(course_file, day)
