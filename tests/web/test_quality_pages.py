"""The quality report's pages (issue 16, items 2 to 4): the dashboard /quality/, the courses behind a figure,
the two CSV downloads and the printable monthly report, on a small synthetic practice with known outcomes in
October and November 2026 (and another practice whose figures must never show).

What is checked: login and who may read it (prescribers, the administrator, the auditor; not the nurse or the
front desk, and the nav link only for those who may); the figures on the page are ``report_rows``' for every
split and period; a count's courses are ``courses_behind``'s; bad input is refused beside its field with the
default period kept; the CSVs read back with the csv module; the printout is the command's HTML; and the query
count of the dashboard does not grow with the number of courses. Every person here is made up."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from isotrack.clinic import quality
from isotrack.clinic.actions.courses import end_course, start_course
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_pregnancy_test
from isotrack.clinic.actions.patients import record_weight, register_patient
from isotrack.clinic.models import Course, CourseStatus, Practice, Role, StaffUser
from tests.conftest import TODAY, make_staff

pytestmark = pytest.mark.django_db

OCTOBER = date(2026, 10, 1), date(2026, 10, 31)
DEFAULT = date(2026, 11, 2), TODAY  # the last 30 days, today (2026-12-01) included
URLS = ["quality", "quality_courses", "quality_measures_csv", "quality_courses_csv", "quality_print"]


@dataclass
class Built:
    practice: Practice
    other: Practice
    staff: dict[str, StaffUser]
    courses: dict[str, Course]


def course_of(
    actor, mrn: str, *, enrolled: date, start: date, prescriber=None, category="cannot_get_pregnant"
):
    """A synthetic patient's course, enrolled on ``enrolled``; a patient who cannot get pregnant is confirmed
    by the prescriber that day too (under the 2021 rules the 30-day window opens then)."""
    patient = register_patient(
        actor=actor,
        mrn=mrn,
        given_name="Synthetic",
        family_name=f"Person {mrn}",
        birth_date=date(1990, 1, 1) if category == "cannot_get_pregnant" else date(2004, 3, 1),
        category=category,
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
    if category == "cannot_get_pregnant":  # one who can waits for the tests before the prescriber confirms
        record_ipledge_entry(actor=actor, course=course, kind="prescriber_confirmation", day=enrolled)
    return course


def staff_of(practice: Practice, username: str, role: str, first: str, last: str) -> StaffUser:
    user = make_staff(practice, username, role)
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


def build() -> Built:
    """The practice's courses: filled in October four days after enrollment (Dr Quill's); never picked up, its
    window lost in October (Pat Ashgrove's); a positive test in October (Dr Quill's, can get pregnant);
    filled in November (Pat Ashgrove's); stopped for side effects in November (a prescriber whose name starts
    like a spreadsheet formula); one entered in error (left out). Another practice's course filled in
    October, under a prescriber named Zebulon Outerby, must never show."""
    practice = Practice.objects.create(name="Quality Dermatology (test)")
    other = Practice.objects.create(name="Elsewhere Skin Clinic (test)")
    doctor = staff_of(practice, "q-doctor", Role.PRESCRIBER, "Dana", "Quill")
    pa = staff_of(practice, "q-pa", Role.PRESCRIBER, "Pat", "Ashgrove")
    formula = staff_of(practice, "q-formula", Role.PRESCRIBER, "=HYPERLINK(1)", "Synthetic")
    staff = {
        "doctor": doctor,
        "pa": pa,
        "formula": formula,
        "admin": staff_of(practice, "q-admin", Role.PRACTICE_ADMIN, "Ada", "Admin"),
        "auditor": staff_of(practice, "q-auditor", Role.AUDITOR, "Aud", "Itor"),
        "nurse": staff_of(practice, "q-nurse", Role.NURSE, "Nell", "Nurse"),
        "desk": staff_of(practice, "q-desk", Role.FRONT_DESK, "Desi", "Desk"),
        "outsider": staff_of(other, "q-outsider", Role.PRESCRIBER, "Zebulon", "Outerby"),
    }
    filled = course_of(doctor, "Q-1", enrolled=date(2026, 10, 1), start=date(2026, 10, 6))
    record_dispense(actor=doctor, course=filled, day=date(2026, 10, 5), days_supply=30)
    lost = course_of(doctor, "Q-2", enrolled=date(2026, 9, 20), start=date(2026, 10, 15), prescriber=pa)
    positive = course_of(
        doctor, "Q-3", enrolled=date(2026, 5, 1), start=date(2026, 6, 1), category="can_get_pregnant"
    )
    record_pregnancy_test(
        actor=doctor,
        course=positive,
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 10, 20),
        result="positive",
    )
    november = course_of(doctor, "Q-4", enrolled=date(2026, 11, 1), start=date(2026, 11, 12), prescriber=pa)
    record_dispense(actor=doctor, course=november, day=date(2026, 11, 10), days_supply=30)
    stopped = course_of(formula, "Q-5", enrolled=date(2026, 9, 1), start=date(2026, 9, 4))
    record_dispense(actor=formula, course=stopped, day=date(2026, 9, 3), days_supply=30)
    end_course(
        actor=formula, course=stopped, end=date(2026, 11, 20), stopped=True, stop_reason="side_effects"
    )
    in_error = course_of(doctor, "Q-6", enrolled=date(2026, 10, 1), start=date(2026, 10, 6))
    record_dispense(actor=doctor, course=in_error, day=date(2026, 10, 3), days_supply=30)
    Course.objects.filter(pk=in_error.pk).update(status=CourseStatus.ENTERED_IN_ERROR)
    outsider = staff["outsider"]
    elsewhere = course_of(outsider, "Q-7", enrolled=date(2026, 10, 1), start=date(2026, 10, 6))
    record_dispense(actor=outsider, course=elsewhere, day=date(2026, 10, 2), days_supply=30)
    courses = {
        "filled": filled,
        "lost": lost,
        "positive": positive,
        "november": november,
        "stopped": stopped,
        "in_error": in_error,
        "elsewhere": elsewhere,
    }
    return Built(practice, other, staff, courses)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """The practices, read-only for the module, their outcomes kept once (every test reads them), rolled back
    at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        found = build()
        quality.outcomes(found.practice, TODAY)
        quality.outcomes(found.other, TODAY)
        yield found
        transaction.set_rollback(True)


