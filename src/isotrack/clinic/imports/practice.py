"""A practice's current patients and their courses from a spreadsheet (CSV, one row per course), all or
nothing (``isotrack import-practice``, the Import page).

Each row becomes a patient and a course file: ``core.parse_course_file`` checks the file's form (dates,
methods, test purposes, an impossible history), then the patient is registered and the course imported by the
same actions as by hand (``register_patient``, ``imports.courses.import_course``): an imported course is
judged exactly as the same course entered by hand, and every record has its audit row.

The preview does the whole import in one transaction and rolls it back, so what it shows (every course's next
step, every row's problems at once) is what the import would do. The import itself does it again and keeps it
only if no row has a problem, with one ``practice.import`` audit row naming the file (its SHA-256) and the
courses it created. Rows are numbered as a spreadsheet shows them: the header is row 1.

The columns (``COLUMNS``) are documented on the Import page and in docs/practice-import.md; list cells hold
entries separated by ``;``, each entry's parts by spaces, its date first.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability, import_authority, practice_id_of, require
from isotrack.clinic.actions.base import record_practice_event
from isotrack.clinic.actions.patients import register_patient, weight_in_kg
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.imports.courses import import_course
from isotrack.clinic.inputs import control_character
from isotrack.clinic.models import (
    AdministrativeGender,
    Course,
    PendingImport,
    Practice,
    Role,
    StaffUser,
    WeightUnit,
)
from isotrack.clinic.queries import judged_in_words, practice_today
from isotrack.clinic.records import course_facts, under_settings
from isotrack.core import plausibility

MAX_ROWS = 100  # courses a file; and at most MAX_RECORDS records in all, so that a preview and its import
MAX_RECORDS = 1500  # each stay well within a request's time (bench/practice_import.py)
LAB_TESTS = ("triglycerides", "cholesterol", "hdl", "ldl", "alt", "ast")  # the tests the engine judges
PRODUCTS = ("conventional", "micronized")  # the course file's (DOSE-LD)
LAB_UNITS = {"mg/dl": "mg/dL", "mmol/l": "mmol/L", "u/l": "U/L", "iu/l": "U/L"}
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: str
    example: str


COLUMNS = (
    Column("mrn", True, "the practice's medical record number", "MRN-1001"),
    Column("given_name", True, "given name", "Alex"),
    Column("family_name", True, "family name", "Example"),
    Column("birth_date", True, "date of birth (YYYY-MM-DD)", "2004-03-01"),
    Column(
        "gender",
        False,
        "administrative gender: female, male, other or unknown (any case); empty: unknown. Never the iPLEDGE "
        "category",
        "female",
    ),
    Column("category", True, "iPLEDGE category: can_get_pregnant or cannot_get_pregnant", "can_get_pregnant"),
    Column("ipledge_id", False, "the patient's iPLEDGE identification number", "1234567890"),
    Column("email", False, "email address, for reminders", ""),
    Column("phone", False, "phone number", ""),
    Column("prescriber", True, "the prescriber's isotrack username or NPI", "doctor"),
    Column("start", True, "the first day of dosing (on or before today)", "2026-09-01"),
    Column(
        "product",
        True,
        "conventional (any non-micronized product) or micronized (Absorica LD)",
        "conventional",
    ),
    Column(
        "doses",
        True,
        "daily doses: 'DATE MG [REASON]' from that date on; the first on the start; a later one may say why "
        "the dose changed (side_effects, lab_result, weight_change, planned, other)",
        "2026-09-01 40; 2026-10-01 60",
    ),
    Column("target_mg_per_kg", False, "the course's own cumulative target; empty: the practice's", ""),
    Column("weights", True, "weights: 'DATE VALUE kg' or 'DATE VALUE lb'", "2026-08-20 62 kg"),
    Column(
        "contraception",
        False,
        "methods: 'FROM METHOD' or 'FROM METHOD TO' (the codes of course files: iud_copper, male_condom...)",
        "2026-07-01 iud_copper; 2026-07-01 male_condom",
    ),
    Column("enrolled", False, "the day the patient was registered in iPLEDGE", "2026-07-01"),
    Column(
        "pregnancy_tests",
        False,
        "tests: 'DATE PURPOSE SETTING RESULT [VERIFIED_BY]' (screening, confirmation, monthly...; lab, "
        "office, home; negative or positive; a home test names the nurse or prescriber who verified it, "
        "without whom it does not qualify)",
        "2026-07-02 screening office negative; 2026-08-01 confirmation lab negative; "
        "2026-10-28 monthly lab negative",
    ),
    Column(
        "prescriber_confirmations", False, "the prescriber's iPLEDGE entries: dates", "2026-08-01; 2026-10-28"
    ),
    Column(
        "patient_attestations",
        False,
        "the patient's answers to the questions: dates",
        "2026-08-02; 2026-10-29",
    ),
    Column("fills", False, "pick-ups: 'DATE DAYS_SUPPLY'", "2026-08-03 30; 2026-10-30 30"),
    Column(
        "labs",
        False,
        "results: 'DATE TEST VALUE UNIT [ULN]' (triglycerides, cholesterol, hdl, ldl in mg/dL or mmol/L; "
        "alt, ast in U/L)",
        "2026-08-01 triglycerides 140 mg/dL; 2026-08-01 alt 22 U/L",
    ),
    Column("end", False, "the last day of dosing, when it is set", ""),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
REQUIRED = tuple(c.name for c in COLUMNS if c.required)


@dataclass(frozen=True, order=True)
class RowProblem:
    row: int  # as a spreadsheet shows it: the header is row 1
    column: str  # "" for the whole row or file
    message: str
    mrn: str = ""


@dataclass(frozen=True)
class ImportedCourse:
    row: int
    mrn: str
    patient_name: str
    category: str
    prescriber: str
    start: date
    phase: str
    next_step: str
    projected_completion: date | None
    course_uuid: str
    alerts: tuple[str, ...] = ()  # the course's alerts in words, most urgent first (ALERT-URGENCY)


@dataclass
class PracticeImport:
    sha256: str
    rows: int = 0
    courses: list[ImportedCourse] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    imported: bool = False


class PracticeFileRejected(InvalidInput):
    """Rows had problems: nothing was imported. ``problems`` names each row, its column and why."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        first = "; ".join(problem_words(p).rstrip(".") for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"Nothing imported: {first}{more}.", field="file")


