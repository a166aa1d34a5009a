"""Patients and their patient-level records (weights, contraception, other medicines)."""

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

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
    doc_created,
    doc_read,
    doc_update,
    etag_of,
    page,
    public_fields,
    read_version,
)
from isotrack.api.v1.schemas import (
    ContraceptionEndPatch,
    ContraceptionIn,
    ContraceptionOut,
    MedicationEndPatch,
    MedicationIn,
    MedicationOut,
    PatientCategory,
    PatientCategoryIn,
    PatientContactPatch,
    PatientIn,
    PatientOut,
    PatientPage,
    WeightIn,
    WeightOut,
    WeightPatch,
)
from isotrack.clinic import queries
from isotrack.clinic.access import access_medication, access_patient, access_weight, practice_id_of
from isotrack.clinic.actions import patients as patient_actions
from isotrack.clinic.errors import RecordNotFound
from isotrack.clinic.models import Contraception, OtherMedication, Patient, StaffUser, Weight

router = Router(tags=["patients"])


def patient_out(patient: Patient) -> dict[str, Any]:
    return public_fields(patient, PatientOut.model_fields) | {"category": patient.category or None}


def weight_out(weight: Weight) -> dict[str, Any]:
    return public_fields(weight, WeightOut.model_fields)


def contraception_out(item: Contraception) -> dict[str, Any]:
    return public_fields(item, ContraceptionOut.model_fields)


def medication_out(item: OtherMedication) -> dict[str, Any]:
    fields = (name for name in MedicationOut.model_fields if name != "medication_class_label")
    return public_fields(item, fields) | {"medication_class_label": item.get_medication_class_display()}


def _access_contraception(request: HttpRequest, item_uuid: UUID) -> Contraception:
    item = (
        Contraception.objects.select_related("patient")
        .filter(uuid=item_uuid, patient__practice_id=practice_id_of(actor(request)))
        .first()
    )
    if item is None:
        raise RecordNotFound("No such contraception record.")
    return item


# -------------------------------------------------------------------------------------------------- patients


class PatientFilters(Schema):
    search: str = Field("", max_length=100, description="Part of a name, or an exact MRN or iPLEDGE ID.")
    category: PatientCategory | None = None


@router.get("/patients", response={200: PatientPage, **READ_PROBLEMS}, summary="List or search patients")
def list_patients(
    request: HttpRequest, paging: Query[PageParams], filters: Query[PatientFilters]
) -> dict[str, Any]:
    patients = queries.search_patients(actor(request), filters.search.replace("\x00", ""))
    if filters.category is not None:
        patients = patients.filter(category=filters.category)
    return page(patients, paging, patient_out)


