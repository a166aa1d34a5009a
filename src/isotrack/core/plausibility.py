"""What isotrack accepts as a clinic's record: one set of plausibility rules, in the clinic's words, for every
way a record comes in (the pages, the JSON API, the course-file import and the lab import all write through
the clinic's actions, which ask here). Each function returns the problem in one sentence, or None.

The limits are wide enough for any real patient and narrow enough to catch a slip of the keyboard (a year
typed wrong, a unit chosen wrong, a value with a digit too many):

- nothing clinical is dated after the practice's today (a result, a visit, a pick-up, a weight, an iPLEDGE
  entry, a method started): a planned dose change, a planned hold and a planned course start may be later;
- nothing is dated before the patient's birth;
- a course starts at most ``COURSE_START_REFUSED_DAYS`` before today (a practice enters its current courses,
  not history); ``COURSE_START_WARNED_DAYS`` before today is unusual enough to say so;
- a lab result in a unit its test has, within the test's range (LAB-TG-HIGH units: triglycerides in mg/dL
  or mmol/L; ALT and AST in U/L);
- a daily dose of 1 to 300 mg (reference.md section 2: 2 mg/kg/day for 150 kg), the same limits for saving
  a dose and for the live preview of one;
- a body weight of 20 to 300 kg;
- a dose's capsule strength, when one is given, among its product line's (reference.md section 2), the daily
  dose a whole number of those capsules (a dose taken in two strengths leaves the strength unsaid).

Decisions where reference.md is silent: the limits above (conventions of this program, not clinical
thresholds; they refuse what cannot be a patient's record, they decide nothing clinical).
"""

from __future__ import annotations

import datetime as dt

from isotrack.core.course import ENZYME_TESTS, LIPID_TESTS
from isotrack.core.dose import CAPSULE_STRENGTHS_MG

COURSE_START_REFUSED_DAYS = 730  # two years: a course is 4-6 months; a practice enters its current courses
COURSE_START_WARNED_DAYS = 183  # half a year: possible (a long low-dose course), worth a second look
PLANNED_AHEAD_DAYS = 366  # a planned course start, dose change or hold: within a year
MG_PER_DAY = (1, 300)  # DOSE-MAX: 2 mg/kg/day x 150 kg = 300 mg; below 1 mg/day no capsule exists
KG = (20, 300)  # a body weight
# A result's range by test and unit: what a laboratory can report for a living patient.
LAB_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    **{(test, "mg/dL"): (1.0, 20_000.0) for test in LIPID_TESTS},
    **{(test, "mmol/L"): (0.03, 230.0) for test in LIPID_TESTS},
    **{(test, "U/L"): (1.0, 20_000.0) for test in ENZYME_TESTS},
}
LAB_NAMES = {
    "triglycerides": "Triglycerides",
    "cholesterol": "Total cholesterol",
    "hdl": "HDL cholesterol",
    "ldl": "LDL cholesterol",
    "alt": "ALT",
    "ast": "AST",
}
UNITS_OF: dict[str, tuple[str, ...]] = {
    **{test: ("mg/dL", "mmol/L") for test in LIPID_TESTS},
    **{test: ("U/L",) for test in ENZYME_TESTS},
}


def _number(value: float) -> str:
    return f"{value:g}"


def not_after_today(day: dt.date, today: dt.date, what: str) -> str | None:
    """Nothing clinical is dated after the practice's today."""
    if day <= today:
        return None
    return f"{what} cannot be after today ({today}): {day} was entered."


def not_after_visit(day: dt.date, visit: dt.date, what: str) -> str | None:
    """What a visit records of a medicine taken (its first or last day) happened by the visit's day: a later
    day is recorded at a later visit."""
    if day <= visit:
        return None
    return f"{what} cannot be after the visit ({visit}): {day} was entered; record it at a later visit."


def not_before_birth(day: dt.date, birth: dt.date | None, what: str) -> str | None:
    if birth is None or day >= birth:
        return None
    return f"{what} cannot be before the patient's birth ({birth}): {day} was entered."


def planned_within_a_year(day: dt.date, today: dt.date, what: str) -> str | None:
    """A planned date (a course start, a dose change, a hold) may be later than today, but not by years."""
    if day <= today + dt.timedelta(days=PLANNED_AHEAD_DAYS):
        return None
    return f"{what} is planned more than a year ahead ({day}): check the year."


def course_start(start: dt.date, today: dt.date) -> str | None:
    """A course starts at most two years before today, and at most a year after it."""
    if start < today - dt.timedelta(days=COURSE_START_REFUSED_DAYS):
        return (
            f"A course cannot start more than two years before today ({today}): {start} was entered. "
            "Enter the patient's current course."
        )
    return planned_within_a_year(start, today, "The first dosing day")


