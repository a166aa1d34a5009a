"""The therapy calendar of one course: every planned event with its earliest and latest day and its status,
read off the engine's answer (the checklist of the current cycle, the due items, the windows, the alerts),
never planned by rules of its own. A plan made on one day can be read on a later one (``TherapyCalendar.on``,
``event_status_on``: each event's status from its own fields) until its change date (``change``).

``therapy_calendar(course_file, day, policy=None, rules=None, evaluation=None) -> TherapyCalendar`` lists:

- ``labs_baseline``: fasting lipids and liver tests before the first fill (LAB-BASE); overdue exactly when the
  engine raises BASELINE_LABS_MISSING (a fill without them), never before a fill;
- the fills already picked up (``visit``, ``pregnancy_test``, ``pick_up`` of each, done or past);
- the current cycle, from its checklist (``current_cycle``): the ``screening_test`` and the confirmation
  ``pregnancy_test`` before the first fill (from the earliest day the engine allows it: IPL-PT-CONFIRM,
  IPL-CON-LEAD, IPL-LOCK-19), the monthly ``pregnancy_test`` and ``visit`` (due the day the supply runs out,
  IPL-PT-MONTH; overdue once its window has closed, IPL-WIN-7: a new test is needed), the 2021 counseling
  ``visit`` (IPL-COUNSEL-MONTH), and the ``pick_up``: within the open window (IPL-WIN-7, IPL-WIN-30), else on
  the day the supply runs out; *waiting* while an earlier step is not done, while the course is on hold or
  while an alert that holds the drug is open;
- fills after the next, projected 30 days apart (IPL-SUPPLY) until the end (set or projected), at most
  ``MAX_PROJECTED_FILLS``; projected events are never overdue;
- ``labs_peak`` (LAB-PEAK) and the tests after the end (``pregnancy_test_end_of_course``,
  ``pregnancy_test_post_course``) from the evaluation's due items and monitoring steps; ``projected_end``,
  ``contraception_until`` and ``no_blood_donation_until`` (reference.md 1.7);
- for staff only (``STAFF_ONLY_KINDS``): a stopped course's follow-up steps (``pregnancy_stop``,
  ``pregnancy_refer``, ``pregnancy_report``: IPL-PT-POSITIVE), the review an open alert that holds the drug
  asks for (``alert_review``: ALERT-URGENCY) and the day dosing resumes after a hold (``dosing_resumes``).

Every due item of the evaluation has one event of its code (``due_code``, ``due_date``) dated the due item's
date, except a fill whose open window closes before the supply runs out: its pick-up and test are dated the
window's last day. Each event has a stable ``key`` (``kind`` and ``number``: the fill number, else 1), so that
a calendar app that receives the plan again updates its events instead of duplicating them.

Decisions where the spec and reference are silent:

- Before the first fill the fill is planned the day before the course starts, or the earliest day the
  confirmation test allows if that is later; a screening test still to do is planned today.
- An event the engine gives no deadline (a confirmation test, the baseline labs before the first fill) is
  never overdue; only the engine's steps are.
- The monthly visit is where the test is collected: it has the test's range (patients who can get pregnant);
  patients who cannot get pregnant have a visit only while the rules ask for monthly counseling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from isotrack.core.course import CourseFile, Dispense, Policy, PregnancyTest, Visit
from isotrack.core.cycle import FOLLOW_UP_STEPS, Cycle, Step, current_cycle, judged_history
from isotrack.core.evaluate import Evaluation, evaluate
from isotrack.core.history import History
from isotrack.core.rules.ipledge import IPL_COURSE_END, TEST_WINDOW_DAYS
from isotrack.core.schedule import (
    AFTER_LAST_DOSE_DAYS,
    END_OF_COURSE_TEST_LEAD_DAYS,
    peak_labs_count_from_days,
)
from isotrack.core.urgency import ALERT_NUMBERS
from isotrack.core.weights import ACT_NOW, SETTLED

DAY = dt.timedelta(days=1)
WINDOW_LEAD_DAYS = TEST_WINDOW_DAYS - 1  # IPL-WIN-7: a test up to 6 days before the fill still covers it
PROJECTED_DAYS_SUPPLY = 30  # IPL-SUPPLY: fills after the next one are planned as full 30-day supplies
MAX_PROJECTED_FILLS = 12  # a course of 15-20 weeks needs 4-5; a low-dose one runs longer
BASELINE_LABS_LOOKBACK_DAYS = 30  # LAB-BASE: without an enrollment date, labs of the last month count

Kind: TypeAlias = Literal[
    "labs_baseline",
    "screening_test",
    "visit",
    "pregnancy_test",
    "pick_up",
    "labs_peak",
    "projected_end",
    "pregnancy_test_end_of_course",
    "pregnancy_test_post_course",
    "contraception_until",
    "no_blood_donation_until",
    "pregnancy_stop",
    "pregnancy_refer",
    "pregnancy_report",
    "alert_review",
    "dosing_resumes",
]
KINDS: tuple[Kind, ...] = (
    "alert_review",
    "pregnancy_stop",
    "pregnancy_refer",
    "pregnancy_report",
    "labs_baseline",
    "screening_test",
    "visit",
    "pregnancy_test",
    "pick_up",
    "labs_peak",
    "dosing_resumes",
    "projected_end",
    "pregnancy_test_end_of_course",
    "pregnancy_test_post_course",
    "contraception_until",
    "no_blood_donation_until",
)
KIND_RULE_IDS: dict[str, str] = {
    "labs_baseline": "LAB-BASE",
    "screening_test": "IPL-PT-SCREEN",
    "visit": "IPL-PT-MONTH",
    "pregnancy_test": "IPL-WIN-7",
    "pick_up": "IPL-WIN-7",
    "labs_peak": "LAB-PEAK",
    "projected_end": "DOSE-TARGET",
    "pregnancy_test_end_of_course": IPL_COURSE_END,
    "pregnancy_test_post_course": IPL_COURSE_END,
    "contraception_until": "IPL-CON-2",
    "no_blood_donation_until": IPL_COURSE_END,
    "pregnancy_stop": "IPL-PREG-STOP",
    "pregnancy_refer": "IPL-PREG-REFER",
    "pregnancy_report": "IPL-PREG-REPORT",
    "alert_review": "ALERT-URGENCY",
    "dosing_resumes": "DOSE-CUM",
}
KIND_ORDER: dict[str, int] = {kind: index for index, kind in enumerate(KINDS)}  # a day's events, in order
# Events that ask someone to do something (reminders and alarms); the others are dates to know.
STEP_KINDS: frozenset[str] = frozenset(
    {
        "labs_baseline",
        "screening_test",
        "visit",
        "pregnancy_test",
        "pick_up",
        "labs_peak",
        "pregnancy_test_end_of_course",
        "pregnancy_test_post_course",
        "pregnancy_stop",
        "pregnancy_refer",
        "pregnancy_report",
        "alert_review",
    }
)
# Events for staff only: a patient's own calendar never shows them (they would say what the patient's feed
# must not: a positive test, an alert, the drug being held).
# IPL-PT-POSITIVE: the follow-up steps of a stopped course, each until a prescriber records it.
FOLLOW_UP_EVENT_KINDS: frozenset[str] = frozenset({"pregnancy_stop", "pregnancy_refer", "pregnancy_report"})
STAFF_ONLY_KINDS: frozenset[str] = frozenset(
    {"pregnancy_stop", "pregnancy_refer", "pregnancy_report", "alert_review", "dosing_resumes"}
)
# Plain words for staff (patients get the fewer words of ``PATIENT_WORDS``).
KIND_LABELS: dict[str, str] = {
    "labs_baseline": "Baseline labs (lipids, liver tests)",
    "screening_test": "Screening pregnancy test",
    "visit": "Monthly visit",
    "pregnancy_test": "Pregnancy test for the next fill",
    "pick_up": "Pick-up of the next fill",
    "labs_peak": "Peak-dose labs",
    "projected_end": "Last day of dosing",
    "pregnancy_test_end_of_course": "End-of-course pregnancy test",
    "pregnancy_test_post_course": "Pregnancy test 30 days after the last dose",
    "contraception_until": "Two contraception methods until",
    "no_blood_donation_until": "No blood donation until",
    "pregnancy_stop": FOLLOW_UP_STEPS["stop"].label,
    "pregnancy_refer": FOLLOW_UP_STEPS["refer"].label,
    "pregnancy_report": FOLLOW_UP_STEPS["report"].label,
    "alert_review": "Alert to review",
    "dosing_resumes": "Dosing resumes after the hold",
}
# What a patient's own calendar and e-mail say: never the drug, a result or a contraception method.
PATIENT_WORDS: dict[str, str] = {
    "labs_baseline": "Lab visit",
    "screening_test": "Lab visit",
    "visit": "Clinic visit",
    "pregnancy_test": "Lab visit",
    "pick_up": "Pick up prescription by",
    "labs_peak": "Lab visit",
    "projected_end": "Last planned treatment day",
    "pregnancy_test_end_of_course": "Lab visit",
    "pregnancy_test_post_course": "Lab visit",
    "contraception_until": "Keep using birth control through today",
    "no_blood_donation_until": "No blood donation through today",
}

# done: done on ``done_on``; overdue: the engine's step is overdue; open: to do now; upcoming: not yet
# possible; waiting: waits for an earlier step (or a hold, or an open alert); past: a date gone by.
Status: TypeAlias = Literal["done", "overdue", "open", "upcoming", "waiting", "past"]


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One planned event. ``date`` is the planned day; ``earliest``/``latest`` the acceptable days, both
    inclusive; ``status`` what it is on the calendar's day."""

    kind: Kind
    number: int
    date: dt.date
    earliest: dt.date
    latest: dt.date
    status: Status
    done_on: dt.date | None = None
    projected: bool = False  # depends on a projection (the projected end, fills beyond the next)
    due_code: str | None = None  # the due item of the evaluation it answers
    due_date: dt.date | None = None
    detail: str = ""  # for staff: what an alert asks, what a hold waits for
    rule: str = ""  # the rule applied, when it is not the kind's
    # Placed from the calendar's day (a screening test still to do, a follow-up step without a deadline, the
    # fills projected from today while the next one is late): on a later day of the same plan its date,
    # earliest and latest move by as many days (``TherapyCalendar.on``).
    floating: bool = False

    @property
    def key(self) -> str:
        """Stable across recomputations: the same step keeps its key when its dates move."""
        return f"{self.kind.replace('_', '-')}-{self.number}"

    @property
    def rule_id(self) -> str:
        return self.rule or KIND_RULE_IDS[self.kind]

    @property
    def is_step(self) -> bool:
        return self.kind in STEP_KINDS

    @property
    def for_staff_only(self) -> bool:
        return self.kind in STAFF_ONLY_KINDS

    @property
    def label(self) -> str:
        return f"{KIND_LABELS[self.kind]}: {self.detail}" if self.detail else KIND_LABELS[self.kind]

    @property
    def patient_words(self) -> str:
        return PATIENT_WORDS.get(self.kind, "")

    @property
    def weight(self) -> str | None:
        """``core.weights`` of a stopped course's follow-up step (IPL-PT-POSITIVE): ACT_NOW until recorded,
        then SETTLED; None for the other kinds, which no surface grades."""
        if self.kind not in FOLLOW_UP_EVENT_KINDS:
            return None
        return SETTLED if self.status == "done" else ACT_NOW


