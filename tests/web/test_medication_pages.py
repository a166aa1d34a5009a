"""The patient's other medicines on the patient's page (issue 17, item 1): recorded with the class of
isotrack's table unless a clinician chooses one, ended, refused beside the field, for those who record
observations and only in their practice; the course page then shows the engine's alert. Synthetic data."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.models import OtherMedication

pytestmark = pytest.mark.django_db


def new_url(patient) -> str:
    return reverse("medication_new", kwargs={"patient_id": patient.uuid})


def test_a_nurse_records_a_tetracycline_and_the_course_page_shows_the_alert(
    client, nurse, patient, weight, methods, course
):
    client.force_login(nurse)
    page = client.get(new_url(patient))
    form = page.content.decode()
    assert all(page.context["form"][name].value() in (None, "") for name in ("start", "end")), "days: facts"
    assert 'name="medication_class"' in form and '<option value="" selected>' in form, (
        "none chosen but the table"
    )
    saved = client.post(
        new_url(patient), {"name": "Doxycycline", "start": "2026-06-10", "medication_class": ""}
    )
    assert saved.status_code == 302
    item = OtherMedication.objects.get()
    assert (item.name, item.medication_class, item.end) == ("Doxycycline", "tetracycline", None)
    assert AuditEvent.objects.filter(action=EventCode.MEDICATION_RECORD, object_uuid=item.uuid).exists()
    page = client.get(reverse("patient", kwargs={"patient_id": patient.uuid})).content.decode()
    assert 'data-class="tetracycline"' in page and "Tetracycline antibiotic" in page
    course_page = client.get(reverse("course", kwargs={"course_id": course.uuid})).content.decode()
    assert "MED-TETRA" in course_page
    assert "Doxycycline (tetracycline antibiotic): 2026-06-10 to ongoing" in course_page


def test_a_chosen_class_is_kept_and_the_medicine_is_ended(client, nurse, patient):
    client.force_login(nurse)
    client.post(
        new_url(patient),
        {"name": "topical minocycline foam", "start": "2026-06-10", "medication_class": "other"},
    )
    item = OtherMedication.objects.get()
    assert item.medication_class == "other"
    url = reverse("medication_end", kwargs={"medication_id": item.uuid})
    assert client.post(url, {"end": "2026-07-01"}).status_code == 302
    item.refresh_from_db()
    assert item.end == date(2026, 7, 1)
    assert AuditEvent.objects.filter(action=EventCode.MEDICATION_END, object_uuid=item.uuid).exists()


@pytest.mark.parametrize(
    ("posted", "field"),
    [
        ({"name": "", "start": "2026-06-10"}, "name"),
        (
            {"name": "doxycycline", "start": "2026-06-10", "medication_class": "antibiotic"},
            "medication_class",
        ),
        ({"name": "doxycycline", "start": "2026-06-10", "end": "2026-06-01"}, "end"),
        ({"name": "doxycycline", "start": "2031-01-01"}, "start"),
    ],
)
def test_a_wrong_medicine_is_refused_beside_its_field_and_nothing_saved(
    client, nurse, patient, posted, field
):
    client.force_login(nurse)
    refused = client.post(new_url(patient), posted)
    assert refused.status_code == 422
    assert field in refused.context["form"].errors, refused.context["form"].errors
    assert not OtherMedication.all_objects.exists()


def test_the_front_desk_and_another_practice_cannot_record_one(client, front_desk, outsider, nurse, patient):
    client.force_login(front_desk)
    assert client.post(new_url(patient), {"name": "doxycycline", "start": "2026-06-10"}).status_code == 403
    client.force_login(outsider)
    assert client.post(new_url(patient), {"name": "doxycycline", "start": "2026-06-10"}).status_code == 404
    item = record_medication(actor=nurse, patient=patient, name="retinol", start=date(2026, 6, 1))
    url = reverse("medication_end", kwargs={"medication_id": item.uuid})
    assert client.post(url, {"end": "2026-07-01"}).status_code == 404
    assert OtherMedication.objects.get().end is None


def test_from_the_course_page_a_medicine_is_recorded_and_ended_and_the_form_returns_there(
    client, nurse, patient, course
):
    client.force_login(nurse)
    course_url = reverse("course", kwargs={"course_id": course.uuid})
    page = client.get(course_url).content.decode()
    record_url = f"{new_url(patient)}?course={course.uuid}"
    assert f'href="{record_url}"' in page
    form = client.get(record_url).content.decode()
    assert f'href="{course_url}">Cancel' in form
    saved = client.post(record_url, {"name": "Vitamin A", "start": "2026-11-02"})
    assert (saved.status_code, saved["Location"]) == (302, course_url)
    item = OtherMedication.objects.get()
    end_url = f"{reverse('medication_end', kwargs={'medication_id': item.uuid})}?course={course.uuid}"
    assert f'href="{end_url}"' in client.get(course_url).content.decode()
    ended = client.post(end_url, {"end": "2026-11-20"})
    assert (ended.status_code, ended["Location"]) == (302, course_url)
    item.refresh_from_db()
    assert item.end == date(2026, 11, 20)


@pytest.mark.parametrize("asked", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "other"])
def test_a_course_not_of_this_patient_sends_the_form_back_to_the_patient_page(
    client, nurse, patient, course, outsider, asked
):
    if asked == "other":  # another practice's course, its id known
        from isotrack.clinic.actions.courses import start_course
        from isotrack.clinic.actions.patients import register_patient

        stranger = register_patient(
            actor=outsider,
            mrn="X-1",
            given_name="Casey",
            family_name="Testperson",
            birth_date=date(2001, 1, 1),
            category="cannot_get_pregnant",
        )
        asked = str(
            start_course(
                actor=outsider, patient=stranger, prescriber=outsider, start=date(2026, 6, 1), mg_per_day=40
            ).uuid
        )
    client.force_login(nurse)
    saved = client.post(f"{new_url(patient)}?course={asked}", {"name": "Vitamin A", "start": "2026-11-02"})
    assert (saved.status_code, saved["Location"]) == (
        302,
        reverse("patient", kwargs={"patient_id": patient.uuid}),
    )
