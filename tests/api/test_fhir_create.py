"""FHIR create for MedicationStatement (issue 17, item 1): ``POST /fhir/R4/MedicationStatement`` records
another medicine or supplement the patient takes through the clinic's action, with real database writes: the
row, its class from the core's table, its audit row, the engine's alert; refused with an OperationOutcome (and
nothing saved) for a body isotrack cannot record, another practice's patient, a role that may not record, a
session without its CSRF token. Synthetic data only."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.medicationstatement import MedicationStatement

from isotrack.api.fhir.resources import MEDICATION_CLASS_SYSTEM, RXNORM
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import OtherMedication, ReportSource
from tests.api.conftest import TokenClient, token_for
from tests.api.test_fhir_schema import problems

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
URL = "/fhir/R4/MedicationStatement"


def statement(patient, **changes) -> dict:
    """Doxycycline (RxNorm 3640) from 2026-06-10, still taken, as an EHR would send it."""
    body = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "3640", "display": "doxycycline"}],
            "text": "Doxycycline 100 mg",
        },
        "subject": {"reference": f"Patient/{patient.uuid}"},
        "effectivePeriod": {"start": "2026-06-10"},
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def create(client, body, content_type=FHIR_JSON, **headers):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, text, content_type=content_type, **headers)


def refused(response, status: int) -> str:
    """The OperationOutcome's words, once the answer is checked to be one with this status."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == FHIR_JSON
    document = response.json()
    assert document["resourceType"] == "OperationOutcome" and problems(document) == []
    (issue,) = document["issue"]
    assert issue["severity"] == "error"
    return issue.get("details", {}).get("text") or issue.get("diagnostics", "")


def nothing_saved() -> bool:
    return (
        not OtherMedication.all_objects.exists()
        and not AuditEvent.objects.filter(action=EventCode.MEDICATION_RECORD).exists()
    )


def test_a_medication_statement_is_created_stored_and_read_back(nurse, nurse_api, patient):
    answer = create(nurse_api, statement(patient, id="the-client-s-own-id"))
    assert answer.status_code == 201, answer.content
    assert answer["Content-Type"] == FHIR_JSON and "ETag" not in answer
    item = OtherMedication.objects.get()
    assert (item.patient, item.name, item.rxnorm, item.medication_class) == (
        patient,
        "Doxycycline 100 mg",
        "3640",
        "tetracycline",  # the core's table's class of RxNorm 3640
    )
    assert (item.start, item.end, item.source, item.recorded_by) == (
        date(2026, 6, 10),
        None,
        ReportSource.CLINIC,
        nurse,
    )
    resource = answer.json()
    assert problems(resource) == [] and MedicationStatement.model_validate(resource)
    assert resource["id"] == str(item.uuid)  # the server's id, not the client's
    assert resource["status"] == "active" and resource["effectivePeriod"] == {"start": "2026-06-10"}
    assert "informationSource" not in resource, "the clinic's own entry"
    assert resource["category"]["coding"][0] == {
        "system": MEDICATION_CLASS_SYSTEM,
        "code": "tetracycline",
        "display": "Tetracycline antibiotic",
    }
    location = answer["Location"]
    assert location == f"http://testserver/fhir/R4/MedicationStatement/{item.uuid}"
    read = nurse_api.get(location.removeprefix("http://testserver"))
    assert read.status_code == 200 and read.json() == resource
    (row,) = AuditEvent.objects.filter(action=EventCode.MEDICATION_RECORD, object_uuid=item.uuid)
    assert (row.actor, row.patient) == (nurse, patient)


def test_a_completed_statement_reported_by_the_patient_keeps_its_days_and_source(nurse_api, patient):
    body = statement(
        patient,
        status="completed",
        medicationCodeableConcept={"coding": [{"system": RXNORM, "code": "3640", "display": "doxycycline"}]},
        effectivePeriod={"start": "2026-06-01T08:00:00-04:00", "end": "2026-08-31T23:30:00+09:00"},
        informationSource={"reference": f"Patient/{patient.uuid}"},
    )
    answer = create(nurse_api, body)
    assert answer.status_code == 201, answer.content
    item = OtherMedication.objects.get()
    assert item.name == "doxycycline"  # no text: the RxNorm coding's display
    assert (item.start, item.end) == (date(2026, 6, 1), date(2026, 8, 31))  # the dates as written
    assert item.source == ReportSource.PATIENT
    assert answer.json()["status"] == "completed"
    assert answer.json()["informationSource"] == {"reference": f"Patient/{patient.uuid}"}, "read back as sent"


def test_an_effective_date_time_is_the_first_day_and_a_relative_the_patient_s_report(nurse_api, patient):
    body = statement(
        patient,
        effectivePeriod=None,
        effectiveDateTime="2026-11-20",
        medicationCodeableConcept={"text": "retinol"},
        informationSource={"reference": "RelatedPerson/mother"},
    )
    assert create(nurse_api, body, content_type="application/json").status_code == 201
    item = OtherMedication.objects.get()
    assert (item.name, item.rxnorm, item.medication_class) == ("retinol", "", "vitamin_a")
    assert (item.start, item.end, item.source) == (date(2026, 11, 20), None, ReportSource.CLINIC), (
        "a relative's report is not the patient's: the clinic received it"
    )