def problem_words(problem: RowProblem) -> str:
    """A problem in words: `row 18 (MRN X), start: ...`."""
    where = f"row {problem.row}" + (f" (MRN {problem.mrn})" if problem.mrn else "")
    return (
        f"{where}, {problem.column}: {problem.message}" if problem.column else f"{where}: {problem.message}"
    )


def template_csv() -> str:
    """The template: the header alone (the examples are on the page and in the docs, where no one imports
    them by mistake)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(COLUMN_NAMES)
    return out.getvalue()


# -------------------------------------------------------------------------------------------------- reading


class _Bad(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


@dataclass
class _Row:
    """One row read: the patient's registration, the prescriber's name and the course file (as JSON data,
    with where each of its list entries came from: ``events[3]`` -> ("fills", 2))."""

    number: int
    cells: dict[str, str]
    course_file: core.CourseFile | None = None
    gender: str = AdministrativeGender.UNKNOWN
    origin: dict[str, tuple[str, int]] = field(default_factory=dict)


def _entries(cells: dict[str, str], column: str) -> list[tuple[int, str, list[str]]]:
    """A list cell's entries: (1-based number, text, parts)."""
    found: list[tuple[int, str, list[str]]] = []
    for text in (cells.get(column) or "").split(";"):
        text = " ".join(text.split())
        if text:
            found.append((len(found) + 1, text, text.split(" ")))
    return found


def _number(text: str, column: str, entry: str) -> int | float:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Bad(column, f"{entry}: {text[:20]!r} is not a number") from None
    if not value.is_finite() or abs(value) > Decimal(10) ** 9:
        raise _Bad(column, f"{entry}: {text[:20]!r} is not a number a course can have")
    return int(value) if value == value.to_integral_value() else float(value)


