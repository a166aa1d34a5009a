"""`isotrack create-practice --name NAME --time-zone TZ --admin-email EMAIL [--url URL]`: a new practice and
its first administrator, who sets a password at the printed one-time link. Bad input exits 2 with one line."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from isotrack.clinic.actions.practices import create_practice, set_password_link
from isotrack.clinic.errors import ClinicError
from isotrack.clinic.management.arguments import HyphenatedCommand

OPTIONS = {"name": "--name", "time_zone": "--time-zone", "admin_email": "--admin-email"}


class Command(HyphenatedCommand):
    help = "Create a practice and its first administrator; prints the one-time link to set the password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the practice's name")
        parser.add_argument("--time-zone", required=True, help="its time zone, e.g. America/New_York")
        parser.add_argument("--admin-email", required=True, help="the administrator's email: their login")
        parser.add_argument(
            "--url",
            default="http://localhost:8000",
            help="the address staff reach isotrack at, for the link (default: http://localhost:8000)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"]
        if not url.startswith(("https://", "http://")):
            raise CommandError(f"--url: {url} is not an http(s) address", returncode=2)
        try:
            practice, admin = create_practice(
                name=options["name"], time_zone=options["time_zone"], admin_email=options["admin_email"]
            )
        except ClinicError as error:
            option = OPTIONS.get(error.field or "")
            raise CommandError(
                f"{option}: {error.message}" if option else error.message, returncode=2
            ) from None
        hours = settings.PASSWORD_RESET_TIMEOUT // 3600
        self.stdout.write(f"created the practice {practice.name} ({practice.time_zone})")
        self.stdout.write(
            f"its administrator {admin.username} sets a password, once, within {hours} hours, at:"
        )
        self.stdout.write(set_password_link(admin, url))
