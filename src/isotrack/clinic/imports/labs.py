"""Lab results from outside (a lab interface, an EHR), as labs send them: an HL7 v2 ORU^R01 message, a FHIR
Bundle holding Observations, or a CSV. Every result lands on the right course, all or nothing per file.

Formats (told apart by the first characters: ``MSH|`` HL7 v2, ``{`` FHIR JSON, anything else CSV):

- HL7 v2 ORU^R01 (read with the maintained ``hl7`` parser): segments end with CR, LF or CR LF; a file may
  hold several messages (batch FHS/BHS/BTS/FTS segments are skipped). MSH-9 must be ORU^R01 and MSH-11 (the
  processing id) P: a training (T) or debugging (D) message, or one without MSH-11, is refused. Each OBX is a
  result of the patient of the PID before it: OBX-3 the LOINC (coding system ``LN``, first or alternate
  triplet), OBX-5 the value (OBX-2 NM, SN with no comparator and no second number, or CE/CWE/ST/TX for a
  pregnancy test; one value: a repeat (``~``) or a second component of a number or a string is refused),
  OBX-6 the unit, OBX-7 the reference range (``low-high``, ``<high``, ``<=high``, ``>low``), OBX-8 the
  abnormal flags (read on a pregnancy test), OBX-11 the status (F final or C corrected; W and D, a result the
  lab withdrew, and any other refused), OBX-14 the date, else OBR-7 (a pregnancy test: OBR-7, the
  collection, first). A result's row is its segment's line in the file (MSH is line 1). PID-7, when given,
  must be the patient's birth date.
- FHIR R4: a Bundle of type collection, transaction, batch, searchset, message or document. Observations
  are the results (row n = entry n); a panel Observation (``hasMember``, no value), a DiagnosticReport, the
  Patient and any other resource are listed as ignored. A subject's ``reference`` to an entry of the Bundle
  (``urn:uuid:...``, ``Patient/<id>``, or its fullUrl) is matched by that Patient's identifiers (and its
  ``birthDate`` must be the patient's); an Observation without subject takes the subject of the
  DiagnosticReport that lists it in ``result``. A ``valueQuantity`` with a ``comparator`` is a bound, refused.
- CSV: a header naming mrn, loinc, value, unit, date (optional uln, reference_low, reference_high,
  identifier_system). Rows are line numbers: the header is row 1.

The patient is matched by identifier system and value. This practice's systems are its MRN system,
``urn:isotrack:mrn:<practice uuid>`` (``clinic.identifiers``, the one the FHIR server serves), and the iPLEDGE
id's, ``urn:isotrack:ipledge-id``. An HL7 assigning authority (PID-3.4) is this practice's when its namespace
id or its universal id is one of those URNs or one of the other names the practice gave its MRNs
(``Practice.mrn_aliases``, in the practice settings: e.g. the namespace id its labs write, an OID bare or as
``urn:oid:``). An identifier without system or authority (the CSV ``mrn``, PID-3 without PID-3.4, a FHIR
identifier without system) is the practice's MRN only when its type (PID-3.5, ``identifier.type``) is MR or
none; of another type (PI, SS...) it is left out. Every identifier of this practice's systems, every MRN
without authority and a ``Patient/<isotrack uuid>`` reference must each name a patient of the practice, and
the same one: else the row is refused, naming them. An identifier of another system or assigning authority is
left out beside one of this practice's; alone, it refuses the row naming it (an MRN of another authority is
not our MRN).

- The course (``core.filing``): a lab's is the course running on its date (start <= date <= end), else the
  first course that starts after it (baseline labs come before the first dose), else the one that ended last
  before it. A pregnancy test's is the course running on its date, else the one that ended at most 35 days
  before it (the test 30 days after the last dose), else the one that starts at most 60 days after it (a
  screening test); else, or when both of the last two fit, the row is refused (enter the test by hand).
- A date with an offset (``2026-11-21T02:00:00Z``, ``20261121020000+0000``) is read in the practice's time
  zone; one without, as written. A result dated after the practice's today (its time zone), or before the
  patient's birth, is refused.
- Units: triglycerides in mmol/L are converted to mg/dL (x 88.57, LAB-TG-HIGH), the unit of the practice's
  thresholds, and so are their reference range and ULN (the stored range is in the stored unit); other lipids
  are kept in mg/dL or mmol/L as given (the core reads both); ALT and AST in U/L (IU/L is the same unit).
  Values are kept to 0.01.
- Pregnancy tests: LOINC 2106-3 (urine hCG) and 2118-8 (serum hCG), qualitative, become pregnancy tests with
  setting ``lab`` (``record_pregnancy_test``), dated by the specimen's date. Every code, display, text and
  string of the result must be one of the words of ``RESULT_WORDS`` (Negative, NEG, not detected, Positive,
  POS, detected; SNOMED CT 260385009 / 10828004), compared trimmed and case-insensitive, and all must say the
  same; every abnormal flag or interpretation must be one of ``FLAG_WORDS`` and agree with it (a Negative
  flagged A, AA, H, HH, POS or DET, a Positive flagged N, NEG or ND, is refused). Anything else
  (indeterminate, a number, "weakly positive") refuses the row. The purpose is the one the core expects on
  that day (``core.expected_test_purpose``: screening, confirmation, monthly, end of course, 30 days after),
  the file's tests written in date order; for a patient whose category is not "can get pregnant", or a
  course a positive test has stopped, the core expects none and the row is refused (enter it by hand). Tests
  of one course and day saying Negative and Positive (in the file, or one in the file and one on record) are
  refused. A quantitative hCG (LOINC 19080-1, 21198-7) is refused: its cut-off is the reader's.
- A result already on record (a lab: same course, test, date and value; a pregnancy test: same course, date
  and result), or repeated in the file, is ignored. A corrected result (HL7 C, FHIR amended or corrected) of a
  result on record (or in the file) of the same course, test and date with another value or result is refused:
  it is corrected in isotrack (the record's Correct), never added beside it.
- Another result of the panels labs send with isotrack's (``PANEL_COMPANIONS``: a lipid panel's VLDL, a
  hepatic panel's albumin, a metabolic panel's sodium; an HL7 OBX or a FHIR Observation) is listed as
  ignored, read no further. Any other LOINC refuses its row (a triglyceride or an hCG under a code isotrack
  does not read must not be left out unseen), and so does an Observation of another code holding results in
  ``component``. A CSV is made for isotrack: a LOINC it does not read refuses the row.
- One bad row rejects the file: nothing is imported, and the report names every bad row and why. A file
  imported lists every row: imported, duplicate or ignored.
Every result is written by `record_lab_result` or `record_pregnancy_test` (audited), in one transaction.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

import hl7
import hl7.containers
import hl7.util
from django.db import transaction
from django.db.models import Q, QuerySet

from isotrack import core
from isotrack.clinic.access import Capability, patients_of, practice_of, require
from isotrack.clinic.actions.observations import record_lab_result, record_pregnancy_test
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.identifiers import IPLEDGE_ID_SYSTEM, mrn_system, mrn_systems
from isotrack.clinic.inputs import MAX_BODY_BYTES, BadInput, control_character, parse_json
from isotrack.clinic.models import (
    LOINC_BY_LAB_TEST,
    Course,
    CourseStatus,
    LabResult,
    LabTest,
    LabUnit,
    Patient,
    PatientCategory,
    PregnancyTest,
    StaffUser,
    TestSetting,
)
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import course_facts
from isotrack.core import filing, plausibility

TRIGLYCERIDES_MG_DL_PER_MMOL_L = Decimal("88.57")  # LAB-TG-HIGH units: 1 mmol/L = 88.57 mg/dL
CENT = Decimal("0.01")
MAX_STORED = Decimal("1000000")  # the columns hold 8 digits, 2 after the point
MAX_ROWS = 5000  # one file is one lab's batch; a bigger one is split
MAX_BYTES = MAX_BODY_BYTES  # checked before the file is read whole (the command) or parsed
LOINC_SYSTEM = "http://loinc.org"
SNOMED_SYSTEM = "http://snomed.info/sct"
LAB_TEST_BY_LOINC = {loinc: test for test, loinc in LOINC_BY_LAB_TEST.items()}
LIPIDS = {LabTest.TRIGLYCERIDES, LabTest.CHOLESTEROL, LabTest.HDL, LabTest.LDL}
ENZYMES = {LabTest.ALT, LabTest.AST}
# Qualitative hCG: a pregnancy test (reference.md section 4), by its specimen.
PREGNANCY_TEST_LOINC = {"2106-3": "urine", "2118-8": "serum"}
QUANTITATIVE_HCG_LOINC = {"19080-1", "21198-7"}  # mIU/mL: refused, the cut-off is the reader's
TRACKED_LOINC = frozenset({*LAB_TEST_BY_LOINC, *PREGNANCY_TEST_LOINC, *QUANTITATIVE_HCG_LOINC})
# The other results of the panels a lab sends with isotrack's (the lipid, hepatic and comprehensive metabolic
# panels): none is a result isotrack tracks, so each is listed as ignored. Any other LOINC refuses its row: a
# triglyceride, an ALT or an hCG under a code isotrack does not read (a direct LDL, an ALT with P-5'-P, a
# lab's own hCG code) must never be left out unseen, and a name cannot tell them apart (labs write "TRIGLY",
# "UPT", or nothing).
PANEL_COMPANIONS: dict[str, str] = {
    "13458-5": "VLDL cholesterol (calculated)",
    "9830-1": "Cholesterol/HDL ratio",
    "43396-1": "Non-HDL cholesterol",
    "1751-7": "Albumin",
    "2885-2": "Protein, total",
    "10834-0": "Globulin",
    "1759-0": "Albumin/globulin ratio",
    "1975-2": "Bilirubin, total",
    "1968-7": "Bilirubin, direct",
    "1971-1": "Bilirubin, indirect",
    "6768-6": "Alkaline phosphatase",
    "2324-2": "Gamma glutamyl transferase",
    "2345-7": "Glucose",
    "3094-0": "Urea nitrogen",
    "2160-0": "Creatinine",
    "3097-3": "Urea nitrogen/creatinine ratio",
    "33914-3": "eGFR (MDRD)",
    "48642-3": "eGFR (MDRD, non-Black)",
    "48643-1": "eGFR (MDRD, Black)",
    "62238-1": "eGFR (CKD-EPI)",
    "98979-8": "eGFR (CKD-EPI 2021)",
    "2951-2": "Sodium",
    "2823-3": "Potassium",
    "2075-0": "Chloride",
    "2028-9": "Carbon dioxide, total",
    "33037-3": "Anion gap",
    "17861-6": "Calcium",
}
# A qualitative result's words (compared trimmed, case-insensitive, spaces as one; SNOMED CT's "(qualifier
# value)" left out): every code, display, text and string of a pregnancy test's result must be one, all saying
# the same. A coded value is its code as given, or "SNOMED CT <code>" in SNOMED CT's system.
RESULT_WORDS = {
    "negative": "negative",
    "neg": "negative",
    "not detected": "negative",
    "nondetected": "negative",
    "snomed ct 260385009": "negative",  # Negative (qualifier value)
    "positive": "positive",
    "pos": "positive",
    "detected": "positive",
    "snomed ct 10828004": "positive",  # Positive (qualifier value)
}
# Abnormal flags (HL7 v2 table 0078, OBX-8) and interpretations (FHIR, v3 ObservationInterpretation), codes
# and displays, as they bear on a qualitative hCG: what each says of the result. Any other refuses the row.
FLAG_WORDS = {
    "n": "negative",
    "normal": "negative",
    "neg": "negative",
    "negative": "negative",
    "nd": "negative",
    "not detected": "negative",
    "a": "positive",
    "abnormal": "positive",
    "aa": "positive",
    "critical abnormal": "positive",
    "h": "positive",
    "high": "positive",
    "hh": "positive",
    "critical high": "positive",
    "pos": "positive",
    "positive": "positive",
    "det": "positive",
    "detected": "positive",
}
INTERPRETATION_SYSTEMS = {
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "http://terminology.hl7.org/CodeSystem/v2-0078",
    "http://hl7.org/fhir/v2/0078",
}
# Unit spellings met in lab feeds (UCUM codes included), to the clinic's units.
UNITS = {
    "mg/dl": LabUnit.MG_DL,
    "mmol/l": LabUnit.MMOL_L,
    "u/l": LabUnit.U_L,
    "iu/l": LabUnit.U_L,
    "[iu]/l": LabUnit.U_L,
}
CSV_COLUMNS = ("mrn", "loinc", "value", "unit", "date")
CSV_OPTIONAL_COLUMNS = ("uln", "reference_low", "reference_high", "identifier_system")
FINAL_STATUSES = {"final": False, "amended": True, "corrected": True}  # status: corrected?
WITHDRAWN = "the lab withdrew this result ({}): if it was imported, void it in isotrack"
BUNDLE_TYPES = ("collection", "transaction", "batch", "searchset", "message", "document")
HL7_FINAL_STATUSES = {"F": False, "C": True}  # HL7 table 0085: final, corrected (corrected?)
HL7_WITHDRAWN_STATUSES = {"W": "OBX-11 W: posted to the wrong patient", "D": "OBX-11 D: deleted"}
HL7_PROCESSING_IDS = {"P": "production", "T": "training", "D": "debugging"}  # HL7 table 0103
HL7_BATCH_SEGMENTS = {"FHS", "FTS", "BHS", "BTS"}
HL7_SNOMED_SYSTEMS = {"SCT", "SNM", "SNOMED", "SNOMEDCT", "SNM3"}
HL7_MLLP_FRAME = "\x0b\x1c"  # a message as the MLLP transport frames it, saved to a file
# The hl7 parser logs the text of a field whose escape it cannot read (a name, an MRN): patient data in the
# logs, which carry none by design (settings.LOGGING). Its loggers (named by their files) are silenced; such
# an escape is left out of the value.
for _logger in (hl7.util.logger, hl7.containers.logger):
    _logger.addHandler(logging.NullHandler())
    _logger.propagate = False


@dataclass(frozen=True)
class Identifier:
    """A patient identifier as the file gives it."""

    value: str
    system: str = ""  # a FHIR system, an HL7 assigning authority as written (HD: namespace&universal id&type)
    # what the system is compared by: FHIR's system; the HL7 authority's namespace id and universal id
    names: tuple[str, ...] = ()
    kind: str = ""  # its type (PID-3.5, FHIR identifier.type): MR, PI, SS...; "" when none is given


@dataclass(frozen=True)
class PatientRef:
    identifiers: tuple[Identifier, ...] = ()
    reference: str = ""  # "Patient/<isotrack uuid>"
    birth_date: str = ""  # the birth date given (ISO, as precise as given: "2004-03-01", "2004-03", "2004")
    birth_date_field: str = ""  # where it was given: "PID-7", "Patient.birthDate"


@dataclass(frozen=True)
class LabRow:
    """One result as the file gives it, checked for form (not yet matched to a patient)."""

    row: int
    patient: PatientRef
    loinc: str
    value: Decimal | None  # None: a qualitative result (a pregnancy test), in `result`
    unit: str
    day: date
    uln: Decimal | None = None
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None
    result: tuple[str, ...] = ()  # a qualitative result's words and codes (Negative, NEG, 260385009...)
    unit_of_range: str = ""  # the reference range's own unit where the file gives one (FHIR)
    flags: tuple[str, ...] = ()  # a qualitative result's abnormal flags or interpretations (N, A, POS...)
    at: datetime | None = None  # the moment with its offset, when given: its day is the practice's
    corrected: bool = False  # a corrected result (HL7 C, FHIR amended or corrected)


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row of an imported file."""

    row: int
    outcome: Literal["imported", "duplicate", "ignored"]
    detail: str  # what the row is ("ALT 35.00 U/L on 2026-06-20"), or why it was ignored
    kind: Literal["lab_result", "pregnancy_test", ""] = ""
    record: uuid.UUID | None = None  # the record imported


