"""Plausible or refused, in one place: for each kind of record, a date after today, a date before the
patient's birth and an absurd value are refused with the same message (core.plausibility's) through the
page, the JSON API and the course-file import, and nothing is saved."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from isotrack import core
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.imports.courses import import_course
from isotrack.clinic.records import course_facts
from isotrack.core import plausibility
from tests.api.conftest import TokenClient, token_for
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db

FUTURE = TODAY + dt.timedelta(days=1)
BEFORE_BIRTH = dt.date(2003, 6, 1)  # the patient of tests/conftest.py was born on 2004-03-01
BIRTH = dt.date(2004, 3, 1)


@dataclass(frozen=True)
class Kind:
    """One kind of record: how the page, the API and a course file carry it, with a date or a value."""

    name: str
    what: str  # the words core.plausibility names it with
    page: Any  # (course, client, value) -> response, or None where no page enters it alone
    api: Any  # (course) -> (path, body builder)
    course_file: Any  # (course file dict, value) -> None, adds the record


def _visit(client: Any, course: Any, **changes: str) -> Any:
    data = {
        "date": TODAY.isoformat(),
        "weight_unit": "kg",
        "pregnancy_test_purpose": "monthly",
        "pregnancy_test_result": "not_done",
        "contraception_confirmed": "on",
        "mood_instrument": "phq2",
        "mood_score": "0",
        "days_supply": "30",
    } | changes
    return client.post(reverse("course_visit", kwargs={"course_id": course.uuid}), data)


def _event(kind: str, **fields: Any) -> Any:
    def add(content: dict[str, Any], day: dt.date) -> None:
        content["events"].append({"type": kind, "date": day.isoformat(), **fields})

    return add


DATED = [
    Kind(
        "weight",
        "A weight",
        lambda course, client, day: client.post(
            reverse("weight_new", kwargs={"patient_id": course.patient.uuid}),
            {"effective_date": day.isoformat(), "value": "62", "unit": "kg"},
        ),
        lambda course, day: (
            f"/api/v1/patients/{course.patient.uuid}/weights",
            {"effective_date": day.isoformat(), "value": 62, "unit": "kg"},
        ),
        lambda content, day: content["weights"].append({"date": day.isoformat(), "kg": 62}),
    ),
    Kind(
        "pregnancy test",
        "A specimen",
        lambda course, client, day: _visit(
            client,
            course,
            pregnancy_test_result="negative",
            pregnancy_test_setting="office",
            pregnancy_test_specimen_date=day.isoformat(),
        ),
        lambda course, day: (
            f"/api/v1/courses/{course.uuid}/pregnancy-tests",
            {"purpose": "monthly", "setting": "lab", "specimen_date": day.isoformat(), "result": "negative"},
        ),
        _event("pregnancy_test", purpose="monthly", setting="lab", result="negative"),
    ),
    Kind(
        "pick-up",
        "A pick-up",
        lambda course, client, day: client.post(
            reverse("course_dispense", kwargs={"course_id": course.uuid}),
            {"date": day.isoformat(), "days_supply": "30"},
        ),
        lambda course, day: (
            f"/api/v1/courses/{course.uuid}/dispenses",
            {"date": day.isoformat(), "days_supply": 30},
        ),
        _event("dispense", days_supply=30),
    ),
    Kind(
        "iPLEDGE entry",
        "An iPLEDGE entry",
        lambda course, client, day: client.post(
            reverse("course_ipledge_entry", kwargs={"course_id": course.uuid}),
            {"kind": "prescriber_confirmation", "date": day.isoformat()},
        ),
        lambda course, day: (
            f"/api/v1/courses/{course.uuid}/ipledge-entries",
            {"kind": "prescriber_confirmation", "date": day.isoformat()},
        ),
        _event("prescriber_confirmation"),
    ),
    Kind(
        "lab result",
        "A lab result",
        None,  # the visit's labs are dated the visit's day
        lambda course, day: (
            f"/api/v1/courses/{course.uuid}/lab-results",
            {"test": "alt", "effective_date": day.isoformat(), "value": 20, "unit": "U/L"},
        ),
        _event("lab", test="alt", value=20, unit="U/L"),
    ),
    Kind(
        "mood screen",
        "A mood screen",
        None,  # the visit's mood screen is dated the visit's day
        lambda course, day: (
            f"/api/v1/courses/{course.uuid}/mood-screens",
            {"date": day.isoformat(), "instrument": "phq2", "score": 1},
        ),
        _event("mood_screen", instrument="phq2", score=1),
    ),
    Kind(
        "visit",
        "A visit",
        lambda course, client, day: _visit(client, course, date=day.isoformat()),
        lambda course, day: (f"/api/v1/courses/{course.uuid}/visits", {"date": day.isoformat()}),
        _event("visit"),
    ),
]
WHEN = [
    (FUTURE, lambda what: plausibility.not_after_today(FUTURE, TODAY, what)),
    (BEFORE_BIRTH, lambda what: plausibility.not_before_birth(BEFORE_BIRTH, BIRTH, what)),
]


@pytest.fixture
def bare_course(prescriber, patient):
    """A course with no record yet (its facts exported as the base of each course file)."""
    return start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=dt.date(2026, 6, 1),
        mg_per_day=40,
        product="conventional",
    )


def _saved() -> int:
    return AuditEvent.objects.count()


def _through_the_page(client: Any, kind: Kind, course: Any, value: Any, message: str) -> None:
    before = _saved()
    response = kind.page(course, client, value)
    assert response.status_code == 422, (kind.name, response.status_code)
    assert message in html.unescape(response.content.decode()), (kind.name, message)
    assert _saved() == before


def _through_the_api(api: Any, kind: Kind, course: Any, value: Any, message: str) -> None:
    before = _saved()
    path, body = kind.api(course, value)
    response = api.post(path, body, content_type="application/json")
    assert response.status_code == 422, (kind.name, response.content)
    assert response.json()["detail"] == message, (kind.name, response.json())
    assert _saved() == before


def _through_the_import(
    prescriber: Any, kind: Kind, course: Any, twin: Any, value: Any, message: str
) -> None:
    content = core.dump_course_file(course_facts(course))
    kind.course_file(content, value)
    before = _saved()
    with pytest.raises(InvalidInput) as refused:
        import_course(actor=prescriber, patient=twin, course_file=core.parse_course_file(content))
    assert refused.value.message == message, kind.name
    assert _saved() == before


@pytest.fixture
def twin(prescriber):
    return register_patient(
        actor=prescriber,
        mrn="T-0002",
        given_name="Robin",
        family_name="Twinperson",
        birth_date=BIRTH,
        category="can_get_pregnant",
    )


@pytest.mark.parametrize("kind", DATED, ids=lambda k: k.name)
@pytest.mark.parametrize(("day", "message_of"), WHEN, ids=["after today", "before birth"])
def test_a_record_dated_after_today_or_before_birth_is_refused_alike_everywhere(
    client, prescriber, bare_course, twin, kind, day, message_of
):
    message = message_of(kind.what)
    assert message is not None
    client.force_login(prescriber)
    if kind.page is not None:
        _through_the_page(client, kind, bare_course, day, message)
    _through_the_api(TokenClient(token_for(prescriber)), kind, bare_course, day, message)
    _through_the_import(prescriber, kind, bare_course, twin, day, message)


ABSURD = [
    (
        "a weight of 900 kg",
        lambda course, client, _: client.post(
            reverse("weight_new", kwargs={"patient_id": course.patient.uuid}),
            {"effective_date": "2026-06-01", "value": "900", "unit": "kg"},
        ),
        lambda course, _: (
            f"/api/v1/patients/{course.patient.uuid}/weights",
            {"effective_date": "2026-06-01", "value": 900, "unit": "kg"},
        ),
        lambda content, _: content["weights"].append({"date": "2026-06-01", "kg": 900}),
        plausibility.weight_kg(900),
    ),
    (
        "triglycerides of 99999 mg/dL",
        lambda course, client, _: _visit(
            client, course, lab_0_test="triglycerides", lab_0_value="99999", lab_0_unit="mg/dL"
        ),
        lambda course, _: (
            f"/api/v1/courses/{course.uuid}/lab-results",
            {"test": "triglycerides", "effective_date": "2026-06-01", "value": 99999, "unit": "mg/dL"},
        ),
        lambda content, _: _event("lab", test="triglycerides", value=99999, unit="mg/dL")(
            content, dt.date(2026, 6, 1)
        ),
        plausibility.lab_result("triglycerides", 99999, "mg/dL"),
    ),
    (
        "a dose of 0.5 mg a day",
        lambda course, client, _: client.post(
            reverse("course_dose", kwargs={"course_id": course.uuid}),
            {
                "dose_mg_per_day": "0.5",
                "dose_product": "conventional",
                "dose_starts_on": "2026-12-02",
                "dose_change_reason": "planned",
                "dose_reason": "test",
            },
        ),
        lambda course, _: (
            f"/api/v1/courses/{course.uuid}/dose-segments",
            {
                "starts_on": "2026-12-02",
                "mg_per_day": 0.5,
                "product": "conventional",
                "change_reason": "planned",
                "reason": "test",
            },
        ),
        lambda content, _: content["doses"].append(
            {"from": "2026-07-01", "mg_per_day": 0.5, "product": "conventional"}
        ),
        plausibility.mg_per_day(0.5),
    ),
]


@pytest.mark.parametrize(
    ("name", "page", "api", "course_file", "message"), ABSURD, ids=[a[0] for a in ABSURD]
)
def test_an_absurd_value_is_refused_alike_everywhere(
    client, prescriber, bare_course, twin, name, page, api, course_file, message
):
    assert message is not None
    kind = Kind(name, "", page, api, course_file)
    client.force_login(prescriber)
    _through_the_page(client, kind, bare_course, None, message)
    _through_the_api(TokenClient(token_for(prescriber)), kind, bare_course, None, message)
    _through_the_import(prescriber, kind, bare_course, twin, None, message)


def test_a_lab_result_in_a_unit_its_test_has_not_is_refused_alike_everywhere(client, prescriber, bare_course):
    message = plausibility.lab_result("triglycerides", 99999, "U/L")
    assert message == "U/L is not a unit of Triglycerides: use mg/dL or mmol/L."
    client.force_login(prescriber)
    response = _visit(client, bare_course, lab_0_test="triglycerides", lab_0_value="140", lab_0_unit="U/L")
    assert response.status_code == 422 and message in html.unescape(response.content.decode())
    api = TokenClient(token_for(prescriber))
    body = {"test": "triglycerides", "effective_date": "2026-06-01", "value": 140, "unit": "U/L"}
    answer = api.post(
        f"/api/v1/courses/{bare_course.uuid}/lab-results", body, content_type="application/json"
    )
    assert answer.status_code == 422 and answer.json()["detail"] == message
    content = core.dump_course_file(course_facts(bare_course))
    content["events"].append(
        {"type": "lab", "date": "2026-06-01", "test": "triglycerides", "value": 140, "unit": "U/L"}
    )
    with pytest.raises(core.CourseFileError) as refused:
        core.parse_course_file(content)
    assert refused.value.problem == message


def test_a_birth_date_after_today_and_a_course_start_years_back_are_refused(client, prescriber, patient):
    client.force_login(prescriber)
    response = client.post(
        reverse("patient_new"),
        {
            "mrn": "T-9",
            "given_name": "A",
            "family_name": "B",
            "birth_date": "2031-01-01",
            "gender": "female",
            "category": "can_get_pregnant",
        },
    )
    assert response.status_code == 422
    assert plausibility.birth_date(dt.date(2031, 1, 1), TODAY) in html.unescape(response.content.decode())
    with pytest.raises(InvalidInput) as refused:
        start_course(
            actor=prescriber, patient=patient, prescriber=prescriber, start=dt.date(1990, 1, 1), mg_per_day=40
        )
    assert refused.value.message == plausibility.course_start(dt.date(1990, 1, 1), TODAY)
    assert refused.value.field == "start"


def test_the_dose_preview_refuses_what_saving_refuses_in_the_same_words(client, prescriber, bare_course):
    client.force_login(prescriber)
    url = reverse("course_dose_preview", kwargs={"course_id": bare_course.uuid})
    page = html.unescape(
        client.get(url, {"dose_mg_per_day": "999", "dose_product": "conventional"}).content.decode()
    )
    assert plausibility.mg_per_day(999) in page
    assert "Projection" not in page and "1000" not in page
