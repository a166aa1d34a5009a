"""The engine's answers that the JSON API, the FHIR view and CDS Hooks show, read through the clinic (web and
api call clinic; clinic calls core): nothing here decides anything clinical, it only asks and presents.

- the evaluation, next step, proposed prescription and calendar of one course on one day come from
  ``clinic.queries.judge`` (one read of its facts).
- ``plan(course, day)``: the course's therapy calendar on the day, with the evaluation it was read off
  (``calendar.course_calendar``: the core's ``therapy_calendar``).
- ``acknowledgers(acknowledgments)``: who acknowledged each alert (the stored records name the staff member;
  the core knows the alert by its code and date).
- ``findings_out(evaluation, names)``: every alert of the evaluation with its urgency, what it asks for and of
  whom, and its acknowledgment (ALERT-URGENCY), most urgent first, as the API's ``FindingOut``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic.judgments import Evaluation, Finding, PlannedEvent, TherapyCalendar
from isotrack.clinic.models import AlertAcknowledgment, Course

# IPL-PT-POSITIVE: the calendar's follow-up events of a stopped course, by the follow-up step they stand for
# (the step values of the API's pregnancy-follow-up endpoint).
FOLLOW_UP_EVENTS = {"pregnancy_stop": "stop", "pregnancy_refer": "refer", "pregnancy_report": "report"}


def plan(course: Course, day: date) -> TherapyCalendar:
    """The core's ``TherapyCalendar`` of the course on the day (``.evaluation`` is the evaluation)."""
    return clinic_calendar.course_calendar(course, day)


def follow_up_events(events: Iterable[PlannedEvent]) -> list[PlannedEvent]:
    """The follow-up steps of a stopped course among the calendar's events (IPL-PT-POSITIVE)."""
    return [event for event in events if event.kind in FOLLOW_UP_EVENTS]


def acknowledgers(acknowledgments: Iterable[AlertAcknowledgment]) -> dict[tuple[str, date], str]:
    """(alert code, alert date) -> the display name of the prescriber who acknowledged it."""
    return {(a.alert_code, a.alert_date): a.recorded_by.display_name for a in acknowledgments}


def acknowledged_by(finding: Finding, names: dict[tuple[str, date], str]) -> str | None:
    """Who acknowledged the finding's alert (None: open, or closed by its follow-up steps)."""
    acknowledgment = finding.acknowledgment
    if acknowledgment is None:
        return None
    return names.get((acknowledgment.code, acknowledgment.alert_date), acknowledgment.by)


def findings_out(evaluation: Evaluation, names: dict[tuple[str, date], str]) -> list[dict[str, Any]]:
    found = []
    for finding in evaluation.findings:
        alert, action, acknowledgment = finding.alert, finding.action, finding.acknowledgment
        found.append(
            {
                "code": alert.code,
                "date": alert.date,
                "detail": alert.detail,
                "rule_id": alert.rule_id,
                "urgency": action.urgency,
                "label": action.label,
                "asks_for": action.asks_for,
                "by": action.actor,
                "holds_drug": action.holds_drug,
                "open": finding.open,
                "acknowledged": {
                    "date": acknowledgment.date,
                    "by": acknowledged_by(finding, names),
                    "reason": acknowledgment.reason,
                }
                if acknowledgment is not None
                else None,
            }
        )
    return found


def step_out(step: Any, countdown: str, days_left: int | None) -> dict[str, Any]:
    """A step of the core as the API's ``NextStepOut``."""
    return {
        "code": step.code,
        "label": step.label,
        "actor": step.actor,
        "status": step.status,
        "deadline": step.deadline,
        "earliest": step.earliest,
        "countdown": countdown,
        "days_left": days_left,
        "rule_id": step.rule_id,
    }