@dataclass
class ParsedFile:
    rows: list[LabRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    ignored: list[RowOutcome] = field(default_factory=list)  # rows that are no result (a DiagnosticReport)


@dataclass
class LabImportReport:
    imported: list[LabResult] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    pregnancy_tests: list[PregnancyTest] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)  # every row of the file, in its order


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


def _identifier(value: str, system: str) -> Identifier:
    system = system.strip()
    return Identifier(value=value.strip(), system=system, names=(system,) if system else ())


def parse_csv(content: str) -> ParsedFile:
    """Rows of a CSV with a header naming mrn, loinc, value, unit, date (and optionally uln, reference_low,
    reference_high, identifier_system). Row numbers are line numbers: the header is row 1. A pregnancy test's
    value is its result (Negative or Positive), with no unit."""
    # newline="": the csv module reads CR, LF and CR LF line ends (and line breaks inside quotes) itself
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff"), newline=""))
    try:
        return _csv_rows(reader)
    except csv.Error as error:  # a quote left open, a field over the csv module's limit
        return ParsedFile(rejected=[RejectedRow(reader.line_num or 1, f"the CSV cannot be read ({error})")])


def _csv_rows(reader: csv.DictReader[str]) -> ParsedFile:
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        return ParsedFile(rejected=[RejectedRow(1, f"the header lacks the column(s) {', '.join(missing)}")])
    reader.fieldnames = header
    parsed = ParsedFile()
    for number, record in enumerate(reader, start=2):
        if None in record:
            parsed.rejected.append(RejectedRow(number, "more values than columns"))
            continue
        if not any((value or "").strip() for value in record.values()):
            continue  # a blank line
        try:
            loinc = (record["loinc"] or "").strip()
            text = record["value"] or ""
            qualitative = loinc in PREGNANCY_TEST_LOINC
            parsed.rows.append(
                LabRow(
                    row=number,
                    patient=PatientRef(
                        (_identifier(record["mrn"] or "", record.get("identifier_system") or ""),)
                    ),
                    loinc=loinc,
                    value=None if qualitative else _decimal(text, "value"),
                    unit=(record["unit"] or "").strip(),
                    day=_day(record["date"] or ""),
                    uln=_optional_decimal(record.get("uln"), "uln"),
                    reference_low=_optional_decimal(record.get("reference_low"), "reference_low"),
                    reference_high=_optional_decimal(record.get("reference_high"), "reference_high"),
                    result=(text.strip(),) if qualitative else (),
                )
            )
        except ValueError as error:
            parsed.rejected.append(RejectedRow(number, str(error)))
    return parsed


