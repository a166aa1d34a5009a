"""Bad input through every way in: NUL and control characters, 10 kB strings, numbers out of range (1e999),
FHIR partial dates, JSON nested 200,000 deep, a 50 MB body. Each is refused with a 4xx in words (an API
problem document, a FHIR OperationOutcome, a page, a form error beside its field) or a command's exit 2;
never a 500, never a traceback, nothing half-saved."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from isotrack.clinic.models import LabResult, Patient, Visit
from tests.api.conftest import TokenClient, token_for
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db
DEEP = "[" * 200_000 + "]" * 200_000
HUGE_NUMBERS = ["1e999", "1e999999999", "-1e999", "NaN", "Infinity"]
TEXTS = ["\x00", "a\x00b", "\x1b[31m", "line\u0007bell", "x" * 10_000]


@pytest.fixture
def pages(nurse):
    client = Client()
    client.force_login(nurse)
    return client


@pytest.fixture
def api(nurse):
    return TokenClient(token_for(nurse))


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\x1b", "tab\there", "new\nline"])
@pytest.mark.parametrize(
    "url",
    ["/patients/", "/", "/calendar/", "/api/v1/patients", "/fhir/R4/Observation", "/practice/audit/"],
)
def test_a_control_character_in_a_search_is_refused_in_words(pages, api, url, text):
    client = api if url.startswith(("/api/", "/fhir/")) else pages
    answer = client.get(url, {"q": text, "search": text, "patient": text})
    assert answer.status_code == 400
    assert "control character" in answer.content.decode()
    if url.startswith("/api/"):
        assert answer["Content-Type"] == "application/problem+json"
    if url.startswith("/fhir/"):
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_cds_call_with_a_nul_or_too_deep_is_refused_not_500(api, patient):
    body = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "\u0000", "userId": "u"}}
    for payload in (json.dumps(body), DEEP, "{not json"):
        answer = api.post("/cds-services/isotrack-patient-view", payload, content_type="application/json")
        assert answer.status_code == 400, payload[:20]
        assert answer["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("field", ["mrn", "given_name", "family_name", "email", "phone", "ipledge_id"])
@pytest.mark.parametrize("text", TEXTS)
def test_every_text_of_a_new_patient_through_the_api_is_refused_or_kept_never_500(api, field, text):
    payload = {
        "mrn": "F-1",
        "given_name": "Rowan",
        "family_name": "Synthetic",
        "birth_date": "2001-02-03",
        field: text,
    }
    answer = api.post("/api/v1/patients", json.dumps(payload), content_type="application/json")
    assert answer.status_code in (400, 422), (field, text[:10], answer.status_code)
    assert answer["Content-Type"] == "application/problem+json"
    assert not Patient.objects.exists()  # nothing saved


def test_an_mrn_with_a_line_break_is_refused_on_the_page_in_the_api_and_in_an_import(pages, api, prescriber):
    form = {
        "mrn": "T-9\nX",
        "given_name": "Rowan",
        "family_name": "Synthetic",
        "birth_date": "2001-02-03",
        "submission_key": pages.get(reverse("patient_new")).context["submission_key"],
    }
    answer = pages.post(reverse("patient_new"), form)
    assert answer.status_code == 422 and "control character" in str(answer.context["form"].errors["mrn"])
    payload = {"mrn": "T-9\nX", "given_name": "Rowan", "family_name": "Synthetic", "birth_date": "2001-02-03"}
    refused = api.post("/api/v1/patients", json.dumps(payload), content_type="application/json")
    assert refused.status_code == 422 and refused.json()["field"] == "mrn"
    assert not Patient.objects.filter(given_name="Rowan").exists()


def test_a_visit_note_has_one_length_limit_on_the_page_as_in_the_api(pages, course, methods):
    from tests.web.test_saved_once import visit_form
    from tests.web.test_visit import visit_url

    data = visit_form(pages, course, note="n" * 4001)
    answer = pages.post(visit_url(course), data)
    assert answer.status_code == 422 and "note" in answer.context["form"].errors
    assert not Visit.objects.filter(course=course).exists()


@pytest.mark.parametrize("number", HUGE_NUMBERS)
def test_a_number_out_of_range_in_an_api_body_is_refused(api, patient, number):
    body = '{"effective_date": "2026-11-01", "value": %s, "unit": "kg"}' % number  # noqa: UP031 - raw JSON
    answer = api.post(f"/api/v1/patients/{patient.uuid}/weights", body, content_type="application/json")
    assert answer.status_code in (400, 422), number
    assert not patient.weights.exists()


def test_json_nested_200000_deep_is_refused_before_it_is_parsed(api):
    for url in ("/api/v1/patients", "/api/v1/lab-imports"):
        answer = api.post(url, DEEP, content_type="application/json")
        assert answer.status_code == 400 and "nests deeper" in answer.json()["detail"], url


def lab_csv(value: str, day: str = "2026-11-20") -> str:
    return f"mrn,loinc,value,unit,date\nT-0001,2571-8,{value},mg/dL,{day}\n"


def lab_bundle(value: object, effective: str = "2026-11-20") -> str:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2571-8"}]},
        "subject": {"identifier": {"value": "T-0001"}},
        "effectiveDateTime": effective,
        "valueQuantity": {"value": value, "unit": "mg/dL"},
    }
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]})


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (lab_csv("1e999999999"), "too large"),
        (lab_csv("1e999"), "too large"),
        (lab_csv("NaN"), "not a number"),
        (lab_bundle(1e300), "too large"),
        (lab_bundle(120, effective="2026"), "names no day"),
        (lab_bundle(120, effective="2026-11"), "names no day"),
        (lab_bundle("\u0000"), "control character"),
        ("{" * 100 + "}" * 100, "nests deeper"),
    ],
)
def test_a_lab_file_with_a_number_out_of_range_a_partial_date_or_deep_json_is_refused_in_words(
    api, course, content, why
):
    content_type = "application/json" if content.startswith("{") else "text/csv"
    answer = api.post("/api/v1/lab-imports", content, content_type=content_type)
    assert answer.status_code in (400, 422)
    assert why in json.dumps(answer.json())
    assert not LabResult.objects.exists()


def test_a_50_mb_body_is_refused_by_its_length_before_it_is_read(api, pages):
    declared = str(50 * 1024 * 1024)
    tracemalloc.start()
    try:
        answers = [
            api.generic("POST", "/api/v1/lab-imports", b"", content_type="text/csv", CONTENT_LENGTH=declared),
            pages.generic("POST", reverse("patient_new"), b"", CONTENT_LENGTH=declared),
        ]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [answer.status_code for answer in answers] == [413, 413]
    assert answers[0].json()["code"] == "too_large"
    assert peak < 64 * 1024 * 1024


def test_a_50_mb_lab_file_on_the_command_line_exits_2_before_it_is_read(nurse, tmp_path):
    big = tmp_path / "labs.csv"
    with big.open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # a sparse file: 50 MB long, nothing read to make it
    tracemalloc.start()
    try:
        with pytest.raises(CommandError, match="larger than 10 MB") as refused:
            call_command("import_labs", str(big), "--as", nurse.username, stdout=io.StringIO())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.returncode == 2 and peak < 64 * 1024 * 1024


@pytest.mark.parametrize("text", TEXTS)
def test_every_text_field_of_the_registration_form_refuses_or_keeps_never_500(pages, text):
    for field in ("mrn", "given_name", "family_name"):
        form = {
            "mrn": "F-2",
            "given_name": "Rowan",
            "family_name": "Synthetic",
            "birth_date": TODAY.replace(year=2001).isoformat(),
            "submission_key": pages.get(reverse("patient_new")).context["submission_key"],
            field: text,
        }
        answer = pages.post(reverse("patient_new"), form)
        assert answer.status_code == 422, (field, text[:10])
        assert field in answer.context["form"].errors
    assert not Patient.objects.filter(mrn="F-2").exists()
