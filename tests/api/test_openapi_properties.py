"""Schemathesis against the OpenAPI document: generated requests to every operation, with a valid token, on a
small database whose records the path parameters name. No server error; every response matches its schema,
its declared status codes and content types (problem documents included)."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from isotrack.clinic.actions.ipledge import record_ipledge_entry
from isotrack.clinic.actions.observations import record_lab_result
from isotrack.clinic.actions.patients import record_contraception, record_medication
from tests.api.conftest import token_for

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 6  # ~60 operations x 6 cases: a few hundred requests in well under a minute


@pytest.fixture
def small_practice(prescriber, nurse, patient, course, weight):
    """A patient with a course that has one record of most kinds, so that GETs return real content."""
    contraception = record_contraception(
        actor=nurse, patient=patient, method="iud_copper", start=date(2026, 4, 1)
    )
    medication = record_medication(actor=nurse, patient=patient, name="doxycycline", start=date(2026, 6, 10))
    record_ipledge_entry(actor=nurse, course=course, kind="enrollment", day=date(2026, 4, 1))
    record_lab_result(
        actor=nurse,
        course=course,
        test="triglycerides",
        effective_date=date(2026, 5, 20),
        value=140,
        unit="mg/dL",
    )
    return {
        "patient_uuid": str(patient.uuid),
        "course_uuid": str(course.uuid),
        "weight_uuid": str(weight.uuid),
        "contraception_uuid": str(contraception.uuid),
        "medication_uuid": str(medication.uuid),
        "token": token_for(prescriber),
    }


def api_operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    for result in schema.get_all_operations():
        operation = result.ok()
        # The lab import takes a file (CSV or FHIR JSON): tested by its own tests, not by generated bodies.
        if operation.path != "/api/v1/lab-imports":
            yield operation


@pytest.fixture
def wsgi_in_the_test_transaction():
    """As Django's test client does: requests must not close the connection that holds the test's
    transaction (on PostgreSQL that would end it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_api_answers_every_generated_request_within_its_schema(
    small_practice, wsgi_in_the_test_transaction
):
    headers = {"Authorization": f"Bearer {small_practice['token']}"}
    operations = list(api_operations())
    assert len(operations) > 40

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def answers_within_the_schema(case):
            for name in list(case.path_parameters or {}):
                if name in small_practice:
                    case.path_parameters[name] = small_practice[name]
            case.call_and_validate(headers=headers, checks=CHECKS)

        answers_within_the_schema()
