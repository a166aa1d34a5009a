"""The current iPLEDGE cycle of a course: the checklist staff work from, and the course's next required step.

``current_cycle(course_file, day, evaluation=None) -> Cycle`` lists the steps towards the next fill in the
order iPLEDGE enforces them (reference.md sections 1.3-1.5):

- can get pregnant: before the first fill the qualifying steps (enrollment, screening test, the contraception
  lead-in, the confirmation test with the earliest day it may be collected: IPL-PT-CONFIRM, IPL-CON-LEAD and,
  under 2021, IPL-LOCK-19), then each month: the pregnancy test, the prescriber's entry in iPLEDGE, the
  patient's comprehension questions, the pharmacy's authorization (RMA) and the pick-up in the window
  (IPL-WIN-7);
- cannot get pregnant, 2021 rules: the counseling visit, then the pick-up within 30 days (IPL-WIN-30);
- cannot get pregnant, 2026 rules: the pick-up only (IPL-2026-CNGP).

The cycle is read off the evaluation, never decided again: a step is done exactly when none of the
evaluation's blocking reasons concerns it (``Step.reasons`` names them), and the dispense is allowed exactly
when every step before the pharmacy's is done. Dates come from the same rule functions the rule sets use.
Monitoring steps (peak-dose labs, end-of-course and post-course tests) come from the evaluation's due items.

Decisions where the spec is silent:

- The current cycle is the one leading to the next fill: right after a dispense it starts again with the next
  monthly test (due by the day the supply runs out). Pharmacy authorization and pick-up are recorded together
  as a dispense, which opens the next cycle, so they are never "done" within a cycle.
- Once the course is closed (post-course, completed, stopped, or ended before any fill) there is no cycle,
  only monitoring steps.
- The next required step is the cycle's first step not done, unless a monitoring step has an earlier deadline
  (overdue steps first; on a tie the cycle's step wins).
- Contraception: the methods staff tell the patient to enter are those in use on the day that count (primary,
  secondary, abstinence), primary first (IPL-PATIENT-QUIZ: they must match the office's entry exactly).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

from isotrack.core.course import (
    ABSTINENCE,
    PRIMARY_METHODS,
    SECONDARY_METHODS,
    CourseFile,
    Interruption,
    LabResult,
    MoodScreen,
    Policy,
    PregnancyTest,
)
from isotrack.core.evaluate import Evaluation, evaluate
from isotrack.core.history import History, history_until
from isotrack.core.monitoring import SELF_HARM_REPORTED, Alert, liver_alert, mood_alerts, triglycerides_alert
from isotrack.core.rules import ipledge
from isotrack.core.rules.ipledge import (
    CONTRACEPTION_LEAD_IN_DAYS,
    IPL_ENROLL,
    LOCKOUT_DAYS,
    SCREENING_TO_CONFIRMATION_DAYS,
    Blocking,
    Window,
)
from isotrack.core.schedule import END_OF_COURSE_TEST_LEAD_DAYS
from isotrack.core.urgency import (
    ALERT_ACTIONS,
    NO_OPEN_ALERT,
    TIER_SELF_HARM,
    Finding,
    most_urgent_open,
    tier,
)

DAY = dt.timedelta(days=1)

StepStatus: TypeAlias = Literal["done", "to_do", "overdue", "blocked", "not_needed"]
STEP_STATUSES: tuple[StepStatus, ...] = ("done", "to_do", "overdue", "blocked", "not_needed")
STATUS_LABELS: dict[str, str] = {
    "done": "Done",
    "to_do": "To do",
    "overdue": "Overdue",
    "blocked": "Waiting",
    "not_needed": "Not needed",
}
PHASE_LABELS: dict[str, str] = {
    "qualifying": "Qualifying",
    "active": "Active",
    "post_course": "After the last dose",
    "completed": "Completed",
    "stopped": "Stopped",
}
Actor: TypeAlias = Literal["prescriber", "staff", "patient", "pharmacy"]
ACTORS: tuple[Actor, ...] = ("prescriber", "staff", "patient", "pharmacy")
ACTOR_LABELS: dict[str, str] = {
    "prescriber": "Prescriber",
    "staff": "Staff",
    "patient": "Patient",
    "pharmacy": "Pharmacy",
}


@dataclass(frozen=True, slots=True)
class StepKind:
    code: str
    label: str  # plain words for staff
    noun: str  # for countdowns: "pick-up today is the last day"
    actor: Actor
    rule_id: str
    window_bound: bool = False  # its deadline is the last day of the dispense window
    until_word: str = "possible"  # "confirmation test possible on ...", "lead-in complete on ..."


ENROLLMENT = StepKind("ENROLLMENT", "Register the patient in iPLEDGE", "enrollment", "prescriber", IPL_ENROLL)
SCREENING_TEST = StepKind(
    "SCREENING_TEST",
    "Screening pregnancy test (office or laboratory)",
    "screening test",
    "staff",
    "IPL-PT-SCREEN",
)
CONTRACEPTION_LEAD_IN = StepKind(
    "CONTRACEPTION_LEAD_IN",
    "Two contraception methods (or abstinence) every day for 30 days before the confirmation test",
    "contraception lead-in",
    "patient",
    "IPL-CON-LEAD",
    until_word="complete",
)
CONFIRMATION_TEST = StepKind(
    "CONFIRMATION_TEST", "Confirmation pregnancy test", "confirmation test", "staff", "IPL-PT-CONFIRM"
)
CONTRACEPTION = StepKind(
    "CONTRACEPTION",
    "Two contraception methods in use (or abstinence)",
    "contraception",
    "patient",
    "IPL-CON-2",
)
MONTHLY_TEST = StepKind("MONTHLY_TEST", "Monthly pregnancy test", "test", "staff", "IPL-PT-MONTH")
PRESCRIBER_ENTRY = StepKind(
    "PRESCRIBER_ENTRY",
    "Prescriber confirms the test, counseling and methods in iPLEDGE",
    "prescriber entry",
    "prescriber",
    "IPL-PRESCRIBER-CONFIRM",
    window_bound=True,
)
PATIENT_QUESTIONS = StepKind(
    "PATIENT_QUESTIONS",
    "Patient answers the comprehension questions in iPLEDGE",
    "patient questions",
    "patient",
    "IPL-PATIENT-QUIZ",
    window_bound=True,
)
PHARMACY_AUTHORIZATION = StepKind(
    "PHARMACY_AUTHORIZATION",
    "Pharmacy obtains the authorization (RMA)",
    "pharmacy authorization",
    "pharmacy",
    "IPL-WIN-7",
    window_bound=True,
)
PICK_UP = StepKind("PICK_UP", "Patient picks up the prescription", "pick-up", "patient", "IPL-WIN-7", True)
COUNSELING_VISIT = StepKind(
    "COUNSELING_VISIT",
    "Monthly counseling visit documented by the prescriber",
    "counseling visit",
    "prescriber",
    "IPL-COUNSEL-MONTH",
)
PICK_UP_30 = replace(PICK_UP, rule_id="IPL-WIN-30")
COUNSELING_NOT_NEEDED = replace(COUNSELING_VISIT, rule_id="IPL-2026-CNGP")
PICK_UP_2026 = replace(PICK_UP, rule_id="IPL-2026-CNGP", window_bound=False)
LABS_PEAK_DOSE = StepKind(
    "LABS_PEAK_DOSE", "Peak-dose labs: lipids and liver tests", "peak labs", "staff", "LAB-PEAK"
)
END_OF_COURSE_TEST = StepKind(
    "PREGNANCY_TEST_END_OF_COURSE", "End-of-course pregnancy test", "end-of-course test", "staff", ""
)
POST_COURSE_TEST = StepKind(
    "PREGNANCY_TEST_POST_COURSE",
    "Pregnancy test 30 days after the last dose",
    "post-course test",
    "staff",
    "",
)
# IPL-PT-POSITIVE: the follow-up of a positive test, each recorded as done by a prescriber (a stopped course's
# steps, in place of a cycle).
PREGNANCY_STOP = StepKind(
    "PREGNANCY_STOP", "Stop the drug at once and tell the patient", "stop", "prescriber", "IPL-PREG-STOP"
)
PREGNANCY_REFER = StepKind(
    "PREGNANCY_REFER",
    "Refer to an obstetrician-gynecologist experienced in reproductive toxicity",
    "referral",
    "prescriber",
    "IPL-PREG-REFER",
)
PREGNANCY_REPORT = StepKind(
    "PREGNANCY_REPORT",
    "Report to the iPLEDGE pregnancy registry and FDA MedWatch",
    "report",
    "prescriber",
    "IPL-PREG-REPORT",
)
FOLLOW_UP_STEPS: dict[str, StepKind] = {
    "stop": PREGNANCY_STOP,
    "refer": PREGNANCY_REFER,
    "report": PREGNANCY_REPORT,
}
# A course on hold (DOSE-CUM interruption): its next step says until when and what for.
ON_HOLD = StepKind("ON_HOLD", "On hold", "dosing", "prescriber", "DOSE-CUM", until_word="resumes")
# An open alert that calls for holding or stopping the drug is the next step until a prescriber acknowledges
# it (ALERT-URGENCY); a positive pregnancy test's steps are its follow-up steps above.
ALERT_STEPS: dict[str, StepKind] = {
    action.code: StepKind(
        f"ALERT_{action.code}",
        action.asks_for.removeprefix("a ")[:1].upper() + action.asks_for.removeprefix("a ")[1:],
        "safety assessment" if action.tier == TIER_SELF_HARM else "prescriber review",
        "prescriber" if action.actor == "prescriber" else "staff",
        "",
    )
    for action in ALERT_ACTIONS.values()
    if (action.holds_drug or action.tier == TIER_SELF_HARM) and action.code != "PREGNANCY_TEST_POSITIVE"
}
# Due items that are steps to do (the others are dates to respect: contraception and no blood donation until).
MONITORING_STEPS: dict[str, StepKind] = {
    kind.code: kind for kind in (LABS_PEAK_DOSE, END_OF_COURSE_TEST, POST_COURSE_TEST)
}
STEP_LABELS: dict[str, str] = {
    kind.code: kind.label
    for kind in (
        ENROLLMENT,
        SCREENING_TEST,
        CONTRACEPTION_LEAD_IN,
        CONFIRMATION_TEST,
        CONTRACEPTION,
        MONTHLY_TEST,
        PRESCRIBER_ENTRY,
        PATIENT_QUESTIONS,
        PHARMACY_AUTHORIZATION,
        PICK_UP,
        COUNSELING_VISIT,
        *MONITORING_STEPS.values(),
        *FOLLOW_UP_STEPS.values(),
        ON_HOLD,
        *ALERT_STEPS.values(),
    )
}
# Plain words for every due item of the evaluation (spec "Due vocabulary").
DUE_LABELS: dict[str, str] = {
    "NEXT_DISPENSE": "Next fill (the supply runs out)",
    "PREGNANCY_TEST_MONTHLY": "Last day to collect the monthly pregnancy test for an on-time fill",
    "LABS_PEAK_DOSE": LABS_PEAK_DOSE.label,
    "PREGNANCY_TEST_END_OF_COURSE": END_OF_COURSE_TEST.label,
    "PREGNANCY_TEST_POST_COURSE": POST_COURSE_TEST.label,
    "CONTRACEPTION_UNTIL": "Two contraception methods until",
    "NO_BLOOD_DONATION_UNTIL": "No blood donation until",
}


@dataclass(frozen=True, slots=True)
class Step:
    code: str
    label: str
    status: StepStatus
    actor: Actor
    rule_id: str
    noun: str
    window_bound: bool = False
    until_word: str = "possible"
    done_on: dt.date | None = None
    deadline: dt.date | None = None
    earliest: dt.date | None = None  # not possible before this day
    reasons: tuple[str, ...] = ()  # the evaluation's blocking codes that keep it from done
    notes: tuple[str, ...] = ()  # plain words: why it is not done, or what it rests on

    @property
    def pending(self) -> bool:
        return self.status in ("to_do", "overdue", "blocked")


@dataclass(frozen=True, slots=True)
class Cycle:
    day: dt.date
    rule_set_id: str
    rule_set_title: str
    phase: str
    category: str
    first_fill: bool
    window: Window | None  # the current cycle's window (open, or closed: a new test is needed), else None
    steps: tuple[Step, ...]  # the current cycle in iPLEDGE's order; a stopped course's follow-up steps
    monitoring: tuple[Step, ...]  # peak labs, end-of-course and post-course tests still to do
    next_step: Step | None
    countdown: str  # the next step's deadline in plain words
    days_left: int | None  # to the next step's deadline (negative: overdue), else to its earliest day
    methods: tuple[str, ...]  # IPL-PATIENT-QUIZ: the exact methods to enter, primary first
    methods_complete: bool  # IPL-CON-2: two methods, at least one primary (or abstinence), on the day
    findings: tuple[Finding, ...] = ()  # the alerts, most urgent first, open or acknowledged (ALERT-URGENCY)
    hold: Interruption | None = None  # the hold the course is in on the day
    tier: int = 5  # the worklist's rank before deadlines (``urgency.tier``)

    @property
    def window_closed(self) -> bool:
        """The current cycle's window has ended: a new test (or counseling visit) is needed."""
        return self.window is not None and self.window.closes < self.day


