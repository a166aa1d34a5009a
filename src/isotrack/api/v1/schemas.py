"""Explicit input and output schemas of the JSON API, one pair per record (never "all fields").

Vocabulary fields use the clinic's choices (the course file's values); numbers are JSON numbers; dates are
ISO dates local to the practice; every record is named by its UUID (`id`), never by a database key.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints

from isotrack.clinic.models import (
    VISIT_NOTE_LENGTH,
    AdministrativeGender,
    ContraceptionMethodCode,
    CourseStatus,
    DoseChangeReason,
    Indication,
    IpledgeEntryKind,
    LabTest,
    LabUnit,
    MedicationClass,
    MoodInstrument,
    PatientCategory,
    PregnancyFollowUpStep,
    Product,
    Role,
    Severity,
    SideEffectAction,
    StopReason,
    TestPurpose,
    TestResult,
    TestSetting,
    WeightUnit,
)

EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2100, 12, 31)  # dates outside are typing errors


def _sane_day(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"a date between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


Day = Annotated[date, AfterValidator(_sane_day)]


def text(max_length: int, min_length: int = 0) -> type[str]:
    """Text that fits its column, without control characters (PostgreSQL refuses NUL; the rest is refused as
    everywhere else: clinic.inputs); tab and line breaks are text."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(
            min_length=min_length, max_length=max_length, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
        ),
    ]


def number(low: float, high: float) -> object:
    return Field(..., ge=low, le=high, allow_inf_nan=False)


def optional_number(low: float, high: float) -> object:
    return Field(None, ge=low, le=high, allow_inf_nan=False)


STRENGTH_DESCRIPTION = (
    "The capsule strength in mg, when the dose is taken in capsules of one strength of its product line "
    "(reference.md section 2); left out: not stated. FHIR then gives the RxNorm clinical drug."
)


# --------------------------------------------------------------------------------------------- shared


class Problem(Schema):
    """RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[FieldError] | None = None
    rejected: list[RejectedRowOut] | None = None


class FieldError(Schema):
    field: str
    message: str


# -------------------------------------------------------------------------------------------- patients


class PatientIn(Schema):
    mrn: text(40, 1)  # type: ignore[valid-type]
    given_name: text(100, 1)  # type: ignore[valid-type]
    family_name: text(100, 1)  # type: ignore[valid-type]
    birth_date: Day
    gender: AdministrativeGender = Field(
        AdministrativeGender.UNKNOWN,
        description="Administrative gender (FHIR AdministrativeGender); left out: unknown (not stated). Not "
        "the iPLEDGE category, which is never derived from it.",
    )
    category: PatientCategory | Literal[""] = Field(
        "", description="IPL-CAT: a prescriber's to assign; left out, the patient waits for one."
    )
    ipledge_id: text(20) = ""  # type: ignore[valid-type]
    email: text(254) = ""  # type: ignore[valid-type]
    phone: text(30) = ""  # type: ignore[valid-type]
    reminders_consent: bool = False


class PatientContactPatch(Schema):
    """The patient's contact details; fields left out stay as they are."""

    email: text(254) | None = None  # type: ignore[valid-type]
    phone: text(30) | None = None  # type: ignore[valid-type]
    reminders_consent: bool | None = None
    gender: AdministrativeGender | None = Field(None, description="Administrative gender (FHIR).")


class PatientCategoryIn(Schema):
    category: PatientCategory
    reason: text(200) = ""  # type: ignore[valid-type]  # needed when the category changes


class PatientOut(Schema):
    id: UUID
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    gender: AdministrativeGender = Field(
        ..., description="Administrative gender (FHIR); unknown: not stated."
    )
    ipledge_id: str
    category: PatientCategory | None = Field(..., description="None until a prescriber assigns it.")
    category_set_at: datetime | None
    email: str
    phone: str
    reminders_consent: bool
    created_at: datetime


class PatientPage(Schema):
    items: list[PatientOut]
    count: int
    limit: int
    offset: int


class WeightIn(Schema):
    effective_date: Day
    value: float = number(1, 1000)  # type: ignore[assignment]
    unit: WeightUnit = Field(WeightUnit.KG)  # type: ignore[assignment]


class WeightPatch(WeightIn):
    reason: text(200) = ""  # type: ignore[valid-type]


class WeightOut(Schema):
    id: UUID
    patient: UUID
    effective_date: date
    kg: float
    entered_value: float
    entered_unit: WeightUnit
    recorded_at: datetime


class ContraceptionIn(Schema):
    method: ContraceptionMethodCode
    start: Day
    end: Day | None = None


class ContraceptionEndPatch(Schema):
    end: Day


class ContraceptionOut(Schema):
    id: UUID
    patient: UUID
    method: ContraceptionMethodCode
    start: date
    end: date | None
    recorded_at: datetime


