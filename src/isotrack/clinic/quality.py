"""The practice's quality report (issue 16): the core's measures of one period for the practice as a whole,
each prescriber, each iPLEDGE category and each age band, as rows; the courses behind each figure; the
month-by-month trend.

The figures are the core's (``core.course_outcome``: each course replayed by the engine over its whole life;
``core.measures_of``: a period's counts), never recomputed here: this module only chooses the courses, keeps
their outcomes, groups them, and lays the answer out as rows a CSV, a page or a printout show the same way.

How outcomes are kept (``QualityOutcome``, one per course) and when a course is replayed again: a kept
outcome serves a period when (1) the course's records have not changed since: its worklist line's
``generation``, which every write to the patient's records moves in the write's own transaction
(``worklist_entries.mark_stale``), is the one read *before* the facts the outcome was replayed from; (2) the
engine's source and the practice's rules and policy are the same (``worklist_entries.basis``); (3) the
period ends on or before the day it was replayed through, or before the first day its replay could change
(``CourseOutcome.holds_for``). Otherwise it is replayed on read, through the later of the period's end and
the practice's today, and stored again; the nightly job (``isotrack refresh-worklist``) replays the
practice's stale outcomes ahead of the day's first report. A read that races a write stores an outcome
labelled with the generation read before its facts, so at worst it is replayed once more; never a figure
of facts older than the label says.

Which courses: the practice's, but those entered in error (a record that should never have existed, as
every other list of the clinic leaves them out). A course's planned first day of dosing does not bound them:
its enrollment, tests, windows and first fill come before it, and a replay counts only what is dated in the
period. Every count of the core is a sum
over courses, so each split's counts add up to the practice's (the medians and quartiles do not), and one
course's own measures (``measures_of([outcome])``) are its part of each figure: the courses behind a figure
are those whose part is not zero.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.utils import timezone

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic import models, records, worklist_entries
from isotrack.clinic.models import (
    Course,
    CourseStatus,
    PatientCategory,
    Practice,
    QualityFigures,
    QualityOutcome,
    StaffUser,
    WorklistEntry,
)
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import CHUNK, as_it_stood, facts_by_course
from isotrack.clinic.worklist_entries import basis

PRACTICE_GROUP = "practice"  # the group of the practice as a whole
# The splits of the report, in order: the practice, then each prescriber, category and age band.
SPLITS = ("practice", "prescriber", "category", "age band")
DEFAULT_DAYS = 30  # the dashboard's period when none is chosen: the last 30 days, today included
TREND_MONTHS = 12  # the month-by-month trend: the twelve months up to the period's end
EARLIEST = date(2000, 1, 1)  # iPLEDGE began in 2006: an earlier day is a typing slip
FIGURES_FORMAT = 1  # the shape of a dashboard's kept figures (QualityFigures.figures); in the fingerprint
KEEP_FIGURES = timedelta(days=31)  # the nightly job removes kept figures computed longer ago than this
KEEP_PERIODS = 60  # and a practice keeps the figures of this many periods at most, the newest
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # [0-9], not \d: other scripts' digits are no month
_CLOSED_AS: dict[str, core.ClosedAs] = {CourseStatus.COMPLETED: "completed", CourseStatus.REVOKED: "stopped"}


class Measured(NamedTuple):
    """A course of the report and its outcome."""

    course: Course
    outcome: core.CourseOutcome


class Group(NamedTuple):
    """One split's group (``split`` one of ``SPLITS``; ``name`` what a person reads) and its measures."""

    split: str
    name: str
    measures: core.Measures
    courses: tuple[Measured, ...]


class Row(NamedTuple):
    """One figure: the split and group it is for (``PRACTICE_GROUP``, a prescriber's display name, a
    category's or an age band's name), the measure
    (``section.field``, a tuple's entries as ``section.field.NAME``), its value (None: nothing to measure,
    e.g. a median of no courses) and the measure's definition, so that the row explains itself."""

    split: str
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
    """The courses the report measures (see the module's docstring; ``end`` is the period's), with their
    worklist lines' generations and kept outcomes (one query; the lines' other columns are not read, and
    the prescribers are read once each by ``groups``)."""
    return list(
        Course.objects.filter(patient__practice=practice)
        .exclude(status=CourseStatus.ENTERED_IN_ERROR)
        .select_related("worklist_entry", "quality_outcome")
        .defer(*_LINE_COLUMNS_UNUSED)
        .order_by("id")
    )


# Every column of a worklist line but its course and generation: a report reads thousands of lines.
_LINE_COLUMNS_UNUSED = tuple(
    f"worklist_entry__{field.name}"
    for field in WorklistEntry._meta.concrete_fields
    if field.name not in ("course", "generation")
)


