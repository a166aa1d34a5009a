"""The course file (interchange format): parse a decoded JSON object into ``CourseFile`` with clear
errors, check that the history is possible, and write it back:
``parse_course_file(dump_course_file(x)) == x``.

Every error is a ``CourseFileError`` whose text is ``path: problem`` (``events[3].date: 2026-02-30 is not a
valid date``); list indexes are 0-based positions in the file.

Rules (the spec's, then decisions where it is silent):

- Unknown keys anywhere are ignored; an unknown value of a known field is an error.
- ``null`` for an optional field means absent (the default); a required field must be present and not null.
  Missing lists (``weights``, ``doses``, ...) are empty.
- Numbers must be JSON numbers (``true`` is not 1), finite; whole-number fields accept ``30.0``.
- Impossible histories are rejected (``check_history``, also for CourseFiles the Django side builds): a course
  end before its start; a birth date after the course start; a dose segment, interruption or missed dose
  before the course start; two dose segments starting the same day or two weights the same day (which one
  holds would be a guess); an interruption, contraception or medication ``to`` before its ``from``;
  ``days_supply`` outside 1-30 (IPL-SUPPLY); a weight, a daily dose, a dispensed dose, an equivalence factor,
  a target or a ULN that is zero or negative; a negative lab value; a mood score outside the instrument's
  range; ``item9`` outside 0-3, on a PHQ-2, or above the PHQ-9 total; a lipid or enzyme in a unit it cannot
  have.
- Magnitudes no course can have are rejected too, so that the arithmetic stays finite and every bad file
  exits 2 with a message (never a traceback): dates outside 1900-2199, a weight outside 1-1000 kg, a daily
  dose above 1000 mg, a target above 1000 mg/kg, an equivalence factor above 10, a lab value or ULN above
  1,000,000, ``labs_peak_days`` outside 1-365.
- isotrack's own keys, which other programs ignore like any unknown key: a dose segment's ``reason`` (why the
  dose changed: a code of ``DOSE_CHANGE_REASONS``; absent, none recorded), ``acknowledgments``,
  ``pregnancy_follow_up``, ``reported_self_harm`` (dates of unconfirmed check-in answers of thoughts of
  self-harm) and the policy's further thresholds.
- Allowed although unusual: dose segments after a (planned) course end (the projection ignores a future end),
  interruptions reaching past the end, overlapping interruptions, missed doses inside an interruption (each
  day counts once), dispenses before the course start (the first fill precedes the first dose).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from isotrack.core import plausibility
from isotrack.core.course import (
    CATEGORIES,
    DOSE_CHANGE_REASONS,
    EVENT_TYPES,
    FOLLOW_UP_KINDS,
    INSTRUMENTS,
    MAXIMUM_DAYS_SUPPLY,
    MAXIMUM_SCORE,
    METHODS,
    PRODUCTS,
    TEST_PURPOSES,
    TEST_RESULTS,
    TEST_SETTINGS,
    WEIGHT_BASES,
    Acknowledgment,
    ContraceptionUse,
    Course,
    CourseFile,
    Dispense,
    DoseSegment,
    Enrollment,
    Event,
    FollowUp,
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
from isotrack.core.medications import MEDICATION_CLASSES
from isotrack.core.rules import RULE_CHOICES
from isotrack.core.urgency import ALERT_ORDER

T = TypeVar("T")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# The dates isotrack evaluates: far wider than any course, narrow enough that a window (+6 days), a lead-in
# (-30 days) or the 3-year projection never leaves Python's calendar.
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)
# The largest magnitudes a course can have (see the module docstring).
MINIMUM_KG, MAXIMUM_KG = 1, 1000
MAXIMUM_MG_PER_DAY = 1000
MAXIMUM_TARGET_MG_PER_KG = 1000
MAXIMUM_EQUIVALENCE_FACTOR = 10
MAXIMUM_LAB_VALUE = 1_000_000
MAXIMUM_LABS_PEAK_DAYS = 365


class CourseFileError(ValueError):
    """A course file that cannot be evaluated; ``str()`` is ``path: problem``."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# --- reading values -----------------------------------------------------------------------------------------


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40] + "...")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _object(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CourseFileError(path, f"expected an object, got {_shown(value)}")
    return value


def _list(value: object, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CourseFileError(path, f"expected a list, got {_shown(value)}")
    return value


def _get(obj: dict[str, Any], key: str, path: str, read: Callable[[Any, str], T]) -> T:
    value = obj.get(key)
    if value is None:
        raise CourseFileError(f"{path}.{key}" if path else key, "is required")
    return read(value, f"{path}.{key}" if path else key)


def _optional(obj: dict[str, Any], key: str, path: str, read: Callable[[Any, str], T], default: T) -> T:
    value = obj.get(key)
    if value is None:
        return default
    return read(value, f"{path}.{key}" if path else key)


def _date(value: object, path: str) -> dt.date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise CourseFileError(path, f"expected a date as YYYY-MM-DD, got {_shown(value)}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise CourseFileError(path, f"{value} is not a valid date") from None
    problem = date_out_of_range(day)
    if problem:
        raise CourseFileError(path, problem)
    return day


def date_out_of_range(day: dt.date) -> str | None:
    """The problem with a date outside FIRST_DATE-LAST_DATE, else None."""
    if FIRST_DATE <= day <= LAST_DATE:
        return None
    return f"{day} is outside the dates isotrack evaluates ({FIRST_DATE} to {LAST_DATE})"


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CourseFileError(path, f"expected a number, got {_shown(value)}")
    # Spec clarification "numbers": a value that is not finite in double precision is invalid. An integer with
    # hundreds of digits is finite for Python but overflows a double, so it is tested as a double.
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        shown = "this whole number" if isinstance(value, int) else str(value)
        raise CourseFileError(path, f"{shown} is too large: not a finite number in double precision")
    return value


def _positive(value: object, path: str) -> float:
    number = _number(value, path)
    if number <= 0:
        raise CourseFileError(path, f"{_shown(value)} must be above 0")
    return number


def _whole(value: object, path: str) -> int:
    number = _number(value, path)
    if isinstance(number, float):
        if not number.is_integer():
            raise CourseFileError(path, f"expected a whole number, got {_shown(value)}")
        return int(number)
    return number


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CourseFileError(path, f"expected a non-empty text, got {_shown(value)}")
    return value


def _flag(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise CourseFileError(path, f"expected true or false, got {_shown(value)}")
    return value


def _one_of(choices: Sequence[str]) -> Callable[[object, str], Any]:
    def read(value: object, path: str) -> Any:
        if not isinstance(value, str) or value not in choices:
            raise CourseFileError(path, f"{_shown(value)} is not one of: {', '.join(choices)}")
        return value

    return read


# --- parsing ------------------------------------------------------------------------------------------------


def parse_course_file(data: object) -> CourseFile:
    """A decoded JSON object -> CourseFile; raises CourseFileError for malformed input or an impossible
    history."""
    top = _object(data, "course file")
    course_file = CourseFile(
        as_of=_optional(top, "as_of", "", _date, None),
        rules=_optional(top, "rules", "", _one_of(RULE_CHOICES), "auto"),
        policy=_policy(_optional(top, "policy", "", _object, {})),
        patient=_patient(_get(top, "patient", "", _object)),
        course=_course(_get(top, "course", "", _object)),
        weights=tuple(
            _weight(v, f"weights[{i}]") for i, v in enumerate(_list(top.get("weights"), "weights"))
        ),
        doses=tuple(_dose(v, f"doses[{i}]") for i, v in enumerate(_list(top.get("doses"), "doses"))),
        interruptions=tuple(
            _interruption(v, f"interruptions[{i}]")
            for i, v in enumerate(_list(top.get("interruptions"), "interruptions"))
        ),
        missed_doses=tuple(
            _date(v, f"missed_doses[{i}]")
            for i, v in enumerate(_list(top.get("missed_doses"), "missed_doses"))
        ),
        contraception=tuple(
            _contraception(v, f"contraception[{i}]")
            for i, v in enumerate(_list(top.get("contraception"), "contraception"))
        ),
        events=tuple(_event(v, f"events[{i}]") for i, v in enumerate(_list(top.get("events"), "events"))),
        medications=tuple(
            _medication(v, f"medications[{i}]")
            for i, v in enumerate(_list(top.get("medications"), "medications"))
        ),
        acknowledgments=tuple(
            _acknowledgment(v, f"acknowledgments[{i}]")
            for i, v in enumerate(_list(top.get("acknowledgments"), "acknowledgments"))
        ),
        follow_ups=tuple(
            _follow_up(v, f"pregnancy_follow_up[{i}]")
            for i, v in enumerate(_list(top.get("pregnancy_follow_up"), "pregnancy_follow_up"))
        ),
        reported_self_harm=tuple(
            _date(v, f"reported_self_harm[{i}]")
            for i, v in enumerate(_list(top.get("reported_self_harm"), "reported_self_harm"))
        ),
    )
    check_history(course_file)
    return course_file


def _policy(obj: dict[str, Any]) -> Policy:
    path = "policy"
    default = Policy()
    return Policy(
        target_mg_per_kg=_optional(obj, "target_mg_per_kg", path, _positive, default.target_mg_per_kg),
        weight_basis=_optional(obj, "weight_basis", path, _one_of(WEIGHT_BASES), default.weight_basis),
        home_testing_permitted=_optional(
            obj, "home_testing_permitted", path, _flag, default.home_testing_permitted
        ),
        ld_equivalence_factor=_optional(
            obj, "ld_equivalence_factor", path, _positive, default.ld_equivalence_factor
        ),
        ipledge_2026_effective=_optional(
            obj, "ipledge_2026_effective", path, _date, default.ipledge_2026_effective
        ),
        triglycerides_high_mg_dl=_optional(
            obj, "triglycerides_high_mg_dl", path, _positive, default.triglycerides_high_mg_dl
        ),
        triglycerides_critical_mg_dl=_optional(
            obj, "triglycerides_critical_mg_dl", path, _positive, default.triglycerides_critical_mg_dl
        ),
        liver_uln_u_per_l=_optional(obj, "liver_uln_u_per_l", path, _positive, default.liver_uln_u_per_l),
        liver_uln_multiple=_optional(obj, "liver_uln_multiple", path, _positive, default.liver_uln_multiple),
        labs_peak_days=_optional(obj, "labs_peak_days", path, _whole, default.labs_peak_days),
    )


def _patient(obj: dict[str, Any]) -> Patient:
    return Patient(
        category=_get(obj, "category", "patient", _one_of(CATEGORIES)),
        birth_date=_optional(obj, "birth_date", "patient", _date, None),
    )


def _course(obj: dict[str, Any]) -> Course:
    return Course(start=_get(obj, "start", "course", _date), end=_optional(obj, "end", "course", _date, None))


def _weight(value: object, path: str) -> Weight:
    obj = _object(value, path)
    return Weight(date=_get(obj, "date", path, _date), kg=_get(obj, "kg", path, _positive))


def _dose(value: object, path: str) -> DoseSegment:
    obj = _object(value, path)
    return DoseSegment(
        start=_get(obj, "from", path, _date),
        mg_per_day=_get(obj, "mg_per_day", path, _positive),
        product=_get(obj, "product", path, _one_of(PRODUCTS)),
        reason=_optional(obj, "reason", path, _one_of(tuple(DOSE_CHANGE_REASONS)), None),
    )


def _interruption(value: object, path: str) -> Interruption:
    obj = _object(value, path)
    return Interruption(
        start=_get(obj, "from", path, _date),
        end=_get(obj, "to", path, _date),
        reason=_optional(obj, "reason", path, _text, None),
    )


def _contraception(value: object, path: str) -> ContraceptionUse:
    obj = _object(value, path)
    return ContraceptionUse(
        method=_get(obj, "method", path, _one_of(METHODS)),
        start=_get(obj, "from", path, _date),
        end=_optional(obj, "to", path, _date, None),
    )


def _medication(value: object, path: str) -> Medication:
    obj = _object(value, path)
    return Medication(
        name=_get(obj, "name", path, _text),
        medication_class=_get(obj, "class", path, _one_of(MEDICATION_CLASSES)),
        start=_get(obj, "from", path, _date),
        end=_optional(obj, "to", path, _date, None),
    )


def _acknowledgment(value: object, path: str) -> Acknowledgment:
    obj = _object(value, path)
    return Acknowledgment(
        code=_get(obj, "code", path, _one_of(ALERT_ORDER)),
        alert_date=_get(obj, "alert_date", path, _date),
        date=_get(obj, "date", path, _date),
        by=_optional(obj, "by", path, _text, None),
        reason=_optional(obj, "reason", path, _text, None),
    )


def _follow_up(value: object, path: str) -> FollowUp:
    obj = _object(value, path)
    return FollowUp(
        kind=_get(obj, "step", path, _one_of(FOLLOW_UP_KINDS)), date=_get(obj, "date", path, _date)
    )


def _event(value: object, path: str) -> Event:
    obj = _object(value, path)
    kind = _get(obj, "type", path, _one_of(tuple(EVENT_TYPES)))
    when = _get(obj, "date", path, _date)
    if kind == "pregnancy_test":
        return PregnancyTest(
            date=when,
            purpose=_get(obj, "purpose", path, _one_of(TEST_PURPOSES)),
            setting=_get(obj, "setting", path, _one_of(TEST_SETTINGS)),
            result=_get(obj, "result", path, _one_of(TEST_RESULTS)),
            verified_by=_optional(obj, "verified_by", path, _text, None),
        )
    if kind == "dispense":
        return Dispense(
            date=when,
            days_supply=_get(obj, "days_supply", path, _whole),
            mg_per_day=_optional(obj, "mg_per_day", path, _positive, None),
            product=_optional(obj, "product", path, _one_of(PRODUCTS), None),
            rma=_optional(obj, "rma", path, _text, None),
        )
    if kind == "lab":
        return LabResult(
            date=when,
            test=_get(obj, "test", path, _text),
            value=_get(obj, "value", path, _number),
            unit=_get(obj, "unit", path, _text),
            uln=_optional(obj, "uln", path, _positive, None),
        )
    if kind == "mood_screen":
        return MoodScreen(
            date=when,
            instrument=_get(obj, "instrument", path, _one_of(INSTRUMENTS)),
            score=_get(obj, "score", path, _whole),
            item9=_optional(obj, "item9", path, _whole, None),
        )
    simple: dict[str, Callable[[dt.date], Event]] = {
        "enrollment": Enrollment,
        "prescriber_confirmation": PrescriberConfirmation,
        "patient_attestation": PatientAttestation,
        "visit": Visit,
    }
    return simple[kind](when)


# --- possible histories -------------------------------------------------------------------------------------


def check_history(course_file: CourseFile) -> None:
    """Raises CourseFileError when the course file describes an impossible history (see the module docstring).
    The parser calls it; the Django side should call it on the CourseFile it builds from rows."""
    for path, day in _dates(course_file):
        problem = date_out_of_range(day)
        if problem:
            raise CourseFileError(path, problem)
    start, end = course_file.course.start, course_file.course.end
    if end is not None and end < start:
        raise CourseFileError("course.end", f"{end} is before the course start {start}")
    birth = course_file.patient.birth_date
    if birth is not None and birth > start:
        raise CourseFileError("patient.birth_date", f"{birth} is after the course start {start}")
    policy = course_file.policy
    _check_positive("policy.target_mg_per_kg", policy.target_mg_per_kg, MAXIMUM_TARGET_MG_PER_KG)
    _check_positive("policy.ld_equivalence_factor", policy.ld_equivalence_factor, MAXIMUM_EQUIVALENCE_FACTOR)
    for name in (
        "triglycerides_high_mg_dl",
        "triglycerides_critical_mg_dl",
        "liver_uln_u_per_l",
        "liver_uln_multiple",
    ):
        _check_positive(f"policy.{name}", getattr(policy, name), MAXIMUM_LAB_VALUE)
    if not 1 <= policy.labs_peak_days <= MAXIMUM_LABS_PEAK_DAYS:
        raise CourseFileError(
            "policy.labs_peak_days", f"{policy.labs_peak_days} is outside 1-{MAXIMUM_LABS_PEAK_DAYS} days"
        )
    _check_weights(course_file.weights)
    _check_doses(course_file.doses, start)
    for i, hold in enumerate(course_file.interruptions):
        if hold.end < hold.start:
            raise CourseFileError(
                f"interruptions[{i}].to", f"{hold.end} is before its from date {hold.start}"
            )
        if hold.start < start:
            raise CourseFileError(
                f"interruptions[{i}].from", f"{hold.start} is before the course start {start}"
            )
    for i, missed in enumerate(course_file.missed_doses):
        if missed < start:
            raise CourseFileError(f"missed_doses[{i}]", f"{missed} is before the course start {start}")
    for i, use in enumerate(course_file.contraception):
        if use.end is not None and use.end < use.start:
            raise CourseFileError(f"contraception[{i}].to", f"{use.end} is before its from date {use.start}")
    for i, medication in enumerate(course_file.medications):
        if medication.end is not None and medication.end < medication.start:
            raise CourseFileError(
                f"medications[{i}].to", f"{medication.end} is before its from date {medication.start}"
            )
    for i, event in enumerate(course_file.events):
        _check_event(event, f"events[{i}]")
    for i, acknowledgment in enumerate(course_file.acknowledgments):
        if acknowledgment.date < acknowledgment.alert_date:
            raise CourseFileError(
                f"acknowledgments[{i}].date",
                f"{acknowledgment.date} is before the alert it acknowledges ({acknowledgment.alert_date})",
            )


def _dates(course_file: CourseFile) -> Iterator[tuple[str, dt.date]]:
    """Every date of the course file, with its path."""
    if course_file.as_of is not None:
        yield "as_of", course_file.as_of
    yield "policy.ipledge_2026_effective", course_file.policy.ipledge_2026_effective
    if course_file.patient.birth_date is not None:
        yield "patient.birth_date", course_file.patient.birth_date
    yield "course.start", course_file.course.start
    if course_file.course.end is not None:
        yield "course.end", course_file.course.end
    for i, weight in enumerate(course_file.weights):
        yield f"weights[{i}].date", weight.date
    for i, segment in enumerate(course_file.doses):
        yield f"doses[{i}].from", segment.start
    for i, hold in enumerate(course_file.interruptions):
        yield f"interruptions[{i}].from", hold.start
        yield f"interruptions[{i}].to", hold.end
    for i, missed in enumerate(course_file.missed_doses):
        yield f"missed_doses[{i}]", missed
    for i, use in enumerate(course_file.contraception):
        yield f"contraception[{i}].from", use.start
        if use.end is not None:
            yield f"contraception[{i}].to", use.end
    for i, event in enumerate(course_file.events):
        yield f"events[{i}].date", event.date
    for i, medication in enumerate(course_file.medications):
        yield f"medications[{i}].from", medication.start
        if medication.end is not None:
            yield f"medications[{i}].to", medication.end
    for i, acknowledgment in enumerate(course_file.acknowledgments):
        yield f"acknowledgments[{i}].alert_date", acknowledgment.alert_date
        yield f"acknowledgments[{i}].date", acknowledgment.date
    for i, follow_up in enumerate(course_file.follow_ups):
        yield f"pregnancy_follow_up[{i}].date", follow_up.date
    for i, reported in enumerate(course_file.reported_self_harm):
        yield f"reported_self_harm[{i}]", reported


def _check_positive(path: str, value: float, at_most: float) -> None:
    if not value > 0:
        raise CourseFileError(path, f"{value} must be above 0")
    if not value <= at_most:
        raise CourseFileError(path, f"{value} is more than {at_most:,}, which no course can have")


def _check_weights(weights: Sequence[Weight]) -> None:
    seen: set[dt.date] = set()
    for i, weight in enumerate(weights):
        if not weight.kg > 0:
            raise CourseFileError(f"weights[{i}].kg", f"{weight.kg} must be above 0")
        if not MINIMUM_KG <= weight.kg <= MAXIMUM_KG:
            raise CourseFileError(
                f"weights[{i}].kg", f"{weight.kg} is not a body weight: {MINIMUM_KG}-{MAXIMUM_KG} kg"
            )
        if weight.date in seen:
            raise CourseFileError(f"weights[{i}].date", f"{weight.date} already has a weight")
        seen.add(weight.date)


def _check_doses(doses: Sequence[DoseSegment], start: dt.date) -> None:
    seen: set[dt.date] = set()
    for i, segment in enumerate(doses):
        _check_positive(f"doses[{i}].mg_per_day", segment.mg_per_day, MAXIMUM_MG_PER_DAY)
        if segment.start < start:
            raise CourseFileError(
                f"doses[{i}].from",
                f"{segment.start} is before the course start {start}: a dose segment "
                "cannot begin before the course",
            )
        if segment.start in seen:
            raise CourseFileError(f"doses[{i}].from", f"another dose segment also starts on {segment.start}")
        seen.add(segment.start)


def _check_event(event: Event, path: str) -> None:
    if isinstance(event, Dispense):
        if not 1 <= event.days_supply <= MAXIMUM_DAYS_SUPPLY:
            raise CourseFileError(
                f"{path}.days_supply",
                f"{event.days_supply} is outside 1-{MAXIMUM_DAYS_SUPPLY} days (IPL-SUPPLY)",
            )
        if event.mg_per_day is not None:
            _check_positive(f"{path}.mg_per_day", event.mg_per_day, MAXIMUM_MG_PER_DAY)
    elif isinstance(event, LabResult):
        _check_lab(event, path)
    elif isinstance(event, MoodScreen):
        _check_mood(event, path)


def _check_lab(result: LabResult, path: str) -> None:
    if result.value < 0:
        raise CourseFileError(f"{path}.value", f"{result.value} cannot be negative")
    if result.value > MAXIMUM_LAB_VALUE:
        raise CourseFileError(
            f"{path}.value", f"{result.value} is more than {MAXIMUM_LAB_VALUE:,}, which no result can be"
        )
    if result.uln is not None:
        _check_positive(f"{path}.uln", result.uln, MAXIMUM_LAB_VALUE)
    wrong_unit = plausibility.lab_unit(result.test, result.unit)
    if wrong_unit is not None:  # the words of every other way a result comes in
        raise CourseFileError(f"{path}.unit", wrong_unit)


def _check_mood(screen: MoodScreen, path: str) -> None:
    maximum = MAXIMUM_SCORE[screen.instrument]
    if not 0 <= screen.score <= maximum:
        raise CourseFileError(
            f"{path}.score", f"{screen.score} is outside 0-{maximum} for {screen.instrument}"
        )
    if screen.item9 is None:
        return
    if screen.instrument != "phq9":
        raise CourseFileError(f"{path}.item9", "only a PHQ-9 has an item 9")
    if not 0 <= screen.item9 <= 3:
        raise CourseFileError(f"{path}.item9", f"{screen.item9} is outside 0-3")
    if screen.item9 > screen.score:
        raise CourseFileError(f"{path}.item9", f"{screen.item9} is more than the total score {screen.score}")


# --- writing ------------------------------------------------------------------------------------------------


def dump_course_file(course_file: CourseFile) -> dict[str, Any]:
    """CourseFile -> a JSON-ready course file (optional values that are absent are left out, and so are the
    optional lists when empty: ``medications`` and isotrack's own)."""
    policy = course_file.policy
    found: dict[str, Any] = {}
    if course_file.as_of is not None:
        found["as_of"] = course_file.as_of.isoformat()
    found["rules"] = course_file.rules
    found["policy"] = {f.name: _json(getattr(policy, f.name)) for f in fields(policy)}
    patient: dict[str, Any] = {"category": course_file.patient.category}
    if course_file.patient.birth_date is not None:
        patient["birth_date"] = course_file.patient.birth_date.isoformat()
    found["patient"] = patient
    found["course"] = {"start": course_file.course.start.isoformat(), "end": _json(course_file.course.end)}
    found["weights"] = [{"date": w.date.isoformat(), "kg": w.kg} for w in course_file.weights]
    found["doses"] = [
        _without_none(
            {
                "from": s.start.isoformat(),
                "mg_per_day": s.mg_per_day,
                "product": s.product,
                "reason": s.reason,
            }
        )
        for s in course_file.doses
    ]
    found["interruptions"] = [
        _without_none({"from": i.start.isoformat(), "to": i.end.isoformat(), "reason": i.reason})
        for i in course_file.interruptions
    ]
    found["missed_doses"] = [d.isoformat() for d in course_file.missed_doses]
    found["contraception"] = [
        {"method": c.method, "from": c.start.isoformat(), "to": _json(c.end)}
        for c in course_file.contraception
    ]
    found["events"] = [_dump_event(e) for e in course_file.events]
    if course_file.medications:
        found["medications"] = [
            {"name": m.name, "class": m.medication_class, "from": m.start.isoformat(), "to": _json(m.end)}
            for m in course_file.medications
        ]
    if course_file.acknowledgments:
        found["acknowledgments"] = [
            _without_none({f.name: _json(getattr(a, f.name)) for f in fields(a)})
            for a in course_file.acknowledgments
        ]
    if course_file.follow_ups:
        found["pregnancy_follow_up"] = [
            {"step": f.kind, "date": f.date.isoformat()} for f in course_file.follow_ups
        ]
    if course_file.reported_self_harm:
        found["reported_self_harm"] = [d.isoformat() for d in course_file.reported_self_harm]
    return found


def _dump_event(event: Event) -> dict[str, Any]:
    found: dict[str, Any] = {"type": event.kind}
    for f in fields(event):
        value = getattr(event, f.name)
        if value is not None:
            found[f.name] = _json(value)
    return found


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _without_none(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}
