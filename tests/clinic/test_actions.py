from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.alerts import acknowledge_alert, record_pregnancy_follow_up
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.actions.ipledge import record_dispense
from isotrack.clinic.actions.observations import record_lab_result, record_pregnancy_test
from isotrack.clinic.actions.patients import (
    change_weight,
    record_weight,
    register_patient,
    set_patient_category,
)
from isotrack.clinic.actions.visits import record_visit
from isotrack.clinic.errors import InvalidInput, NotPermitted, RecordNotFound
from isotrack.clinic.models import DoseSegment, Patient, Weight


def test_it_stores_a_weight_entered_in_pounds_in_kilograms(nurse, patient):
    weight = record_weight(
        actor=nurse, patient=patient, effective_date=date(2026, 5, 1), value=Decimal("150"), unit="lb"
    )
    assert weight.kg == Decimal("68.04")
    assert (weight.entered_value, weight.entered_unit) == (Decimal("150"), "lb")


def test_it_audits_a_changed_weight_with_old_and_new_values(nurse, weight):
    change_weight(
        actor=nurse,
        weight=weight,
        effective_date=weight.effective_date,
        value=Decimal("64.5"),
        unit="kg",
        reason="scale was not zeroed",
    )
    event = AuditEvent.objects.get(action=EventCode.WEIGHT_CHANGE)
    assert event.actor == nurse
    assert event.patient == weight.patient
    assert event.before == {"kg": "62.00", "entered_value": "62.00"}
    assert event.after == {"kg": "64.50", "entered_value": "64.50"}
    assert event.reason == "scale was not zeroed"


def test_it_refuses_an_impossible_weight_and_saves_nothing(nurse, patient):
    with pytest.raises(InvalidInput) as error:
        record_weight(
            actor=nurse, patient=patient, effective_date=date(2026, 5, 1), value=Decimal("900"), unit="kg"
        )
    assert error.value.field == "value"
    assert not Weight.objects.exists()
    assert not AuditEvent.objects.filter(action=EventCode.WEIGHT_RECORD).exists()


def test_it_lets_only_a_prescriber_change_a_dose(nurse, course):
    with pytest.raises(NotPermitted):
        change_dose(
            actor=nurse,
            course=course,
            starts_on=date(2026, 7, 1),
            mg_per_day=Decimal(60),
            product="conventional",
            change_reason="planned",
            reason="tolerating well",
        )
    assert DoseSegment.objects.filter(course=course).count() == 1


def test_it_records_a_dose_change_with_its_reason(prescriber, course):
    change_dose(
        actor=prescriber,
        course=course,
        starts_on=date(2026, 7, 1),
        mg_per_day=Decimal(30),
        product="conventional",
        change_reason="side_effects",
        reason="dry lips",
    )
    event = AuditEvent.objects.get(action=EventCode.DOSE_CHANGE)
    assert event.reason == "Side effects; dry lips"  # the code's words and the note, as the audit list shows
    assert event.after["mg_per_day"] == "30.0"
    assert (event.after["change_reason"], event.after["reason"]) == ("side_effects", "dry lips")


def test_it_lets_only_a_prescriber_change_the_category_and_keeps_who_and_when(nurse, prescriber, patient):
    with pytest.raises(NotPermitted):
        set_patient_category(actor=nurse, patient=patient, category="cannot_get_pregnant", reason="x")
    set_patient_category(
        actor=prescriber, patient=patient, category="cannot_get_pregnant", reason="hysterectomy documented"
    )
    patient.refresh_from_db()
    assert patient.category == "cannot_get_pregnant"
    assert patient.category_set_by == prescriber
    event = AuditEvent.objects.get(action=EventCode.PATIENT_CATEGORY)
    assert event.before["category"] == "can_get_pregnant"
    assert event.after["category"] == "cannot_get_pregnant"


def test_it_refuses_an_auditor_every_action(auditor, patient, course, weight):
    attempts = [
        lambda: record_weight(
            actor=auditor, patient=patient, effective_date=date(2026, 5, 1), value=Decimal(60), unit="kg"
        ),
        lambda: register_patient(
            actor=auditor,
            mrn="X",
            given_name="A",
            family_name="B",
            birth_date=date(2000, 1, 1),
            category="can_get_pregnant",
        ),
        lambda: record_dispense(actor=auditor, course=course, day=date(2026, 6, 1), days_supply=30),
        lambda: record_pregnancy_test(
            actor=auditor,
            course=course,
            purpose="monthly",
            setting="lab",
            specimen_date=date(2026, 6, 1),
            result="negative",
        ),
        lambda: record_visit(actor=auditor, course=course, day=date(2026, 6, 1)),
    ]
    for attempt in attempts:
        with pytest.raises(NotPermitted):
            attempt()


def test_it_treats_another_practices_patient_as_missing(outsider, patient):
    with pytest.raises(RecordNotFound):
        record_weight(
            actor=outsider, patient=patient, effective_date=date(2026, 5, 1), value=Decimal(60), unit="kg"
        )


def test_it_refuses_a_second_patient_with_the_same_mrn(prescriber, patient):
    with pytest.raises(InvalidInput) as error:
        register_patient(
            actor=prescriber,
            mrn=patient.mrn,
            given_name="Other",
            family_name="Person",
            birth_date=date(2001, 1, 1),
            category="cannot_get_pregnant",
        )
    assert error.value.field == "mrn"
    assert Patient.objects.count() == 1


def test_it_rolls_back_the_whole_course_when_its_first_dose_is_invalid(prescriber, patient):
    from isotrack.clinic.models import Course

    with pytest.raises(InvalidInput):
        start_course(
            actor=prescriber,
            patient=patient,
            prescriber=prescriber,
            start=date(2026, 6, 1),
            mg_per_day=Decimal(0),
            product="conventional",
        )
    assert not Course.objects.exists()
    assert not AuditEvent.objects.filter(action=EventCode.COURSE_START).exists()


