"""The practice import's time: `make bench` (or `.venv/bin/python bench/practice_import.py`; `DATABASE_URL` as
for bench/worklist.py: a throwaway database on that server, or a temporary SQLite file).

Times the preview and the import of a file of 30 mid-course patients and of the largest file a practice
may import (at most MAX_ROWS courses and MAX_RECORDS records), each row a course up to six months under way
with monthly tests, confirmations, answers and fills. The target: the largest file's preview and its import
each well within gunicorn's 30-second request timeout (at most 20 s), since the Import page runs them in a
request. Exits 1 if either misses it.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import worklist as recipe  # bench/worklist.py: the throwaway database, Django's setup

TARGET_SECONDS = 20.0


def rows(count: int, today) -> str:  # noqa: ANN001 -- a date
    """``count`` synthetic mid-course patients, every monthly step on time."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["mrn", "given_name", "family_name", "birth_date", "category", "prescriber", "start", "product"]
    header += ["doses", "weights", "contraception", "enrolled", "pregnancy_tests", "prescriber_confirmations"]
    header += ["patient_attestations", "fills", "labs"]
    writer.writerow(header)
    for n in range(count):
        start = today - timedelta(days=30 + n % 150)  # up to six months under way
        first_fill, fills, tests, confirmations, answers = start - timedelta(days=2), [], [], [], []
        fill = first_fill
        while fill <= today:
            test = fill - timedelta(days=2)
            tests.append(f"{test} {'confirmation' if fill == first_fill else 'monthly'} lab negative")
            confirmations.append(str(test))
            answers.append(str(test + timedelta(days=1)))
            fills.append(f"{fill} 30")
            fill += timedelta(days=30)
        baseline = start - timedelta(days=20)
        writer.writerow(
            [
                f"BENCH{count}-{n:05d}",
                "Bench",
                f"Imported{n}",
                "2002-02-02",
                "can_get_pregnant",
                "dr1",
                start,
                "conventional",
                f"{start} 40",
                f"{baseline} 61 kg",
                f"{start - timedelta(days=60)} iud_copper; {start - timedelta(days=60)} male_condom",
                start - timedelta(days=50),
                f"{start - timedelta(days=45)} screening office negative; " + "; ".join(tests),
                "; ".join(confirmations),
                "; ".join(answers),
                "; ".join(fills),
                f"{baseline} triglycerides 130 mg/dL; {baseline} alt 20 U/L",
            ]
        )
    return out.getvalue()


def main() -> int:
    with recipe.throwaway_database() as database:
        recipe.setup_django(database)
        from isotrack.clinic import models as m
        from isotrack.clinic.imports.practice import (
            MAX_RECORDS,
            MAX_ROWS,
            import_practice,
            read_csv,
            records_in,
        )
        from isotrack.clinic.queries import practice_today

        practice = m.Practice.objects.create(name="Bench Dermatology", time_zone="America/New_York")
        for username, role in (("dr1", "prescriber"), ("admin", "practice_admin")):
            m.StaffUser.objects.create(username=username, practice=practice, role=role)
        admin = m.StaffUser.objects.get(username="admin")
        today = practice_today(practice)
        worst, most, total = 0.0, 0, 0  # the most rows (at most MAX_ROWS) whose records fit MAX_RECORDS
        for _, cells in read_csv(rows(MAX_ROWS, today))[0]:  # rows(k) is the first k of these
            if total + records_in(cells) > MAX_RECORDS:
                break
            most, total = most + 1, total + records_in(cells)
        for count in (30, most):
            content = rows(count, today)
            figures = []
            for confirm in (False, True):
                started = time.perf_counter()
                report = import_practice(actor=admin, content=content, confirm=confirm)
                figures.append(time.perf_counter() - started)
                assert not report.problems and len(report.courses) == count, report.problems[:3]
            worst = max(worst, *figures) if count == most else worst
            total = sum(records_in(cells) for _, cells in read_csv(content)[0])
            size = f"{count} rows, {total} records ({len(content):,} bytes)"
            print(f"{size}: preview {figures[0]:.1f} s, import {figures[1]:.1f} s")
    print(
        f"the largest file: the slower of preview and import {worst:.1f} s (target <= {TARGET_SECONDS:.0f} s)"
    )
    if worst > TARGET_SECONDS:
        print("target missed")
        return 1
    print("target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
