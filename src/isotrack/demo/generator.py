"""The demo practices: synthetic patients in every situation a clinic meets, dated relative to `today`.

`build_demo` writes everything through the actions (so the audit trail is as complete as for real data), in
one transaction, deterministically for a seed and a day: the same seed and day give the same patients, names
and dates. Names come from the small invented lists below, MRNs start with `DEMO-`, iPLEDGE ids with `99`,
e-mail addresses end in `@example.org`, phone numbers are the fictional 555-01xx ones.

Two practices:
- "Riverbend Dermatology (demo)": the rule set in force on each day (`auto`), `patients` patients: each of
  MAIN_SITUATIONS once (every situation appears once `patients` >= len(MAIN_SITUATIONS)), then the history
  of the three months before today's (HISTORY_SITUATIONS: what the quality report measures; all of it with
  the default 60), then MAIN_SITUATIONS again.
- "Lakeside Skin Clinic (demo, rules pinned to 2021)": six patients showing what only the 2021 rules have (the
  19-day lockout, monthly counseling for patients who cannot get pregnant). It is also "another practice" for
  access checks.

How a course is laid out (reference.md and spec/course-evaluation.md):
- First fill F: a negative `confirmation` test in a lab (2021 demands a lab; 2026 accepts it) dated F-3..F, at
  least 19 days after a negative `screening` test (IPL-PT-CONFIRM), contraception (two methods or abstinence)
  from at least 35 days before the confirmation test (IPL-CON-LEAD), then the prescriber confirmation and the
  patient attestation, all within the test's window (IPL-WIN-7). The course starts (first dosing day) at F+1.
- Fill i (i >= 1) at F + 30i: a `monthly` test at the monthly visit 0-3 days before the fill, the same steps.
  Patients who cannot get pregnant have no tests and no contraception; on days the 2021 rules are in force,
  their monthly visit carries the counseling entry (a `prescriber_confirmation`: IPL-COUNSEL-MONTH,
  IPL-WIN-30).
- Dose: about 0.55 mg/kg/day, raised to about 0.9 mg/kg/day from the second month (conventional); micronized
  (Absorica LD) about 0.45 then 0.7 mg/kg/day, in its strengths. Baseline labs (LAB-BASE) before the first
  fill, peak-dose labs (LAB-PEAK) about 60 days after it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from isotrack.clinic import queries
from isotrack.clinic.actions.alerts import acknowledge_alert, record_pregnancy_follow_up
from isotrack.clinic.actions.check_ins import (
    SYMPTOMS,
    CheckInAnswers,
    Medicine,
    expiry_of,
    issue_check_in,
    submit_check_in,
)
from isotrack.clinic.actions.courses import end_course, start_course
from isotrack.clinic.actions.dosing import change_dose, record_interruption, record_missed_dose
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import (
    record_lab_result,
    record_mood_screen,
    record_pregnancy_test,
    record_side_effect,
)
from isotrack.clinic.actions.patients import (
    KG_PER_LB,
    record_contraception,
    record_weight,
    register_patient,
    set_patient_category,
)
from isotrack.clinic.actions.visits import record_visit
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Course, Patient, Practice, StaffUser

DEMO_PASSWORD = "isotrack-demo"  # noqa: S105 -- the published password of the demo logins, never a real one
DEMO_URL = "http://127.0.0.1:8000/"
DEMO_TIME_ZONE = "America/New_York"
MAIN_PRACTICE_NAME = "Riverbend Dermatology (demo)"
PINNED_PRACTICE_NAME = "Lakeside Skin Clinic (demo, rules pinned to 2021)"

# Vocabulary values are written as the strings of the course file (the models' TextChoices values).
CGP = "can_get_pregnant"
CNGP = "cannot_get_pregnant"
# Why a dose changes (DoseChangeReason): the titration step, a side effect, an abnormal lab result.
PLANNED = "planned"
SIDE_EFFECTS = "side_effects"
LAB_RESULT = "lab_result"

# ------------------------------------------------------------------------------------------------- the staff


@dataclass(frozen=True)
class StaffLogin:
    username: str
    role: str
    practice: str
    given_name: str
    family_name: str
    credentials: str = ""


STAFF = (
    StaffLogin("doctor", "prescriber", MAIN_PRACTICE_NAME, "Avery", "Brightwater", "MD"),
    StaffLogin("pa", "prescriber", MAIN_PRACTICE_NAME, "Rowan", "Ellery", "PA-C"),
    StaffLogin("np", "prescriber", MAIN_PRACTICE_NAME, "Sasha", "Norcott", "NP"),
    StaffLogin("nurse", "nurse", MAIN_PRACTICE_NAME, "Robin", "Tavers", "RN"),
    StaffLogin("nurse2", "nurse", MAIN_PRACTICE_NAME, "Kim", "Alderby", "MA"),
    StaffLogin("desk", "front_desk", MAIN_PRACTICE_NAME, "Pat", "Greenholm"),
    StaffLogin("manager", "practice_admin", MAIN_PRACTICE_NAME, "Morgan", "Hollins"),
    StaffLogin("auditor", "auditor", MAIN_PRACTICE_NAME, "Lee", "Ashby"),
    StaffLogin("lakeside.doctor", "prescriber", PINNED_PRACTICE_NAME, "Quinn", "Marlowe", "MD"),
    StaffLogin("lakeside.nurse", "nurse", PINNED_PRACTICE_NAME, "Drew", "Falkner", "RN"),
)

# ----------------------------------------------------------------------------------------- invented patients

# fmt: off
GIVEN_NAMES = (
    "Ava", "Maya", "Noah", "Liam", "Zoe", "Ethan", "Chloe", "Isaac", "Lena", "Owen", "Priya", "Mateo",
    "Nora", "Caleb", "Hana", "Eli", "Sofia", "Jonah", "Aisha", "Leo", "Ivy", "Ravi", "Tessa", "Malik",
    "Elena", "Theo", "June", "Amir", "Clara", "Dev", "Wren", "Kai",
)
FAMILY_NAMES = (
    "Ashgrove", "Birchfield", "Calloway", "Dunmore", "Elderby", "Fairholm", "Glenrick", "Hartwell",
    "Ivensby", "Juniper", "Kestrel", "Larkin", "Merriwether", "Northam", "Oakhurst", "Pennock",
    "Quarrington", "Rushmere", "Stonebridge", "Tamsworth", "Underhill", "Valemont", "Westbrook", "Yardley",
    "Zellner", "Amberly", "Brookhaven", "Coldwell", "Dovecote", "Emberton",
)
# fmt: on
PHARMACIES = ("Riverbend Community Pharmacy", "Maple Street Pharmacy", "Harbor Specialty Pharmacy")
CONVENTIONAL_BRANDS = ("", "Claravis", "Amnesteem", "Zenatane", "Myorisan", "Absorica")
MICRONIZED_BRAND = "Absorica LD"

# IPL-CON-2: a primary method with a secondary one (abstinence is given where a situation asks for it).
CONTRACEPTION_PAIRS = (
    ("iud_copper", "male_condom"),
    ("combined_pill", "male_condom"),
    ("iud_hormonal", "male_condom"),
    ("implant", "male_condom"),
    ("vaginal_ring", "male_condom"),
    ("combined_pill", "diaphragm_spermicide"),
    ("injection", "male_condom"),
    ("patch", "male_condom"),
)

# Section 2 of reference.md: capsule strengths by product (DOSE-LD).
CONVENTIONAL_STRENGTHS = (10, 20, 30, 40)
MICRONIZED_STRENGTHS = (8, 16, 20, 24, 28, 32)
MICRONIZED_DOSES = (16, 24, 32, 40, 48, 56, 64)  # one or two capsules a day

WINDOW_LAST_DAY = 6  # IPL-WIN-7: collection date + 6
CONFIRMATION_AFTER_SCREENING = 19  # IPL-PT-CONFIRM
CONTRACEPTION_LEAD_IN = 30  # IPL-CON-LEAD
PEAK_LABS_AFTER = 60  # LAB-PEAK ⚙ default
TRIGLYCERIDES_HIGH = 500  # LAB-TG-HIGH
TRIGLYCERIDES_CRITICAL = 800  # LAB-TG-CRIT
ENZYME_ULN = 40  # LAB-LFT-HIGH ⚙ default ULN, U/L
LOCKOUT_DAYS = 19  # IPL-LOCK-19 (2021 rules)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def practice_today() -> date:
    """Today where the demo practices are."""
    return queries.now().astimezone(ZoneInfo(DEMO_TIME_ZONE)).date()


# ------------------------------------------------------------------------------------------ the history
# The quality report (`isotrack report --month`, the dashboard) measures what happened over past months, so
# the main practice also has a history: courses that started, were completed or were stopped in each of the
# three calendar months before today's (HISTORY_SITUATIONS; `back` = 1, 2 or 3 months back), their key days
# on days 1-28 of that month, so that any `today` gives the same shape. Some events must happen in each of
# those months but can happen to any course running then (a window lost for lack of each step, a window a
# repeated test replaced, late or missing peak-dose labs, a high then critical triglyceride, a liver result
# still not acknowledged at the month's end, a routine lab drawn without cause, a self-harm answer): they are
# the month's `_Incidents`, each handed to the first history course, in the order patients are built, that
# runs on the day it needs (and can take it: a course planned to reach a dose exactly takes none that
# changes its dosing). Deterministic like the rest: the same seed and day give the same hand-out.

HISTORY_MONTHS = (1, 2, 3)
CYCLE_INCIDENTS = ("replaced", "lost_test", "lost_prescriber", "lost_patient", "lost_pick_up")
PEAK_INCIDENTS = ("peak_late", "peak_not_done")
LAB_INCIDENTS = ("triglycerides_high_then_critical", "liver_unacknowledged", "routine_labs", "self_harm")
DOSE_CHANGING = frozenset({"triglycerides_high_then_critical", "liver_unacknowledged"})


@dataclass
class _Incidents:
    """The events each recent month still needs (months back, kind), one of each kind a month."""

    today: date
    needed: dict[tuple[int, str], int]

    @classmethod
    def for_history(cls, today: date) -> _Incidents:
        kinds = CYCLE_INCIDENTS + PEAK_INCIDENTS + LAB_INCIDENTS
        return cls(today, {(back, kind): 1 for back in HISTORY_MONTHS for kind in kinds})

    def take(self, day: date, kinds: tuple[str, ...]) -> str | None:
        """The first of `kinds` the month of `day` still needs, now taken; None when it needs none."""
        back = _months_back(self.today, day)
        for kind in kinds:
            if self.needed.get((back, kind), 0) > 0:
                self.needed[(back, kind)] -= 1
                return kind
        return None


def _months_back(today: date, day: date) -> int:
    return (today.year - day.year) * 12 + today.month - day.month


def _month_day(today: date, back: int, day: int) -> date:
    """Day `day` (at most 28: every month has it) of the calendar month `back` months before today's."""
    months = today.year * 12 + today.month - 1 - back
    return date(months // 12, months % 12 + 1, day)


def _month_last(today: date, back: int) -> date:
    return _month_day(today, back - 1, 1) - _days(1)


def _lab_incident_day(kind: str, today: date, back: int) -> date:
    """The day of a month's lab incident (see `_Chart.lab_incident`)."""
    if kind == "liver_unacknowledged":
        return _month_last(today, back) - _days(1)  # still open when the month ends
    return _month_day(today, back, {"triglycerides_high_then_critical": 3, "routine_labs": 5}.get(kind, 12))


# ---------------------------------------------------------------------------------------------- the result


@dataclass
class DemoPractice:
    """What build_demo created: the practices, the logins, and which course shows which situation."""

    practice: Practice
    pinned_practice: Practice
    staff: dict[str, StaffUser]
    courses: dict[str, list[Course]] = field(default_factory=dict)  # situation key -> courses
    incidents: dict[str, list[Course]] = field(default_factory=dict)  # history incident -> courses
    awaiting_category: Patient | None = None  # registered at the desk, no category yet (IPL-CAT)

    @property
    def situations(self) -> Counter[str]:
        return Counter({key: len(courses) for key, courses in self.courses.items()})

    @property
    def patient_count(self) -> int:
        return sum(self.situations.values())


# ---------------------------------------------------------------------------------------------- a patient


@dataclass
class _Team:
    practice: Practice
    prescribers: list[StaffUser]
    nurses: list[StaffUser]
    registrar: StaffUser  # who registers patients: the front desk, or a nurse where there is none
    incidents: _Incidents | None = None  # the history's events of each recent month (the main practice)

    def rules_2021_on(self, day: date) -> bool:
        """Which iPLEDGE rule set applies on a day (reference.md 1.1), for the steps that differ."""
        if self.practice.rules == "auto":
            return day < self.practice.ipledge_2026_effective
        return self.practice.rules == "us-ipledge-2021"


class _Chart:
    """One demo patient and course, written through the actions by the staff member who does each step."""

    def __init__(
        self,
        team: _Team,
        patient: Patient,
        rng: random.Random,
        *,
        today: date,
        micronized: bool,
        weight_unit: str,
        methods: tuple[str, ...],
    ) -> None:
        self.team = team
        self.patient = patient
        self.rng = rng
        self.today = today
        self.prescriber = rng.choice(team.prescribers)
        self.nurse = rng.choice(team.nurses)
        self.product = "micronized" if micronized else "conventional"
        self.brand = MICRONIZED_BRAND if micronized else rng.choice(CONVENTIONAL_BRANDS)
        self.baseline_kg = Decimal(rng.randint(480, 920)) / 10
        self.weight_unit = weight_unit
        self.methods = methods
        self.pharmacy = rng.choice(PHARMACIES)
        self.skip_baseline_labs = False
        self.record_weights = True  # False: the patient's weight is never entered (history)
        self.enroll_on: date | None = None  # the enrollment's recorded date, when not the usual one (history)
        self.in_order = True  # False: iPLEDGE entries kept in the order given, as an import keeps them
        self.taken: list[str] = []  # the history incidents this course took (_Incidents)
        self._course: Course | None = None
        self.segments: list[tuple[date, Decimal]] = []

    @property
    def course(self) -> Course:
        assert self._course is not None, "open the course first"
        return self._course

    @property
    def can_get_pregnant(self) -> bool:
        return self.patient.category == CGP

    # -- dose

    def starting_dose(self) -> Decimal:
        if self.product == "micronized":
            return Decimal(_nearest(MICRONIZED_DOSES[:3], 0.45 * float(self.baseline_kg)))
        return Decimal(min(50, max(30, _round10(0.55 * float(self.baseline_kg)))))

    def increased_dose(self) -> Decimal:
        start = self.starting_dose()
        if self.product == "micronized":
            higher = [d for d in MICRONIZED_DOSES if d > start]
            return Decimal(_nearest(higher, 0.7 * float(self.baseline_kg)))
        return Decimal(min(80, max(int(start) + 10, _round10(0.9 * float(self.baseline_kg)))))

    def reduced_dose(self, dose: Decimal) -> Decimal:
        if self.product == "micronized":
            lower = [d for d in MICRONIZED_DOSES if d < dose]
            return Decimal(lower[-2] if len(lower) >= 2 else MICRONIZED_DOSES[0])
        return max(Decimal(20), dose - 20)

    def dose_on(self, day: date) -> Decimal:
        current = self.segments[0][1]
        for starts_on, mg in self.segments:
            if starts_on <= day:
                current = mg
        return current

    def capsules_per_day(self, mg: Decimal) -> int:
        strengths = MICRONIZED_STRENGTHS if self.product == "micronized" else CONVENTIONAL_STRENGTHS
        return 1 if int(mg) in strengths else 2

    def strength(self, mg: Decimal) -> int | None:
        """The capsule strength the demo prescribes a dose in: one capsule a day, or two of the same; else
        (two strengths) none stated."""
        strengths = MICRONIZED_STRENGTHS if self.product == "micronized" else CONVENTIONAL_STRENGTHS
        for count in (1, 2):
            each = mg / count
            if each == int(each) and int(each) in strengths:
                return int(each)
        return None

    def open_course(self, start: date) -> None:
        dose = self.starting_dose()
        self._course = start_course(
            actor=self.prescriber,
            patient=self.patient,
            prescriber=self.prescriber,
            start=start,
            mg_per_day=dose,
            product=self.product,
            brand=self.brand,
            strength_mg=self.strength(dose),
        )
        self.segments = [(start, dose)]

    def change_dose(self, starts_on: date, mg: Decimal, change_reason: str, reason: str) -> None:
        """A dose change, with its code (``DoseChangeReason``) and the prescriber's note."""
        change_dose(
            actor=self.prescriber,
            course=self.course,
            starts_on=starts_on,
            mg_per_day=mg,
            product=self.product,
            brand=self.brand,
            change_reason=change_reason,
            reason=reason,
            strength_mg=self.strength(mg),
        )
        self.segments = sorted([*self.segments, (starts_on, mg)])

    # -- observations and iPLEDGE steps

    def weigh(self, day: date, kg: Decimal) -> None:
        if not self.record_weights:
            return
        value = kg if self.weight_unit == "kg" else (kg / KG_PER_LB).quantize(Decimal("0.1"))
        record_weight(
            actor=self.nurse, patient=self.patient, effective_date=day, value=value, unit=self.weight_unit
        )

    def start_contraception(self, day: date) -> None:
        for method in self.methods:
            record_contraception(actor=self.nurse, patient=self.patient, method=method, start=day)

    def enroll(self, day: date) -> None:
        record_ipledge_entry(
            actor=self.prescriber, course=self.course, kind="enrollment", day=day, in_order=self.in_order
        )

    def pregnancy_test(
        self, day: date, purpose: str, setting: str = "office", result: str = "negative"
    ) -> None:
        record_pregnancy_test(
            actor=self.nurse,
            course=self.course,
            purpose=purpose,
            setting=setting,
            specimen_date=day,
            result=result,
        )

    def prescriber_confirmation(self, day: date) -> None:
        """IPL-PRESCRIBER-CONFIRM (or, for cannot-get-pregnant under 2021, the monthly counseling visit)."""
        record_ipledge_entry(
            actor=self.prescriber,
            course=self.course,
            kind="prescriber_confirmation",
            day=day,
            in_order=self.in_order,
        )

    def patient_attestation(self, day: date) -> None:
        """IPL-PATIENT-QUIZ: the patient answers in iPLEDGE; a nurse records it once the office knows."""
        record_ipledge_entry(
            actor=self.nurse, course=self.course, kind="patient_attestation", day=day, in_order=self.in_order
        )

    def visit(self, day: date, *, phq2: int | None = None) -> None:
        record_visit(actor=self.nurse, course=self.course, day=day)
        score = phq2 if phq2 is not None else self.rng.choice((0, 0, 0, 1, 1, 2))
        record_mood_screen(actor=self.nurse, course=self.course, day=day, instrument="phq2", score=score)

    def lab(self, day: date, test: str, value: int, unit: str, uln: int | None = None) -> None:
        record_lab_result(
            actor=self.nurse,
            course=self.course,
            test=test,
            effective_date=day,
            value=Decimal(value),
            unit=unit,
            uln=Decimal(uln) if uln else None,
        )

    def labs(
        self, day: date, *, triglycerides: int | None = None, alt: int | None = None, ast: int | None = None
    ) -> None:
        """A fasting lipid panel and liver tests (LAB-BASE, LAB-PEAK); normal values unless given."""
        rng = self.rng
        self.lab(day, "triglycerides", triglycerides or rng.randint(70, 190), "mg/dL")
        self.lab(day, "cholesterol", rng.randint(135, 215), "mg/dL")
        self.lab(day, "alt", alt or rng.randint(12, 36), "U/L", uln=ENZYME_ULN)
        self.lab(day, "ast", ast or rng.randint(14, 34), "U/L", uln=ENZYME_ULN)

    def dispense(self, day: date) -> None:
        mg = self.dose_on(day + _days(1))  # the supply's first day is the day after the pick-up
        record_dispense(
            actor=self.nurse,
            course=self.course,
            day=day,
            days_supply=30,
            quantity=30 * self.capsules_per_day(mg),
            mg_per_day=mg,
            product=self.product,
            pharmacy=self.pharmacy,
            rma=f"RMA-DEMO-{self.rng.randrange(10**6):06d}",
        )

    # -- the steps of a course

    def baseline(self, day: date, *, labs_by: date) -> None:
        self.visit(day)
        self.weigh(day, self.baseline_kg)
        if not self.skip_baseline_labs:
            self.labs(min(day + _days(self.rng.randint(0, 4)), labs_by))

    def qualifying_steps(
        self,
        test_day: date,
        by: date,
        *,
        purpose: str,
        setting: str,
        confirmed: bool = True,
        attested: bool = True,
    ) -> None:
        """A negative qualifying test, then the prescriber's confirmation, then the patient's answers."""
        self.pregnancy_test(test_day, purpose, setting)
        confirmed_on = min(test_day + _days(self.rng.randint(0, 1)), by)
        if confirmed:
            self.prescriber_confirmation(confirmed_on)
        if confirmed and attested:
            self.patient_attestation(min(confirmed_on + _days(self.rng.randint(0, 1)), by))

    def pre_treatment(self, anchor: date, by: date) -> None:
        """Everything before the first fill. `anchor` is the confirmation test (or, for a patient who cannot
        get pregnant, the counseling visit); no step is dated after `by` (the first fill or today)."""
        rng = self.rng
        if self.can_get_pregnant:
            screening = anchor - _days(rng.randint(CONFIRMATION_AFTER_SCREENING + 1, 32))
            self.start_contraception(anchor - _days(rng.randint(CONTRACEPTION_LEAD_IN + 5, 120)))
            self.enroll(self.enroll_on or screening)
            self.pregnancy_test(screening, "screening")
            self.baseline(screening, labs_by=by)
            self.qualifying_steps(anchor, by, purpose="confirmation", setting="lab")
        else:
            enrollment = anchor - _days(rng.randint(7, 30))
            self.enroll(self.enroll_on or enrollment)
            self.baseline(enrollment, labs_by=by)
            if self.team.rules_2021_on(by):
                self.prescriber_confirmation(anchor)  # IPL-COUNSEL-MONTH

    def monthly_cycle(
        self,
        visit_day: date,
        by: date,
        *,
        confirmed: bool = True,
        attested: bool = True,
        result: str = "negative",
    ) -> None:
        """The monthly visit before a fill: the test and iPLEDGE steps (IPL-WIN-7), or the 2021 counseling."""
        self.visit(visit_day)
        if self.can_get_pregnant:
            setting = self.rng.choice(("office", "office", "lab"))
            if result == "positive":
                self.pregnancy_test(visit_day, "monthly", setting, result)
                return
            self.qualifying_steps(
                visit_day,
                by,
                purpose="monthly",
                setting=setting,
                confirmed=confirmed,
                attested=attested,
            )
        elif self.team.rules_2021_on(by) and confirmed:
            self.prescriber_confirmation(visit_day)  # IPL-COUNSEL-MONTH, window IPL-WIN-30

    def treat(
        self,
        first_fill: date,
        fills: int,
        *,
        dose_changes: list[tuple[int, Decimal, str, str]] | None = None,
        peak_labs: bool = True,
    ) -> None:
        """A course from its pre-treatment steps through `fills` monthly fills, 30 days apart.

        `dose_changes` are (day of the course, mg, why: a DoseChangeReason code, note); by default the dose
        rises from day 31, the planned step."""
        rng = self.rng
        self.open_course(first_fill + _days(1))
        start = self.course.start
        if dose_changes is None and fills >= 2:
            dose_changes = [(30, self.increased_dose(), PLANNED, "planned increase after the first month")]
        for offset, mg, why, reason in dose_changes or []:
            self.change_dose(start + _days(offset), mg, why, reason)
        self.pre_treatment(first_fill - _days(rng.randint(0, 3)), first_fill)
        for i in range(fills):
            fill_day = first_fill + _days(30 * i)
            if i > 0:
                visit_day = fill_day - _days(rng.randint(0, 3))
                self.monthly_cycle(visit_day, fill_day)
                if i % 2 == 0:
                    self.weigh(visit_day, self.baseline_kg + Decimal(rng.randint(-10, 15)) / 10)
            self.dispense(fill_day)
        peak = first_fill + _days(PEAK_LABS_AFTER - rng.randint(1, 3))
        if peak_labs and peak < self.today:
            self.labs(peak)

    def end(self, day: date, reason: str, *, stopped: bool = False, stop_reason: str = "") -> None:
        self._course = end_course(
            actor=self.prescriber,
            course=self.course,
            end=day,
            reason=reason,
            stopped=stopped,
            stop_reason=stop_reason,
        )

    # -- history (see "the history" above)

    def running(self, day: date, first_fill: date, end: date | None) -> bool:
        """Whether the course doses on `day` (after its first fill, before its last day), today or before."""
        return first_fill < day < (end or date.max) and day <= self.today

    def history_course(
        self,
        first_fill: date,
        end: date | None,
        *,
        first: str = "",
        exact: bool = False,
        reduction: tuple[int, str, str] | None = None,
    ) -> None:
        """A history course dispensed first on `first_fill`, dosing through `end` (None: still running): its
        dose plan, the steps before the first fill, every monthly fill, the peak-dose labs, and the recent
        months' incidents it can hold (`_Incidents`); its ending is the caller's.

        `first`: "delayed", the first window closed unfilled and the first fill waited (with the 19-day
        lockout where the 2021 rules applied); "" as `pre_treatment`. `exact`: the course's cumulative dose is
        planned to the day (a target reached), so it takes no incident that changes its dosing.
        `reduction`: (day of the course, why: a DoseChangeReason code, note) of a lower dose."""
        start = first_fill + _days(1)
        self.open_course(start)
        self.change_dose(
            start + _days(30), self.increased_dose(), PLANNED, "planned increase after the first month"
        )
        if reduction is not None:
            offset, why, note = reduction
            self.change_dose(start + _days(offset), self.reduced_dose(self.increased_dose()), why, note)
        peak = self.plan_peak_incident(first_fill, end)
        labs = self.plan_lab_incident(first_fill, end, exact=exact, peak=peak)
        if labs is not None and labs[0] == "triglycerides_high_then_critical":
            lowered = labs[1] + _days(2)
            self.change_dose(
                lowered,
                self.reduced_dose(self.dose_on(lowered)),
                LAB_RESULT,
                "high triglycerides: dose lowered",
            )
        if first == "delayed":
            self.delayed_first_fill(first_fill)
        else:
            self.pre_treatment(first_fill - _days(self.rng.randint(0, 3)), first_fill)
        self.dispense(first_fill)
        self.history_fills(first_fill, end or self.today, exact=exact)
        self.peak_labs(first_fill, end, peak)
        if labs is not None:
            self.lab_incident(*labs)

    def delayed_first_fill(self, first_fill: date) -> None:
        """The first window closed unfilled (every step done, the prescription not picked up: IPL-WIN-7); a
        new confirmation test ten days later. Where the 2021 rules applied that test came too early
        (IPL-LOCK-19: 19 days after the missed one, and each test in the lockout starts it again): a third
        test 19 days after it opened the window of the first fill. Else the second test's window did."""
        locked = self.team.rules_2021_on(first_fill - _days(20))
        missed = first_fill - _days(30 if locked else 11)
        self.pre_treatment(missed, missed + _days(1))
        retest = missed + _days(10)
        self.qualifying_steps(retest, retest + _days(1), purpose="confirmation", setting="lab")
        if locked:
            last = retest + _days(LOCKOUT_DAYS)
            self.qualifying_steps(last, first_fill, purpose="confirmation", setting="lab")

    def history_fills(self, first_fill: date, end: date, *, exact: bool) -> None:
        """The fills after the first, each at a monthly visit two days before the supply runs out, while the
        supply runs out before `end`. A cycle may take one of its month's cycle incidents: its window lost
        for lack of one step (a new test eight days later, the days without capsules recorded as a hold), or
        replaced by a test repeated in a lab three days later, whose window the fill used."""
        fill, number = first_fill, 1
        while fill + _days(30) < end:
            due = fill + _days(30)  # the supply's last day
            visit = due - _days(2)
            kind = None
            if self.can_get_pregnant and self.team.incidents is not None and visit + _days(10) < end:
                kind = self.take_cycle_incident(due, exact=exact)
            if kind is not None:
                self.taken.append(kind)
            if kind is not None and kind.startswith("lost_"):
                self.lose_window(visit, kind)
                visit = due + _days(6)  # the next day after the lost window closed
                fill = visit + _days(1)
                record_interruption(  # the days without capsules; for a pick-up missed, no reason was entered
                    actor=self.prescriber,
                    course=self.course,
                    start=due + _days(1),
                    end=fill,
                    reason=""
                    if kind == "lost_pick_up"
                    else "out of capsules: the iPLEDGE window closed unfilled",
                )
                self.monthly_cycle(visit, fill)
            elif kind == "replaced":
                visit = due - _days(4)
                self.visit(visit)
                self.pregnancy_test(visit, "monthly", "office")
                fill = due - _days(1)
                self.qualifying_steps(fill, fill, purpose="monthly", setting="lab")  # the repeat, in a lab
            else:
                fill = visit + _days(self.rng.randint(0, 1))
                self.monthly_cycle(visit, fill)
            if number % 2 == 0:
                self.weigh(visit, self.baseline_kg + Decimal(self.rng.randint(-10, 15)) / 10)
            self.dispense(fill)
            number += 1

    def take_cycle_incident(self, due: date, *, exact: bool) -> str | None:
        """The cycle incident (at most three a course) of the month its window closes in: the replaced one,
        opened four days before the supply's last day, closes two days after it; a lost one, opened two days
        before, four days after."""
        incidents = self.team.incidents
        if incidents is None or sum(kind in CYCLE_INCIDENTS for kind in self.taken) >= 3:
            return None
        # a course whose dosing is planned exactly takes only a replaced window; the others leave those to it
        for kind in ("replaced",) if exact else (*CYCLE_INCIDENTS[1:], "replaced"):
            closes = due + _days(2 if kind == "replaced" else 4)
            if incidents.take(closes, (kind,)):
                return kind
        return None

    def lose_window(self, visit: date, kind: str) -> None:
        """A monthly visit whose window closed unfilled for lack of one step: the test (a home test, which
        the practice does not accept: IPL-PT-MONTH), the prescriber's entry, the patient's answers, or the
        pick-up."""
        self.visit(visit)
        if kind == "lost_test":
            self.pregnancy_test(visit, "monthly", "home")
            self.prescriber_confirmation(visit)
            self.patient_attestation(visit + _days(1))
            return
        self.qualifying_steps(
            visit,
            visit + _days(1),
            purpose="monthly",
            setting="office",
            confirmed=kind != "lost_prescriber",
            attested=kind == "lost_pick_up",
        )

    def plan_peak_incident(self, first_fill: date, end: date | None) -> str | None:
        """The peak-dose labs' incident of the month they fall due in (first fill + 60), if the course runs
        then: late (drawn a week after the due date, still in its month) or not done by the month's end."""
        due = first_fill + _days(PEAK_LABS_AFTER)
        if self.team.incidents is None or not self.running(due, first_fill, end):
            return None
        late_fits = due.day <= 21 and self.running(due + _days(7), first_fill, end)
        kind = self.team.incidents.take(due, PEAK_INCIDENTS if late_fits else ("peak_not_done",))
        if kind is not None:
            self.taken.append(kind)
        return kind

    def peak_labs(self, first_fill: date, end: date | None, incident: str | None) -> None:
        """LAB-PEAK: drawn a few days before the due date (first fill + 60), or as the `incident` says: late,
        or not by the month's end (at the visit a month later, if the course still runs, or never)."""
        due = first_fill + _days(PEAK_LABS_AFTER)
        if not self.running(due, first_fill, end):
            return  # the course ended first (or the labs are not due yet)
        if incident == "peak_late":
            self.labs(due + _days(7))
        elif incident == "peak_not_done":
            if self.running(due + _days(33), first_fill, end):
                self.labs(due + _days(33))
        else:
            self.labs(due - _days(self.rng.randint(1, 3)))

    def plan_lab_incident(
        self, first_fill: date, end: date | None, *, exact: bool, peak: str | None
    ) -> tuple[str, date] | None:
        """The first of the recent months' lab incidents this course can hold, and its day (see
        `lab_incident`); None when it holds none. Only one per course; none that draws labs before the
        peak-dose labs of a `peak` incident are drawn (they would count as those)."""
        incidents = self.team.incidents
        if incidents is None:
            return None
        for back in HISTORY_MONTHS:
            for kind in LAB_INCIDENTS:
                if exact and kind in DOSE_CHANGING:
                    continue
                day = _lab_incident_day(kind, self.today, back)
                if not self.lab_incident_fits(kind, day, first_fill, end):
                    continue
                if (
                    peak is not None
                    and kind != "self_harm"
                    and day <= first_fill + _days(PEAK_LABS_AFTER + 40)
                ):
                    continue
                if incidents.take(day, (kind,)):
                    self.taken.append(kind)
                    return kind, day
        return None

    def lab_incident_fits(self, kind: str, day: date, first_fill: date, end: date | None) -> bool:
        if not self.running(day, first_fill, end):
            return False
        if kind == "triglycerides_high_then_critical":  # the lower dose, the critical recheck, the hold
            return (
                day >= first_fill + _days(10)
                and self.running(day + _days(17), first_fill, end)
                and (end is None or day + _days(31) < end)
            )
        if kind == "liver_unacknowledged":  # the hold after it
            return day >= first_fill + _days(10) and (end is None or day + _days(19) < end)
        if kind == "routine_labs":  # after the peak-dose labs, drawn on time (`peak_labs`)
            return day >= first_fill + _days(PEAK_LABS_AFTER + 10)
        return True  # self_harm

    def lab_incident(self, kind: str, day: date) -> None:
        """One recent month's lab incident, on `day`:

        - a high triglyceride (LAB-TG-HIGH): the dose lowered two days later (``history_course``), the alert
          acknowledged then; the recheck 16 days later critical (LAB-TG-CRIT): the drug held two weeks, the
          alert acknowledged the next day; a recheck after the hold;
        - an ALT above 3 x ULN (LAB-LFT-HIGH) on the month's last days, acknowledged four days later, in the
          next month (a hold and a recheck follow), so still open at its month's end;
        - a lipid panel drawn at a visit with nothing calling for it (the 2022 Delphi consensus asks for no
          routine monthly labs);
        - a PHQ-9 whose item 9 reports thoughts of self-harm, assessed the same day (MOOD)."""
        rng = self.rng
        if kind == "triglycerides_high_then_critical":
            high = rng.randint(TRIGLYCERIDES_HIGH + 20, 700)
            self.labs(day, triglycerides=high)
            self.acknowledge(
                "TRIGLYCERIDES_HIGH",
                day,
                day + _days(2),
                f"triglycerides {high} mg/dL: dose lowered, recheck in 2-3 weeks",
            )
            critical = day + _days(16)
            value = rng.randint(TRIGLYCERIDES_CRITICAL + 10, 960)
            self.labs(critical, triglycerides=value)
            self.acknowledge(
                "TRIGLYCERIDES_CRITICAL",
                critical,
                critical + _days(1),
                f"triglycerides {value} mg/dL: held for two weeks, recheck",
            )
            record_interruption(
                actor=self.prescriber,
                course=self.course,
                start=critical + _days(1),
                end=critical + _days(14),
                reason="critical triglycerides: held, recheck in 2 weeks",
            )
            if critical + _days(15) <= self.today:
                self.labs(critical + _days(15), triglycerides=rng.randint(260, 420))
        elif kind == "liver_unacknowledged":
            alt = rng.randint(3 * ENZYME_ULN + 5, 190)
            self.labs(day, alt=alt, ast=rng.randint(90, 125))
            seen = day + _days(4)
            if seen <= self.today:
                self.acknowledge(
                    "LIVER_ENZYMES_HIGH", day, seen, f"ALT {alt} U/L: held for two weeks, recheck"
                )
                record_interruption(
                    actor=self.prescriber,
                    course=self.course,
                    start=seen,
                    end=seen + _days(13),
                    reason="ALT above 3 x the upper limit: held, recheck liver tests",
                )
        elif kind == "routine_labs":
            self.visit(day)
            self.labs(day)
        else:  # self_harm
            self.visit(day, phq2=4)
            record_mood_screen(
                actor=self.nurse,
                course=self.course,
                day=day,
                instrument="phq9",
                score=rng.randint(10, 14),
                item9=1,
            )
            for code in ("SELF_HARM_RISK", "MOOD_SCREEN_POSITIVE"):
                self.acknowledge(
                    code,
                    day,
                    day,
                    "safety assessment done: no plan or intent; crisis line given, weekly check-ins",
                )

    def acknowledge(self, code: str, alert_date: date, day: date, reason: str) -> None:
        acknowledge_alert(
            actor=self.prescriber,
            course=self.course,
            code=code,
            alert_date=alert_date,
            reason=reason,
            day=day,
        )

    def after_course_tests(self, end: date) -> None:
        """A patient who can get pregnant: the end-of-course test at the last visit, the test 30 days after
        the last dose once its day has come."""
        if not self.can_get_pregnant:
            return
        self.visit(end - _days(1))
        self.pregnancy_test(end - _days(1), "end_of_course")
        post = end + _days(30 + self.rng.randint(0, 3))
        if post <= self.today:
            self.pregnancy_test(post, "post_course", "lab")


def _round10(value: float) -> int:
    return int(round(value / 10) * 10)


def _nearest(choices: tuple[int, ...] | list[int], value: float) -> int:
    return min(choices, key=lambda choice: (abs(choice - value), choice))


# ---------------------------------------------------------------------------------------------- situations
# Each builds one course for a patient on `today` (T). `n` counts earlier patients in the same situation.


def _qualifying(c: _Chart, n: int) -> None:
    """Enrolled, screening test done, contraception lead-in running: the confirmation test is not yet due."""
    t = c.today
    lead_in_from = t - _days(c.rng.randint(5, 20))
    screening = t - _days(c.rng.randint(1, 4))
    confirmation_due = max(
        screening + _days(CONFIRMATION_AFTER_SCREENING), lead_in_from + _days(CONTRACEPTION_LEAD_IN)
    )
    c.open_course(confirmation_due + _days(5))  # planned: a few days after the expected first fill
    c.start_contraception(lead_in_from)
    c.enroll(screening)
    c.pregnancy_test(screening, "screening")
    c.baseline(screening, labs_by=t)


def _ready_for_first_fill(c: _Chart, n: int) -> None:
    """Every step for the first fill is done and the window is open; the pharmacy can fill it today."""
    t = c.today
    c.open_course(t + _days(3))
    c.pre_treatment(t - _days(c.rng.randint(0, 2)), t)


def _in_month(month: int) -> Callable[[_Chart, int], None]:
    def build(c: _Chart, n: int) -> None:
        last_fill = c.today - _days(c.rng.randint(2, 24))
        c.treat(last_fill - _days(30 * (month - 1)), month)

    build.__doc__ = f"Month {month} of treatment: {month} fill(s) done, the supply still running."
    return build


def _window_closing_today(c: _Chart, n: int) -> None:
    """A monthly test dated today - 6, both iPLEDGE entries done, no pick-up yet: IPL-WIN-7's last day."""
    t = c.today
    fills = c.rng.randint(1, 3)
    c.treat(t - _days(28 + 30 * (fills - 1)), fills)
    c.monthly_cycle(t - _days(WINDOW_LAST_DAY), t)


def _window_missed(c: _Chart, n: int) -> None:
    """A monthly test more than 7 days old with no dispense after it: the window expired."""
    t = c.today
    fills = c.rng.randint(1, 3)
    c.treat(t - _days(38 + 30 * (fills - 1)), fills)
    c.monthly_cycle(t - _days(12), t)


def _awaiting_patient_attestation(c: _Chart, n: int) -> None:
    """Test and prescriber confirmation done; the patient has not answered the comprehension questions."""
    t = c.today
    fills = c.rng.randint(1, 4)
    c.treat(t - _days(27 + 30 * (fills - 1)), fills)
    c.monthly_cycle(t - _days(2), t, attested=False)


def _awaiting_prescriber_confirmation(c: _Chart, n: int) -> None:
    """Yesterday's monthly test is in; the prescriber has not confirmed in iPLEDGE yet."""
    t = c.today
    fills = c.rng.randint(1, 4)
    c.treat(t - _days(28 + 30 * (fills - 1)), fills)
    c.monthly_cycle(t - _days(1), t, confirmed=False)


def _pregnancy_positive(c: _Chart, n: int) -> None:
    """A positive monthly test five days ago: the drug was stopped that day and the patient referred; the
    report to the iPLEDGE pregnancy registry is still to be recorded (IPL-PT-POSITIVE)."""
    t = c.today
    c.treat(t - _days(63), 2)
    positive = t - _days(5)
    c.monthly_cycle(positive, t, result="positive")
    for step, day in (("stop", positive), ("refer", positive + _days(1))):
        record_pregnancy_follow_up(actor=c.prescriber, course=c.course, step=step, day=day)
    c.course.refresh_from_db(fields=["status", "end"])


def _dry_lips_dose_reduced(c: _Chart, n: int) -> None:
    """Cheilitis (dry lips) in month 2; the prescriber lowers the dose for it."""
    last_fill = c.today - _days(c.rng.randint(2, 12))
    increased = c.increased_dose()
    onset_day = 38
    reduce_from = onset_day + 3
    changes = [
        (30, increased, PLANNED, "planned increase after the first month"),
        (reduce_from, c.reduced_dose(increased), SIDE_EFFECTS, "dry lips (cheilitis): dose reduced"),
    ]
    c.treat(last_fill - _days(60), 3, dose_changes=changes)
    record_side_effect(
        actor=c.nurse,
        course=c.course,
        term="cheilitis (dry lips)",
        severity="moderate",
        onset=c.course.start + _days(onset_day),
        action_taken="dose_reduced",
    )


def _triglycerides_high(c: _Chart, n: int) -> None:
    """Peak-dose triglycerides at or above 500 mg/dL (LAB-TG-HIGH); the dose is lowered, a recheck is due."""
    last_fill = c.today - _days(c.rng.randint(2, 12))
    first_fill = last_fill - _days(60)
    value = c.rng.randint(TRIGLYCERIDES_HIGH + 10, 690)
    increased = c.increased_dose()
    changes = [
        (30, increased, PLANNED, "planned increase after the first month"),
        (
            58,
            c.reduced_dose(increased),
            LAB_RESULT,
            f"triglycerides {value} mg/dL: dose reduced, recheck in 2-4 weeks",
        ),
    ]
    c.treat(first_fill, 3, dose_changes=changes, peak_labs=False)
    drawn = first_fill + _days(57)
    c.labs(drawn, triglycerides=value)
    acknowledge_alert(  # ALERT-URGENCY: the prescriber has seen it and acted (the dose is lowered)
        actor=c.prescriber,
        course=c.course,
        code="TRIGLYCERIDES_HIGH",
        alert_date=drawn,
        reason="dose reduced; recheck lipids in 2-4 weeks",
        day=drawn + _days(1),
    )


def _triglycerides_critical(c: _Chart, n: int) -> None:
    """Triglycerides at or above 800 mg/dL (LAB-TG-CRIT) two days ago: the drug is held for two weeks."""
    t = c.today
    c.treat(t - _days(60), 2, peak_labs=False)
    value = c.rng.randint(TRIGLYCERIDES_CRITICAL + 20, 980)
    c.labs(t - _days(2), triglycerides=value)
    record_interruption(
        actor=c.prescriber,
        course=c.course,
        start=t - _days(1),
        end=t + _days(13),
        reason=f"triglycerides {value} mg/dL: held, recheck in 2 weeks",
    )


def _liver_enzymes_high(c: _Chart, n: int) -> None:
    """Peak-dose ALT above 3 x ULN (LAB-LFT-HIGH)."""
    last_fill = c.today - _days(c.rng.randint(2, 12))
    first_fill = last_fill - _days(60)
    c.treat(first_fill, 3, peak_labs=False)
    c.labs(first_fill + _days(57), alt=c.rng.randint(3 * ENZYME_ULN + 5, 190), ast=c.rng.randint(90, 125))


def _mood_screen_positive(c: _Chart, n: int) -> None:
    """A PHQ-2 of 4 followed by a PHQ-9 of 10 or more (MOOD), no thoughts of self-harm (item 9 = 0)."""
    _phq9_after_phq2(c, item9=0)


def _self_harm_risk(c: _Chart, n: int) -> None:
    """A PHQ-9 at yesterday's visit reports thoughts of self-harm (item 9 = 1): a safety assessment the same
    day (MOOD), not yet recorded as done."""
    _phq9_after_phq2(c, item9=1)


def _phq9_after_phq2(c: _Chart, *, item9: int) -> None:
    t = c.today
    fills = c.rng.randint(2, 4)
    c.treat(t - _days(c.rng.randint(3, 20) + 30 * (fills - 1)), fills)
    day = t - _days(1)
    c.visit(day, phq2=4)
    record_mood_screen(
        actor=c.nurse, course=c.course, day=day, instrument="phq9", score=c.rng.randint(10, 14), item9=item9
    )


def _hold_and_missed_doses(c: _Chart, n: int) -> None:
    """A week's hold for nosebleeds in month 2 and three single missed doses (DOSE-CUM)."""
    last_fill = c.today - _days(c.rng.randint(2, 20))
    c.treat(last_fill - _days(90), 4)
    start = c.course.start
    record_side_effect(
        actor=c.nurse,
        course=c.course,
        term="epistaxis (nosebleeds)",
        severity="mild",
        onset=start + _days(33),
        resolved_on=start + _days(45),
        action_taken="held",
    )
    record_interruption(
        actor=c.prescriber,
        course=c.course,
        start=start + _days(35),
        end=start + _days(41),
        reason="nosebleeds: paused for a week",
    )
    for offset in (12, 67, 80):
        record_missed_dose(actor=c.nurse, course=c.course, day=start + _days(offset))


def _weight_changed(c: _Chart, n: int) -> None:
    """A weight 12 % above the baseline, entered in lb (the WEIGHT_CHANGED alert's 10 %)."""
    t = c.today
    c.treat(t - _days(c.rng.randint(3, 20) + 90), 4)
    c.visit(t - _days(1))
    c.weigh(t - _days(1), (c.baseline_kg * Decimal("1.12")).quantize(Decimal("0.1")))


def _post_course(c: _Chart, n: int) -> None:
    """Five fills, last dose 10 days ago; the end-of-course test is done, the 30-days-after test is due."""
    t = c.today
    c.treat(t - _days(160), 5)
    end = t - _days(10)
    if c.can_get_pregnant:
        c.visit(end - _days(1))
        c.pregnancy_test(end - _days(1), "end_of_course")
    c.end(end, "course completed")


def _completed(c: _Chart, n: int) -> None:
    """Five fills, last dose 60 days ago, end-of-course and post-course tests negative."""
    t = c.today
    c.treat(t - _days(210), 5)
    end = t - _days(60)
    if c.can_get_pregnant:
        c.visit(end - _days(2))
        c.pregnancy_test(end - _days(2), "end_of_course")
        post = end + _days(30 + c.rng.randint(0, 3))
        c.pregnancy_test(post, "post_course", "lab")
    c.end(end, "course completed")


# 2021 rules only (the pinned practice)


def _lockout_19_day(c: _Chart, n: int) -> None:
    """IPL-LOCK-19: the first window (test 22 days ago) was missed; the new confirmation test came 17 days
    later, so the first fill is locked out even though every step of the new window is done."""
    t = c.today
    c.open_course(t + _days(5))
    missed = t - _days(22)
    c.pre_treatment(missed, missed + _days(1))
    c.qualifying_steps(t - _days(5), t, purpose="confirmation", setting="lab")


def _counseling_window_open(c: _Chart, n: int) -> None:
    """Cannot get pregnant, 2021: counseled 12 days ago, not yet picked up; IPL-WIN-30 is still open."""
    t = c.today
    c.treat(t - _days(55), 2)
    c.monthly_cycle(t - _days(12), t)


def _counseling_window_expired(c: _Chart, n: int) -> None:
    """Cannot get pregnant, 2021: counseled 34 days ago and never picked up; the 30-day window has ended."""
    t = c.today
    c.treat(t - _days(65), 1)
    c.monthly_cycle(t - _days(34), t)


def _counseling_due(c: _Chart, n: int) -> None:
    """Cannot get pregnant, 2021: the supply runs out in 3 days; this month's counseling visit is missing."""
    t = c.today
    c.treat(t - _days(57), 2)


# The history (see "the history" above). Each builds one course for a month `back` months before today's.


def _days_to_reach(c: _Chart, mg_per_kg: float) -> int:
    """Days of dosing the demo's plan (the starting dose for 30 days, the increased one after) needs to reach
    `mg_per_kg` on the patient's weight (conventional capsules, DOSE-CUM on the baseline weight)."""
    kg, first, then = float(c.baseline_kg), float(c.starting_dose()), float(c.increased_dose())
    total, days = 0.0, 0
    while total < mg_per_kg:
        days += 1
        total += (first if days <= 30 else then) / kg
    return days


def _completed_at(aim: float, last_day: int, doc: str) -> Callable[[_Chart, int], None]:
    def build(c: _Chart, back: int) -> None:
        end = _month_day(c.today, back, last_day)
        c.history_course(end - _days(_days_to_reach(c, aim)), end, exact=True)
        c.after_course_tests(end)
        c.end(end, "course completed")

    build.__doc__ = doc
    return build


_history_completed_target = _completed_at(
    153, 14, "Completed at the practice's target (150 mg/kg) in the month, after about six months."
)
_history_completed_120 = _completed_at(
    132, 20, "Completed in the month above 120 mg/kg, short of the practice's target."
)
_history_completed_below_120 = _completed_at(
    104, 9, "Completed in the month below 120 mg/kg: clear early, the patient chose to finish there."
)


def _history_completed_without_weight(c: _Chart, back: int) -> None:
    """Completed in the month after five fills; no weight was ever entered, so no mg/kg can be given."""
    c.record_weights = False
    end = _month_day(c.today, back, 24)
    c.history_course(end - _days(150), end)
    c.after_course_tests(end)
    c.end(end, "course completed")


def _history_positive_follow_up_open(c: _Chart, back: int) -> None:
    """A positive monthly test at the month's end: the drug stopped and the patient referred at once; the
    report to the pregnancy registry recorded only on the next month's first day."""
    positive = _month_day(c.today, back, 25)
    c.history_course(positive - _days(88), positive)
    c.monthly_cycle(positive, positive, result="positive")
    report = _month_last(c.today, back) + _days(1)
    for step, day in (("stop", positive), ("refer", positive + _days(1)), ("report", report)):
        record_pregnancy_follow_up(actor=c.prescriber, course=c.course, step=step, day=day)


def _history_positive_before_first_fill(c: _Chart, back: int) -> None:
    """The confirmation test was positive: the course stopped before its first dose, the patient referred and
    the pregnancy reported within days (IPL-PT-POSITIVE)."""
    positive = _month_day(c.today, back, 16)
    screening = positive - _days(c.rng.randint(CONFIRMATION_AFTER_SCREENING + 1, 32))
    c.open_course(positive + _days(4))  # planned
    c.start_contraception(positive - _days(c.rng.randint(CONTRACEPTION_LEAD_IN + 5, 90)))
    c.enroll(screening)
    c.pregnancy_test(screening, "screening")
    c.baseline(screening, labs_by=positive)
    c.pregnancy_test(positive, "confirmation", "lab", result="positive")
    for step, day in (("stop", positive), ("refer", positive + _days(1)), ("report", positive + _days(2))):
        record_pregnancy_follow_up(actor=c.prescriber, course=c.course, step=step, day=day)


def _history_stopped_side_effects(c: _Chart, back: int) -> None:
    """Dry lips lowered the dose in month 2; back pain and severe dryness stopped the course before the
    peak-dose labs were due and before the month's prescription, its window open, was picked up."""
    stop = _month_day(c.today, back, 6)
    first_fill = _month_day(c.today, back, 12) - _days(PEAK_LABS_AFTER)
    c.history_course(first_fill, stop, reduction=(35, SIDE_EFFECTS, "cheilitis (dry lips): dose lowered"))
    c.monthly_cycle(stop - _days(3), stop)  # this month's test and entries done; stopped before the pick-up
    record_side_effect(
        actor=c.nurse, course=c.course, term="cheilitis (dry lips)", severity="moderate",
        onset=c.course.start + _days(32), action_taken="dose_reduced",
    )  # fmt: skip
    record_side_effect(
        actor=c.nurse, course=c.course, term="back pain and severe skin dryness", severity="severe",
        onset=stop - _days(4), action_taken="stopped",
    )  # fmt: skip
    c.after_course_tests(stop)
    c.end(
        stop, "back pain and severe dryness despite the lower dose", stopped=True, stop_reason="side_effects"
    )


def _history_stopped_patient_choice(c: _Chart, back: int) -> None:
    """Stopped in the month at the patient's wish (clear enough, a trip ahead), the relapse risk explained;
    the peak-dose labs fell due the month before."""
    stop = _month_day(c.today, back, 24)
    c.history_course(_month_day(c.today, back + 1, 12) - _days(PEAK_LABS_AFTER), stop)
    c.after_course_tests(stop)
    c.end(
        stop,
        "the patient chose to stop: acne clear enough, travelling; relapse risk explained",
        stopped=True,
        stop_reason="patient_choice",
    )


def _history_lost_to_follow_up(c: _Chart, back: int) -> None:
    """No visit after the fourth fill; the capsules ran out in the month and calls went unanswered."""
    last_dose = _month_day(c.today, back, 12)
    c.history_course(last_dose - _days(115), last_dose)
    c.end(
        last_dose,
        "no visit since the last fill; three calls and a letter unanswered",
        stopped=True,
        stop_reason="lost_to_follow_up",
    )


def _history_first_fill_delayed(c: _Chart, back: int) -> None:
    """First fill in the month, late: the first window closed unfilled and, under the 2021 rules, the next
    test came too early (IPL-LOCK-19); still on treatment."""
    c.history_course(_month_day(c.today, back, 20), None, first="delayed")


def _history_baseline_labs_missing(c: _Chart, back: int) -> None:
    """First fill in the month without baseline labs (LAB-BASE); they were drawn nine days later."""
    c.skip_baseline_labs = True
    first_fill = _month_day(c.today, back, 6)
    c.history_course(first_fill, None)
    if first_fill + _days(9) <= c.today:
        c.labs(first_fill + _days(9))


def _history_enrollment_dated_late(c: _Chart, back: int) -> None:
    """First fill in the month, in a course brought over from the practice's previous records: its iPLEDGE
    entries kept as given, as an import keeps them, the enrollment dated the day it was typed, after the
    fill; the report cannot count its days to the first fill."""
    first_fill = _month_day(c.today, back, 14)
    c.in_order = False  # the app refuses a step before the enrollment; only an import keeps one (IPL-ENROLL)
    c.enroll_on = first_fill + _days(3)
    c.history_course(first_fill, None)


@dataclass(frozen=True)
class Situation:
    key: str
    category: str
    build: Callable[[_Chart, int], None]
    micronized: bool | None = None  # None: by chance
    weight_unit: str | None = None  # None: by chance
    methods: tuple[str, ...] | None = None  # None: a random primary + secondary pair
    skip_baseline_labs: bool = False

    @property
    def description(self) -> str:
        return (self.build.__doc__ or self.key).split("\n")[0]


def _no_course(c: _Chart, n: int) -> None:
    """Registered at the front desk today; a prescriber has yet to assign the iPLEDGE category."""


# A patient outside the situations (no course): the worklist asks a prescriber for the category.
AWAITING_CATEGORY = Situation("awaiting_category", "", _no_course)

# About a third cannot get pregnant (IPL-CAT).
MAIN_SITUATIONS = (
    Situation("qualifying", CGP, _qualifying),
    Situation("ready_for_first_fill", CGP, _ready_for_first_fill),
    Situation("ready_for_first_fill", CNGP, _ready_for_first_fill),
    Situation("treatment_month_1", CGP, _in_month(1)),
    Situation("treatment_month_2", CNGP, _in_month(2)),
    Situation("treatment_month_3", CGP, _in_month(3), micronized=True),
    Situation("treatment_month_4", CGP, _in_month(4), methods=("abstinence",)),
    Situation("treatment_month_5", CNGP, _in_month(5), micronized=True),
    Situation("treatment_month_6", CGP, _in_month(6)),
    Situation("window_closing_today", CGP, _window_closing_today),
    Situation("window_missed", CGP, _window_missed),
    Situation("awaiting_patient_attestation", CGP, _awaiting_patient_attestation),
    Situation("awaiting_prescriber_confirmation", CGP, _awaiting_prescriber_confirmation),
    Situation("pregnancy_test_positive", CGP, _pregnancy_positive),
    Situation("dry_lips_dose_reduced", CNGP, _dry_lips_dose_reduced),
    Situation("triglycerides_high", CGP, _triglycerides_high),
    Situation("triglycerides_critical", CNGP, _triglycerides_critical),
    Situation("liver_enzymes_high", CGP, _liver_enzymes_high),
    Situation("mood_screen_positive", CNGP, _mood_screen_positive),
    Situation("self_harm_risk", CGP, _self_harm_risk),
    Situation("hold_and_missed_doses", CGP, _hold_and_missed_doses),
    Situation("weight_changed", CNGP, _weight_changed, weight_unit="lb"),
    Situation("post_course", CGP, _post_course),
    Situation("completed", CGP, _completed),
    Situation("completed", CNGP, _completed),
    Situation("baseline_labs_missing", CGP, _in_month(1), skip_baseline_labs=True),
)


def _back(back: int, build: Callable[[_Chart, int], None]) -> Callable[[_Chart, int], None]:
    """A history situation's builder for the month `back` months before today's."""

    def for_month(c: _Chart, n: int) -> None:
        build(c, back)

    for_month.__doc__ = build.__doc__
    return for_month


def _history(back: int, categories: str) -> tuple[Situation, ...]:
    """The history of one recent month; `categories` gives, in the order below, C (can get pregnant) or N
    (cannot) for the situations whose patients may be either."""
    category = iter(CGP if letter == "C" else CNGP for letter in categories)
    kg = "kg"  # a course planned to reach a dose exactly: its weight as planned, not rounded from lb
    return (
        Situation(
            "history_completed_target", next(category), _back(back, _history_completed_target), False, kg
        ),
        Situation("history_completed_120", next(category), _back(back, _history_completed_120), False, kg),
        Situation("history_completed_without_weight", CNGP, _back(back, _history_completed_without_weight)),
        Situation(
            "history_positive_before_first_fill", CGP, _back(back, _history_positive_before_first_fill)
        ),
        Situation(
            "history_positive_follow_up_open", CGP, _back(back, _history_positive_follow_up_open), False
        ),
        Situation("history_stopped_side_effects", CGP, _back(back, _history_stopped_side_effects), False),
        Situation(
            "history_stopped_patient_choice", next(category), _back(back, _history_stopped_patient_choice)
        ),
        Situation("history_lost_to_follow_up", CNGP, _back(back, _history_lost_to_follow_up)),
        Situation("history_first_fill_delayed", CGP, _back(back, _history_first_fill_delayed), False),
        Situation(
            "history_baseline_labs_missing", next(category), _back(back, _history_baseline_labs_missing)
        ),
        Situation("history_enrollment_dated_late", CGP, _back(back, _history_enrollment_dated_late)),
    )


# The main practice's history, the most recent month first (a demo of fewer patients keeps the latest).
HISTORY_SITUATIONS = (
    *_history(1, "CNCC"),
    *_history(2, "NCNN"),
    *_history(3, "CNCC"),
    Situation("history_completed_below_120", CNGP, _back(2, _history_completed_below_120), False, "kg"),
)

PINNED_SITUATIONS = (
    Situation("lockout_19_day", CGP, _lockout_19_day),
    Situation("ready_for_first_fill", CGP, _ready_for_first_fill),
    Situation("treatment_month_2", CGP, _in_month(2)),
    Situation("counseling_window_open", CNGP, _counseling_window_open),
    Situation("counseling_window_expired", CNGP, _counseling_window_expired),
    Situation("counseling_due", CNGP, _counseling_due),
)


# ---------------------------------------------------------------------------------------------- the builder


def build_demo(*, patients: int = 60, seed: int = 1, today: date | None = None) -> DemoPractice:
    """Create both demo practices, their staff and patients, in one transaction (all or nothing)."""
    if patients < 0:
        raise InvalidInput("The number of patients cannot be negative.", field="patients")
    today = today or practice_today()
    taken = StaffUser.objects.filter(username__in=[login.username for login in STAFF]).exists()
    if taken:
        raise InvalidInput("The demo logins already exist in this database.", field="username")
    with transaction.atomic():
        main = Practice.objects.create(
            name=MAIN_PRACTICE_NAME,
            phone="555-0100",  # 555-0100 to 555-0199: fictional numbers
            time_zone=DEMO_TIME_ZONE,
            rules="auto",
            ipledge_2026_effective=date(2026, 11, 15),
        )
        pinned = Practice.objects.create(
            name=PINNED_PRACTICE_NAME, phone="555-0101", time_zone=DEMO_TIME_ZONE, rules="us-ipledge-2021"
        )
        staff = _create_staff({MAIN_PRACTICE_NAME: main, PINNED_PRACTICE_NAME: pinned})
        demo = DemoPractice(practice=main, pinned_practice=pinned, staff=staff)
        main_team = _team(main, staff)
        main_team.incidents = _Incidents.for_history(today)
        # Every situation once, then the history, then the situations again.
        ordered = (*MAIN_SITUATIONS, *HISTORY_SITUATIONS)
        situations = [
            ordered[i] if i < len(ordered) else MAIN_SITUATIONS[i % len(MAIN_SITUATIONS)]
            for i in range(patients)
        ]
        _populate(demo, main_team, situations, seed=seed, today=today, first_number=1)
        demo.awaiting_category = (
            _register(  # registered at the desk today: the worklist asks for its category
                main_team,
                random.Random(f"isotrack-demo:{seed}:awaiting"),
                AWAITING_CATEGORY,
                number=patients + 1,
                seed=seed,
                today=today,
                names={(p.given_name, p.family_name) for p in Patient.objects.filter(practice=main)},
            )
        )
        _populate(
            demo, _team(pinned, staff), list(PINNED_SITUATIONS), seed=seed, today=today, first_number=900_001
        )
        _answered_check_in(demo, today)
    return demo


def _answered_check_in(demo: DemoPractice, today: date) -> None:
    """One patient answered the check-in before a visit in the coming days (issue 17): the course page and
    the visit form show the answers as the patient's, beside the fields, until a clinician confirms them. No
    thoughts of self-harm, so the worklist is the situations' own. Its link's secret is not kept (the demo
    sends no reminder)."""
    found = demo.courses.get("treatment_month_3", [])
    if not found:
        return
    course = found[0]
    visit = today + _days(3)
    if (
        expiry_of(course, visit) <= queries.now()
    ):  # a demo built for a day long past: its link would be closed
        return
    issued = issue_check_in(course=course, visit_date=visit)
    methods = course.patient.contraception.filter(end__isnull=True).values_list("method", flat=True)
    symptoms = dict.fromkeys(SYMPTOMS, "none") | {"dry_lips": "moderate", "dry_eyes": "mild"}
    answers = CheckInAnswers(
        phq=(1, 0),
        symptoms=symptoms,
        methods=tuple(sorted(methods)),
        medicines=(Medicine("St John's wort", today - _days(10)),),
    )
    submit_check_in(check_in=issued.check_in, answers=answers)


def _create_staff(practices: dict[str, Practice]) -> dict[str, StaffUser]:
    """Staff are created directly: there is no staff action yet. One Argon2 hash serves every login (hashing
    is deliberately slow, and they share the published demo password anyway)."""
    template = StaffUser()
    template.set_password(DEMO_PASSWORD)
    staff = {}
    for index, login in enumerate(STAFF, start=1):
        user = StaffUser(
            username=login.username,
            first_name=login.given_name,
            last_name=login.family_name,
            email=f"{login.username}@example.org",
            practice=practices[login.practice],
            role=login.role,
            credentials=login.credentials,
            npi=synthetic_npi(index) if login.role == "prescriber" else "",
            password=template.password,
        )
        user.save()
        staff[login.username] = user
    return staff


def _team(practice: Practice, staff: dict[str, StaffUser]) -> _Team:
    members = [user for user in staff.values() if user.practice_id == practice.pk]
    prescribers = [user for user in members if user.role == "prescriber"]
    nurses = [user for user in members if user.role == "nurse"]
    desk = [user for user in members if user.role == "front_desk"]
    return _Team(practice=practice, prescribers=prescribers, nurses=nurses, registrar=(desk or nurses)[0])


def _populate(
    demo: DemoPractice, team: _Team, situations: list[Situation], *, seed: int, today: date, first_number: int
) -> None:
    seen: Counter[Situation] = Counter()
    names: set[tuple[str, str]] = set()
    for index, situation in enumerate(situations):
        number = first_number + index
        # One generator per patient: adding patients never changes the earlier ones.
        rng = random.Random(f"isotrack-demo:{seed}:{number}")
        patient = _register(team, rng, situation, number=number, seed=seed, today=today, names=names)
        micronized = situation.micronized if situation.micronized is not None else rng.random() < 0.15
        unit = situation.weight_unit or ("lb" if rng.random() < 0.15 else "kg")
        methods = situation.methods or (rng.choice(CONTRACEPTION_PAIRS) if situation.category == CGP else ())
        chart = _Chart(
            team, patient, rng, today=today, micronized=micronized, weight_unit=unit, methods=methods
        )
        chart.skip_baseline_labs = situation.skip_baseline_labs
        situation.build(chart, seen[situation])
        seen[situation] += 1
        chart.course.refresh_from_db(fields=["status", "end", "stop_reason"])  # changed by a dispense, an end
        demo.courses.setdefault(situation.key, []).append(chart.course)
        for kind in chart.taken:
            demo.incidents.setdefault(kind, []).append(chart.course)


def _register(
    team: _Team,
    rng: random.Random,
    situation: Situation,
    *,
    number: int,
    seed: int,
    today: date,
    names: set[tuple[str, str]],
) -> Patient:
    given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
    while (given, family) in names:  # no two demo patients of a practice share a name
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
    names.add((given, family))
    age = rng.choice((15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 29, 31, 34, 38, 42, 45))
    youngest_birth = _years_before(today, age)  # the latest birth date that makes the patient `age` today
    birth_date = youngest_birth - _days(rng.randint(0, 364))
    # IPL-CAT: the front desk registers the patient, a prescriber assigns the category
    patient = register_patient(
        actor=team.registrar,
        mrn=f"DEMO-{number:06d}",
        given_name=given,
        family_name=family,
        birth_date=birth_date,
        gender=_gender(situation.category, number, seed),
        ipledge_id=f"99{number:06d}{rng.randrange(100):02d}",  # 10 digits, obviously not an iPLEDGE number
        email=f"{given}.{family}.{number}@example.org".lower(),
        phone=f"555-01{number % 100:02d}",
        reminders_consent=rng.random() < 0.6,
    )
    if situation.category:
        set_patient_category(
            actor=team.prescribers[0], patient=patient, category=situation.category, reason=""
        )
    return patient


# The administrative gender registered, by the category the prescriber assigns (IPL-CAT is never derived from
# it; the demo only keeps the two plausible together): cumulative shares of each gender.
GENDER_SHARES = {
    CGP: (("female", 0.95), ("other", 0.98), ("male", 1.0)),
    CNGP: (("male", 0.8), ("female", 0.97), ("other", 1.0)),
    "": (("female", 0.5), ("male", 0.95), ("unknown", 1.0)),
}


def _gender(category: str, number: int, seed: int) -> str:
    """A patient's gender, drawn from its own generator: the patient's other draws stay as they were."""
    draw = random.Random(f"isotrack-demo:{seed}:{number}:gender").random()
    return next(gender for gender, share in GENDER_SHARES[category] if draw < share)


def synthetic_npi(serial: int) -> str:
    """A made-up NPI with a valid check digit (Luhn over the prefix 80840 and the first nine digits, as CMS
    computes it): 1999 followed by the serial, never a real prescriber's (an NPI starting 1999 is synthetic
    here only by convention: the demo's are not looked up anywhere)."""
    body = f"1999{serial:05d}"
    digits = [int(d) for d in "80840" + body]
    total = sum(sum(divmod(d * 2, 10)) if i % 2 == 0 else d for i, d in enumerate(reversed(digits)))
    return body + str((10 - total % 10) % 10)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def demo_logins() -> list[StaffLogin]:
    """The demo logins that exist in this database."""
    existing = set(
        StaffUser.objects.filter(username__in=[s.username for s in STAFF]).values_list("username", flat=True)
    )
    return [login for login in STAFF if login.username in existing]
