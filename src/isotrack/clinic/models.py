"""The records of an isotretinoin practice.

Names follow FHIR where a FHIR concept exists (Patient, CarePlan ~ Course, MedicationDispense ~ Dispense,
Observation ~ Weight/LabResult/MoodScreen/PregnancyTest, Encounter ~ Visit). Vocabulary values are the course
file's (../shared/spec/course-evaluation.md), so a record maps to the core's facts without translation.
Public identifiers are UUIDs; integer keys never leave the database.

Nothing here decides anything clinical: that is the core's job (isotrack.core). Writes go through
isotrack.clinic.actions, never through model methods or signals.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from isotrack import core
from isotrack.clinic.inputs import control_character

VISIT_NOTE_LENGTH = 4000  # one limit, the same through the page, the API and an import


def printable_identifier(value: str) -> None:
    """An identifier (an MRN) holds no control character, not even a line break: it is printed in lists,
    files and reminders one to a line."""
    named = control_character(value, multiline=False)
    if named is not None:
        raise ValidationError(f"An identifier cannot hold a control character ({named}).", code="control")


_PHONE = re.compile(r"[0-9 +\-().]+(?:\s*(?:x|ext\.?)\s*[0-9]+)?", re.ASCII | re.IGNORECASE)
PHONE_MIN_DIGITS = 7


def phone_number(value: str) -> None:
    """A phone number as people write it (the practice's, printed on the patient handout), checked loosely:
    digits, spaces, + - ( ) . and an x before an extension; at least PHONE_MIN_DIGITS digits."""
    if not _PHONE.fullmatch(value) or sum(char.isdigit() for char in value) < PHONE_MIN_DIGITS:
        raise ValidationError(
            f"Not a phone number: at least {PHONE_MIN_DIGITS} digits, with only spaces, + - ( ) . and an x "
            "before an extension, as in (555) 010-0199 x12.",
            code="phone",
        )


# ---------------------------------------------------------------------------------------------- vocabularies


class Role(models.TextChoices):
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse / medical assistant"
    FRONT_DESK = "front_desk", "Front desk"
    PRACTICE_ADMIN = "practice_admin", "Practice administrator"
    AUDITOR = "auditor", "Compliance auditor"


class AdministrativeGender(models.TextChoices):
    """The patient's gender for administration (FHIR Patient.gender, AdministrativeGender), as registered.
    It is not the iPLEDGE category, which is about whether the patient can get pregnant and is never derived
    from it (IPL-CAT)."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class PatientCategory(models.TextChoices):  # IPL-CAT: never derived from sex or gender
    CAN_GET_PREGNANT = "can_get_pregnant", "Can get pregnant"
    CANNOT_GET_PREGNANT = "cannot_get_pregnant", "Cannot get pregnant"


# A practice's rule-set setting: the rule set in force on each day, or one pinned. The rule sets are the
# core's registry (``core.RULE_SETS``): a new rule set is a new module of ``core/rules`` and nothing here.
RulesChoice = models.TextChoices(  # type: ignore[call-overload]  # Enum's functional API: not in the stubs
    "RulesChoice",
    [
        ("AUTO", (core.AUTO_RULES, "The rule set in force on each day")),
        *(
            (rule_set.id.upper().replace("-", "_"), (rule_set.id, f"{rule_set.short_title} (pinned)"))
            for rule_set in core.RULE_SETS.values()
        ),
    ],
)


class WeightBasis(models.TextChoices):  # DOSE-WEIGHT
    BASELINE = "baseline", "Starting weight"
    DAILY = "daily", "Weight on each day"


class TwoFactorPolicy(models.TextChoices):
    """Who must give a second factor (an authenticator's code) after the password."""

    OPTIONAL = "optional", "Optional: each member chooses"
    PRIVILEGED = "privileged", "Required for prescribers, administrators and auditors"
    EVERYONE = "everyone", "Required for everyone"


class Product(models.TextChoices):  # DOSE-LD
    # The words staff read everywhere (clinic.dose_planning.product_words adds the Absorica brand).
    CONVENTIONAL = "conventional", "Conventional"
    MICRONIZED = "micronized", "Absorica LD"


class CourseStatus(models.TextChoices):  # FHIR CarePlan.status
    DRAFT = "draft", "Qualifying"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    REVOKED = "revoked", "Stopped"
    ENTERED_IN_ERROR = "entered-in-error", "Entered in error"


class StopReason(models.TextChoices):
    """Why a prescriber stopped a course early: the codes of ``core.STOP_REASONS`` (the quality report counts
    stopped courses by them; tests/clinic/test_stop_reason.py checks they are the same), in plain words."""

    POSITIVE_TEST = "positive_test", "Positive pregnancy test"
    SIDE_EFFECTS = "side_effects", "Side effects"
    PATIENT_CHOICE = "patient_choice", "The patient's choice"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", "Lost to follow-up"
    OTHER = "other", "Another reason"


class DoseChangeReason(models.TextChoices):
    """Why a prescriber changed the dose: the codes of ``core.DOSE_CHANGE_REASONS`` in its order, in its words
    (the quality report counts the dose reductions by them; tests/clinic/test_dose_change_reason.py checks
    they are the same)."""

    SIDE_EFFECTS = "side_effects", "Side effects"
    LAB_RESULT = "lab_result", "An abnormal lab result"
    WEIGHT_CHANGE = "weight_change", "A change of weight"
    PLANNED = "planned", "The planned step (titration)"
    OTHER = "other", "Another reason"


class Indication(models.TextChoices):  # reference.md section 4, ICD-10-CM
    ACNE_VULGARIS = "L70.0", "Acne vulgaris"
    ACNE_CONGLOBATA = "L70.1", "Acne conglobata"


class ContraceptionMethodCode(models.TextChoices):  # IPL-CON-2, reference.md 1.6
    TUBAL_STERILIZATION = "tubal_sterilization", "Tubal sterilization"
    PARTNER_VASECTOMY = "partner_vasectomy", "Partner's vasectomy"
    IUD_COPPER = "iud_copper", "Copper IUD"
    IUD_HORMONAL = "iud_hormonal", "Hormonal IUD"
    COMBINED_PILL = "combined_pill", "Combined (estrogen-containing) pill"
    PATCH = "patch", "Patch"
    IMPLANT = "implant", "Implant"
    INJECTION = "injection", "Injection"
    VAGINAL_RING = "vaginal_ring", "Vaginal ring"
    MALE_CONDOM = "male_condom", "Male condom"
    DIAPHRAGM_SPERMICIDE = "diaphragm_spermicide", "Diaphragm with spermicide"
    CERVICAL_CAP_SPERMICIDE = "cervical_cap_spermicide", "Cervical cap with spermicide"
    SPONGE_SPERMICIDE = "sponge_spermicide", "Vaginal sponge with spermicide"
    ABSTINENCE = "abstinence", "Continuous abstinence"
    PROGESTIN_ONLY_PILL = "progestin_only_pill", "Progestin-only pill (does not count)"


class TestPurpose(models.TextChoices):
    SCREENING = "screening", "Screening"
    CONFIRMATION = "confirmation", "Confirmation"
    MONTHLY = "monthly", "Monthly"
    END_OF_COURSE = "end_of_course", "End of course"
    POST_COURSE = "post_course", "30 days after the last dose"


class TestSetting(models.TextChoices):  # IPL-PT-SETTING
    LAB = "lab", "Laboratory"
    OFFICE = "office", "Office"
    HOME = "home", "Home"


class TestResult(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"


class IpledgeEntryKind(models.TextChoices):
    ENROLLMENT = "enrollment", "Enrollment in iPLEDGE"
    PRESCRIBER_CONFIRMATION = "prescriber_confirmation", "Prescriber confirmation"
    PATIENT_ATTESTATION = "patient_attestation", "Patient comprehension questions"


class LabTest(models.TextChoices):  # reference.md section 4, LOINC
    TRIGLYCERIDES = "triglycerides", "Triglycerides"
    CHOLESTEROL = "cholesterol", "Total cholesterol"
    HDL = "hdl", "HDL cholesterol"
    LDL = "ldl", "LDL cholesterol"
    ALT = "alt", "ALT"
    AST = "ast", "AST"
    OTHER = "other", "Other"


LOINC_BY_LAB_TEST = {
    LabTest.TRIGLYCERIDES: "2571-8",
    LabTest.CHOLESTEROL: "2093-3",
    LabTest.HDL: "2085-9",
    LabTest.LDL: "13457-7",
    LabTest.ALT: "1742-6",
    LabTest.AST: "1920-8",
}


class LabUnit(models.TextChoices):
    MG_DL = "mg/dL", "mg/dL"
    MMOL_L = "mmol/L", "mmol/L"
    U_L = "U/L", "U/L"
    OTHER = "other", "Other"


class MoodInstrument(models.TextChoices):  # MOOD
    PHQ2 = "phq2", "PHQ-2"
    PHQ9 = "phq9", "PHQ-9"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class ReportSource(models.TextChoices):
    """Who a record's values came from: the clinic, or the patient (issue 17: a check-in's answer a clinician
    confirmed, the record's ``recorded_by``; or a FHIR MedicationStatement whose informationSource is the
    patient)."""

    CLINIC = "clinic", "Entered by the clinic"
    PATIENT = "patient", "Reported by the patient"


class SideEffectAction(models.TextChoices):
    NONE = "none", "No change"
    TREATED = "treated", "Treated"
    DOSE_REDUCED = "dose_reduced", "Dose reduced"
    HELD = "held", "Held"
    STOPPED = "stopped", "Stopped"


class PregnancyFollowUpStep(models.TextChoices):  # IPL-PT-POSITIVE, reference.md 1.5
    STOP = "stop", "Drug stopped and the patient told (IPL-PREG-STOP)"
    REFER = "refer", "Referred to an obstetrician-gynecologist (IPL-PREG-REFER)"
    REPORT = "report", "Reported to the iPLEDGE pregnancy registry and FDA MedWatch (IPL-PREG-REPORT)"


class WeightUnit(models.TextChoices):
    KG = "kg", "kg"
    LB = "lb", "lb"


# ------------------------------------------------------------------------------------------------- helpers


class PublicIdModel(models.Model):
    """A record with a UUID for URLs and the API; the integer key stays inside the database."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


_Recorded = TypeVar("_Recorded", bound="RecordedModel")


class InForce(models.Manager[_Recorded]):
    """The records in force. A voided record stays in the database, in the timeline and in the audit trail
    (``RecordedModel.all_objects``), but this default manager, and so every query, prefetch and related
    manager of the clinic, leaves it out: the engine never sees it."""

    def get_queryset(self) -> models.QuerySet[_Recorded]:
        return super().get_queryset().filter(voided_at__isnull=True)


class RecordedModel(PublicIdModel):
    """A clinical record: who entered it and when (the audit trail keeps every change). A mistaken record is
    voided, never deleted: who voided it, when and why stay on the row, and a correction points to the record
    that replaced it (``clinic.actions.corrections``)."""

    recorded_by = models.ForeignKey("clinic.StaffUser", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    voided_by = models.ForeignKey(
        "clinic.StaffUser", on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )
    void_reason = models.CharField(max_length=200, blank=True, editable=False)
    replaced_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )

    objects = InForce()
    all_objects = models.Manager()  # noqa: DJ012 (a manager: the first one declared is the default)

    class Meta:
        abstract = True

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


IN_FORCE = Q(voided_at__isnull=True)  # a unique constraint holds among the records in force only


def _date_order(name: str, start: str, end: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": F(start)}),
        name=name,
        violation_error_code=end,
        violation_error_message=f"This date cannot be before the {start.replace('_', ' ')}.",
    )


def _range(name: str, field: str, low: object, high: object) -> models.CheckConstraint:
    """A range check whose violation names the field it guards (its error code) in plain words."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gte": low, f"{field}__lte": high}),
        name=name,
        violation_error_code=field,
        violation_error_message=f"{field.replace('_', ' ').capitalize()} must be between {low} and {high}.",
    )


