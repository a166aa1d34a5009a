"""Courses, the records of a course (dose segments and every kind of event), evaluations, the worklist and the
calendar. Each kind of course record has its own explicit input and output schema (table `RECORD_KINDS`).

Every decision shown is the engine's, read through the clinic: the evaluation with the next step and the
prescription the core proposes (`isotrack.api.answers`), the worklist's stored lines (`clinic.worklist`, the
home page's, in its order), the practice's calendar (`clinic.calendar`, the calendar page's). Nothing here
ranks, filters or judges on its own."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from isotrack.api import answers
from isotrack.api.v1.common import (
    READ_PROBLEMS,
    UPDATE_PROBLEMS,
    WRITE_PROBLEMS,
    DateRange,
    PageParams,
    actor,
    check_version,
    created,
    decimal,
    decimal_of,
    doc_created,
    doc_read,
    doc_update,
    etag_of,
    page,
    public_fields,
    read_version,
)
from isotrack.api.v1.schemas import (
    AcknowledgmentIn,
    AcknowledgmentOut,
    CalendarOut,
    CourseEndPatch,
    CourseIn,
    CourseOut,
    CoursePage,
    CourseStatus,
    Day,
    DispenseIn,
    DispenseOut,
    DoseSegmentIn,
    DoseSegmentOut,
    EvaluationOut,
    InterruptionIn,
    InterruptionOut,
    IpledgeEntryIn,
    IpledgeEntryOut,
    LabResultIn,
    LabResultOut,
    MissedDoseIn,
    MissedDoseOut,
    MoodScreenIn,
    MoodScreenOut,
    PregnancyFollowUpIn,
    PregnancyFollowUpOut,
    PregnancyTestIn,
    PregnancyTestOut,
    SideEffectIn,
    SideEffectOut,
    VisitIn,
    VisitOut,
    WorklistPage,
    text,
)
from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic import worklist as clinic_worklist
from isotrack.clinic.access import access_course, access_patient, practice_id_of, practice_of
from isotrack.clinic.actions import alerts as alert_actions
from isotrack.clinic.actions import courses as course_actions
from isotrack.clinic.actions.dosing import change_dose, record_interruption, record_missed_dose
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import (
    record_lab_result,
    record_mood_screen,
    record_pregnancy_test,
    record_side_effect,
)
from isotrack.clinic.actions.visits import record_visit
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.judgments import Evaluation, NextStep, PrescriptionProposal
from isotrack.clinic.models import (
    AlertAcknowledgment,
    Course,
    Dispense,
    DoseSegment,
    Interruption,
    IpledgeEntry,
    LabResult,
    MissedDose,
    MoodScreen,
    PatientCategory,
    PregnancyFollowUp,
    PregnancyTest,
    SideEffect,
    StaffUser,
    Visit,
)
from isotrack.clinic.queries import judge, practice_today
from isotrack.clinic.records import target_of

router = Router(tags=["courses"])


class DayParam(Schema):
    on: Day | None = Field(None, description="The day (default: today in the practice's time zone).")


CALENDAR_MAX_DAYS = 366
CALENDAR_PAGE, CALENDAR_MAX_PAGE = 200, 1000  # events per page of the calendar: by default, at most


def course_out(course: Course) -> dict[str, Any]:
    own = {"prescriber_name", "follows_practice_target", "stop_reason"}
    values = public_fields(course, [name for name in CourseOut.model_fields if name not in own])
    values["prescriber_name"] = course.prescriber.display_name
    values["stop_reason"] = course.stop_reason or None  # blank: not stopped, or no reason recorded
    values["target_mg_per_kg"] = target_of(course, course.patient.practice)
    values["follows_practice_target"] = course.target_mg_per_kg is None
    return values


def _staff(user: StaffUser, staff_uuid: UUID | None, field: str) -> StaffUser | None:
    if staff_uuid is None:
        return None
    found = StaffUser.objects.filter(
        practice_id=practice_id_of(user), uuid=staff_uuid, is_active=True
    ).first()
    if found is None:
        raise InvalidInput("No such member of the practice's staff.", field=field)
    return found


def _day(request: HttpRequest, on: date | None, course: Course | None = None) -> date:
    """The evaluation day: the one asked for, else today in the practice's time zone."""
    if on is not None:
        return on
    practice = course.patient.practice if course is not None else practice_of(actor(request))
    return practice_today(practice)


