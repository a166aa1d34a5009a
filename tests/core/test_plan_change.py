"""How long a therapy calendar holds (core.change.plan_until_change, judge_until_change) and how an event's
status moves with the day alone (core.calendar.event_status_on): a plan made on day D and read on a later day
with ``TherapyCalendar.on`` is the core's calendar of that day on every day before its change date, and
differs on it (unless the horizon ended the search)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isotrack.core import (
    HORIZON_DAYS,
    CourseFile,
    CourseFileError,
    DoseSegment,
    Interruption,
    LabResult,
    NextStep,
    PlannedEvent,
    TherapyCalendar,
    answer,
    dose_report,
    event_status_on,
    judge_until_change,
    next_step,
    next_step_until_change,
    overdue_from,
    parse_course_file,
    plan_until_change,
    therapy_calendar,
)
from tests.core.builders import START, any_course_files, days, simple_course
from tests.core.test_calendar import FIRST_FILL, treated, with_events
from tests.core.test_change import COURSE_FILES, running_courses

DAY = dt.timedelta(days=1)
D = dt.date(2026, 3, 10)  # the day an event of the tables was planned on


def assert_plan_holds_until_change(course_file: CourseFile, day: dt.date) -> dt.date:
    """The property: the plan made on ``day``, read on each later day before ``changes_on``, is the core's
    calendar of that day; on ``changes_on`` it is not (unless the horizon ended the search)."""
    plan = plan_until_change(course_file, day)
    assert plan.changes_on is not None
    assert day < plan.changes_on <= day + HORIZON_DAYS * DAY
    assert plan.events == therapy_calendar(course_file, day).events
    between = day + DAY
    while between < plan.changes_on:
        assert therapy_calendar(course_file, between).events == plan.on(between), f"{day}: {between}"
        between += DAY
    if plan.changes_on < day + HORIZON_DAYS * DAY:
        assert therapy_calendar(course_file, plan.changes_on).events != plan.on(plan.changes_on)
    return plan.changes_on


def assert_both_hold_until_change(course_file: CourseFile, day: dt.date) -> None:
    """``judge_until_change``: from one evaluation a day, the next step and the plan each with the change date
    it has alone (``next_step_until_change``, ``plan_until_change``), and each holds until it."""
    found, plan = judge_until_change(course_file, day)
    assert found is not None and plan is not None
    assert found == next_step_until_change(course_file, day)
    assert plan == plan_until_change(course_file, day)
    assert_step_holds(course_file, day, found)
    assert_plan_holds(course_file, day, plan)


def assert_step_holds(course_file: CourseFile, day: dt.date, found: NextStep) -> None:
    assert found.changes_on is not None
    held = answer(found)
    between = day + DAY
    while between < found.changes_on:
        assert answer(next_step(course_file, between)) == held, between
        between += DAY
    if found.changes_on < day + HORIZON_DAYS * DAY:
        assert answer(next_step(course_file, found.changes_on)) != held


def assert_plan_holds(course_file: CourseFile, day: dt.date, plan: TherapyCalendar) -> None:
    assert plan.changes_on is not None
    between = day + DAY
    while between < plan.changes_on:
        assert therapy_calendar(course_file, between).events == plan.on(between), between
        between += DAY
    if plan.changes_on < day + HORIZON_DAYS * DAY:
        assert therapy_calendar(course_file, plan.changes_on).events != plan.on(plan.changes_on)


# --- table: an event's status on a later day -------------------------------------------------------------


def planned(kind: str, status: str, date: dt.date = D, **fields: object) -> PlannedEvent:
    values: dict[str, object] = {"earliest": date, "latest": date}
    values.update(fields)
    return PlannedEvent(kind, 1, date, status=status, **values)  # type: ignore[arg-type]


STATUS_TABLE = [
    # (event as planned, day read, status on that day)
    (planned("pick_up", "done", done_on=D), D + days(40), "done"),
    (planned("pregnancy_test", "overdue"), D + days(40), "overdue"),
    (planned("pick_up", "waiting", earliest=D - days(6)), D + days(3), "waiting"),
    (planned("visit", "past"), D + days(3), "past"),
    (planned("pick_up", "upcoming", earliest=D - days(6)), D - days(7), "upcoming"),
    (planned("pick_up", "upcoming", earliest=D - days(6)), D - days(6), "open"),  # its earliest day
    (planned("pick_up", "open", earliest=D - days(6)), D + days(9), "open"),  # the engine says overdue
    (planned("labs_baseline", "upcoming", earliest=D - days(30)), D - days(30), "open"),
    (planned("labs_peak", "upcoming", earliest=D - days(30)), D - days(31), "upcoming"),
    (planned("pick_up", "upcoming", D, earliest=D - days(6), projected=True), D - days(2), "upcoming"),
    (planned("visit", "upcoming", D, earliest=D - days(6), projected=True), D + days(10), "upcoming"),
    (planned("alert_review", "open"), D, "open"),
    (planned("alert_review", "open"), D + DAY, "overdue"),  # ALERT-URGENCY: reviewed the alert's day
    (planned("projected_end", "upcoming", projected=True), D, "upcoming"),
    (planned("projected_end", "upcoming", projected=True), D + DAY, "past"),
    (planned("contraception_until", "upcoming", earliest=D - days(30)), D - days(2), "upcoming"),
    (planned("no_blood_donation_until", "upcoming", earliest=D - days(30)), D + DAY, "past"),
    (planned("dosing_resumes", "upcoming"), D + days(5), "upcoming"),
    # A test after the end while no due item asks for it: open from its earliest to its latest day, then past.
    (planned("pregnancy_test_end_of_course", "upcoming", earliest=D - days(5)), D - days(6), "upcoming"),
    (planned("pregnancy_test_end_of_course", "upcoming", earliest=D - days(5)), D - days(5), "open"),
    (planned("pregnancy_test_end_of_course", "open", earliest=D - days(5)), D + DAY, "past"),
    # ...and once the engine's due item asks for it, open from its earliest day (the engine says overdue).
    (
        planned("pregnancy_test_post_course", "open", due_code="PREGNANCY_TEST_POST_COURSE", due_date=D),
        D + days(4),
        "open",
    ),
    (planned("pregnancy_report", "open"), D + days(2), "open"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "day", "status"), STATUS_TABLE)
def test_an_events_status_on_a_later_day_follows_from_its_own_fields(event, day, status):
    assert event_status_on(event, day) == status


@pytest.mark.parametrize(("event", "day", "status"), STATUS_TABLE)
def test_the_first_overdue_day_agrees_with_the_status(event, day, status):
    first = overdue_from(event)
    assert (status == "overdue") == (first is not None and day >= first)


def test_the_change_search_reads_every_date_a_planned_event_holds():
    # judge_until_change reads these five directly: a new date field must be added there too.
    dated = {f.name for f in dataclasses.fields(PlannedEvent) if "date" in str(f.type)}
    assert dated == {"date", "earliest", "latest", "done_on", "due_date"}


def test_holds_on_is_on_compared_without_building_it():
    course_file = treated(2)
    for offset in range(-40, 120, 7):
        plan = therapy_calendar(course_file, FIRST_FILL + days(offset))
        for later in (1, 3, 8, 20):
            day = plan.day + days(later)
            events = therapy_calendar(course_file, day).events
            assert plan.holds_on(day, events) == (plan.on(day) == events)
            assert plan.holds_on(day, plan.on(day))


def test_read_on_its_own_day_a_plan_is_the_calendar_itself():
    course_file = treated(2)
    for offset in range(-40, 120, 9):
        calendar = therapy_calendar(course_file, FIRST_FILL + days(offset))
        assert calendar.on(calendar.day) == calendar.events


# --- table: known change dates ---------------------------------------------------------------------------


def test_a_plan_changes_the_day_its_window_closes_unfilled():
    # One fill; the monthly test on + 27 opens the pick-up window until + 33 (IPL-WIN-7).
    course_file = with_events(treated(1), LabResult(FIRST_FILL + days(20), "alt", 19, "U/L"))
    day = FIRST_FILL + days(28)
    plan = plan_until_change(course_file, day)
    assert plan.changes_on is not None and plan.changes_on <= FIRST_FILL + days(31)
    assert_plan_holds_until_change(course_file, day)


def test_a_screening_test_planned_today_moves_with_the_day_and_the_plan_holds():
    course_file = simple_course(events=())  # nothing recorded: the screening test is planned today
    day = START - days(30)
    plan = plan_until_change(course_file, day)
    screening = next(e for e in plan.events if e.kind == "screening_test")
    assert screening.floating and screening.date == day
    assert plan.changes_on is not None and plan.changes_on > day + DAY
    tomorrow = next(e for e in plan.on(day + DAY) if e.kind == "screening_test")
    assert (tomorrow.date, tomorrow.earliest, tomorrow.latest) == (day + DAY,) * 3
    assert tomorrow.status == "open"
    assert_plan_holds_until_change(course_file, day)


def test_a_late_fill_moves_the_projected_fills_with_each_day():
    course_file = treated(1)
    day = FIRST_FILL + days(35)  # the second fill was due on + 30
    plan = plan_until_change(course_file, day)
    projected = [e for e in plan.events if e.projected and e.kind == "pick_up" and e.number > 2]
    assert projected and all(e.floating and e.date > day for e in projected)
    assert not any(e.floating for e in plan.events if not e.projected and e.kind == "pick_up")
    assert plan.changes_on is not None and plan.changes_on > day + DAY
    later = plan.on(day + days(3))
    keys = {p.key for p in projected}
    assert [e.date for e in later if e.key in keys] == [e.date + days(3) for e in projected]
    assert_plan_holds_until_change(course_file, day)


def test_a_projected_fill_that_passes_the_end_changes_the_plan_that_day():
    # Late, its fills projected from today: the last one leaves the plan the first day it would fall after
    # the end, a day that is none of the plan's or the facts' dates.
    course_file = treated(1)
    checked = 0
    for offset in range(35, 80, 4):
        day = FIRST_FILL + days(offset)
        plan = plan_until_change(course_file, day)
        assert plan.end is not None and plan.changes_on is not None
        fills = [e.date for e in plan.events if e.floating and e.kind == "pick_up"]
        if not fills:
            continue
        passes = plan.end.date - (max(fills) - day) + DAY
        if passes < day + HORIZON_DAYS * DAY:
            assert plan.changes_on <= passes
            assert len(therapy_calendar(course_file, passes).events) < len(plan.events)
            checked += 1
        assert_plan_holds_until_change(course_file, day)
    assert checked


def test_a_projection_that_comes_within_three_years_changes_the_plan_that_day():
    # 5 mg/day at 58 kg: the target lies about 3.8 years ahead, beyond the three years a completion date is
    # projected for; it is projected from the first day the target lies within three years of the day, a
    # bound counted from the day and no fact's date (found by the property test below).
    course_file = treated(1, doses=(DoseSegment(START, 5, "conventional"),))
    appears = next(
        START + days(n)
        for n in range(900)
        if dose_report(course_file, START + days(n)).projected_completion_date
    )
    assert appears > START + days(200)
    day = appears - days(10)
    plan = plan_until_change(course_file, day)
    assert plan.end is None and plan.changes_on == appears
    assert therapy_calendar(course_file, appears).end is not None
    assert_plan_holds_until_change(course_file, day)
    assert_both_hold_until_change(course_file, day)


def test_a_hold_that_ends_changes_the_plan():
    day = FIRST_FILL + days(10)
    course_file = replace(
        treated(1), interruptions=(Interruption(day - days(2), day + days(5), "nosebleeds"),)
    )
    assert plan_until_change(course_file, day).changes_on <= day + days(7)  # type: ignore[operator]
    assert_plan_holds_until_change(course_file, day)


@pytest.mark.parametrize("path", COURSE_FILES, ids=lambda p: p.name)
def test_every_course_files_plan_holds_until_its_change_date(path: Path) -> None:
    try:
        course_file = parse_course_file(json.loads(path.read_text()))
    except (CourseFileError, ValueError):
        return  # the files of invalid input have no plan (their own tests check the refusal)
    as_of = course_file.as_of or course_file.course.start
    for offset in (-35, -8, -1, 0, 1, 6, 20):
        assert_plan_holds_until_change(course_file, as_of + days(offset))


# --- properties: random courses ----------------------------------------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(running_courses(), st.integers(-30, 240))
def test_a_running_courses_plan_holds_until_its_change_date(course_file: CourseFile, offset: int) -> None:
    assert_plan_holds_until_change(course_file, START + days(offset))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_course_files(), st.integers(-60, 400))
def test_any_course_files_plan_holds_until_its_change_date(course_file: CourseFile, offset: int) -> None:
    assert_plan_holds_until_change(course_file, START + days(offset))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(running_courses(), st.integers(-30, 240))
def test_the_step_and_the_plan_judged_together_hold_until_the_first_change(
    course_file: CourseFile, offset: int
) -> None:
    assert_both_hold_until_change(course_file, START + days(offset))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(running_courses(), st.integers(-30, 240), st.integers(0, 40), st.integers(0, 40))
def test_reading_a_plan_on_a_later_day_composes(course_file: CourseFile, offset: int, a: int, b: int) -> None:
    """Statuses read on day A, then read again on a later day B, are the statuses read on B: a plan kept
    from an earlier day and one made on A read the same from B on (what lets a stored event stay)."""
    day = START + days(offset)
    first, later = day + days(min(a, b)), day + days(max(a, b))
    for event in therapy_calendar(course_file, day).events:
        on_first = replace(event, status=event_status_on(event, first))
        assert event_status_on(on_first, later) == event_status_on(event, later)
        overdue = overdue_from(event)
        assert (event_status_on(event, later) == "overdue") == (overdue is not None and later >= overdue)