def outcomes(practice: Practice, end: date, today: date | None = None) -> list[Measured]:
    """Every course of the report up to ``end`` with an outcome that serves a period ending on ``end``: kept
    ones as they are, the others replayed (through the later of ``end`` and ``today``, the practice's today
    by default) and kept, in chunks of ``records.CHUNK``."""
    courses = report_courses(practice, end)
    current = basis(practice)
    through = max(end, today or practice_today(practice))
    found: dict[int, core.CourseOutcome] = {}
    stale: list[Course] = []
    for course in courses:
        kept = _kept(course, current, end)
        if kept is None:
            stale.append(course)
        else:
            found[course.pk] = kept
    for first in range(0, len(stale), CHUNK):
        found.update(replay(practice, stale[first : first + CHUNK], current, through))
    return [Measured(course, found[course.pk]) for course in courses]


def outcomes_as_recorded(practice: Practice, end: date) -> list[Measured]:
    """Every course of the report up to ``end`` as its records stood at the end of that day in the practice's
    time zone (issue 16, "correct on any day": what was recorded by then; ``facts_by_course(recorded_by=)``),
    replayed through ``end`` and not kept: a later entry or correction then shows beside the figure as a
    correction, not as a rewrite of it. A course created after that instant is left out; a course's status
    and stop reason are those it had then."""
    cutoff = datetime.combine(end, time.max, tzinfo=ZoneInfo(practice.time_zone))
    courses = [course for course in report_courses(practice, end) if course.created_at <= cutoff]
    found: dict[int, core.CourseOutcome] = {}
    for first in range(0, len(courses), CHUNK):
        chunk = courses[first : first + CHUNK]
        facts = facts_by_course([course.pk for course in chunk], recorded_by=cutoff)
        closed = as_it_stood(
            Course,
            {course.uuid: {"status": course.status, "stop_reason": course.stop_reason} for course in chunk},
            cutoff,
        )
        for course in chunk:
            then = closed[course.uuid]
            found[course.pk] = core.course_outcome(
                facts[course.pk],
                end,
                closed_as=_CLOSED_AS.get(then["status"]),
                stop_reason=then["stop_reason"] or None,
            )
    return [Measured(course, found[course.pk]) for course in courses]


def refresh_outcomes(practice: Practice, today: date) -> int:
    """The nightly job's part (``isotrack refresh-worklist``): replay the practice's courses whose kept
    outcome does not serve a period ending ``today``, so that the day's first report reads kept ones only.
    Returns how many were replayed."""
    current = basis(practice)
    stale = [course for course in report_courses(practice, today) if _kept(course, current, today) is None]
    for first in range(0, len(stale), CHUNK):
        replay(practice, stale[first : first + CHUNK], current, today)
    return len(stale)


def _kept(course: Course, current: str, end: date) -> core.CourseOutcome | None:
    """The course's kept outcome when it serves a period ending on ``end`` (see the module's docstring)."""
    kept = getattr(course, "quality_outcome", None)
    entry = getattr(course, "worklist_entry", None)
    if kept is None or entry is None or kept.generation != entry.generation or kept.basis != current:
        return None
    try:
        outcome = core.outcome_from_json(kept.outcome)
    except (ValueError, KeyError, TypeError):  # kept in another shape: replayed again
        return None
    return outcome if outcome.holds_for(end) else None


def replay(
    practice: Practice, courses: Sequence[Course], current: str, through: date
) -> dict[int, core.CourseOutcome]:
    """The courses replayed through ``through`` and kept, each labelled with its worklist line's generation
    as read with ``courses`` (before the facts: see the module's docstring). A course with no worklist line
    (none is missing once ``worklist_entries.add_missing_lines`` ran) is replayed and not kept: no write would
    mark it stale."""
    facts = facts_by_course([course.pk for course in courses])
    # The facts read the practice's policy from its row: when it changed since ``current`` was computed, the
    # replays are right for the new policy but would be kept under the old basis; they are not kept.
    keep = basis(Practice.objects.get(pk=practice.pk)) == current
    replayed: dict[int, core.CourseOutcome] = {}
    kept: list[QualityOutcome] = []
    for course in courses:
        outcome = core.course_outcome(
            facts[course.pk],
            through,
            closed_as=_CLOSED_AS.get(course.status),
            stop_reason=getattr(course, "stop_reason", "") or None,
        )
        replayed[course.pk] = outcome
        entry = getattr(course, "worklist_entry", None)
        if entry is not None and keep:
            kept.append(
                QualityOutcome(
                    course_id=course.pk,
                    practice_id=practice.pk,
                    generation=entry.generation,
                    basis=current,
                    through=outcome.through,
                    changes_on=outcome.changes_on,
                    outcome=core.outcome_to_json(outcome),
                )
            )
    QualityOutcome.objects.bulk_create(
        kept,
        update_conflicts=True,
        unique_fields=["course"],
        update_fields=["practice", "generation", "basis", "through", "changes_on", "outcome"],
    )
    return replayed


