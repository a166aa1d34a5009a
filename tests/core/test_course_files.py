"""Table tests: every course file of tests/core/courses (this project's) and of ../shared/scenarios and
../shared/scenarios/medications (the public examples) runs through `isotrack evaluate` (in process) and must
match its `expect` block."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from isotrack.core.monitoring import ALERT_CODES
from isotrack.core.schedule import DUE_CODES
from isotrack.evaluate_command import run
from tests.core.answers import problems

COURSES = Path(__file__).resolve().parent / "courses"
SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"
MEDICATION_SCENARIOS = SCENARIOS / "medications"
BLOCKING_CODES = (
    "COURSE_CLOSED",
    "NOT_ENROLLED",
    "PREGNANCY_TEST_POSITIVE",
    "PREGNANCY_TEST_MISSING",
    "WINDOW_EXPIRED",
    "PREGNANCY_TEST_SETTING",
    "SCREENING_TEST_MISSING",
    "CONFIRMATION_TOO_EARLY",
    "CONTRACEPTION_INSUFFICIENT",
    "CONTRACEPTION_LEAD_IN",
    "LOCKOUT_19_DAY",
    "PRESCRIBER_CONFIRMATION_MISSING",
    "PATIENT_ATTESTATION_MISSING",
    "COUNSELING_MISSING",
)


def course_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def evaluate_file(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = run([str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content = json.loads(path.read_text())
    expect = content["expect"]
    status, out, err = evaluate_file(path, capsys)
    if "exit" in expect:
        assert status == expect["exit"], out
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        return
    assert status == 0, err
    found = problems(expect, json.loads(out), content.get("expect_alert_dates", {}))
    assert not found, f"{path.name}: {found}"


@pytest.mark.parametrize("path", course_files(COURSES), ids=lambda p: p.stem)
def test_each_project_course_file_gives_its_expected_answer(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(path, capsys)


@pytest.mark.parametrize(
    "path", course_files(SCENARIOS) + course_files(MEDICATION_SCENARIOS), ids=lambda p: p.stem
)
def test_each_public_scenario_gives_its_expected_answer(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(path, capsys)


def test_the_public_scenarios_are_there() -> None:
    assert SCENARIOS.is_dir(), f"{SCENARIOS} is missing"
    assert len(course_files(SCENARIOS)) >= 19
    assert len(course_files(MEDICATION_SCENARIOS)) >= 4


def test_the_spec_example_answer_is_reproduced_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = evaluate_file(SCENARIOS / "01-spec-example.json", capsys)
    assert status == 0
    assert json.loads(out) == {
        "as_of": "2026-07-20",
        "rules": "us-ipledge-2021",
        "phase": "active",
        "dispense": {
            "allowed": False,
            "window": {"opens": "2026-07-18", "closes": "2026-07-24"},
            "blocking": ["PATIENT_ATTESTATION_MISSING"],
        },
        "dose": {
            "cumulative_mg": 2400.0,
            "cumulative_mg_per_kg": 38.71,
            "conventional_equivalent_mg": 2400.0,
            "target_mg_per_kg": 150,
            "remaining_mg": 6900.0,
            "current_mg_per_day": 60,
            "current_mg_per_kg_per_day": 0.97,
            "projected_completion_date": "2026-11-12",
        },
        "alerts": [
            {"code": "TRIGLYCERIDES_HIGH", "date": "2026-07-18", "detail": "520 mg/dL, at or above 500"}
        ],
        "due": [
            {"code": "NEXT_DISPENSE", "date": "2026-07-29"},
            {"code": "PREGNANCY_TEST_MONTHLY", "date": "2026-07-29"},
            {"code": "LABS_PEAK_DOSE", "date": "2026-07-29"},
        ],
        "explanations": [
            "The patient has not answered this month's comprehension questions (IPL-PATIENT-QUIZ).",
            "Triglycerides 520 mg/dL on 2026-07-18 are at or above 500: consider a lower dose (LAB-TG-HIGH).",
        ],
    }


def expectations() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in course_files(COURSES)]


def test_the_project_course_files_cover_every_blocking_alert_and_due_code() -> None:
    blocking: set[str] = set()
    alerts: set[str] = set()
    due: set[str] = set()
    phases: set[str] = set()
    rules: set[str] = set()
    for content in expectations():
        expect = content["expect"]
        blocking |= set(expect.get("dispense.blocking", [])) | set(
            expect.get("dispense.blocking_includes", [])
        )
        alerts |= {a["code"] if isinstance(a, dict) else a for a in expect.get("alerts_include", [])}
        due |= {d["code"] for d in expect.get("due_include", [])}
        phases |= {expect["phase"]} if "phase" in expect else set()
        rules |= {expect["rules"]} if "rules" in expect else set()
    assert blocking == set(BLOCKING_CODES)
    assert alerts == set(ALERT_CODES)
    assert due == set(DUE_CODES)
    assert phases == {"qualifying", "active", "post_course", "completed", "stopped"}
    assert rules == {"us-ipledge-2021", "us-ipledge-2026"}


def test_the_project_course_files_cover_both_categories_weight_bases_and_products() -> None:
    contents = expectations()
    assert {c["patient"]["category"] for c in contents} == {"can_get_pregnant", "cannot_get_pregnant"}
    assert {c.get("policy", {}).get("weight_basis", "baseline") for c in contents} == {"baseline", "daily"}
    assert {s["product"] for c in contents for s in c["doses"]} == {"conventional", "micronized"}


def test_the_project_course_files_are_not_copies_of_the_public_ones() -> None:
    public = {p.read_text() for p in course_files(SCENARIOS) + course_files(MEDICATION_SCENARIOS)}
    assert not public & {p.read_text() for p in course_files(COURSES)}
