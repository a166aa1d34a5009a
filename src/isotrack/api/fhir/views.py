"""The FHIR R4 view under /fhir/R4/: metadata, read, search by patient, Patient/{id}/$everything, the
$rems-etasu operation, and one write: ``POST MedicationStatement`` (create) records another medicine or
supplement the patient takes (issue 17, item 1) through the clinic's ``record_medication`` action, as the JSON
API does. Nothing else is written through FHIR. Practitioners (the prescribers the patients' resources name)
are read by id only.

Same bearer token (or session: unsafe methods need its CSRF token) and practice scoping as the JSON API;
errors are OperationOutcome resources with the API's stable codes; another practice's record answers 404
like a missing one.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.resource import Resource

from isotrack.api.auth import token_or_session
from isotrack.api.cds import isotretinoin_order
from isotrack.api.fhir import search as fhir_search
from isotrack.api.fhir.resources import (
    IPLEDGE_ID_SYSTEM,
    PROFILES,
    RXNORM,
    course_of_derived_id,
    derived_resources,
    medication_statement,
    patient_resource,
    patient_resources,
    practitioner_resource,
)
from isotrack.clinic import inputs, looks, queries
from isotrack.clinic.access import access_patient, patients_of, practice_of
from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.errors import ClinicError, InvalidInput, RecordNotFound
from isotrack.clinic.identifiers import mrn_systems, typed_as_mrn
from isotrack.clinic.models import (
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    LabResult,
    MoodScreen,
    OtherMedication,
    Patient,
    PregnancyTest,
    ReportSource,
    Role,
    StaffUser,
    Weight,
)
from isotrack.clinic.queries import current_course, practice_today

FHIR_JSON = "application/fhir+json"
REMS_GUIDE = "http://hl7.org/fhir/us/medication-rems/"  # HL7 US Medication REMS, STU2: $rems-etasu
RESOURCE_TYPES = (
    "Patient",
    "Practitioner",
    "Condition",
    "CarePlan",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationStatement",
    "Observation",
    "DetectedIssue",
    "Task",
)
# Which records a resource type is made from, and the path from the record to its patient.
SOURCES: dict[str, list[tuple[Any, str]]] = {
    "Patient": [(Patient, "")],
    "CarePlan": [(Course, "patient")],
    "MedicationRequest": [(DoseSegment, "course__patient")],
    "MedicationDispense": [(Dispense, "course__patient")],
    "MedicationStatement": [(OtherMedication, "patient")],
    "Observation": [
        (Weight, "patient"),
        (Contraception, "patient"),
        (PregnancyTest, "course__patient"),
        (LabResult, "course__patient"),
        (MoodScreen, "course__patient"),
    ],
}
READ_ONLY = ("Practitioner",)  # read by id only: the prescribers a patient's resources name, no search
# The US Core 6.1 profiles each type's resources may claim (each resource says which, in meta.profile).
SUPPORTED_PROFILES: dict[str, list[str]] = {
    "Patient": [PROFILES["Patient"]],
    "Practitioner": [PROFILES["Practitioner"]],
    "Condition": [PROFILES["Condition"]],
    "CarePlan": [PROFILES["CarePlan"]],
    "MedicationRequest": [PROFILES["MedicationRequest"]],
    "Observation": [PROFILES["lab"], PROFILES["body-weight"]],
}
ISSUE_CODES = {
    "not_found": "not-found",
    "not_permitted": "forbidden",
    "unauthenticated": "login",
    "not_supported": "not-supported",
    "csrf_failed": "forbidden",
    "method_not_allowed": "not-supported",
}
CREATED = ("MedicationStatement",)  # the one type FHIR writes: POST <type> (create)


def fhir_response(resource: Resource, status: int = 200) -> HttpResponse:
    return HttpResponse(resource.model_dump_json(), status=status, content_type=FHIR_JSON)


def outcome(status: int, code: str, detail: str) -> HttpResponse:
    resource = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": ISSUE_CODES.get(code, "invalid"),
                    "details": {"coding": [{"system": "urn:isotrack:problem", "code": code}], "text": detail},
                }
            ],
        }
    )
    response = fhir_response(resource, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="isotrack"'
    return response


def _clinic_view(view: Any, method: Any) -> Any:
    """Token or session (a session's unsafe method needs its CSRF token), the HTTP methods ``method`` allows,
    clinic errors as OperationOutcome."""

    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ClinicError as error:
            return outcome(error.http_status, error.code, error.message)

    run.__name__ = view.__name__
    return token_or_session(method(run), unauthenticated=_unauthenticated, csrf_refused=_csrf_refused)


def fhir_view(view: Any) -> Any:
    """Token or session, GET only, clinic errors as OperationOutcome."""
    return _clinic_view(view, require_GET)


def fhir_write_view(view: Any) -> Any:
    """Token or session with its CSRF token, POST only, clinic errors as OperationOutcome: the writes."""
    return _clinic_view(view, require_POST)


def _csrf_refused() -> HttpResponse:
    return outcome(403, "csrf_failed", "Send the CSRF token with a session request.")


def _unauthenticated() -> HttpResponse:
    return outcome(401, "unauthenticated", "Send Authorization: Bearer <token>.")


def _user(request: HttpRequest) -> StaffUser:
    return request.api_user  # type: ignore[attr-defined, no-any-return]


def _today(user: StaffUser) -> Any:
    return practice_today(practice_of(user))


def searchset(
    request: HttpRequest,
    resources: list[Resource],
    total: int | None = None,
    next_url: str | None = None,
    asked: fhir_search.Search | None = None,
) -> Bundle:
    """A searchset Bundle of the resources. For a search (``asked``), its ``self`` link names only the
    parameters that were applied, and an OperationOutcome entry names the ones that were not."""
    base = request.build_absolute_uri("/fhir/R4/")
    self_url = request.build_absolute_uri()
    if asked is not None:
        query = asked.applied.copy()
        if "_count" in request.GET:
            query["_count"] = str(asked.count)  # the count applied
        if "_offset" in request.GET:
            query["_offset"] = str(asked.offset)
        self_url = request.build_absolute_uri(
            f"{request.path}?{query.urlencode()}" if query else request.path
        )
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}{r.get_resource_type()}/{r.id}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in resources
    ]
    if asked is not None and asked.ignored:
        ignored = ", ".join(sorted(asked.ignored))
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "warning",
                            "code": "not-supported",
                            "diagnostics": f"Not supported, so not applied: {ignored[:400]}. Send "
                            "Prefer: handling=strict to have such a search refused.",
                        }
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "searchset",
            "timestamp": timezone.now().isoformat(),
            "total": len(resources) if total is None else total,
            "link": links,
            "entry": entries,
        }
    )


@login_not_required
@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    """The capability statement, public as FHIR expects (no patient data): exactly the interactions, search
    parameters and security this server has."""
    resources: list[dict[str, Any]] = []
    for kind in RESOURCE_TYPES:
        entry: dict[str, Any] = {"type": kind}
        if kind in SUPPORTED_PROFILES:
            entry["supportedProfile"] = SUPPORTED_PROFILES[kind]
        entry["interaction"] = [{"code": "read"}]
        if kind not in READ_ONLY:
            entry["interaction"].append({"code": "search-type"})
            entry["searchParam"] = [
                {
                    "name": param.name,
                    "type": param.type,
                    **({"definition": param.definition} if param.definition else {}),
                    "documentation": param.documentation,
                }
                for param in fhir_search.SUPPORTED[kind]
            ] + [
                {"name": name, "type": "number", "documentation": documentation}
                for name, documentation in fhir_search.RESULT_PARAMS.items()
            ]
        if kind in CREATED:
            entry["interaction"].append({"code": "create"})
            entry["conditionalCreate"] = False
            entry["documentation"] = CREATE_DOCUMENTATION
        if kind == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        resources.append(entry)
    resources.append(
        {
            "type": "GuidanceResponse",
            "operation": [
                {"name": "rems-etasu", "definition": f"{REMS_GUIDE}OperationDefinition/rems-etasu"}
            ],
        }
    )
    statement = CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-03",
            "kind": "instance",
            "software": {"name": "isotrack"},
            "implementation": {
                "description": "isotrack FHIR R4 view: read and search; create for MedicationStatement only",
                "url": request.build_absolute_uri("/fhir/R4"),
            },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Read-only except MedicationStatement create (POST MedicationStatement: another "
                        "medicine or supplement the patient takes). Searches apply every parameter listed "
                        "here; any other is refused with Prefer: handling=strict, or left out of the self "
                        "link and named in an OperationOutcome entry without it."
                    ),
                    "security": {
                        "cors": False,
                        "description": (
                            "Every request but this statement needs Authorization: Bearer <isotrack API "
                            "token>, a member's own token made on isotrack's token page (docs/api.md). No "
                            "OAuth or SMART on FHIR."
                        ),
                    },
                    "resource": resources,
                }
            ],
        }
    )
    return fhir_response(statement)


def _owner(user: StaffUser, kind: str, resource_id: str) -> Patient:
    """The patient whose resources hold the id: found by the id, whatever the practice's size."""
    try:
        key = uuid.UUID(resource_id)
    except ValueError:
        raise RecordNotFound(f"No such {kind}.") from None
    for model, to_patient in SOURCES[kind]:
        found = model.objects.filter(uuid=key)
        prefix = f"{to_patient}__" if to_patient else ""
        found = found.filter(**{f"{prefix}practice_id": user.practice_id}).first()
        if found is not None:
            patient = found if not to_patient else _follow(found, to_patient)
            looks.saw(patient)
            return patient  # type: ignore[no-any-return]
    raise RecordNotFound(f"No such {kind}.")


def _follow(record: Any, to_patient: str) -> Patient:
    for step in to_patient.split("__"):
        record = getattr(record, step)
    return record  # type: ignore[no-any-return]


def _prescriber(user: StaffUser, resource_id: str) -> StaffUser:
    """A member of the user's practice who prescribes (a prescriber, or the prescriber of a course): the
    Practitioners the practice's resources name. Anyone else, or another practice's, answers 404."""
    try:
        key = uuid.UUID(resource_id)
    except ValueError:
        raise RecordNotFound("No such Practitioner.") from None
    found = (
        StaffUser.objects.filter(uuid=key, practice=practice_of(user))
        .filter(Q(role=Role.PRESCRIBER) | Q(courses__isnull=False))
        .distinct()
        .first()
    )
    if found is None:
        raise RecordNotFound("No such Practitioner.")
    return found


@fhir_view
def read(request: HttpRequest, kind: str, resource_id: str) -> HttpResponse:
    user = _user(request)
    if kind not in RESOURCE_TYPES:
        raise RecordNotFound(f"isotrack serves no {kind[:40]} resources.")
    if kind == "Practitioner":
        return fhir_response(practitioner_resource(_prescriber(user, resource_id)))
    if kind in SOURCES:
        resources = patient_resources(_owner(user, kind, resource_id), _today(user))
    else:  # derived from a course (its indication, its evaluation's findings): the id names the course
        course = course_of_derived_id(resource_id)
        if course is None:
            raise RecordNotFound(f"No such {kind}.")
        courses = Course.objects.filter(uuid=course, patient__practice=practice_of(user))
        for owner in Patient.objects.filter(courses__in=courses):
            looks.saw(owner)
        resources = derived_resources(courses, _today(user), kind)
    for resource in resources:
        if resource.get_resource_type() == kind and resource.id == resource_id:
            return fhir_response(resource)
    raise RecordNotFound(f"No such {kind}.")


@fhir_view
def search(request: HttpRequest, kind: str) -> HttpResponse:
    user = _user(request)
    if kind not in RESOURCE_TYPES:
        raise RecordNotFound(f"isotrack serves no {kind[:40]} resources.")
    if kind in READ_ONLY:
        return outcome(
            400,
            "invalid",
            f"isotrack serves {kind} resources by read only (the ones a patient's resources name).",
        )
    practice = practice_of(user)
    try:
        strict = fhir_search.strict(request.headers.get("Prefer", ""))
        asked = fhir_search.parse(
            kind, request.GET, strict_handling=strict, zone=ZoneInfo(practice.time_zone)
        )
        references = fhir_search.patient_references(asked, request.build_absolute_uri("/fhir/R4/"))
    except fhir_search.SearchError as error:
        return outcome(400, "invalid", str(error))
    if kind == "Patient":
        return _patient_page(request, user, asked)
    if references is None:
        return outcome(400, "invalid", "Search by patient: ?patient=<patient UUID>.")
    # A patient the practice does not have (another practice's, or none) matches nothing, like any value.
    patients = list(patients_of(user).filter(uuid__in=references).order_by("id"))
    for patient in patients:
        looks.saw(patient)
    found = [
        resource
        for patient in patients
        for resource in patient_resources(patient, _today(user))
        if resource.get_resource_type() == kind
        and fhir_search.matches(asked, json.loads(resource.model_dump_json()))
    ]
    page = found[asked.offset : asked.offset + asked.count]
    more = (
        asked.count and len(found) > asked.offset + asked.count
    )  # _count=0: the total alone (FHIR 3.1.1.5.6)
    next_url = _next_page(request, asked) if more else None
    return fhir_response(searchset(request, page, total=len(found), next_url=next_url, asked=asked))


def _next_page(request: HttpRequest, asked: fhir_search.Search) -> str:
    query = asked.applied.copy()
    query["_count"], query["_offset"] = str(asked.count), str(asked.offset + asked.count)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _patient_page(request: HttpRequest, user: StaffUser, asked: fhir_search.Search) -> HttpResponse:
    """The practice's patients who match, a page at a time (``_count``, ``_offset``), in the database: the
    Bundle's ``next`` link names the following page."""
    practice = practice_of(user)
    matching = patients_of(user).filter(fhir_search.patient_filter(asked, mrn_systems(practice)))
    ordered = matching.select_related("practice").order_by("family_name", "given_name", "mrn", "id")
    page = list(ordered[asked.offset : asked.offset + asked.count + 1]) if asked.count else []
    next_url = _next_page(request, asked) if len(page) > asked.count else None
    resources = [_patient_only(p) for p in page[: asked.count]]
    for patient in page[: asked.count]:
        looks.saw(patient)  # each Patient resource answered is a look at that patient's record
    return fhir_response(
        searchset(request, resources, total=matching.count(), next_url=next_url, asked=asked)
    )


def _patient_only(patient: Patient) -> Resource:
    return patient_resource(patient)


@fhir_view
def everything(request: HttpRequest, resource_id: str) -> HttpResponse:
    user = _user(request)
    patient = access_patient(user, resource_id)
    return fhir_response(searchset(request, patient_resources(patient, _today(user))))


@login_not_required
@csrf_exempt
@require_POST
def rems_etasu(request: HttpRequest) -> HttpResponse:
    """``POST GuidanceResponse/$rems-etasu``: a Parameters resource with ``patient`` (a Patient: isotrack's
    id, or an identifier of this practice's MRN or the iPLEDGE id) and ``medication`` (a Medication or a
    MedicationRequest of isotretinoin) in; out, a Parameters resource whose ``rems-etasu`` GuidanceResponse
    gives the iPLEDGE requirements of a fill today, each a nested GuidanceResponse, as the core judges them
    (``core.rems``)."""
    return token_or_session(_rems_etasu, unauthenticated=_unauthenticated)(request)


def _rems_etasu(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        body = inputs.parse_json(request.body, "The request body")
    except inputs.BadInput as error:
        return outcome(400, "invalid", f"{error.message}.")
    given = _parameters(body)
    if given is None:
        return outcome(400, "invalid", "Send a Parameters resource with a patient and a medication.")
    patient_in, medication = given
    if isotretinoin_order(_as_order(medication), None) is None:
        return outcome(422, "invalid", "isotrack answers $rems-etasu for isotretinoin (iPLEDGE) only.")
    patient = _patient_named(user, patient_in)
    if patient is None:
        return outcome(404, "not_found", "isotrack does not know this patient.")
    looks.saw(patient)
    course = current_course(patient)
    subject = {"reference": f"Patient/{patient.uuid}"}
    if course is None:
        answer = _guidance("failure", subject, "isotrack has no isotretinoin course for this patient.")
    else:
        judged = queries.rems_etasu(course, _today(user))
        answer = _guidance(judged.status, subject, f"iPLEDGE, rule set {judged.rule_set_id}, {judged.day}")
    if course is not None and judged.requirements:
        answer["outputParameters"] = {"reference": "#etasuOutputParameters"}
        answer["contained"] = [
            {
                "resourceType": "Parameters",
                "id": "etasuOutputParameters",
                "parameter": [
                    {
                        "name": requirement.name,
                        "resource": _guidance(requirement.status, subject, requirement.note),
                    }
                    for requirement in judged.requirements
                ],
            }
        ]
    resource = Parameters.model_validate(
        {"resourceType": "Parameters", "parameter": [{"name": "rems-etasu", "resource": answer}]}
    )
    return fhir_response(resource)


def _guidance(status: str, subject: dict[str, str], note: str) -> dict[str, Any]:
    return {
        "resourceType": "GuidanceResponse",
        "moduleUri": REMS_GUIDE,
        "status": status,
        "subject": subject,
        "occurrenceDateTime": timezone.now().isoformat(),
        "note": [{"text": note}],
    }


def _parameters(body: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        return None
    named = {
        parameter.get("name"): parameter.get("resource")
        for parameter in body.get("parameter") or []
        if isinstance(parameter, dict)
    }
    patient, medication = named.get("patient"), named.get("medication")
    if not (isinstance(patient, dict) and isinstance(medication, dict)):
        return None
    return patient, medication


def _as_order(medication: dict[str, Any]) -> dict[str, Any]:
    """The medication as CDS Hooks' draft orders hold it, for the one recognition of isotretinoin."""
    if medication.get("resourceType") == "Medication":
        medication = {
            "resourceType": "MedicationRequest",
            "medicationReference": {"reference": "#medication"},
            "contained": [{**medication, "id": "medication"}],
        }
    return {"resourceType": "Bundle", "entry": [{"resource": medication}]}


def _patient_named(user: StaffUser, patient: dict[str, Any]) -> Patient | None:
    """The practice's patient the Patient resource names: by isotrack's id and by every identifier of this
    practice's MRN system or the iPLEDGE id's (an identifier of another system names no patient of ours).
    Every naming must name the same patient: a resource whose id and identifiers disagree, or that carries
    one of our identifiers matching nobody, names no one (``None``: the caller answers that it does not know
    the patient) rather than the first that matched."""
    mine = patients_of(user)
    named: set[int | None] = set()
    resource_id = patient.get("id")
    if isinstance(resource_id, str):
        try:
            by_id = mine.filter(uuid=uuid.UUID(resource_id)).first()
        except ValueError:
            by_id = None
        if by_id is not None:
            named.add(by_id.pk)
    ours = mrn_systems(practice_of(user))
    identifiers = patient.get("identifier")
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
            continue
        system, value = identifier.get("system"), identifier["value"]
        if isinstance(system, str) and system in ours and typed_as_mrn(identifier):
            found = mine.filter(mrn=value).first()
        elif system == IPLEDGE_ID_SYSTEM and value:
            found = mine.filter(ipledge_id=value).first()
        else:
            continue
        named.add(found.pk if found is not None else None)
    (only, *others) = named or {None}
    return None if only is None or others else mine.get(pk=only)


# ------------------------------------------------------------------------------ create: MedicationStatement

ACCEPTED_TYPES = (FHIR_JSON, "application/json")
STATEMENT_STATUSES = (
    "active",
    "completed",
    "entered-in-error",
    "intended",
    "stopped",
    "on-hold",
    "unknown",
    "not-taken",
)  # R4's medication-statement-status
CREATE_DOCUMENTATION = (
    "create: another medicine or supplement the patient takes (issue 17), recorded as the JSON API's POST "
    "/api/v1/patients/{id}/medications does, its class from isotrack's table by the RxNorm code or the name. "
    "subject Patient/<id>; medicationCodeableConcept (text, else the RxNorm coding's display, is the name; "
    "the RxNorm coding's code is kept; medicationReference is refused); effectivePeriod (start required, end "
    "optional) or effectiveDateTime (the first day; with status completed, the only day): a date, or a "
    "dateTime whose date as written is taken; status active or completed (completed needs an end: isotrack "
    "records medicines taken, no other status); informationSource the subject itself marks it reported by "
    "the patient (anyone else: the clinic's). A modifierExtension or implicitRules is refused (422). id is "
    "ignored (the server assigns it). No conditional create (If-None-Exist is refused). 201 with the stored "
    "resource and Location <base>/MedicationStatement/<id> (no versions)."
)


class _Refused(Exception):
    """A body refused before anything is written: the status and the words of its OperationOutcome."""

    def __init__(self, status: int, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


@fhir_write_view
def create_medication_statement(request: HttpRequest) -> HttpResponse:
    """``POST MedicationStatement`` (FHIR create): another medicine or supplement the patient takes, recorded
    by the clinic's ``record_medication`` (the user's capability, the practice, plausible dates, the audit
    row, one transaction). 400 for a body that is not a valid MedicationStatement; 422 for one isotrack
    cannot record (an element missing, a status other than active or completed, a medicationReference, a
    date the clinic refuses); 404 for a patient the practice does not have. Nothing of the body is logged."""
    user = _user(request)
    try:
        values = _medication_values(request)
    except _Refused as refused:
        return outcome(refused.status, refused.code, refused.detail)
    patient = access_patient(user, values.pop("patient_id"))
    elements = values.pop("elements")
    try:
        item = record_medication(actor=user, patient=patient, **values)
    except InvalidInput as error:  # the clinic's refusal, beside the element that gave the field
        element = elements.get(error.field or "")
        detail = f"{element}: {error.message}" if element else error.message
        return outcome(error.http_status, error.code, detail)
    stored = OtherMedication.objects.select_related("patient").get(pk=item.pk)
    response = fhir_response(medication_statement(stored, _today(user)), status=201)
    response["Location"] = request.build_absolute_uri(f"/fhir/R4/MedicationStatement/{stored.uuid}")
    return response


def _medication_values(request: HttpRequest) -> dict[str, Any]:
    """The arguments of ``record_medication`` the body gives (the patient by its id, ``patient_id``; and
    ``elements``: the element each field came from, named beside the clinic's refusal), or ``_Refused``."""
    if request.content_type not in ACCEPTED_TYPES:
        raise _Refused(415, f"Send the MedicationStatement as {FHIR_JSON}.", "not_supported")
    if "If-None-Exist" in request.headers:
        raise _Refused(
            400, "isotrack does not support conditional create: send no If-None-Exist.", "not_supported"
        )
    try:
        body = inputs.parse_json(request.body, "The request body")
    except inputs.BadInput as error:
        raise _Refused(400, f"{error.message}.") from None
    if not isinstance(body, dict) or body.get("resourceType") != "MedicationStatement":
        raise _Refused(400, "Send a MedicationStatement resource (resourceType MedicationStatement).")
    modifiers = _modifiers(body)
    if modifiers:
        raise _Refused(
            422,
            f"{modifiers[0]}: isotrack does not understand this modifier, which may change the statement's "
            "meaning; send the statement without it.",
        )
    if body.get("medicationReference") is not None:
        raise _Refused(
            422, "medicationReference: send the medicine as medicationCodeableConcept (text and RxNorm code)."
        )
    for element, what in (
        ("subject", "subject: name the patient, Patient/<id>."),
        ("medicationCodeableConcept", "medicationCodeableConcept: name the medicine (text, RxNorm code)."),
        ("status", "status: active or completed."),
    ):
        if body.get(element) is None:  # absent (or null, which FHIR's JSON does not allow)
            raise _Refused(422, f"The MedicationStatement has no {what}")
    if body.get("effectivePeriod") is None and body.get("effectiveDateTime") is None:
        raise _Refused(422, "The MedicationStatement has no effectivePeriod.start (or effectiveDateTime).")
    try:
        statement = MedicationStatement.model_validate(body)
    except (ValueError, TypeError) as error:  # pydantic's ValidationError: the elements and why, not values
        raise _Refused(400, f"Not a valid MedicationStatement: {_invalid(error)}") from None
    except KeyError:  # the library's lookup of an unknown resource type (a contained one, say)
        raise _Refused(400, "Not a valid MedicationStatement: a resource type R4 does not have.") from None
    status = statement.status
    if status not in ("active", "completed"):
        known = "" if status in STATEMENT_STATUSES else " (not a MedicationStatement status)"
        raise _Refused(
            422,
            f"status {str(status)[:30]!r}{known}: isotrack records only medicines taken, active (still "
            "taken) or completed (with its last day).",
        )
    start, end = _effective(statement)
    if status == "completed" and end is None:
        raise _Refused(422, "A completed MedicationStatement needs effectivePeriod.end: the last day taken.")
    name, rxnorm = _medicine(statement)
    patient_id = _subject_id(request, statement)
    period = statement.effectivePeriod is not None
    return {
        "patient_id": patient_id,
        "name": name,
        "rxnorm": rxnorm,
        "start": start,
        "end": end,
        "source": _source(request, statement, patient_id),
        "elements": {
            "name": "medicationCodeableConcept",
            "rxnorm": "medicationCodeableConcept.coding",
            "start": "effectivePeriod.start" if period else "effectiveDateTime",
            "end": "effectivePeriod.end" if period else "effectiveDateTime",
        },
    }


def _invalid(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return "its elements do not hold."
    said = []
    for each in errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(step) for step in each.get("loc", ())) or "the resource"
        said.append(f"{where}: {' '.join(str(each.get('msg', '')).split())[:200].rstrip('.')}")
    return "; ".join(said) + "."


def _subject_id(request: HttpRequest, statement: MedicationStatement) -> str:
    """The patient's id of ``subject.reference``: ``Patient/<id>``, or this server's full URL of it."""
    reference = (statement.subject.reference if statement.subject is not None else None) or ""
    local = reference.removeprefix(request.build_absolute_uri("/fhir/R4/"))
    kind, _, resource_id = local.partition("/")
    if kind != "Patient" or not resource_id or "/" in resource_id:
        raise _Refused(422, "subject.reference: name the patient as Patient/<id> (isotrack's Patient id).")
    return resource_id


def _medicine(statement: MedicationStatement) -> tuple[str, str]:
    """The name (the text, else the RxNorm coding's display) and the RxNorm code (an RXCUI: digits) of
    ``medicationCodeableConcept``."""
    concept = statement.medicationCodeableConcept
    if concept is None:
        raise _Refused(422, "The MedicationStatement has no medicationCodeableConcept: name the medicine.")
    rxnorm = [c for c in (concept.coding or []) if c.system == RXNORM and c.code]
    code = str(rxnorm[0].code) if rxnorm else ""
    if code and not (len(code) <= 20 and code.isascii() and code.isdigit()):
        raise _Refused(422, "medicationCodeableConcept: an RxNorm code is an RXCUI, digits only.")
    displays = (str(c.display).strip() for c in rxnorm if c.display)
    name = str(concept.text or "").strip() or next(displays, "")
    if not name:
        raise _Refused(
            422, "medicationCodeableConcept: name the medicine (text, or the RxNorm coding's display)."
        )
    return name, code


def _effective(statement: MedicationStatement) -> tuple[Any, Any]:
    """The first and the last day (or None) of ``effective[x]``: a period's start and end, or a dateTime's
    day (with status completed, the only day)."""
    if statement.effectivePeriod is not None:
        if statement.effectivePeriod.start is None:
            raise _Refused(422, "The MedicationStatement has no effectivePeriod.start: the first day taken.")
        start = _day(statement.effectivePeriod.start, "effectivePeriod.start")
        end = statement.effectivePeriod.end
        return start, None if end is None else _day(end, "effectivePeriod.end")
    day = _day(statement.effectiveDateTime, "effectiveDateTime")
    return day, day if statement.status == "completed" else None


def _day(value: Any, element: str) -> Any:
    """A FHIR date or dateTime as a day: a dateTime's date as written (its offset's, not the practice's)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise _Refused(422, f"{element}: a day (YYYY-MM-DD), not only a year or a month.")


def _source(request: HttpRequest, statement: MedicationStatement, patient_id: str) -> str:
    """Reported by the patient when ``informationSource`` is the subject itself (the same Patient reference),
    else the clinic's: isotrack's sources are the clinic and the patient, so a relative's or another
    person's report is the clinic's, which received it."""
    source = statement.informationSource
    if source is None or not source.reference:
        return ReportSource.CLINIC
    local = source.reference.removeprefix(request.build_absolute_uri("/fhir/R4/"))
    return ReportSource.PATIENT if local == f"Patient/{patient_id}" else ReportSource.CLINIC


def _modifiers(element: Any, path: str = "") -> list[str]:
    """Where the body holds a modifier isotrack does not understand (``modifierExtension``, or
    ``implicitRules`` on the resource): FHIR's rule is to refuse, not ignore, such a statement."""
    found: list[str] = []
    if isinstance(element, dict):
        for key, value in element.items():
            where = f"{path}.{key}" if path else key
            if key == "modifierExtension" or (key == "implicitRules" and not path):
                found.append(where)
            else:
                found.extend(_modifiers(value, where))
    elif isinstance(element, list):
        for index, value in enumerate(element[:1000]):
            found.extend(_modifiers(value, f"{path}[{index}]"))
    return found


@fhir_view
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise RecordNotFound(
        "No such FHIR endpoint here (metadata, read, search, Patient/$everything, "
        "GuidanceResponse/$rems-etasu; the one write: POST MedicationStatement)."
    )


@login_not_required
@csrf_exempt  # token_or_session checks a session's CSRF token itself, and answers 401 rather than redirect
def type_level(request: HttpRequest, kind: str) -> HttpResponse:
    """``<type>``: GET searches; POST creates a MedicationStatement (another type's POST: 405, as before)."""
    if request.method == "POST" and kind in CREATED:
        return create_medication_statement(request)  # type: ignore[no-any-return]
    if request.method not in ("GET", "HEAD"):
        response = outcome(
            405, "method_not_allowed", f"{request.method} is not supported here (GET searches)."
        )
        response["Allow"] = "GET, POST" if kind in CREATED else "GET"
        return response
    return search(request, kind=kind)  # type: ignore[no-any-return]


urlpatterns = [
    path("metadata", metadata, name="fhir_metadata"),
    path("Patient/<str:resource_id>/$everything", everything, name="fhir_everything"),
    path("GuidanceResponse/$rems-etasu", rems_etasu, name="fhir_rems_etasu"),
    path("<str:kind>/<str:resource_id>", read, name="fhir_read"),
    path("<str:kind>", type_level, name="fhir_search"),
    re_path(r"^(?P<rest>.*)$", unknown),
]
