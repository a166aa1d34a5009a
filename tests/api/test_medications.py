"""The patient's other medicines and supplements through the JSON API and FHIR R4 (a MedicationStatement
each): listed, recorded with the class of isotrack's table unless one is given, ended with If-Match, refused
with a problem naming the field and nothing saved, another practice's answered 404 like a missing one.
Synthetic data only."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationstatement import MedicationStatement

from isotrack.api.fhir.resources import MEDICATION_CLASS_SYSTEM, RXNORM
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.corrections import kind_of, void_record
from isotrack.clinic.actions.patients import end_medication, record_medication
from isotrack.clinic.models import OtherMedication
from tests.api.conftest import TokenClient, token_for
from tests.api.test_fhir_schema import problems

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
FHIR_JSON = "application/fhir+json"


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def patch(client, url, body, **headers):
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


def medications_url(patient) -> str:
    return f"/api/v1/patients/{patient.uuid}/medications"


def refused_field(response) -> str | None:
    """The field a 4xx problem document names: the clinic's `field`, or the first validation error's."""
    document = response.json()
    return document.get("field") or (document.get("errors") or [{}])[0].get("field")


@pytest.fixture
def doxycycline(nurse, patient):
    return record_medication(actor=nurse, patient=patient, name="Doxycycline", start=date(2026, 6, 10))


@pytest.fixture
def retinol(nurse, patient):
    """A vitamin A supplement taken in the summer, its RxNorm code unknown."""
    return record_medication(
        actor=nurse, patient=patient, name="retinol", start=date(2026, 6, 1), end=date(2026, 8, 31)
    )


# ------------------------------------------------------------------------------------------------ JSON API


def test_a_medicine_recorded_without_a_class_takes_the_tables_and_is_listed(nurse_api, patient):
    created = post(nurse_api, medications_url(patient), {"name": "Doxycycline", "start": "2026-06-10"})
    assert created.status_code == 201, created.content
    body = created.json()
    item = OtherMedication.objects.get()
    assert created["Location"] == f"/api/v1/medications/{item.uuid}"
    assert body == {
        "id": str(item.uuid),
        "patient": str(patient.uuid),
        "name": "Doxycycline",
        "medication_class": "tetracycline",
        "medication_class_label": "Tetracycline antibiotic",
        "rxnorm": "",
        "start": "2026-06-10",
        "end": None,
        "recorded_at": body["recorded_at"],
    }
    assert AuditEvent.objects.filter(action=EventCode.MEDICATION_RECORD, object_uuid=item.uuid).exists()
    assert nurse_api.get(created["Location"]).json() == body
    assert nurse_api.get(medications_url(patient)).json() == [body]


def test_an_rxnorm_code_classes_an_unknown_name_and_a_given_class_is_kept(nurse_api, patient):
    by_code = post(
        nurse_api,
        medications_url(patient),
        {"name": "a brand nobody knows", "rxnorm": "3640", "start": "2026-06-01"},  # doxycycline's RXCUI
    )
    assert by_code.status_code == 201, by_code.content
    assert (by_code.json()["medication_class"], by_code.json()["rxnorm"]) == ("tetracycline", "3640")
    chosen = post(
        nurse_api,
        medications_url(patient),
        {
            "name": "topical minocycline foam",
            "start": "2026-07-01",
            "end": "2026-07-20",
            "medication_class": "other",
        },
    )
    assert chosen.status_code == 201, chosen.content
    assert chosen.json()["medication_class"] == "other" and chosen.json()["medication_class_label"] == "Other"
    assert chosen.json()["end"] == "2026-07-20"
    listed = nurse_api.get(medications_url(patient)).json()
    assert [m["name"] for m in listed] == ["a brand nobody knows", "topical minocycline foam"]  # by start
    assert [m["name"] for m in nurse_api.get(medications_url(patient), {"since": "2026-07-21"}).json()] == [
        "a brand nobody knows"  # still taken; the foam ended before
    ]
    assert nurse_api.get(medications_url(patient), {"until": "2026-06-30"}).json()[0]["rxnorm"] == "3640"


def test_a_medicine_is_ended_against_its_version(nurse_api, doxycycline):
    url = f"/api/v1/medications/{doxycycline.uuid}"
    etag = nurse_api.get(url)["ETag"]
    missing = patch(nurse_api, url, {"end": "2026-07-01"})
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    ended = patch(nurse_api, url, {"end": "2026-07-01"}, HTTP_IF_MATCH=etag)
    assert ended.status_code == 200, ended.content
    assert ended.json()["end"] == "2026-07-01" and ended["ETag"] != etag
    doxycycline.refresh_from_db()
    assert doxycycline.end == date(2026, 7, 1)
    assert AuditEvent.objects.filter(action=EventCode.MEDICATION_END, object_uuid=doxycycline.uuid).exists()
    stale = patch(nurse_api, url, {"end": "2026-07-02"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale["Content-Type"] == PROBLEM
    assert OtherMedication.objects.get().end == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2026-06-10"}, "name"),
        ({"name": "", "start": "2026-06-10"}, "name"),
        ({"name": "   ", "start": "2026-06-10"}, "name"),  # the clinic's refusal: nothing but spaces
        ({"name": "x" * 201, "start": "2026-06-10"}, "name"),
        ({"name": "doxycycline"}, "start"),
        ({"name": "doxycycline", "start": "10/06/2026"}, "start"),
        ({"name": "doxycycline", "start": "2031-01-01"}, "start"),  # after the practice's today
        ({"name": "doxycycline", "start": "2026-06-10", "end": "2026-06-01"}, "end"),
        (
            {"name": "doxycycline", "start": "2026-06-10", "medication_class": "antibiotic"},
            "medication_class",
        ),
        ({"name": "doxycycline", "start": "2026-06-10", "rxnorm": "doxy"}, "rxnorm"),
        ({"name": "doxycycline", "start": "2026-06-10", "rxnorm": "1" * 21}, "rxnorm"),
    ],
)
def test_a_wrong_medicine_is_a_422_problem_naming_its_field_and_nothing_is_saved(
    nurse_api, patient, body, field
):
    audit_rows = AuditEvent.objects.count()
    response = post(nurse_api, medications_url(patient), body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == PROBLEM and response.json()["code"] == "invalid"
    assert refused_field(response) == field, response.json()
    assert not OtherMedication.all_objects.exists()
    assert AuditEvent.objects.count() == audit_rows


@pytest.mark.parametrize(
    "body",
    ["name=doxycycline", json.dumps({"name": "doxy\u0007cycline", "start": "2026-06-10"})],
)
def test_a_body_that_is_not_json_or_holds_a_control_character_is_a_400_problem_and_nothing_is_saved(
    nurse_api, patient, body
):
    """As every write of the API: the body is refused as it is read (api.problems), before any field."""
    response = nurse_api.post(medications_url(patient), body, content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "bad_request"
    assert not OtherMedication.all_objects.exists()


@pytest.mark.parametrize(("end", "field"), [("2026-06-01", "end"), ("2027-01-01", "end"), (None, "end")])
def test_a_wrong_last_day_is_refused_naming_the_field_and_the_medicine_is_unchanged(
    nurse_api, doxycycline, end, field
):
    url = f"/api/v1/medications/{doxycycline.uuid}"
    response = patch(nurse_api, url, {"end": end}, HTTP_IF_MATCH="*")
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    assert refused_field(response) == field, response.json()
    assert OtherMedication.objects.get().end is None
    assert not AuditEvent.objects.filter(action=EventCode.MEDICATION_END).exists()


def test_another_practice_gets_404_and_changes_nothing(outsider_api, patient, doxycycline):
    url = f"/api/v1/medications/{doxycycline.uuid}"
    for answer in (
        outsider_api.get(medications_url(patient)),
        outsider_api.get(url),
        post(outsider_api, medications_url(patient), {"name": "retinol", "start": "2026-06-10"}),
        patch(outsider_api, url, {"end": "2026-07-01"}, HTTP_IF_MATCH="*"),
    ):
        assert answer.status_code == 404 and answer["Content-Type"] == PROBLEM
        assert answer.json()["code"] == "not_found"
    assert list(OtherMedication.all_objects.values_list("name", "end")) == [("Doxycycline", None)]


def test_the_front_desk_records_no_medicine_and_an_auditor_ends_none(
    front_desk, auditor, patient, doxycycline
):
    refused = post(
        TokenClient(token_for(front_desk)),
        medications_url(patient),
        {"name": "retinol", "start": "2026-06-10"},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"
    auditor_api = TokenClient(token_for(auditor))
    assert auditor_api.get(medications_url(patient)).status_code == 200  # an auditor reads
    url = f"/api/v1/medications/{doxycycline.uuid}"
    assert patch(auditor_api, url, {"end": "2026-07-01"}, HTTP_IF_MATCH="*").status_code == 403
    assert list(OtherMedication.all_objects.values_list("name", "end")) == [("Doxycycline", None)]


def test_a_voided_medicine_is_no_longer_listed_or_read(nurse_api, patient, doxycycline):
    voided = post(
        nurse_api, f"/api/v1/records/medication/{doxycycline.uuid}/void", {"reason": "wrong patient"}
    )
    assert voided.status_code == 200 and voided.json()["kind"] == "medication"
    assert nurse_api.get(medications_url(patient)).json() == []
    assert nurse_api.get(f"/api/v1/medications/{doxycycline.uuid}").status_code == 404


def test_reading_a_medicine_is_a_look_at_its_patient(nurse_api, doxycycline):
    from isotrack.audit.models import AccessEvent

    before = AccessEvent.objects.count()
    assert nurse_api.get(f"/api/v1/medications/{doxycycline.uuid}").status_code == 200
    look = AccessEvent.objects.order_by("id").last()
    assert AccessEvent.objects.count() == before + 1 and look.patient_id == doxycycline.patient_id


# ---------------------------------------------------------------------------------------------------- FHIR


def statements(api, patient) -> list[dict]:
    response = api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
    assert response.status_code == 200, response.content
    bundle = response.json()
    assert problems(bundle) == [], problems(bundle)[:5]  # HL7's R4 JSON Schema
    Bundle.model_validate(bundle)
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationStatement"]


def test_each_medicine_is_a_medication_statement_in_the_patients_bundle(
    prescriber_api, nurse, patient, doxycycline, retinol
):
    by_code = record_medication(
        actor=nurse, patient=patient, name="Oracea", rxnorm="3640", start=date(2026, 11, 1)
    )
    found = {r["id"]: r for r in statements(prescriber_api, patient)}
    assert set(found) == {str(doxycycline.uuid), str(retinol.uuid), str(by_code.uuid)}
    for resource in found.values():
        MedicationStatement.model_validate(resource)
        assert resource["subject"] == {"reference": f"Patient/{patient.uuid}"}
        assert "meta" not in resource  # US Core 6.1 has no MedicationStatement profile
    coded = found[str(by_code.uuid)]
    assert coded["status"] == "active"
    assert coded["medicationCodeableConcept"] == {
        "coding": [{"system": RXNORM, "code": "3640"}],
        "text": "Oracea",
    }
    assert coded["effectivePeriod"] == {"start": "2026-11-01"}
    assert coded["category"]["coding"] == [
        {"system": MEDICATION_CLASS_SYSTEM, "code": "tetracycline", "display": "Tetracycline antibiotic"}
    ]
    summer = found[str(retinol.uuid)]
    assert summer["status"] == "completed"  # its last day is before the practice's today
    assert summer["medicationCodeableConcept"] == {"text": "retinol"}  # no RxNorm code known: the name alone
    assert summer["effectivePeriod"] == {"start": "2026-06-01", "end": "2026-08-31"}
    assert summer["category"]["coding"][0]["code"] == "vitamin_a"
    assert "retinol (Vitamin A supplement): completed" in summer["text"]["div"]


def test_a_medicine_ended_today_is_still_active_and_a_voided_one_is_not_served(
    prescriber_api, nurse, patient, doxycycline, retinol
):
    end_medication(actor=nurse, medication=doxycycline, end=date(2026, 12, 1))  # the tests' today
    void_record(actor=nurse, kind=kind_of("medication"), item=retinol, reason="entered twice")
    (only,) = statements(prescriber_api, patient)
    assert only["id"] == str(doxycycline.uuid) and only["status"] == "active"
    assert only["effectivePeriod"]["end"] == "2026-12-01"
    assert prescriber_api.get(f"/fhir/R4/MedicationStatement/{retinol.uuid}").status_code == 404


def test_medication_statements_are_read_and_searched_by_patient(
    prescriber_api, patient, doxycycline, retinol
):
    read = prescriber_api.get(f"/fhir/R4/MedicationStatement/{doxycycline.uuid}")
    assert read.status_code == 200 and read["Content-Type"] == FHIR_JSON
    assert (
        MedicationStatement.model_validate_json(read.content).medicationCodeableConcept.text == "Doxycycline"
    )

    def search(**params) -> list[str]:
        answer = prescriber_api.get("/fhir/R4/MedicationStatement", {"patient": str(patient.uuid), **params})
        assert answer.status_code == 200, answer.content
        return [e["resource"]["id"] for e in answer.json().get("entry", [])]

    assert search() == [str(retinol.uuid), str(doxycycline.uuid)]  # by start
    assert search(status="active") == [str(doxycycline.uuid)]
    assert search(category=f"{MEDICATION_CLASS_SYSTEM}|vitamin_a") == [str(retinol.uuid)]
    assert search(effective="ge2026-10-01") == [str(doxycycline.uuid)]  # still taken
    assert search(code=f"{RXNORM}|3640") == []  # recorded by name alone
    assert prescriber_api.get("/fhir/R4/MedicationStatement").status_code == 400  # no patient named


def test_another_practice_reads_no_medication_statement(outsider, patient, doxycycline):
    outsider_api = TokenClient(token_for(outsider))
    answer = outsider_api.get(f"/fhir/R4/MedicationStatement/{doxycycline.uuid}")
    assert answer.status_code == 404 and answer.json()["resourceType"] == "OperationOutcome"
    searched = outsider_api.get("/fhir/R4/MedicationStatement", {"patient": str(patient.uuid)})
    assert searched.status_code == 200 and searched.json()["total"] == 0


def test_the_capability_statement_lists_medication_statements_read_searched_and_created(client):
    statement = client.get("/fhir/R4/metadata").json()
    (entry,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "MedicationStatement"]
    assert [i["code"] for i in entry["interaction"]] == ["read", "search-type", "create"]
    assert {p["name"] for p in entry["searchParam"]} >= {"patient", "status", "code", "category", "effective"}
    assert "supportedProfile" not in entry


def test_fhir_creates_medication_statements_only_another_type_is_not_created(prescriber_api, patient):
    """MedicationStatement create is tested in test_fhir_create.py; every other type stays read-only."""
    body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "body weight"},
        "subject": {"reference": f"Patient/{patient.uuid}"},
    }
    answer = prescriber_api.post("/fhir/R4/Observation", json.dumps(body), content_type=FHIR_JSON)
    assert answer.status_code == 405
    assert not OtherMedication.all_objects.exists()
