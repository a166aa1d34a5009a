"""Enrollment: the category, the course with its first dose, the iPLEDGE enrollment and a starting weight, all
or nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from isotrack.clinic.access import Capability, require
from isotrack.clinic.actions.base import (
    Section,
    action,
    check_practice,
)
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_ipledge_entry
from isotrack.clinic.actions.patients import record_weight, set_patient_category
from isotrack.clinic.actions.visits import VisitWeight
from isotrack.clinic.models import (
    Course,
    Patient,
    Role,
    StaffUser,
)


@action
def enroll_in_course(
    *,
    actor: StaffUser,
    patient: Patient,
    prescriber: StaffUser,
    category: str,
    start: date,
    mg_per_day: Decimal,
    product: str,
    enrollment_date: date,
    brand: str = "",
    target_mg_per_kg: Decimal | None = None,
    confirmation_number: str = "",
    weight: VisitWeight | None = None,
    strength_mg: int | None = None,
) -> Course:
    """IPL-CAT and enrollment: the prescriber assigns the category (kept with who and when), opens the course
    with its first dose and records the iPLEDGE enrollment, with a starting weight: all or nothing."""
    require(actor, Capability.PRESCRIBE)
    check_practice(actor, patient)
    set_by = patient.category_set_by
    set_by_prescriber = set_by is not None and set_by.role == Role.PRESCRIBER
    if category != patient.category or not set_by_prescriber:
        set_patient_category(
            actor=actor, patient=patient, category=category, reason="assigned by the prescriber at enrollment"
        )
    if weight is not None:
        with Section("weight"):
            record_weight(
                actor=actor,
                patient=patient,
                effective_date=enrollment_date,
                value=weight.value,
                unit=weight.unit,
            )
    course = start_course(
        actor=actor,
        patient=patient,
        prescriber=prescriber,
        start=start,
        mg_per_day=mg_per_day,
        product=product,
        brand=brand,
        strength_mg=strength_mg,
        target_mg_per_kg=target_mg_per_kg,
    )
    with Section("enrollment"):
        record_ipledge_entry(
            actor=actor,
            course=course,
            kind="enrollment",
            day=enrollment_date,
            confirmation_number=confirmation_number.strip(),
        )
    return course
