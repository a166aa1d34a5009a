"""The rule-set registry, windows and explanations."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isotrack.core import (
    RULE_SETS,
    ContraceptionUse,
    Dispense,
    Policy,
    PregnancyTest,
    evaluate,
    rule_set_for,
)
from isotrack.core.course import ABSTINENCE, PRIMARY_METHODS, SECONDARY_METHODS
from isotrack.core.rules import ipledge
from tests.core.builders import START, days, simple_course


def test_auto_picks_the_rule_set_in_force_on_the_day() -> None:
    policy = Policy()
    assert rule_set_for("auto", dt.date(2026, 11, 14), policy).id == "us-ipledge-2021"
    assert rule_set_for("auto", dt.date(2026, 11, 15), policy).id == "us-ipledge-2026"
    assert rule_set_for("auto", dt.date(2020, 1, 1), policy).id == "us-ipledge-2021"
    later = Policy(ipledge_2026_effective=dt.date(2027, 1, 1))
    assert rule_set_for("auto", dt.date(2026, 12, 1), later).id == "us-ipledge-2021"


def test_a_rule_set_id_pins_the_rules_whatever_the_day() -> None:
    assert rule_set_for("us-ipledge-2021", dt.date(2030, 1, 1), Policy()).id == "us-ipledge-2021"
    assert set(RULE_SETS) == {"us-ipledge-2021", "us-ipledge-2026"}


def test_every_explanation_names_the_rule_id_of_its_decision() -> None:
    course = simple_course(contraception=(), events=())  # nothing done yet
    evaluation = evaluate(course, START - days(3))
    assert evaluation.dispense.blocking
    assert len(evaluation.explanations) == len(evaluation.dispense.blocking) + len(evaluation.alerts)
    for blocking in evaluation.dispense.blocking:
        assert blocking.explanation.endswith(f"({blocking.rule_id}).")
    assert evaluation.rule_ids()["blocking"]["CONTRACEPTION_INSUFFICIENT"] == "IPL-CON-2"
    assert evaluation.rule_ids()["blocking"]["NOT_ENROLLED"] == "IPL-ENROLL"


def test_every_explanation_is_one_sentence_with_a_rule_id() -> None:
    pattern = re.compile(r"^[A-Z][^\n]*\((IPL|LAB|DOSE|MOOD)[A-Z0-9-]*\)\.$")
    course = simple_course(events=())
    for explanation in evaluate(course, START).explanations:
        assert pattern.match(explanation), explanation


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-60, 60), min_size=1, max_size=5), st.integers(-60, 90), st.booleans())
def test_a_window_never_contains_a_day_before_its_test(
    test_days: list[int], day: int, dispensed: bool
) -> None:
    tests = tuple(PregnancyTest(START + days(d), "confirmation", "lab", "negative") for d in test_days)
    monthly = tuple(PregnancyTest(START + days(d + 30), "monthly", "office", "negative") for d in test_days)
    fill = (Dispense(START + days(-2), 30),) if dispensed else ()
    evaluation = evaluate(simple_course(events=tests + monthly + fill), START + days(day))
    window = evaluation.dispense.window
    if window is None:
        return
    opened_by = {t.date for t in tests + monthly}
    assert window.opens in opened_by
    assert window.closes == window.opens + days(6)
    assert window.opens <= START + days(day)


def test_the_allowed_flag_is_exactly_no_blocking() -> None:
    ready = evaluate(simple_course(), START - days(3))
    assert ready.dispense.allowed and ready.dispense.blocking == ()
    late = evaluate(simple_course(), START + days(1))
    assert not late.dispense.allowed and late.dispense.blocking


# --- IPL-CON-2: the contraception cover, against a day-by-day reference -------------------------------------

COUNTED_PRIMARY = ("iud_copper", "combined_pill", "implant", "partner_vasectomy")
OTHER_METHODS = ("male_condom", "diaphragm_spermicide", "abstinence", "progestin_only_pill")
ORIGIN = dt.date(2026, 1, 1)


def covered_on(uses: list[ContraceptionUse], day: dt.date) -> bool:
    """IPL-CON-2 read literally for one day: abstinence, or two different counted methods of which at least
    one is primary."""
    in_use = {u.method for u in uses if u.start <= day and (u.end is None or u.end >= day)}
    if ABSTINENCE in in_use:
        return True
    counted = in_use & (PRIMARY_METHODS | SECONDARY_METHODS)
    return len(counted) >= 2 and bool(counted & PRIMARY_METHODS)


uses_strategy = st.lists(
    st.builds(
        lambda method, start, length: ContraceptionUse(
            method,
            ORIGIN + dt.timedelta(days=start),
            None if length is None else ORIGIN + dt.timedelta(days=start + length),
        ),
        st.sampled_from(COUNTED_PRIMARY + OTHER_METHODS),
        st.integers(0, 40),
        st.one_of(st.none(), st.integers(0, 30)),
    ),
    max_size=5,
)


@given(uses_strategy)
@settings(max_examples=300)
def test_the_cover_is_exactly_the_days_with_two_methods_one_of_them_primary(
    uses: list[ContraceptionUse],
) -> None:
    covered = ipledge.covered_ranges(uses)
    for offset in range(-2, 80):
        day = ORIGIN + dt.timedelta(days=offset)
        inside = any(start <= day.toordinal() <= end for start, end in covered)
        assert inside == covered_on(uses, day), (day, uses)


@pytest.mark.parametrize(
    ("methods", "covered"),
    [
        (("partner_vasectomy", "combined_pill"), True),  # spec clarification: two primary methods
        (("iud_hormonal", "implant"), True),
        (("iud_copper", "male_condom"), True),
        (("male_condom", "diaphragm_spermicide"), False),  # two secondary methods
        (("combined_pill", "combined_pill"), False),  # one method entered twice
        (("iud_copper", "progestin_only_pill"), False),  # the mini-pill counts for nothing
        (("abstinence",), True),
        (("implant",), False),
    ],
)
def test_two_methods_at_least_one_primary_or_abstinence(methods: tuple[str, ...], covered: bool) -> None:
    uses = [ContraceptionUse(m, ORIGIN) for m in methods]  # type: ignore[arg-type]
    assert (ipledge.first_uncovered_day(uses, ORIGIN, ORIGIN) is None) is covered
