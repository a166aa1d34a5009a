"""A course opens, becomes active at its first pick-up, and ends (completed, or stopped early)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.trail import snapshot
from isotrack.clinic import worklist_entries
from isotrack.clinic.access import Capability, require
from isotrack.clinic.actions.base import (
    action,
    check_course,
    check_practice,
    create,
    plausible,
    record,
    today_of,
    validated_save,
)
from isotrack.clinic.actions.dosing import check_strength
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import (
    Course,
    CourseStatus,
    DoseSegment,
    Patient,
    Practice,
    Role,
    StaffUser,
    StopReason,
)
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import course_facts
from isotrack.core import plausibility


@action
def start_course(
    *,
    actor: StaffUser,
    patient: Patient,
    prescriber: StaffUser,
    start: date,
    mg_per_day: Decimal | None,
    product: str = "conventional",
    target_mg_per_kg: Decimal | None = None,
    indication: str = "L70.0",
    planned_end: date | None = None,
    brand: str = "",
    strength_mg: int | None = None,
) -> Course:
    """Open a course (qualifying until the first dispense) with its first dose segment (and its capsule
    strength, when the prescriber gives one)."""
    require(actor, Capability.PRESCRIBE)
    check_practice(actor, patient)
    if prescriber.practice_id != patient.practice_id or prescriber.role != Role.PRESCRIBER:
        raise InvalidInput("Choose a prescriber of this practice.", field="prescriber")
    if not patient.category:
        raise InvalidInput("Assign the patient's iPLEDGE category first (IPL-CAT).", field="category")
    practice = Practice.objects.get(pk=patient.practice_id)
    plausible(plausibility.first_dosing_day(start, practice_today(practice), patient.birth_date), "start")
    if mg_per_day is not None:
        plausible(plausibility.mg_per_day(float(mg_per_day)), "mg_per_day")
        check_strength(strength_mg, mg_per_day, product, brand)
    elif strength_mg is not None:
        raise InvalidInput("A capsule strength goes with a first dose.", field="strength_mg")
    course = Course(
        patient=patient,
        prescriber=prescriber,
        indication=indication,
        start=start,
        planned_end=planned_end,
        target_mg_per_kg=target_mg_per_kg,  # none: the practice's, as its settings say
    )
    validated_save(course)
    worklist_entries.add_line(course)
    record(
        actor=actor, action=EventCode.COURSE_START, instance=course, patient=patient, after=snapshot(course)
    )
    if mg_per_day is not None:
        segment = DoseSegment(
            course=course,
            starts_on=start,
            mg_per_day=mg_per_day,
            product=product,
            brand=brand,
            strength_mg=strength_mg,
            reason="starting dose",
        )
        create(actor, segment, patient=patient, code=EventCode.DOSE_PRESCRIBE)
    return course


@action
def end_course(
    *,
    actor: StaffUser,
    course: Course,
    end: date,
    reason: str = "",
    stopped: bool = False,
    stop_reason: str = "",
) -> Course:
    """Record the last day of dosing: a completed course, or one stopped early (`stopped`), which FHIR calls a
    revoked CarePlan. A stopped course says why (`stop_reason`, one of ``StopReason``: the codes the quality
    report counts stopped courses by); a completed one has no such reason. `reason` is the prescriber's own
    note, kept in the audit row."""
    check_course(actor, course, Capability.PRESCRIBE)
    check_stop_reason(stopped, stop_reason)
    course = Course.objects.select_for_update().get(pk=course.pk)
    plausible(
        plausibility.planned_within_a_year(end, today_of(course.patient), "The last day of dosing"), "end"
    )
    if not (stopped and stop_reason == STOP_BY_TEST) and _stopped_by_a_test(course, end):
        raise InvalidInput(
            "A positive pregnancy test stopped this course (IPL-PT-POSITIVE): record its follow-up steps "
            "(stop, refer, report) instead; they stop it with that reason.",
            field="stop_reason" if stopped else "end",
        )
    before = snapshot(course)
    course.end = end
    course.status = CourseStatus.REVOKED if stopped else CourseStatus.COMPLETED
    course.stop_reason = stop_reason if stopped else ""
    validated_save(course)
    record(
        actor=actor,
        action=EventCode.COURSE_STOP if stopped else EventCode.COURSE_END,
        instance=course,
        patient=course.patient,
        before=before,
        after=snapshot(course),
        reason=reason,
    )
    return course


STOP_BY_TEST = "positive_test"  # core.STOP_REASONS: the reason a positive test's follow-up records


def _stopped_by_a_test(course: Course, end: date) -> bool:
    """Whether the engine says a positive pregnancy test stopped the course by its last day of dosing
    ``end`` (its phase that day): then only the test's follow-up ends it, as stopped for that reason, never
    another reason nor as completed. A positive test after the last dose stops nothing (core.quality)."""
    return core.standing(course_facts(course), end).phase == "stopped"


STOP_REASON_WORDS = ", ".join(f"{code} ({label.lower()})" for code, label in StopReason.choices)


def check_stop_reason(stopped: bool, stop_reason: str) -> None:
    """A stopped course needs one of ``StopReason``; a course that ends as planned takes none."""
    if stopped and not stop_reason:
        raise InvalidInput(f"Choose why the course is stopped: {STOP_REASON_WORDS}.", field="stop_reason")
    if stopped and stop_reason not in StopReason.values:
        shown = stop_reason if stop_reason.isprintable() else repr(stop_reason)
        raise InvalidInput(
            f"{shown[:40]} is not a reason for stopping a course; choose one of {STOP_REASON_WORDS}.",
            field="stop_reason",
        )
    if not stopped and stop_reason:
        raise InvalidInput(
            "A course that ends as planned has no reason for stopping; to give one, stop the course early.",
            field="stop_reason",
        )


@action
def activate_course(*, actor: StaffUser, course: Course) -> Course:
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.status == CourseStatus.DRAFT:
        set_status(actor, course, CourseStatus.ACTIVE, EventCode.COURSE_ACTIVATE)
    return course


def set_status(
    actor: StaffUser, course: Course, status: Any, code: EventCode, reason: str = "", stop_reason: str = ""
) -> None:
    """A course's status changed (the caller holds the row locked), with its audit row; a course stopped
    this way says why (``stop_reason``, as ``end_course``)."""
    if stop_reason:
        check_stop_reason(status == CourseStatus.REVOKED, stop_reason)
    before = snapshot(course)
    course.status = status
    course.stop_reason = stop_reason
    course.save(update_fields=["status", "stop_reason"])
    record(
        actor=actor,
        action=code,
        instance=course,
        patient=course.patient,
        before=before,
        after=snapshot(course),
        reason=reason,
    )
