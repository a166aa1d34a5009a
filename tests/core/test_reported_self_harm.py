"""SELF_HARM_REPORTED (isotrack's own alert, issue 17): a patient's check-in answer of thoughts of self-harm
(PHQ-9 item 9 above 0) that no clinician has confirmed yet (the course file's extension
``reported_self_harm``) puts the course first on the worklist and makes a call today its next step, and
counts for nothing else: the phase, the dispense decision, the prescription proposed, the dose, the due
items and every other alert are those of the course without it. Confirmed, it is a mood screen (and
SELF_HARM_RISK holds the drug)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from isotrack.core import (
    Acknowledgment,
    CourseFile,
    Dispense,
    MoodScreen,
    dump_course_file,
    evaluate,
    next_step,
    parse_course_file,
    proposed_prescription,
)
from isotrack.core.urgency import TIER_OTHER, TIER_SELF_HARM
from tests.core.builders import START, any_course_files, days, simple_course

FILL = START - days(3)
ACTIVE = simple_course(events=(*simple_course().events, Dispense(FILL, 30)))
DAY = START + days(20)
REPORTED = START + days(18)


def reported(course_file: CourseFile, *dates: dt.date) -> CourseFile:
    return dataclasses.replace(course_file, reported_self_harm=dates)


def without_report(answer: dict) -> dict:
    """An evaluation's answer without the alert of the report (and its explanation)."""
    kept = dict(answer)
    kept["alerts"] = [a for a in answer["alerts"] if a["code"] != "SELF_HARM_REPORTED"]
    kept.pop("explanations", None)
    return kept


def test_a_report_puts_the_course_first_and_asks_for_a_call_today_and_holds_nothing() -> None:
    found = next_step(reported(ACTIVE, REPORTED), DAY)
    plain = next_step(ACTIVE, DAY)
    assert found.tier == TIER_SELF_HARM and plain.tier == TIER_OTHER
    assert found.step is not None and found.step.code == "ALERT_SELF_HARM_REPORTED"
    assert found.step.deadline == REPORTED and found.step.status == "overdue" and found.step.rule_id == "MOOD"
    assert found.findings[0].alert.code == "SELF_HARM_REPORTED" and found.findings[0].alert.date == REPORTED
    assert not found.findings[0].withholds_prescription
    assert (found.dispense_allowed, found.blocking) == (plain.dispense_allowed, plain.blocking)
    assert proposed_prescription(reported(ACTIVE, REPORTED), DAY) == proposed_prescription(ACTIVE, DAY)


def test_a_report_is_listed_once_dated_the_latest_and_only_from_its_day() -> None:
    earlier, later = START + days(2), START + days(10)
    alerts = [
        a for a in evaluate(reported(ACTIVE, later, earlier), DAY).alerts if a.code == "SELF_HARM_REPORTED"
    ]
    assert [a.date for a in alerts] == [later]
    assert "SELF_HARM_REPORTED" not in [a.code for a in evaluate(reported(ACTIVE, DAY + days(1)), DAY).alerts]


def test_an_acknowledged_report_no_longer_ranks_and_a_new_report_is_a_new_alert() -> None:
    seen = Acknowledgment("SELF_HARM_REPORTED", REPORTED, REPORTED, "doctor", "called: safe, plan made")
    acknowledged = dataclasses.replace(reported(ACTIVE, REPORTED), acknowledgments=(seen,))
    found = next_step(acknowledged, DAY)
    assert found.tier == TIER_OTHER and (found.step is None or found.step.code != "ALERT_SELF_HARM_REPORTED")
    again = next_step(dataclasses.replace(acknowledged, reported_self_harm=(REPORTED, DAY)), DAY)
    assert again.tier == TIER_SELF_HARM and again.step is not None and again.step.deadline == DAY


def test_a_confirmed_answer_is_a_mood_screen_that_holds_the_drug() -> None:
    confirmed = dataclasses.replace(ACTIVE, events=(*ACTIVE.events, MoodScreen(REPORTED, "phq9", 12, 1)))
    found = next_step(confirmed, DAY)
    assert (
        found.tier == TIER_SELF_HARM and found.step is not None and found.step.code == "ALERT_SELF_HARM_RISK"
    )
    assert not proposed_prescription(confirmed, DAY).proposed


def test_course_files_carry_the_reports_out_and_in() -> None:
    course_file = reported(ACTIVE, REPORTED)
    dumped = dump_course_file(course_file)
    assert dumped["reported_self_harm"] == [REPORTED.isoformat()]
    assert parse_course_file(dumped) == course_file
    assert "reported_self_harm" not in dump_course_file(ACTIVE)


@settings(max_examples=60, deadline=None)
@given(any_course_files(), st.lists(st.integers(-40, 200), max_size=3), st.integers(-10, 220))
def test_a_report_changes_nothing_but_its_own_alert_and_the_worklist_rank(
    course_file: CourseFile, offsets: list[int], on: int
) -> None:
    start = course_file.course.start
    day = start + days(on)
    plain = dataclasses.replace(course_file, reported_self_harm=())
    with_reports = reported(plain, *(start + days(n) for n in offsets))
    assert without_report(evaluate(with_reports, day).to_dict()) == without_report(
        evaluate(plain, day).to_dict()
    )
    assert proposed_prescription(with_reports, day) == proposed_prescription(plain, day)


def test_the_calendars_alert_numbers_did_not_move_with_isotracks_own_alert() -> None:
    """An alert's review is a calendar event whose UID subscribers keep: its number never moves."""
    from isotrack.core.urgency import ALERT_NUMBERS

    holding = ("SELF_HARM_RISK", "PREGNANCY_TEST_POSITIVE", "TRIGLYCERIDES_CRITICAL", "LIVER_ENZYMES_HIGH")
    assert [ALERT_NUMBERS[c] for c in holding] == [1, 2, 3, 4]
    assert ALERT_NUMBERS["SELF_HARM_REPORTED"] == len(ALERT_NUMBERS)
