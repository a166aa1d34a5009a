"""``GuidanceResponse/$rems-etasu`` (HL7 US Medication REMS, STU2) for isotretinoin: the iPLEDGE requirements
of a fill today as the core judges them, each a nested GuidanceResponse; success exactly when the fill is
allowed (issue 15, item 5)."""

from __future__ import annotations

import json
import uuid

import pytest
from fhir.resources.R4B.parameters import Parameters

from isotrack.api.fhir.resources import MRN_SYSTEM
from isotrack.audit.models import AccessEvent
from isotrack.clinic.queries import current_course, judge
from isotrack.demo.generator import practice_today
from tests.api.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db
URL = "/fhir/R4/GuidanceResponse/$rems-etasu"
ISOTRETINOIN = {
    "resourceType": "Medication",
    "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6064"}]},
}


@pytest.fixture
def api(demo):
    return TokenClient(token_for(demo.staff["doctor"]))


def ask(api, patient: dict, medication: dict = ISOTRETINOIN):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "resource": patient},
            {"name": "medication", "resource": medication},
        ],
    }
    return api.post(URL, json.dumps(body), content_type="application/fhir+json")


def answered(response) -> tuple[str, dict[str, str]]:
    """The overall status and each requirement's status by its name."""
    assert response.status_code == 200, response.content
    Parameters.model_validate_json(response.content)  # a valid R4 Parameters, GuidanceResponses inside
    (etasu,) = response.json()["parameter"]
    guidance = etasu["resource"]
    assert etasu["name"] == "rems-etasu" and guidance["resourceType"] == "GuidanceResponse"
    contained = {c["id"]: c for c in guidance.get("contained", [])}
    nested = contained.get("etasuOutputParameters", {}).get("parameter", [])
    return guidance["status"], {p["name"]: p["resource"]["status"] for p in nested}


def patient_of(demo, situation: str) -> dict:
    return {"resourceType": "Patient", "id": str(demo.courses[situation][0].patient.uuid)}


def test_a_closed_window_asks_for_data_with_the_test_requirement_failed(demo, api):
    status, requirements = answered(ask(api, patient_of(demo, "window_missed")))
    assert status == "data-required"
    assert requirements["Monthly pregnancy test"] == "failure"  # its window closed: a new test is needed
    assert requirements["Prescriber confirms the test, counseling and methods in iPLEDGE"] == "data-required"
    assert requirements["Patient answers the comprehension questions in iPLEDGE"] == "data-required"
    assert requirements["Pharmacy obtains the authorization (RMA)"] == "data-required"
    assert requirements["Two contraception methods in use (or abstinence)"] == "success"
    assert "Patient picks up the prescription" not in requirements


def test_a_patient_ready_to_fill_is_a_success_with_every_requirement_met(demo, api):
    status, requirements = answered(ask(api, patient_of(demo, "window_closing_today")))
    assert status == "success" and requirements and set(requirements.values()) == {"success"}


def test_success_exactly_when_the_engine_allows_the_fill_for_every_demo_patient(demo, api):
    today = practice_today()
    for situation, courses in demo.courses.items():
        patient = courses[0].patient
        if patient.practice_id != demo.practice.pk:
            continue
        status, _ = answered(ask(api, {"resourceType": "Patient", "id": str(patient.uuid)}))
        course = current_course(patient)
        allowed = course is not None and judge(course, today).evaluation.dispense.allowed
        assert (status == "success") == allowed, situation
    assert answered(ask(api, patient_of(demo, "pregnancy_test_positive")))[0] == "failure"


def test_the_patient_is_named_by_id_or_by_this_practices_identifiers_only(demo, api):
    patient = demo.courses["window_missed"][0].patient
    by_mrn = {
        "resourceType": "Patient",
        "identifier": [{"system": f"{MRN_SYSTEM}:{demo.practice.uuid}", "value": patient.mrn}],
    }
    assert answered(ask(api, by_mrn))[0] == "data-required"
    before = AccessEvent.objects.count()
    ask(api, by_mrn)
    assert (
        AccessEvent.objects.order_by("id").last().patient == patient
        and AccessEvent.objects.count() == before + 1
    )
    other_system = {
        "resourceType": "Patient",
        "identifier": [{"system": "http://hospital.example/mrn", "value": patient.mrn}],
    }
    elsewhere = demo.courses["window_missed"][0].patient  # the same patient, asked by the other practice
    lakeside = TokenClient(token_for(demo.staff["lakeside.doctor"]))
    for who, named in (
        (api, other_system),
        (api, {"resourceType": "Patient", "id": str(uuid.uuid4())}),
        (lakeside, {"resourceType": "Patient", "id": str(elsewhere.uuid)}),
    ):
        refused = ask(who, named)
        assert refused.status_code == 404 and refused.json()["resourceType"] == "OperationOutcome"


def test_namings_that_disagree_name_no_one_and_odd_shapes_are_not_an_error(demo, api):
    """The id and every identifier of ours must name one patient: otherwise isotrack does not know whom the
    request means (404), rather than answer for the first that matched. An identifier that is not a list of
    objects names no one."""
    patient, other = demo.courses["window_missed"][0].patient, demo.courses["ready_for_first_fill"][0].patient
    mrn = f"{MRN_SYSTEM}:{demo.practice.uuid}"
    for named in (
        {"id": str(patient.uuid), "identifier": [{"system": mrn, "value": other.mrn}]},
        {"identifier": [{"system": mrn, "value": patient.mrn}, {"system": mrn, "value": other.mrn}]},
        {"id": str(patient.uuid), "identifier": [{"system": mrn, "value": "NO-SUCH-MRN"}]},
        {"identifier": 5},
        {"identifier": {"system": mrn, "value": patient.mrn}},
        {"identifier": [5, None, {"system": mrn, "value": 7}]},
    ):
        refused = ask(api, {"resourceType": "Patient", **named})
        assert refused.status_code == 404 and refused.json()["resourceType"] == "OperationOutcome", named
    agreeing = {"id": str(patient.uuid), "identifier": [{"system": mrn, "value": patient.mrn}]}
    assert answered(ask(api, {"resourceType": "Patient", **agreeing}))[0] == "data-required"


def test_only_isotretinoin_and_a_parameters_resource_are_answered(demo, api):
    patient = patient_of(demo, "window_missed")
    claravis = {"resourceType": "Medication", "code": {"text": "Claravis 40 MG Oral Capsule"}}
    assert answered(ask(api, patient, claravis))[0] == "data-required"
    order = {"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": "Absorica LD 32 MG"}}
    assert answered(ask(api, patient, order))[0] == "data-required"
    other = {"resourceType": "Medication", "code": {"text": "Acitretin 25 MG Oral Capsule"}}
    assert ask(api, patient, other).status_code == 422
    for body in ("[]", '{"resourceType": "Bundle"}', '{"resourceType": "Parameters", "parameter": []}', "{"):
        answer = api.post(URL, body, content_type="application/fhir+json")
        assert answer.status_code == 400 and answer.json()["resourceType"] == "OperationOutcome", body
    from django.test import Client

    assert Client().post(URL, "{}", content_type="application/fhir+json").status_code == 401
    assert api.get(URL).status_code == 405
