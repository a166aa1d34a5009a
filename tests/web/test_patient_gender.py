"""The patient's administrative gender (FHIR Patient.gender): chosen by staff at registration, with nothing
chosen for them; changed on the details page, audited; in the API; apart from the iPLEDGE category; the
patients registered before it are "unknown" (migration 0021)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import AdministrativeGender, Patient
from tests.api.conftest import TokenClient, token_for
from tests.conftest import migrating_as_the_owner

NEW_PATIENT = {"mrn": "G-0001", "given_name": "Sky", "family_name": "Example", "birth_date": "2004-05-06"}


def gender_options(page: str) -> list[str]:
    """The gender select's options, each as rendered (value and whether it is selected)."""
    select = re.search(r'<select name="gender"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, "no gender field"
    return re.findall(r"<option[^>]*>", select.group(1))


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["patient_new", "enroll"])
def test_the_registration_forms_ask_for_the_gender_with_none_chosen(client, front_desk, url):
    client.force_login(front_desk)
    options = gender_options(client.get(reverse(url)).content.decode())
    assert options[0] == '<option value="" selected>' or options[0] == '<option value="">'
    assert [re.search(r'value="([^"]*)"', o).group(1) for o in options] == ["", *AdministrativeGender.values]
    assert not any("selected" in option for option in options[1:])  # nothing chosen for staff
    refused = client.post(reverse(url), NEW_PATIENT)
    assert refused.status_code == 422 and "gender" in refused.context["form"].errors
    assert not Patient.objects.filter(mrn="G-0001").exists()
    saved = client.post(reverse(url), NEW_PATIENT | {"gender": "female"})
    assert saved.status_code == 302
    patient = Patient.objects.get(mrn="G-0001")
    assert patient.gender == "female" and patient.category == ""  # the gender never sets the category
    page = client.get(reverse("patient", kwargs={"patient_id": patient.uuid})).content.decode()
    assert "Gender <small" in page and "Female" in page


@pytest.mark.django_db
def test_a_gender_outside_fhirs_codes_is_refused_beside_its_field(client, front_desk):
    client.force_login(front_desk)
    refused = client.post(reverse("patient_new"), NEW_PATIENT | {"gender": "mostly"})
    assert refused.status_code == 422 and "gender" in refused.context["form"].errors


@pytest.mark.django_db
def test_staff_change_the_gender_on_the_details_page_audited(client, nurse, patient):
    assert patient.gender == "unknown"  # registered without one (an import, the API): nobody said
    client.force_login(nurse)
    url = reverse("patient_contact", kwargs={"patient_id": patient.uuid})
    options = gender_options(client.get(url).content.decode())
    assert [o for o in options if "selected" in o] == ['<option value="unknown" selected>']  # as recorded
    assert client.post(url, {"gender": "male", "email": "", "phone": ""}).status_code == 302
    patient.refresh_from_db()
    assert patient.gender == "male"
    event = AuditEvent.objects.get(action=EventCode.PATIENT_CONTACT)
    assert (event.before["gender"], event.after["gender"]) == ("unknown", "male")


@pytest.mark.django_db
def test_the_api_takes_and_gives_the_gender(prescriber):
    api = TokenClient(token_for(prescriber))
    payload = {"mrn": "G-1", "given_name": "A", "family_name": "B", "birth_date": "2004-02-02"}
    given = api.post("/api/v1/patients", json.dumps(payload | {"gender": "other"}), "application/json")
    assert given.status_code == 201 and given.json()["gender"] == "other"
    unsaid = api.post("/api/v1/patients", json.dumps(payload | {"mrn": "G-2"}), "application/json")
    assert unsaid.status_code == 201 and unsaid.json()["gender"] == "unknown"  # left out: not stated
    bad = api.post(
        "/api/v1/patients", json.dumps(payload | {"mrn": "G-3", "gender": "f"}), "application/json"
    )
    assert bad.status_code == 422 and not Patient.objects.filter(mrn="G-3").exists()
    patient = Patient.objects.get(mrn="G-2")
    url = f"/api/v1/patients/{patient.uuid}"
    etag = api.get(url)["ETag"]
    changed = api.patch(url, json.dumps({"gender": "female"}), "application/json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and changed.json()["gender"] == "female"


@pytest.mark.django_db(transaction=True)
def test_the_patients_registered_before_the_gender_are_unknown():
    with migrating_as_the_owner(connection):
        executor = MigrationExecutor(connection)
        before, after = ("clinic", "0020_identifier_and_note_limits"), ("clinic", "0021_patient_gender")
        executor.migrate([before])
        old = executor.loader.project_state([before]).apps
        practice = old.get_model("clinic", "Practice").objects.create(name="Before (test)")
        old.get_model("clinic", "Patient").objects.create(
            practice=practice, mrn="OLD-1", given_name="A", family_name="B", birth_date=date(2000, 1, 1)
        )
        executor = MigrationExecutor(connection)
        executor.migrate([after])
        assert Patient.objects.get(mrn="OLD-1").gender == "unknown"
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
