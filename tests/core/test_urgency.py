"""ALERT-URGENCY: which alerts are open, how urgent, what they ask for; holds; the worklist's tiers; and the
prescription a visit may propose."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isotrack.core import (
    Acknowledgment,
    Course,
    Dispense,
    DoseSegment,
    FollowUp,
    Interruption,
    LabResult,
    MoodScreen,
    PregnancyTest,
    Weight,
    current_cycle,
    dump_course_file,
    evaluate,
    expected_test_purpose,
    next_step,
    parse_course_file,
    proposed_prescription,
)
from isotrack.core.coursefile import CourseFileError
from isotrack.core.urgency import (
    ALERT_ACTIONS,
    ALERT_ORDER,
    NO_OPEN_ALERT,
    TIER_CRITICAL_LAB,
    TIER_ON_HOLD,
    TIER_OTHER,
    TIER_PREGNANCY,
    TIER_SELF_HARM,
    hold_on,
)
from tests.core.builders import START, days, simple_course

FILL = START - days(3)
ACTIVE = simple_course(events=(*simple_course().events, Dispense(FILL, 30)))
DAY = START + days(20)


def active(*events: object, **changes: object) -> object:
    return simple_course(events=(*ACTIVE.events, *events), **changes)


def codes(found: tuple[object, ...]) -> list[str]:
    return [f.alert.code for f in found]  # type: ignore[attr-defined]


def test_the_table_follows_reference_md_and_the_first_five_hold_the_drug() -> None:
    """reference.md's table in its order; isotrack's own SELF_HARM_REPORTED (a patient's check-in answer not
    yet confirmed) ranks with a self-harm risk but holds nothing: a report is not a record."""
    reference = [c for c in ALERT_ORDER if c != "SELF_HARM_REPORTED"]
    assert reference[:5] == [
        "SELF_HARM_RISK",
        "PREGNANCY_TEST_POSITIVE",
        "TRIGLYCERIDES_CRITICAL",
        "LIVER_ENZYMES_HIGH",
        "TETRACYCLINE_IN_USE",
    ]
    assert [c for c in ALERT_ORDER if ALERT_ACTIONS[c].holds_drug] == reference[:5]
    assert ALERT_ORDER.index("SELF_HARM_REPORTED") == 1 and not ALERT_ACTIONS["SELF_HARM_REPORTED"].holds_drug
    assert ALERT_ACTIONS["BASELINE_LABS_MISSING"].actor == "staff"
    assert ALERT_ACTIONS["SELF_HARM_RISK"].asks_for.startswith("a safety assessment the same day")


def test_findings_come_most_urgent_first_whatever_the_spec_order_of_alerts() -> None:
    cf = active(
        LabResult(DAY - days(1), "triglycerides", 600, "mg/dL"),
        MoodScreen(DAY - days(1), "phq9", 12, 2),
    )
    evaluation = evaluate(cf, DAY)
    assert codes(evaluation.findings) == ["SELF_HARM_RISK", "MOOD_SCREEN_POSITIVE", "TRIGLYCERIDES_HIGH"]
    assert [a.code for a in evaluation.alerts][:1] == ["TRIGLYCERIDES_HIGH"]  # the spec's answer is unchanged


def test_an_acknowledged_alert_stays_shown_and_a_newer_result_opens_it_again() -> None:
    first = DAY - days(10)
    critical = LabResult(first, "triglycerides", 900, "mg/dL")
    seen = Acknowledgment("TRIGLYCERIDES_CRITICAL", first, first + days(1), "doctor", "held; recheck ordered")
    evaluation = evaluate(active(critical, acknowledgments=(seen,)), DAY)
    (finding,) = [f for f in evaluation.findings if f.alert.code == "TRIGLYCERIDES_CRITICAL"]
    assert not finding.open and finding.acknowledgment == seen and not finding.withholds_prescription
    recheck = LabResult(DAY - days(1), "triglycerides", 950, "mg/dL")
    again = evaluate(active(critical, recheck, acknowledgments=(seen,)), DAY)
    (finding,) = [f for f in again.findings if f.alert.code == "TRIGLYCERIDES_CRITICAL"]
    assert finding.open and finding.withholds_prescription
    cleared = evaluate(active(critical, LabResult(DAY, "triglycerides", 150, "mg/dL")), DAY)
    assert "TRIGLYCERIDES_CRITICAL" not in codes(cleared.findings)


def test_an_acknowledgment_dated_after_the_day_is_not_known_on_the_day() -> None:
    first = DAY - days(2)
    later = Acknowledgment("SELF_HARM_RISK", first, DAY + days(1), "doctor", "assessed")
    cf = active(MoodScreen(first, "phq9", 12, 1), acknowledgments=(later,))
    assert evaluate(cf, DAY).findings[0].open
    assert not evaluate(cf, DAY + days(1)).findings[0].open


def test_a_positive_test_is_handled_once_stop_refer_and_report_are_all_recorded() -> None:
    positive = PregnancyTest(DAY - days(3), "monthly", "office", "positive")
    some = (FollowUp("stop", DAY - days(3)), FollowUp("refer", DAY - days(1)))
    evaluation = evaluate(active(positive, follow_ups=some), DAY)
    assert evaluation.phase == "stopped" and evaluation.findings[0].open
    cycle = current_cycle(active(positive, follow_ups=some), DAY)
    assert [(s.code, s.status) for s in cycle.steps] == [
        ("PREGNANCY_STOP", "done"),
        ("PREGNANCY_REFER", "done"),
        ("PREGNANCY_REPORT", "overdue"),
    ]
    assert cycle.next_step is not None and cycle.next_step.code == "PREGNANCY_REPORT"
    assert cycle.tier == TIER_PREGNANCY
    done = active(positive, follow_ups=(*some, FollowUp("report", DAY)))
    assert not evaluate(done, DAY).findings[0].open
    found = next_step(done, DAY)
    assert found.step is None and found.tier == TIER_OTHER
    # An acknowledgment does not close it: only its follow-up does.
    acknowledged = active(
        positive, acknowledgments=(Acknowledgment("PREGNANCY_TEST_POSITIVE", DAY - days(3), DAY, "dr", "x"),)
    )
    assert evaluate(acknowledged, DAY).findings[0].open


def test_a_follow_up_dated_before_the_positive_test_does_not_count() -> None:
    positive = PregnancyTest(DAY - days(3), "monthly", "office", "positive")
    early = tuple(FollowUp(kind, DAY - days(5)) for kind in ("stop", "refer", "report"))
    assert all(s.status == "overdue" for s in current_cycle(active(positive, follow_ups=early), DAY).steps)


@pytest.mark.parametrize(
    ("records", "tier", "next_code"),
    [
        ((MoodScreen(DAY, "phq9", 14, 1),), TIER_SELF_HARM, "ALERT_SELF_HARM_RISK"),
        ((PregnancyTest(DAY, "monthly", "office", "positive"),), TIER_PREGNANCY, "PREGNANCY_STOP"),
        ((LabResult(DAY - days(2), "triglycerides", 870, "mg/dL"),), TIER_CRITICAL_LAB, None),
        ((LabResult(DAY, "alt", 200, "U/L"),), TIER_CRITICAL_LAB, "ALERT_LIVER_ENZYMES_HIGH"),
        ((LabResult(DAY, "triglycerides", 600, "mg/dL"),), TIER_OTHER, "MONTHLY_TEST"),
        ((MoodScreen(DAY, "phq9", 14, 0),), TIER_OTHER, "MONTHLY_TEST"),
        ((), TIER_OTHER, "MONTHLY_TEST"),
    ],
)
def test_the_tier_and_the_next_step_follow_the_most_urgent_open_alert(records, tier, next_code) -> None:
    found = next_step(active(*records), DAY)
    assert found.tier == tier
    if next_code:
        assert found.step is not None and found.step.code == next_code


def test_a_critical_lab_due_today_shows_as_an_overdue_prescriber_review_after_its_day() -> None:
    lab = LabResult(DAY - days(2), "triglycerides", 870, "mg/dL")
    found = next_step(active(lab), DAY)
    assert found.step is not None and found.step.code == "ALERT_TRIGLYCERIDES_CRITICAL"
    assert found.step.actor == "prescriber" and found.step.rule_id == "LAB-TG-CRIT"
    assert found.countdown == "prescriber review overdue 2 days"
    assert found.alert_urgency == ALERT_ORDER.index("TRIGLYCERIDES_CRITICAL")


def test_a_course_on_hold_shows_the_hold_and_what_it_waits_for_not_a_pick_up() -> None:
    lab = LabResult(DAY - days(2), "triglycerides", 969, "mg/dL")
    hold = Interruption(DAY - days(1), DAY + days(13), "triglycerides 969 mg/dL: held")
    found = next_step(active(lab, interruptions=(hold,)), DAY)
    assert found.step is not None and found.step.code == "ON_HOLD"
    assert found.step.label == f"On hold until {DAY + days(13)}: recheck triglycerides"
    assert found.countdown == f"dosing resumes on {DAY + days(14)} (in 14 days)"
    assert found.tier == TIER_CRITICAL_LAB  # the alert is open: it ranks above "on hold"
    seen = Acknowledgment("TRIGLYCERIDES_CRITICAL", lab.date, DAY, "doctor", "held for two weeks")
    acknowledged = next_step(active(lab, interruptions=(hold,), acknowledgments=(seen,)), DAY)
    assert acknowledged.tier == TIER_ON_HOLD and acknowledged.step == found.step
    assert acknowledged.alert_urgency == NO_OPEN_ALERT
    plain = next_step(active(interruptions=(Interruption(DAY, DAY + days(6), "nosebleeds"),)), DAY)
    assert plain.step is not None and plain.step.label == f"On hold until {DAY + days(6)}: nosebleeds"


def test_holds_that_touch_make_one_hold_and_a_hold_after_the_end_is_none() -> None:
    holds = (
        Interruption(DAY - days(5), DAY - days(3)),
        Interruption(DAY - days(2), DAY + days(1), "second"),
        Interruption(DAY + days(2), DAY + days(4)),
        Interruption(DAY + days(9), DAY + days(10)),
    )
    found = hold_on(active(interruptions=holds), DAY)
    assert found == Interruption(DAY - days(5), DAY + days(4), "second")
    assert hold_on(active(interruptions=holds), DAY + days(6)) is None
    ended = active(interruptions=holds, course=Course(START, DAY - days(1)))
    assert hold_on(ended, DAY) is None


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 10)), max_size=6), st.integers(0, 50))
@settings(max_examples=200)
def test_a_hold_is_the_unbroken_stretch_of_held_days_around_the_day(spans, offset) -> None:
    holds = tuple(Interruption(START + days(a), START + days(a + n)) for a, n in spans)
    day = START + days(offset)
    held = {START + days(a + k) for a, n in spans for k in range(n + 1)}
    found = hold_on(active(interruptions=holds), day)
    assert (found is not None) == (day in held)
    if found is not None:
        stretch = [found.start + days(k) for k in range((found.end - found.start).days + 1)]
        assert all(d in held for d in stretch)
        assert found.start - days(1) not in held and found.end + days(1) not in held


# --- the prescription a visit proposes ----------------------------------------------------------------------


def test_a_routine_visit_proposes_the_current_dose_for_30_days() -> None:
    proposal = proposed_prescription(ACTIVE, DAY)
    assert proposal.prescription is not None
    assert (proposal.prescription.days_supply, proposal.prescription.mg_per_day) == (30, 30)
    assert proposal.prescription.product == "conventional" and proposal.reasons == ()


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        (
            {"events": (*ACTIVE.events, PregnancyTest(DAY, "monthly", "office", "positive"))},
            "IPL-PT-POSITIVE",
        ),
        ({"events": (*ACTIVE.events, LabResult(DAY, "triglycerides", 870, "mg/dL"))}, "LAB-TG-CRIT"),
        ({"events": (*ACTIVE.events, MoodScreen(DAY, "phq9", 9, 1))}, "MOOD"),
        ({"interruptions": (Interruption(DAY - days(2), DAY + days(5), "nosebleeds"),)}, "DOSE-CUM"),
        ({"course": Course(START, DAY - days(1))}, "IPL-COURSE-END"),
        ({"course": Course(START, DAY)}, "IPL-COURSE-END"),
    ],
)
def test_no_prescription_is_proposed_for_a_course_that_must_not_be_dispensed(changes, rule) -> None:
    proposal = proposed_prescription(simple_course(**{"events": ACTIVE.events, **changes}), DAY)
    assert proposal.prescription is None
    assert any(reason.endswith(f"({rule}).") for reason in proposal.reasons), proposal.reasons


def test_an_acknowledged_alert_lets_the_prescription_be_proposed() -> None:
    lab = LabResult(DAY, "triglycerides", 870, "mg/dL")
    seen = Acknowledgment("TRIGLYCERIDES_CRITICAL", DAY, DAY, "doctor", "dose lowered, recheck in 2 weeks")
    assert proposed_prescription(active(lab, acknowledgments=(seen,)), DAY).proposed


def test_an_absorica_ld_course_proposes_micronized_capsules_and_a_dose_change_from_tomorrow() -> None:
    ld = simple_course(
        events=ACTIVE.events,
        doses=(DoseSegment(START, 32, "micronized"), DoseSegment(DAY + days(1), 40, "micronized")),
    )
    prescription = proposed_prescription(ld, DAY).prescription
    assert prescription is not None and (prescription.mg_per_day, prescription.product) == (40, "micronized")


def test_a_fill_never_supplies_more_than_the_dose_that_remains() -> None:
    # 58 kg x 150 mg/kg = 8,700 mg; at 30 mg/day from START the target is reached on the 290th day. Through
    # START + 280 (the day's own dose counts) 281 days are taken: 270 mg remain, 9 days.
    late = START + days(280)
    proposal = proposed_prescription(ACTIVE, late)
    assert proposal.prescription is not None and proposal.prescription.days_supply == 9
    assert not proposed_prescription(ACTIVE, START + days(300)).proposed  # DOSE-TARGET reached


def test_a_qualifying_course_proposes_its_first_planned_dose() -> None:
    prescription = proposed_prescription(simple_course(), START - days(3), days_supply=14).prescription
    assert prescription is not None and (prescription.days_supply, prescription.mg_per_day) == (14, 30)


def test_a_course_without_weight_still_gets_the_asked_supply() -> None:
    prescription = proposed_prescription(simple_course(events=ACTIVE.events, weights=()), DAY).prescription
    assert prescription is not None and prescription.days_supply == 30


def test_a_supply_outside_1_to_30_days_is_refused() -> None:
    with pytest.raises(ValueError, match="IPL-SUPPLY"):
        proposed_prescription(ACTIVE, DAY, days_supply=31)


# --- the course file carries the acknowledgments and the follow-up -----------------------------------------


def test_acknowledgments_and_follow_up_round_trip_through_the_course_file() -> None:
    cf = active(
        LabResult(DAY, "triglycerides", 870, "mg/dL"),
        acknowledgments=(Acknowledgment("TRIGLYCERIDES_CRITICAL", DAY, DAY, "doctor", "held"),),
        follow_ups=(FollowUp("stop", DAY),),
        weights=(Weight(START - days(14), 58.0),),
    )
    dumped = dump_course_file(cf)
    assert dumped["acknowledgments"][0]["code"] == "TRIGLYCERIDES_CRITICAL"
    assert dumped["pregnancy_follow_up"] == [{"step": "stop", "date": DAY.isoformat()}]
    assert parse_course_file(dumped) == cf


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "acknowledgments",
            [{"code": "NOT_AN_ALERT", "alert_date": "2025-09-01", "date": "2025-09-02"}],
            "code",
        ),
        (
            "acknowledgments",
            [{"code": "SELF_HARM_RISK", "alert_date": "2025-09-03", "date": "2025-09-02"}],
            "before",
        ),
        ("pregnancy_follow_up", [{"step": "celebrate", "date": "2025-09-02"}], "step"),
    ],
)
def test_a_bad_acknowledgment_or_follow_up_is_refused_naming_it(key, value, message) -> None:
    dumped = dump_course_file(ACTIVE)
    dumped[key] = value
    with pytest.raises(CourseFileError, match=message):
        parse_course_file(dumped)


def test_the_spec_answer_ignores_acknowledgments() -> None:
    lab = LabResult(DAY, "triglycerides", 870, "mg/dL")
    seen = Acknowledgment("TRIGLYCERIDES_CRITICAL", DAY, DAY, "doctor", "held")
    assert (
        evaluate(active(lab), DAY).to_dict() == evaluate(active(lab, acknowledgments=(seen,)), DAY).to_dict()
    )
    assert dt.date.fromisoformat(evaluate(active(lab), DAY).to_dict()["alerts"][0]["date"]) == DAY


# --- which pregnancy test a visit collects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("course_file", "day", "purpose"),
    [
        (simple_course(events=()), START - days(50), "screening"),
        (simple_course(), START - days(3), "confirmation"),
        (ACTIVE, DAY, "monthly"),
        (simple_course(events=ACTIVE.events, course=Course(START, DAY + days(10))), DAY, "monthly"),
        (simple_course(events=ACTIVE.events, course=Course(START, DAY + days(5))), DAY, "end_of_course"),
        (simple_course(events=ACTIVE.events, course=Course(START, DAY - days(3))), DAY, "end_of_course"),
        (
            simple_course(
                events=(*ACTIVE.events, PregnancyTest(DAY - days(4), "end_of_course", "office", "negative")),
                course=Course(START, DAY - days(3)),
            ),
            DAY,
            "post_course",
        ),
        (active(PregnancyTest(DAY, "monthly", "office", "positive")), DAY, None),
        (simple_course(events=ACTIVE.events, patient=type(ACTIVE.patient)("cannot_get_pregnant")), DAY, None),
    ],
)
def test_the_visit_collects_the_test_the_course_is_at(course_file, day, purpose) -> None:
    assert expected_test_purpose(course_file, day) == purpose