@dataclass(frozen=True, slots=True)
class TherapyCalendar:
    day: dt.date
    evaluation: Evaluation
    events: tuple[PlannedEvent, ...] = field(default=())
    # The first day the floating events do more than move with the day: the last fill projected from today
    # would fall after the end, and leaves the plan (None: none is projected from today).
    moves_until: dt.date | None = None
    changes_on: dt.date | None = None  # ``change.plan_until_change``: the first day ``on`` no longer holds

    @property
    def placed_from_the_day(self) -> bool:
        """An event moves with the day (``PlannedEvent.floating``)."""
        return any(e.floating for e in self.events)

    def on(self, day: dt.date) -> tuple[PlannedEvent, ...]:
        """The events on a later ``day``: each floating event moved by the days since the plan's day
        (``moved``, then in the calendar's order again), each with its status on ``day``
        (``event_status_on``); the plan as the core gives it on every day before ``changes_on`` when nothing
        is recorded in between."""
        return tuple(_on(e, day) for e in self._moved_to(day))

    def holds_on(self, day: dt.date, events: tuple[PlannedEvent, ...]) -> bool:
        """Whether ``events`` (the core's calendar of ``day``) are this plan read on ``day``: ``on(day) ==
        events``, without building ``on(day)``."""
        if len(events) != len(self.events):
            return False
        for mine, theirs in zip(self._moved_to(day), events, strict=True):
            status = event_status_on(mine, day)
            if theirs.status != status or (
                theirs != mine if status == mine.status else _on(mine, day) != theirs
            ):
                return False
        return True

    def _moved_to(self, day: dt.date) -> tuple[PlannedEvent, ...]:
        """The events with the floating ones moved to ``day``, in the calendar's order."""
        shift = day - self.day
        if not shift or not self.placed_from_the_day:
            return self.events
        return tuple(sorted((moved(e, shift) for e in self.events), key=calendar_order))

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
    if policy is not None:
        course_file = replace(course_file, policy=policy)
    if evaluation is None:
        evaluation = evaluate(course_file, day, rules=rules)
    history = judged_history(course_file, day, evaluation)
    cycle = current_cycle(course_file, day, evaluation)
    plan = _Plan(course_file, day, evaluation, history, cycle)
    found = [plan.baseline_labs()]
    found += plan.past_fills()
    if cycle.steps and evaluation.phase in ("qualifying", "active"):
        found += plan.current_fill()
        found += plan.projected_fills()
    found += plan.peak_labs()
    if evaluation.phase != "stopped":
        found += plan.after_the_end()
    found += plan.follow_up()
    found += plan.alert_reviews()
    found += plan.hold()
    return TherapyCalendar(
        day=day,
        evaluation=evaluation,
        events=tuple(sorted(found, key=calendar_order)),
        moves_until=plan.moves_until,
    )


