"""The facts of one course: the content of a course file (../shared/spec/course-evaluation.md) as frozen
dataclasses.

These are plain values (``datetime.date``, ``int``/``float``, ``str``, tuples) so that the Django side can
build them straight from database rows; ``isotrack.core.coursefile`` builds them from a course file and checks
that the history is possible (``check_history``). Field names follow the file, except that the file's
``from``/``to`` (``from`` is a Python keyword) are ``start``/``end`` here.

The vocabularies are ``Literal`` types with the tuple of their values (``get_args``) beside them, so that the
parser, mypy and the pages all use one list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias, get_args

from isotrack.core.medications import MedicationClass

# --- vocabularies (spec "Course file") ----------------------------------------------------------------------

RulesChoice: TypeAlias = str  # "auto" or a rule-set id of isotrack.core.rules.RULE_SETS
AUTO_RULES = "auto"

WeightBasis: TypeAlias = Literal["baseline", "daily"]
WEIGHT_BASES: tuple[WeightBasis, ...] = get_args(WeightBasis)

Category: TypeAlias = Literal["can_get_pregnant", "cannot_get_pregnant"]  # IPL-CAT
CATEGORIES: tuple[Category, ...] = get_args(Category)

Product: TypeAlias = Literal["conventional", "micronized"]  # DOSE-LD: micronized is Absorica LD
PRODUCTS: tuple[Product, ...] = get_args(Product)

Method: TypeAlias = Literal[
    "tubal_sterilization",
    "partner_vasectomy",
    "iud_copper",
    "iud_hormonal",
    "combined_pill",
    "patch",
    "implant",
    "injection",
    "vaginal_ring",
    "male_condom",
    "diaphragm_spermicide",
    "cervical_cap_spermicide",
    "sponge_spermicide",
    "abstinence",
    "progestin_only_pill",
]
# IPL-CON-2 (reference.md section 1.6)
PRIMARY_METHODS: frozenset[str] = frozenset(
    {
        "tubal_sterilization",
        "partner_vasectomy",
        "iud_copper",
        "iud_hormonal",
        "combined_pill",
        "patch",
        "implant",
        "injection",
        "vaginal_ring",
    }
)
SECONDARY_METHODS: frozenset[str] = frozenset(
    {"male_condom", "diaphragm_spermicide", "cervical_cap_spermicide", "sponge_spermicide"}
)
ABSTINENCE = "abstinence"
# A progestin-only "mini-pill" is not a primary method: it counts toward nothing (IPL-CON-2).
METHODS: tuple[Method, ...] = get_args(Method)
# MED-INDUCER: the methods an enzyme inducer can weaken (spec HORMONAL_METHOD_WEAKENED).
HORMONAL_METHODS: frozenset[str] = frozenset(
    {"combined_pill", "patch", "vaginal_ring", "implant", "injection", "iud_hormonal", "progestin_only_pill"}
)

TestPurpose: TypeAlias = Literal["screening", "confirmation", "monthly", "end_of_course", "post_course"]
TEST_PURPOSES: tuple[TestPurpose, ...] = get_args(TestPurpose)
TestSetting: TypeAlias = Literal["lab", "office", "home"]
TEST_SETTINGS: tuple[TestSetting, ...] = get_args(TestSetting)
TestResult: TypeAlias = Literal["negative", "positive"]
TEST_RESULTS: tuple[TestResult, ...] = get_args(TestResult)

Instrument: TypeAlias = Literal["phq2", "phq9"]
INSTRUMENTS: tuple[Instrument, ...] = get_args(Instrument)
# The score ranges of the instruments (PHQ-2: two items of 0-3; PHQ-9: nine items of 0-3).
MAXIMUM_SCORE: dict[str, int] = {"phq2": 6, "phq9": 27}

LIPID_TESTS: frozenset[str] = frozenset({"triglycerides", "cholesterol", "hdl", "ldl"})
ENZYME_TESTS: frozenset[str] = frozenset({"alt", "ast"})
LIPID_UNITS: tuple[str, ...] = ("mg/dL", "mmol/L")
ENZYME_UNITS: tuple[str, ...] = ("U/L",)

# IPL-SUPPLY: at most a 30-day supply per dispense.
MAXIMUM_DAYS_SUPPLY = 30

# Why a prescriber changed the dose (issue 16: the quality report counts the reductions for side effects):
# the codes in order, each with its plain words, which read after "for" ("a dose lowered for side effects").
# A dose segment recorded without one (the course's first, one recorded before codes were, or a course
# file's without ``reason``) has none.
DOSE_CHANGE_REASONS: dict[str, str] = {
    "side_effects": "side effects",
    "lab_result": "an abnormal lab result",
    "weight_change": "a change of weight",
    "planned": "the planned step (titration)",
    "other": "another reason",
}

# IPL-PT-POSITIVE: the follow-up of a positive pregnancy test, each a step a prescriber records as done:
# stop the drug and tell the patient (IPL-PREG-STOP), refer (IPL-PREG-REFER), report (IPL-PREG-REPORT).
FollowUpKind: TypeAlias = Literal["stop", "refer", "report"]
FOLLOW_UP_KINDS: tuple[FollowUpKind, ...] = get_args(FollowUpKind)


# --- the facts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """The practice's choices (⚙ in reference.md), with the reference defaults.

    The first five fields are the course file's ``policy``; the others are further ⚙ thresholds of
    reference.md section 3, accepted in the file under the same names (other programs ignore them).
    """

    target_mg_per_kg: float = 150  # DOSE-TARGET ⚙
    weight_basis: WeightBasis = "baseline"  # DOSE-WEIGHT ⚙
    home_testing_permitted: bool = False  # IPL-PT-MONTH ⚙
    ld_equivalence_factor: float = 1.25  # DOSE-LD ⚙ (an approximation, not on the label)
    ipledge_2026_effective: dt.date = dt.date(2026, 11, 15)  # rule set us-ipledge-2026 ⚙
    triglycerides_high_mg_dl: float = 500  # LAB-TG-HIGH ⚙
    triglycerides_critical_mg_dl: float = 800  # LAB-TG-CRIT ⚙
    liver_uln_u_per_l: float = 40  # LAB-LFT-HIGH ⚙: the ULN when a result carries none
    liver_uln_multiple: float = 3  # LAB-LFT-HIGH ⚙
    labs_peak_days: int = 60  # LAB-PEAK ⚙: days after the first dispense


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Patient:
    category: Category  # IPL-CAT
    birth_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Course:
    start: dt.date  # the first day of dosing
    end: dt.date | None = None  # the last day of dosing; None while the course runs


@dataclass(frozen=True, slots=True)
class Weight:
    date: dt.date
    kg: float


@dataclass(frozen=True, slots=True)
class DoseSegment:
    """The prescribed daily dose from ``start`` (the file's ``from``) until the next segment or the end."""

    start: dt.date
    mg_per_day: float
    product: Product = "conventional"
    reason: str | None = None  # why the dose changed: a code of DOSE_CHANGE_REASONS; None: not recorded


@dataclass(frozen=True, slots=True)
class Interruption:
    """An inclusive range of days with no dosing (a hold); the file's ``from``/``to``."""

    start: dt.date
    end: dt.date
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ContraceptionUse:
    """One method in use from ``start`` through ``end`` inclusive (None: ongoing)."""

    method: Method
    start: dt.date
    end: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Medication:
    """Another drug or supplement taken from ``start`` through ``end`` inclusive (None: ongoing). Its class
    (the file's ``class``; ``isotrack.core.medications`` proposes it from a name) is what the alerts read:
    MED-TETRA, MED-VITA, MED-INDUCER."""

    name: str
    medication_class: MedicationClass
    start: dt.date
    end: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Enrollment:
    """Registered in iPLEDGE (for cannot_get_pregnant it includes the enrollment counseling)."""

    kind: ClassVar[str] = "enrollment"
    date: dt.date


@dataclass(frozen=True, slots=True)
class PregnancyTest:
    kind: ClassVar[str] = "pregnancy_test"
    date: dt.date  # the specimen collection date (IPL-WIN-7: day 1 of the window)
    purpose: TestPurpose
    setting: TestSetting
    result: TestResult
    verified_by: str | None = None  # the staff member who verified a home test

    @property
    def negative(self) -> bool:
        return self.result == "negative"


@dataclass(frozen=True, slots=True)
class PrescriberConfirmation:
    """The prescriber's monthly entry in iPLEDGE; for cannot_get_pregnant under 2021 rules, the monthly
    counseling at an office visit."""

    kind: ClassVar[str] = "prescriber_confirmation"
    date: dt.date


@dataclass(frozen=True, slots=True)
class PatientAttestation:
    """The patient answered the comprehension questions (IPL-PATIENT-QUIZ)."""

    kind: ClassVar[str] = "patient_attestation"
    date: dt.date


@dataclass(frozen=True, slots=True)
class Dispense:
    kind: ClassVar[str] = "dispense"
    date: dt.date
    days_supply: int  # IPL-SUPPLY: 1-30
    mg_per_day: float | None = None
    product: Product | None = None
    rma: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    kind: ClassVar[str] = "visit"
    date: dt.date


@dataclass(frozen=True, slots=True)
class LabResult:
    kind: ClassVar[str] = "lab"
    date: dt.date
    test: str  # triglycerides, cholesterol, hdl, ldl, alt, ast are evaluated; other names are kept
    value: float
    unit: str
    uln: float | None = None


@dataclass(frozen=True, slots=True)
class MoodScreen:
    kind: ClassVar[str] = "mood_screen"
    date: dt.date
    instrument: Instrument
    score: int
    item9: int | None = None


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """A prescriber acknowledged an alert, with a reason (reference.md ALERT-URGENCY: an alert stays open
    until a newer result clears it or it is acknowledged). An alert is known by its code and its date: a newer
    finding has another date, so it is a new alert, open again. Not part of the spec's course file: an
    isotrack extension (``acknowledgments``), which other programs ignore like any unknown key."""

    code: str  # the alert's code
    alert_date: dt.date  # the alert's date
    date: dt.date  # the day it was acknowledged
    by: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One follow-up step of a positive pregnancy test recorded as done on ``date`` (IPL-PT-POSITIVE). An
    isotrack extension of the course file (``pregnancy_follow_up``)."""

    kind: FollowUpKind
    date: dt.date


Event: TypeAlias = (
    Enrollment
    | PregnancyTest
    | PrescriberConfirmation
    | PatientAttestation
    | Dispense
    | Visit
    | LabResult
    | MoodScreen
)
EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        Enrollment,
        PregnancyTest,
        PrescriberConfirmation,
        PatientAttestation,
        Dispense,
        Visit,
        LabResult,
        MoodScreen,
    )
}


@dataclass(frozen=True, slots=True)
class CourseFile:
    """One course's whole history: what a course file holds (without its ignored keys such as ``expect``).

    Lists are tuples in file order; the core sorts what it needs, so the order of rows does not matter.
    """

    patient: Patient
    course: Course
    as_of: dt.date | None = None
    rules: RulesChoice = AUTO_RULES
    policy: Policy = field(default_factory=Policy)
    weights: tuple[Weight, ...] = ()
    doses: tuple[DoseSegment, ...] = ()
    interruptions: tuple[Interruption, ...] = ()
    missed_doses: tuple[dt.date, ...] = ()
    contraception: tuple[ContraceptionUse, ...] = ()
    events: tuple[Event, ...] = ()
    medications: tuple[Medication, ...] = ()
    acknowledgments: tuple[Acknowledgment, ...] = ()  # isotrack extension: alerts a prescriber acknowledged
    follow_ups: tuple[FollowUp, ...] = ()  # isotrack extension: a positive test's follow-up steps done
    # isotrack extension: the days a patient answered a check-in with thoughts of self-harm (PHQ-9 item 9
    # above 0) that no clinician has confirmed or corrected yet. Only SELF_HARM_REPORTED reads them: what a
    # patient reports counts for nothing else until a clinician confirms it (then it is a mood screen).
    reported_self_harm: tuple[dt.date, ...] = ()