@pytest.mark.parametrize(
    "source",
    [
        "Patient/00000000-0000-0000-0000-000000000000",  # another patient
        "Practitioner/somebody",
    ],
)
def test_only_the_subject_itself_makes_a_statement_the_patient_s_report(nurse_api, patient, source):
    answer = create(nurse_api, statement(patient, informationSource={"reference": source}))
    assert answer.status_code == 201, answer.content
    assert OtherMedication.objects.get().source == ReportSource.CLINIC
    assert "informationSource" not in answer.json()


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        (
            {"modifierExtension": [{"url": "http://example.test/negated", "valueBoolean": True}]},
            "modifierExtension",
        ),
        ({"implicitRules": "http://example.test/rules"}, "implicitRules"),
        (
            {
                "dosage": [
                    {
                        "text": "daily",
                        "modifierExtension": [{"url": "http://example.test/x", "valueBoolean": True}],
                    }
                ]
            },
            "dosage[0].modifierExtension",
        ),
    ],
)
def test_a_modifier_isotrack_does_not_understand_is_refused_not_ignored(nurse_api, patient, changes, where):
    answer = create(nurse_api, statement(patient, **changes))
    assert answer.status_code == 422
    assert where in answer.json()["issue"][0]["details"]["text"]
    assert nothing_saved()


def test_the_engine_judges_a_tetracycline_created_through_fhir(
    prescriber_api, nurse_api, patient, weight, methods, course
):
    def alerts() -> set[str]:
        bundle = prescriber_api.get("/fhir/R4/DetectedIssue", {"patient": str(patient.uuid)}).json()
        return {
            coding["code"]
            for entry in bundle.get("entry", [])
            for coding in entry["resource"]["code"]["coding"]
            if coding["system"] == "urn:isotrack:alert"
        }

    assert "TETRACYCLINE_IN_USE" not in alerts()
    assert create(nurse_api, statement(patient)).status_code == 201
    assert "TETRACYCLINE_IN_USE" in alerts()


def test_another_practice_s_patient_is_not_found_like_a_missing_one(outsider_api, nurse_api, patient):
    elsewhere = refused(create(outsider_api, statement(patient)), 404)
    missing = create(nurse_api, statement(patient, subject={"reference": "Patient/no-such-patient"}))
    assert refused(missing, 404) == elsewhere
    assert nothing_saved()


def test_no_token_is_401_and_a_role_that_may_not_record_is_403(client, front_desk, auditor, patient):
    assert refused(create(client, statement(patient)), 401)
    for member in (front_desk, auditor):
        answer = create(TokenClient(token_for(member)), statement(patient))
        refused(answer, 403)
        assert answer.json()["issue"][0]["code"] == "forbidden"
    assert nothing_saved()


def test_a_session_needs_its_csrf_token(nurse, patient):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(nurse)
    without = create(browser, statement(patient))
    assert without.status_code == 403
    assert without.json()["resourceType"] == "OperationOutcome", "FHIR's own error format"
    assert nothing_saved()
    browser.get("/fhir/R4/metadata")  # any page: the session's CSRF cookie
    browser.get("/api/tokens/")
    token = browser.cookies["csrftoken"].value
    assert create(browser, statement(patient), HTTP_X_CSRFTOKEN=token).status_code == 201
    assert OtherMedication.objects.get().recorded_by == nurse


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        json.dumps({"resourceType": "MedicationStatement", "status": "active"})[:-1],
        json.dumps([]),
        json.dumps({"resourceType": "Observation", "status": "final"}),
        json.dumps({"status": "active"}),  # no resourceType
    ],
)
def test_a_body_that_is_not_a_medication_statement_is_400(nurse_api, patient, body):
    refused(create(nurse_api, body), 400)
    assert nothing_saved()


@pytest.mark.parametrize(
    "changes",
    [
        {"unknownElement": 1},
        {"status": 7},
        {"subject": "Patient/x"},
        {"effectivePeriod": {"start": "June 10"}},
        {"effectivePeriod": {"start": "2026-06-10"}, "effectiveDateTime": "2026-06-10"},
        {"medicationCodeableConcept": {"coding": "3640"}},
        {"contained": [{"resourceType": "Nope"}]},  # a type R4 does not have: the library's KeyError
        {"contained": [{"resourceType": "MedicationStatement", "contained": [{"resourceType": "Zzz"}]}]},
    ],
)
def test_an_invalid_resource_is_400_invalid(nurse_api, patient, changes):
    answer = create(nurse_api, statement(patient, **changes))
    assert "Not a valid MedicationStatement" in refused(answer, 400)
    assert answer.json()["issue"][0]["code"] == "invalid"
    assert nothing_saved()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"subject": None}, "subject"),
        ({"medicationCodeableConcept": None}, "medicationCodeableConcept"),
        ({"status": None}, "status"),
        ({"effectivePeriod": None}, "effectivePeriod.start"),
        ({"effectivePeriod": {"end": "2026-07-01"}}, "effectivePeriod.start"),
        ({"effectivePeriod": {"start": "2026-06"}}, "effectivePeriod.start"),  # a month, no day
        (
            {"medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "3640"}]}},
            "name the medicine",
        ),
        (
            {"medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "doxy"}], "text": "x"}},
            "RXCUI",
        ),
        ({"subject": {"reference": "Group/1"}}, "subject.reference"),
        ({"subject": {"display": "Avery"}}, "subject.reference"),
        ({"status": "completed"}, "effectivePeriod.end"),  # completed, with no last day
    ],
)
def test_a_statement_missing_what_isotrack_records_is_422_naming_it(nurse_api, patient, changes, named):
    said = refused(create(nurse_api, statement(patient, **changes)), 422)
    assert named in said
    assert nothing_saved()