RXNORM_CODE = Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]*$")]  # an RXCUI: digits
MEDICATION_CLASS_DESCRIPTION = (
    "The class isotrack judges (MED-TETRA, MED-VITA, MED-INDUCER): tetracycline, vitamin_a, "
    "enzyme_inducer or other. Left out (or null): isotrack's table classes the medicine by its RxNorm code, "
    "else its name; a medicine the table does not hold is other."
)


class MedicationIn(Schema):
    """Another medicine or supplement the patient takes, from `start` through `end` (inclusive)."""

    name: text(200, 1)  # type: ignore[valid-type]  # the medicine or supplement, as named
    start: Day
    end: Day | None = Field(None, description="The last day taken; left out: still taken.")
    rxnorm: RXNORM_CODE = Field("", description="The RxNorm ingredient code (RXCUI), when known.")
    medication_class: MedicationClass | None = Field(None, description=MEDICATION_CLASS_DESCRIPTION)


class MedicationEndPatch(Schema):
    end: Day = Field(..., description="The last day the medicine was taken (inclusive).")


class MedicationOut(Schema):
    id: UUID
    patient: UUID
    name: str
    medication_class: MedicationClass
    medication_class_label: str = Field(..., description="The class in words, as the pages show it.")
    rxnorm: str = Field(..., description="The RxNorm ingredient code; empty when unknown.")
    start: date
    end: date | None = Field(..., description="The last day taken (inclusive); null while still taken.")
    recorded_at: datetime


# ---------------------------------------------------------------------------------------------- courses


class CourseIn(Schema):
    prescriber: UUID | None = Field(None, description="A prescriber of the practice; default: the caller.")
    start: Day
    mg_per_day: float | None = optional_number(0.1, 300)  # type: ignore[assignment]
    product: Product = Field(Product.CONVENTIONAL)  # type: ignore[assignment]
    brand: text(40) = ""  # type: ignore[valid-type]
    strength_mg: int | None = Field(None, ge=1, le=100, description=STRENGTH_DESCRIPTION)
    target_mg_per_kg: float | None = optional_number(50, 300)  # type: ignore[assignment]  # none: the practice's
    indication: Indication = Field(Indication.ACNE_VULGARIS)  # type: ignore[assignment]
    planned_end: Day | None = None


class CourseEndPatch(Schema):
    """The last day of dosing: a completed course, or one stopped early (`stopped`, and its `stop_reason`)."""

    end: Day
    stopped: bool = False
    stop_reason: StopReason | None = Field(
        None,
        description="Why the course is stopped early: required with `stopped`, refused without it (a course "
        "that ends as planned has no stop reason).",
    )
    reason: text(200) = Field("", description="A note, kept in the audit trail.")  # type: ignore[valid-type]


class CourseOut(Schema):
    id: UUID
    patient: UUID
    prescriber: UUID
    prescriber_name: str
    indication: Indication
    status: CourseStatus
    stop_reason: StopReason | None = Field(
        description="Why a stopped course was stopped; None for any other course, and for a course stopped "
        "before reasons were recorded."
    )
    start: date
    planned_end: date | None
    end: date | None
    target_mg_per_kg: float = Field(description="DOSE-TARGET: the course's own, or its practice's.")
    follows_practice_target: bool = Field(
        description="True: the course has no target of its own; the practice's settings set it."
    )
    created_at: datetime


class CoursePage(Schema):
    items: list[CourseOut]
    count: int
    limit: int
    offset: int


# ------------------------------------------------------------------------------------- course records


class RecordOut(Schema):
    id: UUID
    course: UUID
    recorded_at: datetime


class DoseSegmentIn(Schema):
    starts_on: Day
    mg_per_day: float = number(0.1, 300)  # type: ignore[assignment]
    product: Product = Field(Product.CONVENTIONAL)  # type: ignore[assignment]
    change_reason: DoseChangeReason = Field(
        description="Why the dose changes (the quality report counts dose reductions by it): side_effects, "
        "lab_result (an abnormal lab result), weight_change, planned (the planned step, titration) or other."
    )
    reason: text(200) = Field(  # type: ignore[valid-type]
        "", description="The prescriber's note, kept in the audit trail; needed with `change_reason` other."
    )
    brand: text(40) = ""  # type: ignore[valid-type]
    strength_mg: int | None = Field(None, ge=1, le=100, description=STRENGTH_DESCRIPTION)


class DoseSegmentOut(RecordOut):
    starts_on: date
    mg_per_day: float
    product: Product
    brand: str
    strength_mg: int | None
    change_reason: DoseChangeReason | None = Field(
        description="Why the dose changed; None for the course's first dose, and for a change recorded "
        "without one (before reasons were recorded, or imported from a course file without one)."
    )
    reason: str = Field(description="The prescriber's note.")


