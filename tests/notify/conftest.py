"""Fixtures of the calendar and reminder tests: an active course dated around the practice's today, and the
application's clock set to the day a demo was built for (the real SMTP server is tests/conftest.py's)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from isotrack.clinic import queries
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_lab_result, record_pregnancy_test
from isotrack.clinic.queries import practice_today
from isotrack.demo.generator import DEMO_TIME_ZONE

DEMO_TODAY = date(2026, 11, 25)  # the day the demo of the calendar tests is built for


@pytest.fixture
def active_course(prescriber, nurse, patient, weight, course):
    """The `course` fixture made active around the practice's today: enrolled, tested, first fill 10 days ago,
    a monthly test today; the projected end comes from the dose (no end set)."""
    today = practice_today(patient.practice)
    first_fill = today - timedelta(days=10)
    course.start = first_fill + timedelta(days=1)
    course.save(update_fields=["start"])
    course.dose_segments.update(starts_on=course.start)
    record_ipledge_entry(actor=prescriber, course=course, kind="enrollment", day=first_fill - timedelta(40))
    for day, purpose in (
        (first_fill - timedelta(30), "screening"),
        (first_fill - timedelta(2), "confirmation"),
    ):
        record_pregnancy_test(
            actor=nurse, course=course, purpose=purpose, setting="lab", specimen_date=day, result="negative"
        )
    for test, value, unit in (("triglycerides", "120", "mg/dL"), ("alt", "20", "U/L")):
        record_lab_result(
            actor=nurse,
            course=course,
            test=test,
            effective_date=first_fill - timedelta(20),
            value=Decimal(value),
            unit=unit,
        )
    record_dispense(actor=nurse, course=course, day=first_fill, days_supply=30, mg_per_day=Decimal(40))
    course.refresh_from_db()
    return course


@pytest.fixture
def demo_clock(monkeypatch):
    """The application's clock at noon of DEMO_TODAY where the demo practices are, so that pages and feeds
    (which read `practice_today`) plan from the day the demo was built for. Returns that day."""
    noon = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day, 12, tzinfo=ZoneInfo(DEMO_TIME_ZONE))
    monkeypatch.setattr(queries, "now", lambda: noon.astimezone(UTC))
    return DEMO_TODAY


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """One demo per test module, built for DEMO_TODAY, rolled back at the module's end."""
    from django.db import transaction

    from isotrack.demo.generator import MAIN_SITUATIONS, build_demo

    with django_db_blocker.unblock(), transaction.atomic():
        demo = build_demo(patients=len(MAIN_SITUATIONS), today=DEMO_TODAY)
        yield demo
        transaction.set_rollback(True)


@pytest.fixture
def demo(built, db):
    """The module's demo; what a test writes is rolled back after it."""
    return built