def groups(
    practice: Practice, start: date, end: date, measured: Sequence[Measured] | None = None
) -> list[Group]:
    """The practice's measures from ``start`` through ``end`` (both inclusive), then each prescriber's (in
    the order of their names), each iPLEDGE category's and each age band's (in the core's order), only the
    groups with a course."""
    measured = outcomes(practice, end) if measured is None else measured
    prescribers = StaffUser.objects.filter(pk__in={m.course.prescriber_id for m in measured}).order_by("pk")
    names = group_names(list(prescribers))
    categories = dict(PatientCategory.choices)
    bands = [name for _, _, name in core.AGE_BANDS] + [core.age_band(None)]
    split_of: list[tuple[str, Any]] = [
        ("prescriber", lambda m: names[m.course.prescriber_id]),
        ("category", lambda m: str(categories.get(m.outcome.category, m.outcome.category))),
        ("age band", lambda m: m.outcome.age_band),
    ]
    found = [_group(PRACTICE_GROUP, PRACTICE_GROUP, measured, start, end)]
    for split, name_of in split_of:
        members: dict[str, list[Measured]] = defaultdict(list)
        for m in measured:
            members[name_of(m)].append(m)
        order = sorted(members) if split != "age band" else [b for b in bands if b in members]
        found += [_group(split, name, members[name], start, end) for name in order]
    return found


def _group(split: str, name: str, members: Sequence[Measured], start: date, end: date) -> Group:
    return Group(split, name, core.measures_of([m.outcome for m in members], start, end), tuple(members))


def report_rows(practice: Practice, start: date, end: date) -> list[Row]:
    """Every group's figures (``groups``) as rows."""
    rows: list[Row] = []
    for group in groups(practice, start, end):
        rows += measure_rows(group.split, group.name, group.measures)
    return rows


def course_figures(outcome: core.CourseOutcome, start: date, end: date) -> dict[str, int | float | None]:
    """One course's part of each count of the period (its own ``measures_of``), keyed as the rows are;
    medians and quartiles left out (a course's own median is its value, not a part of the practice's)."""
    figures: dict[str, int | float | None] = {}
    for row in measure_rows("", "", core.measures_of([outcome], start, end)):
        if not _is_statistic(row.measure):
            figures[row.measure] = row.value
    return figures


def courses_behind(measured: Iterable[Measured], measure: str, start: date, end: date) -> list[Measured]:
    """The courses whose part of ``measure`` (a row's key) in the period is not zero."""
    return [m for m in measured if course_figures(m.outcome, start, end).get(measure)]


def _is_statistic(measure: str) -> bool:
    name = measure.rsplit(".", 1)[-1]
    return name.startswith(("median", "p25", "p75", "min_", "max_"))


def month_periods(last: date, count: int) -> list[tuple[date, date]]:
    """The ``count`` months up to the one holding ``last``, oldest first, that one measured through ``last``
    (a later day is not yet known: a replay through it would count windows still open as lost)."""
    periods: list[tuple[date, date]] = []
    year, month = last.year, last.month
    for _ in range(count):
        periods.append(month_period(f"{year:04d}-{month:02d}"))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    periods[0] = (periods[0][0], min(periods[0][1], last))
    return periods[::-1]


def trend(practice: Practice, periods: Sequence[tuple[date, date]]) -> list[core.Measures]:
    """The practice's measures of each period (its courses' outcomes read once, through the last end)."""
    measured = outcomes(practice, max(end for _, end in periods))
    return [core.measures_of([m.outcome for m in measured], start, end) for start, end in periods]


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


def measure_rows(split: str, group: str, measured: core.Measures) -> list[Row]:
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
                rows += [Row(split, group, f"{key}.{name}", count, definition) for name, count in value]
            else:
                rows.append(Row(split, group, key, _rounded(value), definition))
    return rows


def _rounded(value: Any) -> int | float | None:
    return round(value, 1) if isinstance(value, float) else value


# --- The pages and exports (isotrack.web.quality_views, `isotrack report --format html`) --------------------
# What a dashboard, a CSV and a printout need of the figures besides the rows, so that the pages (which may
# not import the core) lay them out from the rows generically: a figure the core adds shows with no change.

