"""Benchmark of the pure core: `make bench` (or `.venv/bin/python bench/evaluate.py`).

Targets: the median evaluation of a typical 6-month course <= 100 us; 10,000 synthetic courses evaluated in
one process < 2 s. Prints plain figures (per-course time, peak memory by tracemalloc) and exits 1 if a
target is
missed.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
import tracemalloc

from isotrack.core import (
    ContraceptionUse,
    Course,
    CourseFile,
    Dispense,
    DoseSegment,
    Enrollment,
    Event,
    Interruption,
    LabResult,
    MoodScreen,
    Patient,
    PatientAttestation,
    Policy,
    PregnancyTest,
    PrescriberConfirmation,
    Visit,
    Weight,
    evaluate,
)

MEDIAN_TARGET_US = 100.0
BATCH_TARGET_S = 2.0
BATCH_SIZE = 10_000
DAY = dt.timedelta(days=1)


def six_month_course(start: dt.date, rng: random.Random | None = None) -> CourseFile:
    """A course that can get pregnant, six monthly cycles in: ~45 events, three dose segments, a hold."""
    rng = rng or random.Random(0)
    kg = rng.choice([52.0, 61.5, 70.0, 84.2])
    events: list[Event] = [
        Enrollment(start - 40 * DAY),
        PregnancyTest(start - 39 * DAY, "screening", "office", "negative"),
        LabResult(start - 30 * DAY, "triglycerides", 110.0, "mg/dL"),
        LabResult(start - 30 * DAY, "alt", 21.0, "U/L"),
        PregnancyTest(start - 4 * DAY, "confirmation", "lab", "negative"),
        PrescriberConfirmation(start - 4 * DAY),
        PatientAttestation(start - 3 * DAY),
        Dispense(start - 2 * DAY, 30),
    ]
    for month in range(1, 6):
        test_day = start + (30 * month - 3) * DAY
        events += [
            Visit(test_day),
            PregnancyTest(test_day, "monthly", rng.choice(["lab", "office"]), "negative"),
            PrescriberConfirmation(test_day),
            PatientAttestation(test_day + DAY),
            Dispense(test_day + 2 * DAY, 30),
            LabResult(test_day, "triglycerides", rng.uniform(90, 620), "mg/dL"),
            LabResult(test_day, "alt", rng.uniform(15, 140), "U/L"),
            MoodScreen(test_day, "phq9", rng.randint(0, 12), rng.randint(0, 1)),
        ]
    return CourseFile(
        patient=Patient("can_get_pregnant", dt.date(2004, 3, 1)),
        course=Course(start, None),
        policy=Policy(weight_basis=rng.choice(["baseline", "daily"])),
        weights=(Weight(start - 30 * DAY, kg), Weight(start + 90 * DAY, kg * rng.uniform(0.95, 1.12))),
        doses=(
            DoseSegment(start, 40, "conventional"),
            DoseSegment(start + 30 * DAY, rng.choice([60, 80]), "conventional"),
            DoseSegment(start + 120 * DAY, rng.choice([32, 40]), rng.choice(["conventional", "micronized"])),
        ),
        interruptions=(Interruption(start + 70 * DAY, start + 76 * DAY, "nosebleeds"),),
        missed_doses=(start + 12 * DAY, start + 101 * DAY),
        contraception=(
            ContraceptionUse("implant", start - 90 * DAY),
            ContraceptionUse("male_condom", start - 90 * DAY),
        ),
        events=tuple(events),
    )


def median_us(course_file: CourseFile, day: dt.date, rounds: int = 2000) -> float:
    for _ in range(200):
        evaluate(course_file, day)
    samples = []
    for _ in range(rounds):
        began = time.perf_counter_ns()
        evaluate(course_file, day)
        samples.append(time.perf_counter_ns() - began)
    return statistics.median(samples) / 1000


def batch(courses: list[tuple[CourseFile, dt.date]]) -> float:
    began = time.perf_counter()
    for course_file, day in courses:
        evaluate(course_file, day).to_dict()
    return time.perf_counter() - began


def main() -> int:
    start = dt.date(2026, 3, 2)
    typical = six_month_course(start)
    day = start + 170 * DAY
    median = median_us(typical, day)
    rng = random.Random(2026)
    courses = []
    for _ in range(BATCH_SIZE):
        first = dt.date(2022, 1, 3) + rng.randrange(1500) * DAY
        courses.append((six_month_course(first, rng), first + rng.randrange(-20, 200) * DAY))
    seconds = batch(courses)
    tracemalloc.start()
    evaluate(typical, day).to_dict()
    _, peak_one = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    batch(courses[:1000])
    _, peak_batch = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        f"typical 6-month course: median {median:.1f} us per evaluation (target <= {MEDIAN_TARGET_US:.0f} us)"
    )
    print(
        f"{BATCH_SIZE} synthetic courses: {seconds:.3f} s, {seconds / BATCH_SIZE * 1e6:.1f} us per course "
        f"with to_dict (target < {BATCH_TARGET_S:.0f} s)"
    )
    print(f"peak memory: {peak_one / 1024:.1f} KiB for one evaluation, {peak_batch / 1024:.1f} KiB over 1000")
    missed = median > MEDIAN_TARGET_US or seconds >= BATCH_TARGET_S
    print("targets missed" if missed else "targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
