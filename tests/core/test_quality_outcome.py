"""A course's kept outcome (core.quality.course_outcome): read back from JSON to the same value; a replay
through one day serves every period it claims to (``holds_for``) with the figures of a replay through the
period's end, and refuses the others; one course's measures are its part of every count; the alerts and the
peak-dose labs it keeps are the engine's own answers (``evaluate``) on every day; ages and age bands."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from isotrack.core import (
    ACKNOWLEDGEABLE,
    AGE_BANDS,
    Course,
    CourseFile,
    DoseSegment,
    Measures,
    PregnancyTest,
    age_band,
    age_on,
    course_outcome,
    evaluate,
    measures,
    measures_from_json,
    measures_of,
    measures_to_json,
    outcome_from_json,
    outcome_to_json,
)
from isotrack.core.quality import COMPARISONS, OUTCOME_FORMAT, RESULT_ALERTS
from isotrack.core.replay import first_known_day
from tests.core.builders import START, any_course_files, days
from tests.core.test_change import running_courses
from tests.core.test_quality import MONITORED, PRACTICE

DAY = dt.timedelta(days=1)
S = START
courses = st.one_of(running_courses(), any_course_files())
closings = st.sampled_from(
    [(None, None), ("completed", None), ("stopped", "side_effects"), ("stopped", None)]
)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def through_day(offset: int) -> dt.date:
    return S + days(offset)


# --- (a) kept as JSON ---------------------------------------------------------------------------------------


@PROPERTY
@given(courses, st.integers(-60, 320), closings)
def test_an_outcome_read_back_from_json_is_the_same(
    course_file: CourseFile, offset: int, closing: tuple[Any, Any]
) -> None:
    outcome = course_outcome(course_file, through_day(offset), *closing)
    assert outcome_from_json(json.loads(json.dumps(outcome_to_json(outcome)))) == outcome


@pytest.mark.parametrize("name", [*PRACTICE, *MONITORED])
def test_every_hand_built_outcome_reads_back_from_json(name: str) -> None:
    course_file = {**PRACTICE, **MONITORED}[name]
    outcome = course_outcome(course_file, S + days(150), "stopped", "side_effects")
    assert outcome_from_json(json.loads(json.dumps(outcome_to_json(outcome)))) == outcome


def test_each_reductions_reason_is_kept_beside_its_day() -> None:
    outcome = course_outcome(MONITORED["peak labs on time"], S + days(150))
    kept = json.loads(json.dumps(outcome_to_json(outcome)))
    assert kept["format"] == OUTCOME_FORMAT == 3
    assert kept["reductions"] == [
        [(S + days(40)).isoformat(), "side_effects"],
        [(S + days(120)).isoformat(), None],
    ]
    assert outcome_from_json(kept).reductions == ((S + days(40), "side_effects"), (S + days(120), None))


def test_an_outcome_kept_in_another_format_is_refused() -> None:
    kept = outcome_to_json(course_outcome(MONITORED["self-harm risk"], S + days(150)))
    with pytest.raises(ValueError):
        outcome_from_json({**kept, "format": OUTCOME_FORMAT - 1})


@PROPERTY
@given(st.lists(courses, max_size=4), st.integers(-60, 200), st.integers(0, 120))
def test_a_periods_measures_read_back_from_json_are_the_same(
    course_files: list[CourseFile], offset: int, length: int
) -> None:
    start = through_day(offset)
    found = measures(course_files, start, start + days(length))
    assert measures_from_json(json.loads(json.dumps(measures_to_json(found)))) == found


def test_the_hand_built_practices_measures_read_back_from_json() -> None:
    found = measures([*PRACTICE.values(), *MONITORED.values()], S, S + days(210))
    assert found.windows.lost and found.monitoring.alerts_raised and found.courses.stop_reasons
    assert measures_from_json(json.loads(json.dumps(measures_to_json(found)))) == found


@pytest.mark.parametrize(
    "change",
    [
        lambda kept: {key: value for key, value in kept.items() if key != "safety"},
        lambda kept: {**kept, "windows": {**kept["windows"], "unknown_figure": 1}},
        lambda kept: {**kept, "windows": {k: v for k, v in kept["windows"].items() if k != "lost"}},
        lambda kept: {**kept, "courses": [1, 2]},
        lambda kept: {**kept, "windows": {**kept["windows"], "lost": "7"}},
        lambda kept: {**kept, "windows": {**kept["windows"], "lost": True}},
        lambda kept: {**kept, "windows": {**kept["windows"], "lost": None}},
        lambda kept: {**kept, "first_fill": {**kept["first_fill"], "median_days": "12"}},
        lambda kept: {**kept, "courses": {**kept["courses"], "stop_reasons": 5}},
        lambda kept: {**kept, "courses": {**kept["courses"], "stop_reasons": [["other", "1"]]}},
        lambda kept: {**kept, "courses": {**kept["courses"], "stop_reasons": [["other", 1, 2]]}},
        lambda kept: [kept],
        lambda kept: "measures",
    ],
    ids=[
        "a section missing",
        "a figure unknown",
        "a figure missing",
        "a section of another kind",
        "a count as text",
        "a count as a truth value",
        "a count as null",
        "a statistic as text",
        "a tuple as a number",
        "a tuple's count as text",
        "a tuple's entry of three",
        "a list",
        "a text",
    ],
)
def test_measures_kept_in_another_shape_are_refused(change: Any) -> None:
    kept = measures_to_json(measures(list(PRACTICE.values()), S, S + days(60)))
    with pytest.raises(ValueError):
        measures_from_json(change(kept))


# --- (b), (c) which periods an outcome serves ---------------------------------------------------------------


@PROPERTY
@given(courses, st.integers(-60, 320), st.integers(-200, 60), st.integers(0, 120), closings)
def test_an_outcome_serves_the_periods_it_holds_for_with_the_figures_of_a_replay_through_their_end(
    course_file: CourseFile, offset: int, shift: int, length: int, closing: tuple[Any, Any]
) -> None:
    """A period ending on or before the day replayed through, or after it but before ``changes_on``: the
    kept outcome's figures are those of the course replayed through the period's end (with the clinic's
    record of how it ended, whichever it is)."""
    through = through_day(offset)
    outcome = course_outcome(course_file, through, *closing)
    end = through + days(shift)
    if shift > 0 and outcome.changes_on is not None:
        end = min(end, outcome.changes_on - DAY)
    assert outcome.holds_for(end)
    start = end - days(length)
    assert measures_of([outcome], start, end) == measures_of(
        [course_outcome(course_file, end, *closing)], start, end
    )
    if closing == (None, None):
        assert measures_of([outcome], start, end) == measures([course_file], start, end)


def test_a_positive_test_after_the_last_dose_is_a_safety_event_not_a_stop() -> None:
    """A course that ended on S + 20 and had a positive test on S + 25 was completed, not stopped; one the
    prescriber stopped for side effects on S + 20 stays stopped for side effects; and a kept outcome gives
    an earlier period what a replay through that period's end gives."""
    ended = dataclasses.replace(PRACTICE["positive test"], course=Course(S, S + days(20)))
    found = measures([ended], S + days(1), S + days(60))
    assert (found.courses.completed, found.courses.stopped, found.safety.positive_tests) == (1, 0, 1)
    assert found.dosing.completed == 1
    kept = course_outcome(ended, S + days(60), "stopped", "side_effects")
    stopped = measures_of([kept], S + days(1), S + days(60)).courses
    assert (stopped.stopped, stopped.stop_reasons, stopped.stopped_before_first_fill) == (
        1,
        (("side_effects", 1),),
        0,
    )
    early = S + days(1), S + days(22)
    assert measures_of([kept], *early) == measures_of(
        [course_outcome(ended, early[1], "stopped", "side_effects")], *early
    )


