"""`isotrack refresh-worklist`: judge every practice's worklist lines for the new day (run after midnight).

Each stored line holds until the day the core's answer changes; this judges the lines whose day came (a few
percent a day) and adds a line for any course that has none. Without it the day's first worklist page judges
them itself; with it that page reads stored lines like every other. Safe to run at any time, twice, or from
several machines: a line already current is left alone. Prints counts only (no patient data).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from isotrack.clinic.management.arguments import today_option
from isotrack.clinic.models import Practice
from isotrack.clinic.worklist import refresh_for_the_day


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
            total += refresh_for_the_day(practice, today)
        self.stdout.write(f"judged {total} worklist line(s) in {len(practices)} practice(s)")
