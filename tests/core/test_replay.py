"""Replaying a course (core.replay): the spans, windows and first fill of hand-built courses, and the property
that judging only candidate days gives, on every day of a period, the answer ``standing`` gives directly."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isotrack.core import (
    ContraceptionUse,
    CourseFile,
    Dispense,
    Enrollment,
    Patient,
    PatientAttestation,
    Policy,
    PregnancyTest,
    PrescriberConfirmation,
    Span,
    Window,
    WindowOutcome,
    first_fill,
    replay_course,
    spans,
    standing,
    windows,
)
from isotrack.core.replay import PICK_UP, WAITED_ORDER, waited_category
from tests.core.builders import START, any_course_files, days, simple_course
from tests.core.test_change import running_courses

DAY = dt.timedelta(days=1)
S = START


def span_on(found: tuple[Span, ...], day: dt.date) -> Span:
    (span,) = [s for s in found if s.contains(day)]
    return span


# --- (a) can get pregnant, every step done, filled in the window --------------------------------------------


def filled_course() -> CourseFile:
    # simple_course: enrolled S-42, screening S-41, confirmation test S-6 (window S-6..S), the prescriber's
    # entry S-6, the patient's questions S-5; picked up S-3.
    return simple_course(events=(*simple_course().events, Dispense(S - days(3), 30)))


def test_a_first_fill_in_the_window_counts_the_days_waited_by_category() -> None:
    found = first_fill(filled_course())
    assert (found.enrolled_on, found.filled_on, found.days) == (S - days(42), S - days(3), 39)
    # S-42..S-7: no confirmation test yet (the 19 days after the screening test, and then some); S-6: the
    # patient's questions; S-5 and S-4: ready, not picked up.
    assert found.waited == (("confirmation_test", 36), ("other_steps", 1), ("ready_not_filled", 2))


def test_the_window_used_by_the_first_fill_is_filled() -> None:
    assert windows(filled_course(), S - days(42), S + days(20)) == (
        WindowOutcome(S - days(6), S, S - days(3), "filled"),
    )


def test_spans_show_the_fill_starting_the_active_phase() -> None:
    found = spans(filled_course(), S - days(42), S + days(20))
    assert [(s.first, s.last, s.phase, s.allowed) for s in found] == [
        (S - days(42), S - days(42), "qualifying", False),  # no screening test yet
        (S - days(41), S - days(7), "qualifying", False),
        (S - days(6), S - days(6), "qualifying", False),
        (S - days(5), S - days(4), "qualifying", True),
        (S - days(3), S + days(20), "active", False),  # the next month's test and entries
    ]
    assert found[3].window == Window(S - days(6), S) and found[3].blocking == ()


# --- (b) a window lost for the patient's questions, the 2021 lockout, then a fill ---------------------------


def lockout_course() -> CourseFile:
    return simple_course(
        contraception=(
            ContraceptionUse("combined_pill", S - days(120)),
            ContraceptionUse("male_condom", S - days(120)),
        ),
        events=(
            Enrollment(S - days(70)),
            PregnancyTest(S - days(69), "screening", "office", "negative"),
            PregnancyTest(S - days(40), "confirmation", "lab", "negative"),  # window S-40..S-34
            PrescriberConfirmation(S - days(40)),  # and never the patient's questions: the window is lost
            PregnancyTest(S - days(30), "confirmation", "lab", "negative"),  # 10 days later: IPL-LOCK-19
            PregnancyTest(S - days(11), "confirmation", "lab", "negative"),  # 19 days after: counts
            PrescriberConfirmation(S - days(11)),
            PatientAttestation(S - days(10)),
            Dispense(S - days(9), 30),
        ),
    )


def test_a_window_lost_for_the_patients_questions_names_them() -> None:
    assert windows(lockout_course(), S - days(70), S) == (
        WindowOutcome(S - days(40), S - days(34), None, "lost", ("PATIENT_ATTESTATION_MISSING",)),
        WindowOutcome(
            S - days(30),
            S - days(24),
            None,
            "lost",
            ("LOCKOUT_19_DAY", "PATIENT_ATTESTATION_MISSING", "PRESCRIBER_CONFIRMATION_MISSING"),
        ),
        WindowOutcome(S - days(11), S - days(5), S - days(9), "filled"),
    )


def test_the_2021_lockout_is_counted_in_the_wait_for_the_first_fill() -> None:
    found = first_fill(lockout_course())
    assert (found.enrolled_on, found.filled_on, found.days) == (S - days(70), S - days(9), 61)
    assert found.waited == (
        ("lockout", 7),  # S-30..S-24: the test taken too early, in its window
        ("missed_window", 15),  # S-33..S-31 and S-23..S-12: a new test needed
        ("confirmation_test", 30),  # S-70..S-41
        ("other_steps", 8),  # S-40..S-34 and S-11: the patient's questions
        ("ready_not_filled", 1),  # S-10
    )
    assert sum(d for _, d in found.waited) == found.days


# --- (c) a 2021 course crossing into the 2026 rules ---------------------------------------------------------


def test_spans_change_rule_set_on_the_day_the_2026_rules_take_effect() -> None:
    effective = S + days(10)
    course_file = simple_course(
        policy=Policy(ipledge_2026_effective=effective),
        events=(*simple_course().events, Dispense(S - days(3), 30)),
    )
    found = spans(course_file, S - days(3), S + days(20))
    before, after = span_on(found, effective - DAY), span_on(found, effective)
    assert before.rule_set_id == "us-ipledge-2021" and before.last == effective - DAY
    assert after.rule_set_id == "us-ipledge-2026" and after.first == effective
    # Only the rule set changed: the spans split on it alone.
    assert before.answer()[:1] + before.answer()[2:] == after.answer()[:1] + after.answer()[2:]
    assert {s.rule_set_id for s in found if s.last < effective} == {"us-ipledge-2021"}
    assert {s.rule_set_id for s in found if s.first >= effective} == {"us-ipledge-2026"}


# --- (d) cannot get pregnant, 2021: the 30-day counseling window (IPL-WIN-30) -------------------------------


def counseling_course() -> CourseFile:
    return simple_course(
        patient=Patient("cannot_get_pregnant"),
        contraception=(),
        events=(
            Enrollment(S - days(40)),
            PrescriberConfirmation(S - days(40)),  # window S-40..S-11: never picked up
            PrescriberConfirmation(S - days(5)),  # window S-5..S+24
            Dispense(S + days(2), 30),
            PrescriberConfirmation(S + days(30)),  # window S+30..S+59: open at the period's end
        ),
    )


def test_counseling_windows_are_lost_filled_and_open() -> None:
    assert windows(counseling_course(), S - days(40), S + days(40)) == (
        WindowOutcome(S - days(40), S - days(11), None, "lost", (PICK_UP,)),  # nothing else was missing
        WindowOutcome(S - days(5), S + days(24), S + days(2), "filled"),
        WindowOutcome(S + days(30), S + days(59), None, "open"),
    )


def test_counseling_windows_count_thirty_days_and_a_missed_one() -> None:
    found = first_fill(counseling_course())
    assert (found.enrolled_on, found.filled_on, found.days) == (S - days(40), S + days(2), 42)
    assert found.waited == (("missed_window", 5), ("ready_not_filled", 37))
    lost = span_on(spans(counseling_course(), S - days(40), S), S - days(11))
    assert lost.window == Window(S - days(40), S - days(11)) and lost.allowed


# --- (e) never filled ---------------------------------------------------------------------------------------


def test_a_course_never_filled_is_counted_through_its_last_known_day() -> None:
    course_file = simple_course()  # ready from S-5, never picked up; its latest date is the course start S
    found = first_fill(course_file)
    assert (found.enrolled_on, found.filled_on, found.days) == (S - days(42), None, None)
    assert found.waited == (("confirmation_test", 36), ("other_steps", 1), ("ready_not_filled", 6))
    assert windows(course_file, S - days(42), S + days(10)) == (
        WindowOutcome(S - days(6), S, None, "lost", (PICK_UP,)),
    )
    # Judged while the window is still open, it is open.
    assert windows(course_file, S - days(42), S - days(1)) == (WindowOutcome(S - days(6), S, None, "open"),)


def test_a_course_with_no_enrollment_has_no_wait() -> None:
    found = first_fill(simple_course(events=(Dispense(S, 30),)))
    assert (found.enrolled_on, found.filled_on, found.days, found.waited) == (None, S, None, ())


def test_replay_course_is_its_parts() -> None:
    course_file = lockout_course()
    replayed = replay_course(course_file, S - days(50), S + days(5))
    assert replayed.spans == spans(course_file, S - days(50), S + days(5))
    assert replayed.windows == windows(course_file, S - days(50), S + days(5))
    assert replayed.first_fill == first_fill(course_file)


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        spans(simple_course(), S, S - DAY)


def test_the_category_of_a_day_follows_the_table_order() -> None:
    assert waited_category(()) == "ready_not_filled"
    assert waited_category(("PATIENT_ATTESTATION_MISSING", "WINDOW_EXPIRED")) == "missed_window"
    assert waited_category(("LOCKOUT_19_DAY", "PREGNANCY_TEST_MISSING")) == "lockout"
    assert waited_category(("PRESCRIBER_CONFIRMATION_MISSING",)) == "other_steps"
    assert WAITED_ORDER[-2:] == ("other_steps", "ready_not_filled")


# --- properties: skipping days is right ---------------------------------------------------------------------

courses = st.one_of(running_courses(), any_course_files())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(courses, st.integers(-90, 240), st.integers(0, 90))
def test_spans_cover_every_day_with_the_answer_of_that_day(
    course_file: CourseFile, offset: int, length: int
) -> None:
    start = START + days(offset)
    end = start + days(length)
    found = spans(course_file, start, end)
    assert found[0].first == start and found[-1].last == end
    for before, after in zip(found, found[1:], strict=False):
        assert after.first == before.last + DAY  # every day exactly once
        assert after.answer() != before.answer()  # maximal runs
    for span in found:
        day = span.first
        while day <= span.last:
            direct = standing(course_file, day)
            assert span.answer() == (
                direct.phase,
                direct.rule_set.id,
                direct.dispense.allowed,
                tuple(sorted(b.code for b in direct.dispense.blocking)),
                direct.dispense.window,
            ), day
            day += DAY


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(courses)
def test_the_days_waited_sum_to_the_days_to_the_first_fill(course_file: CourseFile) -> None:
    found = first_fill(course_file)
    total = sum(d for _, d in found.waited)
    assert all(d > 0 for _, d in found.waited)
    assert [name for name, _ in found.waited] == [n for n in WAITED_ORDER if n in dict(found.waited)]
    if found.days is not None:
        assert total == max(found.days, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(courses, st.integers(-90, 240), st.integers(0, 90))
def test_window_outcomes_agree_with_their_dates(course_file: CourseFile, offset: int, length: int) -> None:
    start = START + days(offset)
    end = start + days(length)
    for outcome in windows(course_file, start, end):
        assert outcome.opens <= end and outcome.closes >= start
        if outcome.outcome == "filled":
            assert outcome.filled_on is not None and outcome.opens <= outcome.filled_on <= outcome.closes
            assert outcome.filled_on <= end and outcome.missing == ()
        elif outcome.outcome == "open":
            assert outcome.closes > end and outcome.missing == ()
        elif outcome.outcome == "lost":
            assert outcome.closes <= end and outcome.missing and "WINDOW_EXPIRED" not in outcome.missing
        else:
            assert outcome.closes <= end and outcome.missing == () and outcome.filled_on is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(courses, st.integers(-90, 240), st.integers(0, 90))
def test_window_outcomes_are_the_engine_s_answers_on_their_days(
    course_file: CourseFile, offset: int, length: int
) -> None:
    """A filled window is the one the engine shows on the fill's day; a lost one is still shown on its last
    day, its missing steps that day's blocking codes; a replaced one is no longer shown on its last day."""
    start = START + days(offset)
    end = start + days(length)
    for outcome in windows(course_file, start, end):
        window = Window(outcome.opens, outcome.closes)
        if outcome.outcome == "filled":
            assert outcome.filled_on is not None
            assert standing(course_file, outcome.filled_on).dispense.window == window
        elif outcome.outcome in ("lost", "course_closed"):
            on_last_day = standing(course_file, outcome.closes)
            assert on_last_day.dispense.window == window
            codes = tuple(
                dict.fromkeys(b.code for b in on_last_day.dispense.blocking if b.code != "WINDOW_EXPIRED")
            )
            if outcome.outcome == "lost":
                assert set(outcome.missing) == set(codes or (PICK_UP,))
        elif outcome.outcome == "replaced":
            assert standing(course_file, outcome.closes).dispense.window != window


