"""POST /api/v1/courses/{id}/dose-segments: a dose change names why (``change_reason``, one of the core's
codes); a missing or unknown one is a 422 problem naming the field and saves nothing; the code reads back on
the segment, and a segment recorded without one (the course's first dose) reads None."""

from __future__ import annotations

import json

import pytest

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import DoseSegment

PROBLEM = "application/problem+json"
BODY = {"starts_on": "2026-07-01", "mg_per_day": 30, "product": "conventional"}


def _post(client, course, body):
    url = f"/api/v1/courses/{course.uuid}/dose-segments"
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_code_round_trips_and_the_first_dose_has_none(prescriber_api, course):
    answer = _post(prescriber_api, course, BODY | {"change_reason": "lab_result", "reason": "TG 560"})
    assert answer.status_code == 201, answer.content
    assert (answer.json()["change_reason"], answer.json()["reason"]) == ("lab_result", "TG 560")
    listed = prescriber_api.get(f"/api/v1/courses/{course.uuid}/dose-segments").json()
    assert [(s["starts_on"], s["change_reason"]) for s in listed] == [
        ("2026-06-01", None),
        ("2026-07-01", "lab_result"),
    ]
    assert DoseSegment.objects.get(course=course, starts_on="2026-07-01").change_reason == "lab_result"


def test_the_note_may_be_left_out(prescriber_api, course):
    answer = _post(prescriber_api, course, BODY | {"change_reason": "weight_change"})
    assert answer.status_code == 201, answer.content
    assert (answer.json()["change_reason"], answer.json()["reason"]) == ("weight_change", "")


def test_the_fhir_medication_request_says_why_the_dose_changed(prescriber_api, course):
    """The coded reason's words, then the note, in the narrative and the note; a coded change without a note
    still says why."""
    assert _post(prescriber_api, course, BODY | {"change_reason": "weight_change"}).status_code == 201
    segment = DoseSegment.objects.get(course=course, starts_on="2026-07-01")
    read = prescriber_api.get(f"/fhir/R4/MedicationRequest/{segment.uuid}")
    assert read.status_code == 200, read.content
    resource = read.json()
    assert resource["note"] == [{"text": "A change of weight"}]
    assert "Reason for the dose: A change of weight" in resource["text"]["div"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (BODY | {"reason": "dry lips"}, "change_reason"),
        (BODY | {"change_reason": None, "reason": "dry lips"}, "change_reason"),
        (BODY | {"change_reason": "", "reason": "dry lips"}, "change_reason"),
        (BODY | {"change_reason": "dry_lips", "reason": "dry lips"}, "change_reason"),
        (BODY | {"change_reason": "other"}, "reason"),  # another reason says which
    ],
    ids=["missing", "null", "empty", "unknown", "other without a note"],
)
def test_a_missing_or_unknown_code_is_a_422_problem_naming_the_field(prescriber_api, course, body, field):
    answer = _post(prescriber_api, course, body)
    assert answer.status_code == 422 and answer["Content-Type"] == PROBLEM
    document = answer.json()
    fields = {document.get("field")} | {error["field"] for error in document.get("errors", [])}
    assert field in fields, document
    assert DoseSegment.objects.filter(course=course).count() == 1
    assert not AuditEvent.objects.filter(action=EventCode.DOSE_CHANGE).exists()


def test_the_openapi_document_lists_the_codes(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert "change_reason" in schemas["DoseSegmentIn"]["required"]
    text = json.dumps(schemas["DoseSegmentIn"]) + json.dumps(schemas.get("DoseChangeReason", {}))
    for code in ("side_effects", "lab_result", "weight_change", "planned", "other"):
        assert code in text
    assert "change_reason" in schemas["DoseSegmentOut"]["properties"]
