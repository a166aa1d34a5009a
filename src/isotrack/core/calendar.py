"""The therapy calendar of one course: every planned event with its earliest and latest acceptable day.

``therapy_calendar(course_file, day, policy=None, rules=None, evaluation=None) -> TherapyCalendar`` lists,
recomputed from the facts each time (nothing is stored, so nothing goes stale):

- ``labs_baseline``: fasting lipids and liver tests before the first dose (LAB-BASE);
- for each fill n (1 = the first): ``visit``, ``pregnancy_test`` (can get pregnant: the confirmation test for
  n = 1, the monthly test later) and ``pick_up``; the test's 7-day window must cover the fill, so it is placed
  between the supply's last 6 days and its last day (IPL-WIN-7, IPL-PT-MONTH); once a qualifying test (or a
  2021 counseling visit) has opened the window, ``pick_up_window`` is that window (IPL-WIN-7, IPL-WIN-30);
- ``labs_peak``: the peak-dose labs, counted from first dispense + 30, due at first dispense + the practice's
  days (LAB-PEAK);
- ``projected_end``: the course end, or while it is not set the evaluation's projected completion date, so
  the events after it move with the dose; from it ``pregnancy_test_end_of_course``,
  ``pregnancy_test_post_course``, ``contraception_until`` (can get pregnant) and ``no_blood_donation_until``
  (reference.md 1.7).

Every due item of the evaluation has the event of its code (``PlannedEvent.due_code``) with the same date.
Each event has a stable ``key`` (``kind`` and ``number``: the fill number, else 1), so that a calendar app
that receives the plan again updates its events instead of duplicating them.

Decisions where the spec and reference are silent:

- Fill n + 1 is planned on fill n's day + its days of supply (spec NEXT_DISPENSE); fills after the next are
  projected 30 days apart (IPL-SUPPLY) while they fall on or before the end (set or projected), at most
  ``MAX_PROJECTED_FILLS`` of them.
- The monthly visit is where the test is collected: it has the test's range (for either category).
- The pick-up of an on-time fill is in the same range as its test; a past fill's planned day is the day its
  supply was planned to run out, and its done day the dispense.
- Baseline labs are acceptable from enrollment (else 30 days before the first fill) through the first fill
  (or the day before the course start while there is none).
- The end-of-course test counts from end - 7 (spec); the post-course test from end + 30.
- A stopped course (positive test) plans nothing further: the next steps are clinical, not scheduled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from isotrack.core.course import CourseFile, Dispense, Policy, PregnancyTest, Visit
from isotrack.core.evaluate import Evaluation, evaluate
from isotrack.core.history import History, history_until
from isotrack.core.rules.ipledge import IPL_COURSE_END, TEST_WINDOW_DAYS
from isotrack.core.schedule import (
    AFTER_LAST_DOSE_DAYS,
    END_OF_COURSE_TEST_LEAD_DAYS,
    peak_labs_count_from_days,
)

DAY = dt.timedelta(days=1)
WINDOW_LEAD_DAYS = TEST_WINDOW_DAYS - 1  # IPL-WIN-7: a test up to 6 days before the fill still covers it
PROJECTED_DAYS_SUPPLY = 30  # IPL-SUPPLY: fills after the next one are planned as full 30-day supplies
MAX_PROJECTED_FILLS = 12  # a course of 15-20 weeks needs 4-5; a low-dose one runs longer
BASELINE_LABS_LOOKBACK_DAYS = 30  # LAB-BASE: without an enrollment date, labs of the last month count

Kind: TypeAlias = Literal[
    "labs_baseline",
    "visit",
    "pregnancy_test",
    "pick_up_window",
    "pick_up",
    "labs_peak",
    "projected_end",
    "pregnancy_test_end_of_course",
    "pregnancy_test_post_course",
    "contraception_until",
    "no_blood_donation_until",
]
KINDS: tuple[Kind, ...] = (
    "labs_baseline",
    "visit",
    "pregnancy_test",
    "pick_up_window",
    "pick_up",
    "labs_peak",
    "projected_end",
    "pregnancy_test_end_of_course",
    "pregnancy_test_post_course",
    "contraception_until",
    "no_blood_donation_until",
)
KIND_RULE_IDS: dict[str, str] = {
    "labs_baseline": "LAB-BASE",
    "visit": "IPL-PT-MONTH",
    "pregnancy_test": "IPL-WIN-7",
    "pick_up_window": "IPL-WIN-7",
    "pick_up": "IPL-SUPPLY",
    "labs_peak": "LAB-PEAK",
    "projected_end": "DOSE-TARGET",
    "pregnancy_test_end_of_course": IPL_COURSE_END,
    "pregnancy_test_post_course": IPL_COURSE_END,
    "contraception_until": "IPL-CON-2",
    "no_blood_donation_until": IPL_COURSE_END,
}
# Events that ask someone to do something (reminders and alarms); the others are dates to know.
STEP_KINDS: frozenset[str] = frozenset(
    {
        "labs_baseline",
        "visit",
        "pregnancy_test",
        "pick_up_window",
        "pick_up",
        "labs_peak",
        "pregnancy_test_end_of_course",
        "pregnancy_test_post_course",
    }
)
# Plain words for staff (patients get the fewer words of ``PATIENT_WORDS``).
KIND_LABELS: dict[str, str] = {
    "labs_baseline": "Baseline labs (lipids, liver tests)",
    "visit": "Monthly visit",
    "pregnancy_test": "Pregnancy test for the next fill",
    "pick_up_window": "Pick-up window closes",
    "pick_up": "Next fill",
    "labs_peak": "Peak-dose labs",
    "projected_end": "Last day of dosing",
    "pregnancy_test_end_of_course": "End-of-course pregnancy test",
    "pregnancy_test_post_course": "Pregnancy test 30 days after the last dose",
    "contraception_until": "Two contraception methods until",
    "no_blood_donation_until": "No blood donation until",
}
# What a patient's own calendar and e-mail say: never the drug, a result or a contraception method.
PATIENT_WORDS: dict[str, str] = {
    "labs_baseline": "Lab visit",
    "visit": "Clinic visit",
    "pregnancy_test": "Lab visit",
    "pick_up_window": "Pick up prescription by",
    "pick_up": "Pick up prescription by",
    "labs_peak": "Lab visit",
    "projected_end": "Last planned treatment day",
    "pregnancy_test_end_of_course": "Lab visit",
    "pregnancy_test_post_course": "Lab visit",
    "contraception_until": "Keep using birth control through today",
    "no_blood_donation_until": "No blood donation through today",
}
DUE_KINDS: dict[str, Kind] = {
    "NEXT_DISPENSE": "pick_up",
    "PREGNANCY_TEST_MONTHLY": "pregnancy_test",
    "LABS_PEAK_DOSE": "labs_peak",
    "PREGNANCY_TEST_END_OF_COURSE": "pregnancy_test_end_of_course",
    "PREGNANCY_TEST_POST_COURSE": "pregnancy_test_post_course",
    "CONTRACEPTION_UNTIL": "contraception_until",
    "NO_BLOOD_DONATION_UNTIL": "no_blood_donation_until",
}

Status: TypeAlias = Literal["done", "overdue", "open", "upcoming", "past"]


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One planned event. ``date`` is the planned day (the due item's date where there is one);
    ``earliest``/``latest`` the acceptable days, both inclusive."""

    kind: Kind
    number: int
    date: dt.date
    earliest: dt.date
    latest: dt.date
    done_on: dt.date | None = None
    projected: bool = False  # depends on a projection (the projected end, fills beyond the next)
    due_code: str | None = None
    superseded: bool = False  # a step of a fill already picked up: no longer to do, done or not

    @property
    def key(self) -> str:
        """Stable across recomputations: the same step keeps its key when its dates move."""
        return f"{self.kind.replace('_', '-')}-{self.number}"

    @property
    def rule_id(self) -> str:
        return KIND_RULE_IDS[self.kind]

    @property
    def is_step(self) -> bool:
        return self.kind in STEP_KINDS

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def patient_words(self) -> str:
        return PATIENT_WORDS[self.kind]

    def status(self, day: dt.date) -> Status:
        if self.done_on is not None:
            return "done"
        if self.superseded or not self.is_step:
            return "past" if self.date < day else "upcoming"
        if self.latest < day:
            return "overdue"
        if self.earliest <= day:
            return "open"
        return "upcoming"


