"""A patient's contact details and consent to reminders, changed by staff on a page of their own: shown as
they are, saved audited, a bad address refused beside its field."""

from __future__ import annotations

import re

import pytest

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_staff_change_a_patients_email_and_consent_to_reminders(client, nurse, patient):
    client.force_login(nurse)
    url = f"/patients/{patient.uuid}/contact/"
    assert f'href="{url}"' in client.get(f"/patients/{patient.uuid}/").content.decode()
    form = client.get(url).content.decode()
    assert 'name="email" value' not in form and "checked" not in form  # none on record: nothing shown as one
    response = client.post(
        url,
        {"gender": "unknown", "email": "avery@example.org", "phone": "555-0100", "reminders_consent": "on"},
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.email, patient.phone, patient.reminders_consent) == (
        "avery@example.org",
        "555-0100",
        True,
    )
    event = AuditEvent.objects.get(action=EventCode.PATIENT_CONTACT)
    assert (
        event.actor == nurse and event.before["email"] == "" and event.after["email"] == "avery@example.org"
    )
    page = client.get(f"/patients/{patient.uuid}/").content.decode()
    assert "avery@example.org" in page and "agrees to reminders" in page
    again = client.get(url).content.decode()
    assert 'value="avery@example.org"' in again and re.search(r'name="reminders_consent"[^>]*checked', again)


def test_a_bad_email_is_refused_beside_its_field_and_nothing_saved(client, nurse, patient):
    client.force_login(nurse)
    response = client.post(f"/patients/{patient.uuid}/contact/", {"email": "not an address"})
    assert response.status_code == 422 and b'id="id_email-error"' in response.content
    patient.refresh_from_db()
    assert patient.email == "" and not AuditEvent.objects.filter(action=EventCode.PATIENT_CONTACT).exists()


def test_an_auditor_may_not_change_them(client, auditor, patient):
    client.force_login(auditor)
    assert client.post(f"/patients/{patient.uuid}/contact/", {"email": "x@example.org"}).status_code == 403
    assert b"/contact/" not in client.get(f"/patients/{patient.uuid}/").content
