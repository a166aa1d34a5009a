"""The JSON API through HTTP: tokens, practice scoping, roles, problem documents, optimistic concurrency."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from isotrack.api.models import ApiToken
from isotrack.api.tokens import token_hash
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.patients import record_contraception
from isotrack.clinic.actions.visits import VisitContraception, record_monthly_visit
from tests.api.conftest import TokenClient, token_for

PROBLEM = "application/problem+json"


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def patch(client, url, body, **headers):
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


def record_urls(patient, course, weight):
    """Every URL of the API that names one of the practice's records."""
    urls = [
        f"/api/v1/patients/{patient.uuid}",
        f"/api/v1/patients/{patient.uuid}/weights",
        f"/api/v1/patients/{patient.uuid}/contraception",
        f"/api/v1/patients/{patient.uuid}/medications",
        f"/api/v1/patients/{patient.uuid}/courses",
        f"/api/v1/weights/{weight.uuid}",
        f"/api/v1/courses/{course.uuid}",
        f"/api/v1/courses/{course.uuid}/evaluation",
    ]
    for segment in (
        "dose-segments",
        "interruptions",
        "missed-doses",
        "pregnancy-tests",
        "ipledge-entries",
        "dispenses",
        "lab-results",
        "visits",
        "mood-screens",
        "side-effects",
    ):
        urls.append(f"/api/v1/courses/{course.uuid}/{segment}")
    return urls