DEFINITIONS: dict[str, str] = core.QUALITY_DEFINITIONS
# Every page of the report ends with it (the footer of every page says the same).
DISCLAIMER = (
    "isotrack supports iPLEDGE and clinical judgment; it never replaces them. Verify requirements in iPLEDGE."
)
# What a person reads for a section and a figure; any other is named from its key (``_words``).
SECTION_TITLES: dict[str, str] = {
    "first_fill": "Enrollment to first fill",
    "windows": "Dispense windows",
    "monitoring": "Monitoring: labs and alerts",
    "dosing": "Dosing of completed courses",
    "safety": "Safety events",
    "courses": "Courses",
}
LABELS: dict[str, str] = {
    "first_fill.count": "First fills",
    "first_fill.unmeasured": "First fills without a known enrollment",
    "first_fill.median_days": "Median days to the first fill",
    "first_fill.p25_days": "25th percentile (days)",
    "first_fill.p75_days": "75th percentile (days)",
    "first_fill.min_days": "Fewest days",
    "first_fill.max_days": "Most days",
    "first_fill.waited": "Days waited, by what was missing",
    "windows.closed": "Windows closed",
    "windows.filled": "Filled",
    "windows.lost": "Lost (closed without a fill)",
    "windows.missing": "Lost windows, by the step missing",
    "windows.replaced": "Replaced before their last day",
    "windows.course_closed": "Open when the course ended",
    "dosing.completed": "Courses completed",
    "dosing.without_weight": "Without a weight",
    "dosing.reached_120": "Reached 120 mg/kg",
    "dosing.reached_target": "Reached the practice target",
    "dosing.median_mg_per_kg": "Median cumulative mg/kg",
    "dosing.interruption_reasons": "Interruptions, by reason",
    "dosing.reductions": "Dose reductions",
    "dosing.reductions_for_side_effects": "Dose reductions for side effects or a lab result",
    "dosing.reduction_reasons": "Dose reductions, by reason",
    "monitoring.peak_labs_course_closed": "Peak labs due after the course ended",
    "monitoring.draws_after_peak": "Lab draw days after the peak-dose draw",
    "monitoring.draws_without_cause": "Of those, drawn without cause",
    "monitoring.alerts_raised": "Alerts raised, by alert",
    "monitoring.acknowledged": "Alerts acknowledged",
    "monitoring.median_days_to_acknowledge": "Median days to acknowledge an alert",
    "monitoring.unacknowledged": "Alerts open on the last day",
    "safety.follow_up_complete": "Positive tests, follow-up complete",
    "safety.follow_up_open": "Positive tests, follow-up open",
    "safety.self_harm_risk": "Self-harm risk screens",
    "safety.self_harm_acknowledged": "Self-harm risk screens acknowledged",
    "safety.critical_labs": "Critical lab alerts, by alert",
    "safety.critical_labs_acknowledged": "Critical lab alerts acknowledged",
    "safety.courses_with_positive_test": "Courses with a positive pregnancy test",
    "safety.positive_tests": "Positive pregnancy tests",
    "courses.started": "Started",
    "courses.completed": "Completed",
    "courses.stopped": "Stopped",
    "courses.stop_reasons": "Stopped, by reason",
    "courses.active": "Active on the last day",
}
ENTRY_LABELS: dict[str, str] = {
    # where the days before a first fill went (core.replay.WAITED_ORDER)
    "closed": "course stopped or ended",
    "lockout": "the 2021 19-day lockout",
    "missed_window": "a missed window",
    "lead_in": "the contraception lead-in",
    "confirmation_test": "the 19-day confirmation test",
    "other_steps": "other steps",
    "ready_not_filled": "ready, not yet picked up",
    # what a lost window lacked on its last day (the engine's blocking codes)
    "PICK_UP": "pick-up",
    "PREGNANCY_TEST_MISSING": "pregnancy test",
    "PREGNANCY_TEST_SETTING": "test in the required setting",
    "SCREENING_TEST_MISSING": "screening test",
    "CONFIRMATION_TOO_EARLY": "confirmation test too early",
    "LOCKOUT_19_DAY": "19-day lockout",
    "PRESCRIBER_CONFIRMATION_MISSING": "prescriber's confirmation",
    "PATIENT_ATTESTATION_MISSING": "patient's questions",
    "COUNSELING_MISSING": "counseling",
    "CONTRACEPTION_LEAD_IN": "contraception lead-in",
    "CONTRACEPTION_INSUFFICIENT": "contraception",
    # why a course stopped (core.STOP_REASONS)
    "positive_test": "positive pregnancy test",
    "side_effects": "side effects",
    "patient_choice": "the patient's choice",
    "lost_to_follow_up": "lost to follow-up",
    "other": "another reason",
    "not_recorded": "no reason recorded",
    # why a dose changed (core.DOSE_CHANGE_REASONS: side_effects and other are worded as above)
    "lab_result": "an abnormal lab result",
    "weight_change": "a change of weight",
    "planned": "the planned step (titration)",
}


class Cell(NamedTuple):
    """One group's value of a figure (None: nothing to measure); ``corrected``: the value differs from the
    figure as recorded at the period's end (``then``): a record entered or corrected since changed it."""

    split: str
    group: str
    value: int | float | None
    corrected: bool = False
    then: int | float | None = None


class Figure(NamedTuple):
    """A figure as a page lays it out: its key (a row's ``measure``), words, definition, whether it is a count
    (a sum over courses, whose courses can be listed: not a median or a quartile), and one cell per group; a
    tuple of the core (the days waited by category, the steps lost windows lacked) is a figure with no cells
    whose ``entries`` are its rows (none when nothing was counted)."""

    measure: str
    label: str
    definition: str
    countable: bool
    cells: tuple[Cell, ...]
    entries: tuple[Figure, ...] = ()


class Section(NamedTuple):
    key: str
    title: str
    figures: tuple[Figure, ...]


