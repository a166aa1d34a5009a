"""`isotrack refresh-worklist`: judge every practice's worklist lines for the new day (run after midnight).

Each stored line holds until the day the core's answer changes; this judges the lines whose day came (a few
percent a day) and adds a line for any course that has none. Without it the day's first worklist page judges
them itself; with it that page reads stored lines like every other. Safe to run at any time, twice, or from
several machines: a line already current is left alone. It also replays the courses whose kept outcome for
the quality report is stale and computes the dashboard's default period (isotrack.clinic.quality), so that
the day's first report reads kept ones. Prints
counts only (no patient data), then each practice's audit chain head (`isotrack audit-head`), so that the
job's log keeps one a day.

On PostgreSQL the lines are judged by ``--workers`` processes at once (default: the machine's cores, at most
``MAX_WORKERS``), each with a connection of its own; SQLite takes one writer at a time, so one process there.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import CommandError, CommandParser

from isotrack.audit.chain import heads as audit_heads
from isotrack.clinic.imports.practice import forget_expired_previews
from isotrack.clinic.inputs import whole_number
from isotrack.clinic.management.arguments import HyphenatedCommand, today_option
from isotrack.clinic.models import Practice
from isotrack.clinic.quality import refresh_figures, refresh_outcomes
from isotrack.clinic.queries import practice_today
from isotrack.clinic.worklist import refresh_for_the_day

MAX_WORKERS = 8  # each a database connection: a default that leaves the app processes theirs


class Command(HyphenatedCommand):
    help = "Judge every practice's worklist lines for today, so the day's first page load need not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            default=None,
            help="the day to judge for (default: today in each practice's time zone)",
        )
        parser.add_argument(
            "--workers",
            default=None,
            help=f"processes judging at once on PostgreSQL (default: the cores, at most {MAX_WORKERS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = today_option(options["today"])
        workers = _workers(options["workers"])
        total = 0
        practices = list(Practice.objects.order_by("id"))
        replayed = 0
        for practice in practices:
            total += refresh_for_the_day(practice, today, workers=workers)
            day = today or practice_today(practice)
            replayed += refresh_outcomes(practice, day)
            refresh_figures(practice, day)  # the dashboard's default period, ahead of the day's first look
        forget_expired_previews()  # the Import page's previewed files past their day (patients' data)
        self.stdout.write(f"judged {total} worklist line(s) in {len(practices)} practice(s)")
        self.stdout.write(f"replayed {replayed} course(s) for the quality report")
        for head in audit_heads():  # the job's log keeps each practice's audit head, outside the database
            self.stdout.write(f"audit head {head}")


def _workers(text: str | None) -> int:
    """The ``--workers`` option: a whole number from 1 (bad input exits 2 with one line)."""
    if text is None:
        return default_workers()
    workers = whole_number(text, digits=4)
    if workers is None or workers < 1:
        raise CommandError(f"--workers: {text} is not a whole number of processes from 1", returncode=2)
    return workers


def default_workers() -> int:
    """The machine's cores, at most ``MAX_WORKERS``."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))