def plain_words(explanation: str, rule_id: str) -> str:
    """An explanation without its trailing rule id, for the screen (the id goes in a ``title``)."""
    suffix = f" ({rule_id})."
    return explanation[: -len(suffix)] + "." if rule_id and explanation.endswith(suffix) else explanation


def current_cycle(course_file: CourseFile, day: dt.date, evaluation: Evaluation | None = None) -> Cycle:
    """The checklist of the course's current iPLEDGE cycle on ``day`` and its next required step."""
    if evaluation is None:
        evaluation = evaluate(course_file, day)
    return _cycle(course_file, day, evaluation, judged_history(course_file, day, evaluation))


def judged_history(course_file: CourseFile, day: dt.date, evaluation: Evaluation) -> History:
    """The history the evaluation judged on, or read again when it was judged on another day."""
    if evaluation.history is not None and evaluation.as_of == day:
        return evaluation.history
    return history_until(course_file, day)


@dataclass(frozen=True, slots=True)
class NextStep:
    """The course's next required step alone, with what the worklist shows beside it: the fields of the same
    names of ``current_cycle``'s ``Cycle`` (``step`` is its ``next_step``), and the evaluation's dispense
    decision."""

    day: dt.date
    rule_set_id: str
    rule_set_title: str
    phase: str
    step: Step | None
    countdown: str
    days_left: int | None
    findings: tuple[Finding, ...] = ()
    tier: int = 5
    alert_urgency: int = NO_OPEN_ALERT  # the most urgent open alert (ties within a tier)
    dispense_allowed: bool = False
    blocking: tuple[str, ...] = ()
    changes_on: dt.date | None = None  # ``change.next_step_until_change``: the first day the answer changes

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.open)

    @property
    def rank_date(self) -> dt.date | None:
        """The day the line ranks by within its tier (ALERT-URGENCY): ``rank_date`` of the step."""
        return rank_date(self.step, self.day) if self.step else None


