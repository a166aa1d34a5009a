"""The reads of the monthly visit, dose change and enrollment pages (scoped by the course or patient that
access.py already checked)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from isotrack.clinic import dose_planning
from isotrack.clinic.models import (
    Contraception,
    Course,
    Patient,
    Practice,
    Role,
    StaffUser,
)
from isotrack.clinic.queries import practice_today


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


def default_test_purpose(course: Course) -> str:
    """Before the first fill a test qualifies for it: the screening test first (IPL-PT-SCREEN), then the
    confirmation test (IPL-PT-CONFIRM); afterwards the monthly test (IPL-PT-MONTH)."""
    if course.dispenses.exists():
        return "monthly"
    screened = course.pregnancy_tests.filter(purpose="screening", result="negative")
    return "confirmation" if screened.exists() else "screening"


def visit_page(course: Course) -> dict[str, Any]:
    """What the visit form shows beside its fields: the day, the dose in effect, the methods in use."""
    practice = course.patient.practice
    today = practice_today(practice)
    segment = dose_planning.current_segment(course, today)
    line = dose_planning.product_line_of(segment)
    return {
        "course": course,
        "patient": course.patient,
        "today": today,
        "segment": segment,
        "product_line": line,
        "product_label": dose_planning.PRODUCT_LINES[line][0],
        "methods_in_use": list(methods_in_use(course.patient, today)),
        "staff": staff_of(practice),
        "test_purpose": default_test_purpose(course),
    }