@dataclass(frozen=True, slots=True)
class TherapyCalendar:
    day: dt.date
    evaluation: Evaluation
    events: tuple[PlannedEvent, ...] = field(default=())

    @property
    def end(self) -> PlannedEvent | None:
        return next((e for e in self.events if e.kind == "projected_end"), None)

    def between(self, first: dt.date, last: dt.date) -> tuple[PlannedEvent, ...]:
        """The events whose planned day falls in [first, last]."""
        return tuple(e for e in self.events if first <= e.date <= last)

    def by_key(self) -> dict[str, PlannedEvent]:
        return {e.key: e for e in self.events}


def therapy_calendar(
    course_file: CourseFile,
    day: dt.date,
    policy: Policy | None = None,
    rules: str | None = None,
    evaluation: Evaluation | None = None,
) -> TherapyCalendar:
    """The course's planned events as known on ``day`` (the practice's local date), soonest first."""
    if evaluation is None:
        evaluation = evaluate(course_file, day, policy, rules)
    policy = policy or course_file.policy
    history = history_until(course_file, day)
    can_get_pregnant = course_file.patient.category == "can_get_pregnant"
    due = {d.code: d.date for d in evaluation.due}
    end, end_projected = _end(course_file, evaluation)
    found: list[PlannedEvent] = [_baseline_labs(course_file, history)]
    found += _past_fills(course_file, history, can_get_pregnant)
    if evaluation.phase in ("qualifying", "active"):
        found += _next_fills(course_file, history, evaluation, due, end, can_get_pregnant)
    if history.first_dispense is not None:
        peak = _peak_labs(history, policy, due)
        if evaluation.phase == "active" or peak.done_on is not None:
            found.append(peak)
    if end is not None and evaluation.phase != "stopped":
        found += _after_the_end(history, end, end_projected, due, can_get_pregnant)
    order = {kind: index for index, kind in enumerate(KINDS)}
    return TherapyCalendar(
        day=day,
        evaluation=evaluation,
        events=tuple(sorted(found, key=lambda e: (e.date, order[e.kind], e.number))),
    )


