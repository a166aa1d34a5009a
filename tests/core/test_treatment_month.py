"""The month of treatment a visit is about (core.treatment_month): a table of courses and days."""

from __future__ import annotations

from dataclasses import replace

import pytest

from isotrack.core import Course, PregnancyTest, treatment_month
from tests.core.builders import START, days, simple_course
from tests.core.test_calendar import FIRST_FILL, treated, with_events

# simple_course: first fill on START - 3 (30 days); treated(n): n fills 30 days apart from it. The supply of
# fill n runs out on FIRST_FILL + 30n; the monthly test of the next fill may be collected from 6 days before.


@pytest.mark.parametrize(
    ("fills", "day", "month"),
    [
        (0, START - days(3), 1),  # before the first fill: the visit leads to month 1
        (1, FIRST_FILL, 1),
        (1, FIRST_FILL + days(23), 1),  # the day before the next fill's test may be collected
        (1, FIRST_FILL + days(24), 2),  # IPL-WIN-7: the next fill's test from its supply's end - 6
        (1, FIRST_FILL + days(35), 2),  # late for the next fill: still the visit for month 2
        (2, FIRST_FILL + days(30), 2),
        (2, FIRST_FILL + days(53), 2),
        (2, FIRST_FILL + days(54), 3),
        (4, FIRST_FILL + days(100), 4),
    ],
)
def test_the_month_is_the_fill_the_visit_leads_to(fills, day, month):
    course_file = simple_course() if fills == 0 else treated(fills)
    assert treatment_month(course_file, day) == month


def test_a_course_ending_before_the_next_fill_stays_in_its_last_month():
    course_file = treated(2)
    course_file = replace(course_file, course=Course(START, end=FIRST_FILL + days(58)))
    assert treatment_month(course_file, FIRST_FILL + days(55)) == 2  # no fill after the end


def test_there_is_no_month_once_dosing_is_over():
    ended = replace(treated(2), course=Course(START, end=FIRST_FILL + days(50)))
    assert treatment_month(ended, FIRST_FILL + days(50)) == 2  # the last day of dosing
    assert treatment_month(ended, FIRST_FILL + days(51)) is None  # after it
    assert treatment_month(ended, FIRST_FILL + days(90)) is None


def test_a_course_stopped_by_a_positive_test_has_no_month():
    stopped = with_events(treated(1), PregnancyTest(FIRST_FILL + days(10), "monthly", "office", "positive"))
    assert treatment_month(stopped, FIRST_FILL + days(12)) is None
