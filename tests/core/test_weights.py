"""One scale of weight for what the engine's answer shows (core.weights), read by FHIR and CDS Hooks: each
item carries its weight, decided here and nowhere else."""

from __future__ import annotations

import pytest

from isotrack.core import (
    ACT_NOW,
    BLOCKS_FILL,
    REVIEW,
    SETTLED,
    WEIGHTS,
    Acknowledgment,
    Dispense,
    FollowUp,
    LabResult,
    MoodScreen,
    PregnancyTest,
    evaluate,
    proposed_prescription,
    therapy_calendar,
)
from isotrack.core.urgency import ALERT_ACTIONS
from tests.core.builders import START, days, simple_course

ACTIVE = simple_course(events=(*simple_course().events, Dispense(START - days(3), 30)))
DAY = START + days(20)


def active(*events: object, **changes: object):
    return simple_course(events=(*ACTIVE.events, *events), **changes)


def test_the_scale_runs_from_acting_now_to_settled() -> None:
    assert WEIGHTS == (ACT_NOW, BLOCKS_FILL, REVIEW, SETTLED)


@pytest.mark.parametrize("code", list(ALERT_ACTIONS))
def test_an_alert_weighs_act_now_exactly_when_it_holds_or_stops_a_drug(code: str) -> None:
    action = ALERT_ACTIONS[code]
    assert action.weight == (ACT_NOW if action.holds_drug else REVIEW)


@pytest.mark.parametrize(
    ("events", "acknowledged", "code", "weight"),
    [
        ((LabResult(DAY, "triglycerides", 900, "mg/dL"),), False, "TRIGLYCERIDES_CRITICAL", ACT_NOW),
        ((LabResult(DAY, "triglycerides", 900, "mg/dL"),), True, "TRIGLYCERIDES_CRITICAL", SETTLED),
        ((LabResult(DAY, "triglycerides", 600, "mg/dL"),), False, "TRIGLYCERIDES_HIGH", REVIEW),
        ((LabResult(DAY, "triglycerides", 600, "mg/dL"),), True, "TRIGLYCERIDES_HIGH", SETTLED),
        ((MoodScreen(DAY, "phq9", 12, 1),), False, "SELF_HARM_RISK", ACT_NOW),
        ((MoodScreen(DAY, "phq9", 12, 0),), False, "MOOD_SCREEN_POSITIVE", REVIEW),
    ],
)
def test_a_finding_weighs_its_alert_while_open_and_settled_once_acknowledged(
    events: tuple[object, ...], acknowledged: bool, code: str, weight: str
) -> None:
    seen = (Acknowledgment(code, DAY, DAY, "doctor", "reviewed"),) if acknowledged else ()
    (finding,) = [
        f for f in evaluate(active(*events, acknowledgments=seen), DAY).findings if f.alert.code == code
    ]
    assert finding.weight == weight
    assert finding.action.weight == (ACT_NOW if finding.action.holds_drug else REVIEW)  # its own, kept


def test_what_blocks_a_fill_weighs_blocks_fill_and_a_fill_nothing_blocks_is_settled() -> None:
    ready = simple_course()  # the first fill: everything recorded, the window open
    assert evaluate(ready, START - days(2)).dispense.weight == SETTLED
    blocked = evaluate(ready, START + days(2))  # the window closed
    assert [b.code for b in blocked.dispense.blocking][:1] == ["WINDOW_EXPIRED"]
    assert {b.weight for b in blocked.dispense.blocking} == {BLOCKS_FILL}
    assert blocked.dispense.weight == BLOCKS_FILL


def test_no_prescription_proposed_weighs_act_now() -> None:
    assert proposed_prescription(ACTIVE, DAY).weight == SETTLED
    critical = active(LabResult(DAY, "triglycerides", 900, "mg/dL"))
    assert proposed_prescription(critical, DAY).weight == ACT_NOW


def test_a_stopped_courses_follow_up_weighs_act_now_until_recorded() -> None:
    positive = PregnancyTest(DAY - days(3), "monthly", "office", "positive")
    stopped = active(positive, follow_ups=(FollowUp("stop", DAY - days(2)),))
    events = therapy_calendar(stopped, DAY).events
    weights = {e.kind: e.weight for e in events if e.weight is not None}
    assert weights == {"pregnancy_stop": SETTLED, "pregnancy_refer": ACT_NOW, "pregnancy_report": ACT_NOW}
    assert all(
        e.weight is None
        for e in events
        if not e.kind.startswith("pregnancy_") or e.kind.startswith("pregnancy_test")
    )