def _parts(text: str, parts: list[str], column: str, entry: str, low: int, high: int) -> None:
    if not low <= len(parts) <= high:
        shape = next(c.meaning for c in COLUMNS if c.name == column).split(": ", 1)[-1]
        raise _Bad(column, f"{entry} {text[:60]!r} is not of the form {shape}")


def _gender(text: str) -> str:
    """The administrative gender of a ``gender`` cell, in any case; empty: unknown (nobody said)."""
    gender = text.strip().lower() or AdministrativeGender.UNKNOWN
    if gender not in AdministrativeGender.values:
        allowed = ", ".join(AdministrativeGender.values)
        raise _Bad("gender", f"{text[:20]!r} is not a gender isotrack reads ({allowed}; empty: unknown)")
    return gender


def _read_row(number: int, cells: dict[str, str], rules: str, verifiers: dict[str, str]) -> _Row:
    """The row's course file, checked for form by the core; raises _Bad naming the column."""
    row = _Row(number, cells)
    for name in REQUIRED:
        if not cells.get(name) or name in ("doses", "weights") and not _entries(cells, name):
            raise _Bad(name, "required, and empty")
    try:
        date.fromisoformat(cells["birth_date"])
    except ValueError:
        raise _Bad("birth_date", f"{cells['birth_date'][:20]!r} is not a date (YYYY-MM-DD)") from None
    row.gender = _gender(cells.get("gender", ""))
    product = cells["product"].lower()
    if product not in PRODUCTS:
        raise _Bad(
            "product", f"{cells['product'][:20]!r} is not a product isotrack reads ({', '.join(PRODUCTS)})"
        )
    data: dict[str, Any] = {
        "rules": rules,
        "patient": {"category": cells["category"], "birth_date": cells["birth_date"]},
        "course": {"start": cells["start"], "end": cells.get("end") or None},
        "weights": [],
        "doses": [],
        "contraception": [],
        "events": [],
    }

    def add(key: str, item: dict[str, Any], column: str, entry: int) -> None:
        row.origin[f"{key}[{len(data[key])}]"] = (column, entry)
        data[key].append(item)

    for n, text, parts in _entries(cells, "doses"):
        _parts(text, parts, "doses", f"entry {n}", 2, 4)
        rest = [
            word.lower() for word in (parts[3:] if len(parts) > 2 and parts[2].lower() == "mg" else parts[2:])
        ]
        if len(rest) > 1 or rest and rest[0] not in core.DOSE_CHANGE_REASONS:
            raise _Bad(
                "doses",
                f"entry {n}: {' '.join(parts[2:])[:30]!r} is neither 'mg' nor a reason for the change "
                f"({', '.join(core.DOSE_CHANGE_REASONS)})",
            )
        dose = {"from": parts[0], "mg_per_day": _number(parts[1], "doses", f"entry {n}")}
        if rest and parts[0] == cells["start"].strip():
            raise _Bad("doses", f"entry {n}: the first dose starts the course; only a change has a reason")
        add("doses", dose | {"product": product} | ({"reason": rest[0]} if rest else {}), "doses", n)
    for n, text, parts in _entries(cells, "weights"):
        _parts(text, parts, "weights", f"entry {n}", 3, 3)
        unit = parts[2].lower()
        if unit not in WeightUnit.values:
            raise _Bad("weights", f"entry {n}: {parts[2][:10]!r} is not a weight unit (kg or lb)")
        value = Decimal(str(_number(parts[1], "weights", f"entry {n}")))
        try:
            kg = weight_in_kg(value, unit)
        except InvalidInput as error:
            raise _Bad("weights", f"entry {n}: {error.message}") from None
        add("weights", {"date": parts[0], "kg": float(kg)}, "weights", n)
    for n, text, parts in _entries(cells, "contraception"):
        _parts(text, parts, "contraception", f"entry {n}", 2, 3)
        use: dict[str, Any] = {
            "from": parts[0],
            "method": parts[1],
            "to": parts[2] if len(parts) == 3 else None,
        }
        add("contraception", use, "contraception", n)
    if cells.get("enrolled"):
        add("events", {"type": "enrollment", "date": cells["enrolled"].strip()}, "enrolled", 1)
    for n, text, parts in _entries(cells, "pregnancy_tests"):
        _parts(text, parts, "pregnancy_tests", f"entry {n}", 4, 5)
        test: dict[str, Any] = {
            "type": "pregnancy_test",
            "date": parts[0],
            "purpose": parts[1],
            "setting": parts[2],
        }
        verifier = None
        if len(parts) == 5:
            verifier = verifiers.get(parts[4].lower())
            if verifier is None:
                raise _Bad(
                    "pregnancy_tests",
                    f"entry {n}: {parts[4][:40]!r} is not an active prescriber or nurse of the practice (who "
                    "verifies a home test)",
                )
        test |= {"result": parts[3], "verified_by": verifier}
        add("events", test, "pregnancy_tests", n)
    for column, kind in (
        ("prescriber_confirmations", "prescriber_confirmation"),
        ("patient_attestations", "patient_attestation"),
    ):
        for n, text, parts in _entries(cells, column):
            _parts(text, parts, column, f"entry {n}", 1, 1)
            add("events", {"type": kind, "date": parts[0]}, column, n)
    for n, text, parts in _entries(cells, "fills"):
        _parts(text, parts, "fills", f"entry {n}", 2, 2)
        supply = _number(parts[1], "fills", f"entry {n}")
        add("events", {"type": "dispense", "date": parts[0], "days_supply": supply}, "fills", n)
    for n, text, parts in _entries(cells, "labs"):
        _parts(text, parts, "labs", f"entry {n}", 4, 5)
        test_name, lab_unit = parts[1].lower(), LAB_UNITS.get(parts[3].lower())
        if test_name not in LAB_TESTS:
            raise _Bad(
                "labs", f"entry {n}: {parts[1][:20]!r} is not a test isotrack judges ({', '.join(LAB_TESTS)})"
            )
        if lab_unit is None:
            raise _Bad(
                "labs", f"entry {n}: {parts[3][:20]!r} is not a unit isotrack reads (mg/dL, mmol/L, U/L)"
            )
        lab: dict[str, Any] = {"type": "lab", "date": parts[0], "test": test_name, "unit": lab_unit}
        lab["value"] = _number(parts[2], "labs", f"entry {n}")
        if len(parts) == 5:
            lab["uln"] = _number(parts[4], "labs", f"entry {n}")
        add("events", lab, "labs", n)
    try:
        row.course_file = core.parse_course_file(data)
    except core.CourseFileError as error:
        column, entry = _column_of(row, error.path)
        raise _Bad(column, f"entry {entry}: {error.problem}" if entry else error.problem) from None
    if min(d.start for d in row.course_file.doses) != row.course_file.course.start:
        raise _Bad("doses", f"the first dose must be dated the start ({row.course_file.course.start})")
    return row


