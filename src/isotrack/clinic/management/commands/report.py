"""`isotrack report --month YYYY-MM [--practice UUID] [--format csv|html]`: the practice's quality report of
one month (issue 16) on standard output: as CSV, the rows a spreadsheet takes; as HTML, the printable report a
compliance officer files (the page /quality/print/ renders the same template from the same figures, its
stylesheet linked where this writes it inline, so that the file stands alone).

The rows are ``clinic.quality.report_rows``: the practice as a whole, then each prescriber, iPLEDGE category
and age band, one row per figure of the core's measures with its definition (``split,group,measure,value,
definition``). Nothing about a patient is printed (prescribers' names are staff's), and no record is written:
only the courses' derived outcomes are kept (``QualityOutcome``, see isotrack.clinic.quality), so that the
next report of the practice sums them instead of replaying every course. ``--practice`` may be left
out when the database holds one practice, as most installations do; with several, guessing would print one
practice's figures under another's name. A month still running is measured through the practice's today (a
later day is not known yet: a window still open would count as lost); a month to come is refused.

``--as-recorded`` (CSV): a sixth column, ``as_recorded_then``, the same figure from the records as they stood
at the end of the month (``quality.outcomes_as_recorded``: what was entered by then and not yet voided), so
that a later entry or correction shows as a difference between the two columns rather than as a rewrite of
the month. Those outcomes are not kept: every course is replayed, which takes longer.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from django.contrib.staticfiles import finders
from django.core.management.base import CommandError, CommandParser
from django.template.loader import render_to_string

from isotrack.clinic.management.arguments import HyphenatedCommand
from isotrack.clinic.models import Practice
from isotrack.clinic.quality import (
    measures_table,
    month_period,
    month_to_date,
    monthly_report,
)
from isotrack.clinic.queries import practice_today

FORMATS = ("csv", "html")
TEMPLATE = "web/quality/report.html"  # the printable report, the page's own template
STYLESHEET = "web/quality-print.css"


class Command(HyphenatedCommand):
    help = "Write the practice's quality measures of one month, practice-wide and by group, as CSV or HTML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="the month to report on (YYYY-MM)")
        parser.add_argument(
            "--practice", default=None, help="the practice's UUID (needed when the database holds several)"
        )
        parser.add_argument(
            "--format", default="csv", help="csv (the figures as rows) or html (the printable report)"
        )
        parser.add_argument(
            "--as-recorded",
            action="store_true",
            help="CSV: add each figure as the records stood at the end of the month (as_recorded_then)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = options["format"]
        if chosen not in FORMATS:
            raise CommandError(f"--format: {chosen} is not a format ({', '.join(FORMATS)})", returncode=2)
        try:
            month_period(options["month"])
        except ValueError as error:
            raise CommandError(f"--month: {error}", returncode=2) from None
        practice = _practice(options["practice"])
        try:  # a month still running is measured through today: a later day is not yet known
            start, end, _ = month_to_date(options["month"], practice_today(practice))
        except ValueError as error:
            raise CommandError(f"--month: {error}", returncode=2) from None
        if chosen == "html":
            if options["as_recorded"]:
                raise CommandError("--as-recorded: only with --format csv", returncode=2)
            self.stdout.write(_html(practice, options["month"]), ending="")
            return
        out = io.StringIO()
        csv.writer(out).writerows(measures_table(practice, start, end, as_recorded=options["as_recorded"]))
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


def _html(practice: Practice, month: str) -> str:
    """The printable report of the month (``quality.monthly_report``), its stylesheet inline."""
    try:
        start, end, last = month_to_date(month, practice_today(practice))
    except ValueError as error:
        raise CommandError(f"--month: {error}", returncode=2) from None
    found = finders.find(STYLESHEET)
    path = found[0] if isinstance(found, list) else found
    if not path:
        raise CommandError(f"the report's stylesheet {STYLESHEET} is missing from the installation")
    with open(path, encoding="utf-8") as stylesheet:
        css = stylesheet.read()
    return render_to_string(TEMPLATE, {**monthly_report(practice, start, end, last), "stylesheet": css})