@pytest.mark.parametrize("element", ["subject", "medicationCodeableConcept", "status"])
def test_an_element_sent_as_null_is_missing_not_a_500(nurse_api, patient, element):
    body = {**statement(patient), element: None}  # FHIR's JSON has no null; it is taken as absent
    assert element in refused(create(nurse_api, body), 422)
    assert nothing_saved()


@pytest.mark.parametrize("status", ["not-taken", "intended", "stopped", "entered-in-error", "bogus"])
def test_a_status_other_than_active_or_completed_is_422(nurse_api, patient, status):
    said = refused(create(nurse_api, statement(patient, status=status)), 422)
    assert "records only medicines taken" in said
    assert nothing_saved()


def test_a_medication_reference_is_422(nurse_api, patient):
    body = statement(
        patient, medicationCodeableConcept=None, medicationReference={"reference": "Medication/1"}
    )
    assert "send the medicine as medicationCodeableConcept" in refused(create(nurse_api, body), 422)
    assert nothing_saved()


@pytest.mark.parametrize(
    ("effective", "element", "words"),
    [
        ({"effectivePeriod": {"start": "2026-12-02"}}, "effectivePeriod.start", "after today"),  # 2026-12-01
        ({"effectivePeriod": {"start": "2031-01-01"}}, "effectivePeriod.start", "after today"),
        ({"effectivePeriod": {"start": "2001-01-01"}}, "effectivePeriod.start", "birth"),  # born 2004-03-01
        ({"effectivePeriod": {"start": "2026-06-10", "end": "2026-06-01"}}, "effectivePeriod.end", "start"),
        ({"effectivePeriod": {"start": "2026-06-10", "end": "2026-12-31"}}, "effectivePeriod.end", "after"),
        (
            {"effectivePeriod": None, "effectiveDateTime": "2026-12-02T09:00:00Z"},
            "effectiveDateTime",
            "after",
        ),
    ],
)
def test_a_date_the_clinic_refuses_is_422_naming_its_element_and_nothing_is_saved(
    nurse_api, patient, effective, element, words
):
    said = refused(create(nurse_api, statement(patient, **effective)), 422)
    assert said.startswith(f"{element}: ") and words in said
    assert nothing_saved()


def test_a_name_too_long_is_422(nurse_api, patient):
    body = statement(patient, medicationCodeableConcept={"text": "x" * 201})
    assert refused(create(nurse_api, body), 422).startswith("medicationCodeableConcept: ")
    assert nothing_saved()


def test_a_conditional_create_or_another_content_type_is_refused(nurse_api, patient):
    refused(create(nurse_api, statement(patient), HTTP_IF_NONE_EXIST="patient=x"), 400)
    refused(create(nurse_api, json.dumps(statement(patient)), content_type="text/plain"), 415)
    assert nothing_saved()


def test_other_types_are_still_not_created_and_search_stays_get(nurse_api, patient):
    observation = nurse_api.post("/fhir/R4/Observation", json.dumps({}), content_type=FHIR_JSON)
    assert observation.status_code == 405 and observation["Allow"] == "GET"
    assert observation.json()["resourceType"] == "OperationOutcome"
    assert nurse_api.put(URL, json.dumps(statement(patient)), content_type=FHIR_JSON).status_code == 405
    searched = nurse_api.get(URL, {"patient": str(patient.uuid)})
    assert searched.status_code == 200 and searched.json()["total"] == 0
    assert nothing_saved()


def test_the_capability_statement_lists_create_for_medication_statements_only(client):
    answer = client.get("/fhir/R4/metadata")
    document = answer.json()
    assert problems(document) == []
    rest = CapabilityStatement.model_validate(document).rest[0]
    by_type = {r.type: r for r in rest.resource}
    creates = {kind for kind, r in by_type.items() if any(i.code == "create" for i in r.interaction or [])}
    assert creates == {"MedicationStatement"}
    assert [i.code for i in by_type["MedicationStatement"].interaction] == ["read", "search-type", "create"]
    assert by_type["MedicationStatement"].conditionalCreate is False
    assert rest.documentation.startswith("Read-only except MedicationStatement create")
    assert "create for MedicationStatement" in document["implementation"]["description"]