def rank_date(step: Step, day: dt.date) -> dt.date | None:
    """The step's deadline, else the earliest day it is possible while that is still ahead: the day
    ``days_left`` counts to."""
    if step.deadline is not None:
        return step.deadline
    if step.earliest is not None and step.earliest > day:
        return step.earliest
    return None


def next_step(course_file: CourseFile, day: dt.date, evaluation: Evaluation | None = None) -> NextStep:
    """The next required step on ``day``, exactly as ``current_cycle(course_file, day).next_step`` (the same
    functions judge it), without building the checklist past the first step not done nor the contraception
    methods: what a worklist of thousands of courses needs."""
    if evaluation is None:
        evaluation = evaluate(course_file, day)
    history = judged_history(course_file, day, evaluation)
    first = next((step for step in _steps(course_file, evaluation, history) if step.pending), None)
    step = _next_step(evaluation, [first] if first else [], tuple(_monitoring(evaluation)))
    return NextStep(
        day=day,
        rule_set_id=evaluation.rule_set.id,
        rule_set_title=evaluation.rule_set.title,
        phase=evaluation.phase,
        step=step,
        countdown=countdown(step, day) if step else "nothing to do",
        days_left=days_left(step, day) if step else None,
        findings=evaluation.findings,
        tier=tier(evaluation.findings, evaluation.hold),
        alert_urgency=most_urgent_open(evaluation.findings),
        dispense_allowed=evaluation.dispense.allowed,
        blocking=tuple(b.code for b in evaluation.dispense.blocking),
    )


