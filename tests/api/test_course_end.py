"""PATCH /api/v1/courses/{id}: a course stopped early says why (``stop_reason``), one that ends as planned
does not; a missing or unknown reason is a 422 problem naming the field; the course shows its reason."""

from __future__ import annotations

import json

import pytest

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import CourseStatus

PROBLEM = "application/problem+json"


def _patch(client, course, body):
    url = f"/api/v1/courses/{course.uuid}"
    etag = client.get(url)["ETag"]
    return client.patch(url, json.dumps(body), content_type="application/json", HTTP_IF_MATCH=etag)


def test_a_course_shows_no_reason_until_it_is_stopped_with_one(prescriber_api, course):
    assert prescriber_api.get(f"/api/v1/courses/{course.uuid}").json()["stop_reason"] is None
    answer = _patch(
        prescriber_api, course, {"end": "2026-09-30", "stopped": True, "stop_reason": "side_effects"}
    )
    assert answer.status_code == 200, answer.content
    assert (answer.json()["status"], answer.json()["stop_reason"]) == ("revoked", "side_effects")
    assert prescriber_api.get(f"/api/v1/courses/{course.uuid}").json()["stop_reason"] == "side_effects"
    listed = prescriber_api.get(f"/api/v1/patients/{course.patient.uuid}/courses").json()
    assert listed[0]["stop_reason"] == "side_effects"
    course.refresh_from_db()
    assert course.stop_reason == "side_effects"
    assert AuditEvent.objects.get(action=EventCode.COURSE_STOP).after["stop_reason"] == "side_effects"


def test_a_course_that_ends_as_planned_has_no_reason(prescriber_api, course):
    answer = _patch(prescriber_api, course, {"end": "2026-09-30"})
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["stop_reason"]) == ("completed", None)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"end": "2026-09-30", "stopped": True}, "stop_reason", "Choose why the course is stopped"),
        ({"end": "2026-09-30", "stopped": True, "stop_reason": None}, "stop_reason", "Choose why"),
        ({"end": "2026-09-30", "stop_reason": "patient_choice"}, "stop_reason", "ends as planned"),
        ({"end": "2026-09-30", "stopped": True, "stop_reason": "bored"}, "stop_reason", ""),
        ({"end": "2026-09-30", "stopped": True, "stop_reason": ""}, "stop_reason", ""),
    ],
)
def test_a_missing_unknown_or_unasked_reason_is_a_422_problem_and_nothing_changes(
    prescriber_api, course, body, field, words
):
    answer = _patch(prescriber_api, course, body)
    assert answer.status_code == 422 and answer["Content-Type"] == PROBLEM
    document = answer.json()
    fields = {document.get("field")} | {error["field"] for error in document.get("errors", [])}
    assert field in fields, document
    assert words in document["detail"] or any(words in e["message"] for e in document.get("errors", []))
    course.refresh_from_db()
    assert (course.status, course.end, course.stop_reason) == (CourseStatus.DRAFT, None, "")


def test_a_nurse_cannot_stop_a_course(nurse_api, course):
    answer = _patch(nurse_api, course, {"end": "2026-09-30", "stopped": True, "stop_reason": "other"})
    assert answer.status_code == 403
    course.refresh_from_db()
    assert course.end is None


def test_the_openapi_document_lists_the_reasons(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    patch = schemas["CourseEndPatch"]["properties"]["stop_reason"]
    text = json.dumps(patch) + json.dumps(schemas.get("StopReason", {}))
    for code in ("positive_test", "side_effects", "patient_choice", "lost_to_follow_up", "other"):
        assert code in text
    assert "stop_reason" in schemas["CourseOut"]["required"]