def treatment_month(
    course_file: CourseFile, day: dt.date, evaluation: Evaluation | None = None
) -> int | None:
    """The month of treatment a visit on ``day`` is about, counted from 1: the fill it leads to, as the
    calendar numbers fills (``PlannedEvent.number``). Before the first fill, 1. While a supply runs, the
    month of that fill; from the first day the monthly test of the next fill may be collected (IPL-WIN-7:
    its window's lead before the supply runs out, the monthly visit's earliest day) the next month, unless
    the course ends before that fill. None once dosing is over: after the last day of dosing, after the last
    dose, a course stopped (a patient's handout then speaks of the time after treatment)."""
    if evaluation is None:
        evaluation = evaluate(course_file, day)
    end = course_file.course.end
    if evaluation.phase not in ("qualifying", "active") or (end is not None and end < day):
        return None
    fills = len(judged_history(course_file, day, evaluation).dispenses)
    if fills == 0:
        return 1
    next_fill = next((d.date for d in evaluation.due if d.code == "NEXT_DISPENSE"), None)
    if next_fill is None or (end is not None and next_fill > end):
        return fills
    return fills + 1 if day >= next_fill - WINDOW_LEAD_DAYS * DAY else fills


def calendar_order(event: PlannedEvent) -> tuple[dt.date, int, int]:
    """A course's events in the order they happen: by day, then the order of the steps of a day."""
    return (event.date, KIND_ORDER[event.kind], event.number)