class InterruptionIn(Schema):
    start: Day
    end: Day
    reason: text(200) = ""  # type: ignore[valid-type]


class InterruptionOut(RecordOut):
    start: date
    end: date
    reason: str


class MissedDoseIn(Schema):
    date: Day


class MissedDoseOut(RecordOut):
    date: date


class PregnancyTestIn(Schema):
    purpose: TestPurpose
    setting: TestSetting
    specimen_date: Day
    result: TestResult
    verified_by: UUID | None = Field(None, description="The staff member who verified a home test.")
    verification_note: text(200) = ""  # type: ignore[valid-type]


class PregnancyTestOut(RecordOut):
    purpose: TestPurpose
    setting: TestSetting
    specimen_date: date
    result: TestResult
    verified_by: UUID | None
    verification_note: str


class IpledgeEntryIn(Schema):
    kind: IpledgeEntryKind
    date: Day
    confirmation_number: text(40) = ""  # type: ignore[valid-type]


class IpledgeEntryOut(RecordOut):
    kind: IpledgeEntryKind
    date: date
    confirmation_number: str


class DispenseIn(Schema):
    date: Day
    days_supply: int = Field(..., ge=1, le=30, description="IPL-SUPPLY: at most 30 days.")
    quantity: int | None = Field(None, ge=0, le=32767)
    mg_per_day: float | None = optional_number(0.1, 300)  # type: ignore[assignment]
    product: Product | None = None
    pharmacy: text(120) = ""  # type: ignore[valid-type]
    rma: text(40) = ""  # type: ignore[valid-type]


class DispenseOut(RecordOut):
    date: date
    days_supply: int
    quantity: int | None
    mg_per_day: float | None
    product: Product | None
    pharmacy: str
    rma: str


class LabResultIn(Schema):
    test: LabTest
    effective_date: Day
    value: float = number(0, 999999)  # type: ignore[assignment]
    unit: LabUnit
    uln: float | None = optional_number(0.01, 999999)  # type: ignore[assignment]
    reference_low: float | None = optional_number(0, 999999)  # type: ignore[assignment]
    reference_high: float | None = optional_number(0, 999999)  # type: ignore[assignment]


class LabResultOut(RecordOut):
    test: LabTest
    loinc: str
    effective_date: date
    value: float
    unit: LabUnit
    uln: float | None
    reference_low: float | None
    reference_high: float | None


class VisitIn(Schema):
    date: Day
    note: text(VISIT_NOTE_LENGTH) = ""  # type: ignore[valid-type]


class PrescriptionOut(Schema):
    """The prescription the prescriber is to send after a visit (IPL-SUPPLY: 1 to 30 days)."""

    days_supply: int
    mg_per_day: float
    product: Product


class VisitOut(RecordOut):
    date: date
    note: str
    confirmed_methods: list[str] = Field(
        ...,
        description="The contraception methods the patient confirmed in use (IPL-CON-2), as method codes.",
    )
    prescription: PrescriptionOut | None = Field(None, description="The prescription to send, if any.")


class MoodScreenIn(Schema):
    date: Day
    instrument: MoodInstrument
    score: int = Field(..., ge=0, le=27)
    item9: int | None = Field(None, ge=0, le=3)


class MoodScreenOut(RecordOut):
    date: date
    instrument: MoodInstrument
    score: int
    item9: int | None


class SideEffectIn(Schema):
    term: text(100, 1)  # type: ignore[valid-type]
    severity: Severity
    onset: Day
    resolved_on: Day | None = None
    action: SideEffectAction = Field(SideEffectAction.NONE)  # type: ignore[assignment]


class SideEffectOut(RecordOut):
    term: str
    severity: Severity
    onset: date
    resolved_on: date | None
    action: SideEffectAction


# ----------------------------------------------------------------------------------------- evaluation


class WindowOut(Schema):
    opens: date
    closes: date


class BlockingOut(Schema):
    code: str
    rule_id: str
    explanation: str


class DispenseAssessmentOut(Schema):
    allowed: bool
    window: WindowOut | None
    blocking: list[BlockingOut]


class DoseOut(Schema):
    cumulative_mg: float
    cumulative_mg_per_kg: float | None
    conventional_equivalent_mg: float
    target_mg_per_kg: float
    remaining_mg: float | None
    current_mg_per_day: float | None
    current_mg_per_kg_per_day: float | None
    projected_completion_date: date | None


class AlertOut(Schema):
    code: str
    date: date
    detail: str
    rule_id: str
    explanation: str


class DueOut(Schema):
    code: str
    date: date
    rule_id: str


class AcknowledgedOut(Schema):
    """Who acknowledged an alert, when and why (a positive pregnancy test: once its follow-up is recorded)."""

    date: date
    by: str | None = Field(..., description="The staff member who acknowledged it (display name).")
    reason: str | None