@router.post(
    "/patients",
    response={201: PatientOut, **WRITE_PROBLEMS},
    summary="Register a patient",
    openapi_extra=doc_created(),
)
def register_patient(
    request: HttpRequest, payload: PatientIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    patient = patient_actions.register_patient(actor=actor(request), **payload.dict())
    created(response, f"/patients/{patient.uuid}")
    return Status(201, patient_out(patient))


@router.get(
    "/patients/{uuid:patient_uuid}", response={200: PatientOut, **READ_PROBLEMS}, openapi_extra=doc_read()
)
def get_patient(
    request: HttpRequest, patient_uuid: UUID, response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    patient = access_patient(actor(request), patient_uuid)
    return read_version(request, patient_out(patient), response)


@router.patch(
    "/patients/{uuid:patient_uuid}",
    response={200: PatientOut, **UPDATE_PROBLEMS},
    summary="Change the patient's contact details (If-Match required)",
    openapi_extra=doc_update(),
)
def update_patient_contact(
    request: HttpRequest, patient_uuid: UUID, payload: PatientContactPatch, response: HttpResponse
) -> dict[str, Any]:
    user = actor(request)
    with transaction.atomic():
        patient = access_patient(user, patient_uuid)
        check_version(request, patient, patient_out)
        patient = patient_actions.update_patient_contact(actor=user, patient=patient, **payload.dict())
    answer = patient_out(patient)
    response["ETag"] = etag_of(answer)
    return answer


@router.put(
    "/patients/{uuid:patient_uuid}/category",
    response={200: PatientOut, **UPDATE_PROBLEMS},
    summary="Set the patient's iPLEDGE category (prescribers; If-Match required)",
    openapi_extra=doc_update(),
)
def set_patient_category(
    request: HttpRequest, patient_uuid: UUID, payload: PatientCategoryIn, response: HttpResponse
) -> dict[str, Any]:
    user = actor(request)
    with transaction.atomic():
        patient = access_patient(user, patient_uuid)
        check_version(request, patient, patient_out)
        patient = patient_actions.set_patient_category(
            actor=user, patient=patient, category=payload.category, reason=payload.reason
        )
    answer = patient_out(patient)
    response["ETag"] = etag_of(answer)
    return answer


# --------------------------------------------------------------------------------------------------- weights


@router.get(
    "/patients/{uuid:patient_uuid}/weights", response={200: list[WeightOut], **READ_PROBLEMS}, tags=["events"]
)
def list_weights(request: HttpRequest, patient_uuid: UUID, dates: Query[DateRange]) -> list[dict[str, Any]]:
    weights = access_patient(actor(request), patient_uuid).weights.order_by("effective_date", "id")
    if dates.since:
        weights = weights.filter(effective_date__gte=dates.since)
    if dates.until:
        weights = weights.filter(effective_date__lte=dates.until)
    return [weight_out(w) for w in weights]


@router.post(
    "/patients/{uuid:patient_uuid}/weights",
    response={201: WeightOut, **WRITE_PROBLEMS},
    tags=["events"],
    openapi_extra=doc_created(),
)
def record_weight(
    request: HttpRequest, patient_uuid: UUID, payload: WeightIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    user = actor(request)
    weight = patient_actions.record_weight(
        actor=user,
        patient=access_patient(user, patient_uuid),
        effective_date=payload.effective_date,
        value=decimal(payload.value),
        unit=payload.unit,
    )
    created(response, f"/weights/{weight.uuid}")
    return Status(201, weight_out(weight))


@router.get(
    "/weights/{uuid:weight_uuid}",
    response={200: WeightOut, **READ_PROBLEMS},
    tags=["events"],
    openapi_extra=doc_read(),
)
def get_weight(
    request: HttpRequest, weight_uuid: UUID, response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    weight = access_weight(actor(request), weight_uuid)
    return read_version(request, weight_out(weight), response)


@router.patch(
    "/weights/{uuid:weight_uuid}",
    response={200: WeightOut, **UPDATE_PROBLEMS},
    tags=["events"],
    summary="Correct a weight (If-Match required)",
    openapi_extra=doc_update(),
)
def change_weight(
    request: HttpRequest, weight_uuid: UUID, payload: WeightPatch, response: HttpResponse
) -> dict[str, Any]:
    user = actor(request)
    with transaction.atomic():
        weight = access_weight(user, weight_uuid)
        check_version(request, weight, weight_out)
        weight = patient_actions.change_weight(
            actor=user,
            weight=weight,
            effective_date=payload.effective_date,
            value=decimal(payload.value),
            unit=payload.unit,
            reason=payload.reason,
        )
    answer = weight_out(weight)
    response["ETag"] = etag_of(answer)
    return answer


# --------------------------------------------------------------------------------------------- contraception


@router.get(
    "/patients/{uuid:patient_uuid}/contraception",
    response={200: list[ContraceptionOut], **READ_PROBLEMS},
    tags=["events"],
)
def list_contraception(
    request: HttpRequest, patient_uuid: UUID, dates: Query[DateRange]
) -> list[dict[str, Any]]:
    items = access_patient(actor(request), patient_uuid).contraception.all()
    return [contraception_out(c) for c in _periods_within(items, dates)]


@router.post(
    "/patients/{uuid:patient_uuid}/contraception",
    response={201: ContraceptionOut, **WRITE_PROBLEMS},
    tags=["events"],
    openapi_extra=doc_created(),
)
def record_contraception(
    request: HttpRequest, patient_uuid: UUID, payload: ContraceptionIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    user = actor(request)
    item = patient_actions.record_contraception(
        actor=user,
        patient=access_patient(user, patient_uuid),
        method=payload.method,
        start=payload.start,
        end=payload.end,
    )
    created(response, f"/contraception/{item.uuid}")
    return Status(201, contraception_out(item))


@router.get(
    "/contraception/{uuid:contraception_uuid}",
    response={200: ContraceptionOut, **READ_PROBLEMS},
    tags=["events"],
    openapi_extra=doc_read(),
)
def get_contraception(
    request: HttpRequest, contraception_uuid: UUID, response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    item = _access_contraception(request, contraception_uuid)
    return read_version(request, contraception_out(item), response)


@router.patch(
    "/contraception/{uuid:contraception_uuid}",
    response={200: ContraceptionOut, **UPDATE_PROBLEMS},
    tags=["events"],
    summary="Record the last day a method was used (If-Match required)",
    openapi_extra=doc_update(),
)
def end_contraception(
    request: HttpRequest, contraception_uuid: UUID, payload: ContraceptionEndPatch, response: HttpResponse
) -> dict[str, Any]:
    return _end_period(
        request,
        response,
        lambda: _access_contraception(request, contraception_uuid),
        contraception_out,
        lambda user, item: patient_actions.end_contraception(actor=user, contraception=item, end=payload.end),
    )


# ------------------------------------------------------------------------------------------ other medicines


@router.get(
    "/patients/{uuid:patient_uuid}/medications",
    response={200: list[MedicationOut], **READ_PROBLEMS},
    tags=["events"],
    summary="The patient's other medicines and supplements",
)
def list_medications(
    request: HttpRequest, patient_uuid: UUID, dates: Query[DateRange]
) -> list[dict[str, Any]]:
    items = access_patient(actor(request), patient_uuid).other_medications.all()
    return [medication_out(m) for m in _periods_within(items, dates)]


@router.post(
    "/patients/{uuid:patient_uuid}/medications",
    response={201: MedicationOut, **WRITE_PROBLEMS},
    tags=["events"],
    summary="Record another medicine or supplement (its class: the one given, else isotrack's table's)",
    openapi_extra=doc_created(),
)
def record_medication(
    request: HttpRequest, patient_uuid: UUID, payload: MedicationIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    user = actor(request)
    item = patient_actions.record_medication(
        actor=user,
        patient=access_patient(user, patient_uuid),
        name=payload.name,
        start=payload.start,
        end=payload.end,
        medication_class=payload.medication_class,
        rxnorm=payload.rxnorm,
    )
    created(response, f"/medications/{item.uuid}")
    return Status(201, medication_out(item))


@router.get(
    "/medications/{uuid:medication_uuid}",
    response={200: MedicationOut, **READ_PROBLEMS},
    tags=["events"],
    openapi_extra=doc_read(),
)
def get_medication(
    request: HttpRequest, medication_uuid: UUID, response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    item = access_medication(actor(request), medication_uuid)
    return read_version(request, medication_out(item), response)


@router.patch(
    "/medications/{uuid:medication_uuid}",
    response={200: MedicationOut, **UPDATE_PROBLEMS},
    tags=["events"],
    summary="Record the last day a medicine was taken (If-Match required)",
    openapi_extra=doc_update(),
)
def end_medication(
    request: HttpRequest, medication_uuid: UUID, payload: MedicationEndPatch, response: HttpResponse
) -> dict[str, Any]:
    return _end_period(
        request,
        response,
        lambda: access_medication(actor(request), medication_uuid),
        medication_out,
        lambda user, item: patient_actions.end_medication(actor=user, medication=item, end=payload.end),
    )


Period = TypeVar("Period", Contraception, OtherMedication)


def _periods_within(items: QuerySet[Period], dates: DateRange) -> QuerySet[Period]:
    """The periods (a method's, a medicine's) that overlap the asked dates, oldest first."""
    if dates.since:
        items = items.exclude(end__lt=dates.since)
    if dates.until:
        items = items.filter(start__lte=dates.until)
    return items.order_by("start", "id")


def _end_period(
    request: HttpRequest,
    response: HttpResponse,
    read: Callable[[], Period],
    out: Callable[[Period], dict[str, Any]],
    end: Callable[[StaffUser, Period], Period],
) -> dict[str, Any]:
    """A period's last day, if the caller's If-Match names its current version (in one transaction)."""
    user = actor(request)
    with transaction.atomic():
        item = read()
        check_version(request, item, out)
        item = end(user, item)
    answer = out(item)
    response["ETag"] = etag_of(answer)
    return answer
