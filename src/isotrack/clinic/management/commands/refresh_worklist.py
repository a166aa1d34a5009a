"""`isotrack refresh-worklist`: judge every practice's worklist lines for the new day (run after midnight).

Without it the day's first worklist page judges every listed course itself (about a second for 5,000 courses);
with it that page reads stored lines like every other. Safe to run at any time, twice, or from several
machines: a line already current is left alone. Prints counts only (no patient data).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from isotrack.clinic.management.arguments import today_option
from isotrack.clinic.models import Practice
from isotrack.clinic.worklist import refresh


class Command(BaseCommand):
    help = "Judge every practice's worklist lines for today, so the day's first page load need not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            default=None,
            help="the day to judge for (default: today in each practice's time zone)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = today_option(options["today"])
        total = 0
        practices = Practice.objects.order_by("id")
        for practice in practices:
            total += refresh(practice, today)
        self.stdout.write(f"judged {total} worklist line(s) in {len(practices)} practice(s)")
