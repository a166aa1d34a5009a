"""The current iPLEDGE cycle: a table of course files with the checklist and next step staff must see, and
properties that tie the checklist to the evaluation for random histories."""

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
    CourseFile,
    Dispense,
    Enrollment,
    FollowUp,
    Interruption,
    LabResult,
    MoodScreen,
    PatientAttestation,
    PregnancyTest,
    PrescriberConfirmation,
    countdown,
    current_cycle,
    days_left,
    evaluate,
    methods_in_use,
    next_step,
    parse_course_file,
    plain_words,
    standing,
)
from isotrack.core.cycle import ACTORS, STEP_STATUSES, Step
from isotrack.core.history import history_until
from tests.core.builders import START, days, simple_course

COURSES = Path(__file__).resolve().parent / "courses"


def course_file(name: str) -> CourseFile:
    return parse_course_file(json.loads((COURSES / f"{name}.json").read_text()))


def statuses(name: str) -> tuple[dict[str, str], str, str]:
    cf = course_file(name)
    assert cf.as_of is not None
    cycle = current_cycle(cf, cf.as_of)
    assert cycle.next_step is not None
    return {s.code: s.status for s in cycle.steps}, cycle.next_step.code, cycle.countdown


# name: (expected statuses of some steps, next step, countdown)
TABLE = {
    "001-first-fill-allowed": (
        {"ENROLLMENT": "done", "SCREENING_TEST": "done", "CONFIRMATION_TEST": "done", "PICK_UP": "to_do"},
        "PHARMACY_AUTHORIZATION",
        "window closes in 3 days",
    ),
    "002-not-enrolled": (
        {"ENROLLMENT": "to_do", "PICK_UP": "blocked"},
        "ENROLLMENT",
        "enrollment: no deadline",
    ),
    "004-no-screening-test": (
        {"SCREENING_TEST": "to_do", "CONFIRMATION_TEST": "to_do"},
        "SCREENING_TEST",
        "screening test: no deadline",
    ),
    "007-screening-at-home": (
        {"SCREENING_TEST": "to_do", "CONFIRMATION_TEST": "done"},
        "SCREENING_TEST",
        None,
    ),
    "008-confirmation-in-office-2021": ({"SCREENING_TEST": "done", "CONFIRMATION_TEST": "to_do"}, None, None),
    "011-no-confirmation-test": (
        {"CONFIRMATION_TEST": "to_do", "PRESCRIBER_ENTRY": "blocked", "PATIENT_QUESTIONS": "blocked"},
        "CONFIRMATION_TEST",
        None,
    ),
    "012-prescriber-confirmation-missing": (
        {"PRESCRIBER_ENTRY": "to_do", "PATIENT_QUESTIONS": "blocked", "PICK_UP": "blocked"},
        "PRESCRIBER_ENTRY",
        "window closes in 3 days",
    ),
    "014-attestation-before-confirmation": ({"PATIENT_QUESTIONS": "to_do"}, "PATIENT_QUESTIONS", None),
    "016-contraception-lead-in-short": (
        {"CONTRACEPTION_LEAD_IN": "to_do", "CONFIRMATION_TEST": "to_do"},
        "CONTRACEPTION_LEAD_IN",
        "contraception lead-in complete on 2025-09-09 (in 4 days)",
    ),
    "019-contraception-stopped-before-the-day": ({"CONTRACEPTION_LEAD_IN": "to_do"}, None, None),
    "023-lockout-2021": ({"CONFIRMATION_TEST": "to_do"}, "CONFIRMATION_TEST", None),
    "027-first-window-day-8": (
        {"CONFIRMATION_TEST": "overdue", "PRESCRIBER_ENTRY": "blocked"},
        "CONFIRMATION_TEST",
        "window closed 1 day ago: new confirmation test needed",
    ),
    "030-monthly-ready": ({"CONTRACEPTION": "done", "MONTHLY_TEST": "done", "PICK_UP": "to_do"}, None, None),
    "031-monthly-test-missing": ({"MONTHLY_TEST": "to_do"}, "MONTHLY_TEST", "test due tomorrow"),
    "034-monthly-home-test-unverified": ({"MONTHLY_TEST": "to_do", "PRESCRIBER_ENTRY": "done"}, None, None),
    "038-positive-monthly-test": (
        {"PREGNANCY_STOP": "overdue", "PREGNANCY_REFER": "overdue", "PREGNANCY_REPORT": "overdue"},
        "PREGNANCY_STOP",
        "stop overdue 2 days",
    ),
    "040-cngp-2021-first-fill": ({"COUNSELING_VISIT": "done", "PICK_UP": "to_do"}, "PICK_UP", None),
    "042-cngp-2021-counseling-missing": (
        {"COUNSELING_VISIT": "overdue", "PICK_UP": "blocked"},
        "COUNSELING_VISIT",
        "counseling visit overdue 2 days",
    ),
    "043-cngp-2021-window-day-30": ({"PICK_UP": "to_do"}, "PICK_UP", "pick-up today is the last day"),
    "044-cngp-2021-window-day-31": (
        {"COUNSELING_VISIT": "overdue"},
        "COUNSELING_VISIT",
        "window closed 1 day ago: new counseling visit needed",
    ),
    "045-cngp-2026-no-window": (
        {"COUNSELING_VISIT": "not_needed", "PICK_UP": "overdue"},
        "PICK_UP",
        "pick-up overdue 2 days",
    ),
    "066-dose-ended-course": ({}, "PREGNANCY_TEST_END_OF_COURSE", "end-of-course test overdue 10 days"),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_course_file_gives_the_checklist_and_next_step_staff_must_see(name):
    expected = TABLE[name]
    cf = course_file(name)
    assert cf.as_of is not None
    cycle = current_cycle(cf, cf.as_of)
    if expected is None:
        assert cycle.steps == () and cycle.next_step is None and cycle.countdown == "nothing to do"
        return
    want_statuses, want_next, want_countdown = expected
    got = {s.code: s.status for s in cycle.steps}
    assert {code: got.get(code) for code in want_statuses} == want_statuses
    assert cycle.next_step is not None
    if want_next:
        assert cycle.next_step.code == want_next
    if want_countdown:
        assert cycle.countdown == want_countdown


def test_the_steps_of_a_first_fill_come_in_the_order_ipledge_enforces():
    cycle = current_cycle(simple_course(), START - days(3))
    assert [s.code for s in cycle.steps] == [
        "ENROLLMENT",
        "SCREENING_TEST",
        "CONTRACEPTION_LEAD_IN",
        "CONFIRMATION_TEST",
        "PRESCRIBER_ENTRY",
        "PATIENT_QUESTIONS",
        "PHARMACY_AUTHORIZATION",
        "PICK_UP",
    ]
    assert [s.actor for s in cycle.steps] == [
        "prescriber",
        "staff",
        "patient",
        "staff",
        "prescriber",
        "patient",
        "pharmacy",
        "patient",
    ]
    assert cycle.steps[1].done_on == START - days(41) and cycle.steps[3].done_on == START - days(6)
    assert cycle.window is not None and cycle.steps[-1].deadline == cycle.window.closes == START


def test_a_monthly_cycle_is_contraception_test_entry_questions_authorization_pick_up():
    cf = simple_course(events=(*simple_course().events, Dispense(START - days(3), 30)))
    cycle = current_cycle(cf, START + days(20))
    assert [s.code for s in cycle.steps] == [
        "CONTRACEPTION",
        "MONTHLY_TEST",
        "PRESCRIBER_ENTRY",
        "PATIENT_QUESTIONS",
        "PHARMACY_AUTHORIZATION",
        "PICK_UP",
    ]
    test = cycle.steps[1]
    assert test.status == "to_do" and test.deadline == START + days(27)  # the supply runs out (IPL-SUPPLY)
    assert cycle.next_step == test and cycle.countdown == "test due in 7 days"


def test_the_earliest_confirmation_day_is_the_later_of_screening_plus_19_and_lead_in_plus_30():
    day = dt.date(2026, 3, 10)
    cf = simple_course(
        contraception=(ContraceptionUse("iud_copper", day - days(5)), ContraceptionUse("male_condom", day)),
        events=(Enrollment(day - days(2)), PregnancyTest(day - days(2), "screening", "office", "negative")),
    )
    cycle = current_cycle(cf, day)
    by_code = {s.code: s for s in cycle.steps}
    assert by_code["CONTRACEPTION_LEAD_IN"].earliest == day + days(30)  # IPL-CON-LEAD from the second method
    assert by_code["CONFIRMATION_TEST"].earliest == day + days(30)
    assert cycle.countdown == f"contraception lead-in complete on {day + days(30)} (in 30 days)"

    early_cover = simple_course(
        contraception=(
            ContraceptionUse("iud_copper", day - days(40)),
            ContraceptionUse("male_condom", day - days(40)),
        ),
        events=cf.events,
    )
    confirmation = {s.code: s for s in current_cycle(early_cover, day).steps}["CONFIRMATION_TEST"]
    assert confirmation.earliest == day - days(2) + days(19)  # IPL-PT-CONFIRM


def test_a_missed_first_window_under_2021_gives_the_lockout_day_for_the_new_test():
    cf = simple_course(rules="us-ipledge-2021")
    day = START + days(5)  # the confirmation test of START - 6 had its last day on START
    step = {s.code: s for s in current_cycle(cf, day).steps}["CONFIRMATION_TEST"]
    assert step.status == "overdue" and step.earliest == START - days(6) + days(19)  # IPL-LOCK-19
    pinned_2026 = {s.code: s for s in current_cycle(simple_course(rules="us-ipledge-2026"), day).steps}
    assert pinned_2026["CONFIRMATION_TEST"].earliest == START - days(41) + days(19)


def test_the_methods_to_enter_are_the_counted_methods_in_use_on_the_day_primary_first():
    day = dt.date(2026, 3, 10)
    cf = simple_course(
        contraception=(
            ContraceptionUse("male_condom", day - days(60)),
            ContraceptionUse("progestin_only_pill", day - days(60)),
            ContraceptionUse("combined_pill", day - days(60), day - days(1)),
            ContraceptionUse("implant", day),
        )
    )
    assert methods_in_use(cf, day) == ("implant", "male_condom")
    assert methods_in_use(cf, day - days(1)) == ("combined_pill", "male_condom")
    cycle = current_cycle(cf, day)
    assert cycle.methods == ("implant", "male_condom") and cycle.methods_complete


def test_a_patient_who_cannot_get_pregnant_has_no_methods_to_enter():
    cycle = current_cycle(
        course_file("040-cngp-2021-first-fill"), course_file("040-cngp-2021-first-fill").as_of
    )
    assert cycle.methods == () and not cycle.methods_complete


def test_a_monitoring_step_due_earlier_than_the_cycle_step_is_the_next_step():
    cf = simple_course(events=(*simple_course().events, Dispense(START - days(3), 30)))
    day = START + days(70)  # supply gone 43 days ago; peak labs due START - 3 + 60
    cycle = current_cycle(cf, day)
    assert cycle.next_step is not None and cycle.next_step.code == "MONTHLY_TEST"
    assert cycle.countdown == "test overdue 43 days"
    assert [s.code for s in cycle.monitoring] == ["LABS_PEAK_DOSE"]
    ended = simple_course(
        course=type(cf.course)(START, START + days(10)), events=(*cf.events, Dispense(START - days(3), 30))
    )
    after = current_cycle(ended, START + days(45))
    assert after.steps == () and after.next_step is not None
    assert after.next_step.code == "PREGNANCY_TEST_END_OF_COURSE" and after.next_step.status == "overdue"


@pytest.mark.parametrize(
    ("deadline", "window_bound", "expected"),
    [
        (2, True, "window closes in 2 days"),
        (1, True, "window closes tomorrow"),
        (0, True, "pick-up today is the last day"),
        (-3, True, "window closed 3 days ago"),
        (5, False, "pick-up due in 5 days"),
        (0, False, "pick-up due today"),
        (-1, False, "pick-up overdue 1 day"),
        (-3, False, "pick-up overdue 3 days"),
    ],
)
def test_a_countdown_says_the_deadline_in_plain_words(deadline, window_bound, expected):
    day = dt.date(2026, 5, 1)
    step = Step(
        "PICK_UP", "Patient picks up", "to_do", "patient", "IPL-WIN-7", "pick-up", window_bound,
        deadline=day + days(deadline),
    )  # fmt: skip
    assert countdown(step, day) == expected


def test_plain_words_drop_the_rule_id_for_the_screen():
    assert plain_words("No test yet (IPL-PT-MONTH).", "IPL-PT-MONTH") == "No test yet."
    assert plain_words("No test yet.", "IPL-PT-MONTH") == "No test yet."


# --- properties ---------------------------------------------------------------------------------------------

ORDER_BEFORE_PHARMACY = ("PHARMACY_AUTHORIZATION", "PICK_UP")


@st.composite
def cycles(draw: st.DrawFn) -> tuple[CourseFile, dt.date]:
    """The simple course with random steps removed, moved or added, on a random day, in either category and
    rule set."""
    base = simple_course()
    kept = [e for e in base.events if draw(st.booleans()) or isinstance(e, Dispense)]
    shifted = [replace(e, date=e.date + days(draw(st.integers(-25, 10)))) for e in kept]
    extra = []
    for _ in range(draw(st.integers(0, 3))):
        fill = START + days(draw(st.integers(-5, 90)))
        extra.append(Dispense(fill, draw(st.sampled_from([7, 30]))))
        when = fill + days(draw(st.integers(1, 35)))
        extra.append(
            PregnancyTest(when, "monthly", draw(st.sampled_from(["office", "lab", "home"])), "negative")
        )
        if draw(st.booleans()):
            extra.append(PrescriberConfirmation(when + days(draw(st.integers(0, 8)))))
        if draw(st.booleans()):
            extra.append(PatientAttestation(when + days(draw(st.integers(0, 8)))))
    follow_ups = []
    if draw(st.integers(0, 9)) == 0:
        positive = START + days(draw(st.integers(0, 90)))
        extra.append(PregnancyTest(positive, "monthly", "office", "positive"))
        for kind in draw(st.lists(st.sampled_from(["stop", "refer", "report"]), max_size=3)):
            follow_ups.append(FollowUp(kind, positive + days(draw(st.integers(0, 10)))))
    acknowledgments = []
    for _ in range(draw(st.integers(0, 2))):  # alerts that hold the drug, some acknowledged
        when = START + days(draw(st.integers(0, 90)))
        code, found = draw(
            st.sampled_from(
                [
                    ("TRIGLYCERIDES_CRITICAL", LabResult(when, "triglycerides", 900, "mg/dL")),
                    ("LIVER_ENZYMES_HIGH", LabResult(when, "alt", 200, "U/L")),
                    ("SELF_HARM_RISK", MoodScreen(when, "phq9", 12, 1)),
                    ("TRIGLYCERIDES_HIGH", LabResult(when, "triglycerides", 600, "mg/dL")),
                ]
            )
        )
        extra.append(found)
        if draw(st.booleans()):
            acknowledgments.append(
                Acknowledgment(code, when, when + days(draw(st.integers(0, 5))), "dr", "seen")
            )
    holds = []
    if draw(st.booleans()):
        first = START + days(draw(st.integers(0, 90)))
        holds.append(Interruption(first, first + days(draw(st.integers(0, 20))), "held"))
    end = START + days(draw(st.integers(0, 120))) if draw(st.booleans()) else None
    cf = simple_course(
        interruptions=tuple(holds),
        acknowledgments=tuple(acknowledgments),
        follow_ups=tuple(follow_ups),
        rules=draw(st.sampled_from(["auto", "us-ipledge-2021", "us-ipledge-2026"])),
        patient=type(base.patient)(draw(st.sampled_from(["can_get_pregnant", "cannot_get_pregnant"]))),
        course=type(base.course)(START, end),
        events=tuple(shifted + extra),
        contraception=base.contraception if draw(st.booleans()) else base.contraception[:1],
    )
    return cf, START + days(draw(st.integers(-20, 160)))


@settings(max_examples=300, deadline=None)
@given(cycles())
def test_the_checklist_agrees_with_the_evaluation(case):
    cf, day = case
    evaluation = evaluate(cf, day)
    cycle = current_cycle(cf, day, evaluation)
    assert cycle == current_cycle(cf, day)  # the evaluation passed in is the one it would compute
    assert cycle.rule_set_id == evaluation.rule_set.id and cycle.phase == evaluation.phase
    for step in (*cycle.steps, *cycle.monitoring):
        assert step.status in STEP_STATUSES and step.actor in ACTORS and step.label
        assert step.done_on is None or step.status == "done"
        assert not (step.status == "done" and step.reasons)
    closed = any(b.code == "COURSE_CLOSED" for b in evaluation.dispense.blocking)
    if evaluation.phase == "stopped":  # IPL-PT-POSITIVE: the follow-up steps instead of a cycle
        assert [s.code for s in cycle.steps] == ["PREGNANCY_STOP", "PREGNANCY_REFER", "PREGNANCY_REPORT"]
        assert all(s.actor == "prescriber" for s in cycle.steps)
        positive = next(f for f in evaluation.findings if f.alert.code == "PREGNANCY_TEST_POSITIVE")
        assert positive.open == any(s.pending for s in cycle.steps)
    elif evaluation.phase not in ("qualifying", "active") or closed:
        assert cycle.steps == ()
    else:
        # Every blocking reason of the evaluation is named by a step that is not done.
        named = {code for step in cycle.steps if step.status != "done" for code in step.reasons}
        assert {b.code for b in evaluation.dispense.blocking} <= named
        # The dispense is allowed exactly when every step before the pharmacy's is done (or not needed).
        before = [s for s in cycle.steps if s.code not in ORDER_BEFORE_PHARMACY]
        ready = all(s.status in ("done", "not_needed") for s in before)
        assert ready == evaluation.dispense.allowed
        pick_up = cycle.steps[-1]
        held = evaluation.hold is not None or any(f.withholds_prescription for f in evaluation.findings)
        assert pick_up.code == "PICK_UP" and (pick_up.status in ("to_do", "overdue")) == (ready and not held)
        if ready and held:  # the rules would allow it; the hold or the open alert says why it waits
            assert pick_up.status == "blocked" and pick_up.notes
    # A step waits only behind an earlier step that is not done, or while the drug is held.
    held = evaluation.hold is not None or any(f.withholds_prescription for f in evaluation.findings)
    for index, step in enumerate(cycle.steps):
        if step.status == "blocked":
            assert any(s.pending for s in cycle.steps[:index]) or held
    # The next step, most urgent first: a self-harm risk, a stopped course's follow-up, a hold, another open
    # alert that holds the drug, then the cycle's first pending step or a monitoring step due earlier.
    urgent = [f for f in evaluation.findings if f.withholds_prescription]
    first = next((s for s in cycle.steps if s.pending), None)
    if urgent and urgent[0].alert.code == "SELF_HARM_RISK":
        assert cycle.next_step is not None and cycle.next_step.code == "ALERT_SELF_HARM_RISK"
        assert cycle.next_step.deadline == urgent[0].alert.date
    elif evaluation.phase == "stopped":
        assert cycle.next_step == first
    elif evaluation.hold is not None:
        assert cycle.next_step is not None and cycle.next_step.code == "ON_HOLD"
        assert cycle.next_step.label.startswith(f"On hold until {evaluation.hold.end}")
        assert cycle.next_step.earliest == evaluation.hold.end + days(1)
    elif urgent and urgent[0].alert.code != "PREGNANCY_TEST_POSITIVE":
        assert cycle.next_step is not None and cycle.next_step.code == f"ALERT_{urgent[0].alert.code}"
    elif cycle.next_step is None:
        assert not any(s.pending for s in (*cycle.steps, *cycle.monitoring))
    else:
        assert cycle.next_step.pending
        assert cycle.next_step == first or cycle.next_step in cycle.monitoring
    # A hold is known only while the course runs, and covers the day.
    if evaluation.hold is not None:
        assert evaluation.phase == "active" and evaluation.hold.start <= day <= evaluation.hold.end
    # The tier ranks the line before its deadline (ALERT-URGENCY).
    assert cycle.tier == min([f.action.tier for f in urgent] + [4 if evaluation.hold is not None else 5])
    # Monitoring steps are the evaluation's due items that are steps, with their dates.
    due = {d.code: d.date for d in evaluation.due}
    assert all(due[s.code] == s.deadline for s in cycle.monitoring)


@settings(max_examples=300, deadline=None)
@given(cycles())
def test_the_standing_is_the_evaluation_without_its_dose_figures_and_alerts(case):
    cf, day = case
    evaluation, found = evaluate(cf, day), standing(cf, day)
    assert (found.as_of, found.rule_set, found.phase, found.dispense, found.due) == (
        evaluation.as_of,
        evaluation.rule_set,
        evaluation.phase,
        evaluation.dispense,
        evaluation.due,
    )
    assert found.history == history_until(cf, day)
    # The checklist judged on the standing alone is the one judged on the whole evaluation.
    cycle = current_cycle(cf, day)
    assert cycle == current_cycle(cf, day, evaluation)
    # The worklist's entry point gives the checklist's next step, countdown and days left.
    found_step = next_step(cf, day)
    assert (found_step.step, found_step.countdown, found_step.days_left) == (
        cycle.next_step,
        cycle.countdown,
        cycle.days_left,
    )
    if found_step.step is not None:  # what the worklist stores is the step: the rest follows from the day
        assert countdown(found_step.step, day) == found_step.countdown
        assert days_left(found_step.step, day) == found_step.days_left
    assert (found_step.phase, found_step.rule_set_id, found_step.rule_set_title) == (
        cycle.phase,
        cycle.rule_set_id,
        cycle.rule_set_title,
    )


@pytest.mark.parametrize("name", sorted(TABLE))
def test_the_next_step_alone_is_the_checklist_next_step(name):
    cf = course_file(name)
    assert cf.as_of is not None
    cycle, found = current_cycle(cf, cf.as_of), next_step(cf, cf.as_of)
    assert (found.step, found.countdown, found.days_left) == (
        cycle.next_step,
        cycle.countdown,
        cycle.days_left,
    )
