"""Every form reports all of its errors at once, beside the fields: the core's plausibility problems come in
the same round as a missing field, not after it is fixed."""

from __future__ import annotations

from django.urls import reverse

from tests.web.test_saved_once import visit_form
from tests.web.test_visit import visit_url


def test_registration_reports_a_missing_name_and_a_birth_date_in_the_future_together(client, front_desk):
    client.force_login(front_desk)
    response = client.post(
        reverse("patient_new"), {"mrn": "T-0900", "family_name": "", "birth_date": "2031-01-01"}
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) >= {"given_name", "family_name", "birth_date"}
    assert "after today" in errors["birth_date"][0]


def test_enrollment_reports_an_implausible_start_dose_and_weight_with_a_missing_field(
    client, prescriber, patient
):
    client.force_login(prescriber)
    url = reverse("enroll_course", args=[patient.uuid])
    response = client.post(
        url,
        {
            "category": "can_get_pregnant",
            "prescriber": str(prescriber.pk),
            "start": "1990-01-01",
            "target_mg_per_kg": "150",
            "dose_product": "conventional",
            "dose_mg_per_day": "999",
            "weight_value": "900",
            "weight_unit": "kg",
            "enrollment_date": "",
        },
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) == {"start", "dose_mg_per_day", "weight_value", "enrollment_date"}, errors


def test_the_visit_reports_a_date_in_the_future_and_an_absurd_lab_with_a_missing_result(
    client, nurse, course, methods
):
    client.force_login(nurse)
    data = visit_form(client, course, date="2027-03-01", lab_0_test="triglycerides", lab_0_value="99999")
    data |= {"lab_0_unit": "U/L", "pregnancy_test_result": ""}
    response = client.post(visit_url(course), data)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert {"date", "lab_0_unit", "pregnancy_test_result"} <= set(errors), errors