def test_a_course_stopped_before_its_first_fill_did_not_start_nor_end_early() -> None:
    """A positive screening test before any fill stops the course: stopped, before its first fill, so the
    comparison with the literature's courses ended early leaves it out; never filled, it never started."""
    base = PRACTICE["never filled"]
    screened = dataclasses.replace(
        base, events=(*base.events, PregnancyTest(S - days(5), "monthly", "lab", "positive"))
    )
    found = measures([screened], S - days(30), S + days(30))
    assert (found.courses.started, found.courses.stopped, found.courses.stopped_before_first_fill) == (
        0,
        1,
        1,
    )
    ended_early = next(c for c in COMPARISONS if c.key == "ended_early")
    assert ended_early.counts is not None and ended_early.counts(found) == (0, 0)
    assert ended_early.share(found) is None


@PROPERTY
@given(courses, st.integers(-60, 320), st.integers(0, 90))
def test_an_outcome_refuses_a_period_ending_on_or_after_its_change(
    course_file: CourseFile, offset: int, later: int
) -> None:
    through = through_day(offset)
    outcome = course_outcome(course_file, through)
    assume(outcome.changes_on is not None)
    assert outcome.changes_on is not None and outcome.changes_on > through
    end = outcome.changes_on + days(later)
    assert not outcome.holds_for(end)
    with pytest.raises(ValueError):
        measures_of([outcome], end - days(30), end)


