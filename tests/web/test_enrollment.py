"""Enrollment in two screens: the patient, then the prescriber's course and iPLEDGE enrollment."""

from __future__ import annotations

import pytest
from django.urls import reverse

from isotrack.clinic.models import Course, IpledgeEntry, Patient, Weight

PATIENT = {
    "mrn": "T-0300",
    "given_name": "Quinn",
    "family_name": "Sample",
    "birth_date": "2005-02-03",
    "gender": "female",
    "category": "can_get_pregnant",
}


def course_step(patient):
    return reverse("enroll_course", kwargs={"patient_id": patient.uuid})


def course_data(prescriber, **changes):
    return {
        "category": "can_get_pregnant",
        "prescriber": prescriber.pk,
        "start": "2026-06-01",
        "target_mg_per_kg": "150",
        "dose_mg_per_day": "40",
        "dose_product": "conventional",
        "weight_value": "140",
        "weight_unit": "lb",
        "enrollment_date": "2026-04-01",
        "confirmation_number": "E-77",
    } | changes


def test_a_prescriber_enrolls_a_patient_in_two_screens_and_lands_on_the_course(client, prescriber):
    client.force_login(prescriber)
    response = client.post(reverse("enroll"), PATIENT)
    patient = Patient.objects.get(mrn="T-0300")
    assert response.status_code == 302 and response["Location"] == course_step(patient)
    page = client.get(course_step(patient)).content.decode()
    assert 'name="target_mg_per_kg"' in page and 'name="target_mg_per_kg" value' not in page  # none offered
    assert "Empty: the practice&#x27;s target, 150.0 mg/kg today" in page
    response = client.post(course_step(patient), course_data(prescriber, target_mg_per_kg=""))
    course = Course.objects.get(patient=patient)
    assert course.target_mg_per_kg is None
    assert response.status_code == 302 and response["Location"] == reverse("course", args=[course.uuid])
    assert IpledgeEntry.objects.get(course=course, kind="enrollment").confirmation_number == "E-77"
    assert str(Weight.objects.get(patient=patient).kg) == "63.50"


def test_the_front_desk_registers_and_the_prescriber_continues(client, front_desk, prescriber):
    client.force_login(front_desk)
    response = client.post(reverse("enroll"), PATIENT)
    patient = Patient.objects.get(mrn="T-0300")
    assert response["Location"] == reverse("patient", kwargs={"patient_id": patient.uuid})
    assert client.get(course_step(patient)).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weight_value": "900"}, "weight_value"),
        ({"weight_value": ""}, "weight_value"),
        ({"dose_mg_per_day": "0"}, "dose_mg_per_day"),
        ({"target_mg_per_kg": "20"}, "target_mg_per_kg"),
        ({"start": ""}, "start"),
    ],
)
def test_bad_input_shows_beside_its_field_and_saves_nothing(client, prescriber, patient, changes, field):
    client.force_login(prescriber)
    response = client.post(course_step(patient), course_data(prescriber, **changes))
    assert response.status_code == 422
    assert f'id="id_{field}-error"' in response.content.decode()
    assert not Course.objects.exists() and not Weight.objects.exists()


def test_a_duplicate_mrn_shows_beside_the_mrn(client, prescriber, patient):
    client.force_login(prescriber)
    response = client.post(reverse("enroll"), PATIENT | {"mrn": patient.mrn})
    assert response.status_code == 422
    assert 'id="id_mrn-error"' in response.content.decode()


def test_an_outsider_gets_404_and_an_auditor_403(client, outsider, auditor, prescriber, patient):
    client.force_login(outsider)
    assert client.get(course_step(patient)).status_code == 404
    assert client.post(course_step(patient), course_data(prescriber)).status_code == 404
    client.force_login(auditor)
    assert client.get(reverse("enroll")).status_code == 403
    assert client.post(course_step(patient), course_data(prescriber)).status_code == 403
    assert not Course.objects.exists()


def test_a_course_that_started_over_six_months_ago_is_saved_with_a_warning(client, prescriber, patient):
    client.force_login(prescriber)
    data = {
        "category": "can_get_pregnant",
        "prescriber": prescriber.pk,
        "start": "2026-03-02",
        "target_mg_per_kg": "150",
        "dose_product": "conventional",
        "dose_mg_per_day": "40",
        "enrollment_date": "2026-02-20",
        "weight_value": "62",
        "weight_unit": "kg",
    }
    response = client.post(course_step(patient), data, follow=True)
    page = response.content.decode()
    assert "Enrolled: the course and its first dose are saved." in page
    assert "This course started more than six months ago (2026-03-02): check the date." in page
