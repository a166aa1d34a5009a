"""Which of a patient's courses a result from outside (a lab's feed) belongs to, by its date alone.

- A lab result: the course whose dosing spans the day (start <= day <= end, or no end yet); else the first
  course that starts after the day (baseline labs come before the first dose); else the course that ended last
  before it.
- A pregnancy test: the course whose dosing spans the day; else the course whose last dose was at most
  ``POST_COURSE_TEST_DAYS`` (35) days before it (the test 30 days after the last dose, IPL-COURSE-END, a few
  days late); else the course whose first dose is at most ``SCREENING_LEAD_DAYS`` (60) days after it (a
  screening or confirmation test while qualifying); else none, and the test is entered by hand on its course.
  A day in both windows (a course ended a month before, another starts soon after) is either course's test:
  none is chosen either.

60 days before the first dose: the screening test precedes the 30 days of contraception before the
confirmation test (IPL-CON-LEAD), which precedes the first fill by at most 7 days (IPL-WIN-7): 37 days at the
least, with room for a planned start that moves.

Pure: the courses' dates in, the index of the course in the sequence given (or why none) out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from isotrack.core.schedule import AFTER_LAST_DOSE_DAYS

POST_COURSE_TEST_DAYS = AFTER_LAST_DOSE_DAYS + 5  # the test 30 days after the last dose, up to 5 days late
SCREENING_LEAD_DAYS = (
    60  # a test before the first dose: screening, 30 days' contraception, confirmation, fill
)


@dataclass(frozen=True, slots=True)
class CourseDates:
    start: dt.date  # the first day of dosing (planned while qualifying)
    end: dt.date | None = None  # the last day of dosing; None while the course runs


@dataclass(frozen=True, slots=True)
class Filing:
    index: int | None  # the course's index in the sequence given; None: no course fits
    problem: str = ""  # why none fits, in words


def running_on(courses: Sequence[CourseDates], day: dt.date) -> int | None:
    """The course whose dosing spans the day; of two (never expected), the one started last (the first of
    the sequence on a tie)."""
    found = [i for i, c in enumerate(courses) if c.start <= day and (c.end is None or day <= c.end)]
    return max(found, key=lambda i: courses[i].start, default=None)


def course_for_lab(courses: Sequence[CourseDates], day: dt.date) -> int | None:
    running = running_on(courses, day)
    if running is not None:
        return running
    ahead = [i for i, c in enumerate(courses) if c.start > day]
    if ahead:
        return min(ahead, key=lambda i: courses[i].start)
    ended = [i for i, c in enumerate(courses) if c.end is not None and c.end < day]
    return max(ended, key=lambda i: _end(courses[i]), default=None)


def course_for_pregnancy_test(courses: Sequence[CourseDates], day: dt.date) -> Filing:
    running = running_on(courses, day)
    if running is not None:
        return Filing(running)
    after = [
        i
        for i, c in enumerate(courses)
        if c.end is not None and c.end < day <= c.end + dt.timedelta(days=POST_COURSE_TEST_DAYS)
    ]
    before = [
        i for i, c in enumerate(courses) if day < c.start <= day + dt.timedelta(days=SCREENING_LEAD_DAYS)
    ]
    if after and before:
        return Filing(
            None,
            f"{day} is at most {POST_COURSE_TEST_DAYS} days after one course's last dose and at most "
            f"{SCREENING_LEAD_DAYS} days before another's first: which course's test it is, isotrack does "
            "not guess",
        )
    if after:
        return Filing(max(after, key=lambda i: _end(courses[i])))
    if before:
        return Filing(min(before, key=lambda i: courses[i].start))
    return Filing(
        None,
        f"no course was dosing on {day}, ended at most {POST_COURSE_TEST_DAYS} days before it (the test 30 "
        f"days after the last dose) or starts at most {SCREENING_LEAD_DAYS} days after it (a screening test)",
    )


def _end(course: CourseDates) -> dt.date:
    return course.end or dt.date.max
