"""`isotrack report` (issue 16, item 4): a tiny practice with known outcomes in October 2026, its quality
report as CSV read back with the csv module (the header, the groups, exact figures, and the practice's rows
equal to the core's measures over the same courses' facts); bad input exits 2 with one line. Synthetic data
only: every person here is made up."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from isotrack import core
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_pregnancy_test
from isotrack.clinic.actions.patients import record_weight, register_patient
from isotrack.clinic.models import (
    Course,
    CourseStatus,
    Dispense,
    DoseSegment,
    IpledgeEntry,
    PregnancyTest,
    QualityOutcome,
    Role,
    Weight,
)
from isotrack.clinic.quality import month_period
from isotrack.clinic.records import facts_by_course
from tests.conftest import make_staff
from tests.test_configuration import run_isotrack

OCTOBER = date(2026, 10, 1), date(2026, 10, 31)  # before 2026-11-15: the 2021 rules in force (AUTO)


def cannot_get_pregnant(actor, mrn: str, *, enrolled: date, start: date, prescriber=None):
    """A course of a patient who cannot get pregnant, enrolled and counseled (the prescriber's entry) on
    ``enrolled``: under the 2021 rules its 30-day window opens that day."""
    patient = register_patient(
        actor=actor,
        mrn=mrn,
        given_name="Synthetic",
        family_name=f"Patient {mrn}",
        birth_date=date(1990, 1, 1),
        category="cannot_get_pregnant",
    )
    record_weight(actor=actor, patient=patient, effective_date=enrolled, value=Decimal("60.0"), unit="kg")
    course = start_course(
        actor=actor,
        patient=patient,
        prescriber=prescriber or actor,
        start=start,
        mg_per_day=Decimal(60),
        product="conventional",
    )
    record_ipledge_entry(actor=actor, course=course, kind="enrollment", day=enrolled)
    record_ipledge_entry(actor=actor, course=course, kind="prescriber_confirmation", day=enrolled)
    return course


@pytest.fixture
def second(practice):
    return make_staff(practice, "second", Role.PRESCRIBER)


@pytest.fixture
def october(prescriber, second, course, outsider):
    """The practice's courses: filled on 2026-10-05 four days after enrollment (the prescriber's); never
    picked up, its window lost in October (the second prescriber's); the fixture's course (the prescriber's,
    never filled) with a positive test on 2026-10-20; one entered in error, filled in October (left out).
    Another practice's course filled in October must not count either."""
    filled = cannot_get_pregnant(prescriber, "Q-1", enrolled=date(2026, 10, 1), start=date(2026, 10, 6))
    record_dispense(actor=prescriber, course=filled, day=date(2026, 10, 5), days_supply=30)
    lost = cannot_get_pregnant(
        prescriber, "Q-2", enrolled=date(2026, 9, 20), start=date(2026, 10, 15), prescriber=second
    )
    record_pregnancy_test(
        actor=prescriber,
        course=course,
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 10, 20),
        result="positive",
    )
    in_error = cannot_get_pregnant(prescriber, "Q-3", enrolled=date(2026, 10, 1), start=date(2026, 10, 6))
    record_dispense(actor=prescriber, course=in_error, day=date(2026, 10, 3), days_supply=30)
    # No action marks a course entered in error yet: the status is set as a correction would leave it.
    Course.objects.filter(pk=in_error.pk).update(status=CourseStatus.ENTERED_IN_ERROR)
    elsewhere = cannot_get_pregnant(outsider, "Q-4", enrolled=date(2026, 10, 1), start=date(2026, 10, 6))
    record_dispense(actor=outsider, course=elsewhere, day=date(2026, 10, 2), days_supply=30)
    return {"filled": filled, "lost": lost, "positive": course}


def report(*args: str) -> list[list[str]]:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


def practice_rows(rows: list[list[str]]) -> dict[str, str]:
    return {measure: value for split, _, measure, value, _ in rows[1:] if split == "practice"}