def test_an_anonymous_request_gets_a_401_problem_not_the_login_page(client, patient):
    for url in ("/api/v1/patients", f"/api/v1/patients/{patient.uuid}", "/api/v1/worklist"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"] == PROBLEM
        assert response.json()["code"] == "unauthenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_or_revoked_token_gets_401(prescriber, patient):
    assert TokenClient("not-a-token").get("/api/v1/patients").status_code == 401
    token = ApiToken.objects.create(
        user=prescriber,
        practice=prescriber.practice,
        role="prescriber",
        name="x",
        key_hash=token_hash("v"),
        prefix="v",
        expires_at=timezone.now() + timedelta(days=1),
    )
    assert TokenClient("v").get("/api/v1/patients").status_code == 200
    token.revoked_at = token.created_at
    token.save()
    assert TokenClient("v").get("/api/v1/patients").status_code == 401


def test_a_token_stops_working_when_its_users_role_changes(nurse):
    api = TokenClient(token_for(nurse))
    assert api.get("/api/v1/patients").status_code == 200
    nurse.role = "prescriber"
    nurse.save()
    assert api.get("/api/v1/patients").status_code == 401


def test_tokens_are_stored_only_as_their_hash_and_shown_once(client, nurse):
    client.force_login(nurse)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(nurse)
    assert post(csrf_client, "/api/v1/tokens", {"name": "EHR"}).status_code == 403  # no CSRF token
    response = post(client, "/api/v1/tokens", {"name": "EHR"})
    assert response.status_code == 201
    value = response.json()["token"]
    stored = ApiToken.objects.get()
    assert stored.key_hash == token_hash(value) and value not in str(list(ApiToken.objects.values()))
    listed = TokenClient(value).get("/api/v1/tokens").json()
    assert "token" not in listed[0]
    assert AuditEvent.objects.filter(action=EventCode.API_TOKEN_CREATE).count() == 1


def test_a_token_cannot_make_another_token(nurse_api):
    assert post(nurse_api, "/api/v1/tokens", {"name": "more"}).status_code == 401


def test_the_token_page_creates_shows_once_and_revokes(client, nurse):
    client.force_login(nurse)
    page = client.post("/api/tokens/", {"name": "lab interface"}).content.decode()
    token = ApiToken.objects.get()
    assert token.prefix in page and "shown only this once" in page
    client.post("/api/tokens/", {"revoke": str(token.uuid)})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "shown only this once" not in client.get("/api/tokens/").content.decode()


def test_an_outsiders_token_sees_nothing_of_another_practice(outsider_api, patient, course, weight):
    for url in record_urls(patient, course, weight):
        response = outsider_api.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == PROBLEM and response.json()["code"] == "not_found"
    assert outsider_api.get("/api/v1/patients").json()["count"] == 0
    assert outsider_api.get("/api/v1/courses").json()["count"] == 0
    assert outsider_api.get("/api/v1/worklist").json()["count"] == 0
    assert outsider_api.get("/api/v1/calendar").json()["items"] == []
    body = {"effective_date": "2026-06-01", "value": 70, "unit": "kg"}
    assert post(outsider_api, f"/api/v1/patients/{patient.uuid}/weights", body).status_code == 404
    assert patient.weights.count() == 1


WRITES = [
    (
        "post",
        "/api/v1/patients",
        {
            "mrn": "T-9",
            "given_name": "A",
            "family_name": "B",
            "birth_date": "2001-01-01",
            "category": "cannot_get_pregnant",
        },
    ),
    (
        "post",
        "/api/v1/patients/{patient}/weights",
        {"effective_date": "2026-06-01", "value": 70, "unit": "kg"},
    ),
    ("post", "/api/v1/patients/{patient}/contraception", {"method": "iud_copper", "start": "2026-04-01"}),
    ("post", "/api/v1/patients/{patient}/medications", {"name": "doxycycline", "start": "2026-06-10"}),
    ("post", "/api/v1/patients/{patient}/courses", {"start": "2026-07-01", "mg_per_day": 40}),
    (
        "post",
        "/api/v1/courses/{course}/dose-segments",
        {"starts_on": "2026-07-01", "mg_per_day": 60, "change_reason": "planned", "reason": "tolerated"},
    ),
    ("post", "/api/v1/courses/{course}/interruptions", {"start": "2026-07-01", "end": "2026-07-03"}),
    ("post", "/api/v1/courses/{course}/missed-doses", {"date": "2026-07-01"}),
    (
        "post",
        "/api/v1/courses/{course}/pregnancy-tests",
        {"purpose": "screening", "setting": "office", "specimen_date": "2026-05-01", "result": "negative"},
    ),
    ("post", "/api/v1/courses/{course}/ipledge-entries", {"kind": "enrollment", "date": "2026-05-01"}),
    ("post", "/api/v1/courses/{course}/dispenses", {"date": "2026-06-01", "days_supply": 30}),
    (
        "post",
        "/api/v1/courses/{course}/lab-results",
        {"test": "alt", "effective_date": "2026-05-01", "value": 20, "unit": "U/L"},
    ),
    ("post", "/api/v1/courses/{course}/visits", {"date": "2026-06-01"}),
    (
        "post",
        "/api/v1/courses/{course}/mood-screens",
        {"date": "2026-06-01", "instrument": "phq2", "score": 1},
    ),
    (
        "post",
        "/api/v1/courses/{course}/side-effects",
        {"term": "dry lips", "severity": "mild", "onset": "2026-06-05"},
    ),
    ("patch", "/api/v1/patients/{patient}", {"phone": "555-0100"}),
    ("put", "/api/v1/patients/{patient}/category", {"category": "cannot_get_pregnant", "reason": "x"}),
    ("patch", "/api/v1/weights/{weight}", {"effective_date": "2026-05-20", "value": 70, "unit": "kg"}),
    ("patch", "/api/v1/courses/{course}", {"end": "2026-10-01"}),
]


def _send(client, method, url, body, headers):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json", **headers)


def test_an_auditors_token_gets_403_on_every_write(auditor_api, patient, course, weight):
    audit_rows = AuditEvent.objects.count()
    for method, template, body in WRITES:
        url = template.format(patient=patient.uuid, course=course.uuid, weight=weight.uuid)
        headers = {}
        if method in ("patch", "put"):
            headers["HTTP_IF_MATCH"] = auditor_api.get(url.removesuffix("/category"))["ETag"]
        response = _send(auditor_api, method, url, body, headers)
        assert response.status_code == 403, url
        assert response["Content-Type"] == PROBLEM and response.json()["code"] == "not_permitted"
    assert AuditEvent.objects.count() == audit_rows


def test_every_write_of_a_prescriber_goes_through_an_audited_action(prescriber_api, patient, course, weight):
    for method, template, body in WRITES:
        url = template.format(patient=patient.uuid, course=course.uuid, weight=weight.uuid)
        before = AuditEvent.objects.count()
        headers = {}
        if method in ("patch", "put"):
            headers["HTTP_IF_MATCH"] = prescriber_api.get(url.removesuffix("/category"))["ETag"]
        response = _send(prescriber_api, method, url, body, headers)
        assert response.status_code in (200, 201), (url, response.content)
        assert AuditEvent.objects.count() > before, url


def test_an_update_needs_if_match_and_a_stale_one_gets_412(nurse_api, weight):
    url = f"/api/v1/weights/{weight.uuid}"
    etag = nurse_api.get(url)["ETag"]
    body = {"effective_date": "2026-05-20", "value": 63, "unit": "kg"}
    missing = patch(nurse_api, url, body)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    first = patch(nurse_api, url, body, HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] != etag
    stale = patch(nurse_api, url, {**body, "value": 64}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale["Content-Type"] == PROBLEM and stale.json()["code"] == "precondition_failed"
    weight.refresh_from_db()
    assert str(weight.kg) == "63.00"


def test_if_match_compares_strongly_and_star_means_the_current_version(nurse_api, weight):
    """RFC 9110 13.1.1: If-Match uses the strong comparison (a weak tag never matches), ``*`` matches the
    record as it is; a header that is not entity tags matches nothing."""
    url = f"/api/v1/weights/{weight.uuid}"
    etag = nurse_api.get(url)["ETag"]
    body = {"effective_date": "2026-05-20", "value": 63, "unit": "kg"}
    for refused in (f"W/{etag}", etag.strip('"'), f'"other", W/{etag}', "", " , "):
        answer = patch(nurse_api, url, body, HTTP_IF_MATCH=refused)
        assert answer.status_code == (428 if not refused.strip() else 412), refused
    assert patch(nurse_api, url, body, HTTP_IF_MATCH=f'"other", {etag}').status_code == 200  # one of a list
    star = patch(nurse_api, url, {**body, "value": 64}, HTTP_IF_MATCH="*")
    assert star.status_code == 200 and star.json()["kg"] == 64.0


def test_if_none_match_answers_304_while_the_copy_is_current(nurse_api, weight):
    url = f"/api/v1/weights/{weight.uuid}"
    etag = nurse_api.get(url)["ETag"]
    for current in (etag, f"W/{etag}", f'"old", {etag}', "*"):  # RFC 9110 13.1.2: the weak comparison
        answer = nurse_api.get(url, HTTP_IF_NONE_MATCH=current)
        assert answer.status_code == 304 and answer["ETag"] == etag and not answer.content, current
    changed = patch(
        nurse_api, url, {"effective_date": "2026-05-20", "value": 63, "unit": "kg"}, HTTP_IF_MATCH=etag
    )
    fresh = nurse_api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] == changed["ETag"] != etag
    assert fresh.json()["kg"] == 63.0


def test_a_201_names_the_new_records_url_in_location(nurse_api, prescriber_api, patient, methods):
    created = post(
        nurse_api,
        "/api/v1/patients",
        {"mrn": "LOC-1", "given_name": "Avery", "family_name": "Quill", "birth_date": "2004-02-02"},
    )
    assert created.status_code == 201, created.content
    assert created["Location"] == f"/api/v1/patients/{created.json()['id']}"
    assert nurse_api.get(created["Location"]).json() == created.json()
    weight = post(
        nurse_api,
        created["Location"] + "/weights",
        {"effective_date": "2026-05-01", "value": 60, "unit": "kg"},
    )
    assert weight["Location"] == f"/api/v1/weights/{weight.json()['id']}"
    assert nurse_api.get(weight["Location"]).json() == weight.json()
    course = post(
        prescriber_api,
        f"/api/v1/patients/{patient.uuid}/courses",  # a patient whose category is assigned
        {"start": "2026-05-02", "mg_per_day": 40, "product": "conventional"},
    )
    assert course.status_code == 201, course.content
    assert nurse_api.get(course["Location"]).json()["id"] == course.json()["id"]


def test_the_openapi_document_declares_the_version_headers_and_servers(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["servers"] and document["servers"][0]["url"] == "/"
    updates = reads = 0
    for methods in document["paths"].values():
        for method, operation in methods.items():
            headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
            if "412" in operation["responses"]:  # an update against a version
                updates += 1
                assert headers["If-Match"]["required"] is True, operation["operationId"]
                assert "ETag" in operation["responses"]["200"]["headers"]
            if method == "get" and "If-None-Match" in headers:
                reads += 1
                assert "304" in operation["responses"] and "ETag" in operation["responses"]["200"]["headers"]
    assert updates == 6 and reads == 5
    created = document["paths"]["/api/v1/patients"]["post"]["responses"]["201"]
    assert "Location" in created["headers"]


def test_a_validation_error_is_a_problem_naming_the_field(nurse_api, course):
    response = post(
        nurse_api, f"/api/v1/courses/{course.uuid}/mood-screens", {"date": "2026-06-01", "instrument": "phq2"}
    )
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    document = response.json()
    assert {"type", "title", "status", "detail", "code"} <= document.keys()
    assert document["errors"][0]["field"] == "score"


def test_a_clinic_rule_violation_is_a_422_problem(nurse_api, course):
    body = {"date": "2026-06-01", "instrument": "phq2", "score": 5, "item9": 1}
    response = post(nurse_api, f"/api/v1/courses/{course.uuid}/mood-screens", body)
    assert response.status_code == 422 and response.json()["code"] == "invalid"


def test_lists_are_paginated_and_filtered(nurse_api, patient):
    listing = nurse_api.get("/api/v1/patients", {"limit": 1, "category": "cannot_get_pregnant"}).json()
    assert listing == {"items": [], "count": 0, "limit": 1, "offset": 0}
    assert nurse_api.get("/api/v1/patients", {"search": patient.mrn}).json()["count"] == 1
    assert nurse_api.get("/api/v1/patients", {"limit": 0}).status_code == 422


def test_the_evaluation_names_its_rule_set_and_the_rule_of_every_decision(nurse_api, course):
    evaluation = nurse_api.get(f"/api/v1/courses/{course.uuid}/evaluation", {"on": "2026-06-01"}).json()
    assert evaluation["rules"] == "us-ipledge-2021" and evaluation["phase"] == "qualifying"
    assert all(b["rule_id"] and b["explanation"] for b in evaluation["dispense"]["blocking"])


def test_the_openapi_document_and_the_docs_page_are_served(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    responses = document["paths"]["/api/v1/weights/{weight_uuid}"]["patch"]["responses"]
    assert PROBLEM in responses["412"]["content"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"/api/v1/worklist" in page.content


@pytest.mark.parametrize("url", ["/api/v1/nothing-here", "/api/v1/patients/not-a-uuid"])
def test_an_unknown_url_under_the_api_is_a_404_problem(nurse_api, url):
    response = nurse_api.get(url)
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM


def test_a_visit_shows_the_methods_confirmed_and_the_prescription_to_send(nurse_api, nurse, course):
    for method in ("iud_copper", "male_condom"):
        record_contraception(actor=nurse, patient=course.patient, method=method, start=date(2026, 1, 1))
    record_monthly_visit(
        actor=nurse,
        course=course,
        day=date(2026, 6, 1),
        contraception=VisitContraception(confirmed=True),
        days_supply=30,
    )
    visit = nurse_api.get(f"/api/v1/courses/{course.uuid}/visits").json()[0]
    assert visit["confirmed_methods"] == ["iud_copper", "male_condom"]
    assert visit["prescription"] == {"days_supply": 30, "mg_per_day": 40.0, "product": "conventional"}


def test_a_courses_etag_covers_what_its_get_shows_and_a_304_is_a_look(nurse_api, course):
    """The course answer shows the practice's target when the course has none of its own: a change of the
    practice's target is a new version, never a 304 over a stale copy. A 304 still opened the record."""
    from decimal import Decimal

    from isotrack.audit.models import AccessEvent

    url = f"/api/v1/courses/{course.uuid}"
    first = nurse_api.get(url)
    assert first.json()["follows_practice_target"] is True
    before = AccessEvent.objects.count()
    held = nurse_api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert held.status_code == 304
    look = AccessEvent.objects.order_by("id").last()
    assert AccessEvent.objects.count() == before + 1 and look.patient_id == course.patient_id
    practice = course.patient.practice
    practice.target_mg_per_kg = Decimal(120)
    practice.save(update_fields=["target_mg_per_kg"])
    changed = nurse_api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    assert changed.json()["target_mg_per_kg"] == 120.0


def test_empty_elements_of_an_if_match_list_are_ignored(nurse_api, weight):
    url = f"/api/v1/weights/{weight.uuid}"
    etag = nurse_api.get(url)["ETag"]
    body = {"effective_date": "2026-05-20", "value": 63, "unit": "kg"}
    assert (
        patch(nurse_api, url, body, HTTP_IF_MATCH=f' , "other", , {etag}').status_code == 200
    )  # RFC 9110 5.6.1
