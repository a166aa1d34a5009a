"""Course files for tests, built as dataclasses, and hypothesis strategies for random but possible courses."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from isotrack.core import (
    DOSE_CHANGE_REASONS,
    MEDICATION_CLASSES,
    ContraceptionUse,
    Course,
    CourseFile,
    Dispense,
    DoseSegment,
    Enrollment,
    Interruption,
    LabResult,
    Medication,
    MoodScreen,
    Patient,
    PatientAttestation,
    Policy,
    PregnancyTest,
    PrescriberConfirmation,
    Visit,
    Weight,
)

DAY = dt.timedelta(days=1)
START = dt.date(2025, 9, 8)


def days(n: int) -> dt.timedelta:
    return n * DAY


def simple_course(**changes: object) -> CourseFile:
    """A course that can get pregnant, 58 kg, 30 mg/day from START, ready for its first fill on START - 3."""
    base = CourseFile(
        as_of=START - days(3),
        patient=Patient("can_get_pregnant", dt.date(2007, 2, 11)),
        course=Course(START),
        weights=(Weight(START - days(14), 58.0),),
        doses=(DoseSegment(START, 30, "conventional"),),
        contraception=(
            ContraceptionUse("combined_pill", START - days(100)),
            ContraceptionUse("male_condom", START - days(100)),
        ),
        events=(
            Enrollment(START - days(42)),
            PregnancyTest(START - days(41), "screening", "office", "negative"),
            LabResult(START - days(14), "triglycerides", 98, "mg/dL"),
            LabResult(START - days(14), "alt", 19, "U/L"),
            PregnancyTest(START - days(6), "confirmation", "lab", "negative"),
            PrescriberConfirmation(START - days(6)),
            PatientAttestation(START - days(5)),
        ),
    )
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    fields.update(changes)
    return CourseFile(**fields)  # type: ignore[arg-type]


products = st.sampled_from(["conventional", "micronized"])
dose_change_reasons = st.none() | st.sampled_from(list(DOSE_CHANGE_REASONS))
offsets = st.integers(min_value=0, max_value=200)


@st.composite
def dose_courses(draw: st.DrawFn, with_end: bool = True) -> CourseFile:
    """Random dose histories: segments (with or without a reason), holds, missed doses, weights, both bases,
    both products."""
    start = START + days(draw(st.integers(-30, 30)))
    segment_days = sorted(set(draw(st.lists(offsets, max_size=4)) + [0]))
    doses = tuple(
        DoseSegment(
            start + days(d),
            draw(st.sampled_from([8, 10, 20, 24, 30, 32, 40, 60, 80, 22.5])),
            draw(products),
            draw(dose_change_reasons),
        )
        for d in segment_days
    )
    holds = []
    for first in draw(st.lists(offsets, max_size=3)):
        holds.append(Interruption(start + days(first), start + days(first + draw(st.integers(0, 12)))))
    missed = tuple(start + days(d) for d in draw(st.lists(offsets, max_size=4)))
    weight_days = sorted(set(draw(st.lists(st.integers(-40, 200), min_size=1, max_size=3))))
    weights = tuple(
        Weight(start + days(d), draw(st.sampled_from([38.5, 50.0, 58.0, 62.3, 75.0, 91.7])))
        for d in weight_days
    )
    end = start + days(draw(st.integers(0, 260))) if with_end and draw(st.booleans()) else None
    return CourseFile(
        patient=Patient("can_get_pregnant"),
        course=Course(start, end),
        policy=Policy(
            weight_basis=draw(st.sampled_from(["baseline", "daily"])),
            target_mg_per_kg=draw(st.sampled_from([120, 150, 30, 220])),
        ),
        weights=weights,
        doses=doses,
        interruptions=tuple(holds),
        missed_doses=missed,
    )


dates = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31))
texts = st.text(alphabet="abcdefghijklmnopqrstuvwxyz -", min_size=1, max_size=12).filter(
    lambda t: t.strip() != ""
)


@st.composite
def medications(draw: st.DrawFn, around: dt.date, max_size: int = 3) -> tuple[Medication, ...]:
    """Other medicines of every class (MED-TETRA, MED-VITA, MED-INDUCER, other), each from a day around
    ``around`` (before it too), ongoing or ending up to 90 days later."""
    found = []
    for _ in range(draw(st.integers(0, max_size))):
        start = around + days(draw(st.integers(-60, 150)))
        end = draw(st.none() | st.integers(0, 90).map(lambda n, start=start: start + days(n)))
        name = draw(st.sampled_from(["doxycycline", "retinol", "carbamazepine", "sertraline"]) | texts)
        found.append(Medication(name, draw(st.sampled_from(MEDICATION_CLASSES)), start, end))
    return tuple(found)


@st.composite
def any_course_files(draw: st.DrawFn) -> CourseFile:
    """Random possible course files with every kind of record (for round trips)."""
    base = draw(dose_courses())
    when = draw(dates)
    events = [
        Enrollment(when),
        PregnancyTest(
            draw(dates),
            draw(st.sampled_from(["screening", "monthly"])),
            "office",
            "negative",
            draw(st.none() | texts),
        ),
        PrescriberConfirmation(draw(dates)),
        PatientAttestation(draw(dates)),
        Dispense(
            draw(dates),
            draw(st.integers(1, 30)),
            draw(st.none() | st.just(40)),
            draw(st.none() | products),
            draw(st.none() | texts),
        ),
        Visit(draw(dates)),
        LabResult(
            draw(dates),
            draw(st.sampled_from(["triglycerides", "alt", "ferritin"])),
            draw(st.integers(0, 900)),
            "mg/dL" if False else "U/L",
            draw(st.none() | st.just(35)),
        ),
        MoodScreen(draw(dates), "phq9", draw(st.integers(3, 27)), draw(st.none() | st.integers(0, 3))),
    ]
    events = [e for e in events if not (isinstance(e, LabResult) and e.test == "triglycerides")]
    return CourseFile(
        as_of=draw(st.none() | dates),
        rules=draw(st.sampled_from(["auto", "us-ipledge-2021", "us-ipledge-2026"])),
        policy=Policy(
            target_mg_per_kg=base.policy.target_mg_per_kg,
            weight_basis=base.policy.weight_basis,
            home_testing_permitted=draw(st.booleans()),
            ld_equivalence_factor=draw(st.sampled_from([1.25, 1.2, 1.0])),
            ipledge_2026_effective=draw(dates),
        ),
        patient=Patient(
            draw(st.sampled_from(["can_get_pregnant", "cannot_get_pregnant"])),
            draw(st.none() | st.just(dt.date(2006, 1, 2))),
        ),
        course=base.course,
        weights=base.weights,
        doses=base.doses,
        interruptions=tuple(
            Interruption(i.start, i.end, draw(st.none() | texts)) for i in base.interruptions
        ),
        missed_doses=base.missed_doses,
        contraception=(ContraceptionUse("implant", when, draw(st.none() | st.just(when + days(40)))),),
        events=tuple(draw(st.permutations(events))),
        medications=draw(medications(base.course.start)),
        reported_self_harm=tuple(
            base.course.start + days(n) for n in draw(st.lists(st.integers(-30, 150), max_size=2))
        ),
    )