def test_a_course_replayed_before_its_next_record_refuses_a_period_that_holds_it() -> None:
    # The course whose peak-dose labs were on time, replayed through S + 49: its labs of S + 50 are not known.
    outcome = course_outcome(MONITORED["peak labs on time"], S + days(49))
    assert outcome.changes_on is not None and outcome.changes_on <= S + days(50)
    with pytest.raises(ValueError):
        measures_of([outcome], S, S + days(50))


# --- (d) one course's measures are its part of each count ---------------------------------------------------


def counts(found: Measures) -> dict[str, int]:
    """Every count of the measures, keyed ``section.field`` (a tuple's entries ``section.field.name``): all
    but the medians, quartiles, least and most, which do not add (as the clinic's rows tell them apart)."""
    found_counts: dict[str, int] = {}
    for section in dataclasses.fields(found):
        figures = getattr(found, section.name)
        if not dataclasses.is_dataclass(figures):
            continue
        for field in dataclasses.fields(figures):
            if field.name.startswith(("median", "p25", "p75", "min_", "max_")):
                continue
            value = getattr(figures, field.name)
            key = f"{section.name}.{field.name}"
            if isinstance(value, tuple):
                found_counts.update({f"{key}.{name}": n for name, n in value})
            else:
                assert isinstance(value, int), key
                found_counts[key] = value
    return found_counts


@PROPERTY
@given(
    st.lists(st.tuples(courses, closings), min_size=1, max_size=4), st.integers(-60, 240), st.integers(0, 150)
)
def test_the_counts_of_each_course_add_up_to_the_counts_of_all(
    practice: list[tuple[CourseFile, tuple[Any, Any]]], offset: int, length: int
) -> None:
    start = through_day(offset)
    end = start + days(length)
    outcomes = [course_outcome(course_file, end, *closing) for course_file, closing in practice]
    total: Counter[str] = Counter()
    for outcome in outcomes:
        total.update(counts(measures_of([outcome], start, end)))
    whole = counts(measures_of(outcomes, start, end))
    assert {key: n for key, n in total.items() if n} == {key: n for key, n in whole.items() if n}
    assert set(whole) >= {key for key in total if key.count(".") == 1}


# --- the alerts and the peak-dose labs are the engine's -----------------------------------------------------


@PROPERTY
@given(courses, st.integers(-30, 300))
def test_the_alerts_kept_are_the_engines_on_every_day(course_file: CourseFile, offset: int) -> None:
    """On every day from the course's first known day (at most 200 days back) through the day replayed
    through, and on until ``changes_on`` (at most 60 days): the alerts the engine gives are those the outcome
    shows that day, acknowledged exactly when ``evaluate``'s findings are; the peak-dose labs are listed by
    the engine exactly until the day the outcome says they were done or closed; the baseline labs are judged
    on the first fill's day; a lab draw after the peak-dose draw had a cause exactly when a lab result alert
    was given the day before; the alerts open on a day are the engine's open findings, on a course in
    treatment that day."""
    through = through_day(offset)
    outcome = course_outcome(course_file, through)
    day = max(first_known_day(course_file), through - days(200))
    last = through + days(60)
    if outcome.changes_on is not None:
        last = min(last, outcome.changes_on - DAY)
    peak = outcome.peak_labs
    draws = dict(outcome.lab_draws)
    while day <= last:
        found = evaluate(course_file, day)
        assert {(a.code, a.date) for a in found.alerts} == {
            (a.code, a.date) for a in outcome.alerts if a.shown_on(day)
        }, day
        kept = {(a.code, a.date): a for a in outcome.alerts}
        for finding in found.findings:
            acknowledged_on = kept[finding.alert.code, finding.alert.date].acknowledged_on
            assert finding.open == (acknowledged_on is None or acknowledged_on > day), day
        open_acknowledgeable = [f for f in found.open_findings if f.alert.code in ACKNOWLEDGEABLE]
        in_treatment = found.phase in ("qualifying", "active", "post_course")  # no one's work after
        assert (
            len(open_acknowledgeable) * in_treatment
            == measures_of([outcome], day, day).monitoring.unacknowledged
        )
        listed = [due.date for due in found.due if due.code == "LABS_PEAK_DOSE"]
        if listed:
            assert peak is not None and peak.due == listed[0]
            assert all(d is None or d > day for d in (peak.done_on, peak.closed_on)), day
        elif peak is not None and day == (peak.done_on or peak.closed_on):
            assert (found.phase == "active") == (peak.done_on is not None)
            assert "LABS_PEAK_DOSE" in {due.code for due in evaluate(course_file, day - DAY).due}
        if day == outcome.first_fill.filled_on:
            assert outcome.baseline_labs_missing == any(
                a.code == "BASELINE_LABS_MISSING" for a in found.alerts
            )
        if day in draws and day <= through:
            before = evaluate(course_file, day - DAY).alerts
            assert draws[day] == any(a.code in RESULT_ALERTS for a in before)
        day += DAY
    if peak is None:
        assert all(d.code != "LABS_PEAK_DOSE" for d in evaluate(course_file, min(last, through)).due)


