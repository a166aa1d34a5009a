"""Writes the JSON API needs that the pages do not have yet, in the pattern of `actions`: the acting user as a
keyword, the role and practice checked first, one transaction, an audit row with before and after."""

from __future__ import annotations

from isotrack.audit.trail import snapshot
from isotrack.clinic.access import Capability, require
from isotrack.clinic.actions import _check_practice, _validated_save, action, record
from isotrack.clinic.models import Patient, StaffUser


@action
def update_patient_contact(
    *,
    actor: StaffUser,
    patient: Patient,
    email: str | None = None,
    phone: str | None = None,
    reminders_consent: bool | None = None,
) -> Patient:
    """The patient's e-mail, phone and consent to reminders; values left as None stay as they are."""
    require(actor, Capability.REGISTER_PATIENTS)
    _check_practice(actor, patient)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    before = snapshot(patient)
    if email is not None:
        patient.email = email.strip()
    if phone is not None:
        patient.phone = phone.strip()
    if reminders_consent is not None:
        patient.reminders_consent = reminders_consent
    _validated_save(patient)
    after = snapshot(patient)
    if after != before:
        record(
            actor=actor,
            action="patient.contact",
            instance=patient,
            patient=patient,
            before=before,
            after=after,
        )
    return patient