def _open(evaluation: Evaluation) -> bool:
    """A cycle runs: qualifying or active, and not a course that ended before a fill."""
    return evaluation.phase in ("qualifying", "active") and not any(
        b.code == "COURSE_CLOSED" for b in evaluation.dispense.blocking
    )


def _steps(course_file: CourseFile, evaluation: Evaluation, history: History) -> Iterator[Step]:
    """The current cycle's steps in iPLEDGE's order, each built only when asked for (none once closed); a
    stopped course's follow-up steps."""
    if evaluation.phase == "stopped":
        return iter(_follow_up_steps(course_file, history))
    if not _open(evaluation):
        return iter(())
    found = _Found(evaluation.dispense.blocking)
    if course_file.patient.category == "can_get_pregnant":
        return _pregnant_steps(course_file, evaluation, history, found)
    return iter(_not_pregnant_steps(evaluation, history, found))


def _cycle(course_file: CourseFile, day: dt.date, evaluation: Evaluation, history: History) -> Cycle:
    category = course_file.patient.category
    steps = list(_steps(course_file, evaluation, history))
    monitoring = tuple(_monitoring(evaluation))
    next_step = _next_step(evaluation, steps, monitoring)
    left = days_left(next_step, day) if next_step else None
    can_get_pregnant = category == "can_get_pregnant"
    return Cycle(
        day=day,
        rule_set_id=evaluation.rule_set.id,
        rule_set_title=evaluation.rule_set.title,
        phase=evaluation.phase,
        category=category,
        first_fill=history.last_dispense is None,
        window=_current_window(evaluation, history),
        steps=tuple(steps),
        monitoring=monitoring,
        next_step=next_step,
        countdown=countdown(next_step, day) if next_step else "nothing to do",
        days_left=left,
        methods=methods_in_use(course_file, day) if can_get_pregnant else (),
        methods_complete=can_get_pregnant
        and not any(b.code == "CONTRACEPTION_INSUFFICIENT" for b in evaluation.dispense.blocking),
        findings=evaluation.findings,
        hold=evaluation.hold,
        tier=tier(evaluation.findings, evaluation.hold),
    )


def _current_window(evaluation: Evaluation, history: History) -> Window | None:
    """The window of the current cycle: opened by a qualifying test (or 2021 counseling visit) after the last
    fill. The spec's ``dispense.window`` falls back to the window the last fill used, which is spent: the
    checklist never shows it as the current one."""
    window = evaluation.dispense.window
    last = history.last_dispense
    if not _open(evaluation) or window is None or (last is not None and window.opens <= last.date):
        return None
    return window


# --- steps --------------------------------------------------------------------------------------------------


class _Found:
    """The evaluation's blocking reasons, looked up by code."""

    def __init__(self, blocking: tuple[Blocking, ...]) -> None:
        self.blocking = blocking

    def of(self, *codes: str) -> list[Blocking]:
        return [b for b in self.blocking if b.code in codes]


def _step(
    kind: StepKind,
    blocked_by: list[Blocking],
    *,
    done_on: dt.date | None = None,
    deadline: dt.date | None = None,
    earliest: dt.date | None = None,
    waiting: bool = False,
    day: dt.date,
    notes: tuple[str, ...] = (),
) -> Step:
    """A step: done when nothing blocks it, else waiting for an earlier step, overdue or to do."""
    reasons = tuple(dict.fromkeys(b.code for b in blocked_by))
    words = tuple(plain_words(b.explanation, b.rule_id) for b in blocked_by) + notes
    if not blocked_by and not waiting:
        status: StepStatus = "done"
    elif waiting:
        status = "blocked"
    elif "WINDOW_EXPIRED" in reasons or (deadline is not None and deadline < day):
        status = "overdue"
    else:
        status = "to_do"
    return Step(
        code=kind.code,
        label=kind.label,
        status=status,
        actor=kind.actor,
        rule_id=kind.rule_id,
        noun=kind.noun,
        window_bound=kind.window_bound,
        until_word=kind.until_word,
        done_on=done_on if status == "done" else None,
        deadline=deadline if status != "done" else None,
        earliest=earliest if status != "done" else None,
        reasons=reasons,
        notes=tuple(dict.fromkeys(words)),
    )


def _not_needed(kind: StepKind, note: str) -> Step:
    return Step(
        kind.code,
        kind.label,
        "not_needed",
        kind.actor,
        kind.rule_id,
        kind.noun,
        kind.window_bound,
        kind.until_word,
        notes=(note,),
    )


def _due(evaluation: Evaluation, code: str) -> dt.date | None:
    return next((d.date for d in evaluation.due if d.code == code), None)