def test_a_target_reached_more_than_three_years_after_the_last_record_is_found() -> None:
    # 5 mg/day at 60 kg from S: 150 mg/kg on the 1800th day, S + 1799, beyond the three years the engine
    # projects a completion date from the last record (the projection appears once it is within them).
    course_file = dataclasses.replace(MONITORED["no labs, acknowledged"], doses=(DoseSegment(S, 5),))
    reached = S + days(1799)
    assert "TARGET_REACHED" not in {a.code for a in evaluate(course_file, reached - DAY).alerts}
    assert ("TARGET_REACHED", reached) in {(a.code, a.date) for a in evaluate(course_file, reached).alerts}
    outcome = course_outcome(course_file, S + days(2000))
    (target,) = [a for a in outcome.alerts if a.code == "TARGET_REACHED"]
    assert (target.date, target.raised_on, target.shown) == (reached, reached, ((reached, None),))
    early = course_outcome(course_file, S + days(100))  # replayed before: it claims nothing past that day
    assert early.changes_on is not None and early.changes_on <= reached


# --- ages ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (dt.date(2008, 6, 15), dt.date(2026, 6, 14), 17),  # the day before the 18th birthday
        (dt.date(2008, 6, 15), dt.date(2026, 6, 15), 18),  # on it
        (dt.date(2008, 6, 15), dt.date(2026, 1, 1), 17),
        (dt.date(2008, 12, 31), dt.date(2026, 1, 1), 17),  # a new year is no birthday
        (dt.date(2008, 2, 29), dt.date(2024, 2, 28), 15),  # born on a leap day: the day before it
        (dt.date(2008, 2, 29), dt.date(2024, 2, 29), 16),  # on it, in a leap year
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), 17),  # not yet in a year without one ...
        (dt.date(2008, 2, 29), dt.date(2026, 3, 1), 18),  # ... but on 1 March
        (dt.date(1990, 1, 1), dt.date(2026, 1, 1), 36),
        (None, dt.date(2026, 1, 1), None),
    ],
)
def test_age_on_a_day_counts_whole_years(birth: dt.date | None, day: dt.date, age: int | None) -> None:
    assert age_on(birth, day) == age


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (12, "under 18"),
        (17, "under 18"),
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-34"),
        (34, "25-34"),
        (35, "35 and over"),
        (90, "35 and over"),
        (None, "age unknown"),
        (-1, "age unknown"),  # a birth date after the start: refused by plausibility, never a band
    ],
)
def test_age_bands(age: int | None, band: str) -> None:
    assert age_band(age) == band


def test_the_age_bands_cover_every_age_once() -> None:
    bands = [name for _, _, name in AGE_BANDS]
    assert [age_band(age) for age in range(0, 120)] == sorted(
        (age_band(age) for age in range(0, 120)), key=bands.index
    )
    assert {age_band(age) for age in range(0, 120)} == set(bands)


def test_a_course_keeps_the_age_at_its_first_day_of_dosing() -> None:
    # simple_course: born 2007-02-11, first day of dosing 2025-09-08.
    assert course_outcome(MONITORED["positive test, followed up"], S).age_at_start == 18
    assert course_outcome(MONITORED["positive test, followed up"], S).age_band == "18-24"
