"""The reads of the monthly visit, dose change and enrollment pages (scoped by the course or patient that
access.py already checked)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from isotrack import core
from isotrack.clinic import dose_planning
from isotrack.clinic.models import (
    Contraception,
    Course,
    DoseSegment,
    OtherMedication,
    Patient,
    Practice,
    Role,
    StaffUser,
)
from isotrack.clinic.queries import alert_banner, practice_today
from isotrack.clinic.records import course_facts
from isotrack.core import plausibility


def staff_of(practice: Practice) -> QuerySet[StaffUser]:
    """Who may verify a pregnancy test: active clinical staff of the practice."""
    return StaffUser.objects.filter(
        practice=practice, is_active=True, role__in=[Role.PRESCRIBER, Role.NURSE]
    ).order_by("last_name", "first_name")


def prescribers_of(practice: Practice) -> QuerySet[StaffUser]:
    return StaffUser.objects.filter(practice=practice, is_active=True, role=Role.PRESCRIBER).order_by(
        "last_name", "first_name"
    )


def methods_in_use(patient: Patient, day: date) -> QuerySet[Contraception]:
    """IPL-CON-2: the methods in use on the day."""
    return patient.contraception.filter(start__lte=day).filter(Q(end__isnull=True) | Q(end__gte=day))


def medications_in_use(patient: Patient, day: date) -> QuerySet[OtherMedication]:
    """The other medicines and supplements taken on the day (MED-TETRA, MED-VITA, MED-INDUCER)."""
    items = patient.other_medications.filter(start__lte=day).filter(Q(end__isnull=True) | Q(end__gte=day))
    return items.order_by("start", "id")


def visit_page(course: Course, days_supply: int = dose_planning.DEFAULT_DAYS_SUPPLY) -> dict[str, Any]:
    """What the visit form shows beside its fields, as the core decides it today: the alerts (the banner), the
    prescription it proposes or why none, the test the visit collects, the dose in effect, the methods in
    use."""
    practice = course.patient.practice
    today = practice_today(practice)
    course_file = course_facts(course)
    evaluation = core.evaluate(course_file, today)
    segment = dose_planning.current_segment(course, today)
    line = dose_planning.product_line_of(segment)
    banner = alert_banner(evaluation, course.acknowledgments.select_related("recorded_by"))
    proposal = core.proposed_prescription(course_file, today, days_supply, evaluation)
    return {
        "course": course,
        "patient": course.patient,
        "today": today,
        "evaluation": evaluation,
        "banner": banner,
        "to_acknowledge": [item for item in banner if item["acknowledgeable"] and item["holds_drug"]],
        "proposal": proposal,
        "prescription_words": _prescription_words(proposal.prescription, segment),
        "segment": segment,
        "product_line": line,
        "product_label": dose_planning.PRODUCT_LINES[line][0],
        "methods_in_use": list(methods_in_use(course.patient, today)),
        "medications_in_use": list(medications_in_use(course.patient, today)),
        "staff": staff_of(practice),
        "test_purpose": core.expected_test_purpose(course_file, today, evaluation),
    }


def _prescription_words(prescription: core.Prescription | None, segment: DoseSegment | None) -> str:
    """The proposed prescription in words, with the product line staff know (Absorica LD, Absorica...)."""
    if prescription is None:
        return ""
    same_product = segment is not None and segment.product == prescription.product
    line = dose_planning.product_line_of(segment) if same_product else prescription.product
    label = dose_planning.PRODUCT_LINES[line][0] if line in dose_planning.PRODUCT_LINES else line
    mg = f"{prescription.mg_per_day:g}"
    return f"{prescription.days_supply}-day supply of {mg} mg/day, {label}"


def start_warning(course: Course) -> str | None:
    """A course that started long ago is allowed but worth a second look (core.plausibility)."""
    return plausibility.course_start_warning(course.start, practice_today(course.patient.practice))


def visit_on(course: Course, day: date) -> bool:
    """Whether a visit of the course is already recorded on the day."""
    return course.visits.filter(date=day).exists()
