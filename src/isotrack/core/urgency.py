"""How urgent each alert is, what it asks for and of whom, and which alerts are open on the day
(reference.md section 3, ``ALERT-URGENCY``; the pages, the worklist, the API, FHIR and CDS Hooks only show
it).

- ``ALERT_ACTIONS``: the table of reference.md, most urgent first. The first five call for holding or
  stopping a drug (``holds_drug``): no prescription is proposed while one of them is open.
- ``findings(course_file, alerts, day)``: each alert of the evaluation with its action and whether it is
  *open* or *acknowledged*. An alert stays open until a newer result clears it (the evaluation no longer
  raises it) or a prescriber acknowledges it with a reason (``Acknowledgment`` of the same code and date: a
  newer finding has a new date, so it is open again). A positive pregnancy test is not acknowledged: it is
  handled once its three follow-up steps are recorded (IPL-PREG-STOP, IPL-PREG-REFER, IPL-PREG-REPORT).
- ``hold_on(course_file, day)``: the hold (interruption) the course is in on the day, merged with the holds
  that touch it.
- ``tier``: the worklist's rank before deadlines: self-harm risk, a positive pregnancy test, a critical lab,
  another alert that stops a drug, a course on hold, then everything else by its deadline.

Decisions where reference.md is silent: an acknowledgment dated after the day is not known on the day; the
tiers follow the issue that asked for them ("self-harm risk, positive pregnancy test, critical lab, drug on
hold, then missed windows and deadlines"); the alerts that do not hold a drug do not change the tier, they
break ties within it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from isotrack.core.course import FOLLOW_UP_KINDS, Acknowledgment, CourseFile, Interruption
from isotrack.core.monitoring import Alert
from isotrack.core.weights import ACT_NOW, REVIEW, SETTLED

Actor = str  # "prescriber" or "staff" (isotrack.core.cycle's Actor)
_DAY = dt.timedelta(days=1)

TIER_SELF_HARM = 0
TIER_PREGNANCY = 1
TIER_CRITICAL_LAB = 2
TIER_DRUG_STOPPED = 3
TIER_ON_HOLD = 4
TIER_OTHER = 5
TIER_LABELS: dict[int, str] = {
    TIER_SELF_HARM: "Self-harm risk",
    TIER_PREGNANCY: "Positive pregnancy test",
    TIER_CRITICAL_LAB: "Critical lab result",
    TIER_DRUG_STOPPED: "A drug to stop",
    TIER_ON_HOLD: "On hold",
    TIER_OTHER: "",
}


@dataclass(frozen=True, slots=True)
class AlertAction:
    """One line of ALERT-URGENCY: what the alert asks for, of whom, and whether it holds or stops a drug."""

    code: str
    label: str  # the alert's name for a badge
    asks_for: str  # what to do, in the reference's words
    actor: Actor
    holds_drug: bool = False
    tier: int = TIER_OTHER
    follow_up: str = ""  # while the drug is held for it: what the hold waits for

    @property
    def urgency(self) -> int:
        """0 for the most urgent alert (the table's order)."""
        return ALERT_ORDER.index(self.code)

    @property
    def weight(self) -> str:
        """The alert's own weight, acknowledged or not (``WEIGHTS``): ACT_NOW when it holds or stops a
        drug."""
        return ACT_NOW if self.holds_drug else REVIEW


_ACTIONS = (
    AlertAction(
        "SELF_HARM_RISK",
        "Self-harm risk",
        "a safety assessment the same day, before the patient leaves",
        "prescriber",
        holds_drug=True,
        tier=TIER_SELF_HARM,
        follow_up="safety assessment",
    ),
    AlertAction(  # isotrack's own: the patient's unconfirmed check-in answer (monitoring.self_harm_reported)
        "SELF_HARM_REPORTED",
        "Self-harm reported",
        "a call to the patient today for a safety assessment (reported at check-in, not yet confirmed)",
        "prescriber",
        tier=TIER_SELF_HARM,
    ),
    AlertAction(
        "PREGNANCY_TEST_POSITIVE",
        "Positive pregnancy test",
        "stop the drug at once, refer to an obstetrician-gynecologist, report to the iPLEDGE pregnancy "
        "registry and FDA MedWatch",
        "prescriber",
        holds_drug=True,
        tier=TIER_PREGNANCY,
    ),
    AlertAction(
        "TRIGLYCERIDES_CRITICAL",
        "Triglycerides critical",
        "hold the drug; recheck lipids in 2 weeks",
        "prescriber",
        holds_drug=True,
        tier=TIER_CRITICAL_LAB,
        follow_up="recheck triglycerides",
    ),
    AlertAction(
        "LIVER_ENZYMES_HIGH",
        "Liver enzymes high",
        "hold or reduce the dose; recheck in 2-4 weeks",
        "prescriber",
        holds_drug=True,
        tier=TIER_CRITICAL_LAB,
        follow_up="recheck the liver tests",
    ),
    AlertAction(
        "TETRACYCLINE_IN_USE",
        "Tetracycline in use",
        "stop the tetracycline (or hold isotretinoin); ask about headache and vision",
        "prescriber",
        holds_drug=True,
        tier=TIER_DRUG_STOPPED,
        follow_up="the tetracycline stopped",
    ),
    AlertAction(
        "MOOD_SCREEN_POSITIVE",
        "Mood screen positive",
        "evaluate at this visit; consider referral",
        "prescriber",
    ),
    AlertAction("DOSE_ABOVE_MAXIMUM", "Dose above maximum", "review the dose", "prescriber"),
    AlertAction(
        "TRIGLYCERIDES_HIGH",
        "Triglycerides high",
        "consider a lower dose; recheck in 2-4 weeks",
        "prescriber",
    ),
    AlertAction(
        "HORMONAL_METHOD_WEAKENED",
        "Hormonal method weakened",
        "counsel; prefer a non-hormonal primary method while it lasts",
        "prescriber",
    ),
    AlertAction("VITAMIN_A_IN_USE", "Vitamin A in use", "stop the supplement", "prescriber"),
    AlertAction(
        "BASELINE_LABS_MISSING", "Baseline labs missing", "draw the labs before the next fill", "staff"
    ),
    AlertAction("WEIGHT_CHANGED", "Weight changed", "review mg/kg/day and the target", "prescriber"),
    AlertAction("TARGET_REACHED", "Target reached", "plan the course end and its tests", "prescriber"),
)
ALERT_ORDER: tuple[str, ...] = tuple(action.code for action in _ACTIONS)
# Each alert's number in the calendar's events (an event's UID, which a feed's subscribers keep: it must not
# move when an alert is added): the reference table's order, then isotrack's own alerts.
OWN_ALERTS = ("SELF_HARM_REPORTED",)
ALERT_NUMBERS: dict[str, int] = {
    code: n for n, code in enumerate([*(c for c in ALERT_ORDER if c not in OWN_ALERTS), *OWN_ALERTS], start=1)
}
ALERT_ACTIONS: dict[str, AlertAction] = {action.code: action for action in _ACTIONS}
# Alerts a prescriber may acknowledge: all but a positive pregnancy test, which its follow-up steps close.
ACKNOWLEDGEABLE: tuple[str, ...] = tuple(code for code in ALERT_ORDER if code != "PREGNANCY_TEST_POSITIVE")
NO_OPEN_ALERT = len(ALERT_ORDER)  # the urgency of a line without an open alert: after every alert


@dataclass(frozen=True, slots=True)
class Finding:
    """An alert of the day with what it asks for, and the acknowledgment that handled it (None: open)."""

    alert: Alert
    action: AlertAction
    acknowledgment: Acknowledgment | None = None

    @property
    def open(self) -> bool:
        return self.acknowledgment is None

    @property
    def withholds_prescription(self) -> bool:
        """Open and calling for holding or stopping the drug: no prescription is proposed."""
        return self.open and self.action.holds_drug

    @property
    def weight(self) -> str:
        """What the alert weighs on its day (``WEIGHTS``): the alert's own weight while open, SETTLED once a
        prescriber acknowledged it."""
        return self.action.weight if self.open else SETTLED


def findings(course_file: CourseFile, alerts: tuple[Alert, ...], day: dt.date) -> tuple[Finding, ...]:
    """The alerts with their actions and acknowledgments, most urgent first."""
    found = []
    for alert in alerts:
        action = ALERT_ACTIONS[alert.code]
        found.append(Finding(alert, action, _acknowledgment(course_file, alert, day)))
    return tuple(sorted(found, key=lambda f: f.action.urgency))


def _acknowledgment(course_file: CourseFile, alert: Alert, day: dt.date) -> Acknowledgment | None:
    if alert.code == "PREGNANCY_TEST_POSITIVE":
        return _follow_up_done(course_file, alert, day)
    found = None
    for acknowledgment in course_file.acknowledgments:
        if (
            acknowledgment.code == alert.code
            and acknowledgment.alert_date == alert.date
            and acknowledgment.date <= day
            and (found is None or acknowledgment.date >= found.date)
        ):
            found = acknowledgment
    return found


def _follow_up_done(course_file: CourseFile, alert: Alert, day: dt.date) -> Acknowledgment | None:
    """IPL-PT-POSITIVE is handled once stop, refer and report are each recorded (on or after the test)."""
    done: dict[str, dt.date] = {}
    for step in course_file.follow_ups:
        if alert.date <= step.date <= day:
            done[step.kind] = max(step.date, done.get(step.kind, step.date))
    if set(done) != set(FOLLOW_UP_KINDS):
        return None
    return Acknowledgment(
        alert.code, alert.date, max(done.values()), reason="stopped, referred and reported (IPL-PT-POSITIVE)"
    )


def hold_on(course_file: CourseFile, day: dt.date) -> Interruption | None:
    """The hold (DOSE-CUM interruption) the course is in on the day while it runs, from the first day of the
    holds that touch one another around it to the last; its reason is that of the hold covering the day."""
    course = course_file.course
    if day < course.start or (course.end is not None and course.end < day):
        return None
    covering = [i for i in course_file.interruptions if i.start <= day <= i.end]
    if not covering:
        return None
    start, end = day, day
    for hold in sorted(course_file.interruptions, key=lambda i: (i.start, i.end)):
        if hold.start <= end + _DAY and hold.end >= start - _DAY:  # touches the stretch: extends it
            start, end = min(start, hold.start), max(end, hold.end)
    for hold in sorted(course_file.interruptions, key=lambda i: (i.end, i.start), reverse=True):
        if hold.start <= end + _DAY and hold.end >= start - _DAY:  # the same, from the other side
            start, end = min(start, hold.start), max(end, hold.end)
    return Interruption(start, end, max(covering, key=lambda i: i.end).reason)


def tier(found: tuple[Finding, ...], hold: Interruption | None) -> int:
    """The worklist's rank before deadlines (module docstring): the most urgent open alert that holds or
    stops a drug or a self-harm report not yet confirmed (which holds nothing), else a hold, else the rest."""
    tiers = [f.action.tier for f in found if f.open and (f.action.holds_drug or f.action.tier < TIER_OTHER)]
    if tiers:
        return min(tiers)
    return TIER_ON_HOLD if hold is not None else TIER_OTHER


def most_urgent_open(found: tuple[Finding, ...]) -> int:
    """The urgency of the most urgent open alert (``NO_OPEN_ALERT`` when none is open): ties within a tier."""
    return min((f.action.urgency for f in found if f.open), default=NO_OPEN_ALERT)