def _untracked(number: int, loinc: str, names: list[str]) -> RowOutcome | None:
    """None for a LOINC isotrack reads; an ignored row for another result of the panels labs send
    (``PANEL_COMPANIONS``); for any other LOINC, the row is refused naming the codes isotrack reads: what it
    is, isotrack cannot tell (a triglyceride under another code must not be left out)."""
    if loinc in TRACKED_LOINC:
        return None
    if loinc in PANEL_COMPANIONS:
        return RowOutcome(
            number, "ignored", f"LOINC {loinc} ({PANEL_COMPANIONS[loinc]}): a result isotrack does not track"
        )
    shown = next((name.strip() for name in names if name and name.strip()), "")
    what = f" ({shown[:40]})" if shown else ""
    read = ", ".join(f"{LabTest(test).label} {code}" for code, test in LAB_TEST_BY_LOINC.items())
    raise ValueError(
        f"LOINC {loinc[:20]!r}{what} is not a code isotrack reads (it reads {read}; hCG 2106-3, 2118-8) nor "
        "one of the panel results it leaves out: ask the lab for isotrack's code, or enter the result by hand"
    )


# ----------------------------------------------------------------------------------------------- FHIR R4


def parse_fhir_bundle(data: Any) -> ParsedFile:
    """Rows of a FHIR R4 Bundle: its Observations are the results; row n is the Bundle's n-th entry
    (1-based). Other entries are listed as ignored; a Patient entry is what a subject reference may name."""
    from fhir.resources.R4B.observation import Observation

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return ParsedFile(rejected=[RejectedRow(1, "not a FHIR Bundle (resourceType must be Bundle)")])
    kind = data.get("type")
    if kind is not None and kind not in BUNDLE_TYPES:
        why = f"a Bundle of type {str(kind)[:30]!r} holds no lab results to import (it must be one of "
        return ParsedFile(rejected=[RejectedRow(1, why + ", ".join(BUNDLE_TYPES) + ")")])
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        return ParsedFile(rejected=[RejectedRow(1, "Bundle.entry must be a list")])
    patients, report_subjects = _bundle_index(entries)
    parsed = ParsedFile()
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            parsed.rejected.append(RejectedRow(number, "the entry holds no resource"))
            continue
        resource_type = resource.get("resourceType")
        if resource_type != "Observation":
            shown = str(resource_type)[:40] if isinstance(resource_type, str) else "resource without a type"
            parsed.ignored.append(RowOutcome(number, "ignored", f"a {shown}: only Observations are results"))
            continue
        if resource.get("hasMember") and not any(key.startswith("value") for key in resource):
            parsed.ignored.append(
                RowOutcome(number, "ignored", "a panel Observation: its members are results")
            )
            continue
        try:
            observation = Observation.model_validate(resource)
        except ValueError as error:
            first = str(error).splitlines()[1:3]
            parsed.rejected.append(RejectedRow(number, "not a valid Observation: " + " ".join(first).strip()))
            continue
        try:
            subject = resource.get("subject")
            if subject is None:  # the subject of the DiagnosticReport listing it (by a key it has, not "")
                keys = [key for key in (_entry_key(entry.get("fullUrl")), _resource_key(resource)) if key]
                subject = next((report_subjects[key] for key in keys if key in report_subjects), None)
                if subject is CONFLICTING_REPORTS:
                    raise ValueError(
                        "no subject, and the DiagnosticReports that list it name different subjects"
                    )
            row = _row_of_observation(number, observation, _patient_of_subject(subject, patients))
            if isinstance(row, RowOutcome):
                parsed.ignored.append(row)
            else:
                parsed.rows.append(row)
        except ValueError as error:
            parsed.rejected.append(RejectedRow(number, str(error)))
    return parsed


CONFLICTING_REPORTS: Any = object()  # an Observation listed by DiagnosticReports of different subjects


def _entry_key(full_url: Any) -> str:
    return full_url.strip() if isinstance(full_url, str) else ""


def _resource_key(resource: dict[str, Any]) -> str:
    kind, key = resource.get("resourceType"), resource.get("id")
    return f"{kind}/{key.strip()}" if isinstance(kind, str) and isinstance(key, str) and key.strip() else ""


def _bundle_index(entries: list[Any]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The Patient entries by their fullUrl and ``Patient/<id>``; the subject of each DiagnosticReport by the
    references of its results (an empty reference names nothing)."""
    patients: dict[str, dict[str, Any]] = {}
    report_subjects: dict[str, Any] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "Patient":
            for key in (_entry_key(entry.get("fullUrl")), _resource_key(resource)):
                if key:
                    patients[key] = resource
        elif resource.get("resourceType") == "DiagnosticReport" and resource.get("subject") is not None:
            results = resource.get("result")
            for result in results if isinstance(results, list) else []:
                reference = result.get("reference") if isinstance(result, dict) else None
                if not isinstance(reference, str) or not reference.strip():
                    continue
                known = report_subjects.setdefault(reference.strip(), resource["subject"])
                if known != resource["subject"]:
                    report_subjects[reference.strip()] = CONFLICTING_REPORTS
    return patients, report_subjects


def _fhir_identifiers(identifiers: Any) -> tuple[Identifier, ...]:
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    found = []
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
            system = identifier.get("system")
            found.append(
                dataclasses.replace(
                    _identifier(identifier["value"], system if isinstance(system, str) else ""),
                    kind=_fhir_identifier_type(identifier.get("type")),
                )
            )
    return tuple(found)


def _fhir_identifier_type(concept: Any) -> str:
    """An identifier's type: MR when a coding says so, else its first code, else its text ("?" if it has
    neither); "" when there is no type."""
    if not isinstance(concept, dict) or not concept:
        return ""
    codings = concept.get("coding")
    codes = [
        coding["code"].strip()
        for coding in (codings if isinstance(codings, list) else [])
        if isinstance(coding, dict) and isinstance(coding.get("code"), str) and coding["code"].strip()
    ]
    if any(code.upper() == "MR" for code in codes):
        return "MR"
    text = concept.get("text")
    return codes[0] if codes else (text.strip() if isinstance(text, str) and text.strip() else "?")


def _fhir_birth_date(text: Any) -> str:
    """A Patient's birthDate as given (YYYY, YYYY-MM or YYYY-MM-DD); "" when none."""
    if text is None or text == "":
        return ""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text.strip()):
        raise ValueError(f"the Patient's birthDate {str(text)[:20]!r} is not a date (YYYY-MM-DD)")
    return _checked_birth_date(text.strip(), "Patient.birthDate", text)


def _checked_birth_date(iso: str, name: str, written: str) -> str:
    """The ISO birth date (as precise as given), checked: ``written`` is how the file wrote it."""
    try:
        date.fromisoformat((iso + "-01-01")[:10] if len(iso) < 10 else iso)
    except ValueError:
        raise ValueError(f"the birth date ({name}) {written[:20]!r} is not a date") from None
    return iso


