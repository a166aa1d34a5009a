"""Nothing with a patient's data or a secret is kept by a browser or a cache: every page, API and FHIR answer
says `no-store` (issue 14, item 7)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db


def test_every_page_and_api_answer_with_patient_data_or_a_secret_says_no_store(
    nurse, patient, course, weight
):
    browser = Client()
    browser.force_login(nurse)
    api = TokenClient(token_for(nurse))
    answers = {
        "worklist": browser.get("/"),
        "patient page": browser.get(f"/patients/{patient.uuid}/"),
        "course page": browser.get(f"/courses/{course.uuid}/"),
        "a new token's secret": browser.post(
            "/api/v1/tokens", {"name": "EHR"}, content_type="application/json"
        ),
        "API patients": api.get("/api/v1/patients"),
        "API course": api.get(f"/api/v1/courses/{course.uuid}"),
        "FHIR everything": api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything"),
        "login page": Client().get("/login/"),
    }
    for name, response in answers.items():
        assert response.status_code in (200, 201, 302), (name, response.status_code)
        assert "no-store" in response["Cache-Control"], name
    assert "token" in answers["a new token's secret"].json()
