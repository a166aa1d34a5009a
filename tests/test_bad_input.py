"""Bad input through every way in: NUL and control characters, 10 kB strings, numbers out of range (1e999),
FHIR partial dates, JSON nested 200,000 deep, a 50 MB body. Each is refused with a 4xx in words (an API
problem document, a FHIR OperationOutcome, a page, a form error beside its field) or a command's exit 2;
never a 500, never a traceback, nothing half-saved."""

from __future__ import annotations

import io
import json
import tracemalloc
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from isotrack.clinic import inputs
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


SEARCHED = ["/patients/", "/", "/calendar/", "/api/v1/patients", "/fhir/R4/Observation", "/practice/audit/"]


@pytest.mark.parametrize("text", ["tab\there", "new\nline", "pasted\r\n"])
@pytest.mark.parametrize("url", SEARCHED)
def test_a_pasted_tab_or_line_break_in_a_search_is_only_space(pages, api, url, text):
    client = api if url.startswith(("/api/", "/fhir/")) else pages
    patient = f"\t{uuid.uuid4()}\r\n" if url.startswith("/fhir/") else text  # FHIR's patient is an id, pasted
    answer = client.get(url, {"q": text, "search": text, "patient": patient})
    assert answer.status_code in (200, 403, 404), answer.status_code  # answered, never refused as input


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\x1b", "bell\x07"])
@pytest.mark.parametrize("url", SEARCHED)
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


@pytest.mark.parametrize(
    "body",
    [
        '{"feedback": [{"card": "\\ud800"}]}',
        '{"a\\udfffb": 1}',  # a key
        '["ok", {"x": ["\\udc00\\ud800"]}]',  # the halves in the wrong order
        '"\\ud83d"',  # a high half and no low one
    ],
)
def test_a_lone_surrogate_anywhere_in_json_is_refused_in_words(api, body):
    with pytest.raises(inputs.BadInput, match="lone surrogate"):
        inputs.parse_json(body)
    for url in ("/api/v1/patients", "/cds-services/isotrack-order-sign/feedback", "/fhir/R4/Patient/$match"):
        answer = api.post(url, body, content_type="application/json")
        assert answer.status_code == 400 and "lone surrogate" in answer.content.decode(), url
    assert inputs.parse_json('"\\ud83d\\ude00"') == "\U0001f600"  # both halves: one character


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
        "gender": "unknown",
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
        (lab_bundle("\ud800"), "lone surrogate"),  # JSON's escape of half a UTF-16 pair: not UTF-8
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


# ---------------------------------------------------------------------------- the second review's findings


def test_a_json_body_sent_as_another_type_is_checked_all_the_same(api):
    payload = json.dumps(
        {"mrn": "F-3", "given_name": "\x1b[31m", "family_name": "S", "birth_date": "2001-02-03"}
    )
    for content_type in ("text/plain", "application/fhir+json", "Application/JSON"):
        answer = api.post("/api/v1/patients", payload, content_type=content_type)
        assert answer.status_code == 400 and "control character" in answer.json()["detail"], content_type
    assert not Patient.objects.exists()


def test_escaped_quotes_do_not_fool_or_stall_the_depth_measure(api):
    """A megabyte of escaped quotes is measured in one pass (it was quadratic) and refused as not JSON."""
    body = '{"' + '\\"' * 500_000
    answer = api.post("/api/v1/patients", body, content_type="application/json")
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["detail"]


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\[]{}'),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='k"\\[{'), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_the_depth_measured_before_parsing_is_the_parsed_documents_depth(document):
    def depth(value) -> int:
        if isinstance(value, list):
            return 1 + max((depth(item) for item in value), default=0)
        if isinstance(value, dict):
            return 1 + max((depth(item) for item in value.values()), default=0)
        return 0

    assert inputs.json_depth(json.dumps(document)) == depth(document)


@pytest.mark.parametrize("number", ["²", "٣", "9" * 5000, "-1", "1.5"])
def test_a_number_that_is_not_plain_digits_is_refused_not_500(api, pages, number):
    assert api.get("/fhir/R4/Patient", {"_count": number}).status_code == 400
    assert pages.get(reverse("practice_audit")).status_code in (200, 403)  # (the nurse may not read it)
    key = pages.get(reverse("api_tokens")).context["submission_key"]
    made = pages.post(reverse("api_tokens"), {"name": "script", "days": number, "submission_key": key})
    assert made.status_code == 422
    with pytest.raises(CommandError) as refused:
        call_command("refresh_worklist", "--workers", number)
    assert refused.value.returncode == 2


def test_an_audit_key_with_other_digits_shows_the_first_page(auditor):
    client = Client()
    client.force_login(auditor)
    assert (
        client.get(reverse("practice_audit"), {"before": "2026-12-01T00:00:00+00:00~look~²"}).status_code
        == 200
    )


def test_the_token_page_refuses_a_name_with_a_control_character_and_an_id_that_is_no_token(pages, nurse):
    key = pages.get(reverse("api_tokens")).context["submission_key"]
    made = pages.post(reverse("api_tokens"), {"name": "script\x1b", "days": "30", "submission_key": key})
    assert made.status_code == 422 and "control character" in made.content.decode()
    revoked = pages.post(reverse("api_tokens"), {"revoke": "not-a-token-id"})
    assert revoked.status_code == 422 and "No such token" in revoked.content.decode()


def test_a_correction_refuses_a_control_character_beside_its_field(pages, prescriber, weight):
    from isotrack.clinic.actions import corrections
    from tests.web.test_corrections_pages import form_data

    pages.force_login(prescriber)
    kind = corrections.KINDS["weight"]
    data = form_data(kind, weight, prescriber, correction_reason="typing\x07 error")
    answer = pages.post(reverse("record_correct", args=["weight", weight.uuid]), data)
    assert answer.status_code == 422 and "correction_reason" in answer.context["form"].errors


def test_a_practice_file_cell_with_a_control_character_is_a_problem_of_its_row():
    from isotrack.clinic.imports.practice import COLUMNS, read_csv

    names = [column.name for column in COLUMNS]
    header = ",".join(names)
    row = ",".join("T-1\x1b" if name == "mrn" else "" for name in names)
    rows, problems = read_csv(f"{header}\n{row}\n")
    assert problems == [] and rows == [(2, {"": "the mrn column holds a control character (U+001B)"})]


def test_a_patient_whose_stored_mrn_predates_the_rule_can_still_be_changed(prescriber, patient):
    from isotrack.clinic.actions.patients import update_patient_contact

    Patient.objects.filter(pk=patient.pk).update(mrn="T-0001\tOLD")  # entered before migration 0020
    stored = Patient.objects.get(pk=patient.pk)
    update_patient_contact(actor=prescriber, patient=stored, phone="555-0100")
    assert Patient.objects.get(pk=patient.pk).phone == "555-0100"


def test_a_refused_multipart_body_is_not_read_to_render_the_refusal(pages):
    answer = pages.generic(
        "POST",
        reverse("patient_new"),
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert answer.status_code == 413 and "larger than 10 MB" in answer.content.decode()


def test_a_lab_file_nested_too_deep_on_the_command_line_exits_2_in_words(nurse, course, tmp_path):
    deep = tmp_path / "labs.json"
    deep.write_text("{" + '"a":{' * 100 + "}" * 101)
    with pytest.raises(CommandError, match="nests deeper than 64 levels") as refused:
        call_command("import_labs", str(deep), "--as", nurse.username, stdout=io.StringIO())
    assert refused.value.returncode == 2
