"""`isotrack report --month YYYY-MM [--practice UUID] [--format csv]`: the practice's quality report of one
month (issue 16) as CSV on standard output, the same rows a spreadsheet or a compliance file takes.

The rows are ``clinic.quality.report_rows``: the practice as a whole, then each prescriber, one row per figure
of the core's measures with its definition (``group,measure,value,definition``). Read only: nothing is
written, and nothing about a patient is printed (prescribers' names are staff's). ``--practice`` may be left
out when the database holds one practice, as most installations do; with several, guessing would print one
practice's figures under another's name. The issue's ``--format html`` (the printable report) is not built
yet: it is refused by name rather than answered with the CSV.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from isotrack.clinic.management.arguments import HyphenatedCommand
from isotrack.clinic.models import Practice
from isotrack.clinic.quality import month_period, report_rows

HEADER = ("group", "measure", "value", "definition")
FORMATS = ("csv",)


class Command(HyphenatedCommand):
    help = "Write the practice's quality measures of one month (practice-wide and per prescriber) as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="the month to report on (YYYY-MM)")
        parser.add_argument(
            "--practice", default=None, help="the practice's UUID (needed when the database holds several)"
        )
        parser.add_argument("--format", default="csv", help="csv (html, the printable report: not built yet)")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = options["format"]
        if chosen == "html":
            raise CommandError("--format html: not built yet; use csv", returncode=2)
        if chosen not in FORMATS:
            raise CommandError(f"--format: {chosen} is not a format ({', '.join(FORMATS)})", returncode=2)
        try:
            start, end = month_period(options["month"])
        except ValueError as error:
            raise CommandError(f"--month: {error}", returncode=2) from None
        practice = _practice(options["practice"])
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for row in report_rows(practice, start, end):
            value = "" if row.value is None else row.value
            writer.writerow((_cell(row.group), row.measure, value, row.definition))
        self.stdout.write(out.getvalue(), ending="")


def _practice(text: str | None) -> Practice:
    """The practice of ``--practice`` (its UUID), or the only one when it is left out."""
    if text is None:
        practices = list(Practice.objects.order_by("id")[:2])
        if len(practices) == 1:
            return practices[0]
        if not practices:
            raise CommandError("--practice: the database holds no practice", returncode=2)
        raise CommandError("--practice: the database holds several practices; give one's UUID", returncode=2)
    try:
        key = uuid.UUID(text)
    except ValueError:
        key = None
    practice = Practice.objects.filter(uuid=key).first() if key is not None else None
    if practice is None:
        raise CommandError(f"--practice: no practice {text!r} (give its UUID)", returncode=2)
    return practice


def _cell(text: str) -> str:
    """A name a spreadsheet shows as text: one that starts like a formula is quoted (CSV injection), as the
    audit log's export does (the group is a prescriber's name, which staff type)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
