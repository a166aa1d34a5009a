"""Lab results from outside (a lab interface, an EHR): a CSV file or a FHIR Bundle of Observations becomes lab
results on the right course, all or nothing per file.

- Each row names the patient by MRN (CSV `mrn`; FHIR `subject.identifier.value`, or `subject.reference`
  `Patient/<isotrack uuid>`), the test by LOINC (reference.md section 4), a value, a unit and a date.
- The course is the patient's course running on that date (start <= date <= end), else the patient's latest
  course (baseline labs come before the first dose).
- Units: triglycerides in mmol/L are converted to mg/dL (x 88.57, LAB-TG-HIGH), the unit of the practice's
  thresholds; other lipids are kept in mg/dL or mmol/L as given (the core reads both); ALT and AST in U/L
  (IU/L is the same unit). Values are kept to 0.01.
- A row already on record (same course, test, date and value), or repeated in the file, is ignored.
- One bad row rejects the file: nothing is imported, and the report names every bad row and why.
Every result is written by `record_lab_result` (audited), in one transaction.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q

from isotrack.clinic.access import Capability, patients_of, require
from isotrack.clinic.actions.observations import record_lab_result
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.inputs import MAX_BODY_BYTES, BadInput, parse_json
from isotrack.clinic.models import (
    LOINC_BY_LAB_TEST,
    Course,
    CourseStatus,
    LabResult,
    LabTest,
    LabUnit,
    Patient,
    StaffUser,
)
from isotrack.core import plausibility

TRIGLYCERIDES_MG_DL_PER_MMOL_L = Decimal("88.57")  # LAB-TG-HIGH units: 1 mmol/L = 88.57 mg/dL
CENT = Decimal("0.01")
MAX_ROWS = 5000  # one file is one lab's batch; a bigger one is split
MAX_BYTES = MAX_BODY_BYTES  # checked before the file is read whole (the command) or parsed
LOINC_SYSTEM = "http://loinc.org"
LAB_TEST_BY_LOINC = {loinc: test for test, loinc in LOINC_BY_LAB_TEST.items()}
LIPIDS = {LabTest.TRIGLYCERIDES, LabTest.CHOLESTEROL, LabTest.HDL, LabTest.LDL}
ENZYMES = {LabTest.ALT, LabTest.AST}
# Unit spellings met in lab feeds (UCUM codes included), to the clinic's units.
UNITS = {
    "mg/dl": LabUnit.MG_DL,
    "mmol/l": LabUnit.MMOL_L,
    "u/l": LabUnit.U_L,
    "iu/l": LabUnit.U_L,
    "[iu]/l": LabUnit.U_L,
}
CSV_COLUMNS = ("mrn", "loinc", "value", "unit", "date")
CSV_OPTIONAL_COLUMNS = ("uln", "reference_low", "reference_high")
FINAL_STATUSES = {"final", "amended", "corrected"}


@dataclass(frozen=True)
class LabRow:
    """One result as the file gives it, checked for form (not yet matched to a patient)."""

    row: int
    patient: str  # an MRN, or "Patient/<uuid>"
    loinc: str
    value: Decimal
    unit: str
    day: date
    uln: Decimal | None = None
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str


@dataclass
class LabImportReport:
    imported: list[LabResult] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


class LabFileRejected(InvalidInput):
    """The file had bad rows: nothing was imported. `rejected` names each row and why."""

    def __init__(self, rejected: list[RejectedRow]) -> None:
        self.rejected = rejected
        first = "; ".join(f"row {r.row}: {r.reason}" for r in rejected[:5])
        more = f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
        super().__init__(f"Nothing imported: {first}{more}.", field="file")


# -------------------------------------------------------------------------------------------------- parsing


MAX_DIGITS_BEFORE_POINT = 7  # no lab result isotrack reads reaches 10 million: 1e999999999 is refused unread


def _decimal(text: Any, name: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{name} {str(text)[:20]!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{name} is not a number")
    if value and value.adjusted() >= MAX_DIGITS_BEFORE_POINT:
        raise ValueError(f"{name} {str(text)[:20]!r} is too large for a lab result")
    return value


def _optional_decimal(text: Any, name: str) -> Decimal | None:
    return None if text is None or str(text).strip() == "" else _decimal(text, name)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ValueError(f"date {text[:20]!r} is not an ISO date (YYYY-MM-DD)") from None


def parse_csv(content: str) -> tuple[list[LabRow], list[RejectedRow]]:
    """Rows of a CSV with a header naming mrn, loinc, value, unit, date (and optionally uln, reference_low,
    reference_high). Row numbers are line numbers: the header is row 1."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        return [], [RejectedRow(1, f"the header lacks the column(s) {', '.join(missing)}")]
    reader.fieldnames = header
    rows: list[LabRow] = []
    rejected: list[RejectedRow] = []
    for number, record in enumerate(reader, start=2):
        if None in record:
            rejected.append(RejectedRow(number, "more values than columns"))
            continue
        if not any((value or "").strip() for value in record.values()):
            continue  # a blank line
        try:
            rows.append(
                LabRow(
                    row=number,
                    patient=(record["mrn"] or "").strip(),
                    loinc=(record["loinc"] or "").strip(),
                    value=_decimal(record["value"] or "", "value"),
                    unit=(record["unit"] or "").strip(),
                    day=_day(record["date"] or ""),
                    uln=_optional_decimal(record.get("uln"), "uln"),
                    reference_low=_optional_decimal(record.get("reference_low"), "reference_low"),
                    reference_high=_optional_decimal(record.get("reference_high"), "reference_high"),
                )
            )
        except ValueError as error:
            rejected.append(RejectedRow(number, str(error)))
    return rows, rejected


