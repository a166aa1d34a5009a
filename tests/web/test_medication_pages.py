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
    form = client.get(new_url(patient)).content.decode()
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
