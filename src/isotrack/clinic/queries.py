"""Every read that pages and the API use. Reads are scoped to the user's practice through access.py."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from isotrack.audit.models import AuditEvent
from isotrack.clinic.access import patients_of
from isotrack.clinic.models import Patient, Practice, StaffUser


def practice_today(practice: Practice) -> date:
    """Today in the practice's time zone: the one place the clinic decides what "today" is."""
    return timezone.now().astimezone(ZoneInfo(practice.time_zone)).date()


def search_patients(user: StaffUser, text: str = "") -> QuerySet[Patient]:
    patients = patients_of(user).order_by("family_name", "given_name", "mrn")
    text = text.strip()
    if text:
        patients = patients.filter(
            Q(family_name__icontains=text)
            | Q(given_name__icontains=text)
            | Q(mrn__iexact=text)
            | Q(ipledge_id__iexact=text)
        )
    return patients


def patient_page(patient: Patient) -> dict[str, object]:
    return {
        "patient": patient,
        "courses": patient.courses.select_related("prescriber").order_by("-start"),
        "weights": patient.weights.order_by("-effective_date", "-id"),
        "contraception": patient.contraception.order_by("-start"),
    }


def audit_trail(patient: Patient) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient=patient).select_related("actor").order_by("-at", "-id")