def _enrollment(history: History, found: _Found) -> Step:
    return _step(
        ENROLLMENT,
        found.of("NOT_ENROLLED"),
        done_on=history.enrollments[0].date if history.enrollments else None,
        day=history.day,
    )


def _pregnant_steps(
    course_file: CourseFile, evaluation: Evaluation, history: History, found: _Found
) -> Iterator[Step]:
    """Lazily: each group of steps is built only once the earlier ones have been looked at."""
    day = history.day
    first_fill = history.last_dispense is None
    test = ipledge.qualifying_test(history)  # the test the rule set judged
    window = evaluation.dispense.window
    steps: list[Step] = []
    if first_fill or found.of("NOT_ENROLLED"):
        steps.append(_enrollment(history, found))
    if first_fill:
        steps.extend(_qualifying_steps(course_file, evaluation, history, found, test))
        test_step = steps[-1]
    else:
        steps.append(
            _step(
                CONTRACEPTION,
                found.of("CONTRACEPTION_INSUFFICIENT"),
                day=day,
                notes=_cover_note(course_file, day),
            )
        )
        test_step = _step(
            MONTHLY_TEST,
            found.of("PREGNANCY_TEST_MISSING", "WINDOW_EXPIRED", "PREGNANCY_TEST_SETTING"),
            done_on=test.date if test else None,
            deadline=window.closes
            if found.of("WINDOW_EXPIRED") and window
            else _due(evaluation, "PREGNANCY_TEST_MONTHLY"),
            day=day,
        )
        steps.append(test_step)
    yield from steps
    confirmation = ipledge.prescriber_confirmation(history, test)
    in_window = window.closes if window and window.contains(day) and test_step.status == "done" else None
    entry = _step(
        PRESCRIBER_ENTRY,
        found.of("PRESCRIBER_CONFIRMATION_MISSING"),
        done_on=confirmation.date if confirmation else None,
        deadline=in_window,
        waiting=bool(found.of("PRESCRIBER_CONFIRMATION_MISSING")) and test_step.pending,
        day=day,
    )
    yield entry
    attestation = next(
        (a for a in history.attestations if confirmation and a.date >= confirmation.date), None
    )
    questions = _step(
        PATIENT_QUESTIONS,
        found.of("PATIENT_ATTESTATION_MISSING"),
        done_on=attestation.date if attestation else None,
        deadline=in_window,
        waiting=bool(found.of("PATIENT_ATTESTATION_MISSING")) and entry.pending,
        day=day,
    )
    yield questions
    steps += [entry, questions]
    yield from _pharmacy_steps((PHARMACY_AUTHORIZATION, PICK_UP), evaluation, steps, in_window, day)


def _qualifying_steps(
    course_file: CourseFile,
    evaluation: Evaluation,
    history: History,
    found: _Found,
    test: PregnancyTest | None,
) -> list[Step]:
    """Before the first fill: screening test, contraception lead-in, confirmation test (IPL-PT-SCREEN,
    IPL-CON-LEAD, IPL-PT-CONFIRM, IPL-PT-SETTING, IPL-LOCK-19)."""
    day = history.day
    screens = ipledge.screening_tests(history, test)
    in_time = ipledge.screening_in_time(screens, test) if test else []
    relied_on = (in_time or screens)[-1] if screens else None
    setting = found.of("PREGNANCY_TEST_SETTING")
    # Which test the setting reason is about: the released rule function, asked about the screening part only.
    screening_setting = bool(setting) and (
        ipledge.pre_treatment_setting(screens, test, ("lab", "office", "home")) is not None
    )
    screening = _step(
        SCREENING_TEST,
        found.of("SCREENING_TEST_MISSING") + (setting if screening_setting else []),
        done_on=relied_on.date if relied_on else None,
        day=day,
    )
    cover_from = cover_start(course_file, day)
    lead_in_done_on = cover_from + CONTRACEPTION_LEAD_IN_DAYS * DAY if cover_from else None
    lead_in_reasons = found.of("CONTRACEPTION_LEAD_IN", "CONTRACEPTION_INSUFFICIENT")
    lead_in_running = test is None and (lead_in_done_on is None or lead_in_done_on > day)
    lead_in = _step(
        CONTRACEPTION_LEAD_IN,
        lead_in_reasons,
        done_on=lead_in_done_on,
        earliest=lead_in_done_on,
        waiting=False,
        day=day,
        notes=_cover_note(course_file, day),
    )
    if lead_in_running and lead_in.status == "done":
        lead_in = replace(lead_in, status="to_do", done_on=None, earliest=lead_in_done_on)
    earliest = _earliest_confirmation(evaluation, history, relied_on, lead_in_done_on, test)
    expired = found.of("WINDOW_EXPIRED")
    confirmation = _step(
        CONFIRMATION_TEST,
        found.of(
            "PREGNANCY_TEST_MISSING", "CONFIRMATION_TOO_EARLY", "LOCKOUT_19_DAY", "CONTRACEPTION_LEAD_IN"
        )
        + expired
        + ([] if screening_setting else setting),
        done_on=test.date if test else None,
        deadline=evaluation.dispense.window.closes if expired and evaluation.dispense.window else None,
        earliest=earliest,
        waiting=screening.pending and not expired and test is None,
        day=day,
    )
    return [screening, lead_in, confirmation]


