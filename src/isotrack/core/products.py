"""Which medication is isotretinoin: the codes and names an order may carry, and the product line each names.

An order signed for isotretinoin that goes unrecognised gets no iPLEDGE check at all, so an order is taken as
isotretinoin when any of its codings or texts says so:

- an RxNorm code of the reference (reference.md section 4): the ingredient 6064 and the oral capsules'
  clinical drugs (SCD) 197843, 197844, 403930, 197845, 1547561, 1547565 (10, 20, 30, 40, 25, 35 mg);
- the ingredient's name, ``isotretinoin``, in a coding's display or a text;
- a US brand name (reference.md section 2, the product table, and the FDA's listing of the iPLEDGE products):
  Absorica, Absorica LD, Accutane, Amnesteem, Claravis, Myorisan, Zenatane (and Sotret, no longer marketed but
  still in older order catalogues). Absorica LD is the micronized line (DOSE-LD); the others are conventional.

A branded drug's own RxNorm code (an SBD) is not in the reference, so a branded order is recognised by its
name: an EHR's order carries a display or a text. Pure: strings in, a ``Recognised`` or ``None`` out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from isotrack.core.course import Product

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
INGREDIENT = "6064"
CLINICAL_DRUGS = {  # RxNorm SCD -> the capsule's strength in mg (reference.md section 4)
    "197843": 10,
    "197844": 20,
    "403930": 30,
    "197845": 40,
    "1547561": 25,
    "1547565": 35,
}
# Brand -> product line, longest first so that "Absorica LD" is read before "Absorica".
BRANDS: tuple[tuple[str, Product], ...] = (
    ("Absorica LD", "micronized"),
    ("Absorica", "conventional"),
    ("Accutane", "conventional"),
    ("Amnesteem", "conventional"),
    ("Claravis", "conventional"),
    ("Myorisan", "conventional"),
    ("Zenatane", "conventional"),
    ("Sotret", "conventional"),
)
# A brand as a word of its own (no letter just before or after: "Claravis40mg" is Claravis, "Absoricant" is
# not), Absorica LD however it is spaced or dotted; the ingredient anywhere ("ISOTRETINOIN40MG").
_MICRONIZED = r"absorica[\s\-_.]*l\.?\s*d\.?"
_NAMES = re.compile(
    r"(?<![a-z])("
    + "|".join([_MICRONIZED, *(re.escape(name.lower()) for name, _ in BRANDS if name != "Absorica LD")])
    + r")(?![a-z])|(isotretinoin)",
    re.IGNORECASE,
)
_STRENGTH = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*mg(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class Recognised:
    """An isotretinoin order: what named it (``"RxNorm 197845"``, ``"Claravis"``, ``"isotretinoin"``), the
    product line when the name tells it, and the capsule's strength in mg when the code or text gives it."""

    by: str
    product: Product | None
    strength_mg: float | None


@dataclass(frozen=True)
class Coding:
    system: str | None
    code: str | None
    display: str | None = None


def recognise(codings: Iterable[Coding], texts: Iterable[str | None] = ()) -> Recognised | None:
    """Whether the codings and texts of one medication name isotretinoin (module docstring)."""
    codings = list(codings)
    for coding in codings:
        if coding.system == RXNORM and coding.code == INGREDIENT:
            return Recognised(f"RxNorm {INGREDIENT}", None, _strength(codings, texts))
        if coding.system == RXNORM and coding.code in CLINICAL_DRUGS:
            return Recognised(f"RxNorm {coding.code}", "conventional", CLINICAL_DRUGS[coding.code])
    words = [coding.display for coding in codings] + list(texts)
    for text in words:
        found = _NAMES.search(text or "")
        if found is not None:
            if found.group(1) is None:
                return Recognised("isotretinoin", None, _strength(codings, [text]))
            name = found.group(1).lower()
            label = "Absorica LD" if re.fullmatch(_MICRONIZED, name) else name
            brand, product = next((b, line) for b, line in BRANDS if b.lower() == label.lower())
            return Recognised(brand, product, _strength(codings, [text]))
    return None


def clinical_drug(strength_mg: int | None, product: Product) -> str | None:
    """The RxNorm clinical drug (SCD) of an isotretinoin capsule of one strength, when the reference has it:
    the conventional capsules (10, 20, 30, 40 mg, and Absorica's 25 and 35 mg). Absorica LD's micronized
    capsules are other clinical drugs, not in the reference: None, as for an unknown strength."""
    if product != "conventional" or strength_mg is None:
        return None
    return next((code for code, mg in CLINICAL_DRUGS.items() if mg == strength_mg), None)


def _strength(codings: list[Coding], texts: Iterable[str | None]) -> float | None:
    for text in [*texts, *(coding.display for coding in codings)]:
        found = _STRENGTH.search(text or "")
        if found is not None:
            return float(found.group(1))
    return None
