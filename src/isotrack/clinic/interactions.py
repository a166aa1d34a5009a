"""A drafted order of another medicine with the patient's isotretinoin course (issue 17: CDS Hooks order-sign
answers a tetracycline order for a patient on isotretinoin with a card). The API asks here; the core decides.

- ``ordered_medicine(codings, texts)``: the class of the core's table (``core.medication_class``) of the
  medicine one order names: by an RxNorm ingredient code of the table first (as the table reads it), else by
  a name of the table (generic or brand) among the words of a coding's display or a text. The table matches
  whole names ("doxycycline 100 mg" is ``other`` there, until someone picks the class); an order's text
  carries the strength and the form ("Doxycycline 100 MG Oral Capsule"), so each run of up to ``NAME_WORDS``
  of its words is looked up, the first and longest found winning. None for a medicine of no class
  (``other``: ibuprofen), and for an order whose words name a form put on the skin, the eye or the ear
  (``LOCAL_FORMS``): the table leaves a topical tetracycline out, the interaction being that of a systemic
  drug (and a retinol cream is no supplement).
- ``order_interactions(course, day, medicines)``: the alerts the engine would raise on ``day`` were the
  ordered medicines taken from that day on, in place of those recorded (``records.with_medications_from``;
  nothing is recorded): TETRACYCLINE_IN_USE (MED-TETRA) and VITAMIN_A_IN_USE (MED-VITA) while the course is
  qualifying or active (the drug taken or about to be), HORMONAL_METHOD_WEAKENED (MED-INDUCER) for a patient
  who can get pregnant with a hormonal method in use on the day, while contraception is required (qualifying,
  active, and the month after the last dose). Each with what ALERT-URGENCY asks for (``Finding.action``),
  the ordered medicines of its class, and the course's phase on the day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from isotrack import core
from isotrack.clinic.models import Course
from isotrack.clinic.records import course_facts, with_medications_from
from isotrack.core.medications import medicine
from isotrack.core.products import RXNORM

NAME_WORDS = 4  # the longest name of the table has three words ("vitamin a supplement", "st john's wort")
TEXT_WORDS = 60  # the words of one text read at most (an EHR's text is a name, not an essay)
NAME_MAX = 120  # characters of the order's own words kept to show
# A form put on the skin, the eye or the ear: not the systemic drug the interactions are about.
LOCAL_FORMS = frozenset(
    {
        "topical",
        "cutaneous",
        "ophthalmic",
        "otic",
        "cream",
        "ointment",
        "lotion",
        "foam",
        "gel",
        "shampoo",
        "periodontal",
    }
)
# The alert the engine raises for each class of the table (core.monitoring), in ALERT-URGENCY's order.
CLASS_ALERTS: dict[str, str] = {
    "tetracycline": "TETRACYCLINE_IN_USE",
    "enzyme_inducer": "HORMONAL_METHOD_WEAKENED",
    "vitamin_a": "VITAMIN_A_IN_USE",
}
# A word: letters, with the apostrophes and hyphens inside names ("St John's", "Vibra-Tabs").
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class OrderedMedicine:
    """The medicine of one drafted order: ``name`` as the order writes the table's name ("Doxycycline"), or
    the table's generic name of its RxNorm code when no text names it; ``by`` what named it ("RxNorm 3640",
    or the order's text); its class."""

    name: str
    medication_class: str
    by: str


@dataclass(frozen=True, slots=True)
class Interaction:
    """An alert the engine would raise were the ordered medicines taken: ``finding`` (the alert, its rule id
    and explanation, and ``action``: what ALERT-URGENCY asks for and its weight), the ordered ``medicines``
    of its class, and the course's ``phase`` on the day."""

    finding: core.Finding
    medicines: tuple[OrderedMedicine, ...]
    phase: str


def _words(text: str) -> list[str]:
    return _WORD.findall(text)[:TEXT_WORDS]


def _named(text: str) -> tuple[str, str] | None:
    """The first (and, there, longest) run of the text's words that is a name of the table with a class, as
    written, and its class."""
    words = _words(text)
    for first in range(len(words)):
        for count in range(min(NAME_WORDS, len(words) - first), 0, -1):
            name = " ".join(words[first : first + count])
            kind = core.medication_class(name=name)
            if kind != "other":
                return name, kind
    return None


def ordered_medicine(
    codings: Iterable[core.MedicationCoding], texts: Iterable[str | None] = ()
) -> OrderedMedicine | None:
    """The medicine of one order's codings and texts when the core's table gives it a class (module
    docstring); None otherwise."""
    codings = list(codings)
    written = [t.strip() for t in [*texts, *(c.display for c in codings)] if t and t.strip()]
    if any(word.lower() in LOCAL_FORMS for text in written for word in _words(text)):
        return None
    for coding in codings:  # the code first, as the table reads it
        known = medicine(rxnorm=coding.code) if coding.system == RXNORM and coding.code else None
        if known is not None and known.medication_class != "other":
            kind, by = known.medication_class, f"RxNorm {known.rxnorm}"
            named = next((n for text in written if (n := _named(text)) is not None and n[1] == kind), None)
            return OrderedMedicine(named[0] if named is not None else known.generic, kind, by)
    for text in written:
        found = _named(text)
        if found is not None:
            return OrderedMedicine(found[0], found[1], text[:NAME_MAX])
    return None


def order_interactions(
    course: Course, day: date, medicines: Sequence[OrderedMedicine]
) -> tuple[Interaction, ...]:
    """The alerts the engine would raise on ``day`` were ``medicines`` taken from that day on (module
    docstring), most urgent first."""
    classed = [m for m in medicines if m.medication_class in CLASS_ALERTS]
    if not classed:
        return ()
    course_file = with_medications_from(
        course_facts(course), ((m.name, m.medication_class) for m in classed), day
    )
    evaluation = core.evaluate(course_file, day)
    found = []
    for finding in evaluation.findings:
        kinds = [kind for kind, code in CLASS_ALERTS.items() if code == finding.alert.code]
        if kinds:
            ordered = tuple(m for m in classed if m.medication_class == kinds[0])
            found.append(Interaction(finding, ordered, evaluation.phase))
    return tuple(found)