# ---------------------------------------------------------------------------------------- practice and staff


class Practice(PublicIdModel):
    """A dermatology practice and its policy (the ⚙ conventions of reference.md, per practice)."""

    name = models.CharField(max_length=200)
    # Printed on the patient handout ("Call the clinic"), in every language; blank: the handout names none.
    phone = models.CharField(max_length=32, blank=True, validators=[phone_number])
    time_zone = models.CharField(max_length=64, default="America/New_York")
    rules = models.CharField(max_length=20, choices=RulesChoice.choices, default=RulesChoice.AUTO)
    ipledge_2026_effective = models.DateField(default=date(2026, 11, 15))  # reference.md 1.1 ⚙
    target_mg_per_kg = models.DecimalField(
        max_digits=5, decimal_places=1, default=Decimal(150)
    )  # DOSE-TARGET
    weight_basis = models.CharField(max_length=10, choices=WeightBasis.choices, default=WeightBasis.BASELINE)
    home_testing_permitted = models.BooleanField(default=False)  # IPL-PT-MONTH ⚙
    ld_equivalence_factor = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("1.25")
    )  # DOSE-LD
    triglycerides_high_mg_dl = models.PositiveIntegerField(default=500)  # LAB-TG-HIGH ⚙
    triglycerides_critical_mg_dl = models.PositiveIntegerField(default=800)  # LAB-TG-CRIT ⚙
    liver_enzyme_uln_multiple = models.DecimalField(
        max_digits=3, decimal_places=1, default=Decimal(3)
    )  # LAB-LFT
    liver_enzyme_default_uln = models.PositiveIntegerField(default=40)  # LAB-LFT-HIGH ⚙
    peak_labs_after_days = models.PositiveIntegerField(default=60)  # LAB-PEAK ⚙
    two_factor = models.CharField(
        "Two-factor authentication",
        max_length=12,
        choices=TwoFactorPolicy.choices,
        default=TwoFactorPolicy.OPTIONAL,
    )
    # The other names of this practice's MRNs (clinic.identifiers.mrn_systems): the EHR's MRN system (a URI or
    # an OID), the HL7 assigning authority its labs write in PID-3.4. An identifier of one of them is read as
    # the practice's MRN by the lab import, CDS Hooks and the FHIR searches; isotrack serves its own system.
    mrn_aliases = models.JSONField(default=list, blank=True)
    # What the worklist's stored lines were judged with (worklist_entries.basis: the engine, the rules and the
    # policy above); when it differs, every line of the practice is judged again.
    worklist_basis = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [
            _range("practice_target_range", "target_mg_per_kg", 50, 300),
            _range("practice_ld_factor_range", "ld_equivalence_factor", 1, 2),
            models.CheckConstraint(  # LAB-TG-CRIT above LAB-TG-HIGH
                condition=Q(triglycerides_critical_mg_dl__gt=F("triglycerides_high_mg_dl")),
                name="practice_tg_thresholds_ordered",
                violation_error_code="triglycerides_critical_mg_dl",
                violation_error_message="The critical triglycerides threshold must be above the high one.",
            ),
            _range("practice_peak_labs_range", "peak_labs_after_days", 14, 180),
        ]

    def __str__(self) -> str:
        return self.name