# --- windows replaced, used on their last day, cut by the 2026 rules ---------------------------------------


def replaced_course() -> CourseFile:
    """Filled at S-3; monthly tests on S+20 and S+24 (the second replaces the first's window), both entries
    each time, the fill at S+28 within the second window."""
    month = (
        PregnancyTest(S + days(20), "monthly", "lab", "negative"),
        PrescriberConfirmation(S + days(20)),
        PatientAttestation(S + days(20)),
        PregnancyTest(S + days(24), "monthly", "lab", "negative"),
        PrescriberConfirmation(S + days(24)),
        PatientAttestation(S + days(24)),
        Dispense(S + days(28), 30),
    )
    return simple_course(events=(*filled_course().events, *month))


def test_a_window_a_newer_test_replaced_is_neither_filled_nor_lost() -> None:
    found = windows(replaced_course(), S + days(1), S + days(40))
    assert [(w.opens, w.closes, w.outcome, w.filled_on) for w in found] == [
        (S + days(20), S + days(26), "replaced", None),
        (S + days(24), S + days(30), "filled", S + days(28)),
    ]
    for start in (S + days(22), S + days(25)):  # wherever the period starts, the same outcomes
        assert [w.outcome for w in windows(replaced_course(), start, S + days(40))][-1] == "filled"
        assert "lost" not in [w.outcome for w in windows(replaced_course(), start, S + days(40))]


