"""The practice's quality report as rows (issue 16): the core's measures of one period, for the practice as a
whole and for each prescriber, flattened to one row per figure.

The figures are the core's (``core.measures``, each course replayed by the engine), never recomputed here:
this module only chooses the courses, groups them, and lays the answer out as rows a CSV, a page or a
printout can show the same way. The courses are read through ``records.facts_by_course`` once for all the
groups, so the report judges exactly the facts every page and the export judge.

Which courses: the practice's, but those entered in error (a record that should never have existed, as
every other list of the clinic leaves them out), and only those that started on or before the period's last
day (a course planned to start later had nothing in the period to measure). A prescriber's group is the
courses whose ``Course.prescriber`` they are; every count of the core is a sum over courses, so the
prescribers' counts add up to the practice's (the medians and quartiles do not).
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections import defaultdict
from datetime import date
from typing import Any, NamedTuple

from isotrack import core
from isotrack.clinic.models import Course, CourseStatus, Practice, StaffUser
from isotrack.clinic.records import facts_by_course

PRACTICE_GROUP = "practice"  # the group of the practice as a whole; the others are prescribers' names
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # [0-9], not \d: other scripts' digits are no month


class Row(NamedTuple):
    """One figure: the group it is for (``PRACTICE_GROUP`` or a prescriber's display name), the measure
    (``section.field``, a tuple's entries as ``section.field.NAME``), its value (None: nothing to measure,
    e.g. a median of no courses) and the measure's definition, so that the row explains itself."""

    group: str
    measure: str
    value: int | float | None
    definition: str


def month_period(text: str) -> tuple[date, date]:
    """The first and the last day of the month ``YYYY-MM``; a ValueError that says what was expected
    otherwise (the command line prefixes the option's name), on one line: a value that is not printable text
    (a line break typed into it) is quoted as Python writes it."""
    match = _MONTH.fullmatch(text)
    month = int(match.group(2)) if match else 0
    year = int(match.group(1)) if match else 0
    if year < 1 or not 1 <= month <= 12:
        shown = text if text.isprintable() else repr(text)
        raise ValueError(f"{shown} is not a valid month (YYYY-MM)")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def report_courses(practice: Practice, end: date) -> list[Course]:
    """The courses the report measures up to ``end`` (see the module's docstring), with their prescribers."""
    return list(
        Course.objects.filter(patient__practice=practice, start__lte=end)
        .exclude(status=CourseStatus.ENTERED_IN_ERROR)
        .select_related("prescriber")
        .order_by("id")
    )


def report_rows(practice: Practice, start: date, end: date) -> list[Row]:
    """The practice's measures from ``start`` through ``end`` (both inclusive), then each prescriber's (in
    the order of their names), as rows; read only, one ``facts_by_course`` for every course."""
    courses = report_courses(practice, end)
    found = facts_by_course([course.pk for course in courses])
    by_prescriber: dict[int, list[Course]] = defaultdict(list)
    prescribers: dict[int, StaffUser] = {}
    for course in courses:
        by_prescriber[course.prescriber_id].append(course)
        prescribers[course.prescriber_id] = course.prescriber
    names = group_names(list(prescribers.values()))
    groups = [(PRACTICE_GROUP, courses)] + sorted(
        ((names[key], members) for key, members in by_prescriber.items()), key=lambda group: group[0]
    )
    rows: list[Row] = []
    for group, members in groups:
        measured = core.measures([found[course.pk] for course in members], start, end)
        rows += measure_rows(group, measured)
    return rows


def group_names(prescribers: list[StaffUser]) -> dict[int, str]:
    """Each prescriber's group name: the display name, and their username after it when another prescriber
    of the report has the same display name (two rows of one group name would add up two people)."""
    counts: dict[str, int] = defaultdict(int)
    for prescriber in prescribers:
        counts[prescriber.display_name] += 1
    return {
        p.pk: p.display_name if counts[p.display_name] == 1 else f"{p.display_name} ({p.username})"
        for p in prescribers
    }


def measure_rows(group: str, measured: core.Measures) -> list[Row]:
    """One row per figure of ``measured``, section by section in the core's order: a tuple of ``(name,
    count)`` (the days waited by category, the steps lost windows lacked) one row per entry, under its
    parent's definition; floats to one decimal, as a person reads them."""
    rows: list[Row] = []
    for section in dataclasses.fields(measured):
        figures = getattr(measured, section.name)
        if not dataclasses.is_dataclass(figures):
            continue  # the period's start and end: the command's argument, not a measure
        for field in dataclasses.fields(figures):
            key = f"{section.name}.{field.name}"
            definition = core.QUALITY_DEFINITIONS[key]  # a figure without its definition fails loudly
            value = getattr(figures, field.name)
            if isinstance(value, tuple):
                rows += [Row(group, f"{key}.{name}", count, definition) for name, count in value]
            else:
                rows.append(Row(group, key, _rounded(value), definition))
    return rows


def _rounded(value: Any) -> int | float | None:
    return round(value, 1) if isinstance(value, float) else value