class StaffUser(AbstractUser):
    """A member of staff. Each belongs to one practice and has one role; patients never log in."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, null=True, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FRONT_DESK)
    credentials = models.CharField(max_length=40, blank=True)  # MD, PA-C, NP, RN, MA...
    npi = models.CharField("NPI", max_length=10, blank=True)  # a prescriber's National Provider Identifier
    # A prescriber's own settings (clinic.actions.staff.change_prescribing): the product line a new course
    # starts with ("": none, chosen each time) and, by product line, the capsule strengths the local
    # pharmacies stock (a line not named: every strength of reference.md section 2).
    default_product_line = models.CharField(max_length=20, blank=True)
    stocked_strengths = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(practice__isnull=False) | Q(is_superuser=True), name="staff_belongs_to_a_practice"
            ),
        ]

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{full or self.username}{suffix}"

    def __str__(self) -> str:
        return self.display_name


# ------------------------------------------------------------------------------------------------- patients


class Patient(PublicIdModel):
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=40, validators=[printable_identifier])
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    # Administrative gender (FHIR): chosen at registration, no default; "unknown" where nobody said (the rows
    # before it, migration 0021). Never the iPLEDGE category, which is apart (IPL-CAT).
    gender = models.CharField(max_length=7, choices=AdministrativeGender.choices)
    ipledge_id = models.CharField("iPLEDGE ID", max_length=20, blank=True)
    # IPL-CAT: assigned by a prescriber only; empty until then ("to be assigned": the worklist asks for it)
    category = models.CharField(max_length=20, choices=PatientCategory.choices, blank=True)
    category_set_by = models.ForeignKey(
        StaffUser, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    category_set_at = models.DateTimeField(null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    reminders_consent = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "mrn"], name="patient_mrn_unique_in_practice"),
            models.UniqueConstraint(
                fields=["practice", "ipledge_id"],
                condition=~Q(ipledge_id=""),
                name="patient_ipledge_id_unique_in_practice",
            ),
            models.CheckConstraint(
                condition=Q(birth_date__gte=date(1900, 1, 1)), name="patient_birth_date_sane"
            ),
        ]
        indexes = [
            models.Index(fields=["practice", "family_name", "given_name"]),
            models.Index(  # the worklist's "category to be assigned" (IPL-CAT)
                fields=["practice", "created_at"], condition=Q(category=""), name="patient_awaiting_category"
            ),
        ]

    def __str__(self) -> str:
        return f"patient {self.uuid}"  # never the name: a str can end up in a log, and logs hold no PHI

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Patient:
        patient = super().from_db(*args, **kwargs)
        patient._stored_mrn = patient.__dict__.get("mrn")  # type: ignore[attr-defined]
        return patient

    def clean_fields(self, exclude: Any = None) -> None:
        """An MRN kept as it was stored is not judged again: one entered before the rule on control
        characters (migration 0020) must not block every other change to the patient."""
        if not self._state.adding and self.mrn == getattr(self, "_stored_mrn", None):
            exclude = {*(exclude or ()), "mrn"}
        super().clean_fields(exclude=exclude)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def initials(self) -> str:
        return initials_of(self.given_name, self.family_name)


class Weight(RecordedModel):
    """Body weight (LOINC 29463-7). Entered in kg or lb; stored in kg, the entry kept as typed."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="weights")
    effective_date = models.DateField()
    kg = models.DecimalField(max_digits=6, decimal_places=2)
    entered_value = models.DecimalField(max_digits=6, decimal_places=2)
    entered_unit = models.CharField(max_length=2, choices=WeightUnit.choices, default=WeightUnit.KG)

    class Meta:
        constraints = [
            _range("weight_kg_range", "kg", 20, 300),
        ]
        ordering = ["effective_date", "id"]