# --------------------------------------------------------------------------------------------------- courses


class CourseFilters(Schema):
    status: CourseStatus | None = None
    patient: UUID | None = Field(None, description="Only this patient's courses.")


@router.get("/courses", response={200: CoursePage, **READ_PROBLEMS}, summary="List courses")
def list_courses(
    request: HttpRequest, paging: Query[PageParams], filters: Query[CourseFilters]
) -> dict[str, Any]:
    courses = Course.objects.select_related("prescriber", "patient__practice").filter(
        patient__practice_id=practice_id_of(actor(request))
    )
    if filters.status is not None:
        courses = courses.filter(status=filters.status)
    if filters.patient is not None:
        courses = courses.filter(patient__uuid=filters.patient)
    return page(courses.order_by("-start", "-id"), paging, course_out)


@router.get(
    "/patients/{uuid:patient_uuid}/courses",
    response={200: list[CourseOut], **READ_PROBLEMS},
    tags=["patients"],
)
def list_patient_courses(request: HttpRequest, patient_uuid: UUID) -> list[dict[str, Any]]:
    patient = access_patient(actor(request), patient_uuid)
    courses = patient.courses.select_related("prescriber", "patient__practice")
    return [course_out(c) for c in courses.order_by("-start", "-id")]


@router.post(
    "/patients/{uuid:patient_uuid}/courses",
    response={201: CourseOut, **WRITE_PROBLEMS},
    summary="Open a course with its first dose (prescribers)",
    openapi_extra=doc_created(),
)
def start_course(
    request: HttpRequest, patient_uuid: UUID, payload: CourseIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    user = actor(request)
    patient = access_patient(user, patient_uuid)
    prescriber = _staff(user, payload.prescriber, "prescriber") or user
    course = course_actions.start_course(
        actor=user,
        patient=patient,
        prescriber=prescriber,
        start=payload.start,
        mg_per_day=decimal_of(payload.mg_per_day),
        product=payload.product,
        target_mg_per_kg=decimal_of(payload.target_mg_per_kg),
        indication=payload.indication,
        planned_end=payload.planned_end,
        brand=payload.brand,
        strength_mg=payload.strength_mg,
    )
    created(response, f"/courses/{course.uuid}")
    return Status(201, course_out(course))


@router.get(
    "/courses/{uuid:course_uuid}", response={200: CourseOut, **READ_PROBLEMS}, openapi_extra=doc_read()
)
def get_course(
    request: HttpRequest, course_uuid: UUID, response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    course = access_course(actor(request), course_uuid)
    return read_version(request, course_out(course), response)


@router.patch(
    "/courses/{uuid:course_uuid}",
    response={200: CourseOut, **UPDATE_PROBLEMS},
    summary="End or stop a course (prescribers; If-Match required)",
    openapi_extra=doc_update(),
)
def end_course(
    request: HttpRequest, course_uuid: UUID, payload: CourseEndPatch, response: HttpResponse
) -> dict[str, Any]:
    user = actor(request)
    with transaction.atomic():
        course = access_course(user, course_uuid)
        check_version(request, course, course_out)
        course = course_actions.end_course(
            actor=user,
            course=course,
            end=payload.end,
            reason=payload.reason,
            stopped=payload.stopped,
            stop_reason=payload.stop_reason or "",
        )
    course = access_course(user, course_uuid)
    answer = course_out(course)
    response["ETag"] = etag_of(answer)
    return answer


# ------------------------------------------------------------------------------------------- course records


@dataclass(frozen=True)
class RecordKind:
    """One kind of course record: its URL segment, model, date field, schemas and its writing action."""

    segment: str
    name: str
    model: type[Model]
    date_field: str
    schema_in: type[Schema]
    schema_out: type[Schema]
    create: Callable[[StaffUser, Course, Any], Model]


def _dose_segment(user: StaffUser, course: Course, p: DoseSegmentIn) -> Model:
    return change_dose(
        actor=user,
        course=course,
        starts_on=p.starts_on,
        mg_per_day=decimal(p.mg_per_day),
        product=p.product,
        change_reason=p.change_reason,
        reason=p.reason,
        brand=p.brand,
        strength_mg=p.strength_mg,
    )


def _pregnancy_test(user: StaffUser, course: Course, p: PregnancyTestIn) -> Model:
    return record_pregnancy_test(
        actor=user,
        course=course,
        purpose=p.purpose,
        setting=p.setting,
        specimen_date=p.specimen_date,
        result=p.result,
        verified_by=_staff(user, p.verified_by, "verified_by"),
        verification_note=p.verification_note,
    )


def _dispense(user: StaffUser, course: Course, p: DispenseIn) -> Model:
    return record_dispense(
        actor=user,
        course=course,
        day=p.date,
        days_supply=p.days_supply,
        quantity=p.quantity,
        mg_per_day=decimal_of(p.mg_per_day),
        product=p.product or "",
        pharmacy=p.pharmacy,
        rma=p.rma,
    )


def _lab_result(user: StaffUser, course: Course, p: LabResultIn) -> Model:
    return record_lab_result(
        actor=user,
        course=course,
        test=p.test,
        effective_date=p.effective_date,
        value=decimal(p.value),
        unit=p.unit,
        uln=decimal_of(p.uln),
        reference_low=decimal_of(p.reference_low),
        reference_high=decimal_of(p.reference_high),
    )


RECORD_KINDS = (
    RecordKind(
        "dose-segments",
        "dose segment",
        DoseSegment,
        "starts_on",
        DoseSegmentIn,
        DoseSegmentOut,
        _dose_segment,
    ),
    RecordKind(
        "interruptions",
        "interruption (hold)",
        Interruption,
        "start",
        InterruptionIn,
        InterruptionOut,
        lambda user, course, p: record_interruption(
            actor=user, course=course, start=p.start, end=p.end, reason=p.reason
        ),
    ),
    RecordKind(
        "missed-doses",
        "missed dose",
        MissedDose,
        "date",
        MissedDoseIn,
        MissedDoseOut,
        lambda user, course, p: record_missed_dose(actor=user, course=course, day=p.date),
    ),
    RecordKind(
        "pregnancy-tests",
        "pregnancy test",
        PregnancyTest,
        "specimen_date",
        PregnancyTestIn,
        PregnancyTestOut,
        _pregnancy_test,
    ),
    RecordKind(
        "ipledge-entries",
        "iPLEDGE entry",
        IpledgeEntry,
        "date",
        IpledgeEntryIn,
        IpledgeEntryOut,
        lambda user, course, p: record_ipledge_entry(
            actor=user, course=course, kind=p.kind, day=p.date, confirmation_number=p.confirmation_number
        ),
    ),
    RecordKind("dispenses", "dispense", Dispense, "date", DispenseIn, DispenseOut, _dispense),
    RecordKind(
        "lab-results", "lab result", LabResult, "effective_date", LabResultIn, LabResultOut, _lab_result
    ),
    RecordKind(
        "visits",
        "visit",
        Visit,
        "date",
        VisitIn,
        VisitOut,
        lambda user, course, p: record_visit(actor=user, course=course, day=p.date, note=p.note),
    ),
    RecordKind(
        "mood-screens",
        "mood screen",
        MoodScreen,
        "date",
        MoodScreenIn,
        MoodScreenOut,
        lambda user, course, p: record_mood_screen(
            actor=user, course=course, day=p.date, instrument=p.instrument, score=p.score, item9=p.item9
        ),
    ),
    RecordKind(
        "side-effects",
        "side effect",
        SideEffect,
        "onset",
        SideEffectIn,
        SideEffectOut,
        lambda user, course, p: record_side_effect(
            actor=user,
            course=course,
            term=p.term,
            severity=p.severity,
            onset=p.onset,
            resolved_on=p.resolved_on,
            action_taken=p.action,
        ),
    ),
)


def record_out(kind: RecordKind, instance: Model) -> dict[str, Any]:
    values = public_fields(instance, kind.schema_out.model_fields)
    if values.get("product") == "":  # a dispense whose product was not recorded
        values["product"] = None
    if values.get("change_reason") == "":  # a dose recorded without a reason for its change
        values["change_reason"] = None
    return values


def _records(kind: RecordKind, course: Course, dates: DateRange) -> QuerySet[Any]:
    records = kind.model.objects.filter(course=course).order_by(kind.date_field, "id")  # type: ignore[attr-defined]
    if dates.since:
        records = records.filter(**{f"{kind.date_field}__gte": dates.since})
    if dates.until:
        records = records.filter(**{f"{kind.date_field}__lte": dates.until})
    return records


def _add_record_routes(kind: RecordKind) -> None:
    """GET (list, with a date range) and POST (create through the kind's action) for one kind of record."""
    operation = kind.segment.replace("-", "_")
    path = f"/courses/{{uuid:course_uuid}}/{kind.segment}"
    schema_in, schema_out = kind.schema_in, kind.schema_out

    def list_records(
        request: HttpRequest, course_uuid: UUID, dates: Query[DateRange]
    ) -> list[dict[str, Any]]:
        course = access_course(actor(request), course_uuid)
        return [record_out(kind, r) for r in _records(kind, course, dates)]

    def create_record(
        request: HttpRequest,
        course_uuid: UUID,
        payload: schema_in,  # type: ignore[valid-type]
    ) -> Status[dict[str, Any]]:
        user = actor(request)
        return Status(201, record_out(kind, kind.create(user, access_course(user, course_uuid), payload)))

    router.get(
        path,
        response={200: list[schema_out], **READ_PROBLEMS},  # type: ignore[valid-type]
        operation_id=f"list_{operation}",
        summary=f"List the course's {kind.name} records",
        tags=["events"],
    )(list_records)
    router.post(
        path,
        response={201: schema_out, **WRITE_PROBLEMS},
        operation_id=f"record_{operation}",
        summary=f"Record a {kind.name}",
        tags=["events"],
    )(create_record)


for _kind in RECORD_KINDS:
    _add_record_routes(_kind)


# ----------------------------------------------------------------------------------------------- evaluation


def evaluation_out(
    course: Course,
    evaluation: Evaluation,
    *,
    next_step: NextStep,
    names: dict[tuple[str, date], str],
    proposal: PrescriptionProposal,
) -> dict[str, Any]:
    """The spec's answer (`to_dict`) with the rule id and explanation of every decision beside its code, and
    what the engine decides beyond the spec: the alerts with their urgency and acknowledgments, the hold, the
    next step with the worklist's tier, and the prescription a visit on the day would propose."""
    answer = evaluation.to_dict()
    answer["course"] = course.uuid
    answer["rule_set_title"] = evaluation.rule_set.title
    answer["dispense"]["blocking"] = [
        {"code": b.code, "rule_id": b.rule_id, "explanation": b.explanation}
        for b in evaluation.dispense.blocking
    ]
    answer["alerts"] = [
        {
            "code": a.code,
            "date": a.date,
            "detail": a.detail,
            "rule_id": a.rule_id,
            "explanation": a.explanation,
        }
        for a in evaluation.alerts
    ]
    answer["due"] = [{"code": d.code, "date": d.date, "rule_id": d.rule_id} for d in evaluation.due]
    answer["findings"] = answers.findings_out(evaluation, names)
    hold = evaluation.hold
    answer["hold"] = {"from": hold.start, "to": hold.end, "reason": hold.reason} if hold else None
    step = next_step.step
    answer["next_step"] = answers.step_out(step, next_step.countdown, next_step.days_left) if step else None
    answer["tier"] = next_step.tier
    prescription = proposal.prescription
    answer["prescription"] = (
        {
            "days_supply": prescription.days_supply,
            "mg_per_day": prescription.mg_per_day,
            "product": prescription.product,
        }
        if prescription is not None
        else None
    )
    answer["prescription_reasons"] = list(proposal.reasons)
    return answer


@router.get(
    "/courses/{uuid:course_uuid}/evaluation",
    response={200: EvaluationOut, **READ_PROBLEMS},
    summary="Where the course stands on a day (default: today in the practice), and what is next",
    by_alias=True,
)
def get_evaluation(request: HttpRequest, course_uuid: UUID, day: Query[DayParam]) -> dict[str, Any]:
    course = access_course(actor(request), course_uuid)
    judged = judge(course, day.on or practice_today(course.patient.practice))
    return evaluation_out(
        course,
        judged.evaluation,
        next_step=judged.next_step,
        names=judged.acknowledged_by,
        proposal=judged.proposal,
    )


# ------------------------------------------------------------------------------------------------- worklist


class WorklistParams(Schema):
    """The worklist page's filters."""

    prescriber: UUID | None = Field(None, description="Only this prescriber's courses.")
    category: PatientCategory | None = None
    phase: text(20) = Field("", description="qualifying, active, post_course, completed or stopped.")  # type: ignore[valid-type]
    step: text(40) = Field("", description="Only lines whose next step has this code.")  # type: ignore[valid-type]
    q: text(100) = Field("", description="Name, MRN or iPLEDGE ID.")  # type: ignore[valid-type]


@router.get(
    "/worklist",
    response={200: WorklistPage, **READ_PROBLEMS},
    summary="The worklist of the home page: its lines, in its order (the most urgent first)",
)
def worklist(
    request: HttpRequest,
    paging: Query[PageParams],
    day: Query[DayParam],
    filters: Query[WorklistParams],
) -> dict[str, Any]:
    on, total, lines = clinic_worklist.lines(
        actor(request),
        clinic_worklist.WorklistFilters(
            prescriber=str(filters.prescriber or ""),
            category=filters.category or "",
            phase=filters.phase,
            step=filters.step,
            q=filters.q,
        ),
        paging.offset,
        paging.limit,
        today=day.on,
    )
    items = []
    for line in lines:
        items.append(
            {
                "course": line.course_uuid,
                "patient": line.patient_uuid,
                "patient_name": line.patient_name,
                "mrn": line.mrn,
                "ipledge_id": line.ipledge_id,
                "prescriber_name": line.prescriber,
                "category": line.category,
                "status": line.status,
                "phase": line.phase,
                "rules": line.rule_set_id,
                "tier": line.tier,
                "next_step": {
                    "code": line.step_code,
                    "label": line.step_label,
                    "actor": line.actor,
                    "status": line.step_status,
                    "deadline": line.deadline,
                    "earliest": line.earliest,
                    "countdown": line.countdown,
                    "days_left": line.days_left,
                    "rule_id": line.rule_id,
                }
                if line.step_code
                else None,
                "dispense_allowed": line.dispense_allowed,
                "blocking": list(line.blocking),
                "alerts": [
                    {
                        "code": a.code,
                        "label": a.label,
                        "date": a.date,
                        "detail": a.detail,
                        "rule_id": a.rule_id,
                        "open": a.open,
                    }
                    for a in line.alerts
                ],
            }
        )
    return {"on": on, "items": items, "count": total, **paging.dict()}


# ------------------------------------------------------------------------------------------------- calendar


class CalendarParams(Schema):
    start: Day | None = Field(None, description="First day shown (default: today).")
    end: Day | None = Field(
        None, description=f"Last day shown (default: start + 30; at most {CALENDAR_MAX_DAYS})."
    )
    prescriber: UUID | None = Field(None, description="Only this prescriber's courses.")
    limit: int = Field(CALENDAR_PAGE, ge=1, le=CALENDAR_MAX_PAGE, description="Events per page.")
    after: text(200) = Field(  # type: ignore[valid-type]
        "", description="The `next_after` of the previous page: the events after it, in the same order."
    )


@router.get(
    "/calendar",
    response={200: CalendarOut, **READ_PROBLEMS},
    summary="The practice's calendar between two days (the calendar page's events), as planned today",
)
def calendar(request: HttpRequest, span: Query[CalendarParams]) -> dict[str, Any]:
    """The calendar page's stored plans and queries: the events of the days asked for, by day, then by
    patient, each with the core's status on today; a page at a time (``next_after`` names the next)."""
    user = actor(request)
    practice = practice_of(user)
    today = clinic_calendar.refresh(practice)
    start = span.start or today
    end = span.end or start + timedelta(days=30)
    if end < start or (end - start).days > CALENDAR_MAX_DAYS:
        raise InvalidInput(f"Choose an end from the start to {CALENDAR_MAX_DAYS} days after it.", field="end")
    prescriber = None
    if span.prescriber is not None:
        prescriber = clinic_calendar.find_prescriber(practice, span.prescriber)
        if prescriber is None:
            raise InvalidInput("No such prescriber in the practice.", field="prescriber")
    page = clinic_calendar.events_between(
        practice, today, start, end, prescriber=prescriber, after=span.after, size=span.limit
    )
    items = []
    for entry in page.entries:
        event = entry.event
        items.append(
            {
                "date": event.date,
                "kind": event.kind,
                "key": event.key,
                "label": event.label,
                "status": entry.status,
                "earliest": event.earliest,
                "latest": event.latest,
                "done_on": event.done_on,
                "projected": event.projected,
                "for_staff_only": event.for_staff_only,
                "rule_id": event.rule_id,
                "due_code": event.due_code,
                "due_date": event.due_date,
                "course": entry.course_uuid,
                "patient": entry.patient_uuid,
                "patient_name": entry.patient_name,
            }
        )
    next_after = page.next_after or None
    return {"on": today, "start": start, "end": end, "items": items, "next_after": next_after}


# ------------------------------------------------------------------------- acknowledgments, follow-up steps


def acknowledgment_out(item: AlertAcknowledgment) -> dict[str, Any]:
    return {
        "id": item.uuid,
        "course": item.course.uuid,
        "recorded_at": item.recorded_at,
        "code": item.alert_code,
        "alert_date": item.alert_date,
        "date": item.date,
        "reason": item.reason,
    }


def follow_up_out(item: PregnancyFollowUp) -> dict[str, Any]:
    return public_fields(item, PregnancyFollowUpOut.model_fields)


@router.get(
    "/courses/{uuid:course_uuid}/acknowledgments",
    response={200: list[AcknowledgmentOut], **READ_PROBLEMS},
    summary="The course's acknowledged alerts",
    tags=["events"],
)
def list_acknowledgments(request: HttpRequest, course_uuid: UUID) -> list[dict[str, Any]]:
    course = access_course(actor(request), course_uuid)
    found = course.acknowledgments.select_related("course").order_by("date", "id")
    return [acknowledgment_out(a) for a in found]


@router.post(
    "/courses/{uuid:course_uuid}/acknowledgments",
    response={201: AcknowledgmentOut, **WRITE_PROBLEMS},
    summary="Acknowledge an alert of today's evaluation, saying why (prescribers)",
    tags=["events"],
)
def acknowledge_alert(
    request: HttpRequest, course_uuid: UUID, payload: AcknowledgmentIn
) -> Status[dict[str, Any]]:
    user = actor(request)
    course = access_course(user, course_uuid)
    acknowledged = alert_actions.acknowledge_alert(
        actor=user,
        course=course,
        code=payload.code,
        alert_date=payload.alert_date,
        reason=payload.reason,
        day=practice_today(course.patient.practice),
    )
    return Status(201, acknowledgment_out(acknowledged))


@router.get(
    "/courses/{uuid:course_uuid}/pregnancy-follow-up",
    response={200: list[PregnancyFollowUpOut], **READ_PROBLEMS},
    summary="The follow-up steps recorded after a positive pregnancy test",
    tags=["events"],
)
def list_pregnancy_follow_up(request: HttpRequest, course_uuid: UUID) -> list[dict[str, Any]]:
    course = access_course(actor(request), course_uuid)
    found = course.pregnancy_follow_ups.select_related("course").order_by("date", "id")
    return [follow_up_out(f) for f in found]


@router.post(
    "/courses/{uuid:course_uuid}/pregnancy-follow-up",
    response={201: PregnancyFollowUpOut, **WRITE_PROBLEMS},
    summary="Record a follow-up step of a positive pregnancy test: stop, refer or report (prescribers)",
    tags=["events"],
)
def record_pregnancy_follow_up(
    request: HttpRequest, course_uuid: UUID, payload: PregnancyFollowUpIn
) -> Status[dict[str, Any]]:
    user = actor(request)
    recorded = alert_actions.record_pregnancy_follow_up(
        actor=user,
        course=access_course(user, course_uuid),
        step=payload.step,
        day=payload.date,
        note=payload.note,
    )
    return Status(201, follow_up_out(recorded))