@cache
def _skeleton() -> tuple[tuple[str, tuple[tuple[str, bool], ...]], ...]:
    """The sections of the core's measures in order, each with its fields' keys and whether the field is a
    tuple of ``(name, count)`` (read off the measures of no course, so a field the core adds is in it)."""
    empty = core.measures_of([], date.min, date.min)
    found = []
    for section in dataclasses.fields(empty):
        figures = getattr(empty, section.name)
        if dataclasses.is_dataclass(figures):
            fields = tuple(
                (f"{section.name}.{f.name}", isinstance(getattr(figures, f.name), tuple))
                for f in dataclasses.fields(figures)
            )
            found.append((section.name, fields))
    return tuple(found)


def _tuples() -> frozenset[str]:
    return frozenset(key for _, fields in _skeleton() for key, is_tuple in fields if is_tuple)


_ENTRY = re.compile(r"[A-Z0-9_]+|[a-z0-9_]+")  # an entry of a tuple is a code: a step, an alert, a reason


def _parent(measure: str) -> str | None:
    """The tuple a row's key is an entry of; None for no tuple, or an entry that is no code (words typed
    into an address are no figure, and would otherwise be shown as one)."""
    return next(
        (
            key
            for key in _tuples()
            if measure.startswith(f"{key}.") and _ENTRY.fullmatch(measure[len(key) + 1 :])
        ),
        None,
    )


def definition_of(measure: str) -> str | None:
    """The definition of a row's measure key (a tuple's entry: its parent's); None for no measure."""
    if measure in DEFINITIONS and measure not in _tuples():
        return DEFINITIONS[measure]
    parent = _parent(measure)
    return DEFINITIONS[parent] if parent is not None else None


def is_count(measure: str) -> bool:
    """Whether the figure is a sum over courses (the courses behind it can be listed)."""
    return definition_of(measure) is not None and not _is_statistic(measure)


def label_of(measure: str) -> str:
    """The words for a figure: a tuple's entry is its name's (``ENTRY_LABELS``)."""
    if measure in LABELS:
        return LABELS[measure]
    parent = _parent(measure)
    if parent is not None:
        name = measure[len(parent) + 1 :]
        return ENTRY_LABELS.get(name, _words(name).lower() if name.isupper() or "_" in name else name)
    return _words(measure.rpartition(".")[2])


def section_title(section: str) -> str:
    return SECTION_TITLES.get(section, _words(section))


def _words(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:].lower() if text.isupper() else text[:1].upper() + text[1:]


def layout(
    shown: Sequence[Group | GroupFigures],
    reference: Group | GroupFigures | None = None,
    then: Sequence[GroupFigures] | None = None,
) -> list[Section]:
    """The figures of the ``shown`` groups side by side, section by section in the core's order; a tuple's
    entries in the order of the ``reference`` group's rows (the practice's, which holds every entry of its
    groups; the first shown group's by default). ``then``: the groups' figures as recorded at the period's
    end (``recorded_figures``), each cell marked where its value differs (a group not there then had none)."""
    values = [_values(g) for g in shown]
    earlier = {(g.split, g.name): _values(g) for g in then or ()}
    before = [earlier.get((g.split, g.name), {}) for g in shown]

    def cells(key: str, missing: int | None) -> tuple[Cell, ...]:
        found = []
        for g, now, was in zip(shown, values, before, strict=True):
            value, old = now.get(key, missing), was.get(key, missing)
            found.append(Cell(g.split, g.name, value, then is not None and value != old, old))
        return tuple(found)

    reference = reference or (shown[0] if shown else None)
    order = [r.measure for r in measure_rows("", "", reference.measures)] if reference is not None else []
    sections: list[Section] = []
    for section, fields in _skeleton():
        figures: list[Figure] = []
        for key, is_tuple in fields:
            if not is_tuple:
                figures.append(Figure(key, label_of(key), DEFINITIONS[key], is_count(key), cells(key, None)))
                continue
            names = list(dict.fromkeys(m for m in order if m.startswith(f"{key}.")))
            names += [m for v in values + before for m in v if m.startswith(f"{key}.") and m not in names]
            entries = tuple(
                Figure(name, label_of(name), DEFINITIONS[key], is_count(name), cells(name, 0))
                for name in names
            )
            figures.append(Figure(key, label_of(key), DEFINITIONS[key], False, (), entries))
        sections.append(Section(section, section_title(section), tuple(figures)))
    return sections


def _values(group: Group | GroupFigures) -> dict[str, int | float | None]:
    return {row.measure: row.value for row in measure_rows(group.split, group.name, group.measures)}


def month_to_date(text: str, today: date) -> tuple[date, date, date]:
    """The month ``YYYY-MM`` as a report measures it on ``today``: its first day, its last day measured (the
    month's last, or ``today`` while it runs: a later day is not yet known, and a replay through it would
    count windows still open as lost) and its last; a ValueError in words for no month or one to come."""
    first, last = month_period(text)
    if first > today:
        raise ValueError(f"{text} has not begun (today is {today.isoformat()})")
    return first, min(last, today), last