class Contraception(RecordedModel):
    """A contraception method in use over a period (IPL-CON-2); `end` is inclusive, null while ongoing."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="contraception")
    method = models.CharField(max_length=30, choices=ContraceptionMethodCode.choices)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [_date_order("contraception_end_after_start", "start", "end")]
        ordering = ["start", "id"]


class MedicationClass(models.TextChoices):
    """The classes of the patient's other medicines the engine judges (``core.MEDICATION_CLASSES``; spec
    ``medications``): MED-TETRA, MED-VITA, MED-INDUCER; any other medicine is ``other``."""

    TETRACYCLINE = "tetracycline", "Tetracycline antibiotic"
    VITAMIN_A = "vitamin_a", "Vitamin A supplement"
    ENZYME_INDUCER = "enzyme_inducer", "Enzyme inducer (weakens hormonal contraception)"
    OTHER = "other", "Other"


class OtherMedication(RecordedModel):
    """Another medicine or supplement the patient takes from ``start`` through ``end`` (inclusive; null while
    ongoing), with its class (the core's table proposes it from the name or the RxNorm ingredient code)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="other_medications")
    name = models.CharField(max_length=200)
    medication_class = models.CharField(max_length=20, choices=MedicationClass.choices)
    rxnorm = models.CharField(max_length=20, blank=True)  # the RxNorm ingredient code, when known
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=ReportSource.choices, default=ReportSource.CLINIC)

    class Meta:
        constraints = [_date_order("other_medication_end_after_start", "start", "end")]
        ordering = ["start", "id"]


# --------------------------------------------------------------------------------------------------- course


