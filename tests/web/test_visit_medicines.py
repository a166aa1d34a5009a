"""Other medicines at the monthly visit (issue 17, item 1): the visit form lists those taken today, none
ticked as stopped beforehand; a medicine stopped ends on the visit's day, one started since is recorded with
its first day and the class of isotrack's table, in the visit's one transaction; a half-filled or implausible
row is refused beside its field and nothing of the visit is saved. Synthetic data."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.models import OtherMedication, ReportSource, Visit
from tests.web.test_visit import routine_post, visit_url

pytestmark = pytest.mark.django_db


def test_the_visit_lists_the_medicines_taken_today_none_ticked_as_stopped_no_last_day(
    client, nurse, patient, course
):
    taken = record_medication(actor=nurse, patient=patient, name="Vitamin A", start=date(2026, 10, 1))
    record_medication(
        actor=nurse, patient=patient, name="Amoxicillin", start=date(2026, 7, 1), end=date(2026, 7, 10)
    )
    client.force_login(nurse)
    response = client.get(visit_url(course))
    form = response.context["form"]
    assert [value for value, _label in form.fields["medication_stopped"].choices] == [str(taken.uuid)]
    assert form["medication_stopped"].value() in (None, []) and form["medication_stopped_on"].value() is None
    assert all(
        form[f"medication_new_{i}_{part}"].value() in (None, "") for i in (0, 1) for part in ("name", "start")
    )
    page = response.content.decode()
    assert 'data-testid="visit-medicines"' in page and "Vitamin A" in page and "Amoxicillin" not in page


def test_a_medicine_started_since_is_recorded_and_holds_the_prescription(client, nurse, course, methods):
    client.force_login(nurse)
    response = routine_post(
        client, course, medication_new_0_name="Doxycycline", medication_new_0_start="2026-11-20"
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    item = OtherMedication.objects.get()
    assert (item.name, item.medication_class, item.start, item.end, item.source) == (
        "Doxycycline",
        "tetracycline",
        date(2026, 11, 20),
        None,
        ReportSource.CLINIC,
    )
    assert AuditEvent.objects.filter(action=EventCode.MEDICATION_RECORD, object_uuid=item.uuid).exists()
    visit = Visit.objects.get(course=course)
    assert visit.prescription is None, "MED-TETRA holds the prescription the visit would send"
    assert "MED-TETRA" in client.get(reverse("course", args=[course.uuid])).content.decode()


def test_without_the_medicine_the_same_visit_proposes_a_prescription(client, nurse, course, methods):
    """The control of the test above: its prescription is held by the medicine, not by something else."""
    client.force_login(nurse)
    assert routine_post(client, course).status_code == 302
    assert Visit.objects.get(course=course).prescription is not None


def test_a_medicine_stopped_ends_on_the_last_day_taken(client, nurse, patient, course, methods):
    taken = record_medication(actor=nurse, patient=patient, name="Vitamin A", start=date(2026, 10, 1))
    client.force_login(nurse)
    response = routine_post(
        client, course, medication_stopped=[str(taken.uuid)], medication_stopped_on="2026-11-28"
    )
    assert response.status_code == 302
    taken.refresh_from_db()
    assert taken.end == date(2026, 11, 28), "the last day taken, as the clinician typed it"
    assert AuditEvent.objects.filter(action=EventCode.MEDICATION_END, object_uuid=taken.uuid).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"medication_new_0_name": "Doxycycline"}, "medication_new_0_start"),
        ({"medication_new_1_start": "2026-11-20"}, "medication_new_1_name"),
        (
            {"medication_new_0_name": "Doxycycline", "medication_new_0_start": "2027-01-05"},
            "medication_new_0_start",
        ),
        (
            {"medication_new_0_name": "Doxycycline", "medication_new_0_start": "2001-01-05"},
            "medication_new_0_start",
        ),
        (
            {"medication_new_0_name": "Doxycycline", "medication_new_0_start": "05/11/2026"},
            "medication_new_0_start",
        ),
        ({"medication_stopped": ["00000000-0000-0000-0000-000000000000"]}, "medication_stopped"),
        ({"medication_stopped_on": "2026-11-20"}, "medication_stopped"),  # a last day, nothing ticked
        (
            {
                "date": "2026-11-25",
                "medication_new_0_name": "Doxycycline",
                "medication_new_0_start": "2026-11-30",
            },
            "medication_new_0_start",
        ),  # a back-dated visit: the medicine started after it
    ],
)
def test_a_wrong_medicine_row_is_refused_beside_its_field_and_nothing_saved(
    client, nurse, course, methods, changes, field
):
    client.force_login(nurse)
    response = routine_post(client, course, **changes)
    assert response.status_code == 422
    assert field in response.context["form"].errors, response.context["form"].errors
    assert f'id="id_{field}' in response.content.decode()
    assert not Visit.objects.exists() and not OtherMedication.all_objects.exists()


def test_another_patients_medicine_cannot_be_stopped_through_the_visit(
    client, nurse, prescriber, course, methods
):
    from isotrack.clinic.actions.patients import register_patient

    other = register_patient(
        actor=prescriber,
        mrn="T-0002",
        given_name="Blake",
        family_name="Testperson",
        birth_date=date(2003, 5, 1),
        category="cannot_get_pregnant",
    )
    theirs = record_medication(actor=nurse, patient=other, name="Vitamin A", start=date(2026, 10, 1))
    client.force_login(nurse)
    response = routine_post(client, course, medication_stopped=[str(theirs.uuid)])
    assert response.status_code == 422
    theirs.refresh_from_db()
    assert theirs.end is None and not Visit.objects.exists()


@pytest.mark.parametrize(
    ("last_day", "message"),
    [
        ("", "Say the last day the patient took it."),
        ("2026-12-02", "cannot be after"),
        ("2026-09-01", "before"),  # before its first day
    ],
)
def test_a_stopped_medicine_needs_a_plausible_last_day_beside_the_field(
    client, nurse, patient, course, methods, last_day, message
):
    taken = record_medication(actor=nurse, patient=patient, name="Vitamin A", start=date(2026, 10, 1))
    client.force_login(nurse)
    response = routine_post(
        client, course, medication_stopped=[str(taken.uuid)], medication_stopped_on=last_day
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "medication_stopped_on" in errors and message in " ".join(errors["medication_stopped_on"]), errors
    assert 'id="id_medication_stopped_on-error"' in response.content.decode()
    taken.refresh_from_db()
    assert taken.end is None and not Visit.objects.exists()


def test_a_tetracycline_stopped_before_the_visit_no_longer_holds_its_prescription(
    client, nurse, patient, course, methods
):
    doxy = record_medication(actor=nurse, patient=patient, name="Doxycycline", start=date(2026, 11, 1))
    client.force_login(nurse)
    response = routine_post(
        client, course, medication_stopped=[str(doxy.uuid)], medication_stopped_on="2026-11-29"
    )
    assert response.status_code == 302
    assert Visit.objects.get(course=course).prescription is not None


def test_at_a_back_dated_visit_the_last_day_taken_cannot_be_after_it(client, nurse, patient, course, methods):
    taken = record_medication(actor=nurse, patient=patient, name="Vitamin A", start=date(2026, 10, 1))
    client.force_login(nurse)
    response = routine_post(
        client,
        course,
        date="2026-11-25",
        pregnancy_test_specimen_date="2026-11-25",
        medication_stopped=[str(taken.uuid)],
        medication_stopped_on="2026-11-28",
    )
    assert response.status_code == 422
    assert "cannot be after the visit (2026-11-25)" in " ".join(
        response.context["form"].errors["medication_stopped_on"]
    )
    taken.refresh_from_db()
    assert taken.end is None and not Visit.objects.exists()


def test_the_action_refuses_a_medicine_day_after_the_visit_whatever_the_form(nurse, patient, course, methods):
    from isotrack.clinic.actions.visits import VisitMedicines, VisitNewMedicine, record_monthly_visit
    from isotrack.clinic.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        record_monthly_visit(
            actor=nurse,
            course=course,
            day=date(2026, 11, 25),
            medicines=VisitMedicines(started=(VisitNewMedicine("Doxycycline", date(2026, 11, 30)),)),
        )
    assert refused.value.field == "medication_new_0_start"
    assert not OtherMedication.all_objects.exists() and not Visit.objects.exists()