def _isotrack_reference(reference: str) -> bool:
    """``Patient/<uuid>``: a patient named by isotrack's own id."""
    try:
        uuid.UUID(reference.removeprefix("Patient/"))
    except ValueError:
        return False
    return reference.startswith("Patient/")


def _patient_of_subject(subject: Any, patients: dict[str, dict[str, Any]]) -> PatientRef:
    """Every patient identifier the subject gives: its own identifiers, those of the Patient entry its
    reference names (with its birthDate), and a ``Patient/<isotrack uuid>`` reference; the import checks they
    name one patient. A reference to a resource neither in the Bundle nor isotrack's is left out beside an
    identifier, and refused alone."""
    if not isinstance(subject, dict):
        raise ValueError("no subject (an MRN identifier or a Patient reference)")
    identifiers = _fhir_identifiers(subject.get("identifier"))
    reference = subject.get("reference")
    reference = reference.strip() if isinstance(reference, str) else ""
    if not identifiers and not reference:
        raise ValueError("no subject (an MRN identifier or a Patient reference)")
    if not reference:
        return PatientRef(identifiers)
    entry = patients.get(reference)
    if entry is not None:
        of_entry = _fhir_identifiers(entry.get("identifier"))
        if not of_entry and not identifiers:
            raise ValueError(f"the Patient entry {reference[:60]!r} has no identifier (system and value)")
        birth_date = _fhir_birth_date(entry.get("birthDate"))
        return PatientRef(identifiers + of_entry, "", birth_date, "Patient.birthDate" if birth_date else "")
    if _isotrack_reference(reference):
        return PatientRef(identifiers, reference)
    if identifiers:
        return PatientRef(identifiers)
    if reference.startswith("Patient/"):
        raise ValueError(f"{reference[:60]!r} is not a reference to an isotrack patient")
    raise ValueError(f"subject.reference {reference[:60]!r} names no Patient entry of the Bundle")


def _row_of_observation(number: int, observation: Any, patient: PatientRef) -> LabRow | RowOutcome:
    """The Observation's result, or an ignored row for a result of a LOINC isotrack does not track
    (``_untracked``)."""
    coding = observation.code.coding if observation.code is not None else None
    codes = [c.code for c in (coding or []) if c.system == LOINC_SYSTEM and c.code]
    if not codes:
        raise ValueError("no LOINC code (code.coding with system http://loinc.org)")
    loinc = next((code for code in codes if code in TRACKED_LOINC), codes[0])
    names = [observation.code.text or "", *(c.display or "" for c in coding or [])]
    if loinc not in TRACKED_LOINC and observation.component:
        raise ValueError(
            f"LOINC {loinc[:20]}: an Observation holding its results in components, which isotrack does not "
            "read (send each result as its own Observation)"
        )
    untracked = _untracked(number, loinc, names)
    if untracked is not None:
        return untracked
    if observation.status == "entered-in-error":
        raise ValueError(WITHDRAWN.format("status entered-in-error"))
    if observation.status not in FINAL_STATUSES:
        raise ValueError(f"status {observation.status} is not a final result")
    corrected = FINAL_STATUSES[observation.status]
    effective = observation.effectiveDateTime or (
        observation.effectivePeriod.start if observation.effectivePeriod else None
    )
    if effective is None:
        raise ValueError("no effectiveDateTime")
    if not isinstance(effective, date):  # FHIR allows a year or a month alone: a result needs its day
        raise ValueError(f"effectiveDateTime {str(effective)[:20]!r} names no day (a result needs its date)")
    day = effective.date() if isinstance(effective, datetime) else effective
    at = effective if isinstance(effective, datetime) and effective.tzinfo is not None else None
    if loinc in PREGNANCY_TEST_LOINC:
        said, flags = _fhir_qualitative(observation)
        return LabRow(
            number, patient, loinc, None, "", day, result=said, flags=flags, at=at, corrected=corrected
        )
    quantity = observation.valueQuantity
    if quantity is None or quantity.value is None:
        raise ValueError("no valueQuantity.value")
    if quantity.comparator:
        raise ValueError(
            f"valueQuantity.comparator {quantity.comparator!r}: {quantity.comparator}{quantity.value} is a "
            "bound, not a result"
        )
    high = low = None
    range_units = set()
    for reference in observation.referenceRange or []:
        for bound in (reference.low, reference.high):
            if bound is not None and (bound.code or bound.unit):
                range_units.add((bound.code or bound.unit or "").strip())
        if reference.high is not None and reference.high.value is not None:
            high = _decimal(reference.high.value, "referenceRange.high")
        if reference.low is not None and reference.low.value is not None:
            low = _decimal(reference.low.value, "referenceRange.low")
    if len(range_units) > 1:
        raise ValueError(f"the reference range is in several units ({', '.join(sorted(range_units))[:40]})")
    return LabRow(
        row=number,
        patient=patient,
        loinc=loinc,
        value=_decimal(quantity.value, "valueQuantity.value"),
        unit=(quantity.code or quantity.unit or "").strip(),
        day=day,
        reference_low=low,
        reference_high=high,
        unit_of_range=next(iter(range_units), ""),
        at=at,
        corrected=corrected,
    )


def _coded_word(code: str, system: str, snomed: set[str]) -> str:
    """A code as a word of ``RESULT_WORDS``: "SNOMED CT <code>" in SNOMED CT's system, else the code."""
    return f"SNOMED CT {code.strip()}" if system.strip().upper() in snomed else code


def _fhir_qualitative(observation: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A pregnancy test's words (every code, display, text and string of its value) and its
    interpretations' (every code, display and text)."""
    if observation.valueQuantity is not None:
        raise ValueError("a pregnancy test's result is Negative or Positive, not a quantity")
    said: list[str] = []
    concept = observation.valueCodeableConcept
    if concept is not None:
        for coding in concept.coding or []:
            if coding.code:
                said.append(_coded_word(coding.code, coding.system or "", {SNOMED_SYSTEM.upper()}))
            if coding.display:
                said.append(coding.display)
        if concept.text:
            said.append(concept.text)
    if observation.valueString:
        said.append(observation.valueString)
    if not said:
        raise ValueError("no result (valueCodeableConcept or valueString: Negative or Positive)")
    flags: list[str] = []
    for interpretation in observation.interpretation or []:
        for coding in interpretation.coding or []:
            if coding.code:
                known = not coding.system or coding.system in INTERPRETATION_SYSTEMS
                flags.append(coding.code if known else f"{coding.code} ({coding.system[:60]})")
            if coding.display:
                flags.append(coding.display)
        if interpretation.text:
            flags.append(interpretation.text)
    return tuple(said), tuple(flags)


# -------------------------------------------------------------------------------------------------- HL7 v2


def _v2(segment: Any, number: int, repetition: int = 1, component: int = 1, sub: int = 1) -> str:
    """A field's (component's, subcomponent's) text, unescaped; "" when the segment does not reach it."""
    try:
        text = str(segment.extract_field(1, number, repetition, component, sub)).strip()
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return ""
    named = control_character(text, multiline=False)  # an escape (\X00\, \.br\) can make one
    if named is not None:
        raise ValueError(f"{str(segment[0])[:3]}-{number} holds a control character ({named}) once unescaped")
    return text


def _v2_repetitions(segment: Any, number: int) -> int:
    if number >= len(segment):
        return 0
    value = segment[number]
    return len(value) if len(value) and isinstance(value[0], hl7.Repetition) else 1


def _v2_raw(segment: Any, number: int) -> str:
    """A field as written, escapes and separators kept: "" when the segment does not reach it."""
    try:
        return str(segment[number]) if number < len(segment) else ""
    except (IndexError, TypeError):
        return ""


def _v2_several_values(obx: Any, components: bool) -> str | None:
    """Why OBX-5 is no single value: a repeat, or (``components``: a number, a string) a second component or
    subcomponent. None when it is one."""
    raw = _v2_raw(obx, 5)
    written = str(getattr(obx, "separators", "") or "")  # the message's: field, repeat, component, sub
    separators = written + "|~^&"[len(written) :]
    repeat, component, subcomponent = separators[1], separators[2], separators[3]
    if _v2_repetitions(obx, 5) > 1 or repeat in raw:
        return f"OBX-5 holds several values ({raw[:40]!r}, repeats): a row is one result"
    if components and (component in raw or subcomponent in raw):
        return f"OBX-5 holds several values ({raw[:40]!r}, components): a row is one result"
    return None


DTM = re.compile(
    r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})"
    r"(?:(?P<hour>\d{2})(?:(?P<minute>\d{2})(?:(?P<second>\d{2})(?:\.\d{1,4})?)?)?)?"
    r"(?P<offset>[+-]\d{4})?"
)


