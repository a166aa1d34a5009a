"""US Core where it fits (issue 15 item 2): the Observations of a course are based on its CarePlan, the
course's indication is a Condition the CarePlan addresses, the prescriber a Practitioner with the NPI, the
MedicationRequest written on its prescribing day (never after the dose starts) with the capsule's RxNorm
clinical drug when the strength is known, the Patient's administrative gender, ``meta.profile`` claimed only
where the resource has what the profile requires, and a narrative on every resource."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from isotrack.api.fhir.resources import (
    ICD10CM,
    NPI_SYSTEM,
    PROFILES,
    RXNORM,
    STAFF_SYSTEM,
    authored_on,
    medication_request,
    practitioner_resource,
)
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.actions.staff import npi_problem
from isotrack.clinic.models import DoseSegment, Patient, StaffUser
from tests.api.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db
XHTML = "{http://www.w3.org/1999/xhtml}"
SCD = {"197843": 10, "197844": 20, "403930": 30, "197845": 40, "1547561": 25, "1547565": 35}


@pytest.fixture
def doctor_api(demo):
    return TokenClient(token_for(demo.staff["doctor"]))


def everything(api, patient) -> list[dict]:
    response = api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
    assert response.status_code == 200, response.content
    return [entry["resource"] for entry in response.json()["entry"]]


def of_type(resources: list[dict], kind: str) -> list[dict]:
    return [r for r in resources if r["resourceType"] == kind]


def main_patients(demo):
    return list(Patient.objects.filter(practice=demo.practice).order_by("id"))


def test_a_courses_observations_are_based_on_its_care_plan_and_tasks_keep_their_focus(demo, doctor_api):
    course = demo.courses["triglycerides_high"][0]
    resources = everything(doctor_api, course.patient)
    plan = f"CarePlan/{course.uuid}"
    coursed = [
        r
        for r in of_type(resources, "Observation")
        if r["category"][0]["coding"][0]["code"] in ("laboratory", "survey")
    ]
    assert len(coursed) >= 3  # pregnancy tests, lipids and mood screens of the course
    for observation in coursed:
        assert observation["basedOn"] == [{"reference": plan}] and "focus" not in observation
    assert all(r["focus"]["reference"] == plan for r in of_type(resources, "Task"))


def test_each_course_has_its_indication_as_a_condition_the_care_plan_addresses(demo, doctor_api):
    for situation in ("treatment_month_2", "completed", "qualifying"):
        course = demo.courses[situation][0]
        resources = everything(doctor_api, course.patient)
        (condition,) = of_type(resources, "Condition")
        (plan,) = of_type(resources, "CarePlan")
        assert condition["code"]["coding"] == [
            {"system": ICD10CM, "code": course.indication, "display": course.get_indication_display()}
        ]
        assert condition["subject"] == {"reference": f"Patient/{course.patient.uuid}"}
        assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
        assert condition["verificationStatus"]["coding"][0]["code"] == "confirmed"
        assert condition["meta"]["profile"] == [PROFILES["Condition"]]
        # active while the course runs; isotrack records no outcome, so an ended course's has no status
        expected = None if course.status in ("completed", "revoked") else "active"
        assert (condition.get("clinicalStatus") or {}).get("coding", [{}])[0].get("code") == expected
        assert plan["addresses"][0]["reference"] == f"Condition/{condition['id']}"
        assert "identifier" not in plan["addresses"][0]
        assert plan["category"][0]["coding"][0] == {
            "system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
            "code": "assess-plan",
            "display": "Assessment and Plan of Treatment",
        }
        for request in of_type(resources, "MedicationRequest"):
            assert request["reasonReference"] == [{"reference": f"Condition/{condition['id']}"}]
        # read by its id, and found by a search
        read = doctor_api.get(f"/fhir/R4/Condition/{condition['id']}")
        assert read.status_code == 200 and read.json() == condition
        found = doctor_api.get("/fhir/R4/Condition", {"patient": str(course.patient.uuid), "code": "L70.0"})
        assert [e["resource"]["id"] for e in found.json()["entry"]] == [condition["id"]]
    lakeside = TokenClient(token_for(demo.staff["lakeside.doctor"]))
    assert lakeside.get(f"/fhir/R4/Condition/{condition['id']}").status_code == 404  # another practice's
    assert doctor_api.get(f"/fhir/R4/Condition/{uuid.uuid4()}-0123456789abcdef").status_code == 404


def test_the_prescriber_is_a_practitioner_with_the_npi_and_requests_the_medication(demo, doctor_api):
    course = demo.courses["treatment_month_3"][0]
    resources = everything(doctor_api, course.patient)
    (practitioner,) = of_type(resources, "Practitioner")
    prescriber = StaffUser.objects.get(pk=course.prescriber_id)
    assert prescriber.npi and npi_problem(prescriber.npi) is None  # the demo's synthetic NPI checks out
    assert practitioner["id"] == str(prescriber.uuid)
    assert practitioner["identifier"] == [
        {"system": NPI_SYSTEM, "value": prescriber.npi},
        {"system": STAFF_SYSTEM, "value": str(prescriber.uuid)},
    ]
    assert practitioner["name"][0]["family"] == prescriber.last_name
    assert practitioner["meta"]["profile"] == [PROFILES["Practitioner"]]
    reference = f"Practitioner/{prescriber.uuid}"
    assert all(r["requester"]["reference"] == reference for r in of_type(resources, "MedicationRequest"))
    assert of_type(resources, "CarePlan")[0]["author"]["reference"] == reference
    read = doctor_api.get(f"/fhir/R4/Practitioner/{prescriber.uuid}")
    assert read.status_code == 200 and read.json() == practitioner
    # not a prescriber, another practice's, no such id: 404; a search of Practitioners is not served
    assert doctor_api.get(f"/fhir/R4/Practitioner/{demo.staff['nurse'].uuid}").status_code == 404
    assert doctor_api.get(f"/fhir/R4/Practitioner/{demo.staff['lakeside.doctor'].uuid}").status_code == 404
    assert doctor_api.get("/fhir/R4/Practitioner/not-an-id").status_code == 404
    refused = doctor_api.get("/fhir/R4/Practitioner", {"patient": str(course.patient.uuid)})
    assert refused.status_code == 400 and refused.json()["resourceType"] == "OperationOutcome"


def test_a_practitioner_without_an_npi_has_the_staff_identifier_and_claims_the_profile(demo, doctor_api):
    """US Core 6.1 Practitioner requires an identifier (1..*) and a name with a family name: isotrack's staff
    identifier is always there, so a PA without an NPI still qualifies, and so do the MedicationRequests that
    name them as requester when the clinical drug is known."""
    prescriber = demo.staff["pa"]
    StaffUser.objects.filter(pk=prescriber.pk).update(npi="")
    try:
        read = doctor_api.get(f"/fhir/R4/Practitioner/{prescriber.uuid}").json()
        requests = [
            r
            for course in prescriber.courses.all()[:5]
            for r in of_type(everything(doctor_api, course.patient), "MedicationRequest")
        ]
    finally:
        StaffUser.objects.filter(pk=prescriber.pk).update(npi=prescriber.npi)
    assert read["identifier"] == [{"system": STAFF_SYSTEM, "value": str(prescriber.uuid)}]
    assert read["meta"]["profile"] == [PROFILES["Practitioner"]] and read["name"][0]["family"] == "Ellery"
    assert read["name"][0]["text"] == "Rowan Ellery, PA-C"
    theirs = [r for r in requests if r["requester"]["reference"] == f"Practitioner/{prescriber.uuid}"]
    for request in theirs:
        scd = any(c["code"] in SCD for c in request["medicationCodeableConcept"]["coding"])
        assert ("meta" in request) == scd, request["id"]
    assert any("meta" in request for request in theirs)  # the demo's PA prescribes doses of known strength


def test_a_medication_request_claims_us_core_only_when_its_requester_qualifies(prescriber, course):
    """The fixture's prescriber has no NPI: the staff identifier, the profile claimed; without a family name
    neither the Practitioner nor the MedicationRequest that points to it claims US Core."""
    segment = change_dose(
        actor=prescriber,
        course=course,
        starts_on=date(2026, 12, 10),
        mg_per_day=Decimal(60),
        product="conventional",
        change_reason="planned",
        reason="tolerating well",
        strength_mg=20,
    )
    practitioner = practitioner_resource(prescriber).model_dump(mode="json")
    assert not prescriber.npi
    assert practitioner["identifier"] == [{"system": STAFF_SYSTEM, "value": str(prescriber.uuid)}]
    assert practitioner["meta"]["profile"] == [PROFILES["Practitioner"]]
    request = medication_request(course, segment).model_dump(mode="json")
    assert request["meta"]["profile"] == [PROFILES["MedicationRequest"]]
    assert request["requester"]["reference"] == f"Practitioner/{prescriber.uuid}"

    StaffUser.objects.filter(pk=prescriber.pk).update(last_name="")
    course.prescriber.refresh_from_db()
    nameless = practitioner_resource(course.prescriber).model_dump(mode="json")
    assert "meta" not in nameless and "family" not in nameless["name"][0]
    assert nameless["identifier"] == [{"system": STAFF_SYSTEM, "value": str(prescriber.uuid)}]
    unclaimed = medication_request(course, segment).model_dump(mode="json")
    assert "meta" not in unclaimed and "197844" in str(unclaimed["medicationCodeableConcept"])


def test_the_patient_has_its_administrative_gender_apart_from_the_ipledge_category(demo, doctor_api):
    genders = set()
    for patient in main_patients(demo):
        (resource,) = of_type(everything(doctor_api, patient), "Patient")
        assert resource["gender"] == patient.gender
        assert resource["meta"]["profile"] == [PROFILES["Patient"]]
        assert not patient.category or patient.category not in str(resource)  # not the gender, nor sent
        genders.add((patient.category, resource["gender"]))
    assert ("can_get_pregnant", "female") in genders and ("cannot_get_pregnant", "male") in genders
    assert ("cannot_get_pregnant", "female") in genders  # the category is never read off the gender


def test_authored_on_is_never_after_the_dose_starts(demo, doctor_api):
    checked = 0
    for patient in main_patients(demo):
        for request in of_type(everything(doctor_api, patient), "MedicationRequest"):
            start = request["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"]
            assert len(request["authoredOn"]) == 10 and request["authoredOn"] <= start, request["id"]
            checked += 1
    assert checked > 40


def test_authored_on_is_the_day_a_dose_was_entered_ahead_of_its_start_else_its_start(prescriber, course):
    later = change_dose(
        actor=prescriber,
        course=course,
        starts_on=date(2026, 12, 20),
        mg_per_day=Decimal(60),
        product="conventional",
        change_reason="planned",
        reason="tolerating well",
    )
    first = course.dose_segments.get(starts_on=date(2026, 6, 1))
    # Entered at 02:00 UTC on 5 December: the evening of 4 December where the practice is (New York).
    DoseSegment.objects.filter(pk=later.pk).update(recorded_at=datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    DoseSegment.objects.filter(pk=first.pk).update(recorded_at=datetime(2026, 7, 1, 15, 0, tzinfo=UTC))
    later.refresh_from_db()
    first.refresh_from_db()
    assert authored_on(course, later) == date(2026, 12, 4)  # the prescribing day, before the dose starts
    assert authored_on(course, first) == date(2026, 6, 1)  # entered a month late: its start, never after


def test_the_strength_specific_rxnorm_code_is_given_when_the_capsule_strength_is_known(demo, doctor_api):
    with_strength = without = 0
    for patient in main_patients(demo):
        for request in of_type(everything(doctor_api, patient), "MedicationRequest"):
            segment = DoseSegment.objects.get(uuid=request["id"])
            codes = [c["code"] for c in request["medicationCodeableConcept"]["coding"]]
            assert codes[0] == "6064"  # the ingredient, always
            scds = [c for c in request["medicationCodeableConcept"]["coding"] if c["code"] in SCD]
            if segment.strength_mg and segment.product == "conventional":
                (scd,) = scds
                assert SCD[scd["code"]] == segment.strength_mg and scd["system"] == RXNORM
                assert scd["display"] == f"isotretinoin {segment.strength_mg} MG Oral Capsule"
                assert request["meta"]["profile"] == [PROFILES["MedicationRequest"]]
                with_strength += 1
            else:  # no strength, or Absorica LD (whose clinical drugs the reference does not have)
                assert scds == [] and "meta" not in request
                without += 1
    assert with_strength > 20 and without > 5


def test_profiles_are_claimed_only_with_what_they_require(demo, doctor_api):
    claimed: dict[str, int] = {}
    for patient in main_patients(demo)[:30]:
        for resource in everything(doctor_api, patient):
            for profile in resource.get("meta", {}).get("profile", []):
                claimed[profile] = claimed.get(profile, 0) + 1
                if profile == PROFILES["lab"]:
                    assert resource["category"][0]["coding"][0]["code"] == "laboratory"
                    assert resource["code"]["coding"][0]["system"] == "http://loinc.org"
                    assert "effectiveDateTime" in resource and "subject" in resource
                if profile == PROFILES["body-weight"]:
                    assert resource["code"]["coding"][0]["code"] == "29463-7"
                    assert resource["valueQuantity"]["code"] == "kg"
                if profile == PROFILES["CarePlan"]:
                    assert resource["text"]["div"] and resource["category"]
            kind = resource["resourceType"]
            if kind in ("DetectedIssue", "Task", "MedicationDispense"):
                assert "meta" not in resource  # no US Core profile for these as isotrack has them
            category = resource.get("category") or [{"coding": [{}]}]
            if kind == "Observation" and category[0]["coding"][0].get("code") in ("survey", "social-history"):
                assert "meta" not in resource
    assert set(claimed) == set(PROFILES.values())


def test_every_resource_has_a_generated_narrative_of_well_formed_xhtml(demo, doctor_api):
    for patient in main_patients(demo)[:15]:
        for resource in everything(doctor_api, patient):
            assert resource["text"]["status"] == "generated", resource["resourceType"]
            div = ET.fromstring(resource["text"]["div"])  # noqa: S314 (isotrack's own output: well-formed or raises)
            assert div.tag == f"{XHTML}div" and "".join(div.itertext()).strip()


def test_the_narrative_escapes_what_it_shows(prescriber):
    odd = register_patient(
        actor=prescriber,
        mrn="T-<b>&1",
        given_name='Ann <script>alert("x")</script>',
        family_name="O'Neil & Co",
        birth_date=date(2001, 2, 3),
        gender="other",
    )
    api = TokenClient(token_for(prescriber))
    (resource,) = of_type(everything(api, odd), "Patient")
    div = resource["text"]["div"]
    assert "<script>" not in div and "&lt;script&gt;" in div and "&amp; Co" in div
    text = "".join(ET.fromstring(div).itertext())  # noqa: S314 (isotrack's own output)
    assert 'Ann <script>alert("x")</script> O\'Neil & Co' in text and "MRN T-<b>&1" in text
    assert "Gender: other" in text and resource["gender"] == "other"


def test_the_capability_statement_names_the_new_types_and_their_profiles(doctor_api):
    statement = doctor_api.get("/fhir/R4/metadata").json()
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert [i["code"] for i in by_type["Practitioner"]["interaction"]] == ["read"]
    assert "searchParam" not in by_type["Practitioner"]
    assert {p["name"] for p in by_type["Condition"]["searchParam"]} >= {"patient", "code", "clinical-status"}
    assert by_type["Condition"]["supportedProfile"] == [PROFILES["Condition"]]
    assert PROFILES["lab"] in by_type["Observation"]["supportedProfile"]
    assert "supportedProfile" not in by_type["Task"]