def test_a_fill_on_the_window_s_last_day_fills_it() -> None:
    course_file = simple_course(events=(*simple_course().events, Dispense(S, 30)))  # the window is S-6..S
    assert windows(course_file, S - days(10), S + days(10)) == (WindowOutcome(S - days(6), S, S, "filled"),)
    assert windows(course_file, S + days(1), S + days(10)) == ()  # it closed before the period


def test_a_2021_counseling_window_the_2026_rules_ended_is_replaced_not_lost() -> None:
    """Cannot get pregnant, counseled under the 2021 rules (IPL-WIN-30) on S+30; the 2026 rules take effect on
    S+40 (IPL-2026-CNGP: no 30-day window): the window was not missed, the rules ended it."""
    crossing = simple_course(
        patient=Patient("cannot_get_pregnant"),
        contraception=(),
        events=counseling_course().events,
        policy=Policy(ipledge_2026_effective=S + days(40)),
    )
    found = windows(crossing, S + days(25), S + days(70))
    assert [(w.opens, w.outcome) for w in found] == [(S + days(30), "replaced")]
    assert [w.outcome for w in windows(counseling_course(), S + days(25), S + days(70))] == ["lost"]  # 2021
    assert span_on(spans(crossing, S + days(25), S + days(70)), S + days(40)).rule_set_id == "us-ipledge-2026"