_FIELD_COLUMNS = {
    "course.start": "start",
    "course.end": "end",
    "patient.category": "category",
    "patient.birth_date": "birth_date",
    "prescriber": "prescriber",
}


def _column_of(row: _Row, path: str) -> tuple[str, int]:
    """The column (and list entry) of a course-file path: ``events[3].date`` -> ("fills", 2)."""
    found = re.match(r"[a-z_]+\[\d+\]", path or "")
    if found and found.group(0) in row.origin:
        return row.origin[found.group(0)]
    for prefix, column in _FIELD_COLUMNS.items():
        if (path or "").startswith(prefix):
            return column, 0
    root = re.split(r"[.\[]", path or "")[0]
    return (root if root in COLUMN_NAMES else ""), 0


def read_csv(content: str | bytes) -> tuple[list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """The rows (their spreadsheet row number and cells by column name; blank rows left out), or the file's
    problem (row 1: the header, or the row the CSV breaks at)."""
    if len(content) > MAX_BYTES:
        return [], [RowProblem(1, "", f"the file is larger than {MAX_BYTES // 1_000_000} MB")]
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [RowProblem(1, "", "the file is not UTF-8 text (save the spreadsheet as CSV UTF-8)")]
    if "\x00" in content:
        return [], [RowProblem(1, "", "the file is not text (it holds a NUL character)")]
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff"), newline=""), strict=True)  # CRLF, LF or CR
    lines: list[list[str]] = []
    try:
        lines.extend(reader)
    except csv.Error as error:
        where = len(lines) + 1
        if "field larger than field limit" in str(error):
            limit = f"{csv.field_size_limit():,}"
            return [], [
                RowProblem(where, "", f"a cell is longer than {limit} characters (a quote left open?)")
            ]
        return [], [
            RowProblem(where, "", f"the CSV breaks here ({error}): a quote left open, or text after one?")
        ]
    if not lines:
        return [], [RowProblem(1, "", "the file is empty")]
    header = [name.strip().lower() for name in lines[0]]
    problem = _header_problem(header)
    if problem:
        return [], [RowProblem(1, "", problem)]
    rows: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(lines[1:], start=2):
        if not any(value.strip() for value in values):
            continue  # a blank row (spreadsheets leave them at the end)
        if len(rows) == MAX_ROWS:
            return [], [
                RowProblem(number, "", f"a file holds at most {MAX_ROWS} courses; import it in parts")
            ]
        if len(values) > len(header) and any(v.strip() for v in values[len(header) :]):
            rows.append((number, {"": "more values than the header has columns"}))
            continue
        unnamed = [
            n
            for n, (name, value) in enumerate(zip(header, values, strict=False), start=1)
            if not name and value.strip()
        ]
        if unnamed:
            rows.append((number, {"": f"text under a column the header does not name (column {unnamed[0]})"}))
            continue
        controlled = [
            (name, named)
            for name, value in zip(header, values, strict=False)
            if (named := control_character(value)) is not None
        ]
        if controlled:
            name, named = controlled[0]
            rows.append((number, {"": f"the {name} column holds a control character ({named})"}))
            continue
        rows.append(
            (number, {name: value.strip() for name, value in zip(header, values, strict=False) if name})
        )
    return rows, []


LISTS = (
    "doses",
    "weights",
    "contraception",
    "pregnancy_tests",
    "prescriber_confirmations",
    "patient_attestations",
    "fills",
    "labs",
)


def records_in(cells: dict[str, str]) -> int:
    """How many records a row makes: the patient, the course, an enrollment, and each list entry."""
    return 3 + sum(len(_entries(cells, column)) for column in LISTS)


def _header_problem(header: list[str]) -> str:
    """What is wrong with the header row, if anything."""
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        return "the columns are separated by semicolons or tabs: save the spreadsheet as CSV (commas)"
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name and name not in COLUMN_NAMES]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    parts = [f"lacks the column(s) {', '.join(missing)}"] if missing else []
    parts += [f"has column(s) isotrack does not read: {', '.join(unknown)[:200]}"] if unknown else []
    parts += [f"names a column twice: {', '.join(repeated)}"] if repeated else []
    return "the header " + " and ".join(parts) if parts else ""


