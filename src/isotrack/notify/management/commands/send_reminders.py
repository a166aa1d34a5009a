"""`isotrack send-reminders`: the daily reminder run (see isotrack.notify.reminders).

Safe to run twice, or from several machines: the outbox's unique key means nothing is queued or sent twice.
Prints counts only (no patient data). Exits 1 when a reminder could not be sent: it stays in the outbox and
the next run tries again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from isotrack.clinic.management.arguments import HyphenatedCommand, today_option
from isotrack.notify.reminders import send_reminders


class Command(HyphenatedCommand):
    help = (
        "E-mail patients and prescribers about steps that can be done tomorrow or close within 2 days, and "
        "prescribers about a stopped course's follow-up and alerts to review."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            default=None,
            help="the day to plan from (default: today in each practice's time zone)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = send_reminders(today=today_option(options["today"]))
        self.stdout.write(f"queued {report.queued}, sent {report.sent}, failed {report.failed}")
        if report.skipped_no_smtp:
            self.stdout.write("EMAIL_HOST is not set: reminders stay in the outbox until it is.")
        if report.failed:
            kinds = ", ".join(sorted(set(report.failures)))
            raise CommandError(
                f"{report.failed} reminder(s) could not be sent ({kinds}); they stay in the outbox and the "
                "next run tries again."
            )