# Events that are only dates to know: past once their day has gone by (reference.md 1.7).
DATE_KINDS: frozenset[str] = frozenset({"projected_end", "contraception_until", "no_blood_donation_until"})
# The tests after the end: while the engine lists no due item for them (the end is projected, nothing was
# dispensed), open between their earliest and latest day only, then past.
AFTER_THE_END_TESTS = frozenset({"pregnancy_test_end_of_course", "pregnancy_test_post_course"})
FILL_KINDS: frozenset[str] = frozenset({"visit", "pregnancy_test", "pick_up"})


def event_status_on(event: PlannedEvent, day: dt.date) -> Status:
    """The status on ``day`` of an event planned on an earlier day, from the event's own fields alone, by the
    rules ``therapy_calendar`` gives statuses with: done, overdue, waiting and past stay; an alert's review is
    overdue after the alert's day; a date to know is past after it; a test after the end without a due item
    is open from its earliest to its latest day, then past; a projected fill stays upcoming; the hold's end
    stays upcoming; any other step is open from its earliest day. What else changes a status (a deadline the
    engine sees pass, a step that stops waiting) changes the plan itself: ``plan_until_change`` finds it."""
    status = event.status
    if status not in ("open", "upcoming"):
        return status
    kind = event.kind
    if kind == "alert_review":
        return "overdue" if event.date < day else "open"
    if kind == "dosing_resumes":
        return "upcoming"
    if kind in DATE_KINDS:
        return _date_status(event.date, day)
    if kind in AFTER_THE_END_TESTS and event.due_code is None:
        return "open" if event.earliest <= day <= event.latest else _date_status(event.latest, day)
    if event.projected and kind in FILL_KINDS:
        return "upcoming"
    return "open" if event.earliest <= day else "upcoming"