def first_dosing_day(start: dt.date, today: dt.date, birth: dt.date | None) -> str | None:
    """A course's first dosing day: ``course_start``'s limits, and not before the patient's birth."""
    return course_start(start, today) or not_before_birth(start, birth, "The first dosing day")


def course_start_warning(start: dt.date, today: dt.date) -> str | None:
    """Not refused, but worth a second look: a course that started more than half a year ago."""
    if start < today - dt.timedelta(days=COURSE_START_WARNED_DAYS):
        return f"This course started more than six months ago ({start}): check the date."
    return None


def birth_date(birth: dt.date, today: dt.date) -> str | None:
    if birth > today:
        return f"A birth date cannot be after today ({today}): {birth} was entered."
    if birth.year < 1900:
        return f"A birth date before 1900 cannot be right: {birth} was entered."
    return None


def mg_per_day(mg: float) -> str | None:
    low, high = MG_PER_DAY
    if low <= mg <= high:
        return None
    return f"A daily dose is {low} to {high} mg (the labeled maximum for 150 kg, DOSE-MAX): {_number(mg)} mg."


LINE_NAMES = {"conventional": "Conventional", "absorica": "Absorica", "micronized": "Absorica LD"}


def capsule_strength(strength_mg: int, mg_per_day: float, line: str) -> str | None:
    """A dose's capsule strength: one of its product line's, and the daily dose a whole number of them."""
    strengths = CAPSULE_STRENGTHS_MG.get(line, ())
    if strength_mg not in strengths:
        listed = ", ".join(str(s) for s in strengths)
        return f"{LINE_NAMES.get(line, line)} capsules come in {listed} mg, not {strength_mg} mg."
    if (mg_per_day / strength_mg) % 1:
        return (
            f"{_number(mg_per_day)} mg a day is not a whole number of {strength_mg} mg capsules: leave the "
            "strength empty when the dose is taken in capsules of two strengths."
        )
    return None


def phq9_item9(score: int, item9: int | None) -> str | None:
    """A PHQ-9's total is the sum of its nine items (MOOD): it cannot be below its item 9."""
    if item9 is None or score >= item9:
        return None
    return f"A PHQ-9 score of {score} cannot be below its item 9 ({item9}): the score adds up all nine items."


def weight_kg(kg: float) -> str | None:
    low, high = KG
    if low <= kg <= high:
        return None
    return f"A weight must be between {low} and {high} kg ({_number(kg)} kg entered)."


def lab_result(test: str, value: float, unit: str) -> str | None:
    """A unit its test has, and a value in the test's range (LAB-TG-HIGH: triglycerides in mg/dL or mmol/L;
    ALT and AST in U/L): ``lab_unit``'s problem, else ``lab_value``'s."""
    return lab_unit(test, unit) or lab_value(test, value, unit)


def lab_unit(test: str, unit: str) -> str | None:
    """A unit the test has (other tests are kept and not judged)."""
    units = UNITS_OF.get(test)
    if units is None or unit in units:
        return None
    return f"{unit} is not a unit of {LAB_NAMES.get(test, test)}: use {' or '.join(units)}."


def lab_value(test: str, value: float, unit: str) -> str | None:
    """A value in the range of the test in that unit (a unit the test lacks is ``lab_unit``'s problem)."""
    if (test, unit) not in LAB_RANGES:
        return None
    low, high = LAB_RANGES[(test, unit)]
    if low <= value <= high:
        return None
    name = LAB_NAMES.get(test, test)
    limits = f"{_number(low)} to {_number(high)}"
    return f"{name} of {_number(value)} {unit} cannot be right: a result is {limits}."


def days_off(start: dt.date, end: dt.date, course_start: dt.date, today: dt.date) -> tuple[str, str] | None:
    """A hold (``start`` to ``end``) or a missed dose (``start`` == ``end``): within the course, in order,
    planned at most a year ahead; a missed dose is a fact, so not after today. (field, problem) or None."""
    missed = start == end
    what = "A missed dose" if missed else "A hold"
    if start < course_start:
        return "start", f"{what} cannot be before the course's first dosing day ({course_start})."
    if end < start:
        return "end", f"A hold's last day cannot be before its first day ({start})."
    if missed:
        problem = not_after_today(start, today, what)
        return ("start", problem) if problem else None
    problem = planned_within_a_year(end, today, what)
    return ("end", problem) if problem else None
