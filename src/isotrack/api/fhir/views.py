"""The read-only FHIR R4 view under /fhir/R4/: metadata, read, search by patient, Patient/{id}/$everything.
Practitioners (the prescribers the patients' resources name) are read by id only.

Same bearer token (or session) and practice scoping as the JSON API; errors are OperationOutcome resources
with the API's stable codes; another practice's record answers 404 like a missing one.
"""

from __future__ import annotations

import json
import uuid
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
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.resource import Resource

from isotrack.api.auth import token_or_session
from isotrack.api.cds import isotretinoin_order
from isotrack.api.fhir import search as fhir_search
from isotrack.api.fhir.resources import (
    IPLEDGE_ID_SYSTEM,
    PROFILES,
    course_of_derived_id,
    derived_resources,
    patient_resource,
    patient_resources,
    practitioner_resource,
)
from isotrack.clinic import inputs, looks, queries
from isotrack.clinic.access import access_patient, patients_of, practice_of
from isotrack.clinic.errors import ClinicError, RecordNotFound
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
ISSUE_CODES = {"not_found": "not-found", "not_permitted": "forbidden", "unauthenticated": "login"}


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


def fhir_view(view: Any) -> Any:
    """Token or session, GET only, clinic errors as OperationOutcome."""

    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ClinicError as error:
            return outcome(error.http_status, error.code, error.message)

    run.__name__ = view.__name__
    return token_or_session(require_GET(run), unauthenticated=_unauthenticated)


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
                "description": "isotrack FHIR R4 read-only view",
                "url": request.build_absolute_uri("/fhir/R4"),
            },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Read-only. Searches apply every parameter listed here; any other is refused with "
                        "Prefer: handling=strict, or left out of the self link and named in an "
                        "OperationOutcome entry without it."
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


@fhir_view
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise RecordNotFound(
        "No such FHIR endpoint here (read-only: metadata, read, search, Patient/$everything)."
    )


urlpatterns = [
    path("metadata", metadata, name="fhir_metadata"),
    path("Patient/<str:resource_id>/$everything", everything, name="fhir_everything"),
    path("GuidanceResponse/$rems-etasu", rems_etasu, name="fhir_rems_etasu"),
    path("<str:kind>/<str:resource_id>", read, name="fhir_read"),
    path("<str:kind>", search, name="fhir_search"),
    re_path(r"^(?P<rest>.*)$", unknown),
]