# ------------------------------------------------------------------------------------------------ importing


class _RollBack(Exception):
    """Ends the import's transaction without keeping anything (a preview, or a row with a problem)."""


def import_practice(*, actor: StaffUser, content: str | bytes, confirm: bool) -> PracticeImport:
    """Previews (``confirm=False``: nothing is kept) or imports the file. An import with any problem raises
    PracticeFileRejected naming every row's problems; nothing is written."""
    require(actor, Capability.IMPORT_RECORDS)
    raw = content.encode() if isinstance(content, str) else content
    report = PracticeImport(sha256=hashlib.sha256(raw).hexdigest())
    cell_rows, report.problems = read_csv(content)
    report.rows = len(cell_rows)
    records = sum(records_in(cells) for _, cells in cell_rows)
    if records > MAX_RECORDS:
        words = (
            f"the file holds {records} records (patients, doses, tests, pick-ups...); at most {MAX_RECORDS}"
        )
        report.problems.append(RowProblem(1, "", words + " a file: import it in parts"))
    if not cell_rows and not report.problems:
        report.problems.append(RowProblem(1, "", "the file holds no courses"))
    if report.problems:
        if confirm:
            raise PracticeFileRejected(report.problems)
        return report
    practice = Practice.objects.get(pk=practice_id_of(actor))
    prescribers, verifiers = _prescribers(practice), _verifiers(practice)
    first_of: dict[tuple[str, str], int] = {}
    try:
        with transaction.atomic(), import_authority(actor):
            for number, cells in cell_rows:
                mrn, row = cells.get("mrn", "")[:40], _Row(number, cells)
                try:
                    if "" in cells:
                        raise _Bad("", cells[""])
                    for column, words in (("mrn", "MRN"), ("ipledge_id", "iPLEDGE ID")):
                        value = cells.get(column, "")
                        if value and first_of.setdefault((column, value), number) != number:
                            first = first_of[(column, value)]
                            raise _Bad(column, f"row {first} has this {words} too: one row per patient")
                    row = _read_row(number, cells, practice.rules, verifiers)
                    with transaction.atomic():
                        report.courses.append(_import_row(actor, practice, prescribers, row))
                except _Bad as bad:
                    report.problems.append(RowProblem(number, bad.column, bad.message, mrn))
                except InvalidInput as error:
                    column, entry = _column_of(row, error.field or "")
                    column = column or (error.field if error.field in COLUMN_NAMES else "") or ""
                    words = _COURSE_FILE_PATH.sub(
                        "", error.message
                    )  # the file's columns, not a course file's
                    message = f"entry {entry}: {words}" if entry else words
                    report.problems.append(RowProblem(number, column, message, mrn))
            if report.problems or not confirm:
                raise _RollBack
            record_practice_event(
                actor=actor,
                action=EventCode.PRACTICE_IMPORT,
                instance=practice,
                after={
                    "sha256": report.sha256,
                    "rows": report.rows,
                    "courses": [c.course_uuid for c in report.courses],
                },
            )
            report.imported = True
    except _RollBack:
        pass
    report.problems.sort()
    if confirm and report.problems:
        raise PracticeFileRejected(report.problems)
    return report