def test_it_refuses_a_dispense_of_more_than_thirty_days(nurse, course):
    with pytest.raises(InvalidInput) as error:
        record_dispense(actor=nurse, course=course, day=date(2026, 6, 1), days_supply=31)
    assert error.value.field == "days_supply"


# --- alerts and a positive test's follow-up -----------------------------------------------------------------

ALERT_DAY = date(2026, 7, 1)


@pytest.fixture
def high_alt(nurse, course):
    return record_lab_result(
        actor=nurse, course=course, test="alt", effective_date=ALERT_DAY, value=Decimal(200), unit="U/L"
    )


def acknowledge(actor, course, **changes):
    values = {
        "code": "LIVER_ENZYMES_HIGH",
        "alert_date": ALERT_DAY,
        "reason": "dose reduced",
        "day": ALERT_DAY,
    }
    return acknowledge_alert(actor=actor, course=course, **(values | changes))


def test_a_prescriber_acknowledges_an_alert_with_a_reason_and_it_is_audited(prescriber, course, high_alt):
    seen = acknowledge(prescriber, course)
    assert (seen.alert_code, seen.alert_date, seen.date, seen.recorded_by) == (
        "LIVER_ENZYMES_HIGH",
        ALERT_DAY,
        ALERT_DAY,
        prescriber,
    )
    event = AuditEvent.objects.get(action=EventCode.ALERT_ACKNOWLEDGE)
    assert event.actor == prescriber and event.reason == "dose reduced"
    assert event.after["alert_code"] == "LIVER_ENZYMES_HIGH"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reason": "  "}, "Say why"),
        ({"alert_date": date(2026, 6, 30)}, "no such alert"),
        ({"code": "TRIGLYCERIDES_CRITICAL"}, "no such alert"),
        ({"code": "PREGNANCY_TEST_POSITIVE"}, "follow-up steps"),
        ({"code": "NOT_AN_ALERT"}, "not an alert"),
    ],
)
def test_it_refuses_to_acknowledge_what_the_engine_does_not_raise(
    prescriber, course, high_alt, changes, message
):
    with pytest.raises(InvalidInput, match=message):
        acknowledge(prescriber, course, **changes)
    assert not course.acknowledgments.exists()


def test_an_alert_is_acknowledged_once_and_only_by_a_prescriber(prescriber, nurse, course, high_alt):
    with pytest.raises(NotPermitted):
        acknowledge(nurse, course)
    acknowledge(prescriber, course)
    with pytest.raises(InvalidInput, match="already acknowledged"):
        acknowledge(prescriber, course, reason="again")


@pytest.fixture
def positive(nurse, course):
    return record_pregnancy_test(
        actor=nurse,
        course=course,
        purpose="monthly",
        setting="office",
        specimen_date=ALERT_DAY,
        result="positive",
    )


def test_recording_that_the_drug_was_stopped_ends_the_course_that_day(prescriber, course, positive):
    record_pregnancy_follow_up(actor=prescriber, course=course, step="stop", day=ALERT_DAY)
    course.refresh_from_db()
    assert (course.status, course.end) == ("revoked", ALERT_DAY)
    assert AuditEvent.objects.filter(action=EventCode.PREGNANCY_FOLLOW_UP_RECORD).count() == 1
    assert AuditEvent.objects.filter(action=EventCode.COURSE_STOP).count() == 1
    record_pregnancy_follow_up(actor=prescriber, course=course, step="report", day=ALERT_DAY, note="phone")
    assert set(course.pregnancy_follow_ups.values_list("step", flat=True)) == {"stop", "report"}


def test_a_course_stopped_before_its_first_dose_is_stopped_without_a_last_dose(prescriber, nurse, course):
    record_pregnancy_test(
        actor=nurse, course=course, purpose="screening", setting="office", specimen_date=date(2026, 5, 1),
        result="positive",
    )  # fmt: skip
    record_pregnancy_follow_up(actor=prescriber, course=course, step="stop", day=date(2026, 5, 1))
    course.refresh_from_db()
    assert (course.status, course.end) == ("revoked", None)


@pytest.mark.parametrize(
    ("step", "day", "message"),
    [
        ("celebrate", ALERT_DAY, "not a follow-up step"),
        ("refer", date(2026, 6, 30), "before the positive test"),
    ],
)
def test_it_refuses_a_follow_up_that_cannot_be(prescriber, course, positive, step, day, message):
    with pytest.raises(InvalidInput, match=message):
        record_pregnancy_follow_up(actor=prescriber, course=course, step=step, day=day)


def test_a_follow_up_needs_a_positive_test_a_prescriber_and_is_recorded_once(prescriber, nurse, course):
    with pytest.raises(InvalidInput, match="no positive pregnancy test"):
        record_pregnancy_follow_up(actor=prescriber, course=course, step="refer", day=ALERT_DAY)
    record_pregnancy_test(
        actor=nurse,
        course=course,
        purpose="monthly",
        setting="office",
        specimen_date=ALERT_DAY,
        result="positive",
    )
    with pytest.raises(NotPermitted):
        record_pregnancy_follow_up(actor=nurse, course=course, step="refer", day=ALERT_DAY)
    record_pregnancy_follow_up(actor=prescriber, course=course, step="refer", day=ALERT_DAY)
    with pytest.raises(InvalidInput, match="already recorded"):
        record_pregnancy_follow_up(actor=prescriber, course=course, step="refer", day=ALERT_DAY)
