"""Numbers as the spec reports them: one comparison tolerance and the reporting roundings."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# The one tolerance for comparing computed quantities (mg, mg/kg, ratios) with a threshold. Sums of days x mg
# and divisions by a weight such as 62.3 kg carry binary rounding errors of about 1e-13; a target "reached" at
# 149.99999999999997 mg/kg must count as reached, and 1e-9 mg/kg (a billionth of a milligram per kg) can never
# change a clinical answer. Used as: reached when value >= threshold - TOLERANCE; above when value > limit +
# TOLERANCE.
TOLERANCE = 1e-9

_TENTH = Decimal("0.1")
_HUNDREDTH = Decimal("0.01")


def round_mg(value: float) -> float:
    """Reported mg: to 0.1, halves away from zero (on the decimal value as printed, not its binary image)."""
    return float(Decimal(repr(value)).quantize(_TENTH, rounding=ROUND_HALF_UP))


def round_mg_per_kg(value: float) -> float:
    """Reported mg/kg and mg/kg/day: to 0.01, halves away from zero."""
    return float(Decimal(repr(value)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP))


def plain_number(value: float) -> int | float:
    """A value as a person writes it: 520 rather than 520.0; other values unchanged."""
    if isinstance(value, int):
        return value
    return int(value) if value.is_integer() else value


def format_number(value: float, places: int = 1) -> str:
    """Text for people: at most ``places`` decimals, no trailing zeros (520, 841.4, 0.5)."""
    text = f"{round_half_up(value, places):.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def round_half_up(value: float, places: int) -> float:
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
