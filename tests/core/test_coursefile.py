"""The course file: clear errors naming the field, impossible histories rejected, and parse(dump(x)) == x."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from isotrack.core import CourseFile, CourseFileError, check_history, dump_course_file, parse_course_file
from tests.core.builders import any_course_files, simple_course

EXAMPLE = json.loads((Path(__file__).parent / "courses" / "001-first-fill-allowed.json").read_text())


def changed(path: str, value: object) -> dict[str, Any]:
    """The example with one value replaced (a path like events[1].setting); value ... removes the key."""
    data = copy.deepcopy(EXAMPLE)
    node: Any = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is ...:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


ERRORS = [
    ("events.4.date", "2025-02-30", "events[4].date: 2025-02-30 is not a valid date"),
    ("events.4.date", "2025/09/02", "events[4].date: expected a date as YYYY-MM-DD, got '2025/09/02'"),
    ("events.4.setting", "car", "events[4].setting: 'car' is not one of: lab, office, home"),
    ("events.4.result", ..., "events[4].result: is required"),
    ("events.0.type", "phone_call", "events[0].type: 'phone_call' is not one of:"),
    (
        "patient.category",
        "female",
        "patient.category: 'female' is not one of: can_get_pregnant, cannot_get_pregnant",
    ),
    ("patient", ..., "patient: is required"),
    ("course.start", None, "course.start: is required"),
    ("course.end", "2025-09-01", "course.end: 2025-09-01 is before the course start 2025-09-08"),
    ("doses.0.from", "2025-09-07", "doses[0].from: 2025-09-07 is before the course start 2025-09-08"),
    ("doses.0.mg_per_day", 0, "doses[0].mg_per_day: 0 must be above 0"),
    ("doses.0.mg_per_day", True, "doses[0].mg_per_day: expected a number, got true"),
    ("doses.0.product", "absorica", "doses[0].product: 'absorica' is not one of: conventional, micronized"),
    (
        "doses.0.reason",
        "dry lips",
        "doses[0].reason: 'dry lips' is not one of: side_effects, lab_result, weight_change, planned, other",
    ),
    ("doses.0.reason", 3, "doses[0].reason: 3 is not one of: side_effects"),
    ("weights.0.kg", -3, "weights[0].kg: -3 must be above 0"),
    ("weights.0.kg", 1e-320, "weights[0].kg: 1e-320 is not a body weight: 1-1000 kg"),
    ("doses.0.mg_per_day", 1e308, "doses[0].mg_per_day: 1e+308 is more than 1,000"),
    ("policy.target_mg_per_kg", 5000, "policy.target_mg_per_kg: 5000 is more than 1,000"),
    ("policy.ld_equivalence_factor", 1e300, "policy.ld_equivalence_factor: 1e+300 is more than 10"),
    ("policy.labs_peak_days", 10**15, "policy.labs_peak_days: 1000000000000000 is outside 1-365 days"),
    ("as_of", "9999-12-31", "as_of: 9999-12-31 is outside the dates isotrack evaluates"),
    ("contraception.0.from", "0001-01-01", "contraception[0].from: 0001-01-01 is outside the dates"),
    ("weights", {"kg": 3}, "weights: expected a list, got an object"),
    ("policy.weight_basis", "monthly", "policy.weight_basis: 'monthly' is not one of: baseline, daily"),
    (
        "policy.home_testing_permitted",
        "yes",
        "policy.home_testing_permitted: expected true or false, got 'yes'",
    ),
    (
        "policy.ipledge_2026_effective",
        "2026-13-01",
        "policy.ipledge_2026_effective: 2026-13-01 is not a valid date",
    ),
    (
        "rules",
        "us-ipledge-2030",
        "rules: 'us-ipledge-2030' is not one of: auto, us-ipledge-2021, us-ipledge-2026",
    ),
    ("as_of", 20250905, "as_of: expected a date as YYYY-MM-DD, got 20250905"),
    (
        "contraception.0.to",
        "2025-05-01",
        "contraception[0].to: 2025-05-01 is before its from date 2025-06-01",
    ),
    ("contraception.1.method", "pull_out", "contraception[1].method: 'pull_out' is not one of:"),
    (
        "patient.birth_date",
        "2025-09-09",
        "patient.birth_date: 2025-09-09 is after the course start 2025-09-08",
    ),
]


@pytest.mark.parametrize(("path", "value", "message"), ERRORS, ids=[e[0] + "=" + repr(e[1]) for e in ERRORS])
def test_it_rejects_a_bad_value_naming_the_field(path: str, value: object, message: str) -> None:
    with pytest.raises(CourseFileError) as raised:
        parse_course_file(changed(path, value))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


EVENT_ERRORS = [
    (
        {"type": "dispense", "date": "2025-09-04", "days_supply": 0},
        "events[7].days_supply: 0 is outside 1-30 days",
    ),
    (
        {"type": "dispense", "date": "2025-09-04", "days_supply": 30.5},
        "events[7].days_supply: expected a whole number",
    ),
    ({"type": "dispense", "date": "2025-09-04"}, "events[7].days_supply: is required"),
    (
        {"type": "lab", "date": "2025-09-04", "test": "alt", "value": -1, "unit": "U/L"},
        "events[7].value: -1 cannot be",
    ),
    (
        {"type": "lab", "date": "2025-09-04", "test": "triglycerides", "value": 1e308, "unit": "mmol/L"},
        "events[7].value: 1e+308 is more than 1,000,000",
    ),
    (
        {"type": "lab", "date": "2025-09-04", "test": "alt", "value": 20, "unit": "mg/dL"},
        "events[7].unit: mg/dL is not a unit of ALT: use U/L.",
    ),
    (
        {"type": "lab", "date": "2025-09-04", "test": "alt", "value": float("nan"), "unit": "U/L"},
        "events[7].value: nan is",
    ),
    (
        {"type": "mood_screen", "date": "2025-09-04", "instrument": "phq2", "score": 7},
        "events[7].score: 7 is outside 0-6",
    ),
    (
        {"type": "mood_screen", "date": "2025-09-04", "instrument": "phq2", "score": 2, "item9": 0},
        "events[7].item9: only a PHQ-9",
    ),
    (
        {"type": "mood_screen", "date": "2025-09-04", "instrument": "phq9", "score": 2, "item9": 3},
        "events[7].item9: 3 is more",
    ),
    (
        {"type": "mood_screen", "date": "2025-09-04", "instrument": "gad7", "score": 2},
        "events[7].instrument: 'gad7' is not",
    ),
]


@pytest.mark.parametrize(
    ("event", "message"),
    EVENT_ERRORS,
    ids=[m.split(": ")[0] + " " + m.split(": ")[1][:12] for _, m in EVENT_ERRORS],
)
def test_it_rejects_an_impossible_event(event: dict[str, Any], message: str) -> None:
    data = copy.deepcopy(EXAMPLE)
    data["events"].append(event)
    with pytest.raises(CourseFileError) as raised:
        parse_course_file(data)
    assert str(raised.value).startswith(message)


def test_it_rejects_impossible_dose_histories() -> None:
    data = copy.deepcopy(EXAMPLE)
    data["interruptions"] = [{"from": "2025-09-20", "to": "2025-09-19"}]
    with pytest.raises(CourseFileError, match=r"^interruptions\[0\]\.to: 2025-09-19 is before its from date"):
        parse_course_file(data)
    data["interruptions"] = [{"from": "2025-09-01", "to": "2025-09-19"}]
    with pytest.raises(
        CourseFileError, match=r"^interruptions\[0\]\.from: 2025-09-01 is before the course start"
    ):
        parse_course_file(data)
    data["interruptions"] = []
    data["missed_doses"] = ["2025-09-07"]
    with pytest.raises(CourseFileError, match=r"^missed_doses\[0\]: 2025-09-07 is before the course start"):
        parse_course_file(data)
    data["missed_doses"] = []
    data["doses"].append({"from": "2025-09-08", "mg_per_day": 40, "product": "conventional"})
    with pytest.raises(
        CourseFileError, match=r"^doses\[1\]\.from: another dose segment also starts on 2025-09-08"
    ):
        parse_course_file(data)
    data["doses"].pop()
    data["weights"].append({"date": "2025-08-25", "kg": 59})
    with pytest.raises(CourseFileError, match=r"^weights\[1\]\.date: 2025-08-25 already has a weight"):
        parse_course_file(data)


def test_it_rejects_a_file_that_is_not_an_object() -> None:
    with pytest.raises(CourseFileError, match="^course file: expected an object, got a list"):
        parse_course_file([])


def test_it_ignores_unknown_keys_and_takes_null_for_absent() -> None:
    data = copy.deepcopy(EXAMPLE)
    data["colour"] = "blue"
    data["patient"]["nickname"] = "Avery"
    data["events"][0]["source"] = "fax"
    data["interruptions"] = None
    data["policy"] = {"target_mg_per_kg": None}
    parsed = parse_course_file(data)
    assert parsed.policy.target_mg_per_kg == 150
    assert parsed.interruptions == ()


def test_a_dose_changes_reason_is_read_and_written_and_absent_means_none_recorded() -> None:
    data = copy.deepcopy(EXAMPLE)
    data["doses"].append(
        {"from": "2025-10-08", "mg_per_day": 20, "product": "conventional", "reason": "side_effects"}
    )
    data["doses"].append({"from": "2025-11-08", "mg_per_day": 40, "product": "conventional", "reason": None})
    parsed = parse_course_file(data)
    assert [segment.reason for segment in parsed.doses] == [None, "side_effects", None]
    written = dump_course_file(parsed)["doses"]
    assert written[1] == {
        "from": "2025-10-08",
        "mg_per_day": 20,
        "product": "conventional",
        "reason": "side_effects",
    }
    assert "reason" not in written[0] and "reason" not in written[2]  # none recorded: left out
    assert parse_course_file({**data, "doses": written}) == parsed


def test_check_history_rejects_what_the_django_side_builds_wrongly() -> None:
    from isotrack.core import Course

    with pytest.raises(CourseFileError, match="^course.end:"):
        check_history(
            simple_course(
                course=Course(simple_course().course.start, simple_course().course.start.replace(year=2020))
            )
        )
    with pytest.raises(CourseFileError, match=r"^missed_doses\[0\]: 9999-12-31 is outside the dates"):
        check_history(simple_course(missed_doses=(dt.date(9999, 12, 31),)))


@settings(max_examples=150, deadline=None)
@given(any_course_files())
def test_dump_then_parse_gives_back_the_same_course_file(course_file: CourseFile) -> None:
    dumped = json.loads(json.dumps(dump_course_file(course_file)))
    assert parse_course_file(dumped) == course_file


def test_every_public_scenario_round_trips() -> None:
    folder = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"
    for path in sorted(folder.glob("*.json")) + sorted((folder / "medications").glob("*.json")):
        data = json.loads(path.read_text())
        if data["expect"].get("exit"):
            continue
        parsed = parse_course_file(data)
        assert parse_course_file(dump_course_file(parsed)) == parsed
