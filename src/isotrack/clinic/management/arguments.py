"""Argument types shared by the `isotrack` commands: bad input exits 2 with one clear line."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError


def today_option(text: str) -> date:
    """The value of a `--today` option: an ISO date."""
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--today: {text} is not a valid date (YYYY-MM-DD)", returncode=2) from error
