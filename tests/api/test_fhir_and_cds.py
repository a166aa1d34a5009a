"""The FHIR R4 view of the demo practice, and the CDS Hooks service, through HTTP with a token."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from isotrack.audit.models import AccessEvent
from isotrack.clinic.models import Patient
from isotrack.demo.generator import MAIN_SITUATIONS
from tests.api.conftest import TokenClient, token_for

FHIR_TYPES = {
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
}


pytestmark = pytest.mark.django_db


@pytest.fixture
def doctor_api(demo):
    return TokenClient(token_for(demo.staff["doctor"]))


def test_everything_of_every_demo_patient_is_a_valid_fhir_bundle(demo, doctor_api):
    lakeside_api = TokenClient(token_for(demo.staff["lakeside.doctor"]))
    seen_types: set[str] = set()
    patients = Patient.objects.select_related("practice")
    assert patients.count() == len(MAIN_SITUATIONS) + 6 + 1  # and one awaiting its category (IPL-CAT)
    for patient in patients:
        api = doctor_api if patient.practice_id == demo.practice.pk else lakeside_api
        response = api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+json"
        bundle = Bundle.model_validate_json(response.content)
        assert bundle.type == "searchset" and bundle.entry[0].resource.id == str(patient.uuid)
        seen_types |= {entry.resource.get_resource_type() for entry in bundle.entry}
    assert seen_types == FHIR_TYPES - {"MedicationStatement"}  # no demo patient has other medicines


def test_resources_carry_the_reference_codes(demo, doctor_api):
    course = demo.courses["triglycerides_high"][0]
    bundle = doctor_api.get(f"/fhir/R4/Patient/{course.patient.uuid}/$everything").json()
    codes = {
        (coding["system"], coding["code"])
        for entry in bundle["entry"]
        for key in ("code", "medicationCodeableConcept", "valueCodeableConcept")
        for coding in (entry["resource"].get(key) or {}).get("coding", [])
    }
    assert ("http://www.nlm.nih.gov/research/umls/rxnorm", "6064") in codes
    assert ("http://loinc.org", "2571-8") in codes  # triglycerides
    assert ("http://loinc.org", "29463-7") in codes  # body weight
    assert ("http://snomed.info/sct", "260385009") in codes  # negative
    issues = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DetectedIssue"]
    assert any(
        i["code"]["coding"][0]["code"] == "TRIGLYCERIDES_HIGH" and "LAB-TG-HIGH" in i["detail"]
        for i in issues
    )


def test_search_by_patient_and_read_by_id(demo, doctor_api):
    patient = demo.courses["treatment_month_3"][0].patient
    bundle = Bundle.model_validate_json(
        doctor_api.get("/fhir/R4/Observation", {"patient": str(patient.uuid)}).content
    )
    assert bundle.total and all(e.resource.get_resource_type() == "Observation" for e in bundle.entry)
    first = bundle.entry[0].resource
    read = doctor_api.get(f"/fhir/R4/Observation/{first.id}")
    assert read.status_code == 200 and read.json()["id"] == first.id
    tasks = doctor_api.get("/fhir/R4/Task", {"patient": str(patient.uuid)}).json()["entry"]
    assert doctor_api.get(f"/fhir/R4/Task/{tasks[0]['resource']['id']}").status_code == 200


def test_every_computed_issue_and_task_reads_back_by_its_id_judging_one_course(demo, doctor_api):
    """A DetectedIssue's or Task's id names its course: the read judges that course alone, with the same
    number of queries whatever the practice holds, and answers what $everything answered."""
    patient = demo.courses["treatment_month_3"][0].patient
    bundle = doctor_api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything").json()
    computed = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] in ("DetectedIssue", "Task")
    ]
    assert {r["resourceType"] for r in computed} == {"DetectedIssue", "Task"}
    for resource in computed:
        with CaptureQueriesContext(connection) as queries:
            read = doctor_api.get(f"/fhir/R4/{resource['resourceType']}/{resource['id']}")
        assert read.status_code == 200 and read.json() == resource
        assert len(queries) <= 40, len(queries)  # one course's rows and the look (the demo has 60 patients)
    course = demo.courses["treatment_month_3"][0]
    lakeside_api = TokenClient(token_for(demo.staff["lakeside.doctor"]))
    for wrong in (
        computed[0]["id"][:-1] + ("0" if computed[0]["id"][-1] != "0" else "1"),  # no such finding today
        f"{uuid.uuid4()}-{computed[0]['id'][-16:]}",  # no such course
        str(course.uuid),  # a course, not a finding
        "not-an-id",
    ):
        answer = doctor_api.get(f"/fhir/R4/Task/{wrong}")
        assert answer.status_code == 404 and answer.json()["resourceType"] == "OperationOutcome"
    answer = lakeside_api.get(f"/fhir/R4/{computed[0]['resourceType']}/{computed[0]['id']}")
    assert answer.status_code == 404  # another practice's finding: as if there were none


def test_a_patient_search_pages_in_the_database_following_next_links(demo, doctor_api):
    total = Patient.objects.filter(practice=demo.practice).count()
    first = doctor_api.get("/fhir/R4/Patient", {"_count": "10"}).json()
    assert first["total"] == total and len(first["entry"]) == 10 and total > 20
    seen, bundle = [], first
    while True:
        seen += [entry["resource"]["id"] for entry in bundle["entry"]]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        bundle = doctor_api.get(following[0].split("testserver", 1)[1]).json()
    assert len(seen) == len(set(seen)) == total
    others = {str(p.uuid) for p in Patient.objects.exclude(practice=demo.practice)}
    assert others and not others & set(seen)  # the practice's own patients only
    assert len(doctor_api.get("/fhir/R4/Patient").json()["entry"]) == min(total, 50)  # the default page
    assert doctor_api.get("/fhir/R4/Patient", {"_count": "many"}).status_code == 400


def test_the_capability_statement_is_valid(doctor_api):
    statement = CapabilityStatement.model_validate_json(doctor_api.get("/fhir/R4/metadata").content)
    assert {r.type for r in statement.rest[0].resource} == FHIR_TYPES | {"GuidanceResponse"}
    (guidance,) = [r for r in statement.rest[0].resource if r.type == "GuidanceResponse"]
    assert [operation.name for operation in guidance.operation] == ["rems-etasu"]  # no read, no search


def test_fhir_is_scoped_to_the_practice_and_needs_a_token(demo, client):
    patient = demo.courses["qualifying"][0].patient
    lakeside_api = TokenClient(token_for(demo.staff["lakeside.doctor"]))
    for url in (f"/fhir/R4/Patient/{patient.uuid}", f"/fhir/R4/Patient/{patient.uuid}/$everything"):
        response = lakeside_api.get(url)
        assert response.status_code == 404
        assert response.json()["resourceType"] == "OperationOutcome"
    elsewhere = lakeside_api.get("/fhir/R4/CarePlan", {"patient": str(patient.uuid)})
    assert elsewhere.status_code == 200 and elsewhere.json()["total"] == 0  # matches nothing, as no patient
    anonymous = client.get(f"/fhir/R4/Patient/{patient.uuid}")
    assert anonymous.status_code == 401 and anonymous.json()["resourceType"] == "OperationOutcome"


# ------------------------------------------------------------------------------------------------ CDS Hooks


def patient_view_request(patient_id: str) -> dict:
    """The shape of the CDS Hooks 2.0 specification's patient-view example (HTTP Request section)."""
    return {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "http://fhir.example.org",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/example", "patientId": patient_id, "encounterId": "89284"},
    }