def test_the_report_is_the_cores_measures_of_the_practice_and_of_each_prescriber(
    october, practice, prescriber, second
):
    rows = report("--month", "2026-10", "--practice", str(practice.uuid))
    assert rows[0] == ["split", "group", "measure", "value", "definition"]
    assert {(row[0], row[1]) for row in rows[1:]} == {
        ("practice", "practice"),
        ("prescriber", prescriber.display_name),
        ("prescriber", second.display_name),
        ("category", "Cannot get pregnant"),
        ("category", "Can get pregnant"),  # the fixture's course
        ("age band", "35 and over"),  # born 1990: 36 in 2026
        ("age band", "18-24"),
    }
    assert all(len(row) == 5 and row[4] for row in rows[1:]), "every row has its definition"
    figures = practice_rows(rows)
    # One first fill (four days, all ready and not picked up): not the course entered in error, nor the other
    # practice's; one window filled, one lost for want of the pick-up; the positive test stopped its course.
    assert {measure: figures[measure] for measure in EXPECTED} == EXPECTED
    assert figures["dosing.median_mg_per_kg"] == "", "a median of no course is an empty value"
    by_group: dict[str, dict[str, str]] = {}
    for _, group, measure, value, _ in rows[1:]:
        by_group.setdefault(group, {})[measure] = value
    assert by_group[prescriber.display_name]["first_fill.count"] == "1"
    assert by_group[second.display_name]["windows.missing.PICK_UP"] == "1"
    assert by_group[second.display_name]["first_fill.median_days"] == ""
    # The practice's rows are the core's measures over the same courses' facts (read the one way), every
    # figure once: a tuple's entries one row each, floats to one decimal, None empty.
    courses = [october["filled"], october["lost"], october["positive"]]
    measured = core.measures(list(facts_by_course([c.pk for c in courses]).values()), *OCTOBER)
    expected: dict[str, str] = {}
    for section, part in dataclasses.asdict(measured).items():
        for name, value in part.items() if isinstance(part, dict) else ():  # not the period's dates
            if isinstance(value, tuple | list):
                expected.update({f"{section}.{name}.{key}": str(count) for key, count in value})
            else:
                shown = round(value, 1) if isinstance(value, float) else value
                expected[f"{section}.{name}"] = "" if value is None else str(shown)
    assert len([row for row in rows[1:] if row[0] == "practice"]) == len(figures), "no measure twice"
    assert figures == expected


EXPECTED = {
    "first_fill.count": "1",
    "first_fill.unmeasured": "0",
    "first_fill.median_days": "4.0",
    "first_fill.min_days": "4",
    "first_fill.max_days": "4",
    "first_fill.waited.ready_not_filled": "4",
    "windows.closed": "2",
    "windows.filled": "1",
    "windows.lost": "1",
    "windows.missing.PICK_UP": "1",
    "safety.courses_with_positive_test": "1",
    "safety.positive_tests": "1",
    "courses.started": "1",  # a first fill in October: the lost window's course was never filled
    "courses.stopped": "1",
    "courses.active": "1",
}


def test_the_only_practice_needs_no_uuid_and_a_month_before_anything_happened_counts_nothing(
    practice, course
):
    rows = report("--month", "2026-04")  # enrolled on 2026-05-01, planned to start in June
    figures = practice_rows(rows)
    assert figures["courses.started"] == "0" and figures["first_fill.count"] == "0"
    assert {value for measure, value in figures.items() if "median" not in measure} <= {"0", ""}
    assert {row[0] for row in rows[1:]} == {"practice", "prescriber", "category", "age band"}


def test_the_report_writes_no_record_and_a_second_report_replays_nothing(october, practice):
    """The first report keeps each course's outcome (``QualityOutcome``, derived) and writes nothing else: no
    record, no audit row, no worklist line; the second only reads. A write to a patient's records makes their
    courses' outcomes stale: the next report replays those and keeps them again."""
    with CaptureQueriesContext(connection) as queries:
        first = report("--month", "2026-10", "--practice", str(practice.uuid))
    sent = [query["sql"] for query in queries.captured_queries]
    writes = [sql for sql in sent if not sql.lstrip().upper().startswith("SELECT")]
    assert writes and all("clinic_qualityoutcome" in sql for sql in writes), writes
    assert QualityOutcome.objects.filter(practice=practice).count() == 3
    with CaptureQueriesContext(connection) as queries:
        assert report("--month", "2026-10", "--practice", str(practice.uuid)) == first
    statements = {q["sql"].lstrip().split(None, 1)[0].upper() for q in queries.captured_queries}
    assert statements == {"SELECT"}, statements
    kept = QualityOutcome.objects.get(course=october["filled"])
    record_pregnancy_test(
        actor=october["filled"].prescriber,
        course=october["filled"],
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 10, 28),
        result="positive",
    )
    after = practice_rows(report("--month", "2026-10", "--practice", str(practice.uuid)))
    assert after["safety.positive_tests"] == "2", "the new test is counted: the outcome was replayed"
    assert QualityOutcome.objects.get(course=october["filled"]).generation > kept.generation


def test_the_html_report_is_the_practice_a_sheet_per_prescriber_and_the_definitions(
    october, practice, prescriber, second
):
    """`--format html`: the printable report as one file that stands alone (its stylesheet inline), the
    practice's figures first, then each prescriber's beside the practice's, then the definitions."""
    out = io.StringIO()
    call_command(
        "report", "--month", "2026-10", "--practice", str(practice.uuid), "--format", "html", stdout=out
    )
    html = out.getvalue()
    assert html.startswith("<!doctype html>") and "<style>" in html and "<link" not in html
    assert re.findall(
        r'<article class="q-sheet[^"]*"(?: data-group="([^"]*)")? data-split="([^"]*)"', html
    ) == [
        ("practice", "practice"),
        *sorted((p.display_name, "prescriber") for p in (prescriber, second)),
        ("", "definitions"),
    ]
    practice_sheet = html[: html.index('data-split="prescriber"')]
    lost = re.search(
        r'<tr data-measure="windows.lost">\s*<th scope="row">[^<]*</th>\s*<td class="num">(\d+)</td>',
        practice_sheet,
    )
    assert lost is not None and lost.group(1) == EXPECTED["windows.lost"]
    assert "it never replaces them" in html and "October 2026: 2026-10-01 to 2026-10-31" in html