def _end(course_file: CourseFile, evaluation: Evaluation) -> tuple[dt.date | None, bool]:
    if course_file.course.end is not None:
        return course_file.course.end, False
    return evaluation.dose.projected_completion_date, True


def _first(dates: Iterable[dt.date]) -> dt.date | None:
    return min(dates, default=None)


def _both_labs(history: History, first: dt.date, last: dt.date) -> dt.date | None:
    """The day by which triglycerides and ALT results both exist in [first, last] (LAB-BASE, LAB-PEAK)."""
    found = []
    for test in ("triglycerides", "alt"):
        day = _first(r.date for r in history.labs if r.test == test and first <= r.date <= last)
        if day is None:
            return None
        found.append(day)
    return max(found)


def _baseline_labs(course_file: CourseFile, history: History) -> PlannedEvent:
    """LAB-BASE: triglycerides and ALT on or before the first fill (the spec's BASELINE_LABS_MISSING)."""
    first = history.first_dispense
    latest = first.date if first is not None else course_file.course.start - DAY
    enrolled = history.enrollments[0].date if history.enrollments else None
    earliest = min(enrolled, latest) if enrolled else latest - BASELINE_LABS_LOOKBACK_DAYS * DAY
    done_on = _both_labs(history, dt.date.min, latest)
    return PlannedEvent("labs_baseline", 1, latest, earliest, latest, done_on)


def _test_for(history: History, after: dt.date | None, until: dt.date, purpose: str) -> PregnancyTest | None:
    """The first negative test of the purpose dated after ``after`` (None: any) through ``until``."""
    return next(
        (
            t
            for t in history.pregnancy_tests
            if t.purpose == purpose and t.negative and (after is None or t.date > after) and t.date <= until
        ),
        None,
    )


def _visit_between(
    history_visits: Iterable[dt.date], after: dt.date | None, until: dt.date
) -> dt.date | None:
    return _first(d for d in history_visits if (after is None or d > after) and d <= until)


def _past_fills(course_file: CourseFile, history: History, can_get_pregnant: bool) -> list[PlannedEvent]:
    """Fills already picked up: done, with the day each was planned for."""
    found: list[PlannedEvent] = []
    previous: Dispense | None = None
    visits = _visit_days(course_file, history.day)
    for number, dispense in enumerate(history.dispenses, start=1):
        planned = previous.date + previous.days_supply * DAY if previous else dispense.date
        earliest = min(planned - WINDOW_LEAD_DAYS * DAY, dispense.date)
        latest = max(planned, dispense.date)
        after = previous.date if previous else None
        if previous is not None:
            visit = _visit_between(visits, after, dispense.date)
            found.append(PlannedEvent("visit", number, planned, earliest, latest, visit, superseded=True))
        if can_get_pregnant:
            purpose = "monthly" if previous else "confirmation"
            test = _test_for(history, after, dispense.date, purpose)
            done_on = test.date if test else None
            found.append(
                PlannedEvent("pregnancy_test", number, planned, earliest, latest, done_on, superseded=True)
            )
        found.append(
            PlannedEvent("pick_up", number, planned, earliest, latest, dispense.date, superseded=True)
        )
        previous = dispense
    return found


def _visit_days(course_file: CourseFile, day: dt.date) -> list[dt.date]:
    """Visits decide nothing in an evaluation, so History leaves them out; the calendar reads them here."""
    return sorted({e.date for e in course_file.events if isinstance(e, Visit) and e.date <= day})