def _v2_moment(text: str, name: str) -> tuple[date, datetime | None]:
    """The day of an HL7 DTM (YYYYMMDD[HH[MM[SS[.S]]]][+/-ZZZZ]) as written, and the moment when it has a
    time and an offset (its day is then read in the practice's time zone)."""
    found = DTM.fullmatch(text)
    if found is None:
        if re.fullmatch(r"\d{4}(\d{2})?", text):
            raise ValueError(f"{name} {text!r} names no day (a result needs its date)")
        raise ValueError(f"{name} {text[:30]!r} is not an HL7 date and time (YYYYMMDDHHMM)")
    part = {key: int(value) for key, value in found.groupdict().items() if value and key != "offset"}
    try:
        day = date(part["year"], part["month"], part["day"])
        if "hour" not in part or not found.group("offset"):
            return day, None
        offset = found.group("offset")
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        zone = timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
        moment = datetime(
            day.year,
            day.month,
            day.day,
            part["hour"],
            part.get("minute", 0),
            part.get("second", 0),
            tzinfo=zone,
        )
    except ValueError:
        raise ValueError(f"{name} {text[:30]!r} is not a date") from None
    return day, moment


def _v2_birth_date(pid: Any) -> str:
    """PID-7 as an ISO date as precise as given ("" when none)."""
    text = _v2(pid, 7)
    if not text:
        return ""
    found = re.fullmatch(r"(\d{4})(?:(\d{2})(?:(\d{2})[0-9.]*)?)?([+-]\d{4})?", text)
    if found is None:
        raise ValueError(f"the birth date (PID-7) {text[:20]!r} is not an HL7 date (YYYYMMDD)")
    return _checked_birth_date("-".join(part for part in found.groups()[:3] if part), "PID-7", text)


def _v2_patient(pid: Any) -> PatientRef:
    """PID-3's identifiers (CX: id^check digit^scheme^assigning authority^type), the authority's namespace id
    and universal id being the names it is compared by; PID-7 the birth date."""
    identifiers = []
    for repetition in range(1, _v2_repetitions(pid, 3) + 1):
        value = _v2(pid, 3, repetition)
        parts = [_v2(pid, 3, repetition, 4, sub) for sub in (1, 2, 3)]
        names = tuple(part for part in parts[:2] if part)
        system = "&".join(parts).rstrip("&") if names else ""
        if value:
            identifiers.append(Identifier(value, system, names, kind=_v2(pid, 3, repetition, 5)))
    birth_date = _v2_birth_date(pid)
    return PatientRef(tuple(identifiers), "", birth_date, "PID-7" if birth_date else "")


def _v2_coded(segment: Any, number: int, repetition: int = 1) -> list[tuple[str, str, str]]:
    """A CE/CWE's two triplets (identifier, text, coding system), the empty ones left out."""
    triplets = []
    for first in (1, 4):
        triplet = tuple(_v2(segment, number, repetition, first + offset) for offset in range(3))
        if any(triplet):
            triplets.append((triplet[0], triplet[1], triplet[2].upper()))
    return triplets


def _v2_range(text: str) -> tuple[Decimal | None, Decimal | None]:
    """OBX-7: "low-high", "<high", "<=high", ">low", ">=low" (spaces allowed); anything else is not read."""
    text = text.replace(" ", "")
    if not text:
        return None, None
    number = r"(\d+(?:\.\d+)?)"
    if found := re.fullmatch(number + "-" + number, text):
        return _decimal(found.group(1), "OBX-7 low"), _decimal(found.group(2), "OBX-7 high")
    if found := re.fullmatch("<=?" + number, text):
        return None, _decimal(found.group(1), "OBX-7 high")
    if found := re.fullmatch(">=?" + number, text):
        return _decimal(found.group(1), "OBX-7 low"), None
    raise ValueError(f"reference range (OBX-7) {text[:30]!r} is not low-high, <high or >low")


def _row_of_obx(number: int, obx: Any, patient: PatientRef, obr: Any) -> LabRow | RowOutcome:
    """The OBX's result, or an ignored row for a result of a LOINC isotrack does not track
    (``_untracked``)."""
    codes = [code for code, _text, system in _v2_coded(obx, 3) if system in ("LN", "LOINC") and code]
    if not codes:
        raise ValueError("no LOINC code (OBX-3 with coding system LN)")
    loinc = next((code for code in codes if code in TRACKED_LOINC), codes[0])
    untracked = _untracked(number, loinc, [text for _code, text, _system in _v2_coded(obx, 3)])
    if untracked is not None:
        return untracked
    status = _v2(obx, 11).upper()
    if status in HL7_WITHDRAWN_STATUSES:
        raise ValueError(WITHDRAWN.format(HL7_WITHDRAWN_STATUSES[status]))
    if status not in HL7_FINAL_STATUSES:
        raise ValueError(f"result status (OBX-11) {status[:10]!r} is not final (F) or corrected (C)")
    pregnancy_test = loinc in PREGNANCY_TEST_LOINC
    # a pregnancy test is dated by its specimen's collection (OBR-7), a lab by its observation (OBX-14)
    dates = [("OBX-14", _v2(obx, 14)), ("OBR-7", _v2(obr, 7) if obr is not None else "")]
    name, written = next(
        ((n, text) for n, text in (dates[::-1] if pregnancy_test else dates) if text), ("", "")
    )
    if not written:
        raise ValueError("no date of the observation (OBX-14 or OBR-7)")
    day, at = _v2_moment(written, name)
    kind = _v2(obx, 2).upper()
    coded = kind in ("CE", "CWE", "CNE")
    several = _v2_several_values(obx, components=not coded and kind != "SN")
    if several is not None:
        raise ValueError(several)
    corrected = HL7_FINAL_STATUSES[status]
    if pregnancy_test:
        if kind in ("NM", "SN"):
            raise ValueError("a pregnancy test's result is Negative or Positive, not a number")
        said: list[str] = []
        if coded:
            for code, text, system in _v2_coded(obx, 5):
                if code:
                    said.append(_coded_word(code, system, HL7_SNOMED_SYSTEMS))
                if text:
                    said.append(text)
        else:
            said.append(_v2(obx, 5))
        if not any(said):
            raise ValueError("no result (OBX-5: Negative or Positive)")
        flags = [
            text for repetition in range(1, _v2_repetitions(obx, 8) + 1) for text in _v2_flag(obx, repetition)
        ]
        return LabRow(
            number,
            patient,
            loinc,
            None,
            "",
            day,
            result=tuple(said),
            flags=tuple(flags),
            at=at,
            corrected=corrected,
        )
    if kind == "SN":  # structured numeric: comparator^number (^separator^number: a range or a ratio)
        comparator, text = _v2(obx, 5, 1, 1), _v2(obx, 5, 1, 2)
        if comparator not in ("", "="):
            raise ValueError(f"value (OBX-5) {comparator}{text[:20]} is a bound, not a result")
        if _v2(obx, 5, 1, 3) or _v2(obx, 5, 1, 4):
            raise ValueError(
                f"value (OBX-5) {_v2_raw(obx, 5)[:40]!r} is a range or a ratio (SN with a second number), "
                "not a result"
            )
    elif kind in ("NM", ""):
        text = _v2(obx, 5)
    else:
        raise ValueError(f"value type (OBX-2) {kind[:5]!r} is not a number (NM)")
    if not text:
        raise ValueError("no value (OBX-5)")
    low, high = _v2_range(_v2(obx, 7))
    unit = _v2(obx, 6) or _v2(obx, 6, 1, 2)
    return LabRow(
        number,
        patient,
        loinc,
        _decimal(text, "value (OBX-5)"),
        unit,
        day,
        reference_low=low,
        reference_high=high,
        at=at,
        corrected=corrected,
    )


def _v2_flag(obx: Any, repetition: int) -> list[str]:
    """One abnormal flag (OBX-8: a code; from v2.7 a CWE, its code and text)."""
    return [text for text in (_v2(obx, 8, repetition, 1), _v2(obx, 8, repetition, 2)) if text]