def _earliest_confirmation(
    evaluation: Evaluation,
    history: History,
    screening: PregnancyTest | None,
    lead_in_done_on: dt.date | None,
    test: PregnancyTest | None,
) -> dt.date | None:
    """The earliest day for the confirmation test: screening + 19 days (IPL-PT-CONFIRM), the lead-in's 30th
    day (IPL-CON-LEAD) and, under 2021 after a missed first window, the missed test + 19 days
    (IPL-LOCK-19)."""
    if screening is None:
        return None
    candidates = [screening.date + SCREENING_TO_CONFIRMATION_DAYS * DAY]
    if lead_in_done_on is not None:
        candidates.append(lead_in_done_on)
    missed = test is not None and ipledge.test_window(test).closes < history.day  # a missed first window
    if evaluation.rule_set.first_window_lockout and missed and test is not None:
        candidates.append(test.date + LOCKOUT_DAYS * DAY)
    return max(candidates)


def _pharmacy_steps(
    kinds: tuple[StepKind, ...],
    evaluation: Evaluation,
    before: list[Step],
    deadline: dt.date | None,
    day: dt.date,
) -> list[Step]:
    """Authorization and pick-up: possible exactly when the evaluation allows the dispense, and waiting while
    the drug is held (a hold, or an open alert that holds or stops it: ALERT-URGENCY), so that no page asks
    for a pick-up the clinician must not let happen."""
    # Anything blocking that no earlier step names still shows (it should not happen: a test checks it).
    named = {code for step in before for code in step.reasons}
    unnamed = [b for b in evaluation.dispense.blocking if b.code not in named]
    held = _held_notes(evaluation)
    steps = []
    for kind in kinds:
        if evaluation.dispense.allowed and held:
            steps.append(_step(kind, [], deadline=deadline, waiting=True, day=day, notes=held))
        elif evaluation.dispense.allowed:
            status: StepStatus = "overdue" if deadline is not None and deadline < day else "to_do"
            steps.append(
                Step(
                    kind.code,
                    kind.label,
                    status,
                    kind.actor,
                    kind.rule_id,
                    kind.noun,
                    kind.window_bound,
                    kind.until_word,
                    deadline=deadline,
                )
            )
        else:
            steps.append(_step(kind, unnamed, deadline=deadline, waiting=True, day=day))
    return steps


def _held_notes(evaluation: Evaluation) -> tuple[str, ...]:
    """Why a fill the rules would allow must wait: the hold, the open alerts that hold the drug."""
    notes = [
        f"Not while this alert is open: {f.action.label.lower()} ({f.alert.detail}); a prescriber "
        "acknowledges it first."
        for f in evaluation.findings
        if f.withholds_prescription
    ]
    if evaluation.hold is not None:
        notes.append(f"Not while the drug is on hold (until {evaluation.hold.end}).")
    return tuple(notes)


def _not_pregnant_steps(evaluation: Evaluation, history: History, found: _Found) -> list[Step]:
    day = history.day
    steps: list[Step] = []
    if history.last_dispense is None or found.of("NOT_ENROLLED"):
        steps.append(_enrollment(history, found))
    window = evaluation.dispense.window
    if evaluation.rule_set.monthly_counseling:
        visit = ipledge.counseling_visit(history)
        expired = found.of("WINDOW_EXPIRED")
        counseling = _step(
            COUNSELING_VISIT,
            found.of("COUNSELING_MISSING") + expired,
            done_on=visit.date if visit else None,
            deadline=window.closes if expired and window else _due(evaluation, "NEXT_DISPENSE"),
            day=day,
        )
        steps.append(counseling)
        in_window = window.closes if window and window.contains(day) and counseling.status == "done" else None
        steps += _pharmacy_steps((PICK_UP_30,), evaluation, steps, in_window, day)
    else:
        steps.append(_not_needed(COUNSELING_NOT_NEEDED, "Counseling is documented at enrollment only."))
        steps += _pharmacy_steps((PICK_UP_2026,), evaluation, steps, _due(evaluation, "NEXT_DISPENSE"), day)
    return steps


def _monitoring(evaluation: Evaluation) -> list[Step]:
    found = []
    for due in evaluation.due:
        kind = MONITORING_STEPS.get(due.code)
        if kind is None:
            continue
        found.append(
            Step(
                code=kind.code,
                label=kind.label,
                status="overdue" if due.date < evaluation.as_of else "to_do",
                actor=kind.actor,
                rule_id=due.rule_id,
                noun=kind.noun,
                deadline=due.date,
            )
        )
    return found


def _next_step(evaluation: Evaluation, steps: list[Step], monitoring: tuple[Step, ...]) -> Step | None:
    """The next required step, most urgent first (ALERT-URGENCY): a self-harm risk; a self-harm report of
    the patient's check-in not yet confirmed; a stopped course's
    follow-up; a hold; another open alert that holds or stops the drug; then the cycle's first step not done,
    unless a monitoring step has an earlier deadline (overdue steps first; on a tie the cycle's step wins)."""
    day = evaluation.as_of
    urgent = [
        _alert_step(f, day)
        for f in evaluation.findings
        if f.withholds_prescription and f.action.code in ALERT_STEPS
    ]
    if urgent and urgent[0].code == ALERT_STEPS["SELF_HARM_RISK"].code:
        return urgent[0]
    reported = [
        _alert_step(f, day) for f in evaluation.findings if f.open and f.alert.code == SELF_HARM_REPORTED
    ]
    if reported:  # the patient's own check-in answer, not yet confirmed: a call today, before anything else
        return reported[0]
    if evaluation.phase == "stopped":
        return next((s for s in steps if s.pending), None)
    if evaluation.hold is not None:
        return _hold_step(evaluation)
    if urgent:
        return urgent[0]
    first = next((s for s in steps if s.pending), None)
    candidates = ([first] if first else []) + [s for s in monitoring if s.pending]
    if not candidates:
        return None
    far = dt.date.max
    return min(candidates, key=lambda s: s.deadline or far)  # min keeps the first of equals: the cycle's step