_COURSE_FILE_PATH = re.compile(r"^[a-z_]+(\[\d+\])?(\.[a-z_]+)?: ")


PENDING_IMPORT_HOURS = 24  # a previewed file waits this long for its administrator to import it


def keep_for_import(*, actor: StaffUser, content: bytes, report: PracticeImport) -> PendingImport:
    """Keeps a file whose preview had no problem until its administrator imports it (the Import page): the
    member's earlier previews, and everyone's older than ``PENDING_IMPORT_HOURS``, are dropped."""
    require(actor, Capability.IMPORT_RECORDS)
    assert not report.problems and report.sha256 == hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        forget_expired_previews()
        PendingImport.objects.filter(created_by=actor).delete()
        return PendingImport.objects.create(
            practice_id=practice_id_of(actor), created_by=actor, sha256=report.sha256, content=content
        )


def forget_expired_previews() -> int:
    """Drops the previewed files older than ``PENDING_IMPORT_HOURS`` (they hold patients' data): on every
    preview, import and visit of the Import page, and in the nightly ``refresh-worklist``."""
    expired = timezone.now() - timedelta(hours=PENDING_IMPORT_HOURS)
    return PendingImport.objects.filter(created_at__lt=expired).delete()[0]


def import_pending(*, actor: StaffUser, pending_id: str) -> PracticeImport:
    """Imports the file the member previewed (``keep_for_import``), and forgets it, in one transaction; raises
    RecordNotFound for a preview that is not theirs, was imported already or expired, PracticeFileRejected if
    the practice changed since the preview so that a row no longer imports (nothing is written)."""
    require(actor, Capability.IMPORT_RECORDS)
    forget_expired_previews()
    expired = timezone.now() - timedelta(hours=PENDING_IMPORT_HOURS)
    try:
        key = uuid.UUID(str(pending_id))
    except ValueError:
        key = None
    with transaction.atomic():
        pending = (
            PendingImport.objects.select_for_update()
            .filter(uuid=key, created_by=actor, practice_id=practice_id_of(actor), created_at__gte=expired)
            .first()
            if key
            else None
        )
        if pending is None:
            raise RecordNotFound(
                "This preview was imported already, replaced by a later preview or has expired: upload the "
                "file again."
            )
        report = import_practice(actor=actor, content=bytes(pending.content), confirm=True)
        pending.delete()
    return report


