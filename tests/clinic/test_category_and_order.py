"""Only a prescriber assigns the iPLEDGE category (IPL-CAT): a patient registered at the front desk waits
on the worklist until one does. iPLEDGE steps recorded out of order are refused, naming the step that
comes first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_ipledge_entry
from isotrack.clinic.actions.patients import register_patient, set_patient_category
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import IpledgeEntry


def register(actor, **changes):
    values = (
        dict(mrn="T-0100", given_name="Rowan", family_name="Sample", birth_date=date(2003, 1, 5)) | changes
    )
    return register_patient(actor=actor, **values)


def test_the_front_desk_registers_a_patient_without_a_category_and_cannot_set_one(front_desk):
    with pytest.raises(InvalidInput) as error:
        register(front_desk, category="cannot_get_pregnant")
    assert error.value.field == "category" and "Only a prescriber" in error.value.message
    patient = register(front_desk)
    assert (patient.category, patient.category_set_by, patient.category_set_at) == ("", None, None)


def test_a_prescriber_assigns_the_category_the_first_time_without_a_reason_and_it_is_audited(
    front_desk, prescriber
):
    patient = register(front_desk)
    set_patient_category(actor=prescriber, patient=patient, category="can_get_pregnant", reason="")
    patient.refresh_from_db()
    assert (patient.category, patient.category_set_by) == ("can_get_pregnant", prescriber)
    event = AuditEvent.objects.get(action=EventCode.PATIENT_CATEGORY)
    assert event.after["category"] == "can_get_pregnant" and event.reason == "assigned by the prescriber"
    with pytest.raises(InvalidInput, match="Say why the category changes"):
        set_patient_category(actor=prescriber, patient=patient, category="cannot_get_pregnant", reason="")


def test_no_course_starts_before_the_category_is_assigned(front_desk, prescriber):
    patient = register(front_desk)
    with pytest.raises(InvalidInput, match="Assign the patient's iPLEDGE category first"):
        start_course(
            actor=prescriber,
            patient=patient,
            prescriber=prescriber,
            start=date(2026, 11, 20),
            mg_per_day=Decimal(40),
        )


def test_the_worklist_lists_patients_waiting_for_their_category(client, front_desk, prescriber, nurse):
    patient = register(front_desk)
    client.force_login(nurse)
    page = client.get(reverse("home")).content.decode()
    assert 'data-testid="awaiting-category"' in page and str(patient.uuid) in page
    assert reverse("patient_category", args=[patient.uuid]) not in page  # a nurse does not assign it
    client.force_login(prescriber)
    page = client.get(reverse("home")).content.decode()
    assert reverse("patient_category", args=[patient.uuid]) in page
    response = client.post(reverse("patient_category", args=[patient.uuid]), {"category": "can_get_pregnant"})
    assert response.status_code == 302
    assert 'data-testid="awaiting-category"' not in client.get(reverse("home")).content.decode()


def test_the_registration_form_shows_the_category_to_prescribers_only(client, front_desk, prescriber):
    client.force_login(front_desk)
    assert "category" not in client.get(reverse("patient_new")).context["form"].fields
    client.force_login(prescriber)
    field = client.get(reverse("patient_new")).context["form"].fields["category"]
    assert not field.required and field.choices[0] == ("", "To be assigned by a prescriber")


def test_an_ipledge_step_out_of_order_is_refused_on_the_page_naming_the_step_that_comes_first(
    client, nurse, prescriber, patient
):
    course = start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=date(2026, 6, 1),
        mg_per_day=Decimal(40),
    )
    client.force_login(nurse)
    url = reverse("course_ipledge_entry", args=[course.uuid])
    form = client.get(url).context["form"]
    response = client.post(
        url, {"kind": "patient_attestation", "date": "2026-11-30", "confirmation_number": ""}
    )
    assert response.status_code == 422
    assert response.context["form"].errors["kind"] == [
        "Enrollment in iPLEDGE comes first: record it before this step (IPL-ENROLL)."
    ]
    assert "kind" in form.fields
    record_ipledge_entry(actor=nurse, course=course, kind="enrollment", day=date(2026, 5, 1))
    response = client.post(
        url, {"kind": "patient_attestation", "date": "2026-11-30", "confirmation_number": ""}
    )
    assert response.status_code == 422
    assert "comes first" in response.context["form"].errors["kind"][0]
    assert not IpledgeEntry.objects.filter(course=course, kind="patient_attestation").exists()