def _v2_header_problem(text: str) -> str | None:
    separator = text[3:4]
    end = text.find(separator, 4) if separator else -1
    encoding = text[4:end] if end > 0 else ""
    characters = separator + encoding
    if (
        not separator
        or not 4 <= len(encoding) <= 5
        or len(set(characters)) != len(characters)
        or any(c.isalnum() or c.isspace() for c in characters)
    ):
        return "the MSH segment does not begin with its separators (MSH|^~\\&|)"
    return None


def _v2_message_problem(header: Any) -> str | None:
    """Why a message is not one to import: not lab results (MSH-9), or not a production message (MSH-11)."""
    message_type = _v2(header, 9, 1, 1), _v2(header, 9, 1, 2)
    if message_type[0].upper() != "ORU" or message_type[1].upper() not in ("R01", ""):
        shown = "^".join(message_type).strip("^") or "of no type"
        return f"the message is {shown[:20]} (MSH-9), not lab results (ORU^R01)"
    processing = _v2(header, 11, 1, 1).upper()
    if not processing:
        return "the message has no processing id (MSH-11): only a production message (P) is imported"
    if processing != "P":
        what = HL7_PROCESSING_IDS.get(processing, "not production")
        return (
            f"the message's processing id (MSH-11) is {processing[:5]!r} ({what}): only a production message "
            "(P) is imported onto a patient"
        )
    return None


