"""What the handout of one course shows on one day, in one language: the words of ``wording`` (or the
practice's own text of a section, in that language), the month of treatment and the dates to keep as the
clinic reads them from the engine (``clinic.dates_to_keep``). No clinical decision here: which month, which
dates and whether the patient can get pregnant are the engine's answers.

Call ``handout`` inside ``translation.override(language)``: the words and the dates are written in the
language active then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import dateformat
from django.utils.functional import Promise

from isotrack.clinic.dates_to_keep import DatesToKeep, dates_to_keep
from isotrack.clinic.models import Course, Practice
from isotrack.handouts import wording
from isotrack.handouts.models import HandoutText


@dataclass(frozen=True)
class ShownSection:
    key: str
    title: str
    lines: list[str]  # one point per line
    own: bool  # the practice's own text (else the built-in one)


@dataclass(frozen=True)
class ShownDate:
    code: str
    words: str
    when: str  # the date in words, or "as soon as possible" for a date already past
    date: date
    overdue: bool


# How full the page is, in characters of text: a row of the dates box (two dates side by side) takes about as
# much room as DATE_ROW characters of the sections. Above FULL_PAGE the sheet is set closer (``dense``: a
# smaller type), so that it still prints on one US Letter page: the built-in Spanish of a patient who can get
# pregnant with four dates fills about 2,900 (tests/web/test_handout_browser.py prints the fullest).
DATE_ROW = 160
FULL_PAGE = 3000
# The fullest a dense sheet still prints on one page, with room to spare: what the administrator's page warns
# about (the built-in Spanish with eight dates to keep fills about 3,250).
ONE_PAGE = 3500
MOST_DATES = 8  # the engine's due items of a patient who can get pregnant, and the pick-up's last day


def fullness(sections: list[ShownSection], dates: list[ShownDate]) -> int:
    text = sum(len(section.title) + sum(len(line) for line in section.lines) for section in sections)
    return text + DATE_ROW * math.ceil(len(dates) / 2)


def fullest(practice: Practice, language: str) -> int:
    """How full the fullest handout of the practice would be in ``language`` (inside its override): a patient
    who can get pregnant, the longest of the months' texts, every date to keep."""
    own = own_texts(practice, language)
    expect = max(
        (
            shown(wording.EXPECT_MONTH_1, own, wording.EXPECT_MONTH_1_BEFORE_FIRST_FILL),
            *(shown(wording.expect_section(month), own) for month in (1, 2, 3, None)),
        ),
        key=lambda section: fullness([section], []),
    )
    sections = [
        with_phone(shown(section, own), practice.phone)
        if section is wording.WARNING_SIGNS
        else shown(section, own)
        for section in wording.SECTIONS
        if not section.key.startswith("expect_")
    ]
    return fullness([expect, *sections], []) + DATE_ROW * math.ceil(MOST_DATES / 2)


def language_of(asked: str | None) -> str:
    """The handout's language from what was asked ("es", "es-MX", "ES"); anything else is English."""
    base = (asked or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in wording.LANGUAGES else wording.DEFAULT_LANGUAGE


def own_texts(practice: Practice, language: str) -> dict[str, str]:
    """The practice's own texts in ``language`` (only those not blank), by section."""
    rows = HandoutText.objects.filter(practice=practice, language=language).exclude(text="")
    return dict(rows.values_list("section", "text"))


def shown(section: wording.Section, own: dict[str, str], built_in: Promise | None = None) -> ShownSection:
    """The section's text: the practice's own, else ``built_in`` (by default the section's usual text)."""
    text = own.get(section.key) or str(section.default if built_in is None else built_in)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return ShownSection(section.key, str(section.title), lines, section.key in own)


def with_phone(section: ShownSection, phone: str) -> ShownSection:
    """The section with "Call the clinic: <the practice's phone>" as its last line; no phone: as it is."""
    if not phone:
        return section
    call = str(wording.CALL_THE_CLINIC) % {"phone": phone}
    return ShownSection(section.key, section.title, [*section.lines, call], section.own)


def written(day: date) -> str:
    """A date as a patient reads it, in the active language ("Friday, December 4, 2026")."""
    return dateformat.format(day, str(wording.DATE_FORMAT))


def handout(course: Course, today: date, language: str) -> dict[str, Any]:
    practice = course.patient.practice
    facts = dates_to_keep(course, today)
    own = own_texts(practice, language)
    month = facts.month
    # Nothing dispensed yet: the engine's phase of such a course is "qualifying" (a positive test, which
    # stops it, aside: no handout then).
    before_first_fill = facts.phase == "qualifying"
    dates = dates_shown(facts)
    expect_section = wording.expect_section(month)
    built_in = wording.built_in_text(
        expect_section, before_first_fill=before_first_fill, dates_left=bool(dates)
    )
    expect = shown(expect_section, own, built_in)
    care = [shown(section, own) for section in wording.CARE]
    # Preventing pregnancy: during treatment, and after it while the engine still lists the last day of the
    # two methods (IPL-CON-2: through 30 days after the last dose); not once that has passed.
    preventing = month is not None or any(d.code == "CONTRACEPTION_UNTIL" for d in facts.dates)
    pregnancy = shown(wording.PREGNANCY, own) if facts.can_get_pregnant and preventing else None
    avoid = shown(wording.AVOID, own)
    warning_signs = with_phone(shown(wording.WARNING_SIGNS, own), practice.phone)
    contact = shown(wording.CONTACT, own)
    sections = [expect, *care, *([pregnancy] if pregnancy else []), avoid, warning_signs, contact]
    return {
        "language": language,
        "title": str(wording.TITLE),
        "practice_name": practice.name,
        "given_name": course.patient.given_name,
        "for_patient": str(wording.FOR_PATIENT) % {"name": course.patient.given_name},
        "printed_on": str(wording.PRINTED_ON) % {"date": written(today)},
        "month": month,
        "phase": facts.phase,
        "before_first_fill": before_first_fill,
        "phone": practice.phone,
        "heading": (
            str(wording.MONTH_OF_TREATMENT) % {"month": month}
            if month is not None
            else str(wording.AFTER_TREATMENT)
        ),
        "expect_heading": str(wording.EXPECT_HEADING if month is not None else wording.EXPECT_AFTER_HEADING),
        "expect": expect,
        "care_heading": str(wording.CARE_HEADING),
        "care": care,
        "dates_heading": str(wording.DATES_HEADING),
        "dates": dates,
        # Once dosing is over, no date means nothing is left to do; before, the next dates come at the visit.
        "no_dates": str(wording.NO_DATES_LEFT if month is None else wording.NO_DATES),
        "paused": str(wording.PAUSED) if facts.paused else "",
        "pregnancy": pregnancy,
        "avoid": avoid,
        "warning_signs": warning_signs,
        "contact": contact,
        "disclaimer": str(wording.DISCLAIMER),
        "dense": fullness(sections, dates) > FULL_PAGE,
    }


def dates_shown(facts: DatesToKeep) -> list[ShownDate]:
    found = []
    for item in facts.dates:
        if item.code in wording.PREGNANCY_DATES and not facts.can_get_pregnant:
            continue  # the engine lists none of them for such a patient: never on the sheet either
        when = (
            str(wording.AS_SOON_AS_POSSIBLE) % {"date": written(item.date)}
            if item.overdue
            else written(item.date)
        )
        found.append(ShownDate(item.code, str(wording.DATE_WORDS[item.code]), when, item.date, item.overdue))
    return found