class Course(PublicIdModel):
    """One isotretinoin course (FHIR CarePlan). It exists from enrollment, while the patient qualifies."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    prescriber = models.ForeignKey(StaffUser, on_delete=models.PROTECT, related_name="courses")
    indication = models.CharField(max_length=10, choices=Indication.choices, default=Indication.ACNE_VULGARIS)
    status = models.CharField(max_length=20, choices=CourseStatus.choices, default=CourseStatus.DRAFT)
    start = models.DateField(help_text="The first day of dosing (planned while qualifying).")
    planned_end = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True, help_text="The last day of dosing, once known.")
    # Why a stopped course (status REVOKED) was stopped; blank for any other course, and for courses stopped
    # before reasons were recorded (the quality report counts those as "not recorded").
    stop_reason = models.CharField(max_length=20, choices=StopReason.choices, blank=True, default="")
    # DOSE-TARGET: the course's own target, or none: the practice's (Practice.target_mg_per_kg), which its
    # settings change for every course that follows it (records.policy_of).
    target_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            _date_order("course_end_after_start", "start", "end"),
            _date_order("course_planned_end_after_start", "start", "planned_end"),
            _range("course_target_range", "target_mg_per_kg", 50, 300),
            models.CheckConstraint(
                condition=Q(stop_reason="")
                | Q(status__in=[CourseStatus.REVOKED, CourseStatus.ENTERED_IN_ERROR]),
                name="course_stop_reason_only_when_stopped",
                violation_error_code="stop_reason",
                violation_error_message="Only a course stopped early has a reason for stopping.",
            ),
        ]
        indexes = [models.Index(fields=["status"])]


class DoseSegment(RecordedModel):
    """The prescribed daily dose from a date onward (until the next segment or the course end)."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="dose_segments")
    starts_on = models.DateField()
    mg_per_day = models.DecimalField(max_digits=5, decimal_places=1)
    product = models.CharField(max_length=12, choices=Product.choices, default=Product.CONVENTIONAL)
    brand = models.CharField(max_length=40, blank=True)  # e.g. Absorica, Claravis; the kind is `product`
    strength_mg = models.PositiveSmallIntegerField(null=True, blank=True)  # the capsule strength dispensed
    # Why the dose changed, one of DoseChangeReason (the quality report counts reductions by it); blank: none
    # recorded (the course's first dose, a change recorded before reasons were, a course file's without one).
    change_reason = models.CharField(
        "why the dose changed", max_length=20, choices=DoseChangeReason.choices, blank=True
    )
    reason = models.CharField(max_length=200, blank=True)  # the prescriber's own note

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "starts_on"], name="dose_segment_one_per_day", condition=IN_FORCE
            ),
            _range("dose_mg_range", "mg_per_day", Decimal("0.1"), 300),
        ]
        ordering = ["starts_on"]


class Interruption(RecordedModel):
    """A hold: inclusive dates with no dosing (DOSE-CUM)."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="interruptions")
    start = models.DateField()
    end = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [_date_order("interruption_end_after_start", "start", "end")]
        ordering = ["start"]


class MissedDose(RecordedModel):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="missed_doses")
    date = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "date"], name="missed_dose_once_per_day", condition=IN_FORCE
            )
        ]
        ordering = ["date"]


class PregnancyTest(RecordedModel):
    """A pregnancy test (LOINC 2106-3 urine / 2118-8 serum), dated by its specimen collection."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="pregnancy_tests")
    purpose = models.CharField(max_length=20, choices=TestPurpose.choices)
    setting = models.CharField(max_length=10, choices=TestSetting.choices)
    specimen_date = models.DateField()
    result = models.CharField(max_length=10, choices=TestResult.choices)
    verified_by = models.ForeignKey(
        StaffUser, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verification_note = models.CharField(max_length=200, blank=True)  # how a home test was verified

    class Meta:
        ordering = ["specimen_date", "id"]


class IpledgeEntry(RecordedModel):
    """What was done in iPLEDGE (which has no API): enrollment, prescriber confirmation, patient answers."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="ipledge_entries")
    kind = models.CharField(max_length=30, choices=IpledgeEntryKind.choices)
    date = models.DateField()
    confirmation_number = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["date", "id"]


class Dispense(RecordedModel):
    """A fill picked up by the patient (FHIR MedicationDispense). IPL-SUPPLY: at most 30 days."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="dispenses")
    date = models.DateField()
    days_supply = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(30)])
    quantity = models.PositiveSmallIntegerField(null=True, blank=True)  # capsules
    mg_per_day = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    product = models.CharField(max_length=12, choices=Product.choices, blank=True)
    pharmacy = models.CharField(max_length=120, blank=True)
    rma = models.CharField("RMA number", max_length=40, blank=True)

    class Meta:
        constraints = [
            _range("dispense_supply_range", "days_supply", 1, 30),  # IPL-SUPPLY
        ]
        ordering = ["date", "id"]


class LabResult(RecordedModel):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="lab_results")
    test = models.CharField(max_length=20, choices=LabTest.choices)
    loinc = models.CharField(max_length=20, blank=True)
    effective_date = models.DateField()
    value = models.DecimalField(max_digits=8, decimal_places=2)
    unit = models.CharField(max_length=10, choices=LabUnit.choices)
    reference_low = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    uln = models.DecimalField("upper limit of normal", max_digits=8, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gte=0),
                name="lab_value_not_negative",
                violation_error_code="value",
                violation_error_message="A result cannot be negative.",
            ),
            models.CheckConstraint(condition=Q(uln__isnull=True) | Q(uln__gt=0), name="lab_uln_positive"),
        ]
        ordering = ["effective_date", "id"]