class FindingOut(Schema):
    """An alert with what it asks for, of whom, and whether it is open (ALERT-URGENCY), most urgent first."""

    code: str
    date: date
    detail: str
    rule_id: str
    urgency: int = Field(..., description="0 for the most urgent kind of alert (reference.md ALERT-URGENCY).")
    label: str
    asks_for: str
    by: str = Field(..., description="Who acts on it: prescriber or staff.")
    holds_drug: bool = Field(..., description="It calls for holding or stopping a drug.")
    open: bool
    acknowledged: AcknowledgedOut | None


class HoldOut(Schema):
    """The hold (interruption) the course is in on the day (DOSE-CUM)."""

    start: date = Field(..., alias="from")
    end: date = Field(..., alias="to")
    reason: str | None


class NextStepOut(Schema):
    """The course's next required step, as the worklist and the course page show it."""

    code: str
    label: str
    actor: str = Field(..., description="prescriber, staff, patient or pharmacy.")
    status: str = Field(..., description="to_do, overdue or blocked.")
    deadline: date | None
    earliest: date | None = Field(..., description="Not possible before this day.")
    countdown: str = Field(..., description="The deadline in plain words.")
    days_left: int | None = Field(..., description="To the deadline (negative: overdue), else to `earliest`.")
    rule_id: str


class EvaluationOut(Schema):
    course: UUID
    as_of: date
    rules: str = Field(..., description="The id of the rule set applied, e.g. us-ipledge-2021.")
    rule_set_title: str
    phase: str
    dispense: DispenseAssessmentOut
    dose: DoseOut
    alerts: list[AlertOut]
    due: list[DueOut]
    explanations: list[str]
    findings: list[FindingOut] = Field(..., description="Every alert, most urgent first (ALERT-URGENCY).")
    hold: HoldOut | None
    next_step: NextStepOut | None
    tier: int = Field(..., description="The worklist's rank before deadlines: 0 (self-harm risk) to 5.")
    prescription: PrescriptionOut | None = Field(
        ..., description="The prescription isotrack proposes for a visit today (null: none; see the reasons)."
    )
    prescription_reasons: list[str] = Field(..., description="Why no prescription is proposed.")


class WorklistAlertOut(Schema):
    code: str
    label: str
    date: date
    detail: str
    rule_id: str
    open: bool = Field(..., description="False once a prescriber acknowledged it.")


class WorklistItemOut(Schema):
    course: UUID
    patient: UUID
    patient_name: str
    mrn: str
    ipledge_id: str
    prescriber_name: str
    category: PatientCategory
    status: CourseStatus
    phase: str
    rules: str
    tier: int
    next_step: NextStepOut | None
    dispense_allowed: bool
    blocking: list[str]
    alerts: list[WorklistAlertOut]


class WorklistPage(Schema):
    on: date
    items: list[WorklistItemOut]
    count: int
    limit: int
    offset: int


class CalendarItemOut(Schema):
    date: date
    kind: str
    key: str = Field(..., description="Stable for the course's event when its date moves (kind-number).")
    label: str
    status: str = Field(..., description="done, overdue, open, upcoming, waiting or past.")
    earliest: dt.date
    latest: dt.date
    done_on: dt.date | None
    projected: bool
    for_staff_only: bool
    rule_id: str
    due_code: str | None = Field(..., description="The due item of the evaluation the event answers.")
    due_date: dt.date | None
    course: UUID
    patient: UUID
    patient_name: str


class CalendarOut(Schema):
    on: date
    start: date
    end: date
    items: list[CalendarItemOut]
    next_after: str | None = Field(
        ..., description="Pass as `after` for the next page; null on the last page."
    )


class AcknowledgmentIn(Schema):
    code: text(40, 1)  # type: ignore[valid-type]
    alert_date: Day
    reason: text(300, 1)  # type: ignore[valid-type]


class AcknowledgmentOut(RecordOut):
    code: str
    alert_date: date
    date: date
    reason: str


class PregnancyFollowUpIn(Schema):
    step: PregnancyFollowUpStep
    date: Day
    note: text(300) = ""  # type: ignore[valid-type]


class PregnancyFollowUpOut(RecordOut):
    step: PregnancyFollowUpStep
    date: date
    note: str


# --------------------------------------------------------------------------------------- tokens, labs


class TokenIn(Schema):
    name: text(80, 1)  # type: ignore[valid-type]


class TokenOut(Schema):
    id: UUID
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="The token value: shown this once, never again.")


class RejectedRowOut(Schema):
    row: int = Field(..., description="1-based: the CSV line (header = line 1) or the Bundle entry number.")
    reason: str


class LabImportOut(Schema):
    imported: int
    duplicates: int
    rejected: list[RejectedRowOut]
    results: list[UUID]


Problem.model_rebuild()
