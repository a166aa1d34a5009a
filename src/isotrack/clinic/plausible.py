"""The core's plausibility rules (``core.plausibility``) as the pages ask them, to report every problem of a
form in one round; the actions check the same rules again for the API and the imports."""

from __future__ import annotations

from isotrack.core.plausibility import (
    birth_date,
    first_dosing_day,
    lab_unit,
    lab_value,
    mg_per_day,
    not_after_today,
    not_after_visit,
    not_before_birth,
    phq9_item9,
)

__all__ = [
    "birth_date",
    "first_dosing_day",
    "lab_unit",
    "lab_value",
    "mg_per_day",
    "not_after_today",
    "not_after_visit",
    "not_before_birth",
    "phq9_item9",
]