def trend_of(measured: Sequence[Measured], periods: Sequence[tuple[date, date]]) -> list[core.Measures]:
    """The practice's measures of each period from outcomes already read (``outcomes`` through a day on or
    after the last period's end): ``trend`` without reading them again."""
    kept = [m.outcome for m in measured]
    return [core.measures_of(kept, start, end) for start, end in periods]


def course_splits(found: Sequence[Group]) -> dict[int, dict[str, str]]:
    """Each course's group in each split (``groups``' answer): course id → split → group name."""
    splits: dict[int, dict[str, str]] = defaultdict(dict)
    for group in found:
        for m in group.courses:
            splits[m.course.pk][group.split] = group.name
    return dict(splits)


def figure_keys(measures: core.Measures) -> list[str]:
    """The keys of the counts of ``measures``' rows (those ``course_figures`` gives), in the rows' order."""
    return [row.measure for row in measure_rows("", "", measures) if not _is_statistic(row.measure)]


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula is quoted (CSV injection), as the
    audit log's export does (a group is a prescriber's name, which staff type)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class Compared(NamedTuple):
    """A published figure (``core.COMPARISONS``) beside the practice's own of a period: ``how`` says how the
    practice's figure is counted, or why isotrack does not measure it (``measured`` False); the share is
    None when nothing was counted in the period."""

    key: str
    label: str
    published: str
    source: str
    how: str
    measured: bool
    numerator: int | None
    denominator: int | None
    share: float | None


def compared(measures: core.Measures) -> list[Compared]:
    """Each published figure of ``core.COMPARISONS`` with the practice's comparable share of ``measures``."""
    found: list[Compared] = []
    for item in core.COMPARISONS:
        numerator = denominator = None
        if item.counts is not None:
            numerator, denominator = item.counts(measures)
        found.append(
            Compared(
                item.key,
                item.label,
                item.published,
                item.source,
                item.practice,
                item.counts is not None,
                numerator,
                denominator,
                item.share(measures),
            )
        )
    return found


class ReportPage(NamedTuple):
    """A page of the printable report: the practice's figures, or one prescriber's beside the practice's."""

    group: Group
    sections: list[Section]


def monthly_report(practice: Practice, start: date, end: date, month_end: date) -> dict[str, Any]:
    """What the printable report shows (``web/quality/report.html``, rendered the same by the page and by
    ``isotrack report --format html``): the practice's page, then one page per prescriber with the
    practice's figures beside theirs. ``end`` is the month's last day, or the practice's today while the
    month runs (``month_end`` then says it is a part of the month)."""
    measured = outcomes(practice, end)
    found = groups(practice, start, end, measured)
    whole = found[0]
    then = recorded_figures(practice, start, end)
    pages = [ReportPage(whole, layout([whole], then=then))]
    pages += [ReportPage(g, layout([g, whole], whole, then)) for g in found if g.split == "prescriber"]
    return {
        "practice": practice,
        "start": start,
        "end": end,
        "as_recorded": then is not None,
        "began": began(practice)
        if then is None and end == month_end and began_after(practice, end)
        else None,
        "to_date": end < month_end,
        "printed": practice_today(practice),
        "pages": pages,
        "disclaimer": DISCLAIMER,
    }


# --- The dashboard's kept figures ---------------------------------------------------------------------------
# The dashboard sums every course's outcome for each group of each split and for each of the twelve months:
# at 5,000 courses that is seconds of work per look. Its figures are kept (``QualityFigures``, one row per
# practice and period) with the fingerprint of what they were computed from, and shown again while the
# practice's fingerprint is the same: one aggregate query and one row read, whatever the practice's size.
# The fingerprint moves with any write to a course's records (the worklist lines' generations: every write
# moves its patient's, in its own transaction), a course or a line added, the engine's source and the
# practice's rules and policy (``basis``), the prescribers' names (a group's name), and the kept figures'
# shape (``FIGURES_FORMAT``). It is read before the outcomes the figures are computed from, so figures
# computed while a write lands are labelled with the older fingerprint and computed again at the next look;
# never shown as newer than they are.


class GroupFigures(NamedTuple):
    """One group's measures of the period and how many of the report's courses are in the group."""

    split: str
    name: str
    measures: core.Measures
    course_count: int


class Figures(NamedTuple):
    """A dashboard's figures: the groups of every split (the practice's first, as ``groups`` orders them),
    the trend's months (``trend_periods``) and their measures, and when they were computed."""

    groups: list[GroupFigures]
    months: list[tuple[date, date]]
    trend: list[core.Measures]
    computed_at: datetime


def trend_periods(end: date) -> list[tuple[date, date]]:
    """The ``TREND_MONTHS`` months up to the one holding ``end`` (none before ``EARLIEST``), the last one
    measured through ``end``."""
    return [p for p in month_periods(end, TREND_MONTHS) if p[0] >= EARLIEST]