class Visit(RecordedModel):
    """An office or telehealth visit (FHIR Encounter): the staff's note, the contraception methods the
    patient confirmed in use (IPL-CON-2), and the prescription the prescriber is to send (IPL-SUPPLY: 1 to 30
    days)."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="visits")
    date = models.DateField()
    note = models.TextField(blank=True, validators=[MaxLengthValidator(VISIT_NOTE_LENGTH)])
    methods_confirmed = models.CharField(max_length=300, blank=True)  # method codes, space-separated
    prescription_days_supply = models.PositiveSmallIntegerField(null=True, blank=True)
    prescription_mg_per_day = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    prescription_product = models.CharField(max_length=12, choices=Product.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(prescription_days_supply__isnull=True)
                | Q(prescription_days_supply__gte=1, prescription_days_supply__lte=30),
                name="visit_prescription_supply_range",
                violation_error_code="prescription_days_supply",
                violation_error_message="A prescription is for 1 to 30 days (IPL-SUPPLY).",
            ),
            models.CheckConstraint(
                condition=Q(prescription_days_supply__isnull=True)
                | Q(prescription_mg_per_day__gt=0, prescription_product__in=Product.values),
                name="visit_prescription_complete",
                violation_error_code="prescription_mg_per_day",
                violation_error_message="A prescription names its daily dose and product.",
            ),
        ]
        ordering = ["date", "id"]

    @property
    def confirmed_methods(self) -> list[str]:
        return self.methods_confirmed.split()

    @property
    def methods_confirmed_labels(self) -> list[str]:
        labels = dict(ContraceptionMethodCode.choices)
        return [labels.get(code, code) for code in self.confirmed_methods]

    @property
    def prescription(self) -> dict[str, object] | None:
        if self.prescription_days_supply is None or self.prescription_mg_per_day is None:
            return None
        return {
            "days_supply": self.prescription_days_supply,
            "mg_per_day": float(self.prescription_mg_per_day),
            "product": self.prescription_product,
        }


class MoodScreen(RecordedModel):
    """PHQ-2 (LOINC 55758-7) or PHQ-9 (LOINC 44261-6); item 9 asks about thoughts of self-harm (MOOD)."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="mood_screens")
    date = models.DateField()
    instrument = models.CharField(max_length=4, choices=MoodInstrument.choices)
    score = models.PositiveSmallIntegerField()
    item9 = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=ReportSource.choices, default=ReportSource.CLINIC)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(instrument="phq2", score__lte=6, item9__isnull=True))
                | Q(instrument="phq9", score__lte=27),
                name="mood_score_range",
                violation_error_code="score",
                violation_error_message="PHQ-2 scores run 0-6 (no item 9); PHQ-9 scores run 0-27.",
            ),
            models.CheckConstraint(
                condition=Q(item9__isnull=True) | Q(item9__lte=3),
                name="mood_item9_range",
                violation_error_code="item9",
                violation_error_message="Item 9 is scored 0-3.",
            ),
        ]
        ordering = ["date", "id"]


class SideEffect(RecordedModel):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="side_effects")
    term = models.CharField(max_length=100)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    onset = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=SideEffectAction.choices, default=SideEffectAction.NONE)
    source = models.CharField(max_length=10, choices=ReportSource.choices, default=ReportSource.CLINIC)

    class Meta:
        constraints = [_date_order("side_effect_resolved_after_onset", "onset", "resolved_on")]
        ordering = ["onset", "id"]


class CheckIn(PublicIdModel):
    """A patient's check-in before a monthly visit (issue 17): reached by a one-time link (only its hash is
    kept) that expires at the end of the visit's day, opened once the patient confirms their birth date
    (``CHECK_IN_TRIES`` wrong dates lock it), answered once. The answers are the patient's, kept here as
    reported: none is a record, and the engine reads none of them, until a clinician confirms or corrects
    them at the visit (``reviewed_at``), but for thoughts of self-harm (PHQ-9 item 9 above 0,
    ``self_harm_reported``), which the engine's SELF_HARM_REPORTED puts first on the worklist until then."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="check_ins")
    visit_date = models.DateField()  # the monthly visit it is for
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    failed_tries = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(null=True, blank=True)
    reported_on = models.DateField(null=True, blank=True)  # the practice's day the answers came in
    self_harm_reported = models.BooleanField(default=False)
    draft = models.JSONField(null=True, blank=True)  # the first page's answers while the PHQ-9 is asked
    reviewed_at = models.DateTimeField(null=True, blank=True)
    mood_confirmed = models.BooleanField(default=False)  # the review made the mood answers a mood screen
    reviewed_by = models.ForeignKey(
        "clinic.StaffUser", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "visit_date"], name="check_in_once_per_visit"),
        ]


class AlertAcknowledgment(RecordedModel):
    """A prescriber acknowledged an alert, with a reason (reference.md ALERT-URGENCY). The alert is known by
    its code and date: a newer result raises a new alert, open again. Which alerts exist is the core's
    answer."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="acknowledgments")
    alert_code = models.CharField(max_length=40)
    alert_date = models.DateField()
    date = models.DateField()  # the practice's day it was acknowledged
    reason = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "alert_code", "alert_date"],
                name="acknowledgment_once_per_alert",
                condition=IN_FORCE,
            ),
            _date_order("acknowledgment_after_alert", "alert_date", "date"),
        ]
        ordering = ["date", "id"]