def client_of(user: StaffUser) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Cells(HTMLParser):
    """The dashboard's figures: (group, measure) → the value the page shows (``data-value``), the period
    (``data-start``, ``data-end``), the courses of a courses-behind page and the error ids."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}
        self.measure = ""
        self.period: tuple[str, str] = ("", "")
        self.courses: list[str] = []
        self.parts: list[str] = []
        self.in_part = False
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-measure"):
            self.measure = found["data-measure"] or ""
        if tag == "tr" and found.get("data-course"):
            self.courses.append(found["data-course"] or "")
        if tag == "td" and "data-group" in found:
            self.values[(found["data-group"] or "", self.measure)] = found.get("data-value") or ""
        if "data-start" in found:
            self.period = (found["data-start"] or "", found["data-end"] or "")
        if tag == "td" and found.get("class") == "num" and self.courses and "data-group" not in found:
            self.in_part = True
        if tag == "p" and (found.get("id") or "").endswith("-error"):
            self.errors.append(found["id"] or "")

    def handle_data(self, data: str) -> None:
        if self.in_part:
            self.parts.append(data.strip())
            self.in_part = False


def parsed(response) -> Cells:
    cells = Cells()
    cells.feed(response.content.decode())
    return cells


# ---------------------------------------------------------------------------------------------- who may read


def test_every_quality_page_requires_login(client, built):
    for name in URLS:
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("doctor", True), ("admin", True), ("auditor", True), ("nurse", False), ("desk", False)],
)
def test_prescribers_the_administrator_and_the_auditor_read_it_and_only_they_see_the_link(
    built, who, allowed
):
    client = client_of(built.staff[who])
    for name in URLS:
        query = {"measure": "windows.closed"} if name == "quality_courses" else {}
        response = client.get(reverse(name), query)
        assert response.status_code == (200 if allowed else 403), (who, name)
    if not allowed:
        assert (
            "may not read the practice&#x27;s quality report"
            in client.get(reverse("quality")).content.decode()
        )
    page = client.get(reverse("patients")).content.decode()
    assert (f'href="{reverse("quality")}"' in page) is allowed


def test_another_practices_courses_and_prescribers_never_show(built):
    mine = client_of(built.staff["doctor"])
    for name, query in (
        ("quality", {"month": "2026-10", "split": "prescriber"}),
        ("quality_measures_csv", {"month": "2026-10"}),
        ("quality_courses_csv", {"month": "2026-10"}),
        ("quality_print", {"month": "2026-10"}),
        ("quality_courses", {"month": "2026-10", "measure": "first_fill.count"}),
    ):
        text = mine.get(reverse(name), query).content.decode()
        assert "Outerby" not in text and str(built.courses["elsewhere"].uuid) not in text, name
        assert str(built.courses["in_error"].uuid) not in text, name
    # The other practice's prescriber sees their own course and none of this practice's.
    theirs = client_of(built.staff["outsider"])
    text = theirs.get(reverse("quality"), {"month": "2026-10", "split": "prescriber"}).content.decode()
    assert "Outerby" in text and "Quill" not in text and "Ashgrove" not in text
    behind = theirs.get(
        reverse("quality_courses"),
        {"month": "2026-10", "measure": "windows.lost", "split": "prescriber", "group": "Pat Ashgrove"},
    )
    assert behind.status_code == 422 and "Person Q-2" not in behind.content.decode()
    rows = list(
        csv.reader(
            io.StringIO(theirs.get(reverse("quality_courses_csv"), {"month": "2026-10"}).content.decode())
        )
    )
    assert [row[0] for row in rows[1:]] == [str(built.courses["elsewhere"].uuid)]


# ----------------------------------------------------------------------------------------------- the figures

SPLIT_OF = {"": "practice", "practice": "practice", "prescriber": "prescriber", "category": "category"}
SPLIT_OF["age_band"] = "age band"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"month": "2026-10"},
        {"month": "2026-10", "split": "prescriber"},
        {"start": "2026-09-01", "end": "2026-11-30", "split": "category"},
        {"month": "2026-11", "split": "age_band"},
        {"month": "2026-12"},  # the month running: measured through today
    ],
)
def test_the_figures_on_the_page_are_the_report_rows(built, query):
    response = client_of(built.staff["auditor"]).get(reverse("quality"), query)
    assert response.status_code == 200
    cells = parsed(response)
    start, end = (date.fromisoformat(day) for day in cells.period)
    if not query:
        assert (start, end) == DEFAULT
    if query.get("month") == "2026-12":
        assert (start, end) == (date(2026, 12, 1), TODAY)
    split = SPLIT_OF[query.get("split", "")]
    expected = {
        (row.group, row.measure): "" if row.value is None else str(row.value)
        for row in quality.report_rows(built.practice, start, end)
        if row.split == split
    }
    assert expected and {key: cells.values.get(key) for key in expected} == expected
    extra = {key: value for key, value in cells.values.items() if key not in expected}
    assert set(extra.values()) <= {"0"}, "a group's entry the page adds (another group has it) is zero"
    assert {group for group, _ in cells.values} == {group for group, _ in expected}


def test_the_october_figures_are_the_known_outcomes(built):
    cells = parsed(client_of(built.staff["doctor"]).get(reverse("quality"), {"month": "2026-10"}))
    practice = {measure: value for (group, measure), value in cells.values.items() if group == "practice"}
    assert practice["first_fill.count"] == "1" and practice["first_fill.median_days"] == "4.0"
    assert practice["windows.lost"] == "1" and practice["windows.missing.PICK_UP"] == "1"
    assert practice["safety.positive_tests"] == "1"
    november = parsed(client_of(built.staff["doctor"]).get(reverse("quality"), {"month": "2026-11"}))
    assert november.values[("practice", "courses.stop_reasons.side_effects")] == "1"


def test_each_count_links_to_the_courses_behind_it_and_the_list_is_courses_behind(built):
    client = client_of(built.staff["doctor"])
    page = client.get(reverse("quality"), {"month": "2026-10"}).content.decode()
    links = set(re.findall(r'href="/quality/courses/\?([^"]+)"', page))
    start, end = OCTOBER
    measured = quality.outcomes(built.practice, end)
    counts = [
        row
        for row in quality.report_rows(built.practice, start, end)
        if row.split == "practice" and row.value and quality.is_count(row.measure)
    ]
    assert len(counts) >= 8
    for row in counts:
        assert any(f"measure={row.measure}" in link for link in links), row.measure
        response = client.get(reverse("quality_courses"), {"month": "2026-10", "measure": row.measure})
        assert response.status_code == 200, row.measure
        cells = parsed(response)
        behind = quality.courses_behind(measured, row.measure, start, end)
        assert cells.courses == [str(m.course.uuid) for m in behind], row.measure
        parts = [quality.course_figures(m.outcome, start, end)[row.measure] for m in behind]
        assert cells.parts == [str(part) for part in parts], row.measure
        assert sum(parts) == row.value, "a count is the sum of its courses' parts"


def test_a_groups_count_lists_that_groups_courses(built):
    client = client_of(built.staff["doctor"])
    page = client.get(reverse("quality"), {"month": "2026-10", "split": "prescriber"}).content.decode()
    assert "split=prescriber&amp;group=Pat+Ashgrove" in page
    response = client.get(
        reverse("quality_courses"),
        {"month": "2026-10", "measure": "windows.lost", "split": "prescriber", "group": "Pat Ashgrove"},
    )
    assert response.status_code == 200
    assert parsed(response).courses == [str(built.courses["lost"].uuid)]
    assert reverse("course", args=[built.courses["lost"].uuid]) in response.content.decode()


# ------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"month": "2026-13"}, "month", "2026-13 is not a valid month (YYYY-MM)."),
        ({"month": "October"}, "month", "October is not a valid month (YYYY-MM)."),
        ({"month": "2027-01"}, "month", "2027-01 has not begun (today is 2026-12-01)."),
        ({"month": "x" * 10_000}, "month", "Give a month as YYYY-MM."),
        ({"month": "1999-12"}, "month", "The report starts in 2000 at the earliest."),
        ({"month": "2026-10", "start": "2026-10-01"}, "month", "Choose a month or a first and last day"),
        ({"start": "2026-11-01"}, "end", "Give the last day too."),
        ({"end": "2026-11-01"}, "start", "Give the first day too."),
        ({"start": "2026-11-10", "end": "2026-11-01"}, "end", "The last day comes before the first."),
        (
            {"start": "2026-11-01", "end": "2027-01-01"},
            "end",
            "The period cannot end after today (2026-12-01).",
        ),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "start", "Enter a valid date."),
        ({"start": "1e999", "end": "2026-03-01"}, "start", "Enter a valid date."),
        ({"split": "zzz"}, "split", "Select a valid choice."),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_the_last_30_days_are_shown(built, query, field, words):
    response = client_of(built.staff["doctor"]).get(reverse("quality"), query)
    assert response.status_code == 422
    cells = parsed(response)
    assert f"id_{field}-error" in cells.errors
    assert words.replace("'", "&#x27;") in response.content.decode()
    assert tuple(date.fromisoformat(day) for day in cells.period) == DEFAULT
    assert cells.values[("practice", "first_fill.count")] == "1", "the default period's figures, shown"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "measure"),
        ({"measure": "windows.nope"}, "measure"),
        ({"measure": "first_fill.median_days"}, "measure"),  # a median: no courses make it up
        ({"measure": "windows.missing.<img src=x>"}, "measure"),  # words typed into the address: no code
        ({"measure": "windows.missing.PICK_UP.x"}, "measure"),
        ({"measure": "windows.lost", "split": "prescriber", "group": "Nobody Here"}, "group"),
        ({"measure": "windows.lost", "month": "2026-99"}, "month"),
        ({"measure": "windows.lost", "page": "-1"}, "page"),
    ],
)
def test_a_wrong_figure_group_or_period_for_the_courses_list_is_refused_in_words(built, query, field):
    response = client_of(built.staff["doctor"]).get(reverse("quality_courses"), query)
    assert response.status_code == 422
    assert f"id_{field}-error" in parsed(response).errors


def test_a_control_character_in_the_address_is_refused_in_words(built):
    response = client_of(built.staff["doctor"]).get(reverse("quality"), {"month": "2026-10\x00"})
    assert response.status_code == 400 and "control character" in response.content.decode()


def test_a_bad_period_for_a_csv_is_refused_in_words_not_a_file(built):
    response = client_of(built.staff["doctor"]).get(reverse("quality_courses_csv"), {"month": "2026-13"})
    assert response.status_code == 422 and response["Content-Type"].startswith("text/html")
    assert "Nothing downloaded" in response.content.decode()


# -------------------------------------------------------------------------------------------------- the CSVs


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="isotrack-quality-')
    return list(csv.reader(io.StringIO(response.content.decode(), newline="")))


def test_the_figures_csv_is_the_report_commands(built):
    response = client_of(built.staff["admin"]).get(reverse("quality_measures_csv"), {"month": "2026-10"})
    rows = read_csv(response)
    assert rows[0] == ["split", "group", "measure", "value", "definition"]
    out = io.StringIO()
    call_command("report", "--month", "2026-10", "--practice", str(built.practice.uuid), stdout=out)
    assert rows == list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert ["prescriber", "'=HYPERLINK(1) Synthetic"] in [row[:2] for row in rows], "a formula is quoted"


def test_the_figures_csv_as_recorded_is_the_report_commands_as_recorded(built):
    client = client_of(built.staff["auditor"])
    dashboard = client.get(reverse("quality"), {"month": "2026-10"}).content.decode()
    assert "month=2026-10&amp;as_recorded=1" in dashboard, "the dashboard links to it"
    response = client.get(reverse("quality_measures_csv"), {"month": "2026-10", "as_recorded": "1"})
    assert "measures-as-recorded-2026-10-01-to-2026-10-31.csv" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["split", "group", "measure", "value", "definition", "as_recorded_then"]
    out = io.StringIO()
    call_command(
        "report", "--month", "2026-10", "--practice", str(built.practice.uuid), "--as-recorded", stdout=out
    )
    assert rows == list(csv.reader(io.StringIO(out.getvalue(), newline="")))


def test_the_courses_csv_has_one_row_per_course_with_a_figure_and_no_patient(built):
    client = client_of(built.staff["admin"])
    rows = read_csv(client.get(reverse("quality_courses_csv"), {"month": "2026-10"}))
    start, end = OCTOBER
    measured = quality.outcomes(built.practice, end)
    keys = quality.figure_keys(quality.groups(built.practice, start, end, measured)[0].measures)
    assert rows[0] == ["course", "prescriber", "category", "age band", *keys]
    assert len(keys) == len(set(keys)) and "windows.missing.PICK_UP" in keys
    expected = {
        str(m.course.uuid): quality.course_figures(m.outcome, start, end)
        for m in measured
        if any(quality.course_figures(m.outcome, start, end).values())
    }
    assert [row[0] for row in rows[1:]] == list(expected), "one row per course, in the courses' order"
    for row in rows[1:]:
        assert len(row) == len(rows[0])
        figures = dict(zip(keys, row[4:], strict=True))
        assert figures == {key: str(expected[row[0]].get(key, 0)) for key in keys}
    by_course = {row[0]: row[1:4] for row in rows[1:]}
    assert by_course[str(built.courses["lost"].uuid)] == [
        "Pat Ashgrove",
        "Cannot get pregnant",
        "35 and over",
    ]
    assert by_course[str(built.courses["stopped"].uuid)][0] == "'=HYPERLINK(1) Synthetic"
    text = client.get(reverse("quality_courses_csv"), {"month": "2026-10"}).content.decode()
    assert "Person Q-" not in text and "Q-1" not in text and "Synthetic Person" not in text, "no name, no MRN"
    # The default period: November's fill and the stopped course.
    recent = read_csv(client.get(reverse("quality_courses_csv")))
    assert str(built.courses["november"].uuid) in [row[0] for row in recent]


# ---------------------------------------------------------------------------------------------- the printout


def sheets(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<article class="q-sheet[^"]*"(?: data-group="([^"]*)")? data-split="([^"]*)"', html)


def test_the_printout_is_the_practice_then_each_prescriber_and_the_command_writes_the_same(built):
    response = client_of(built.staff["auditor"]).get(reverse("quality_print"), {"month": "2026-10"})
    assert response.status_code == 200
    page = response.content.decode()
    assert sheets(page) == [
        ("practice", "practice"),
        ("=HYPERLINK(1) Synthetic", "prescriber"),  # in the order of their names
        ("Dana Quill", "prescriber"),
        ("Pat Ashgrove", "prescriber"),
        ("", "definitions"),
    ]
    assert "supports iPLEDGE and clinical judgment; it never replaces them" in page
    assert '<link rel="stylesheet" href="/static/web/quality-print.css">' in page
    out = io.StringIO()
    call_command(
        "report", "--month", "2026-10", "--practice", str(built.practice.uuid), "--format", "html", stdout=out
    )
    written = out.getvalue()
    assert written.startswith("<!doctype html>") and "<style>" in written and "<link" not in written

    def report(html: str) -> str:
        return html[html.index('<main class="q-pages">') : html.index("</main>")]

    assert report(written) == report(page), "the command writes the page's report"
    assert "@page { size: letter;" in written


def test_the_printout_of_a_bad_month_says_so_beside_the_field_and_shows_the_last_whole_month(built):
    response = client_of(built.staff["doctor"]).get(reverse("quality_print"), {"month": "2026-13"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_month-error"' in page and "2026-13 is not a valid month (YYYY-MM)." in page
    assert "November 2026: 2026-11-01 to 2026-11-30" in page
    default = client_of(built.staff["doctor"]).get(reverse("quality_print")).content.decode()
    assert "November 2026: 2026-11-01 to 2026-11-30" in default


# ----------------------------------------------------------------------------------------------- performance


def queries_of(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_dashboards_queries_do_not_grow_with_the_courses(db):
    """Three courses, six, twelve: the same number of queries to read the kept outcomes, and to replay those
    not kept yet (three new courses, then six: one batch), then to render every group, chart and month."""
    practice = Practice.objects.create(name="Counting Dermatology (test)")
    doctor = staff_of(practice, "count-doctor", Role.PRESCRIBER, "Cora", "Count")
    pa = staff_of(practice, "count-pa", Role.PRESCRIBER, "Pia", "Count")
    client = client_of(doctor)
    url = reverse("quality") + "?split=prescriber"
    made = 0

    def add(count: int) -> None:
        nonlocal made
        for number in range(made, made + count):
            course = course_of(
                doctor,
                f"C-{number}",
                enrolled=date(2026, 9, 1 + number),
                start=date(2026, 9, 14 + number),
                prescriber=pa if number % 2 else doctor,
            )
            record_dispense(actor=doctor, course=course, day=date(2026, 9, 13 + number), days_supply=30)
        made += count

    add(3)
    queries_of(client, url)  # the first request of the session (and the practice's first report)
    warm_three = queries_of(client, url)
    add(3)
    cold_three, warm_six = queries_of(client, url), queries_of(client, url)
    add(6)
    cold_six, warm_twelve = queries_of(client, url), queries_of(client, url)
    assert warm_three == warm_six == warm_twelve, (warm_three, warm_six, warm_twelve)
    assert cold_three == cold_six, (cold_three, cold_six)
    assert warm_twelve <= 12, warm_twelve
    print(
        f"\ndashboard queries: {warm_three} with 3 courses kept, {warm_six} with 6, {warm_twelve} with 12; "
        f"{cold_three} replaying 3 new courses, {cold_six} replaying 6"
    )


def test_the_dashboard_shows_kept_figures_until_a_record_changes_them(db):
    """Once computed, the page shows the kept figures (and says when they were computed); a course stopped
    through its page's action is on the next look."""
    practice = Practice.objects.create(name="Keeping Dermatology (test)")
    doctor = staff_of(practice, "keep-doctor", Role.PRESCRIBER, "Kim", "Keep")
    client = client_of(doctor)
    courses = [
        course_of(doctor, f"K-{n}", enrolled=date(2026, 11, 2 + n), start=date(2026, 11, 9 + n))
        for n in range(2)
    ]
    for course in courses:
        record_dispense(actor=doctor, course=course, day=course.start, days_supply=30)
    first = client.get(reverse("quality"))
    computed = re.search(
        r"Figures computed (\d{4}-\d{2}-\d{2} \d{2}:\d{2} (EST|EDT))", first.content.decode()
    )
    assert computed, "when, in the practice's time zone (America/New_York)"
    assert parsed(first).values[("practice", "courses.stopped")] == "0"
    stop = client.post(
        reverse("course_end", args=[courses[0].uuid]),
        {"end": "2026-11-30", "outcome": "stop", "stop_reason": "side_effects"},
    )
    assert stop.status_code in (200, 302, 303), stop.status_code
    assert Course.objects.get(pk=courses[0].pk).status == CourseStatus.REVOKED
    after = parsed(client.get(reverse("quality")))
    assert after.values[("practice", "courses.stopped")] == "1"
    assert after.values[("practice", "courses.stop_reasons.side_effects")] == "1"


def test_a_practice_with_no_course_gets_every_page_with_nothing_counted(db):
    practice = Practice.objects.create(name="Empty Dermatology (test)")
    client = client_of(staff_of(practice, "empty-doctor", Role.PRESCRIBER, "Eve", "Empty"))
    by_prescriber = client.get(reverse("quality"), {"split": "prescriber"}).content.decode()
    assert "No course of the report falls in a group of this split." in by_prescriber
    whole = parsed(client.get(reverse("quality")))
    assert whole.values[("practice", "windows.closed")] == "0"
    assert whole.values[("practice", "first_fill.median_days")] == ""
    assert client.get(reverse("quality_print")).status_code == 200
    assert read_csv(client.get(reverse("quality_courses_csv")))[1:] == []
    assert len(read_csv(client.get(reverse("quality_measures_csv")))) > 1
