"""The therapy calendar: tables of courses and days, and properties over random courses."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isotrack.core import (
    Acknowledgment,
    ContraceptionUse,
    Course,
    CourseFile,
    Dispense,
    DoseSegment,
    Enrollment,
    FollowUp,
    Interruption,
    LabResult,
    PatientAttestation,
    PregnancyTest,
    PrescriberConfirmation,
    Visit,
    parse_course_file,
    therapy_calendar,
)
from isotrack.core.calendar import PATIENT_WORDS
from tests.core.builders import START, any_course_files, days, dose_courses, simple_course

COURSES = Path(__file__).resolve().parent / "courses"
SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"
FIRST_FILL = START - days(3)


def with_events(course_file: CourseFile, *events: object) -> CourseFile:
    return replace(course_file, events=(*course_file.events, *events))  # type: ignore[arg-type]


def treated(fills: int = 1, **changes: object) -> CourseFile:
    """simple_course with `fills` monthly fills 30 days apart (a monthly test and visit before each)."""
    course = simple_course(**changes)
    events: list[object] = [Dispense(FIRST_FILL, 30)]
    for n in range(1, fills):
        fill = FIRST_FILL + days(30 * n)
        events += [
            Visit(fill - days(2)),
            PregnancyTest(fill - days(2), "monthly", "office", "negative"),
            PrescriberConfirmation(fill - days(2)),
            Dispense(fill, 30),
        ]
    return with_events(course, *events)


def event(calendar, key):
    return calendar.by_key()[key]


# --- tables -------------------------------------------------------------------------------------------------

MONTHLY_TEST_TABLE = [
    # (fills so far, day, key, planned date, earliest, latest)
    (
        1,
        FIRST_FILL + days(1),
        "pregnancy-test-2",
        FIRST_FILL + days(30),
        FIRST_FILL + days(24),
        FIRST_FILL + days(30),
    ),
    (
        1,
        FIRST_FILL + days(1),
        "pick-up-2",
        FIRST_FILL + days(30),
        FIRST_FILL + days(24),
        FIRST_FILL + days(30),
    ),
    (1, FIRST_FILL + days(1), "visit-2", FIRST_FILL + days(30), FIRST_FILL + days(24), FIRST_FILL + days(30)),
    (
        2,
        FIRST_FILL + days(31),
        "pregnancy-test-3",
        FIRST_FILL + days(60),
        FIRST_FILL + days(54),
        FIRST_FILL + days(60),
    ),
    (
        1,
        FIRST_FILL + days(1),
        "labs-peak-1",
        FIRST_FILL + days(60),
        FIRST_FILL + days(30),
        FIRST_FILL + days(60),
    ),
    (1, FIRST_FILL + days(1), "labs-baseline-1", FIRST_FILL, START - days(42), FIRST_FILL),
]


@pytest.mark.parametrize(("fills", "day", "key", "planned", "earliest", "latest"), MONTHLY_TEST_TABLE)
def test_it_places_each_step_between_its_earliest_and_latest_day(fills, day, key, planned, earliest, latest):
    found = event(therapy_calendar(treated(fills), day), key)
    assert (found.date, found.earliest, found.latest) == (planned, earliest, latest)


def test_the_monthly_test_window_covers_the_next_fill_from_its_earliest_to_its_latest_day():
    calendar = therapy_calendar(treated(1), FIRST_FILL + days(1))
    test, fill = event(calendar, "pregnancy-test-2"), event(calendar, "pick-up-2")
    for collected in (test.earliest, test.latest):
        assert collected <= fill.date <= collected + days(6)  # IPL-WIN-7
    assert test.earliest - days(1) + days(6) < fill.date  # a day earlier would not cover it


def test_a_done_monthly_test_is_marked_done_and_opens_the_pick_up_window():
    course = with_events(treated(1), PregnancyTest(FIRST_FILL + days(27), "monthly", "office", "negative"))
    calendar = therapy_calendar(course, FIRST_FILL + days(28))
    assert event(calendar, "pregnancy-test-2").done_on == FIRST_FILL + days(27)
    pick_up = event(calendar, "pick-up-2")  # within the test's window (IPL-WIN-7), not the supply's last day
    assert (pick_up.earliest, pick_up.latest, pick_up.date) == (
        FIRST_FILL + days(27),
        FIRST_FILL + days(33),
        FIRST_FILL + days(33),
    )
    assert pick_up.due_code == "NEXT_DISPENSE" and pick_up.due_date == FIRST_FILL + days(30)
    # The prescriber's entry and the patient's answers are missing: the pick-up waits for them.
    assert pick_up.status == "waiting"
    assert "pick-up-window-2" not in calendar.by_key()  # one pick-up, one date: never two


def test_a_missed_step_is_overdue_and_a_step_of_a_past_fill_is_only_past():
    course = treated(2)
    calendar = therapy_calendar(course, FIRST_FILL + days(62))
    assert event(calendar, "pregnancy-test-3").status == "overdue"
    stripped = replace(course, events=tuple(e for e in course.events if not isinstance(e, Visit)))
    calendar = therapy_calendar(stripped, FIRST_FILL + days(40))
    assert event(calendar, "visit-2").status == "past"


def test_fills_after_the_next_are_projected_until_the_projected_end():
    calendar = therapy_calendar(treated(1), FIRST_FILL + days(1))
    end = calendar.end
    assert end is not None and end.projected
    assert end.date == calendar.evaluation.dose.projected_completion_date
    projected = [e for e in calendar.events if e.kind == "pick_up" and e.projected]
    assert projected and all(e.date <= end.date for e in projected)
    assert not event(calendar, "pick-up-2").projected


def test_the_tests_after_the_end_come_from_the_projection_while_the_end_is_not_set():
    calendar = therapy_calendar(treated(1), FIRST_FILL + days(1))
    end = calendar.end.date
    assert event(calendar, "pregnancy-test-end-of-course-1").date == end
    assert event(calendar, "pregnancy-test-end-of-course-1").earliest == end - days(7)
    assert event(calendar, "pregnancy-test-post-course-1").date == end + days(30)
    assert event(calendar, "contraception-until-1").date == end + days(30)
    assert event(calendar, "no-blood-donation-until-1").date == end + days(30)


def test_a_higher_dose_moves_the_end_and_the_events_after_it_under_the_same_keys():
    course = treated(1)
    day = FIRST_FILL + days(20)
    before = therapy_calendar(course, day).by_key()
    higher = replace(course, doses=(*course.doses, DoseSegment(day + days(1), 60, "conventional")))
    after = therapy_calendar(higher, day).by_key()
    for key in (
        "projected-end-1",
        "pregnancy-test-end-of-course-1",
        "pregnancy-test-post-course-1",
        "contraception-until-1",
        "no-blood-donation-until-1",
    ):
        assert after[key].date < before[key].date, key


def test_a_set_course_end_wins_over_the_projection():
    end = START + days(100)
    course = replace(treated(1), course=Course(START, end))
    calendar = therapy_calendar(course, FIRST_FILL + days(5))
    assert calendar.end.date == end and not calendar.end.projected
    assert event(calendar, "pregnancy-test-post-course-1").due_code == "PREGNANCY_TEST_POST_COURSE"


def test_a_patient_who_cannot_get_pregnant_has_no_pregnancy_tests_and_no_contraception_date():
    course = treated(1)
    course = replace(course, patient=replace(course.patient, category="cannot_get_pregnant"))
    kinds = {e.kind for e in therapy_calendar(course, FIRST_FILL + days(1)).events}
    assert "pregnancy_test" not in kinds and "contraception_until" not in kinds
    assert {"visit", "pick_up", "no_blood_donation_until"} <= kinds


def test_a_stopped_course_plans_only_its_follow_up_for_staff():
    positive = FIRST_FILL + days(10)
    course = with_events(treated(1), PregnancyTest(positive, "monthly", "office", "positive"))
    calendar = therapy_calendar(course, FIRST_FILL + days(12))
    assert all(e.date <= FIRST_FILL + days(12) or e.kind.startswith("labs") for e in calendar.events)
    assert not any(e.kind == "projected_end" for e in calendar.events)
    follow_up = [e for e in calendar.events if e.kind.startswith("pregnancy_") and e.for_staff_only]
    assert [(e.kind, e.date, e.status) for e in follow_up] == [
        ("pregnancy_stop", positive, "overdue"),
        ("pregnancy_refer", positive, "overdue"),
        ("pregnancy_report", positive, "overdue"),
    ]
    done = replace(course, follow_ups=(FollowUp("stop", positive), FollowUp("refer", positive + days(1))))
    statuses = {e.kind: (e.status, e.done_on) for e in therapy_calendar(done, FIRST_FILL + days(12)).events}
    assert statuses["pregnancy_stop"] == ("done", positive)
    assert statuses["pregnancy_refer"] == ("done", positive + days(1))
    assert statuses["pregnancy_report"] == ("overdue", None)


def test_a_missed_window_asks_for_a_new_test_instead_of_showing_the_old_one_done():
    course = with_events(treated(1), PregnancyTest(FIRST_FILL + days(20), "monthly", "office", "negative"))
    calendar = therapy_calendar(course, FIRST_FILL + days(28))  # the window closed on + 26
    test = event(calendar, "pregnancy-test-2")
    assert test.status == "overdue" and test.done_on is None and test.date == FIRST_FILL + days(26)
    assert event(calendar, "pick-up-2").status == "waiting"


def test_the_confirmation_test_is_planned_from_the_day_the_lead_in_allows_it():
    day = dt.date(2026, 12, 1)
    cf = simple_course(
        course=Course(day + days(20)),
        contraception=(
            ContraceptionUse("iud_copper", day - days(5)),
            ContraceptionUse("male_condom", day - days(5)),
        ),
        events=(Enrollment(day - days(10)), PregnancyTest(day - days(10), "screening", "office", "negative")),
    )
    calendar = therapy_calendar(cf, day)
    test = event(calendar, "pregnancy-test-1")
    assert test.earliest == day + days(25)  # IPL-CON-LEAD: 30 days of cover from day - 5
    assert test.date == test.latest == day + days(25)  # the planned start (day + 19) cannot be met
    assert event(calendar, "pick-up-1").status == "waiting"


def test_the_baseline_labs_are_overdue_only_when_the_engine_says_so():
    no_labs = replace(simple_course(), events=tuple(e for e in simple_course().events if e.kind != "lab"))
    late = START + days(10)  # the planned start has passed, still no fill
    assert event(therapy_calendar(no_labs, late), "labs-baseline-1").status == "open"
    filled = with_events(no_labs, Dispense(FIRST_FILL, 30))
    calendar = therapy_calendar(filled, late)
    assert event(calendar, "labs-baseline-1").status == "overdue"
    assert "BASELINE_LABS_MISSING" in {a.code for a in calendar.evaluation.alerts}


def test_projected_events_are_never_overdue():
    course = treated(1)
    for offset in range(0, 200, 11):
        calendar = therapy_calendar(course, FIRST_FILL + days(offset))
        assert not [e for e in calendar.events if e.projected and e.status == "overdue"]


def test_an_open_alert_that_holds_the_drug_asks_staff_for_a_review_and_the_pick_up_waits():
    day = FIRST_FILL + days(27)
    course = with_events(
        treated(1),
        PregnancyTest(day - days(1), "monthly", "office", "negative"),
        PrescriberConfirmation(day - days(1)),
        PatientAttestation(day),
        LabResult(day - days(1), "triglycerides", 870, "mg/dL"),
    )
    calendar = therapy_calendar(course, day)
    review = [e for e in calendar.events if e.kind == "alert_review"]
    assert len(review) == 1 and review[0].status == "overdue" and review[0].for_staff_only
    assert review[0].rule_id == "LAB-TG-CRIT" and "870 mg/dL" in review[0].label
    assert event(calendar, "pick-up-2").status == "waiting"
    seen = Acknowledgment("TRIGLYCERIDES_CRITICAL", day - days(1), day, "doctor", "dose lowered")
    calmer = therapy_calendar(replace(course, acknowledgments=(seen,)), day)
    assert not [e for e in calmer.events if e.kind == "alert_review"]
    assert event(calmer, "pick-up-2").status == "open"


def test_a_hold_plans_the_day_dosing_resumes_for_staff():
    day = FIRST_FILL + days(10)
    course = replace(treated(1), interruptions=(Interruption(day - days(2), day + days(5), "nosebleeds"),))
    resumes = event(therapy_calendar(course, day), "dosing-resumes-1")
    assert resumes.date == day + days(6) and resumes.for_staff_only and "nosebleeds" in resumes.label


def test_done_peak_labs_are_marked_done_on_the_day_both_results_exist():
    course = with_events(
        treated(2),
        LabResult(FIRST_FILL + days(45), "triglycerides", 150, "mg/dL"),
        LabResult(FIRST_FILL + days(47), "alt", 20, "U/L"),
    )
    calendar = therapy_calendar(course, FIRST_FILL + days(50))
    assert event(calendar, "labs-peak-1").done_on == FIRST_FILL + days(47)


def test_patient_words_never_name_the_drug_a_result_or_a_method():
    words = " ".join(PATIENT_WORDS.values()).lower()
    for forbidden in ("isotretinoin", "absorica", "pregnan", "negative", "positive", "iud", "pill", "condom"):
        assert forbidden not in words


def course_files_on_disk() -> list[tuple[str, CourseFile]]:
    found = []
    for path in sorted(COURSES.glob("*.json")) + sorted(SCENARIOS.glob("*.json")):
        try:
            found.append((path.name, parse_course_file(json.loads(path.read_text(encoding="utf-8")))))
        except Exception:  # noqa: S112 - files that test parse errors have no calendar
            continue
    return found


@pytest.mark.parametrize(("name", "course_file"), course_files_on_disk())
def test_every_due_item_of_every_course_file_has_its_planned_event(name, course_file):
    first = course_file.as_of or START
    for offset in range(-30, 181, 7):
        day = first + days(offset)
        calendar = therapy_calendar(course_file, day)
        for due in calendar.evaluation.due:
            assert_answers(calendar, due)


def assert_answers(calendar, due) -> None:
    """Every due item has exactly one event of its code with its date; the event is dated the due item's day,
    unless it is done, overdue (its window closed) or dated by the current window (a pick-up and its test:
    within the window, IPL-WIN-7)."""
    matching = [e for e in calendar.events if e.due_code == due.code]
    assert [e.due_date for e in matching] == [due.date], (calendar.day, due, matching)
    found = matching[0]
    window = calendar.evaluation.dispense.window
    assert (
        found.date == due.date
        or found.done_on is not None
        or found.status == "overdue"
        or (window is not None and found.latest == window.closes)
    ), (calendar.day, due, found)


# --- properties ---------------------------------------------------------------------------------------------

any_day = st.dates(min_value=dt.date(2024, 6, 1), max_value=dt.date(2028, 6, 1))


def check_calendar(course_file: CourseFile, day: dt.date) -> None:
    calendar = therapy_calendar(course_file, day)
    keys = [e.key for e in calendar.events]
    assert len(keys) == len(set(keys))
    for planned in calendar.events:
        assert planned.earliest <= planned.latest
    for due in calendar.evaluation.due:
        assert_answers(calendar, due)
    dates = [e.date for e in calendar.events]
    assert dates == sorted(dates)
    for planned in calendar.events:
        assert not (planned.projected and planned.status == "overdue")
        assert (planned.status == "done") == (planned.done_on is not None) or planned.kind == "visit"
        if planned.for_staff_only:
            assert planned.patient_words == ""


@settings(max_examples=150, deadline=None)
@given(any_course_files(), any_day)
def test_every_due_item_has_exactly_one_planned_event_with_its_date(course_file, day):
    check_calendar(course_file, day)


@settings(max_examples=100, deadline=None)
@given(dose_courses(), st.integers(0, 200), st.integers(1, 4))
def test_treated_random_courses_plan_consistently(course_file, offset, fills):
    start = course_file.course.start
    dispenses = tuple(Dispense(start - days(1) + days(30 * n), 30) for n in range(fills))
    course = replace(course_file, events=dispenses)
    check_calendar(course, start + days(offset))


@settings(max_examples=100, deadline=None)
@given(dose_courses(with_end=False), st.integers(0, 120))
def test_keys_are_stable_when_the_day_moves_on_within_a_month(course_file, offset):
    start = course_file.course.start
    course = replace(course_file, events=(Dispense(start - days(1), 30),))
    day = start + days(offset % 25)
    first = therapy_calendar(course, day).by_key()
    later = therapy_calendar(course, day + days(1)).by_key()
    for key in set(first) & set(later):
        assert first[key].kind == later[key].kind and first[key].number == later[key].number
    if "pick-up-2" in first and "pick-up-2" in later:
        assert first["pick-up-2"].date == later["pick-up-2"].date


def test_a_visit_before_the_tests_range_is_not_the_monthly_visit_of_the_next_fill():
    early = with_events(treated(1), Visit(FIRST_FILL + days(5)))  # e.g. a mood screen at an extra visit
    calendar = therapy_calendar(early, FIRST_FILL + days(6))
    visit = event(calendar, "visit-2")
    assert visit.status == "upcoming" and visit.done_on is None and visit.detail == ""
    missed = with_events(treated(1), PregnancyTest(FIRST_FILL + days(20), "monthly", "office", "negative"))
    overdue = event(therapy_calendar(missed, FIRST_FILL + days(28)), "visit-2")
    assert overdue.status == "overdue" and overdue.label == "Monthly visit"