def _next_fills(
    course_file: CourseFile,
    history: History,
    evaluation: Evaluation,
    due: dict[str, dt.date],
    end: dt.date | None,
    can_get_pregnant: bool,
) -> list[PlannedEvent]:
    """The next fill (its date is the due item's) and the ones projected after it, while the course runs."""
    last = history.last_dispense
    number = len(history.dispenses) + 1
    if last is None:
        next_fill = course_file.course.start - DAY  # the first fill: by the day before the first dose
        supply = PROJECTED_DAYS_SUPPLY
    else:
        next_fill = last.date + last.days_supply * DAY  # spec NEXT_DISPENSE
        supply = last.days_supply
    visits = _visit_days(course_file, history.day)
    found = [
        _with_due(event, code, due)
        for event, code in _fill(history, visits, number, next_fill, can_get_pregnant, projected=False)
    ]
    window = evaluation.dispense.window
    if window is not None and (last is None or window.opens > last.date):
        found.append(PlannedEvent("pick_up_window", number, window.closes, window.opens, window.closes))
    fill = next_fill
    for extra in range(1, MAX_PROJECTED_FILLS + 1):
        fill = fill + supply * DAY
        supply = PROJECTED_DAYS_SUPPLY
        if end is None or fill > end:
            break
        found += [
            e for e, _ in _fill(history, visits, number + extra, fill, can_get_pregnant, projected=True)
        ]
    return found


def _fill(
    history: History,
    visits: list[dt.date],
    number: int,
    fill: dt.date,
    can_get_pregnant: bool,
    *,
    projected: bool,
) -> list[tuple[PlannedEvent, str]]:
    """The visit, the test and the pick-up of fill ``number``, each with the due code it answers."""
    earliest = fill - WINDOW_LEAD_DAYS * DAY  # IPL-WIN-7: a test from here on covers the fill
    last = history.last_dispense
    after = last.date if last is not None else None
    found: list[tuple[PlannedEvent, str]] = []
    if number > 1:
        visit = None if projected else _visit_between(visits, after, history.day)
        found.append((PlannedEvent("visit", number, fill, earliest, fill, visit, projected), ""))
    if can_get_pregnant:
        purpose = "confirmation" if number == 1 else "monthly"
        test = None if projected else _test_for(history, after, history.day, purpose)
        done_on = test.date if test else None
        found.append(
            (
                PlannedEvent("pregnancy_test", number, fill, earliest, fill, done_on, projected),
                "PREGNANCY_TEST_MONTHLY",
            )
        )
    found.append((PlannedEvent("pick_up", number, fill, earliest, fill, None, projected), "NEXT_DISPENSE"))
    return found


def _peak_labs(history: History, policy: Policy, due: dict[str, dt.date]) -> PlannedEvent:
    """LAB-PEAK: results dated from first dispense + 30 count; due at first dispense + the practice's days."""
    first = history.first_dispense
    assert first is not None
    counts_from = first.date + peak_labs_count_from_days(policy) * DAY
    planned = due.get("LABS_PEAK_DOSE", first.date + policy.labs_peak_days * DAY)
    done_on = _both_labs(history, counts_from, history.day)
    code = "LABS_PEAK_DOSE" if "LABS_PEAK_DOSE" in due else None
    return PlannedEvent("labs_peak", 1, planned, min(counts_from, planned), planned, done_on, due_code=code)


def _after_the_end(
    history: History, end: dt.date, projected: bool, due: dict[str, dt.date], can_get_pregnant: bool
) -> list[PlannedEvent]:
    """reference.md 1.7: the tests at the end and 30 days after, contraception and no blood donation."""
    after = end + AFTER_LAST_DOSE_DAYS * DAY
    found = [PlannedEvent("projected_end", 1, end, end, end, None, projected)]
    if can_get_pregnant:
        counts_from = end - END_OF_COURSE_TEST_LEAD_DAYS * DAY
        test = _test_for(history, counts_from - DAY, history.day, "end_of_course")
        found.append(
            _with_due(
                PlannedEvent(
                    "pregnancy_test_end_of_course",
                    1,
                    end,
                    counts_from,
                    end,
                    test.date if test else None,
                    projected,
                ),
                "PREGNANCY_TEST_END_OF_COURSE",
                due,
            )
        )
        test = _test_for(history, after - DAY, history.day, "post_course")
        found.append(
            _with_due(
                PlannedEvent(
                    "pregnancy_test_post_course",
                    1,
                    after,
                    after,
                    after,
                    test.date if test else None,
                    projected,
                ),
                "PREGNANCY_TEST_POST_COURSE",
                due,
            )
        )
        found.append(
            _with_due(
                PlannedEvent("contraception_until", 1, after, end, after, None, projected),
                "CONTRACEPTION_UNTIL",
                due,
            )
        )
    found.append(
        _with_due(
            PlannedEvent("no_blood_donation_until", 1, after, end, after, None, projected),
            "NO_BLOOD_DONATION_UNTIL",
            due,
        )
    )
    return found


def _with_due(event: PlannedEvent, code: str, due: dict[str, dt.date]) -> PlannedEvent:
    """Marks the event that answers an evaluation's due item (same code, same date)."""
    if not code or due.get(code) != event.date:
        return event
    return replace(event, due_code=code)
