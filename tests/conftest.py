"""Named personas shared by the Django tests: a prescriber and a nurse of one practice, its auditor and front
desk, and an outsider (a prescriber of another practice) who must never see the first practice's records.

The clock: every test runs on ``TODAY`` (noon in New York, ``NOW``), whatever the real date, so that records
dated in 2026 stay plausible (nothing after today, a course start at most two years back) for as long as the
suite lives. The seam is the clinic's clock (``isotrack.clinic.queries.now``: the practices' days); a test
that needs another day sets it itself (``clinic_clock``).
"""

from __future__ import annotations

import io
import os
import socket
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command

from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_ipledge_entry
from isotrack.clinic.actions.patients import record_contraception, record_weight, register_patient
from isotrack.clinic.models import Course, Patient, Practice, Role, StaffUser
from isotrack.demo.generator import DemoPractice

PASSWORD = "correct-horse-battery-staple"
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # noon in the practices' time zone (America/New_York)


def clinic_clock(instant: datetime) -> mock._patch:  # type: ignore[type-arg]
    """A context manager that sets the clinic's clock to ``instant``."""
    return mock.patch("isotrack.clinic.queries.now", return_value=instant)


@pytest.fixture(scope="session", autouse=True)
def clock():
    """The clinic's clock, for the whole session (module fixtures and the live server's thread too)."""
    with clinic_clock(NOW):
        yield NOW


@pytest.fixture(scope="session", autouse=True)
def flush_lifts_the_audit_triggers():
    """Django empties the database after each transactional test (a live server's, ``transaction=True``): on
    PostgreSQL with TRUNCATE, which row triggers do not see; on SQLite with DELETE, which the audit log's
    append-only triggers refuse. For the tests only, SQLite's flush drops those triggers, deletes, and makes
    them again (the same statements as the migration), so every test still runs with them in place."""
    from django.db import connection

    from isotrack.audit import chain

    if connection.vendor == "postgresql":
        with _flush_as_the_owner(connection):
            yield
        return
    operations = type(connection.ops)
    plain = operations.sql_flush

    def sql_flush(self, style, tables, **options):
        statements = plain(self, style, tables, **options)
        tables_of_chains = [each.table for each in chain.CHAINS if each.table in tables]
        lift = [s for table in tables_of_chains for s in chain.drop_triggers("sqlite", table)]
        put_back = [s for table in tables_of_chains for s in chain.triggers("sqlite", table)]
        return [*lift, *statements, *put_back]

    with mock.patch.object(operations, "sql_flush", sql_flush):
        yield


@contextmanager
def _flush_as_the_owner(connection):
    """When the suite connects as the app's least-privilege role (``ISOTRACK_TEST_DB_OWNER`` set by .ci/run),
    the role may not TRUNCATE: the flush after each transactional test runs as the database's owner, on a
    connection of its own; the tests themselves run as the role."""
    owner = os.environ.get("ISOTRACK_TEST_DB_OWNER")
    if not owner:
        yield
        return
    import psycopg

    def execute_sql_flush(self, sql_list):
        params = self.connection.settings_dict
        with psycopg.connect(
            host=params["HOST"],
            port=params["PORT"] or 5432,
            dbname=params["NAME"],
            user=owner,
            autocommit=True,
        ) as db:
            for statement in sql_list:
                db.execute(statement)

    with mock.patch.object(type(connection.ops), "execute_sql_flush", execute_sql_flush):
        yield


@contextmanager
def migrating_as_the_owner(connection):
    """Migrations run as the database's owner (docs/operations.md): when the suite connects as the app's
    least-privilege role (``ISOTRACK_TEST_DB_OWNER``), a test that migrates connects as the owner meanwhile
    (transactional tests only: the connection is closed and opened again)."""
    owner = os.environ.get("ISOTRACK_TEST_DB_OWNER")
    if not owner:
        yield
        return
    role = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = owner
    try:
        yield
    finally:
        # As the owner must after every migrate (docs/operations.md): tables the migration made again are
        # the owner's, with no grant for the app's role until it is granted again.
        call_command("grant_app_role", role, stdout=io.StringIO())
        connection.close()
        connection.settings_dict["USER"] = role


def make_staff(practice: Practice, username: str, role: str) -> StaffUser:
    user = StaffUser(
        username=username, practice=practice, role=role, first_name=username.title(), last_name="Synthetic"
    )
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def practice(db):
    return Practice.objects.create(name="Alder Dermatology (test)")


@pytest.fixture
def other_practice(db):
    return Practice.objects.create(name="Birch Skin Clinic (test)")


@pytest.fixture
def prescriber(practice):
    return make_staff(practice, "prescriber", Role.PRESCRIBER)


@pytest.fixture
def nurse(practice):
    return make_staff(practice, "nurse", Role.NURSE)


@pytest.fixture
def front_desk(practice):
    return make_staff(practice, "frontdesk", Role.FRONT_DESK)


@pytest.fixture
def auditor(practice):
    return make_staff(practice, "auditor", Role.AUDITOR)


@pytest.fixture
def outsider(other_practice):
    return make_staff(other_practice, "outsider", Role.PRESCRIBER)


@pytest.fixture
def patient(prescriber):
    return register_patient(
        actor=prescriber,
        mrn="T-0001",
        given_name="Avery",
        family_name="Testperson",
        birth_date=date(2004, 3, 1),
        category="can_get_pregnant",
        ipledge_id="9900000001",
    )


@pytest.fixture
def weight(nurse, patient):
    return record_weight(
        actor=nurse, patient=patient, effective_date=date(2026, 5, 20), value=Decimal("62.0"), unit="kg"
    )


@pytest.fixture
def methods(nurse, patient):
    """The patient's two contraception methods in use since 2026-04-01 (IPL-CON-2)."""
    return [
        record_contraception(actor=nurse, patient=patient, method=m, start=date(2026, 4, 1))
        for m in ("iud_copper", "male_condom")
    ]


@pytest.fixture
def course(prescriber, patient):
    """A course from 2026-06-01, 40 mg/day, its patient enrolled in iPLEDGE on 2026-05-01."""
    course = start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=date(2026, 6, 1),
        mg_per_day=Decimal(40),
        product="conventional",
    )
    record_ipledge_entry(actor=prescriber, course=course, kind="enrollment", day=date(2026, 5, 1))
    return course


# A real browser for the page tests: Playwright driving Debian's Chromium (installed by .ci/run). One per test
# session: two sync Playwright instances cannot live in one thread.
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' ORM calls are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium); .ci/run does"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


# ---------------------------------------------------------------- a real SMTP server on loopback (aiosmtpd)


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


def reread(demo: DemoPractice) -> DemoPractice:
    """A demo built once for a module, as a test finds it: every object read again from the database, so that
    what one test changed on an object (and its savepoint rolled back) is not what the next test holds."""
    courses = Course.objects.in_bulk([c.pk for listed in demo.courses.values() for c in listed])
    staff = StaffUser.objects.in_bulk([user.pk for user in demo.staff.values()])
    practices = Practice.objects.in_bulk([demo.practice.pk, demo.pinned_practice.pk])
    for user in staff.values():
        user.practice = practices[user.practice_id]  # one object per practice, as build_demo gives them
    return DemoPractice(
        practice=practices[demo.practice.pk],
        pinned_practice=practices[demo.pinned_practice.pk],
        staff={name: staff[user.pk] for name, user in demo.staff.items()},
        courses={key: [courses[c.pk] for c in listed] for key, listed in demo.courses.items()},
        awaiting_category=(
            Patient.objects.get(pk=demo.awaiting_category.pk) if demo.awaiting_category is not None else None
        ),
    )
