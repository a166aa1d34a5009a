"""URL converters."""

from __future__ import annotations

import datetime as dt

from isotrack.clinic.actions.corrections import KINDS


class IsoDateConverter:
    """An ISO date (YYYY-MM-DD) in a URL: a day that does not exist matches nothing (404), never a 500."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(value) from None  # Django reads a ValueError as "no match"

    def to_url(self, value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


class RecordKindConverter:
    """A kind of record that can be corrected or voided (``clinic.actions.corrections.KINDS``); any other word
    is no match (404)."""

    regex = r"[a-z][a-z-]*"

    def to_python(self, value: str) -> str:
        if value not in KINDS:
            raise ValueError(value)
        return value

    def to_url(self, value: str) -> str:
        return value