def parse_fhir_bundle(data: Any) -> tuple[list[LabRow], list[RejectedRow]]:
    """Rows of a FHIR R4 Bundle of Observations; row n is the Bundle's n-th entry (1-based)."""
    from fhir.resources.R4B.observation import Observation

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return [], [RejectedRow(1, "not a FHIR Bundle (resourceType must be Bundle)")]
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        return [], [RejectedRow(1, "Bundle.entry must be a list")]
    rows: list[LabRow] = []
    rejected: list[RejectedRow] = []
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
            rejected.append(RejectedRow(number, "the entry is not an Observation"))
            continue
        try:
            observation = Observation.model_validate(resource)
        except ValueError as error:
            first = str(error).splitlines()[1:3]
            rejected.append(RejectedRow(number, "not a valid Observation: " + " ".join(first).strip()))
            continue
        try:
            rows.append(_row_of_observation(number, observation))
        except ValueError as error:
            rejected.append(RejectedRow(number, str(error)))
    return rows, rejected


def _row_of_observation(number: int, observation: Any) -> LabRow:
    if observation.status not in FINAL_STATUSES:
        raise ValueError(f"status {observation.status} is not a final result")
    codes = [c.code for c in (observation.code.coding or []) if c.system == LOINC_SYSTEM and c.code]
    if not codes:
        raise ValueError("no LOINC code (code.coding with system http://loinc.org)")
    quantity = observation.valueQuantity
    if quantity is None or quantity.value is None:
        raise ValueError("no valueQuantity.value")
    effective = observation.effectiveDateTime or (
        observation.effectivePeriod.start if observation.effectivePeriod else None
    )
    if effective is None:
        raise ValueError("no effectiveDateTime")
    if not isinstance(effective, date):  # FHIR allows a year or a month alone: a result needs its day
        raise ValueError(f"effectiveDateTime {str(effective)[:20]!r} names no day (a result needs its date)")
    day = effective.date() if isinstance(effective, datetime) else effective
    subject = observation.subject
    if subject is None or (subject.identifier is None and not subject.reference):
        raise ValueError("no subject (an MRN identifier or a Patient reference)")
    patient = subject.identifier.value if subject.identifier is not None else subject.reference
    high = low = None
    for reference in observation.referenceRange or []:
        if reference.high is not None and reference.high.value is not None:
            high = _decimal(reference.high.value, "referenceRange.high")
        if reference.low is not None and reference.low.value is not None:
            low = _decimal(reference.low.value, "referenceRange.low")
    return LabRow(
        row=number,
        patient=(patient or "").strip(),
        loinc=codes[0],
        value=_decimal(quantity.value, "valueQuantity.value"),
        unit=(quantity.code or quantity.unit or "").strip(),
        day=day,
        reference_low=low,
        reference_high=high,
    )