def test_a_month_is_its_first_and_last_day():
    assert month_period("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_period("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    for text in ("2026-13", "2026-00", "0000-01", "2026-1", "2026-10-01", "Oct 2026", "२०२६-१०", ""):
        with pytest.raises(ValueError, match="is not a valid month"):
            month_period(text)


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (("--month", "2026-13"), "--month: 2026-13 is not a valid month (YYYY-MM)"),
        (("--month", "October"), "--month: October is not a valid month (YYYY-MM)"),
        (("--month", "2026-10\nx"), "--month: '2026-10\\nx' is not a valid month (YYYY-MM)"),
        (("--month", "2027-01", "--format", "html"), "--month: 2027-01 has not begun (today is 2026-12-01)"),
        (("--month", "2026-10", "--format", "pdf"), "--format: pdf is not a format (csv, html)"),
        (
            ("--month", "2026-10", "--format", "html", "--as-recorded"),
            "--as-recorded: only with --format csv",
        ),
        (("--month", "2027-01"), "--month: 2027-01 has not begun (today is 2026-12-01)"),
        (
            ("--month", "2026-10", "--practice", "no-such\npractice"),
            "--practice: no practice 'no-such\\npractice' (give its UUID)",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(practice, arguments, line):
    with pytest.raises(CommandError) as refused:
        call_command("report", *arguments, stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert str(refused.value) == line


def test_a_practice_must_be_named_unless_it_is_the_only_one(db, practice, other_practice):
    with pytest.raises(CommandError) as refused:
        call_command("report", "--month", "2026-10", stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert str(refused.value) == "--practice: the database holds several practices; give one's UUID"
    unknown = "0c6a1f3e-4b7d-4c1e-9a55-2f0d7e1b9c44"
    with pytest.raises(CommandError) as refused:
        call_command("report", "--month", "2026-10", "--practice", unknown, stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert str(refused.value) == f"--practice: no practice '{unknown}' (give its UUID)"
    assert practice_rows(report("--month", "2026-10", "--practice", str(other_practice.uuid)))


def test_no_practice_at_all_exits_2(db):
    with pytest.raises(CommandError) as refused:
        call_command("report", "--month", "2026-10", stdout=io.StringIO())
    assert (refused.value.returncode, str(refused.value)) == (2, "--practice: the database holds no practice")


def test_the_command_line_prints_one_line_on_stderr():
    """As an operator runs it: the command is `isotrack report`, and a bad month or an unknown format is one
    line on standard error and exit status 2 (checked before the database is opened)."""
    for arguments, line in (
        (("--month", "2026-13"), "CommandError: --month: 2026-13 is not a valid month (YYYY-MM)"),
        (
            ("--month", "2026-10", "--format", "pdf"),
            "CommandError: --format: pdf is not a format (csv, html)",
        ),
    ):
        result = run_isotrack("report", *arguments, DEBUG="1")
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [line]
        assert result.stdout == ""


def test_as_recorded_shows_a_later_entry_as_a_difference_not_a_rewrite(october, practice, prescriber):
    """``--as-recorded``: beside each figure, the figure from the records as they stood at the end of the
    month. Everything of October was entered in October but a positive test entered on November 3rd."""
    late = record_pregnancy_test(
        actor=prescriber,
        course=october["filled"],
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 10, 28),
        result="positive",
    )
    in_october = datetime(2026, 10, 15, 12, tzinfo=UTC)
    Course.objects.update(created_at=in_october)
    for model in (Dispense, PregnancyTest, IpledgeEntry, DoseSegment, Weight):
        model.all_objects.update(recorded_at=in_october)
    PregnancyTest.all_objects.filter(pk=late.pk).update(recorded_at=datetime(2026, 11, 3, 9, tzinfo=UTC))
    rows = report("--month", "2026-10", "--practice", str(practice.uuid), "--as-recorded")
    assert rows[0] == ["split", "group", "measure", "value", "definition", "as_recorded_then"]
    figures = {row[2]: (row[3], row[5]) for row in rows[1:] if row[0] == "practice"}
    assert figures["safety.positive_tests"] == ("2", "1"), "entered after the month: a difference"
    assert figures["windows.lost"] == ("1", "1") and figures["first_fill.count"] == ("1", "1")
    assert all(len(row) == 6 for row in rows)