def _kind_step(kind: StepKind, **values: object) -> Step:
    return replace(
        Step(
            kind.code,
            kind.label,
            "to_do",
            kind.actor,
            kind.rule_id,
            kind.noun,
            kind.window_bound,
            kind.until_word,
        ),
        **values,  # type: ignore[arg-type]
    )


def _alert_step(finding: Finding, day: dt.date) -> Step:
    """An open alert that holds or stops the drug (or a self-harm report), as a step due the alert's day
    (ALERT-URGENCY)."""
    alert = finding.alert
    return _kind_step(
        ALERT_STEPS[alert.code],
        status="overdue" if alert.date < day else "to_do",
        rule_id=alert.rule_id,
        deadline=alert.date,
        reasons=(alert.code,),
        notes=(plain_words(alert.explanation, alert.rule_id),),
    )


def _hold_step(evaluation: Evaluation) -> Step:
    """DOSE-CUM: on hold until the hold's last day, waiting for what the alert that holds the drug asks (a
    recheck), else for the reason the hold was entered with."""
    hold = evaluation.hold
    assert hold is not None
    held_for = next((f for f in evaluation.findings if f.action.holds_drug and f.action.follow_up), None)
    waiting_for = held_for.action.follow_up if held_for else (hold.reason or "dosing resumes as planned")
    return _kind_step(
        ON_HOLD,
        label=f"On hold until {hold.end}: {waiting_for}",
        rule_id=held_for.alert.rule_id if held_for else ON_HOLD.rule_id,
        earliest=hold.end + DAY,
        reasons=(held_for.alert.code,) if held_for else (),
        notes=(f"Held from {hold.start} to {hold.end}" + (f": {hold.reason}." if hold.reason else "."),),
    )


def _follow_up_steps(course_file: CourseFile, history: History) -> list[Step]:
    """IPL-PT-POSITIVE: stop, refer, report, each done once a prescriber records it; due the day of the first
    positive test (stop the drug at once; reference.md gives the others no later day)."""
    day = history.day
    positive = history.positive_tests[0]
    steps = []
    for kind, step_kind in FOLLOW_UP_STEPS.items():
        done = [f.date for f in course_file.follow_ups if f.kind == kind and positive.date <= f.date <= day]
        if done:
            steps.append(_kind_step(step_kind, status="done", done_on=min(done)))
        else:
            status: StepStatus = "overdue" if positive.date < day else "to_do"
            steps.append(_kind_step(step_kind, status=status, deadline=positive.date))
    return steps


def expected_test_purpose(
    course_file: CourseFile, day: dt.date, evaluation: Evaluation | None = None
) -> str | None:
    """The pregnancy test a visit on ``day`` collects, for a patient who can get pregnant (None otherwise, or
    once the course is stopped): before the first fill the screening test until a negative one exists
    (IPL-PT-SCREEN), then the confirmation test (IPL-PT-CONFIRM); while the course runs the monthly test
    (IPL-PT-MONTH), or from 7 days before a set end the end-of-course test; after the last dose the
    end-of-course test until it is done, then the test 30 days after (IPL-COURSE-END)."""
    if course_file.patient.category != "can_get_pregnant":
        return None
    if evaluation is None:
        evaluation = evaluate(course_file, day)
    history = history_until(course_file, day)
    end = course_file.course.end
    due = {d.code for d in evaluation.due}
    if evaluation.phase == "stopped":
        return None
    if evaluation.phase == "qualifying":
        screened = any(t.purpose == "screening" and t.negative for t in history.pregnancy_tests)
        return "confirmation" if screened else "screening"
    end_test_due = "PREGNANCY_TEST_END_OF_COURSE" in due
    if evaluation.phase == "active":
        near_end = end is not None and day >= end - END_OF_COURSE_TEST_LEAD_DAYS * DAY
        return "end_of_course" if near_end and end_test_due else "monthly"
    return "end_of_course" if end_test_due else "post_course"


# --- contraception ------------------------------------------------------------------------------------------


def methods_in_use(course_file: CourseFile, day: dt.date) -> tuple[str, ...]:
    """IPL-PATIENT-QUIZ: the counted methods in use on the day (primary, then secondary, then abstinence)."""
    in_use = {
        c.method for c in course_file.contraception if c.start <= day and (c.end is None or c.end >= day)
    }
    order = (PRIMARY_METHODS, SECONDARY_METHODS, frozenset({ABSTINENCE}))
    return tuple(m for group in order for m in sorted(in_use & group))


def cover_start(course_file: CourseFile, day: dt.date) -> dt.date | None:
    """The first day of the unbroken contraception cover (IPL-CON-2) that includes the day, if any."""
    at = day.toordinal()
    for start, end in ipledge.covered_ranges(course_file.contraception):
        if start <= at <= end:
            return dt.date.fromordinal(start)
    return None