class PregnancyFollowUp(RecordedModel):
    """One follow-up step of a positive pregnancy test, recorded as done by a prescriber (IPL-PT-POSITIVE)."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="pregnancy_follow_ups")
    step = models.CharField(max_length=10, choices=PregnancyFollowUpStep.choices)
    date = models.DateField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "step"], name="pregnancy_follow_up_once", condition=IN_FORCE
            )
        ]
        ordering = ["date", "id"]


class Submission(models.Model):
    """A form or API write carried out once: its one-time key, who sent it, and where its result is (the page
    to go to, or the API's answer). A second submission with the same key (the back button, a reload, a double
    click, two tabs, a client's retry) finds the first one's result instead of saving again."""

    key = models.CharField(max_length=200, unique=True)  # scoped by who sent it (see clinic.submissions)
    user = models.ForeignKey(StaffUser, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.PositiveSmallIntegerField(default=302)
    result = models.TextField(blank=True)  # a URL for a page, the JSON body for the API


class PendingImport(models.Model):
    """A practice file previewed on the Import page (clinic.imports.practice), kept until its administrator
    imports it or for ``PENDING_IMPORT_HOURS``: the import takes exactly the file previewed, and its bytes do
    not travel back through the browser."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(StaffUser, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()


# ------------------------------------------------------------------------------------------- derived, stored


def initials_of(given_name: str, family_name: str) -> str:
    """A patient's initials, as calendar pages and staff feeds name patients (with the MRN)."""
    return f"{given_name[:1]}{family_name[:1]}".upper()


NOT_JUDGED = date.min  # a line's change date and rank date before it is judged: judged now, listed first
NO_RANK_DATE = date.max  # the rank date of a line whose step has no date: after every dated line


class WorklistEntry(models.Model):
    """The worklist's line of one course as the core judged it (``core.next_step_until_change``) on one day,
    holding until ``changes_on``. Derived, never a record: stored so that thousands of courses list without
    judging each on every page load, and judged again when the patient's records change or its change date
    comes (isotrack.clinic.worklist_entries says when). The ranking key and the filters' columns are kept on
    the line, so that a page is read by key off one index, whatever the practice's size."""

    course = models.OneToOneField(
        Course, on_delete=models.CASCADE, primary_key=True, related_name="worklist_entry"
    )
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    generation = models.PositiveIntegerField(default=0)  # +1 with every write to the patient's records
    judged_on = models.DateField(null=True)  # the day judged for (None: never judged)
    changes_on = models.DateField(default=NOT_JUDGED)  # judged again on this day (NOT_JUDGED: now)
    listed = models.BooleanField(default=True)  # on the worklist: a step to do, or qualifying or active
    # The course's stored plan (``PlanEntry``) holds on its own dates, apart from the line's: each is judged
    # again only when it changes.
    plan_judged_on = models.DateField(null=True)  # the day the plan was judged for (None: never)
    plan_changes_on = models.DateField(default=NOT_JUDGED)  # the plan is judged again on this day
    # The ranking key (ALERT-URGENCY): tier, the day the line ranks by (FIRST: never judged, LAST: none), the
    # most urgent open alert, the patient's names, the course.
    tier = models.PositiveSmallIntegerField(default=5)
    rank_date = models.DateField(default=NOT_JUDGED)
    alert_urgency = models.PositiveSmallIntegerField(default=99)
    family_name = models.CharField(max_length=100, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    # The filters' columns, copied from the course and the patient when judged.
    prescriber = models.ForeignKey("StaffUser", null=True, on_delete=models.SET_NULL, related_name="+")
    category = models.CharField(max_length=20, blank=True)
    phase = models.CharField(max_length=20, blank=True)
    rule_set_id = models.CharField(max_length=40, blank=True)
    rule_set_title = models.TextField(blank=True)
    step_code = models.CharField(max_length=40, blank=True)
    step_label = models.TextField(blank=True)
    step_status = models.CharField(max_length=20, blank=True)
    actor = models.CharField(max_length=20, blank=True)
    rule_id = models.CharField(max_length=40, blank=True)
    noun = models.TextField(blank=True)
    window_bound = models.BooleanField(default=False)
    until_word = models.CharField(max_length=40, blank=True)
    done_on = models.DateField(null=True)
    deadline = models.DateField(null=True)
    earliest = models.DateField(null=True)
    reasons = models.TextField(blank=True)  # the step's blocking codes, space-separated
    # The alerts as JSON ([{code, date, detail, rule_id, open}], most urgent first), the dispense decision.
    alerts = models.TextField(blank=True)
    dispense_allowed = models.BooleanField(default=False)
    blocking = models.TextField(blank=True)  # the evaluation's blocking codes, space-separated
    # The line as the core judges it on the line's change date, until its own (the judged columns as JSON;
    # empty: none): the first read of that day takes it as it is, with no facts read, unless a write came.
    following = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The worklist's pages, in its order, and its count (index-only on PostgreSQL).
            models.Index(
                fields=[
                    "practice",
                    "listed",
                    "tier",
                    "rank_date",
                    "alert_urgency",
                    "family_name",
                    "given_name",
                    "course",
                ],
                name="worklist_order",
            ),
            # The lines whose change date has come, and the lines judged for a later day.
            models.Index(fields=["practice", "changes_on"], name="worklist_changes_on"),
            models.Index(fields=["practice", "judged_on"], name="worklist_judged_on"),
            # The same for the stored plans (the calendar's reads).
            models.Index(fields=["practice", "plan_changes_on"], name="worklist_plan_changes_on"),
            models.Index(fields=["practice", "plan_judged_on"], name="worklist_plan_judged_on"),
        ]


class QualityOutcome(models.Model):
    """A course replayed by the core over its whole life for the quality report (``core.course_outcome``),
    kept as the core's JSON (``core.outcome_to_json``). Derived, never a record: stored so that a month's or a
    year's report sums kept outcomes instead of replaying thousands of courses (isotrack.clinic.quality says
    when one is replayed again: the course's records changed, i.e. its worklist line's ``generation`` moved;
    the engine or the practice's policy changed, ``basis``; or a period ends after the day it serves)."""

    course = models.OneToOneField(
        Course, on_delete=models.CASCADE, primary_key=True, related_name="quality_outcome"
    )
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    generation = models.PositiveIntegerField()  # the worklist line's generation read before the facts
    basis = models.CharField(max_length=64)  # worklist_entries.basis: the engine's source, the policy
    through = models.DateField()  # replayed through this day
    changes_on = models.DateField(null=True)  # the replay could change on this day (None: never)
    outcome = models.JSONField()


class QualityFigures(models.Model):
    """A dashboard's figures for one period, as computed from the kept outcomes (``QualityOutcome``): each
    group's measures (``core.measures_to_json``) and the twelve months' trend. Derived, never a record: kept
    so that the dashboard shown again reads one row instead of summing thousands of outcomes, and computed
    again when its ``fingerprint`` is not the practice's (isotrack.clinic.quality.fingerprint: the courses'
    records, the engine and the policy, the prescribers' names). The nightly job computes the default period
    ahead of the day's first look and removes rows computed more than a month before.

    ``as_recorded``: the groups' figures of a period that has ended, from the records as they stood at its
    end (isotrack.clinic.quality.recorded_figures), beside which a page shows what a later entry or
    correction changed; their fingerprint is the engine's and the clinic code's, since nothing recorded
    later changes them."""

    id = models.BigAutoField(primary_key=True)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    start = models.DateField()
    end = models.DateField()
    as_recorded = models.BooleanField(default=False)
    fingerprint = models.CharField(max_length=64)
    figures = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "start", "end", "as_recorded"], name="quality_figures_period_and_kind"
            ),
        ]