def order_sign_request(patient_id: str) -> dict:
    """The shape of the order-sign hook's example: draftOrders is a Bundle of draft MedicationRequests."""
    return {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2eb",
        "fhirServer": "http://fhir.example.org",
        "hook": "order-sign",
        "context": {
            "userId": "PractitionerRole/123",
            "patientId": patient_id,
            "encounterId": "89284",
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "MedicationRequest",
                            "id": "smart-MedicationRequest-103",
                            "status": "draft",
                            "intent": "order",
                            "medicationCodeableConcept": {
                                "coding": [
                                    {
                                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                        "code": "197845",
                                        "display": "isotretinoin 40 MG Oral Capsule",
                                    }
                                ],
                                "text": "isotretinoin 40 MG Oral Capsule",
                            },
                            "subject": {"reference": f"Patient/{patient_id}"},
                            "dosageInstruction": [{"text": "40 mg twice daily"}],
                        }
                    }
                ],
            },
        },
    }


def call(api, service: str, body: dict):
    return api.post(f"/cds-services/{service}", json.dumps(body), content_type="application/json")


def test_discovery_lists_both_hooks(doctor_api):
    services = doctor_api.get("/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"patient-view", "order-sign"}
    assert all(s["id"] and s["description"] for s in services)


def test_an_order_sign_for_an_expired_window_returns_a_warning_card_naming_why(demo, doctor_api):
    patient = demo.courses["window_missed"][0].patient
    response = call(doctor_api, "isotrack-order-sign", order_sign_request(str(patient.uuid)))
    assert response.status_code == 200
    cards = response.json()["cards"]
    expired = [c for c in cards if "WINDOW_EXPIRED" in c["detail"]]
    assert len(expired) == 1
    card = expired[0]
    assert card["indicator"] == "warning"
    assert "window" in card["summary"] and len(card["summary"]) <= 140
    assert "IPL-WIN-7" in card["detail"] and "us-ipledge-20" in card["detail"]
    assert card["source"]["label"] == "iPLEDGE REMS · isotrack"


def test_patient_view_shows_alerts_as_cards(demo, doctor_api):
    patient = demo.courses["triglycerides_critical"][0].patient
    cards = call(doctor_api, "isotrack-patient-view", patient_view_request(str(patient.uuid))).json()["cards"]
    look = AccessEvent.objects.order_by("id").last()  # a card shows the patient's course: a look
    assert (look.patient, look.channel, look.view, look.detail) == (
        patient,
        "cds",
        "cds_service",
        "API token test",
    )
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert critical and "LAB-TG-CRIT" in critical[0]["detail"]
    assert all(set(c) >= {"uuid", "summary", "indicator", "detail", "source"} for c in cards)


def test_an_order_sign_when_all_is_met_returns_one_info_card(demo, doctor_api):
    patient = demo.courses["window_closing_today"][0].patient
    # The EHR's own id in the context; the patient named by the prefetched Patient's MRN of isotrack's system
    # (a context id alone is never taken for an MRN: tests/api/test_cds_hooks_more.py).
    request = order_sign_request("ehr-4711")
    mrn = {"system": f"urn:isotrack:mrn:{demo.practice.uuid}", "value": patient.mrn}
    request["prefetch"] = {"patient": {"resourceType": "Patient", "id": "ehr-4711", "identifier": [mrn]}}
    cards = call(doctor_api, "isotrack-order-sign", request).json()["cards"]
    assert [c["indicator"] for c in cards if "iPLEDGE" in c["summary"]] == ["info"]
    met = "iPLEDGE requirements recorded in isotrack are met today"
    assert any(c["summary"].startswith(met) for c in cards)  # the patient's own card, not "does not know"


def test_cds_gives_no_cards_for_other_orders_and_says_it_did_not_check_a_patient_it_does_not_know(
    demo, doctor_api
):
    lakeside_api = TokenClient(token_for(demo.staff["lakeside.doctor"]))
    patient = demo.courses["window_missed"][0].patient
    elsewhere = call(lakeside_api, "isotrack-order-sign", order_sign_request(str(patient.uuid))).json()
    unknown = call(doctor_api, "isotrack-order-sign", order_sign_request(str(uuid.uuid4()))).json()
    for answer in (elsewhere, unknown):  # another practice's patient: the same words as no patient at all
        (card,) = answer["cards"]
        assert card["indicator"] == "info"
        assert card["summary"] == "isotrack does not know this patient: no iPLEDGE check was made"
        assert "RxNorm 197845" in card["detail"] and str(patient.uuid) not in json.dumps(card)
    assert call(lakeside_api, "isotrack-patient-view", patient_view_request(str(patient.uuid))).json() == {
        "cards": []
    }  # opening a chart isotrack does not know: nothing to say
    other = order_sign_request(str(patient.uuid))
    other["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "amoxicillin"
    }
    assert call(doctor_api, "isotrack-order-sign", other).json() == {"cards": []}


BRANDED = [  # reference.md section 2: each product line's brands and strengths, as an EHR writes the order
    *[
        (brand, mg)
        for brand in ("Amnesteem", "Claravis", "Myorisan", "Zenatane", "Accutane")
        for mg in (10, 20, 30, 40)
    ],
    *[("Absorica", mg) for mg in (10, 20, 25, 30, 35, 40)],
    *[("Absorica LD", mg) for mg in (8, 16, 20, 24, 28, 32)],
    *[("isotretinoin", mg) for mg in (10, 20, 25, 30, 35, 40)],
]


def with_medication(request: dict, how: str, name: str) -> dict:
    """The order naming its drug one way: a text alone, a coding's display with a code isotrack does not know,
    a Medication contained in the order, or a Medication prefetched (by reference, in a Bundle)."""
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    concept = {
        "coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "999999", "display": name}
        ]
    }
    if how == "text":
        order["medicationCodeableConcept"] = {"text": name}
    elif how == "display":
        order["medicationCodeableConcept"] = concept
    else:
        del order["medicationCodeableConcept"]
        medication = {"resourceType": "Medication", "id": "med1", "code": concept}
        if how == "contained":
            order["contained"] = [medication]
            order["medicationReference"] = {"reference": "#med1"}
        else:
            order["medicationReference"] = {"reference": "Medication/med1"}
            request["prefetch"] = {
                "medications": {"resourceType": "Bundle", "entry": [{"resource": medication}]}
            }
    return request


