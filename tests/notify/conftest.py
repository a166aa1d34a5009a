"""Fixtures of the calendar and reminder tests: a real SMTP server on loopback (aiosmtpd), an active course
dated around the practice's today, and the application's clock set to the day a demo was built for."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from isotrack.clinic import queries
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_lab_result, record_pregnancy_test
from isotrack.clinic.queries import practice_today
from isotrack.demo.generator import DEMO_TIME_ZONE

DEMO_TODAY = date(2026, 11, 25)  # the day the demo of the calendar tests is built for


class Inbox:
    """What the SMTP server accepted: each message as received, parsed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 and a free port; Django's SMTP backend points at it."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # pytest-django installs locmem
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


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
