"""`isotrack demo`: fill the database with the demo practices (see isotrack.demo.generator).

It prints counts and the staff logins, never a patient's name.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from isotrack.clinic.errors import ClinicError
from isotrack.clinic.management.arguments import HyphenatedCommand, today_option
from isotrack.clinic.models import Practice
from isotrack.demo.generator import DEMO_PASSWORD, DEMO_URL, build_demo, demo_logins


class Command(HyphenatedCommand):
    help = "Create two demo practices with staff logins and synthetic patients in every situation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patients", type=int, default=60, help="patients of the main practice (default 60)"
        )
        parser.add_argument("--seed", type=int, default=1, help="the same seed and day give the same data")
        parser.add_argument(
            "--today",
            default=None,
            help="date the demo around this day (default: today in America/New_York)",
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any practice exists")
        parser.add_argument(
            "--url", default=DEMO_URL, help=f"the address the logins are printed with (default {DEMO_URL})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Practice.objects.exists():
            self.stdout.write("A practice already exists: nothing created.")
        else:
            self._build(options)
        self._print_logins(options["url"])

    def _build(self, options: dict[str, Any]) -> None:
        began = time.monotonic()
        try:
            demo = build_demo(
                patients=options["patients"], seed=options["seed"], today=today_option(options["today"])
            )
        except ClinicError as error:
            raise CommandError(error.message, returncode=2) from error
        seconds = time.monotonic() - began
        self.stdout.write(
            f"Created 2 demo practices, {len(demo.staff)} staff logins and {demo.patient_count} "
            f"patients in {seconds:.1f} s."
        )
        for key, count in sorted(demo.situations.items()):
            self.stdout.write(f"  {key:<34} {count:>3}")

    def _print_logins(self, url: str) -> None:
        logins = demo_logins()
        if not logins:
            self.stdout.write("This database has no demo logins.")
            return
        self.stdout.write(f"\nDemo logins at {url}  (password for all: {DEMO_PASSWORD})")
        self.stdout.write(f"  {'username':<16} {'role':<15} practice")
        for login in logins:
            self.stdout.write(f"  {login.username:<16} {login.role:<15} {login.practice}")