@pytest.mark.parametrize("how", ["text", "display", "contained", "prefetched"])
def test_every_brand_and_strength_however_named_raises_the_generic_orders_cards(demo, doctor_api, how):
    patient = demo.courses["window_missed"][0].patient
    generic = call(doctor_api, "isotrack-order-sign", order_sign_request(str(patient.uuid))).json()["cards"]
    assert any("WINDOW_EXPIRED" in card["detail"] for card in generic)

    def seen(cards: list[dict]) -> list[tuple[str, str, str]]:
        return [(card["summary"], card["indicator"], card["detail"]) for card in cards]

    for brand, mg in BRANDED:
        request = with_medication(order_sign_request(str(patient.uuid)), how, f"{brand} {mg} MG Oral Capsule")
        cards = call(doctor_api, "isotrack-order-sign", request).json()["cards"]
        assert seen(cards) == seen(generic), (brand, mg, how)
    for other in ("Amoxicillin 500 MG Oral Capsule", "Tretinoin 0.05 % Topical Cream", "Acitretin 25 MG"):
        request = with_medication(order_sign_request(str(patient.uuid)), how, other)
        assert call(doctor_api, "isotrack-order-sign", request).json() == {"cards": []}, (other, how)


def test_cds_needs_a_token_and_answers_problems(client, doctor_api):
    assert client.get("/cds-services").status_code == 401
    assert call(doctor_api, "isotrack-order-sign", {"hook": "order-sign"}).status_code == 400
    assert call(doctor_api, "nothing", patient_view_request("x")).status_code == 404