# What a floating event moves with the day (``moved``; the stored plans move the same columns).
FLOATING_FIELDS = ("date", "earliest", "latest")


def moved(event: PlannedEvent, shift: dt.timedelta) -> PlannedEvent:
    """A floating event as it stands ``shift`` days after the day it was planned on: its
    ``FLOATING_FIELDS`` moved by as many days (any other event as it is)."""
    if not event.floating or not shift:
        return event
    return replace(event, **{name: getattr(event, name) + shift for name in FLOATING_FIELDS})


def _on(event: PlannedEvent, day: dt.date) -> PlannedEvent:
    status = event_status_on(event, day)
    return event if status == event.status else replace(event, status=status)


def overdue_from(event: PlannedEvent) -> dt.date | None:
    """The first day ``event_status_on`` calls the event overdue (``date.min``: it is already), None if it
    never does: what a stored plan's overdue list is read by."""
    if event.status == "overdue":
        return dt.date.min
    if event.kind == "alert_review" and event.status in ("open", "upcoming"):
        return event.date + DAY
    return None


def _status(step: Step, earliest: dt.date, day: dt.date) -> Status:
    """An event's status from the engine's step: done, overdue and waiting as the step says; else open from
    its earliest day on."""
    if step.status == "done":
        return "done"
    if step.status == "overdue":
        return "overdue"
    if step.status == "blocked":
        return "waiting"
    return "open" if earliest <= day else "upcoming"


def _date_status(date: dt.date, day: dt.date) -> Status:
    return "past" if date < day else "upcoming"