def parse_lab_file(content: str | bytes) -> tuple[list[LabRow], list[RejectedRow]]:
    """A FHIR Bundle (JSON) or a CSV, told apart by the first character; at most ``MAX_BYTES``."""
    if len(content) > MAX_BYTES:
        return [], [RejectedRow(1, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")]
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [RejectedRow(1, "the file is not UTF-8 text")]
    if content.lstrip().startswith("{"):
        try:
            data = parse_json(content, "the file")
        except BadInput as error:
            return [], [RejectedRow(1, error.message)]
        return parse_fhir_bundle(data)
    return parse_csv(content)


# ------------------------------------------------------------------------------------------------ importing


@dataclass(frozen=True)
class _Planned:
    row: int
    course: Course
    test: str
    day: date
    value: Decimal
    unit: str
    uln: Decimal | None
    reference_low: Decimal | None
    reference_high: Decimal | None


def _patient(actor: StaffUser, reference: str) -> Patient:
    patients = patients_of(actor)
    if reference.startswith("Patient/"):
        try:
            key = uuid.UUID(reference.removeprefix("Patient/"))
        except ValueError:
            raise ValueError(f"{reference[:60]!r} is not a reference to an isotrack patient") from None
        found = patients.filter(uuid=key).first()
    else:
        found = patients.filter(mrn=reference).first() if reference else None
    if found is None:
        raise ValueError(f"no patient {reference[:40]!r} in this practice")
    return found


def course_on(patient: Patient, day: date) -> Course | None:
    """The patient's course running on the day, else the latest one (entered-in-error ones never)."""
    courses = patient.courses.exclude(status=CourseStatus.ENTERED_IN_ERROR).order_by("-start", "-id")
    running = courses.filter(start__lte=day).filter(Q(end__isnull=True) | Q(end__gte=day)).first()
    return running or courses.first()


def _converted(test: str, value: Decimal, unit_text: str) -> tuple[Decimal, str]:
    unit = UNITS.get(unit_text.lower())
    if unit is None:
        raise ValueError(f"unit {unit_text[:20]!r} is not one isotrack reads (mg/dL, mmol/L, U/L)")
    wrong_unit = plausibility.lab_unit(test, str(unit))
    if wrong_unit is not None:
        raise ValueError(wrong_unit)  # the words of every other way a result comes in (core.plausibility)
    if test == LabTest.TRIGLYCERIDES and unit == LabUnit.MMOL_L:
        value, unit = value * TRIGLYCERIDES_MG_DL_PER_MMOL_L, LabUnit.MG_DL  # LAB-TG-HIGH
    return value.quantize(CENT, rounding=ROUND_HALF_UP), str(unit)


def _plan(actor: StaffUser, row: LabRow) -> _Planned:
    test = LAB_TEST_BY_LOINC.get(row.loinc)  # type: ignore[call-overload]
    if test is None:
        raise ValueError(f"LOINC {row.loinc[:20]!r} is not a lab isotrack tracks")
    if row.value < 0:
        raise ValueError("a result cannot be negative")
    value, unit = _converted(str(test), row.value, row.unit)
    if value >= Decimal("1000000"):
        raise ValueError("the value is too large for a lab result")
    patient = _patient(actor, row.patient)
    course = course_on(patient, row.day)
    if course is None:
        raise ValueError("the patient has no course to file the result on")
    # ALT/AST: the reference range's upper bound is the ULN the alert compares with (LAB-LFT-HIGH).
    uln = row.uln if row.uln is not None else (row.reference_high if test in ENZYMES else None)
    return _Planned(
        row.row, course, str(test), row.day, value, unit, uln, row.reference_low, row.reference_high
    )


def import_lab_rows(
    *, actor: StaffUser, rows: list[LabRow], rejected: list[RejectedRow] | None = None
) -> LabImportReport:
    """Files every row on its course, or nothing: raises LabFileRejected naming the bad rows."""
    require(actor, Capability.RECORD_OBSERVATIONS)
    rejected = list(rejected or [])
    if len(rows) + len(rejected) > MAX_ROWS:
        raise LabFileRejected([RejectedRow(MAX_ROWS + 1, f"a file holds at most {MAX_ROWS} results")])
    planned: list[_Planned] = []
    for row in rows:
        try:
            planned.append(_plan(actor, row))
        except ValueError as error:
            rejected.append(RejectedRow(row.row, str(error)))
    if rejected:
        raise LabFileRejected(sorted(rejected, key=lambda r: r.row))
    if not planned:
        raise LabFileRejected([RejectedRow(1, "the file holds no results")])
    report = LabImportReport()
    with transaction.atomic():
        seen: set[tuple[int, str, date, Decimal]] = set()
        for item in planned:
            key = (item.course.pk, item.test, item.day, item.value)
            on_record = LabResult.objects.filter(
                course=item.course, test=item.test, effective_date=item.day, value=item.value
            ).exists()
            if key in seen or on_record:
                report.duplicates += 1
                continue
            seen.add(key)
            try:
                result = record_lab_result(
                    actor=actor,
                    course=item.course,
                    test=item.test,
                    effective_date=item.day,
                    value=item.value,
                    unit=item.unit,
                    uln=item.uln,
                    reference_low=item.reference_low,
                    reference_high=item.reference_high,
                )
            except InvalidInput as error:
                raise LabFileRejected([RejectedRow(item.row, error.message)]) from error
            report.imported.append(result)
    return report


def import_lab_file(*, actor: StaffUser, content: str | bytes) -> LabImportReport:
    rows, rejected = parse_lab_file(content)
    return import_lab_rows(actor=actor, rows=rows, rejected=rejected)
