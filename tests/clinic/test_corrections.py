"""Every kind of record can be voided or corrected, with a reason, by the roles that write it: the engine
stops seeing the old record, the timeline keeps it struck through, the audit trail keeps
before, after and why."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic import timeline
from isotrack.clinic.actions import corrections
from isotrack.clinic.actions.dosing import change_dose, record_interruption, record_missed_dose
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import (
    record_lab_result,
    record_mood_screen,
    record_pregnancy_test,
    record_side_effect,
)
from isotrack.clinic.actions.patients import record_contraception, record_medication, record_weight
from isotrack.clinic.actions.visits import record_visit
from isotrack.clinic.errors import InvalidInput, NotPermitted, RecordNotFound
from isotrack.clinic.records import course_facts
from isotrack.core import course as facts
from tests.api.conftest import TokenClient, token_for

DAY = date(2026, 7, 1)


def one_of_each(course, nurse, prescriber) -> dict[str, Any]:
    """One record of every correctable kind, as staff enter them."""
    patient = course.patient
    return {
        "weight": record_weight(
            actor=nurse, patient=patient, effective_date=DAY, value=Decimal(60), unit="kg"
        ),
        "contraception": record_contraception(
            actor=nurse, patient=patient, method="iud_copper", start=date(2026, 4, 1)
        ),
        "medication": record_medication(actor=nurse, patient=patient, name="ibuprofen", start=DAY),
        "lab": record_lab_result(
            actor=nurse,
            course=course,
            test="triglycerides",
            effective_date=DAY,
            value=Decimal(150),
            unit="mg/dL",
        ),
        "pregnancy-test": record_pregnancy_test(
            actor=nurse,
            course=course,
            purpose="monthly",
            setting="lab",
            specimen_date=DAY,
            result="negative",
            verified_by=nurse,
        ),
        "mood-screen": record_mood_screen(actor=nurse, course=course, day=DAY, instrument="phq9", score=4),
        "side-effect": record_side_effect(
            actor=nurse, course=course, term="dry lips", severity="mild", onset=DAY
        ),
        "visit": record_visit(actor=nurse, course=course, day=DAY, note="monthly visit"),
        "dose": change_dose(
            actor=prescriber,
            course=course,
            starts_on=date(2026, 8, 1),
            mg_per_day=Decimal(60),
            product="conventional",
            change_reason="planned",
            reason="tolerating well",
        ),
        "hold": record_interruption(
            actor=prescriber, course=course, start=date(2026, 9, 1), end=date(2026, 9, 5), reason="surgery"
        ),
        "missed-dose": record_missed_dose(actor=nurse, course=course, day=date(2026, 7, 10)),
        "pick-up": record_dispense(actor=nurse, course=course, day=DAY, days_supply=30),
        "ipledge": record_ipledge_entry(
            actor=nurse, course=course, kind="prescriber_confirmation", day=DAY, confirmation_number="C-1"
        ),
    }


# kind: (a changed value as a person types it, what the engine then sees)
CHANGES: dict[str, tuple[dict[str, Any], Any]] = {
    "weight": ({"entered_value": Decimal(64)}, lambda f: [w.kg for w in f.weights] == [64.0]),
    "contraception": (
        {"method": "iud_hormonal"},
        lambda f: [c.method for c in f.contraception] == ["iud_hormonal"],
    ),
    "medication": (
        {"name": "doxycycline"},  # the class follows the name, by the core's table
        lambda f: [(m.name, m.medication_class) for m in f.medications] == [("doxycycline", "tetracycline")],
    ),
    "lab": ({"value": Decimal(180)}, lambda f: [e.value for e in _events(f, "lab")] == [180.0]),
    "pregnancy-test": (
        {"specimen_date": date(2026, 6, 30)},
        lambda f: [e.date for e in _events(f, "pregnancy_test")] == [date(2026, 6, 30)],
    ),
    "mood-screen": ({"score": 6}, lambda f: [e.score for e in _events(f, "mood_screen")] == [6]),
    "side-effect": ({"severity": "moderate"}, None),
    "visit": (
        {"date": date(2026, 7, 2)},
        lambda f: [e.date for e in _events(f, "visit")] == [date(2026, 7, 2)],
    ),
    "dose": ({"mg_per_day": Decimal(50)}, lambda f: [d.mg_per_day for d in f.doses] == [40.0, 50.0]),
    "hold": ({"end": date(2026, 9, 7)}, lambda f: [i.end for i in f.interruptions] == [date(2026, 9, 7)]),
    "missed-dose": ({"date": date(2026, 7, 11)}, lambda f: list(f.missed_doses) == [date(2026, 7, 11)]),
    "pick-up": ({"days_supply": 28}, lambda f: [e.days_supply for e in _events(f, "dispense")] == [28]),
    "ipledge": (
        {"confirmation_number": "C-2"},
        lambda f: [e.date for e in _events(f, "prescriber_confirmation")] == [DAY],
    ),
}


def _events(course_file: facts.CourseFile, kind: str) -> list[Any]:
    return [e for e in course_file.events if e.kind == kind]


def _in_facts(course, kind: str) -> int:
    """How many records of the kind the engine sees for the course."""
    course_file = course_facts(course)
    counted = {
        "weight": course_file.weights,
        "contraception": course_file.contraception,
        "medication": course_file.medications,
        "dose": course_file.doses,
        "hold": course_file.interruptions,
        "missed-dose": course_file.missed_doses,
        "lab": _events(course_file, "lab"),
        "pregnancy-test": _events(course_file, "pregnancy_test"),
        "mood-screen": _events(course_file, "mood_screen"),
        "visit": _events(course_file, "visit"),
        "pick-up": _events(course_file, "dispense"),
        "ipledge": _events(course_file, "prescriber_confirmation"),
    }
    if kind == "side-effect":
        return course.side_effects.count()
    return len(counted[kind])


def test_every_kind_of_record_has_a_change_to_try():
    assert set(CHANGES) == set(corrections.KINDS)


@pytest.mark.parametrize("code", sorted(corrections.KINDS))
def test_a_voided_record_leaves_the_engine_but_stays_on_the_timeline_and_in_the_trail(
    code, course, nurse, prescriber
):
    kind = corrections.KINDS[code]
    item = one_of_each(course, nurse, prescriber)[code]
    before = _in_facts(course, code)
    actor = prescriber  # writes every kind
    corrections.void_record(actor=actor, kind=kind, item=item, reason="entered on the wrong course")
    assert _in_facts(course, code) == before - 1
    rows = [
        row
        for row in timeline.course_timeline(course, actor)
        if row.item is not None and row.item.pk == item.pk
    ]
    (row,) = [r for r in rows if isinstance(r.item, kind.model)]
    assert row.voided and not row.can_change
    assert row.item.void_reason == "entered on the wrong course" and row.item.voided_by == actor
    event = AuditEvent.objects.get(action=f"{code}.void", object_uuid=item.uuid)
    assert (event.before, event.after, event.reason) == (
        {"in_force": True},
        {"in_force": False},
        "entered on the wrong course",
    )
    with pytest.raises(InvalidInput, match="already voided"):
        corrections.void_record(actor=actor, kind=kind, item=item, reason="again")


@pytest.mark.parametrize("code", sorted(corrections.KINDS))
def test_a_correction_replaces_the_record_for_the_engine_and_audits_before_and_after(
    code, course, nurse, prescriber
):
    kind = corrections.KINDS[code]
    item = one_of_each(course, nurse, prescriber)[code]
    values, engine_sees = CHANGES[code]
    replacement = corrections.correct_record(
        actor=prescriber, kind=kind, item=item, values=values, reason="typing error"
    )
    old = kind.model.all_objects.get(pk=item.pk)
    assert old.voided and old.replaced_by_id == replacement.pk and old.void_reason == "typing error"
    for name, value in values.items():
        assert getattr(replacement, name) == value
    if engine_sees is not None:
        assert engine_sees(course_facts(course)), code
    else:
        assert [e.severity for e in course.side_effects.all()] == ["moderate"]
    event = AuditEvent.objects.get(action=f"{code}.correct")
    assert event.reason == "typing error"
    (name,) = values
    assert event.before[name] != event.after[name]


def test_a_correction_meets_the_rules_of_a_new_record_and_saves_nothing_when_refused(
    course, nurse, prescriber
):
    lab = one_of_each(course, nurse, prescriber)["lab"]
    kind = corrections.KINDS["lab"]
    with pytest.raises(InvalidInput) as error:
        corrections.correct_record(
            actor=nurse, kind=kind, item=lab, values={"effective_date": date(2027, 1, 5)}, reason="wrong day"
        )
    assert error.value.field == "effective_date"
    lab.refresh_from_db()
    assert not lab.voided
    assert not AuditEvent.objects.filter(action=EventCode.LAB_CORRECT).exists()


def test_a_correction_needs_a_reason_and_a_change(course, nurse, prescriber):
    lab = one_of_each(course, nurse, prescriber)["lab"]
    kind = corrections.KINDS["lab"]
    with pytest.raises(InvalidInput) as error:
        corrections.correct_record(actor=nurse, kind=kind, item=lab, values={"value": Decimal(9)}, reason=" ")
    assert error.value.field == "correction_reason"
    with pytest.raises(InvalidInput, match="Nothing was changed"):
        corrections.correct_record(
            actor=nurse, kind=kind, item=lab, values={"value": Decimal(150)}, reason="x"
        )


def test_only_the_roles_that_write_a_kind_correct_or_void_it(
    course, nurse, prescriber, front_desk, auditor, outsider
):
    records = one_of_each(course, nurse, prescriber)
    with pytest.raises(NotPermitted):
        corrections.void_record(actor=nurse, kind=corrections.KINDS["dose"], item=records["dose"], reason="x")
    with pytest.raises(NotPermitted):
        corrections.void_record(
            actor=front_desk, kind=corrections.KINDS["lab"], item=records["lab"], reason="x"
        )
    with pytest.raises(NotPermitted):
        corrections.void_record(
            actor=auditor, kind=corrections.KINDS["visit"], item=records["visit"], reason="x"
        )
    with pytest.raises(RecordNotFound):
        corrections.void_record(
            actor=outsider, kind=corrections.KINDS["lab"], item=records["lab"], reason="x"
        )
    with pytest.raises(RecordNotFound):
        corrections.find(outsider, corrections.KINDS["lab"], records["lab"].uuid)
    corrections.void_record(
        actor=front_desk, kind=corrections.KINDS["visit"], item=records["visit"], reason="x"
    )
    assert not course.visits.exists()


def test_a_voided_dose_day_or_missed_dose_can_be_entered_again(course, nurse, prescriber):
    records = one_of_each(course, nurse, prescriber)
    corrections.void_record(
        actor=nurse, kind=corrections.KINDS["missed-dose"], item=records["missed-dose"], reason="x"
    )
    record_missed_dose(actor=nurse, course=course, day=date(2026, 7, 10))
    assert course_facts(course).missed_doses == (date(2026, 7, 10),)


def test_the_api_voids_a_record_like_the_page_and_answers_problems_like_every_write(
    course, nurse, prescriber, outsider
):
    records = one_of_each(course, nurse, prescriber)
    lab = records["lab"]
    api = TokenClient(token_for(nurse))
    url = f"/api/v1/records/lab/{lab.uuid}/void"
    refused = api.post(url, {"reason": ""}, content_type="application/json")
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    done = api.post(url, {"reason": "wrong patient"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["reason"] == "wrong patient"
    assert not course.lab_results.exists() and _in_facts(course, "lab") == 0
    again = api.post(url, {"reason": "again"}, content_type="application/json")
    assert again.status_code == 422 and "already voided" in again.json()["detail"]
    dose = api.post(
        f"/api/v1/records/dose/{records['dose'].uuid}/void", {"reason": "x"}, content_type="application/json"
    )
    assert dose.status_code == 403  # a nurse does not write doses
    unknown = api.post(
        f"/api/v1/records/allergy/{lab.uuid}/void", {"reason": "x"}, content_type="application/json"
    )
    assert unknown.status_code == 404
    stranger = TokenClient(token_for(outsider))
    visit = f"/api/v1/records/visit/{records['visit'].uuid}/void"
    assert stranger.post(visit, {"reason": "x"}, content_type="application/json").status_code == 404
