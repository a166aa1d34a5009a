"""Arguments shared by the `isotrack` commands: bad input exits 2 with one clear line."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def today_option(text: str | None) -> date | None:
    """The value of a `--today` option, an ISO date (None: not given). Parsed in the command's ``handle``, not
    as an argparse type, so that a bad value is the command's one-line error with exit status 2."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--today: {text} is not a valid date (YYYY-MM-DD)", returncode=2) from error


class HyphenatedCommand(BaseCommand):
    """An `isotrack` command: its usage line spells it with hyphens, as the README and `isotrack help` do
    (Django names it after its module: `refresh_worklist`)."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand.replace("_", "-"), **kwargs)