def test_fhir_and_cds_hooks_grade_with_the_cores_one_scale_in_its_order() -> None:
    from isotrack import core
    from isotrack.api.cds import INDICATORS
    from isotrack.api.fhir.resources import SEVERITIES

    assert tuple(INDICATORS) == core.WEIGHTS  # the cards' order is the scale's
    assert tuple(SEVERITIES) == core.WEIGHTS
    assert [INDICATORS[w] for w in core.WEIGHTS] == ["critical", "warning", "warning", "info"]
    assert [SEVERITIES[w] for w in core.WEIGHTS] == ["high", "high", "moderate", "low"]


def _order(**fields) -> dict:
    return {"resource": {"resourceType": "MedicationRequest", **fields}}


def _contained(**medication) -> dict:
    return {
        "medicationReference": {"reference": "#m"},
        "contained": [{"resourceType": "Medication", "id": "m", **medication}],
    }


@pytest.mark.parametrize(
    "shape",
    [
        {"entry": 5},
        {"entry": [_order(medicationCodeableConcept={"coding": 5})]},
        {"entry": [_order(contained=5, medicationReference={"reference": "#m"})]},
        {"entry": [_order(medication=[1, 2])]},
        {"entry": [_order(medicationReference={"reference": 7})]},
        {"entry": [_order(**_contained(ingredient=1))]},
        {"entry": [None, "x", {"resource": []}]},
    ],
)
def test_an_order_sign_of_odd_shapes_answers_without_a_500(demo, doctor_api, shape):
    patient = demo.courses["window_missed"][0].patient
    request = order_sign_request(str(patient.uuid))
    request["context"]["draftOrders"] = {"resourceType": "Bundle", **shape}
    request["prefetch"] = {"medications": {"resourceType": "Bundle", "entry": 3}}
    answer = call(doctor_api, "isotrack-order-sign", request)
    assert answer.status_code == 200 and answer.json() == {"cards": []}


