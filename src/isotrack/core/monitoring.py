"""Alerts: findings that need a clinician (spec "Alert vocabulary"): labs, mood screens, dose, weight,
baseline labs, a positive pregnancy test and the patient's other medicines. Thresholds marked ⚙ in
reference.md come from the practice's Policy.

Decisions where the spec is silent:

- "The latest result" (spec clarification "several results on one day"): the results of the latest date;
  when a date has several results of one test, the worst of them is judged (highest triglycerides, highest
  ALT, highest AST), whatever their order. Mood screens: a PHQ-9 of that date decides over a PHQ-2 (the
  PHQ-2 called for it); of several of one instrument, the highest score.
- LIVER_ENZYMES_HIGH is one alert even when both ALT and AST are high; it is dated the later of the high
  results and its detail names each of them. A result's own ``uln`` wins over the policy default.
- Lab values in mmol/L are converted to mg/dL for thresholds: triglycerides x 88.57 (LAB-TG-HIGH); the other
  lipids (cholesterol, HDL, LDL) x 38.67 (the molar mass of cholesterol, 386.7 g/mol; not in reference.md, and
  no alert uses it: it is for display).
- BASELINE_LABS_MISSING is dated the first dispense; DOSE_ABOVE_MAXIMUM compares the labeled mg/kg/day of the
  current segment (the figure reported as ``current_mg_per_kg_per_day``) with the labeled maximum of its
  product.
- The medication alerts (TETRACYCLINE_IN_USE, VITAMIN_A_IN_USE, HORMONAL_METHOD_WEAKENED) read the class the
  course file gives each medication, and the spec's dating: each is listed once, dated by the earliest
  medication (or medication and method) that meets it. A tetracycline or vitamin A alert is dated the later of
  the medication's ``from`` and ``course.start`` but never after the day: before a planned start it is dated
  the day itself. Its detail names every medication that meets it, earliest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from isotrack.core.course import (
    HORMONAL_METHODS,
    ContraceptionUse,
    CourseFile,
    LabResult,
    Medication,
    MoodScreen,
    Policy,
)
from isotrack.core.dose import MAXIMUM_MG_PER_KG_PER_DAY, DoseReport
from isotrack.core.history import History
from isotrack.core.quantities import TOLERANCE, format_number
from isotrack.core.rules.ipledge import IPL_PT_POSITIVE

if TYPE_CHECKING:
    from isotrack.core.evaluate import Phase

TRIGLYCERIDES_MG_DL_PER_MMOL_L = 88.57  # LAB-TG-HIGH units: 1 mmol/L = 88.57 mg/dL
CHOLESTEROL_MG_DL_PER_MMOL_L = 38.67  # cholesterol, HDL, LDL (see the module docstring)
PHQ2_POSITIVE = 3  # MOOD: PHQ-2 >= 3 -> do a PHQ-9
PHQ9_POSITIVE = 10  # MOOD: PHQ-9 >= 10 is clinically significant
WEIGHT_CHANGE_FRACTION = 0.10  # spec WEIGHT_CHANGED: 10 % or more from the baseline weight (DOSE-WEIGHT)
DOSE_MAX = "DOSE-MAX"  # proposed id: reference.md section 2, the "max" column of the product table
# Spec TETRACYCLINE_IN_USE, VITAMIN_A_IN_USE: while isotretinoin is taken or about to be (MED-TETRA,
# MED-VITA).
DRUG_PHASES: frozenset[str] = frozenset({"qualifying", "active"})
# Spec HORMONAL_METHOD_WEAKENED: while contraception is required (MED-INDUCER, IPL-CON-2).
CONTRACEPTION_PHASES: frozenset[str] = frozenset({"qualifying", "active", "post_course"})
HORMONAL_METHOD_WORDS: dict[str, str] = {
    "combined_pill": "the combined pill",
    "patch": "the patch",
    "vaginal_ring": "the vaginal ring",
    "implant": "the implant",
    "injection": "the injection",
    "iud_hormonal": "the hormonal IUD",
    "progestin_only_pill": "the progestin-only pill",
}

ALERT_CODES: tuple[str, ...] = (
    "TRIGLYCERIDES_HIGH",
    "TRIGLYCERIDES_CRITICAL",
    "LIVER_ENZYMES_HIGH",
    "MOOD_SCREEN_POSITIVE",
    "SELF_HARM_RISK",
    "DOSE_ABOVE_MAXIMUM",
    "TARGET_REACHED",
    "WEIGHT_CHANGED",
    "BASELINE_LABS_MISSING",
    "PREGNANCY_TEST_POSITIVE",
    "TETRACYCLINE_IN_USE",
    "VITAMIN_A_IN_USE",
    "HORMONAL_METHOD_WEAKENED",
)
# isotrack's own alert (not the spec's vocabulary): read only from the extension ``reported_self_harm``.
SELF_HARM_REPORTED = "SELF_HARM_REPORTED"


@dataclass(frozen=True, slots=True)
class Alert:
    code: str
    date: dt.date
    detail: str
    rule_id: str
    explanation: str


def lipid_mg_dl(result: LabResult) -> float:
    """A lipid result in mg/dL."""
    if result.unit != "mmol/L":
        return result.value
    if result.test == "triglycerides":
        return result.value * TRIGLYCERIDES_MG_DL_PER_MMOL_L
    return result.value * CHOLESTEROL_MG_DL_PER_MMOL_L


def alerts(course_file: CourseFile, history: History, dose: DoseReport, phase: Phase) -> tuple[Alert, ...]:
    """Every alert on the day (``history.day``, in the course's ``phase`` that day), in the order of the
    spec's vocabulary."""
    policy = course_file.policy
    day = history.day
    found = [
        triglycerides_alert(history.labs, policy),
        liver_alert(history.labs, policy),
        *mood_alerts(history.mood_screens),
        dose_above_maximum(dose),
        target_reached(dose),
        weight_changed(dose),
        baseline_labs_missing(history),
        pregnancy_test_positive(history),
        tetracycline_in_use(course_file, day, phase),
        vitamin_a_in_use(course_file, day, phase),
        hormonal_method_weakened(course_file, day, phase),
        self_harm_reported(course_file, day),
    ]
    return tuple(a for a in found if a is not None)


def self_harm_reported(course_file: CourseFile, day: dt.date) -> Alert | None:
    """MOOD, from the patient's own check-in: thoughts of self-harm reported (PHQ-9 item 9 above 0) and not
    yet confirmed or corrected by a clinician; dated the latest such report on or before the day (a new
    report is a new alert). It asks for a call the same day; the answer is not a mood screen until confirmed,
    so it holds nothing (SELF_HARM_RISK does, once confirmed)."""
    reported = [d for d in course_file.reported_self_harm if d <= day]
    if not reported:
        return None
    latest = max(reported)
    return Alert(
        SELF_HARM_REPORTED,
        latest,
        "reported by the patient at check-in",
        "MOOD",
        f"At the check-in of {latest} the patient reported thoughts of self-harm (PHQ-9 item 9 above 0), "
        "not yet confirmed by a clinician: call the patient today for a safety assessment (MOOD).",
    )


def latest_of(results: Iterable[LabResult], test: str) -> list[LabResult]:
    """The results of one test on its latest date."""
    matching = [r for r in results if r.test == test]
    if not matching:
        return []
    last = max(r.date for r in matching)
    return [r for r in matching if r.date == last]


def triglycerides_alert(labs: Sequence[LabResult], policy: Policy) -> Alert | None:
    """LAB-TG-HIGH / LAB-TG-CRIT on the latest triglycerides result; only one of the two."""
    latest = latest_of(labs, "triglycerides")
    if not latest:
        return None
    worst = max(latest, key=lipid_mg_dl)
    mg_dl = lipid_mg_dl(worst)
    if mg_dl >= policy.triglycerides_critical_mg_dl:
        code, rule, limit = "TRIGLYCERIDES_CRITICAL", "LAB-TG-CRIT", policy.triglycerides_critical_mg_dl
        advice = "hold the drug, there is a risk of pancreatitis"
    elif mg_dl >= policy.triglycerides_high_mg_dl:
        code, rule, limit = "TRIGLYCERIDES_HIGH", "LAB-TG-HIGH", policy.triglycerides_high_mg_dl
        advice = "consider a lower dose"
    else:
        return None
    measured = f"{format_number(mg_dl)} mg/dL"
    if worst.unit == "mmol/L":
        measured += f" ({format_number(worst.value, 2)} mmol/L)"
    return Alert(
        code,
        worst.date,
        f"{measured}, at or above {format_number(limit)}",
        rule,
        f"Triglycerides {measured} on {worst.date} are at or above {format_number(limit)}: {advice} "
        f"({rule}).",
    )


def liver_alert(labs: Sequence[LabResult], policy: Policy) -> Alert | None:
    """LAB-LFT-HIGH: the latest ALT or the latest AST above 3 x ULN (⚙ default ULN 40 U/L)."""
    high: list[tuple[LabResult, float]] = []
    for test in ("alt", "ast"):
        for result in latest_of(labs, test):
            uln = result.uln if result.uln is not None else policy.liver_uln_u_per_l
            if result.value > policy.liver_uln_multiple * uln:
                high.append((result, uln))
                break
    if not high:
        return None
    parts = [
        f"{r.test.upper()} {format_number(r.value)} U/L on {r.date} is above "
        f"{format_number(policy.liver_uln_multiple)} x the upper limit of normal ({format_number(uln)} U/L)"
        for r, uln in high
    ]
    return Alert(
        "LIVER_ENZYMES_HIGH",
        max(r.date for r, _ in high),
        "; ".join(parts),
        "LAB-LFT-HIGH",
        f"{' and '.join(parts)}: review the liver tests and the dose (LAB-LFT-HIGH).",
    )


def phq9_called_for(phq2_score: int) -> bool:
    """MOOD: a PHQ-2 of 3 or more calls for a PHQ-9 (a check-in then asks its other seven questions)."""
    return phq2_score >= PHQ2_POSITIVE


def deciding_screen(screens: Sequence[MoodScreen]) -> MoodScreen | None:
    """The mood screen that decides (spec clarification "several results on one day"): of the screens of the
    latest date, a PHQ-9 decides over a PHQ-2 (the PHQ-2 was the screen that called for it); of several of
    one instrument, the highest score (on a tie, the highest item 9)."""
    if not screens:
        return None
    last = max(s.date for s in screens)
    latest = [s for s in screens if s.date == last]
    pool = [s for s in latest if s.instrument == "phq9"] or latest
    return max(pool, key=lambda s: (s.score, s.item9 or 0))


def mood_alerts(screens: Sequence[MoodScreen]) -> list[Alert]:
    """MOOD on the deciding screen of the latest date: positive (PHQ-2 >= 3, PHQ-9 >= 10); a PHQ-9 item 9
    above 0 (thoughts of self-harm)."""
    screen = deciding_screen(screens)
    if screen is None:
        return []
    found = []
    name = "PHQ-9" if screen.instrument == "phq9" else "PHQ-2"
    threshold = PHQ9_POSITIVE if screen.instrument == "phq9" else PHQ2_POSITIVE
    if screen.score >= threshold:
        next_step = "assess depression and mood" if screen.instrument == "phq9" else "do a PHQ-9"
        found.append(
            Alert(
                "MOOD_SCREEN_POSITIVE",
                screen.date,
                f"{name} score {screen.score}",
                "MOOD",
                f"The {name} mood screen of {screen.date} is positive (score {screen.score}): {next_step} "
                "(MOOD).",
            )
        )
    if screen.instrument == "phq9" and (screen.item9 or 0) > 0:
        found.append(
            Alert(
                "SELF_HARM_RISK",
                screen.date,
                f"PHQ-9 item 9 = {screen.item9}",
                "MOOD",
                f"The PHQ-9 of {screen.date} reports thoughts of self-harm (item 9 = {screen.item9}): assess "
                "the patient the same day (MOOD).",
            )
        )
    return found


def dose_above_maximum(dose: DoseReport) -> Alert | None:
    """Reference.md section 2: above 2 mg/kg/day (1.6 for micronized, DOSE-LD); dated the segment's start."""
    segment = dose.current_segment
    per_kg = dose.current_mg_per_kg_per_day
    if segment is None or per_kg is None:
        return None
    limit = MAXIMUM_MG_PER_KG_PER_DAY[segment.product]
    if per_kg <= limit + TOLERANCE:
        return None
    figures = f"{format_number(segment.mg_per_day)} mg/day is {format_number(per_kg, 2)} mg/kg/day"
    return Alert(
        "DOSE_ABOVE_MAXIMUM",
        segment.start,
        f"{figures}, above {format_number(limit)} ({segment.product})",
        DOSE_MAX,
        f"The dose of {figures}, above the maximum of {format_number(limit)} mg/kg/day for a "
        f"{segment.product} "
        f"product ({DOSE_MAX}).",
    )


def target_reached(dose: DoseReport) -> Alert | None:
    """DOSE-TARGET: dated the day the cumulative dose reached it."""
    if dose.target_reached_on is None:
        return None
    target = format_number(dose.target_mg_per_kg)
    return Alert(
        "TARGET_REACHED",
        dose.target_reached_on,
        f"{target} mg/kg reached",
        "DOSE-TARGET",
        f"The cumulative dose reached the target of {target} mg/kg on {dose.target_reached_on}: review "
        "whether to "
        "end the course (DOSE-TARGET).",
    )


def weight_changed(dose: DoseReport) -> Alert | None:
    """DOSE-WEIGHT: the latest weight 10 % or more away from the baseline weight; dated that weight."""
    base, latest = dose.baseline_weight, dose.latest_weight
    if base is None or latest is None or latest.date == base.date:
        return None
    change = (latest.kg - base.kg) / base.kg
    if abs(change) < WEIGHT_CHANGE_FRACTION - TOLERANCE:
        return None
    detail = (
        f"{format_number(latest.kg)} kg, {format_number(change * 100)} % from {format_number(base.kg)} kg"
    )
    return Alert(
        "WEIGHT_CHANGED",
        latest.date,
        detail,
        "DOSE-WEIGHT",
        f"The weight of {format_number(latest.kg)} kg on {latest.date} differs from the baseline weight of "
        f"{format_number(base.kg)} kg by 10 % or more: review the dose per kg (DOSE-WEIGHT).",
    )


def baseline_labs_missing(history: History) -> Alert | None:
    """LAB-BASE: triglycerides and ALT dated on or before the first dispense."""
    first = history.first_dispense
    if first is None:
        return None
    missing = [
        name
        for test, name in (("triglycerides", "triglycerides"), ("alt", "ALT"))
        if not any(r.test == test and r.date <= first.date for r in history.labs)
    ]
    if not missing:
        return None
    names = " and ".join(missing)
    return Alert(
        "BASELINE_LABS_MISSING",
        first.date,
        f"no baseline {names}",
        "LAB-BASE",
        f"There is no baseline {names} result on or before the first dispense on {first.date} (LAB-BASE).",
    )


def pregnancy_test_positive(history: History) -> Alert | None:
    positives = history.positive_tests
    if not positives:
        return None
    first = positives[0]
    return Alert(
        "PREGNANCY_TEST_POSITIVE",
        first.date,
        f"{first.purpose.replace('_', '-')} test positive",
        IPL_PT_POSITIVE,
        f"The pregnancy test of {first.date} is positive: stop the drug at once, refer to an obstetrician "
        "and "
        f"report to the iPLEDGE pregnancy registry and FDA MedWatch ({IPL_PT_POSITIVE}).",
    )


def taken_on(course_file: CourseFile, medication_class: str, day: dt.date) -> list[Medication]:
    """The medications of a class whose period (``to`` inclusive) includes the day, earliest first."""
    return sorted(
        (
            m
            for m in course_file.medications
            if m.medication_class == medication_class and m.start <= day and (m.end is None or day <= m.end)
        ),
        key=lambda m: (m.start, m.name),
    )


def _periods(items: Sequence[Medication]) -> str:
    return ", ".join(f"{m.name} from {m.start}" + (f" to {m.end}" if m.end else "") for m in items)


def _drug_alert_date(first: Medication, course_file: CourseFile, day: dt.date) -> dt.date:
    """Spec: the later of the medication's ``from`` and ``course.start``, but never after the day."""
    return min(day, max(first.start, course_file.course.start))


def tetracycline_in_use(course_file: CourseFile, day: dt.date, phase: Phase) -> Alert | None:
    """MED-TETRA: a tetracycline taken on the day, phase qualifying or active (pseudotumor cerebri)."""
    taken = taken_on(course_file, "tetracycline", day) if phase in DRUG_PHASES else []
    if not taken:
        return None
    periods = _periods(taken)
    return Alert(
        "TETRACYCLINE_IN_USE",
        _drug_alert_date(taken[0], course_file, day),
        periods,
        "MED-TETRA",
        f"A tetracycline is taken during the isotretinoin course ({periods}): together they can raise the "
        "pressure inside the skull (pseudotumor cerebri); stop the tetracycline or hold isotretinoin, and "
        "ask about headache and vision (MED-TETRA).",
    )


def vitamin_a_in_use(course_file: CourseFile, day: dt.date, phase: Phase) -> Alert | None:
    """MED-VITA: a vitamin A supplement taken on the day, phase qualifying or active (additive toxicity)."""
    taken = taken_on(course_file, "vitamin_a", day) if phase in DRUG_PHASES else []
    if not taken:
        return None
    periods = _periods(taken)
    return Alert(
        "VITAMIN_A_IN_USE",
        _drug_alert_date(taken[0], course_file, day),
        periods,
        "MED-VITA",
        f"A vitamin A supplement is taken during the isotretinoin course ({periods}): their toxicity adds "
        "up; stop the supplement (MED-VITA).",
    )


def hormonal_method_weakened(course_file: CourseFile, day: dt.date, phase: Phase) -> Alert | None:
    """MED-INDUCER: a patient who can get pregnant takes an enzyme inducer on the day while a hormonal method
    is in use, phase qualifying, active or post-course; dated the later of the two starts, of the pair whose
    later start is the earliest. The methods entered still count (no blocking reason changes)."""
    if course_file.patient.category != "can_get_pregnant" or phase not in CONTRACEPTION_PHASES:
        return None
    inducers = taken_on(course_file, "enzyme_inducer", day)
    methods = sorted(
        (
            c
            for c in course_file.contraception
            if c.method in HORMONAL_METHODS and c.start <= day and (c.end is None or day <= c.end)
        ),
        key=lambda c: (c.start, c.method),
    )
    if not inducers or not methods:
        return None
    date = min(max(i.start, c.start) for i in inducers for c in methods)
    weakened = _method_words(methods)
    names = list(dict.fromkeys(i.name for i in inducers))
    named = ", ".join(names) + (", an enzyme inducer," if len(names) == 1 else ", enzyme inducers,")
    return Alert(
        "HORMONAL_METHOD_WEAKENED",
        date,
        f"{_periods(inducers)} with {weakened}",
        "MED-INDUCER",
        f"{named[:1].upper()}{named[1:]} can make {weakened} less effective: counsel the "
        "patient and prefer a non-hormonal primary method while it lasts; the two methods entered still "
        "count (MED-INDUCER).",
    )


def _method_words(methods: Sequence[ContraceptionUse]) -> str:
    words = list(dict.fromkeys(HORMONAL_METHOD_WORDS[c.method] for c in methods))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