# The order of a day's events on the calendar: by patient, then as the core orders a course's events.
PLAN_ORDER = ("date", "family_name", "given_name", "course_id", "kind_order", "number")
_PLAN_INDEX = ("date", "family_name", "given_name", "course", "kind_order", "number")  # the same, as fields


class PlanEntry(models.Model):
    """One planned event of a course's therapy calendar as the core planned it (``core.judge_until_change``)
    on the day it was judged, with the status of that day. Derived, never a record:
    stored with the line and replaced with it (isotrack.clinic.plan_entries), so that the practice's calendar
    reads only the days it shows. The status on a later day follows from the event's own fields
    (``core.event_status_on``) until the plan's change date (``WorklistEntry.plan_changes_on``)."""

    id = models.BigAutoField(primary_key=True)
    # The indexes below lead with the practice; a staff member is never deleted (courses protect them).
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+", db_index=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="plan_entries")
    # Copied from the course and the patient when planned, for the order and the prescriber's calendar.
    prescriber = models.ForeignKey(
        "StaffUser", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    family_name = models.CharField(max_length=100, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    # The core's planned event (``core.PlannedEvent``), field by field.
    date = models.DateField()
    kind = models.CharField(max_length=40)
    number = models.PositiveSmallIntegerField()
    kind_order = models.PositiveSmallIntegerField()  # ``core.KIND_ORDER``: a course's events of a day
    earliest = models.DateField()
    latest = models.DateField()
    status = models.CharField(max_length=10)  # on the day planned
    done_on = models.DateField(null=True)
    projected = models.BooleanField(default=False)
    due_code = models.CharField(max_length=40, blank=True)
    due_date = models.DateField(null=True)
    detail = models.TextField(blank=True)
    rule = models.CharField(max_length=40, blank=True)
    overdue_from = models.DateField(null=True)  # ``core.overdue_from``: None, never overdue by the day alone
    # A floating event (``core.PlannedEvent.floating``: placed from the day, it moves with it): the day its
    # dates stand for; each day's first calendar read moves them to that day (``plan_entries.move_floating``).
    placed_on = models.DateField(null=True)

    class Meta:
        indexes = [
            # The days shown, each in its order; the count of each day (index-only on PostgreSQL).
            models.Index(fields=["practice", *_PLAN_INDEX], name="plan_days"),
            models.Index(fields=["practice", "prescriber", *_PLAN_INDEX], name="plan_prescriber_days"),
            # The overdue list: the few events that are or will be overdue, in the calendar's order.
            models.Index(
                fields=["practice", *_PLAN_INDEX],
                name="plan_overdue",
                condition=Q(overdue_from__isnull=False),
            ),
            # The floating events to move to a new day: few, found without reading the others.
            models.Index(
                fields=["practice", "placed_on"], name="plan_floating", condition=Q(placed_on__isnull=False)
            ),
        ]