class _Plan:
    """The events of one course on one day, read off its evaluation and checklist."""

    def __init__(
        self, course_file: CourseFile, day: dt.date, evaluation: Evaluation, history: History, cycle: Cycle
    ) -> None:
        self.course_file = course_file
        self.day = day
        self.evaluation = evaluation
        self.history = history
        self.cycle = cycle
        self.can_get_pregnant = course_file.patient.category == "can_get_pregnant"
        self.due = {d.code: d.date for d in evaluation.due}
        self.steps = {s.code: s for s in cycle.steps}
        self.monitoring = {s.code: s for s in cycle.monitoring}
        self.number = len(history.dispenses) + 1  # the fill the current cycle leads to
        self.visits = sorted({e.date for e in course_file.events if isinstance(e, Visit) and e.date <= day})
        end = course_file.course.end
        self.end, self.end_projected = (
            (end, False) if end is not None else (evaluation.dose.projected_completion_date, True)
        )
        self.moves_until: dt.date | None = None  # see TherapyCalendar

    # --- what the current cycle leads to ---------------------------------------------------------------

    def next_fill(self) -> dt.date:
        """The day the next fill is due: when the supply runs out (NEXT_DISPENSE), or before the first fill
        the day before the course starts, unless the confirmation test cannot be collected by then."""
        if "NEXT_DISPENSE" in self.due:
            return self.due["NEXT_DISPENSE"]
        planned = self.course_file.course.start - DAY
        test = self.steps.get("CONFIRMATION_TEST")
        if test is not None and test.earliest is not None and test.earliest > planned:
            return test.earliest
        return planned

    # --- events ------------------------------------------------------------------------------------------

    def baseline_labs(self) -> PlannedEvent:
        """LAB-BASE: triglycerides and ALT on or before the first fill (the spec's BASELINE_LABS_MISSING)."""
        history = self.history
        first = history.first_dispense
        latest = first.date if first is not None else self.next_fill()
        enrolled = history.enrollments[0].date if history.enrollments else None
        earliest = min(enrolled, latest) if enrolled else latest - BASELINE_LABS_LOOKBACK_DAYS * DAY
        done_on = _both_labs(history, dt.date.min, latest)
        if done_on is not None:
            status: Status = "done"
        elif any(a.code == "BASELINE_LABS_MISSING" for a in self.evaluation.alerts):
            status = "overdue"
        else:
            status = "open" if earliest <= self.day else "upcoming"
        return PlannedEvent("labs_baseline", 1, latest, earliest, latest, status, done_on)

    def past_fills(self) -> list[PlannedEvent]:
        """Fills already picked up: done, with the day each was planned for."""
        found: list[PlannedEvent] = []
        previous: Dispense | None = None
        for number, dispense in enumerate(self.history.dispenses, start=1):
            planned = previous.date + previous.days_supply * DAY if previous else dispense.date
            earliest = min(planned - WINDOW_LEAD_DAYS * DAY, dispense.date)
            latest = max(planned, dispense.date)
            after = previous.date if previous else None
            if previous is not None:
                visit = _first(d for d in self.visits if d > previous.date and d <= dispense.date)
                found.append(_done_or_past("visit", number, planned, earliest, latest, visit))
            if self.can_get_pregnant:
                purpose = "monthly" if previous else "confirmation"
                test = _test_for(self.history, after, dispense.date, purpose)
                done_on = test.date if test else None
                found.append(_done_or_past("pregnancy_test", number, planned, earliest, latest, done_on))
            found.append(_done_or_past("pick_up", number, planned, earliest, latest, dispense.date))
            previous = dispense
        return found

    def current_fill(self) -> list[PlannedEvent]:
        """The steps of the current cycle that are events: tests, visit, pick-up."""
        day, number = self.day, self.number
        fill = self.next_fill()
        found: list[PlannedEvent] = []
        test_step = self.steps.get("CONFIRMATION_TEST") or self.steps.get("MONTHLY_TEST")
        screening = self.steps.get("SCREENING_TEST")
        if screening is not None and screening.pending:  # planned today, whichever day today is
            found.append(PlannedEvent("screening_test", 1, day, day, day, "open", floating=True))
        test: PlannedEvent | None = None
        if test_step is not None:
            test = self._test_event(test_step, fill)
            found.append(test)
            if number > 1:  # the monthly visit, where the test is collected: the test's range and status
                visit = _first(d for d in self.visits if self._after_last_fill(d) and d >= test.earliest)
                found.append(
                    replace(
                        test,
                        kind="visit",
                        done_on=visit or test.done_on,
                        status="done" if visit else test.status,
                        due_code=None,
                        due_date=None,
                        detail="",
                    )
                )
        counseling = self.steps.get("COUNSELING_VISIT")
        if counseling is not None and counseling.status != "not_needed":
            found.append(self._counseling_event(counseling, fill))
        pick_up = self.steps.get("PICK_UP")
        if pick_up is not None:
            found.append(self._pick_up_event(pick_up, fill))
        return found

    def _after_last_fill(self, when: dt.date) -> bool:
        last = self.history.last_dispense
        return last is None or when > last.date

    def _due(self, event: PlannedEvent, code: str) -> PlannedEvent:
        if code not in self.due:
            return event
        return replace(event, due_code=code, due_date=self.due[code])

    def _test_event(self, step: Step, fill: dt.date) -> PlannedEvent:
        """The qualifying test of the next fill (IPL-PT-CONFIRM, IPL-PT-MONTH, IPL-WIN-7)."""
        code = "PREGNANCY_TEST_MONTHLY"
        if step.status == "done" and step.done_on is not None:
            found = PlannedEvent(
                "pregnancy_test", self.number, step.done_on, step.done_on, step.done_on, "done"
            )
            return self._due(replace(found, done_on=step.done_on), code)
        if step.status == "overdue" and step.deadline is not None:  # its window closed: a new test is needed
            found = PlannedEvent(
                "pregnancy_test", self.number, step.deadline, step.deadline, step.deadline, "overdue"
            )
            return self._due(replace(found, detail="the window closed: a new test is needed"), code)
        latest = step.deadline or fill
        earliest = latest - WINDOW_LEAD_DAYS * DAY
        if step.earliest is not None:
            earliest = max(earliest, step.earliest)
            latest = max(latest, earliest)
        found = PlannedEvent(
            "pregnancy_test", self.number, latest, earliest, latest, _status(step, earliest, self.day)
        )
        return self._due(found, code)

    def _counseling_event(self, step: Step, fill: dt.date) -> PlannedEvent:
        """IPL-COUNSEL-MONTH (2021 rules, cannot get pregnant): the monthly counseling visit."""
        if step.status == "done" and step.done_on is not None:
            when = step.done_on
            return PlannedEvent("visit", self.number, when, when, when, "done", done_on=when)
        latest = step.deadline or fill
        earliest = latest - WINDOW_LEAD_DAYS * DAY
        return PlannedEvent(
            "visit",
            self.number,
            latest,
            earliest,
            latest,
            _status(step, earliest, self.day),
            rule=step.rule_id,
        )

    def _pick_up_event(self, step: Step, fill: dt.date) -> PlannedEvent:
        """The pick-up: within the current window while it is open (IPL-WIN-7, IPL-WIN-30), else on the day
        the supply runs out; waiting while a step before it is not done, or while the drug is held."""
        window = self.cycle.window
        if window is not None and not self.cycle.window_closed:
            earliest, latest = window.opens, window.closes
        else:
            latest = step.deadline or fill
            earliest = latest - WINDOW_LEAD_DAYS * DAY
        status = _status(step, earliest, self.day)  # the checklist's pick-up waits while the drug is held
        found = PlannedEvent("pick_up", self.number, latest, earliest, latest, status, rule=step.rule_id)
        return self._due(found, "NEXT_DISPENSE")

    def projected_fills(self) -> list[PlannedEvent]:
        """Fills after the next, 30 days apart while they fall on or before the end (IPL-SUPPLY)."""
        if self.end is None:
            return []
        counseling = not self.can_get_pregnant and self.evaluation.rule_set.monthly_counseling
        found: list[PlannedEvent] = []
        fill = max(self.next_fill(), self.day)
        floating = self.next_fill() < self.day  # late: projected from today, whichever day today is
        for extra in range(1, MAX_PROJECTED_FILLS + 1):
            fill = fill + PROJECTED_DAYS_SUPPLY * DAY
            if fill > self.end:
                break
            if floating:  # the first day this fill, moving with the day, would fall after the end
                self.moves_until = self.day + (self.end - fill) + DAY
            number, earliest = self.number + extra, fill - WINDOW_LEAD_DAYS * DAY
            kinds: list[Kind] = ["visit"] if self.can_get_pregnant or counseling else []
            kinds += ["pregnancy_test"] if self.can_get_pregnant else []
            kinds.append("pick_up")
            found += [
                PlannedEvent(
                    kind, number, fill, earliest, fill, "upcoming", projected=True, floating=floating
                )
                for kind in kinds
            ]
        return found

    def peak_labs(self) -> list[PlannedEvent]:
        """LAB-PEAK: results dated from first fill + half the practice's days count; due at first fill + its
        days while the engine lists LABS_PEAK_DOSE."""
        first = self.history.first_dispense
        if first is None:
            return []
        policy = self.course_file.policy
        counts_from = first.date + peak_labs_count_from_days(policy) * DAY
        done_on = _both_labs(self.history, counts_from, self.day)
        step = self.monitoring.get("LABS_PEAK_DOSE")
        if step is not None and step.deadline is not None:
            planned = step.deadline
            earliest = min(counts_from, planned)
            found = PlannedEvent(
                "labs_peak", 1, planned, earliest, planned, _status(step, earliest, self.day)
            )
            return [self._due(found, "LABS_PEAK_DOSE")]
        if done_on is None:
            return []
        planned = first.date + policy.labs_peak_days * DAY
        return [PlannedEvent("labs_peak", 1, planned, min(counts_from, planned), planned, "done", done_on)]

    def after_the_end(self) -> list[PlannedEvent]:
        """reference.md 1.7: the tests at the end and 30 days after, contraception and no blood donation."""
        end = self.end
        if end is None:
            return []
        day, projected = self.day, self.end_projected
        after = end + AFTER_LAST_DOSE_DAYS * DAY
        found = [PlannedEvent("projected_end", 1, end, end, end, _date_status(end, day), projected=projected)]
        if self.can_get_pregnant:
            counts_from = end - END_OF_COURSE_TEST_LEAD_DAYS * DAY
            found.append(
                self._after_test("pregnancy_test_end_of_course", "end_of_course", end, counts_from, end)
            )
            found.append(self._after_test("pregnancy_test_post_course", "post_course", after, after, after))
            found.append(
                self._due(
                    PlannedEvent(
                        "contraception_until",
                        1,
                        after,
                        end,
                        after,
                        _date_status(after, day),
                        projected=projected,
                    ),
                    "CONTRACEPTION_UNTIL",
                )
            )
        found.append(
            self._due(
                PlannedEvent(
                    "no_blood_donation_until",
                    1,
                    after,
                    end,
                    after,
                    _date_status(after, day),
                    projected=projected,
                ),
                "NO_BLOOD_DONATION_UNTIL",
            )
        )
        return found

    def _after_test(
        self, kind: Kind, purpose: str, planned: dt.date, earliest: dt.date, latest: dt.date
    ) -> PlannedEvent:
        code = "PREGNANCY_TEST_END_OF_COURSE" if purpose == "end_of_course" else "PREGNANCY_TEST_POST_COURSE"
        test = _test_for(self.history, earliest - DAY, self.day, purpose)
        step = self.monitoring.get(code)
        if test is not None:
            status: Status = "done"
        elif step is not None:
            status = _status(step, earliest, self.day)
        else:  # not due (yet): the end is projected, or nothing was dispensed
            status = "open" if earliest <= self.day <= latest else _date_status(latest, self.day)
        found = PlannedEvent(
            kind,
            1,
            planned,
            earliest,
            latest,
            status,
            done_on=test.date if test else None,
            projected=self.end_projected,
        )
        return self._due(found, code)

    def follow_up(self) -> list[PlannedEvent]:
        """IPL-PT-POSITIVE: a stopped course's follow-up steps (staff only), as its checklist has them."""
        if self.evaluation.phase != "stopped":
            return []
        kinds: dict[str, Kind] = {
            "stop": "pregnancy_stop",
            "refer": "pregnancy_refer",
            "report": "pregnancy_report",
        }
        found = []
        for key, step_kind in FOLLOW_UP_STEPS.items():
            step = self.steps[step_kind.code]
            when = step.done_on or step.deadline or self.day
            floating = step.done_on is None and step.deadline is None  # to do today, whichever day it is
            status = _status(step, when, self.day)
            event = PlannedEvent(kinds[key], 1, when, when, when, status, step.done_on, floating=floating)
            found.append(event)
        return found

    def alert_reviews(self) -> list[PlannedEvent]:
        """ALERT-URGENCY: the review each open alert that holds the drug asks for, due the alert's day (staff
        only; a positive test's review is its follow-up)."""
        found = []
        for finding in self.evaluation.findings:
            if not finding.withholds_prescription or finding.alert.code == "PREGNANCY_TEST_POSITIVE":
                continue
            alert = finding.alert
            status: Status = "overdue" if alert.date < self.day else "open"
            found.append(
                PlannedEvent(
                    "alert_review",
                    ALERT_NUMBERS[alert.code],
                    alert.date,
                    alert.date,
                    alert.date,
                    status,
                    detail=f"{alert.detail}: {finding.action.asks_for}",
                    rule=alert.rule_id,
                )
            )
        return found

    def hold(self) -> list[PlannedEvent]:
        """DOSE-CUM: the day dosing resumes after the hold the course is in (staff only)."""
        hold = self.evaluation.hold
        if hold is None:
            return []
        resumes = hold.end + DAY
        detail = hold.reason or ""
        return [PlannedEvent("dosing_resumes", 1, resumes, resumes, resumes, "upcoming", detail=detail)]


def _done_or_past(
    kind: Kind, number: int, planned: dt.date, earliest: dt.date, latest: dt.date, done_on: dt.date | None
) -> PlannedEvent:
    """A step of a fill already picked up: done, or only past (no longer to do)."""
    return PlannedEvent(kind, number, planned, earliest, latest, "done" if done_on else "past", done_on)


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