def parse_hl7_v2(content: str) -> ParsedFile:
    """Rows of HL7 v2 ORU^R01 messages: one per OBX, numbered by its line in the file."""
    parsed = ParsedFile()
    messages: list[list[tuple[int, str]]] = []
    for number, line in enumerate(content.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        text = line.strip()
        if not text or text[:3] in HL7_BATCH_SEGMENTS:
            continue
        if text.startswith("MSH"):
            messages.append([(number, text)])
        elif not messages:
            return ParsedFile(rejected=[RejectedRow(number, "a segment before the message header (MSH)")])
        else:
            messages[-1].append((number, text))
    if not messages:
        return ParsedFile(rejected=[RejectedRow(1, "no HL7 v2 message (MSH segment) in the file")])
    for segments in messages:
        header_line, header = segments[0]
        problem = _v2_header_problem(header)
        if problem is not None:
            parsed.rejected.append(RejectedRow(header_line, problem))
            continue
        try:
            message = hl7.parse("\r".join(text for _, text in segments))
        except Exception as error:  # a third-party parser on a stranger's text: any failure is a bad file
            parsed.rejected.append(
                RejectedRow(header_line, f"the HL7 message cannot be read ({error})"[:200])
            )
            continue
        try:
            problem = _v2_message_problem(message[0])
        except ValueError as error:
            problem = str(error)
        if problem is not None:
            parsed.rejected.append(RejectedRow(header_line, problem))
            continue
        _message_rows(parsed, message, [number for number, _ in segments])
    return parsed


def _message_rows(parsed: ParsedFile, message: Any, lines: list[int]) -> None:
    patient: PatientRef | str = "an OBX before any PID segment names no patient"  # a PatientRef, or why none
    obr = None
    for segment, number in zip(message, lines, strict=True):
        name = str(segment[0]).strip()
        if name == "PID":
            obr = None
            try:
                patient = _v2_patient(segment)
            except ValueError as error:
                patient = f"the PID segment (line {number}): {error}"
        elif name == "OBR":
            obr = segment
        elif name == "OBX":
            try:
                if isinstance(patient, str):
                    raise ValueError(patient)
                row = _row_of_obx(number, segment, patient, obr)
                if isinstance(row, RowOutcome):
                    parsed.ignored.append(row)
                else:
                    parsed.rows.append(row)
            except ValueError as error:
                parsed.rejected.append(RejectedRow(number, str(error)))


# --------------------------------------------------------------------------------------------------- files


def parse_lab_file(content: str | bytes) -> ParsedFile:
    """An HL7 v2 message (``MSH|``), a FHIR Bundle (JSON) or a CSV, told apart by the first characters; at
    most ``MAX_BYTES``."""
    if len(content) > MAX_BYTES:
        return ParsedFile(
            rejected=[RejectedRow(1, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")]
        )
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ParsedFile(rejected=[RejectedRow(1, "the file is not UTF-8 text")])
    start = content.lstrip("\ufeff \t\r\n" + HL7_MLLP_FRAME)
    if start.startswith("{"):
        try:
            data = parse_json(content, "the file")
        except BadInput as error:
            return ParsedFile(rejected=[RejectedRow(1, error.message)])
        return parse_fhir_bundle(data)
    hl7_v2 = re.match(r"(MSH|FHS|BHS)[^A-Za-z0-9\s,]", start) is not None
    if hl7_v2:
        content = content.strip().strip(HL7_MLLP_FRAME)
    named = control_character(content)  # JSON's strings are checked by parse_json
    if named is not None:
        return ParsedFile(rejected=[RejectedRow(1, f"the file holds a control character ({named})")])
    if hl7_v2:
        return parse_hl7_v2(content)
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
    given: str  # the value as the file gave it, when converted
    corrected: bool = False


@dataclass(frozen=True)
class _PlannedTest:
    """A pregnancy test: its purpose is the core's on its day, decided when it is written."""

    row: int
    course: Course
    day: date
    result: str
    specimen: str
    corrected: bool = False


@dataclass(frozen=True)
class _Context:
    """What every row of one import is read against."""

    actor: StaffUser
    today: date  # the practice's
    zone: ZoneInfo  # the practice's time zone: the day of a moment given with its offset
    mrn_system: str  # this practice's MRN system
    mrn_systems: frozenset[str]  # every name of this practice's MRNs (its system and its aliases)
    patients: QuerySet[Patient]  # the practice's


def _context(actor: StaffUser, today: date | None) -> _Context:
    practice = practice_of(actor)
    return _Context(
        actor=actor,
        today=today or practice_today(practice),
        zone=ZoneInfo(practice.time_zone),
        mrn_system=mrn_system(practice),
        mrn_systems=mrn_systems(practice),
        patients=patients_of(actor),
    )


def _kind_of(identifier: Identifier, ctx: _Context) -> str:
    """What an identifier is to this practice: "mrn" (every name of its system or authority is one of the
    practice's MRN systems, and its type is MR or none), "ipledge" (the iPLEDGE id's system), "bare" (no
    system nor authority), "other_type" (an MRN system's identifier of another type: a lab's PI or AN under
    the practice's namespace is no MRN), or "foreign" (another system or authority, or an HL7 authority whose
    namespace id is the practice's and universal id another's: namespace ids are local and collide)."""
    names = set(identifier.names)
    if not names:
        return "bare"
    if names <= ctx.mrn_systems:
        return "mrn" if identifier.kind.upper() in ("", "MR") else "other_type"
    return "ipledge" if names == {IPLEDGE_ID_SYSTEM} else "foreign"


def _patient(ctx: _Context, reference: PatientRef) -> Patient:
    """The one patient every identifier of this practice's (and every MRN without authority, and an isotrack
    reference) names, born on the birth date given."""
    given = [identifier for identifier in reference.identifiers if identifier.value]
    kinds = {id(i): _kind_of(i, ctx) for i in given}
    ours = [i for i in given if kinds[id(i)] in ("mrn", "ipledge")]
    foreign = [i for i in given if kinds[id(i)] == "foreign"]
    bare = [i for i in given if kinds[id(i)] in ("bare", "other_type")]
    as_mrn = [i for i in given if kinds[id(i)] == "bare" and i.kind.upper() in ("", "MR")]
    if foreign and not ours:
        authorities = ", ".join(dict.fromkeys(repr(i.system[:80]) for i in foreign))
        raise ValueError(
            f"the patient identifier is of another assigning authority ({authorities}), not this practice's "
            f"MRN system ({ctx.mrn_system}) nor one of its other names (an administrator names the labs' "
            "assigning authority in the practice settings, if it writes this practice's MRNs)"
        )
    lookups: dict[str, Q] = {}
    for identifier in ours:
        if kinds[id(identifier)] == "mrn":
            lookups[f"MRN {identifier.value[:40]!r}"] = Q(mrn=identifier.value)
        else:
            lookups[f"iPLEDGE id {identifier.value[:40]!r}"] = Q(ipledge_id=identifier.value)
    for identifier in as_mrn:
        lookups[f"MRN {identifier.value[:40]!r}"] = Q(mrn=identifier.value)
    if reference.reference:
        try:
            key = uuid.UUID(reference.reference.removeprefix("Patient/"))
        except ValueError:
            raise ValueError(
                f"{reference.reference[:60]!r} is not a reference to an isotrack patient"
            ) from None
        lookups[repr(reference.reference[:60])] = Q(uuid=key)
    if not lookups:
        if bare:
            left_out = ", ".join(f"{i.value[:40]!r} of type {i.kind[:10]}" for i in bare)
            raise ValueError(
                f"no patient identifier isotrack reads: {left_out} is no MRN (an identifier without "
                "authority or system, or of this practice's MRN system, is an MRN only when its type is MR "
                "or none)"
            )
        raise ValueError("no patient identifier")
    found: dict[int, tuple[Patient, list[str]]] = {}
    for what, condition in lookups.items():
        matches = list(ctx.patients.filter(condition)[:2])
        if not matches:
            raise ValueError(f"no patient {what} in this practice")
        if len(matches) > 1:
            raise ValueError(f"{what} names more than one patient of this practice")
        found.setdefault(matches[0].pk, (matches[0], []))[1].append(what)
    if len(found) > 1:
        named = "; ".join(", ".join(whats) for _, whats in found.values())
        raise ValueError(
            f"the patient identifiers name {len(found)} different patients of this practice ({named}): "
            "which one the result is of, isotrack does not guess"
        )
    patient, whats = next(iter(found.values()))
    if reference.birth_date and not patient.birth_date.isoformat().startswith(reference.birth_date):
        raise ValueError(
            f"the birth date given ({reference.birth_date_field} {reference.birth_date}) does not match the "
            f"birth date on record of the patient {', '.join(whats)}"
        )
    return patient


def _courses(patient: Patient) -> list[Course]:
    """The patient's courses (entered-in-error ones never), the latest started first."""
    return list(patient.courses.exclude(status=CourseStatus.ENTERED_IN_ERROR).order_by("-start", "-id"))


def _dates(courses: list[Course]) -> list[filing.CourseDates]:
    return [filing.CourseDates(course.start, course.end) for course in courses]


def _lab_course(patient: Patient, day: date) -> Course:
    """The course a lab of the day is filed on (``core.filing.course_for_lab``)."""
    courses = _courses(patient)
    index = filing.course_for_lab(_dates(courses), day)
    if index is None:
        raise ValueError("the patient has no course to file the result on")
    return courses[index]


def _test_course(patient: Patient, day: date) -> Course:
    """The course a pregnancy test of the day is filed on (``core.filing.course_for_pregnancy_test``)."""
    courses = _courses(patient)
    if not courses:
        raise ValueError("the patient has no course to file the result on")
    chosen = filing.course_for_pregnancy_test(_dates(courses), day)
    if chosen.index is None:
        raise ValueError(f"{chosen.problem}: enter the test by hand on its course")
    return courses[chosen.index]


def _stored(value: Decimal | None, name: str) -> Decimal | None:
    if value is None:
        return None
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(value) >= MAX_STORED:
        raise ValueError(f"the {name} is too large for a lab result")
    return value


def _unit_of(test: str, unit_text: str) -> LabUnit:
    unit = UNITS.get(unit_text.lower())
    if unit is None:
        raise ValueError(f"unit {unit_text[:20]!r} is not one isotrack reads (mg/dL, mmol/L, U/L)")
    wrong_unit = plausibility.lab_unit(test, str(unit))
    if wrong_unit is not None:
        raise ValueError(wrong_unit)  # the words of every other way a result comes in (core.plausibility)
    return unit


def _plan_lab(row: LabRow, test: str) -> tuple[Decimal, str, dict[str, Decimal | None]]:
    """The value and its unit as stored, and the reference range and ULN in that unit (LAB-TG-HIGH)."""
    if row.value is None:
        raise ValueError("no value")
    if row.value < 0:
        raise ValueError("a result cannot be negative")
    unit = _unit_of(test, row.unit)
    if row.unit_of_range and _unit_of(test, row.unit_of_range) != unit:
        raise ValueError(f"the reference range is in {row.unit_of_range[:20]}, the value in {row.unit[:20]}")
    # ALT/AST: the reference range's upper bound is the ULN the alert compares with (LAB-LFT-HIGH).
    uln = row.uln if row.uln is not None else (row.reference_high if test in ENZYMES else None)
    if uln is not None and uln <= 0:
        raise ValueError("the upper limit of normal must be above 0")
    bounds = {"uln": uln, "reference_low": row.reference_low, "reference_high": row.reference_high}
    value = row.value
    if test == LabTest.TRIGLYCERIDES and unit == LabUnit.MMOL_L:  # the value and its range together
        factor = TRIGLYCERIDES_MG_DL_PER_MMOL_L
        value, unit = value * factor, LabUnit.MG_DL
        bounds = {name: None if bound is None else bound * factor for name, bound in bounds.items()}
    stored = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if stored >= MAX_STORED:
        raise ValueError("the value is too large for a lab result")
    implausible = plausibility.lab_value(test, float(stored), str(unit))
    if implausible is not None:
        raise ValueError(implausible)
    return stored, str(unit), {name: _stored(bound, name.replace("_", " ")) for name, bound in bounds.items()}


def _word(text: str) -> str:
    """A word as compared: trimmed, lower case, spaces as one, SNOMED CT's "(qualifier value)" left out."""
    return " ".join(text.split()).lower().removesuffix("(qualifier value)").strip()


def _pregnancy_result(said: tuple[str, ...], flags: tuple[str, ...] = ()) -> str:
    """Negative or positive: every word and code given is one of ``RESULT_WORDS`` and all say the same; every
    abnormal flag or interpretation is one of ``FLAG_WORDS`` and says the same as they do."""
    given = [word for word in said if word.strip()]
    shown = " / ".join(given)[:60]
    unknown = [word for word in given if _word(word) not in RESULT_WORDS]
    if not given or unknown:
        unread = f": {unknown[0][:30]!r} is not one" if unknown and len(given) > 1 else ""
        raise ValueError(
            f"the pregnancy test's result {shown!r} is neither Negative nor Positive in words isotrack "
            f"reads{unread} (Negative, NEG, not detected, Positive, POS, detected, SNOMED CT 260385009 or "
            "10828004): enter the test by hand"
        )
    meanings = {RESULT_WORDS[_word(word)] for word in given}
    if len(meanings) > 1:
        raise ValueError(f"the pregnancy test's result {shown!r} says both Negative and Positive")
    result = meanings.pop()
    for flag in (flag for flag in flags if flag.strip()):
        meaning = FLAG_WORDS.get(_word(flag))
        if meaning is None:
            raise ValueError(
                f"the pregnancy test's abnormal flag or interpretation {flag[:40]!r} is not one isotrack "
                "reads on a pregnancy test (N, NEG, ND, A, AA, H, HH, POS, DET): enter the test by hand"
            )
        if meaning != result:
            raise ValueError(
                f"the pregnancy test's result is {result.title()} but its abnormal flag or interpretation "
                f"{flag[:40]!r} says {meaning.title()}: ask the lab, and enter the test by hand"
            )
    return result


def _test_purpose(course: Course, day: date) -> str | None:
    return core.expected_test_purpose(course_facts(course), day)


def _in_practice_zone(row: LabRow, zone: ZoneInfo) -> LabRow:
    """The row dated by the practice's day of its moment, when the file gave one with its offset."""
    if row.at is None:
        return row
    try:
        return dataclasses.replace(row, day=row.at.astimezone(zone).date())
    except (OverflowError, ValueError):  # the year 9999 with an offset, read in another zone
        raise ValueError(
            f"the date {row.at.isoformat()[:30]!r} cannot be read in the practice's time zone"
        ) from None


def _plan(ctx: _Context, row: LabRow) -> _Planned | _PlannedTest:
    row = _in_practice_zone(row, ctx.zone)
    if row.loinc in QUANTITATIVE_HCG_LOINC:
        raise ValueError(
            f"LOINC {row.loinc} is a quantitative hCG: its cut-off is the reader's; record the pregnancy "
            "test by hand (or send the qualitative result, LOINC 2106-3 or 2118-8)"
        )
    test = LAB_TEST_BY_LOINC.get(row.loinc)  # type: ignore[call-overload]
    if test is None and row.loinc not in PREGNANCY_TEST_LOINC:
        raise ValueError(f"LOINC {row.loinc[:20]!r} is not a lab isotrack tracks")
    what = "A result" if test is not None else "A specimen"
    problem = plausibility.not_after_today(row.day, ctx.today, what)
    if problem is not None:
        raise ValueError(problem)
    if test is not None:
        value, unit, bounds = _plan_lab(row, str(test))
        course = _lab_course(_patient_born(ctx, row, what), row.day)
        planned = _Planned(
            row.row,
            course,
            str(test),
            row.day,
            value,
            unit,
            uln=bounds["uln"],
            reference_low=bounds["reference_low"],
            reference_high=bounds["reference_high"],
            given=f"{row.value} {row.unit}" if unit != UNITS.get(row.unit.lower()) else "",
            corrected=row.corrected,
        )
        if row.corrected:
            others = LabResult.objects.filter(course=course, test=test, effective_date=row.day).exclude(
                value=value
            )
            if others.exists():
                raise ValueError(_correction(f"{LabTest(test).label} {value} {unit} on {row.day}"))
        return planned
    result = _pregnancy_result(row.result, row.flags)
    patient = _patient_born(ctx, row, what)
    if patient.category != PatientCategory.CAN_GET_PREGNANT:
        category = "not assigned yet" if not patient.category else patient.get_category_display().lower()
        raise ValueError(
            f"the patient's category is {category}: isotrack files pregnancy tests for patients who can get "
            "pregnant (assign the category, or enter the test by hand)"
        )
    course = _test_course(patient, row.day)
    planned_test = _PlannedTest(
        row.row, course, row.day, result, PREGNANCY_TEST_LOINC[row.loinc], corrected=row.corrected
    )
    on_record = set(
        PregnancyTest.objects.filter(course=course, specimen_date=row.day).values_list("result", flat=True)
    )
    if on_record - {result}:
        if row.corrected:
            raise ValueError(_correction(f"a pregnancy test {result} on {row.day}"))
        other = " and ".join(sorted(on_record - {result}))
        raise ValueError(
            f"a {other} pregnancy test of {row.day} is on record for this course: a {result} one of the "
            "same day is not filed beside it (ask the lab; enter or correct the tests by hand)"
        )
    if result not in on_record and _test_purpose(course, row.day) is None:
        raise ValueError(_no_purpose(row.day))
    return planned_test


def _correction(what: str) -> str:
    return (
        f"a corrected result ({what}) of a result of the same course, test and date already on record with "
        "another value: correct that result in isotrack (the patient's page, Correct), not by import"
    )


def _patient_born(ctx: _Context, row: LabRow, what: str) -> Patient:
    """The row's patient, born by the row's date."""
    patient = _patient(ctx, row.patient)
    problem = plausibility.not_before_birth(row.day, patient.birth_date, what)
    if problem is not None:
        raise ValueError(problem)
    return patient


def _no_purpose(day: date) -> str:
    return (
        f"the course expects no pregnancy test on {day} (a positive test has stopped it): "
        "enter this test by hand with its purpose"
    )


def _conflicts(planned: list[_Planned | _PlannedTest]) -> list[RejectedRow]:
    """Rows that contradict other rows of the file: a corrected lab beside a result of the same course, test
    and day with another value; pregnancy tests of one course and day saying Negative and Positive (both)."""
    labs: defaultdict[tuple[Any, ...], list[_Planned]] = defaultdict(list)
    tests: defaultdict[tuple[Any, ...], list[_PlannedTest]] = defaultdict(list)
    for item in planned:
        if isinstance(item, _PlannedTest):
            tests[(item.course.pk, item.day)].append(item)
        else:
            labs[(item.course.pk, item.test, item.day)].append(item)
    rejected = []
    for results in labs.values():
        if len({result.value for result in results}) > 1:
            rows = ", ".join(str(result.row) for result in results)
            rejected += [
                RejectedRow(
                    result.row,
                    f"a corrected result of a result of the same test and date in this file (rows {rows}) "
                    "with another value: send the corrected one alone, or correct the result in isotrack",
                )
                for result in results
                if result.corrected
            ]
    for same_day in tests.values():
        if len({test.result for test in same_day}) > 1:
            rows = ", ".join(str(test.row) for test in same_day)
            rejected += [
                RejectedRow(
                    test.row,
                    f"the pregnancy tests of {test.day} in this file (rows {rows}) say Negative and "
                    "Positive: neither is filed (ask the lab; enter the tests by hand)",
                )
                for test in same_day
            ]
    return rejected


def import_lab_rows(
    *,
    actor: StaffUser,
    rows: list[LabRow],
    rejected: list[RejectedRow] | None = None,
    ignored: list[RowOutcome] | None = None,
    today: date | None = None,
) -> LabImportReport:
    """Files every row on its course, or nothing: raises LabFileRejected naming the bad rows. ``today`` is the
    practice's (its time zone) unless given."""
    require(actor, Capability.RECORD_OBSERVATIONS)
    rejected = list(rejected or [])
    if len(rows) + len(rejected) > MAX_ROWS:
        raise LabFileRejected([RejectedRow(MAX_ROWS + 1, f"a file holds at most {MAX_ROWS} results")])
    ctx = _context(actor, today)
    planned: list[_Planned | _PlannedTest] = []
    for row in rows:
        try:
            planned.append(_plan(ctx, row))
        except ValueError as error:
            rejected.append(RejectedRow(row.row, str(error)))
    rejected += _conflicts(planned)
    if rejected:
        raise LabFileRejected(sorted(rejected, key=lambda r: r.row))
    if not planned:
        why = "the file holds no results"
        if ignored:
            left_out = f"{len(ignored)} row{'s' if len(ignored) > 1 else ''}"
            why = (
                f"the file holds no result isotrack tracks ({left_out} left out: "
                + "; ".join(outcome.detail for outcome in ignored[:3])
                + ("…)" if len(ignored) > 3 else ")")
            )
        raise LabFileRejected([RejectedRow(1, why)])
    report = LabImportReport(rows=list(ignored or []))
    with transaction.atomic():
        seen: set[tuple[Any, ...]] = set()
        # in date order: a pregnancy test's purpose is the core's once the earlier ones are written
        for item in sorted(planned, key=lambda planned_item: (planned_item.day, planned_item.row)):
            try:
                if isinstance(item, _PlannedTest):
                    _write_test(actor, item, seen, report)
                else:
                    _write_lab(actor, item, seen, report)
            except InvalidInput as error:
                raise LabFileRejected([RejectedRow(item.row, error.message)]) from error
    report.rows.sort(key=lambda outcome: outcome.row)
    return report


def _write_lab(actor: StaffUser, item: _Planned, seen: set[tuple[Any, ...]], report: LabImportReport) -> None:
    name = LabTest(item.test).label
    converted = f" (given as {item.given})" if item.given else ""
    detail = f"{name} {item.value} {item.unit}{converted} on {item.day}"
    key = ("lab", item.course.pk, item.test, item.day, item.value)
    on_record = LabResult.objects.filter(
        course=item.course, test=item.test, effective_date=item.day, value=item.value
    ).exists()
    if key in seen or on_record:
        report.duplicates += 1
        report.rows.append(RowOutcome(item.row, "duplicate", detail, "lab_result"))
        return
    seen.add(key)
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
    report.imported.append(result)
    report.rows.append(RowOutcome(item.row, "imported", detail, "lab_result", result.uuid))


def _write_test(
    actor: StaffUser, item: _PlannedTest, seen: set[tuple[Any, ...]], report: LabImportReport
) -> None:
    detail = f"pregnancy test ({item.specimen} hCG) {item.result} on {item.day}"
    key = ("pregnancy", item.course.pk, item.day, item.result)
    on_record = PregnancyTest.objects.filter(
        course=item.course, specimen_date=item.day, result=item.result
    ).exists()
    if key in seen or on_record:
        report.duplicates += 1
        report.rows.append(RowOutcome(item.row, "duplicate", detail, "pregnancy_test"))
        return
    seen.add(key)
    # the core's purpose once the file's earlier rows are written: a screening test, then the confirmation
    purpose = _test_purpose(item.course, item.day)
    if purpose is None:
        raise InvalidInput(_no_purpose(item.day))
    test = record_pregnancy_test(
        actor=actor,
        course=item.course,
        purpose=purpose,
        setting=TestSetting.LAB,
        specimen_date=item.day,
        result=item.result,
    )
    report.pregnancy_tests.append(test)
    detail += f", {test.get_purpose_display().lower()}, setting lab"
    report.rows.append(RowOutcome(item.row, "imported", detail, "pregnancy_test", test.uuid))


def import_lab_file(*, actor: StaffUser, content: str | bytes, today: date | None = None) -> LabImportReport:
    parsed = parse_lab_file(content)
    return import_lab_rows(
        actor=actor, rows=parsed.rows, rejected=parsed.rejected, ignored=parsed.ignored, today=today
    )