def fingerprint(practice: Practice) -> str:
    """What a dashboard's kept figures were computed from (see above), read from the database (the practice's
    row too: a ``practice`` read minutes ago may hold settings changed since): three small queries."""
    current = Practice.objects.get(pk=practice.pk)
    lines = Course.objects.filter(patient__practice=practice).aggregate(
        courses=Count("id"), lines=Count("worklist_entry"), generations=Sum("worklist_entry__generation")
    )
    names = list(
        StaffUser.objects.filter(practice=practice)
        .order_by("pk")
        .values_list("pk", "username", "first_name", "last_name", "credentials")
    )
    text = json.dumps([FIGURES_FORMAT, _code_digest(), basis(current), lines, names], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def _code_digest() -> str:
    """A digest of the clinic's code the figures depend on besides the core's (``basis`` has that): which
    courses a report takes and how they close, the rows → facts mapping, the groups' names and labels."""
    digest = hashlib.sha256()
    for module in (__file__, records.__file__, models.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def dashboard_figures(practice: Practice, start: date, end: date) -> Figures:
    """The figures of the period from ``start`` through ``end`` and the trend up to ``end``: the kept ones
    when their fingerprint is the practice's, computed (``outcomes``, ``groups``, ``trend_of``) otherwise,
    and kept when the fingerprint read again after computing is the one read before (settings changed and
    changed back while they were computed would otherwise serve figures of the passing settings)."""
    mark = fingerprint(practice)
    kept = QualityFigures.objects.filter(
        practice=practice, start=start, end=end, as_recorded=False, fingerprint=mark
    ).first()
    if kept is not None:
        try:
            return _figures_from_json(kept.figures, end, kept.computed_at)
        except (ValueError, KeyError, TypeError, AttributeError):  # kept in another shape: computed again
            pass
    measured = outcomes(practice, end)
    months = trend_periods(end)
    figures = Figures(
        [
            GroupFigures(g.split, g.name, g.measures, len(g.courses))
            for g in groups(practice, start, end, measured)
        ],
        months,
        trend_of(measured, months),
        timezone.now(),  # the real time, as the audit's: when the figures were computed
    )
    if fingerprint(practice) != mark:
        return figures  # something changed while they were computed: shown, not kept
    _keep(practice, start, end, False, mark, _figures_to_json(figures), figures.computed_at)
    return figures


def _keep(
    practice: Practice, start: date, end: date, as_recorded: bool, mark: str, data: dict, at: datetime
) -> None:
    """Keeps a period's figures (replacing those kept of the same kind); any period may be asked for, so a
    practice keeps its ``KEEP_PERIODS`` most recently computed ones only."""
    QualityFigures.objects.bulk_create(
        [
            QualityFigures(
                practice=practice,
                start=start,
                end=end,
                as_recorded=as_recorded,
                fingerprint=mark,
                figures=data,
                computed_at=at,
            )
        ],
        update_conflicts=True,
        unique_fields=["practice", "start", "end", "as_recorded"],
        update_fields=["fingerprint", "figures", "computed_at"],
    )
    newest = QualityFigures.objects.filter(practice=practice).order_by("-computed_at", "-id")
    QualityFigures.objects.filter(
        practice=practice, id__in=newest.values_list("id", flat=True)[KEEP_PERIODS:]
    ).delete()


def recorded_fingerprint(practice: Practice) -> str:
    """What a period's figures as recorded at its end were computed from: the engine's source and the clinic
    code's, the prescribers' names and the kept shape. Records entered, voided or edited later are not read
    by them (``outcomes_as_recorded``), so those never move it."""
    names = list(
        StaffUser.objects.filter(practice=practice)
        .order_by("pk")
        .values_list("pk", "username", "first_name", "last_name", "credentials")
    )
    text = json.dumps(
        [FIGURES_FORMAT, "as recorded", _code_digest(), worklist_entries.engine_digest(), names], default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def recorded_figures(practice: Practice, start: date, end: date) -> list[GroupFigures] | None:
    """The period's groups' figures from the records as they stood at the end of ``end``
    (``outcomes_as_recorded``), kept once computed (``QualityFigures.as_recorded``); a page shows a figure
    that differs from them as changed since (``layout``'s ``then``). None for a period that has not ended
    (``end`` is the practice's today or later), which has no "then" yet, and for one that ended before the
    practice began keeping its records in isotrack (``began``): its history was entered afterwards (the
    demo, an import of the practice's spreadsheets), and every figure would read as entered late."""
    if end >= practice_today(practice):
        return None
    if began(practice) is None or began_after(practice, end):
        return None
    mark = recorded_fingerprint(practice)
    kept = QualityFigures.objects.filter(
        practice=practice, start=start, end=end, as_recorded=True, fingerprint=mark
    ).first()
    if kept is not None:
        try:
            return _groups_from_json(kept.figures)
        except (ValueError, KeyError, TypeError, AttributeError):  # kept in another shape: computed again
            pass
    found = [
        GroupFigures(g.split, g.name, g.measures, len(g.courses))
        for g in groups(practice, start, end, outcomes_as_recorded(practice, end))
    ]
    data = {"format": FIGURES_FORMAT, "groups": _groups_to_json(found)}
    _keep(practice, start, end, True, mark, data, timezone.now())
    return found


def began(practice: Practice) -> datetime | None:
    """When the practice's records in isotrack began, as far as a period's "then" can tell (None: none yet):
    the first record of a patient, or the practice's latest import of its spreadsheets, whichever is later (an
    import brings history that was not in isotrack before it)."""
    trail = AuditEvent.objects.filter(practice=practice).order_by("at").values_list("at", flat=True)
    first = trail.filter(patient__isnull=False).first()
    imported = trail.filter(action=EventCode.PRACTICE_IMPORT).last()
    return max(first, imported) if first is not None and imported is not None else first or imported


def began_after(practice: Practice, end: date) -> bool:
    """Whether the practice's records began (``began``) after the end of ``end`` in its time zone."""
    first = began(practice)
    return first is not None and first > datetime.combine(end, time.max, tzinfo=ZoneInfo(practice.time_zone))


def refresh_figures(practice: Practice, today: date) -> None:
    """The nightly job's part: the default period's figures (the last ``DEFAULT_DAYS`` days through
    ``today``) computed ahead of the day's first look, and the last whole month's as recorded at its end
    (the printed report's); kept figures computed more than ``KEEP_FIGURES`` ago removed (a period looked at
    again is computed again)."""
    dashboard_figures(practice, today - timedelta(days=DEFAULT_DAYS - 1), today)
    last = today.replace(day=1) - timedelta(days=1)
    recorded_figures(practice, last.replace(day=1), last)
    QualityFigures.objects.filter(practice=practice, computed_at__lt=timezone.now() - KEEP_FIGURES).delete()


def _figures_to_json(figures: Figures) -> dict[str, Any]:
    return {
        "format": FIGURES_FORMAT,
        "groups": _groups_to_json(figures.groups),
        "trend": [core.measures_to_json(m) for m in figures.trend],
    }


def _groups_to_json(found: Sequence[GroupFigures]) -> list[list[Any]]:
    return [[g.split, g.name, g.course_count, core.measures_to_json(g.measures)] for g in found]


def _groups_from_json(data: dict[str, Any]) -> list[GroupFigures]:
    if data.get("format") != FIGURES_FORMAT:
        raise ValueError(f"figures of format {data.get('format')!r}, not {FIGURES_FORMAT}")
    found = [
        GroupFigures(str(split), str(name), core.measures_from_json(kept), int(count))
        for split, name, count, kept in data["groups"]
    ]
    if not found or found[0].split != PRACTICE_GROUP:
        raise ValueError("figures without the practice's")
    return found


def _figures_from_json(data: dict[str, Any], end: date, computed_at: datetime) -> Figures:
    found = _groups_from_json(data)
    months = trend_periods(end)
    trend = [core.measures_from_json(m) for m in data["trend"]]
    if [(m.start, m.end) for m in trend] != months:
        raise ValueError("figures of another trend")
    return Figures(found, months, trend, computed_at)


# --- The figures' CSV (`isotrack report`, /quality/measures.csv) --------------------------------------------

CSV_HEADER = ("split", "group", "measure", "value", "definition")
AS_RECORDED_HEADER = "as_recorded_then"


def measures_table(practice: Practice, start: date, end: date, as_recorded: bool = False) -> list[tuple]:
    """The figures' CSV, header first: one row per figure of every group (``report_rows``); with
    ``as_recorded``, a sixth column, each figure from the records as they stood at the end of ``end``
    (``outcomes_as_recorded``: every course replayed, nothing kept, so it takes longer), and a row for a
    figure of then that no longer is (a group whose course was voided since): a later entry or correction
    shows as a difference between the two columns, not as a rewrite of the period."""
    rows = report_rows(practice, start, end)
    if not as_recorded:
        return [CSV_HEADER, *((r.split, csv_cell(r.group), r.measure, _cell(r), r.definition) for r in rows)]
    then = {
        (row.split, row.group, row.measure): row
        for group in groups(practice, start, end, outcomes_as_recorded(practice, end))
        for row in measure_rows(group.split, group.name, group.measures)
    }
    table: list[tuple] = [(*CSV_HEADER, AS_RECORDED_HEADER)]
    for row in rows:
        earlier = then.pop((row.split, row.group, row.measure), None)
        shown = "" if earlier is None else _cell(earlier)
        table.append((row.split, csv_cell(row.group), row.measure, _cell(row), row.definition, shown))
    for row in then.values():
        table.append((row.split, csv_cell(row.group), row.measure, "", row.definition, _cell(row)))
    return table


def _cell(row: Row) -> int | float | str:
    return "" if row.value is None else row.value