URN = "urn:uuid:0c3a0b0e-0000-4000-8000-000000000001"
RXNORM_OID = "urn:oid:2.16.840.1.113883.6.88"


@pytest.mark.parametrize(
    "order",
    [
        {"medication": {"concept": {"text": "Zenatane 30 MG Oral Capsule"}}},  # R5
        {"medication": {"reference": {"reference": "Medication/m5"}}},  # R5, prefetched by its full URL
        {"medicationReference": {"reference": "Medication/m5/_history/2"}},  # a version of it
        {"medicationReference": {"reference": URN}},  # an entry of the draft orders named by its urn:uuid
        {"medicationCodeableConcept": {"coding": [{"system": RXNORM_OID, "code": 197845}]}},  # OID, a number
        _contained(ingredient=[{"item": {"concept": {"text": "isotretinoin"}}}]),  # R5 ingredient
        _contained(ingredient=[{"itemReference": {"display": "ISOtretinoin"}}]),  # R4, by its display
    ],
)
def test_an_isotretinoin_order_is_found_however_the_ehr_shapes_it(demo, doctor_api, order):
    patient = demo.courses["window_missed"][0].patient
    generic = call(doctor_api, "isotrack-order-sign", order_sign_request(str(patient.uuid))).json()["cards"]
    request = order_sign_request(str(patient.uuid))
    entries = request["context"]["draftOrders"]["entry"]
    del entries[0]["resource"]["medicationCodeableConcept"]
    entries[0]["resource"].update(order)
    claravis = {"resourceType": "Medication", "code": {"text": "Claravis 40 MG Oral Capsule"}}  # no id
    entries.append({"fullUrl": URN, "resource": claravis})
    prefetched = {"fullUrl": "http://ehr.example/fhir/Medication/m5", "resource": claravis}
    request["prefetch"] = {"medications": {"resourceType": "Bundle", "entry": [prefetched]}}
    cards = call(doctor_api, "isotrack-order-sign", request).json()["cards"]
    assert cards and [c["summary"] for c in cards] == [c["summary"] for c in generic], order
