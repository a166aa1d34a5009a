"""Due items: dated next steps (spec "Due vocabulary"), soonest first.

Decisions where the spec is silent:

- A due date already past stays listed (it is overdue, which is exactly what staff must see).
- "Results exist" and "a test is done" mean dated on or before the day (as everywhere, later records are not
  yet known).
- Items of the same date are listed in the vocabulary's order.
- A course end set in the future already lists the end-of-course items (they are the plan).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from isotrack.core.course import CourseFile, Policy
from isotrack.core.history import History
from isotrack.core.rules.ipledge import IPL_COURSE_END

DAY = dt.timedelta(days=1)
END_OF_COURSE_TEST_LEAD_DAYS = 7  # spec PREGNANCY_TEST_END_OF_COURSE: a test dated >= end - 7 counts
AFTER_LAST_DOSE_DAYS = 30  # reference.md 1.7: test, contraception and no blood donation 30 days after


def peak_labs_count_from_days(policy: Policy) -> int:
    """Spec LABS_PEAK_DOSE (LAB-PEAK ⚙): results dated on or after first dispense + half of
    ``labs_peak_days`` count as the peak-dose labs (30 with the default 60). Dates are whole days, so a half
    day rounds up: a result must be dated on or after that instant."""
    return math.ceil(policy.labs_peak_days / 2)


DUE_CODES: tuple[str, ...] = (
    "NEXT_DISPENSE",
    "PREGNANCY_TEST_MONTHLY",
    "LABS_PEAK_DOSE",
    "PREGNANCY_TEST_END_OF_COURSE",
    "PREGNANCY_TEST_POST_COURSE",
    "CONTRACEPTION_UNTIL",
    "NO_BLOOD_DONATION_UNTIL",
)
DUE_RULE_IDS: dict[str, str] = {
    "NEXT_DISPENSE": "IPL-SUPPLY",
    "PREGNANCY_TEST_MONTHLY": "IPL-PT-MONTH",
    "LABS_PEAK_DOSE": "LAB-PEAK",
    "PREGNANCY_TEST_END_OF_COURSE": IPL_COURSE_END,
    "PREGNANCY_TEST_POST_COURSE": IPL_COURSE_END,
    "CONTRACEPTION_UNTIL": "IPL-CON-2",
    "NO_BLOOD_DONATION_UNTIL": IPL_COURSE_END,
}


@dataclass(frozen=True, slots=True)
class Due:
    code: str
    date: dt.date

    @property
    def rule_id(self) -> str:
        return DUE_RULE_IDS[self.code]


def due_items(course_file: CourseFile, history: History, phase: str) -> tuple[Due, ...]:
    found: list[Due] = []
    can_get_pregnant = course_file.patient.category == "can_get_pregnant"
    last, first = history.last_dispense, history.first_dispense
    if phase == "active" and last is not None and first is not None:
        next_fill = last.date + last.days_supply * DAY  # IPL-SUPPLY
        found.append(Due("NEXT_DISPENSE", next_fill))
        if can_get_pregnant:
            found.append(Due("PREGNANCY_TEST_MONTHLY", next_fill))  # IPL-PT-MONTH: collect by then
        counts_from = first.date + peak_labs_count_from_days(course_file.policy) * DAY
        if not _peak_labs_done(history, counts_from):
            found.append(
                Due("LABS_PEAK_DOSE", first.date + course_file.policy.labs_peak_days * DAY)
            )  # LAB-PEAK
    end = course_file.course.end
    if end is not None and last is not None and phase != "stopped":
        after = end + AFTER_LAST_DOSE_DAYS * DAY
        if can_get_pregnant:
            if not _negative_test(history, "end_of_course", end - END_OF_COURSE_TEST_LEAD_DAYS * DAY):
                found.append(Due("PREGNANCY_TEST_END_OF_COURSE", end))
            if not _negative_test(history, "post_course", after):
                found.append(Due("PREGNANCY_TEST_POST_COURSE", after))
            if history.day <= after:
                found.append(
                    Due("CONTRACEPTION_UNTIL", after)
                )  # IPL-CON-2: until 1 month after the last dose
        if history.day <= after:
            found.append(Due("NO_BLOOD_DONATION_UNTIL", after))
    return tuple(sorted(found, key=lambda d: (d.date, DUE_CODES.index(d.code))))


def _peak_labs_done(history: History, counts_from: dt.date) -> bool:
    tests = {r.test for r in history.labs if r.date >= counts_from}
    return "triglycerides" in tests and "alt" in tests


def _negative_test(history: History, purpose: str, counts_from: dt.date) -> bool:
    return any(
        t.purpose == purpose and t.result == "negative" and t.date >= counts_from
        for t in history.pregnancy_tests
    )


def end_of_course_tests_done(course_file: CourseFile, history: History) -> bool:
    """Both the end-of-course and the post-course negative tests are done (spec phase ``completed``)."""
    end = course_file.course.end
    if end is None:
        return False
    return _negative_test(
        history, "end_of_course", end - END_OF_COURSE_TEST_LEAD_DAYS * DAY
    ) and _negative_test(history, "post_course", end + AFTER_LAST_DOSE_DAYS * DAY)
