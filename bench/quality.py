"""Benchmark of the quality report (issue 16): `make bench` (or `.venv/bin/python bench/quality.py [COURSES]`;
on PostgreSQL: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/quality.py`).

Builds COURSES (default 5,000) synthetic courses with bench/worklist.py's recipe, their first fills spread
over the year before the last 65 days (so that twelve months each hold first fills, windows filled and lost,
and labs), in a throwaway database (SQLite, or a database of its own on the PostgreSQL server of
DATABASE_URL). Then times:

- the first replay of every course (once: after an upgrade of the engine or a change of the practice's
  policy, or the first report ever), in this process, and its cost per course;
- the nightly job's part (``quality.refresh_outcomes`` for the next day: the outcomes whose replay could
  change by then);
- the report of the last 12 months once the outcomes are kept: the year's measures for every group
  (``report_rows``) and the 12 months' trend, from kept outcomes (the target: under 5 s);
- the same right after a write to one patient's records (that course replayed again);
- the figures CSV "as recorded then" (``quality.measures_table(as_recorded=True)``: every course replayed from
  the records as they stood at the period's end, nothing kept; no target: how long the download takes);
- the dashboard page (GET /quality/, the last 30 days): its first look (its figures computed from the kept
  outcomes and kept, ``QualityFigures``), then once computed (the target: under 1 s), then right after a
  write (the figures computed again: a write moves the fingerprint they are kept under).

Prints plain figures; exits 1 if a target is missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from worklist import COURSES, DAY, TODAY, build, setup_django, throwaway_database, timed  # noqa: E402

TARGETS_MS = {"year report": 5000.0, "dashboard": 1000.0}
YEAR_DAYS = 330  # first fills spread over the 330 days before the last 65: a year of history


def main() -> int:
    with throwaway_database() as database:
        setup_django(database)
        print(f"database: {database.split('://')[0]}")
        from django.db import connection
        from django.test import Client
        from django.urls import NoReverseMatch, reverse

        from isotrack.clinic import quality
        from isotrack.clinic.actions.visits import record_visit
        from isotrack.clinic.models import Course, QualityOutcome, StaffUser
        from isotrack.clinic.worklist import refresh_for_the_day

        started = time.perf_counter()
        nurse = build(COURSES, spread_days=YEAR_DAYS)
        print(f"built {COURSES} courses over a year in {time.perf_counter() - started:.1f} s")
        nurse = StaffUser.objects.select_related("practice").get(pk=nurse.pk)
        practice = nurse.practice
        refresh_for_the_day(practice, TODAY)  # the worklist's lines: the outcomes' generations
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

        first_ms, _, _ = timed(lambda: quality.outcomes(practice, TODAY), repeat=1)
        kept = QualityOutcome.objects.filter(practice=practice).count()
        print(f"first replay of every course: {first_ms / 1000:.1f} s for {kept} courses "
              f"({first_ms / max(kept, 1):.2f} ms a course)")  # fmt: skip

        nightly_ms, _, replayed = timed(lambda: quality.refresh_outcomes(practice, TODAY + DAY), repeat=1)
        print(f"nightly replay for the next day: {nightly_ms / 1000:.1f} s, {replayed} courses replayed "
              f"({100 * replayed / max(kept, 1):.1f} %)")  # fmt: skip

        periods = quality.month_periods(TODAY, 12)
        year = (periods[0][0], TODAY)

        def year_report() -> tuple[int, int]:
            rows = quality.report_rows(practice, *year)
            months = quality.trend(practice, periods)
            return len(rows), len(months)

        figures: dict[str, float] = {}
        p50, p95, (rows, months) = timed(year_report, repeat=5)
        lost = [m.windows.lost for m in quality.trend(practice, periods)]
        print(f"report of the last 12 months ({rows} rows, every group) and its {months} months' trend, "
              f"from kept outcomes: p50 {p50:.0f} ms, p95 {p95:.0f} ms")  # fmt: skip
        print(f"windows lost by month: {lost}")
        figures["year report"] = p95

        course = Course.objects.select_related("patient").order_by("id")[COURSES // 2]
        record_visit(actor=nurse, course=course, day=TODAY - 3 * DAY)
        after_ms, _, _ = timed(year_report, repeat=1)
        print(f"the same report right after a write to one patient's records: {after_ms:.0f} ms")

        as_recorded_ms, _, table = timed(
            lambda: quality.measures_table(practice, TODAY - 29 * DAY, TODAY, as_recorded=True), repeat=1
        )
        print(f"figures CSV with each figure as recorded at the period's end (every course replayed, nothing "
              f"kept): {as_recorded_ms / 1000:.1f} s, {len(table) - 1} rows")  # fmt: skip

        try:
            url = reverse("quality")
        except NoReverseMatch:
            url = None
        if url is None:
            print("dashboard page: not built yet (no URL named 'quality')")
        else:
            client = Client()
            client.force_login(StaffUser.objects.filter(practice=practice, role="prescriber").first())
            computing_ms, _, response = timed(lambda: client.get(url), repeat=1)
            assert response.status_code == 200, response.status_code
            print(f"dashboard page (GET {url}, the last 30 days), computing its figures from kept outcomes: "
                  f"{computing_ms:.0f} ms")  # fmt: skip
            page_p50, page_p95, response = timed(lambda: client.get(url), repeat=10)
            assert response.status_code == 200, response.status_code
            print(f"dashboard page, figures kept: p50 {page_p50:.0f} ms, p95 {page_p95:.0f} ms")
            figures["dashboard"] = page_p95
            record_visit(actor=nurse, course=course, day=TODAY - 2 * DAY)
            again_ms, _, response = timed(lambda: client.get(url), repeat=1)
            assert response.status_code == 200, response.status_code
            print(f"dashboard page right after a write to one patient's records (one course replayed, the "
                  f"figures computed again): {again_ms:.0f} ms")  # fmt: skip

        missed = [name for name, target in TARGETS_MS.items() if figures.get(name, 0) > target]
        for name in missed:
            print(f"MISSED: {name} {figures[name]:.0f} ms > {TARGETS_MS[name]:.0f} ms")
        return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