def _verifiers(practice: Practice) -> dict[str, str]:
    """Who may verify a home pregnancy test (IPL-TEST-HOME): the practice's active prescribers and nurses, by
    their username in any case."""
    members = StaffUser.objects.filter(
        practice=practice, is_active=True, role__in=(Role.PRESCRIBER, Role.NURSE)
    )
    return {username.lower(): username for username in members.values_list("username", flat=True)}


def _prescribers(practice: Practice) -> dict[str, StaffUser]:
    """The practice's active prescribers by username and by NPI."""
    found: dict[str, StaffUser] = {}
    for user in StaffUser.objects.filter(practice=practice, role=Role.PRESCRIBER, is_active=True):
        found[user.username.lower()] = user
        if user.npi:
            found[user.npi] = user
    return found


def _import_row(
    actor: StaffUser, practice: Practice, prescribers: dict[str, StaffUser], row: _Row
) -> ImportedCourse:
    cells, course_file = row.cells, row.course_file
    assert course_file is not None
    prescriber = prescribers.get(cells["prescriber"].lower())
    if prescriber is None:
        raise _Bad("prescriber", f"no active prescriber {cells['prescriber'][:40]!r} (a username or an NPI)")
    # An import brings courses under way; a course yet to start is enrolled on its page.
    started = plausibility.not_after_today(
        course_file.course.start, practice_today(practice), "A course's start"
    )
    if started is not None:
        raise _Bad("start", started + " Import courses under way; enroll a course yet to start on its page.")
    target: Decimal | None = None
    if cells.get("target_mg_per_kg"):
        target = Decimal(str(_number(cells["target_mg_per_kg"], "target_mg_per_kg", "the target")))
        course = Course(target_mg_per_kg=target)
        try:  # the course's own target as a course takes it: its range (DOSE-TARGET), then its digits
            for constraint in Course._meta.constraints:
                if getattr(constraint, "violation_error_code", None) == "target_mg_per_kg":
                    constraint.validate(Course, course)
            Course._meta.get_field("target_mg_per_kg").clean(target, course)
        except ValidationError as error:
            raise _Bad("target_mg_per_kg", " ".join(error.messages)) from None
    patient = register_patient(
        actor=actor,
        mrn=cells["mrn"],
        given_name=cells["given_name"],
        family_name=cells["family_name"],
        birth_date=date.fromisoformat(cells["birth_date"]),
        gender=row.gender,
        category=cells["category"],
        ipledge_id=cells.get("ipledge_id", ""),
        email=cells.get("email", ""),
        phone=cells.get("phone", ""),
    )
    course_file = under_settings({0: course_file}, practice, {})[0]  # the practice's policy and rule choice
    course = import_course(
        actor=actor,
        patient=patient,
        course_file=course_file,
        prescriber=prescriber,
        target_mg_per_kg=target,
    )
    return _judged(row.number, course, practice)


def _judged(number: int, course: Course, practice: Practice) -> ImportedCourse:
    """The imported course as the core judges it today: what the preview shows."""
    course_file = course_facts(course)
    today = practice_today(practice)
    next_step, completion = judged_in_words(course_file, today)
    evaluation = core.evaluate(course_file, today)
    patient = course.patient
    return ImportedCourse(
        row=number,
        mrn=patient.mrn,
        patient_name=f"{patient.family_name}, {patient.given_name}",
        category=patient.get_category_display(),
        prescriber=course.prescriber.display_name,
        start=course.start,
        phase=core.PHASE_LABELS[evaluation.phase],
        next_step=next_step,
        projected_completion=completion,
        course_uuid=str(course.uuid),
        alerts=tuple(finding.action.label for finding in evaluation.findings),  # most urgent first
    )
