"""Alerts the core raises and their follow-up: a prescriber's acknowledgment, the steps after a positive
pregnancy test (which stop the course)."""

from __future__ import annotations

from datetime import date

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability
from isotrack.clinic.actions.base import (
    action,
    check_course,
    create,
    plausible,
    today_of,
)
from isotrack.clinic.actions.courses import end_course, set_status
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import (
    AlertAcknowledgment,
    Course,
    CourseStatus,
    PregnancyFollowUp,
    PregnancyFollowUpStep,
    StaffUser,
    StopReason,
)
from isotrack.clinic.records import course_facts
from isotrack.core import plausibility


@action
def acknowledge_alert(
    *, actor: StaffUser, course: Course, code: str, alert_date: date, reason: str, day: date
) -> AlertAcknowledgment:
    """A prescriber acknowledges an alert the core raises on ``day`` (reference.md ALERT-URGENCY), saying why;
    an alert that calls for holding the drug lets a prescription be proposed again. A positive pregnancy test
    is closed by its follow-up steps instead (``record_pregnancy_follow_up``)."""
    check_course(actor, course, Capability.PRESCRIBE)
    if code not in core.ACKNOWLEDGEABLE:
        raise InvalidInput(
            "A positive pregnancy test is closed by recording its follow-up steps, not acknowledged."
            if code == "PREGNANCY_TEST_POSITIVE"
            else f"{code!r} is not an alert.",
            field="code",
        )
    if not reason.strip():
        raise InvalidInput("Say why the alert is acknowledged (what was decided).", field="reason")
    plausible(plausibility.not_after_today(day, today_of(course.patient), "An acknowledgment"), "date")
    raised = core.evaluate(course_facts(course), day).alerts
    if not any(alert.code == code and alert.date == alert_date for alert in raised):
        raise InvalidInput(f"There is no such alert on {day}: it may have been cleared by a newer result.")
    if AlertAcknowledgment.objects.filter(course=course, alert_code=code, alert_date=alert_date).exists():
        raise InvalidInput("This alert is already acknowledged.", field="code")
    item = AlertAcknowledgment(
        course=course, alert_code=code, alert_date=alert_date, date=day, reason=reason.strip()
    )
    return create(
        actor, item, patient=course.patient, code=EventCode.ALERT_ACKNOWLEDGE, reason=reason.strip()
    )


@action
def record_pregnancy_follow_up(
    *, actor: StaffUser, course: Course, step: str, day: date, note: str = ""
) -> PregnancyFollowUp:
    """One follow-up step of a positive pregnancy test done (IPL-PT-POSITIVE), recorded by a prescriber.
    Recording that the drug was stopped also ends the course that day (IPL-PREG-STOP), if it has not ended."""
    check_course(actor, course, Capability.PRESCRIBE)
    if step not in PregnancyFollowUpStep.values:
        raise InvalidInput(f"{step!r} is not a follow-up step.", field="step")
    positive = course.pregnancy_tests.filter(result="positive").order_by("specimen_date", "id").first()
    if positive is None:
        raise InvalidInput("This course has no positive pregnancy test to follow up.", field="step")
    plausible(plausibility.not_after_today(day, today_of(course.patient), "A follow-up step"), "date")
    if day < positive.specimen_date:
        raise InvalidInput(
            f"The follow-up cannot be before the positive test of {positive.specimen_date}.", field="date"
        )
    if PregnancyFollowUp.objects.filter(course=course, step=step).exists():
        raise InvalidInput("This follow-up step is already recorded.", field="step")
    item = PregnancyFollowUp(course=course, step=step, date=day, note=note.strip())
    done = create(actor, item, patient=course.patient, code=EventCode.PREGNANCY_FOLLOW_UP_RECORD)
    if step == PregnancyFollowUpStep.STOP:
        _stop_course(actor, course, day)
    return done


def _stop_course(actor: StaffUser, course: Course, day: date) -> None:
    """IPL-PREG-STOP: the last day of dosing is the day the drug was stopped; a course that never started is
    stopped without one."""
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.end is not None or course.status == CourseStatus.REVOKED:
        return
    if day >= course.start:
        end_course(
            actor=actor,
            course=course,
            end=day,
            reason="positive pregnancy test",
            stopped=True,
            stop_reason=StopReason.POSITIVE_TEST,
        )
        return
    set_status(
        actor,
        course,
        CourseStatus.REVOKED,
        EventCode.COURSE_STOP,
        "positive pregnancy test before the first dose",
        stop_reason=StopReason.POSITIVE_TEST,
    )
