"""Benchmark of the worklist: `make bench` (or `.venv/bin/python bench/worklist.py [COURSES]`; or the
environment: `COURSES=50000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench`).

Builds COURSES (default 5,000) synthetic active courses in a throwaway database: SQLite by default, or, when
DATABASE_URL names a PostgreSQL server, a database of its own created there and dropped after. Bulk-created
rows (a patient who can get pregnant or not, up to three monthly cycles of iPLEDGE entries, tests and fills,
baseline and peak labs, doses, weights and contraception, spread over a month so that the next steps vary),
then times:

- the page (a logged-in GET of /, middleware and template included) once the day's lines are stored: the
  target, under 300 ms server time;
- the page right after a write (the patient's lines judged again);
- the day's first read when `isotrack refresh-worklist` did not run (every listed line judged), and the first
  read of a database with no stored lines (once, after the upgrade that adds them).

Prints plain figures; exits 1 if the target is missed.
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

TARGET_MS = 300.0
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


def build(count: int):  # noqa: PLR0915 -- one straight recipe
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
        first_fill = TODAY - (65 + n % 25) * DAY
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


def timed(call, repeat: int = 7) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


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


def main() -> int:
    with throwaway_database() as database:
        setup_django(database)
        print(f"database: {database.split('://')[0]}")
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from isotrack.clinic import actions
        from isotrack.clinic.models import Course, StaffUser
        from isotrack.clinic.worklist import WorklistFilters, refresh, worklist

        started = time.perf_counter()
        nurse = build(COURSES)
        print(f"built {COURSES} active courses in {time.perf_counter() - started:.1f} s")
        nurse = StaffUser.objects.select_related("practice").get(pk=nurse.pk)
        practice = nurse.practice

        first_ms, found = timed(lambda: worklist(nurse, WorklistFilters(), today=TODAY), repeat=1)
        print(f"first read with no stored lines (once, after the upgrade): {first_ms:.0f} ms, "
              f"{found.total} lines")  # fmt: skip
        steps = {}
        for line in found.lines:
            steps[line.step_code] = steps.get(line.step_code, 0) + 1
        print(f"next steps on the first page: {dict(sorted(steps.items()))}")

        new_days = []
        for offset in (1, 2, 3):  # the day's first read when the nightly refresh did not run
            new_day = TODAY + offset * DAY
            ms, _ = timed(lambda day=new_day: worklist(nurse, WorklistFilters(), today=day), repeat=1)
            new_days.append(ms)
        print("a new day's first read without `isotrack refresh-worklist`: "
              f"median {statistics.median(new_days):.0f} ms")  # fmt: skip
        nightly_ms, judged = timed(lambda: refresh(practice, TODAY), repeat=1)
        print(f"`isotrack refresh-worklist` for the day: {nightly_ms:.0f} ms, {judged} lines judged")

        read_ms, found = timed(lambda: worklist(nurse, WorklistFilters(), today=TODAY))
        print(f"worklist read, lines stored (queries + ranking, {found.total} lines): "
              f"median {read_ms:.0f} ms")  # fmt: skip

        client = Client()
        client.force_login(nurse)
        client.get("/")
        page_ms, response = timed(lambda: client.get("/"))
        assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get("/")
        print(f"worklist page (GET /, {len(response.content) // 1024} KiB): median {page_ms:.0f} ms, "
              f"{len(queries)} queries (target < {TARGET_MS:.0f} ms)")  # fmt: skip

        courses = iter(Course.objects.order_by("id")[:7])

        def after_a_write():
            actions.record_visit(actor=nurse, course=next(courses), day=TODAY)
            started = time.perf_counter()
            response = client.get("/")
            assert response.status_code == 200
            return (time.perf_counter() - started) * 1000

        after = statistics.median(after_a_write() for _ in range(7))
        print(f"worklist page right after a write (the patient's lines judged again): median {after:.0f} ms")
    if page_ms >= TARGET_MS:
        print("target missed")
        return 1
    print("target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