def _cover_note(course_file: CourseFile, day: dt.date) -> tuple[str, ...]:
    since = cover_start(course_file, day)
    return (f"Covered since {since}.",) if since else ()


# --- countdowns ---------------------------------------------------------------------------------------------


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def days_left(step: Step, day: dt.date) -> int | None:
    """Days to the step's deadline (negative: overdue), else to its earliest day if that is still ahead."""
    ranked = rank_date(step, day)
    return (ranked - day).days if ranked is not None else None


def countdown(step: Step, day: dt.date) -> str:
    """The step's deadline in plain words: "window closes in 2 days", "pick-up today is the last day",
    "test overdue 3 days"."""
    if step.status == "done":
        return f"done on {step.done_on}" if step.done_on else "done"
    if step.status == "not_needed":
        return "not needed"
    if step.deadline is not None:
        left = (step.deadline - day).days
        if "WINDOW_EXPIRED" in step.reasons:
            return f"window closed {_days(-left)} ago: new {step.noun} needed"
        if step.window_bound:
            if left > 1:
                return f"window closes in {_days(left)}"
            if left == 1:
                return "window closes tomorrow"
            if left == 0:
                return f"{step.noun} today is the last day"
            return f"window closed {_days(-left)} ago"
        if left > 1:
            return f"{step.noun} due in {_days(left)}"
        if left == 1:
            return f"{step.noun} due tomorrow"
        if left == 0:
            return f"{step.noun} due today"
        return f"{step.noun} overdue {_days(-left)}"
    if step.earliest is not None and step.earliest > day:
        left = (step.earliest - day).days
        return f"{step.noun} {step.until_word} on {step.earliest} (in {_days(left)})"
    if step.status == "blocked":
        return "waiting for an earlier step"
    return f"{step.noun}: no deadline"


# --- flags of single results, for the course page's tables --------------------------------------------------


def result_flag(result: LabResult | MoodScreen, policy: Policy) -> Alert | None:
    """The alert one lab result or mood screen would raise on its own (LAB-TG-HIGH, LAB-TG-CRIT, LAB-LFT-HIGH,
    MOOD), by the monitoring rules themselves; the evaluation's alerts judge only the latest results."""
    if isinstance(result, MoodScreen):
        found = mood_alerts((result,))
        return found[-1] if found else None
    if result.test == "triglycerides":
        return triglycerides_alert((result,), policy)
    if result.test in ("alt", "ast"):
        return liver_alert((result,), policy)
    return None


# IPL-PRESCRIBER-CONFIRM counts a prescriber confirmation only from the qualifying test on; IPL-PATIENT-QUIZ
# counts the patient's answers only from the confirmation on: an entry before what it rests on is ignored.
_ENTRY_STEP = {"patient_attestation": PATIENT_QUESTIONS}
_COMES_FIRST = {PATIENT_QUESTIONS.code: (PRESCRIBER_ENTRY.code,)}
_TEST_STEPS = (SCREENING_TEST.code, CONFIRMATION_TEST.code, MONTHLY_TEST.code)


def entry_out_of_order(course_file: CourseFile, kind: str, day: dt.date) -> str | None:
    """Why an iPLEDGE entry of ``kind`` on ``day`` is out of order, naming the step that comes first, or None:
    enrollment before any other entry (IPL-ENROLL); a negative pregnancy test of the cycle before the
    prescriber's confirmation (IPL-PRESCRIBER-CONFIRM); the prescriber's confirmation before the patient's
    comprehension questions (IPL-PATIENT-QUIZ). Only a step not recorded at
    all comes first: one recorded but not counted (a test inside a lockout, say) is the evaluation's to
    explain with its own alert."""
    enrolled = any(e.kind == "enrollment" and e.date <= day for e in course_file.events)
    if kind != "enrollment" and not enrolled:
        return f"Enrollment in iPLEDGE comes first: record it before this step ({ENROLLMENT.rule_id})."
    if kind == "prescriber_confirmation":
        return _untested(course_file, day)
    step_kind = _ENTRY_STEP.get(kind)
    if step_kind is None:
        return None
    for step in current_cycle(course_file, day).steps:
        missing = step.pending and all(reason.endswith("_MISSING") for reason in step.reasons)
        if step.code in _COMES_FIRST[step_kind.code] and missing:
            return f"“{step.label}” comes first: record it, then “{step_kind.label}” ({step_kind.rule_id})."
    return None


def _untested(course_file: CourseFile, day: dt.date) -> str | None:
    """IPL-PRESCRIBER-CONFIRM: the prescriber confirms a negative pregnancy test of the cycle (since the last
    pick-up) of a patient who can get pregnant; without one, the cycle's test comes first."""
    if course_file.patient.category != "can_get_pregnant":
        return None
    events = [e for e in course_file.events if e.date <= day]
    last_fill = max((e.date for e in events if e.kind == "dispense"), default=None)
    if any(
        isinstance(e, PregnancyTest) and e.result == "negative" and (last_fill is None or e.date >= last_fill)
        for e in events
    ):
        return None
    steps = current_cycle(course_file, day).steps
    label = next((s.label for s in steps if s.code in _TEST_STEPS and s.pending), MONTHLY_TEST.label)
    return (
        f"“{label}” comes first: record its negative result, then “{PRESCRIBER_ENTRY.label}” "
        f"({PRESCRIBER_ENTRY.rule_id})."
    )
