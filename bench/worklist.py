"""Benchmark of the worklist: `make bench` (or `.venv/bin/python bench/worklist.py [COURSES]`; or the
environment: `COURSES=50000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench`).

Builds COURSES (default 5,000) synthetic active courses in a throwaway database: SQLite by default, or, when
DATABASE_URL names a PostgreSQL server, a database of its own created there and dropped after. Bulk-created
rows (a patient who can get pregnant or not, up to three monthly cycles of iPLEDGE entries, tests and fills,
baseline and peak labs, doses, weights and contraception, spread over a month so that the next steps vary),
then times, each as p50/p95 and as a ratio to a trivial logged-in page of the same run (the empty form for a
new patient: login, session, middleware and the base template):

- the worklist page (a logged-in GET of /) once the day's lines are stored;
- its last page (keyset pagination: as fast as the first);
- the page right after a write (the patient's lines judged again);
- a new day's first page when `isotrack refresh-worklist` did not run (the lines whose change date came);
- `isotrack refresh-worklist` after three nights it did not run, then on three nights each after a night it
  ran (the target: the nightly job as it runs, with its default ``--workers``);
- the first judgment of every line (once, after the upgrade that stores change dates);
- the page with its look written to the access log and without (alternating rounds; issue 14: within 5 %).

Targets (issue 12, at 50,000 courses on PostgreSQL): stored page p95 < 150 ms, after a write < 200 ms, the
day's first page < 1 s, refresh-worklist < 3 s, the last page within 1.5x the first. Prints plain figures;
exits 1 if a target is missed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

TARGETS_MS = {"page p95": 150.0, "after a write": 200.0, "new day": 1000.0, "refresh-worklist": 3000.0}
ACCESS_LOG_RATIO = 1.05  # the worklist page with its look written, against the page without (issue 14)
COURSES = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("COURSES", "5000"))
SERVER = os.environ.get("DATABASE_URL", "")  # a PostgreSQL server to bench on (its own throwaway database)
TODAY = dt.datetime.now(ZoneInfo("America/New_York")).date()  # the bench practice's today, as the page's
DAY = dt.timedelta(days=1)


def setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isotrack.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(count: int, spread_days: int = 25):  # noqa: PLR0915 -- one straight recipe
    """The bench practice: ``count`` courses whose first fills fall on ``spread_days`` days before the last
    65 (bench/quality.py spreads them over a year)."""
    from django.utils import timezone

    from isotrack.clinic import models as m

    practice = m.Practice.objects.create(name="Bench Dermatology", time_zone="America/New_York")
    staff = []
    for username, role in (
        ("dr1", "prescriber"),
        ("dr2", "prescriber"),
        ("dr3", "prescriber"),
        ("rn", "nurse"),
    ):
        user = m.StaffUser(username=username, practice=practice, role=role, first_name=username.upper())
        user.set_unusable_password()
        user.save()
        staff.append(user)
    nurse, now = staff[-1], timezone.now()
    patients = m.Patient.objects.bulk_create(
        m.Patient(
            practice=practice,
            mrn=f"B-{n:06d}",
            given_name="Bench",
            family_name=f"Patient{n:05d}",
            birth_date=dt.date(2000, 1, 1),
            ipledge_id=f"99{n:08d}",
            category="can_get_pregnant" if n % 3 else "cannot_get_pregnant",
            category_set_by=staff[0],
            category_set_at=now,
        )
        for n in range(count)
    )
    recorded = {"recorded_by": nurse}
    courses, rows = [], {name: [] for name in ("dose", "entry", "test", "dispense", "lab", "visit", "mood")}
    weights, methods = [], []
    for n, patient in enumerate(patients):
        first_fill = TODAY - (65 + n % spread_days) * DAY
        courses.append(
            m.Course(patient=patient, prescriber=staff[n % 3], status="active", start=first_fill + DAY)
        )
        weights.append(m.Weight(patient=patient, effective_date=first_fill - 30 * DAY, kg=Decimal(62),
                                entered_value=Decimal(62), **recorded))  # fmt: skip
        if patient.category == "can_get_pregnant":
            for method in ("iud_copper", "male_condom"):
                methods.append(m.Contraception(patient=patient, method=method, start=first_fill - 90 * DAY,
                                               **recorded))  # fmt: skip
    courses = m.Course.objects.bulk_create(courses)
    for n, course in enumerate(courses):
        cgp = course.patient.category == "can_get_pregnant"
        first_fill = course.start - DAY
        rows["dose"] += [
            m.DoseSegment(course=course, starts_on=course.start, mg_per_day=Decimal(40), **recorded),
            m.DoseSegment(
                course=course, starts_on=course.start + 30 * DAY, mg_per_day=Decimal(60), **recorded
            ),
        ]
        rows["entry"].append(m.IpledgeEntry(course=course, kind="enrollment", date=first_fill - 30 * DAY,
                                            **recorded))  # fmt: skip
        if cgp:
            rows["test"].append(m.PregnancyTest(course=course, purpose="screening", setting="office",
                                                specimen_date=first_fill - 25 * DAY, result="negative",
                                                **recorded))  # fmt: skip
        for test in ("triglycerides", "cholesterol", "alt", "ast"):
            unit = "U/L" if test in ("alt", "ast") else "mg/dL"
            for lab_day in (first_fill - 20 * DAY, first_fill + (60 + n % 5) * DAY):  # baseline and peak
                if lab_day < TODAY - (n % 4) * DAY:
                    rows["lab"].append(m.LabResult(course=course, test=test, effective_date=lab_day,
                                                   value=Decimal(90), unit=unit, **recorded))  # fmt: skip
        for month in range(3):
            fill = first_fill + 30 * month * DAY
            test_day = fill - 2 * DAY
            if cgp:
                purpose = "monthly" if month else "confirmation"
                rows["test"].append(m.PregnancyTest(course=course, purpose=purpose, setting="lab",
                                                    specimen_date=test_day, result="negative",
                                                    **recorded))  # fmt: skip
                rows["entry"] += [
                    m.IpledgeEntry(course=course, kind="prescriber_confirmation", date=test_day, **recorded),
                    m.IpledgeEntry(
                        course=course, kind="patient_attestation", date=test_day + DAY, **recorded
                    ),
                ]
            if fill < TODAY - (n % 7) * DAY:
                rows["dispense"].append(m.Dispense(course=course, date=fill, days_supply=30, **recorded))
            rows["visit"].append(m.Visit(course=course, date=test_day, **recorded))
            rows["mood"].append(
                m.MoodScreen(course=course, date=test_day, instrument="phq2", score=1, **recorded)
            )
    m.Weight.objects.bulk_create(weights)
    m.Contraception.objects.bulk_create(methods)
    tables = {"dose": m.DoseSegment, "entry": m.IpledgeEntry, "test": m.PregnancyTest, "dispense": m.Dispense,
              "lab": m.LabResult, "visit": m.Visit, "mood": m.MoodScreen}  # fmt: skip
    for name, model in tables.items():
        model.objects.bulk_create(rows[name], batch_size=5000)
    return staff[-1]


def timed(call, repeat: int = 7) -> tuple[float, float, object]:
    """The median and the 95th percentile of ``repeat`` calls, in ms, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], result


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """The database URL to bench on: a temporary SQLite file, or a new database on the PostgreSQL server of
    DATABASE_URL (created here, dropped after)."""
    if not SERVER.startswith("postgres"):
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    import psycopg

    name = f"isotrack_bench_{os.getpid()}"
    base = SERVER.rsplit("/", 1)[0]
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def main() -> int:  # noqa: PLR0915 -- one straight recipe
    with throwaway_database() as database:
        setup_django(database)
        print(f"database: {database.split('://')[0]}")
        from unittest import mock

        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from isotrack.audit.models import AccessEvent
        from isotrack.clinic import worklist as clinic_worklist
        from isotrack.clinic.actions.visits import record_visit
        from isotrack.clinic.management.commands.refresh_worklist import default_workers
        from isotrack.clinic.models import Course, StaffUser, WorklistEntry
        from isotrack.clinic.worklist import refresh_for_the_day

        started = time.perf_counter()
        nurse = build(COURSES)
        print(f"built {COURSES} active courses in {time.perf_counter() - started:.1f} s")
        nurse = StaffUser.objects.select_related("practice").get(pk=nurse.pk)
        practice = nurse.practice

        # As the command runs it: its default number of worker processes (PostgreSQL; one on SQLite).
        workers = default_workers()
        print(f"`isotrack refresh-worklist` runs with --workers {workers} (its default on this machine)")
        first_ms, _, judged = timed(lambda: refresh_for_the_day(practice, TODAY, workers=workers), repeat=1)
        print(f"first judgment of every line (once, after the upgrade): {first_ms / 1000:.1f} s, "
              f"{judged} lines")  # fmt: skip
        if connection.vendor == "postgresql":  # what autovacuum does after a bulk load (stats, visibility)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

        client = Client()
        client.force_login(nurse)
        client.get("/")
        client.get("/patients/new/")
        figures: dict[str, float] = {}
        trivial_p50, trivial_p95, _ = timed(lambda: client.get("/patients/new/"), repeat=40)
        page_p50, page_p95, response = timed(lambda: client.get("/"), repeat=40)
        assert response.status_code == 200 and b"Next page" in response.content
        last_p50, last_p95, last = timed(lambda: client.get("/?last=1"), repeat=40)
        assert last.status_code == 200 and b"Previous page" in last.content
        with CaptureQueriesContext(connection) as captured:
            client.get("/")

        def ratio(ms: float) -> str:
            return f"{ms / trivial_p50:.1f}x the trivial page"

        print(f"trivial logged-in page (GET /patients/new/): p50 {trivial_p50:.0f} ms, "
              f"p95 {trivial_p95:.0f} ms")  # fmt: skip
        print(f"worklist page, lines stored (GET /, {len(response.content) // 1024} KiB, {len(captured)} "
              f"queries): p50 {page_p50:.0f} ms, p95 {page_p95:.0f} ms, {ratio(page_p50)}")  # fmt: skip
        print(f"worklist last page (GET /?last=1): p50 {last_p50:.0f} ms, p95 {last_p95:.0f} ms, "
              f"{ratio(last_p50)}")  # fmt: skip
        figures["page p95"] = page_p95

        # The access log's cost (issue 14: within 5 %): the same page with its look written and without,
        # one request of each in turn (300 pairs) so that both see the same machine from moment to moment. A
        # client keeps the middleware it first ran with: the quiet one is made without the access log's.
        from django.conf import settings
        from django.test import override_settings

        unlogged = [name for name in settings.MIDDLEWARE if not name.endswith("AccessLogMiddleware")]
        with override_settings(MIDDLEWARE=unlogged):
            quiet = Client()
            quiet.force_login(nurse)
            quiet.get("/")
        looks_before = AccessEvent.objects.count()
        logged_times, quiet_times = [], []
        for _ in range(300):
            logged_times.append(timed(lambda: client.get("/"), repeat=1)[0])
            quiet_times.append(timed(lambda: quiet.get("/"), repeat=1)[0])
        assert AccessEvent.objects.count() == looks_before + 300  # one look per logged page, none unlogged
        with_log, without_log = statistics.median(logged_times), statistics.median(quiet_times)
        access_ratio = with_log / without_log
        print(f"worklist page with its look written to the access log: p50 {with_log:.1f} ms; without: "
              f"{without_log:.1f} ms ({100 * (access_ratio - 1):+.1f} %, 300 pairs)")  # fmt: skip

        courses = iter(Course.objects.order_by("id")[:15])

        def after_a_write():
            record_visit(actor=nurse, course=next(courses), day=TODAY)
            started = time.perf_counter()
            response = client.get("/")
            assert response.status_code == 200
            return (time.perf_counter() - started) * 1000

        writes = sorted(after_a_write() for _ in range(15))
        after_p50, after_p95 = statistics.median(writes), writes[-1]
        print(f"worklist page right after a write: p50 {after_p50:.0f} ms, p95 {after_p95:.0f} ms, "
              f"{ratio(after_p50)}")  # fmt: skip
        figures["after a write"] = after_p95

        listed = WorklistEntry.objects.filter(practice=practice, listed=True).count()
        new_days = []
        for offset in (1, 2, 3):  # the day's first page when the nightly refresh did not run
            new_day = TODAY + offset * DAY
            due = WorklistEntry.objects.filter(practice=practice, changes_on__lte=new_day).count()
            with mock.patch.object(clinic_worklist, "practice_today", lambda _practice, day=new_day: day):
                ms, _, response = timed(lambda: client.get("/"), repeat=1)
            assert response.status_code == 200
            new_days.append(ms)
            print(f"  day +{offset}: {due} of {listed} lines' change date came ({100 * due / listed:.1f} %), "
                  f"first page {ms:.0f} ms")  # fmt: skip
        new_day_ms = statistics.median(new_days)
        print(f"a new day's first page without `isotrack refresh-worklist`: median {new_day_ms:.0f} ms, "
              f"{ratio(new_day_ms)}")  # fmt: skip
        figures["new day"] = max(new_days)

        # The nightly job after three nights it did not run (the pages judged the lines, no calendar was read:
        # three days of plans to catch up), then on the nights after, as it runs every night (the target).
        catch_up_ms, _, judged = timed(
            lambda: refresh_for_the_day(practice, TODAY + 4 * DAY, workers=workers), repeat=1
        )
        print(f"`isotrack refresh-worklist` after three nights without it: {catch_up_ms:.0f} ms, {judged} "
              f"courses judged, {ratio(catch_up_ms)}")  # fmt: skip
        nights = []
        for offset in (5, 6, 7):
            night = TODAY + offset * DAY
            ms, _, judged = timed(
                lambda day=night: refresh_for_the_day(practice, day, workers=workers), repeat=1
            )
            nights.append(ms)
            print(f"  night +{offset}: {judged} courses judged in {ms:.0f} ms")
        nightly_ms = max(nights)
        print(f"`isotrack refresh-worklist` on the nights after a night it ran: max {nightly_ms:.0f} ms, "
              f"{ratio(nightly_ms)}")  # fmt: skip
        figures["refresh-worklist"] = nightly_ms
    missed = [name for name, ms in figures.items() if ms >= TARGETS_MS[name]]
    if last_p50 > 1.5 * page_p50:
        missed.append("last page as fast as the first")
    if access_ratio > ACCESS_LOG_RATIO:
        missed.append(f"the access log within {100 * (ACCESS_LOG_RATIO - 1):.0f} %")
    if COURSES < 50_000 or not SERVER.startswith("postgres"):
        print("(the targets are set for 50,000 courses on PostgreSQL; checked here all the same)")
    print("targets missed: " + ", ".join(missed) if missed else "targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
