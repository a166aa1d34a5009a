"""Arguments shared by the `isotrack` commands: bad input exits 2 with one clear line."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError


def today_option(text: str | None) -> date | None:
    """The value of a `--today` option, an ISO date (None: not given). Parsed in the command's ``handle``, not
    as an argparse type, so that a bad value is the command's one-line error with exit status 2."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--today: {text} is not a valid date (YYYY-MM-DD)", returncode=2) from error
