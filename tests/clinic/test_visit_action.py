"""The monthly visit is one action: every record through its own action, in one transaction, or nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.enrollment import enroll_in_course
from isotrack.clinic.actions.observations import record_lab_result
from isotrack.clinic.actions.patients import register_patient, set_patient_category
from isotrack.clinic.actions.visits import (
    VisitAcknowledgment,
    VisitContraception,
    VisitDoseChange,
    VisitLab,
    VisitMoodScreen,
    VisitPregnancyTest,
    VisitSideEffect,
    VisitWeight,
    record_monthly_visit,
)
from isotrack.clinic.errors import InvalidInput, NotPermitted
from isotrack.clinic.models import (
    Contraception,
    DoseSegment,
    IpledgeEntry,
    LabResult,
    MoodScreen,
    PregnancyTest,
    SideEffect,
    Visit,
    Weight,
)
from isotrack.clinic.queries import visit_summary
from isotrack.clinic.records import target_of

DAY = date(2026, 7, 1)


def routine_visit(actor, course, **changes):
    visit = {
        "day": DAY,
        "weight": VisitWeight(Decimal("140"), "lb"),
        "pregnancy_test": VisitPregnancyTest("monthly", "office", DAY, "negative", verified_by=actor),
        "contraception": VisitContraception(confirmed=True),
        "mood_screen": VisitMoodScreen("phq2", 1),
        "side_effects": (VisitSideEffect("dry lips", "mild"),),
        "labs": (VisitLab("triglycerides", Decimal("140"), "mg/dL"),),
        "prescriber_confirmation": "C-123",
        "days_supply": 30,
    }
    return record_monthly_visit(actor=actor, course=course, **(visit | changes))


def saved_counts(course):
    return {
        "visits": Visit.objects.filter(course=course).count(),
        "weights": Weight.objects.filter(patient=course.patient).count(),
        "tests": PregnancyTest.objects.filter(course=course).count(),
        "moods": MoodScreen.objects.filter(course=course).count(),
        "side_effects": SideEffect.objects.filter(course=course).count(),
        "labs": LabResult.objects.filter(course=course).count(),
        "ipledge": IpledgeEntry.objects.filter(course=course).count(),
        "doses": DoseSegment.objects.filter(course=course).count(),
        "contraception": Contraception.objects.filter(patient=course.patient).count(),
        "audit": AuditEvent.objects.count(),
    }


def test_it_records_a_routine_visit_with_an_audit_row_for_each_record(nurse, course, methods):
    visit = routine_visit(nurse, course)
    actions_logged = list(AuditEvent.objects.filter(actor=nurse).values_list("action", flat=True))
    for code in (
        EventCode.VISIT_RECORD,
        EventCode.WEIGHT_RECORD,
        EventCode.PREGNANCY_TEST_RECORD,
        EventCode.MOOD_SCREEN_RECORD,
        EventCode.SIDE_EFFECT_RECORD,
        EventCode.LAB_RECORD,
        EventCode.IPLEDGE_PRESCRIBER_CONFIRMATION,
    ):
        assert actions_logged.count(code) == 1, code
    assert Weight.objects.get(patient=course.patient).kg == Decimal("63.50")
    assert (
        IpledgeEntry.objects.get(course=course, kind="prescriber_confirmation").confirmation_number == "C-123"
    )
    assert (visit.prescription_days_supply, visit.prescription_mg_per_day, visit.prescription_product) == (
        30,
        Decimal(40),
        "conventional",
    )
    assert visit.methods_confirmed.split() == ["iud_copper", "male_condom"]
    assert visit_summary(visit).endswith(
        "Contraception confirmed in use: Copper IUD, Male condom. "
        "Prescription to send: 30-day supply of 40.0 mg/day, Conventional."
    )


def test_a_bad_lab_value_makes_the_whole_visit_save_nothing(nurse, course, methods):
    before = saved_counts(course)
    with pytest.raises(InvalidInput) as error:
        routine_visit(nurse, course, labs=(VisitLab("triglycerides", Decimal("-5"), "mg/dL"),))
    assert error.value.field == "lab_0_value"
    assert saved_counts(course) == before


def test_an_impossible_weight_names_the_weight_field_and_saves_nothing(nurse, course, methods):
    before = saved_counts(course)
    with pytest.raises(InvalidInput) as error:
        routine_visit(nurse, course, weight=VisitWeight(Decimal("900"), "lb"))
    assert error.value.field == "weight_value"
    assert saved_counts(course) == before


def test_a_nurse_cannot_change_the_dose_and_the_visit_saves_nothing(nurse, course, methods):
    before = saved_counts(course)
    change = VisitDoseChange(Decimal(60), "conventional", "planned", date(2026, 7, 2), "tolerating well")
    with pytest.raises(NotPermitted):
        routine_visit(nurse, course, dose_change=change)
    assert saved_counts(course) == before


def test_a_prescriber_changes_the_dose_at_the_visit_with_its_reason(prescriber, course, methods):
    change = VisitDoseChange(Decimal(60), "conventional", "planned", date(2026, 7, 2), "tolerating well")
    routine_visit(prescriber, course, dose_change=change)
    segment = DoseSegment.objects.get(course=course, starts_on=date(2026, 7, 2))
    assert (segment.mg_per_day, segment.change_reason, segment.reason) == (
        Decimal(60),
        "planned",
        "tolerating well",
    )
    assert (
        AuditEvent.objects.get(action=EventCode.DOSE_CHANGE).reason
        == "The planned step (titration); tolerating well"
    )


@pytest.mark.parametrize("code", ["", "dry lips"])
def test_a_dose_change_without_a_known_reason_saves_nothing_of_the_visit(prescriber, course, methods, code):
    before = saved_counts(course)
    change = VisitDoseChange(Decimal(60), "conventional", code, date(2026, 7, 2), "tolerating well")
    with pytest.raises(InvalidInput) as error:
        routine_visit(prescriber, course, dose_change=change)
    assert error.value.field == "dose_change_reason"  # beside the visit form's field
    assert saved_counts(course) == before


def test_it_refuses_a_visit_without_the_contraception_confirmed_or_changed(nurse, course, methods):
    with pytest.raises(InvalidInput) as error:
        routine_visit(nurse, course, contraception=VisitContraception(confirmed=False))
    assert error.value.field == "contraception_confirmed"
    assert not Visit.objects.exists()


def test_a_change_of_contraception_ends_one_method_and_starts_another(nurse, course, methods):
    change = VisitContraception(confirmed=False, stopped=(methods[0],), started=("implant",))
    routine_visit(nurse, course, contraception=change)
    methods[0].refresh_from_db()
    assert methods[0].end == DAY
    assert Contraception.objects.get(method="implant").start == DAY
    assert AuditEvent.objects.filter(action=EventCode.CONTRACEPTION_END).count() == 1


def test_it_refuses_a_prescription_over_thirty_days(nurse, course, methods):
    with pytest.raises(InvalidInput) as error:
        routine_visit(nurse, course, days_supply=31)
    assert error.value.field == "days_supply"
    assert not Visit.objects.exists()


def test_it_refuses_a_pregnancy_test_for_a_patient_who_cannot_get_pregnant(prescriber, nurse, course):
    set_patient_category(
        actor=prescriber, patient=course.patient, category="cannot_get_pregnant", reason="hysterectomy"
    )
    with pytest.raises(InvalidInput):
        routine_visit(nurse, course, contraception=None)
    routine_visit(nurse, course, contraception=None, pregnancy_test=None)
    assert Visit.objects.count() == 1


def test_enrollment_assigns_the_category_starts_the_course_and_records_the_enrollment(front_desk, prescriber):
    patient = register_patient(
        actor=front_desk,
        mrn="T-0200",
        given_name="Rowan",
        family_name="Sample",
        birth_date=date(2005, 1, 2),
    )  # IPL-CAT: the front desk leaves the category to the prescriber
    course = enroll_in_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        category="can_get_pregnant",
        start=date(2026, 6, 1),
        mg_per_day=Decimal(40),
        product="conventional",
        enrollment_date=date(2026, 4, 1),
        confirmation_number="E-1",
        weight=VisitWeight(Decimal("130"), "lb"),
    )
    patient.refresh_from_db()
    assert patient.category_set_by == prescriber  # IPL-CAT: the prescriber assigns it
    assert course.target_mg_per_kg is None  # none given: the practice's target, which its settings change
    assert target_of(course, patient.practice) == Decimal(150)
    entry = IpledgeEntry.objects.get(course=course, kind="enrollment")
    assert (entry.kind, entry.date, entry.confirmation_number) == ("enrollment", date(2026, 4, 1), "E-1")
    assert Weight.objects.get(patient=patient).kg == Decimal("58.97")
    assert {
        EventCode.PATIENT_CATEGORY,
        EventCode.COURSE_START,
        EventCode.DOSE_PRESCRIBE,
        EventCode.IPLEDGE_ENROLLMENT,
        EventCode.WEIGHT_RECORD,
    } <= set(AuditEvent.objects.filter(actor=prescriber).values_list("action", flat=True))


def test_a_nurse_cannot_enroll_a_patient_in_a_course(nurse, prescriber, patient):
    with pytest.raises(NotPermitted):
        enroll_in_course(
            actor=nurse,
            patient=patient,
            prescriber=prescriber,
            category="can_get_pregnant",
            start=date(2026, 6, 1),
            mg_per_day=Decimal(40),
            product="conventional",
            enrollment_date=date(2026, 4, 1),
        )
    assert not patient.courses.exists()


def test_a_dose_change_at_the_visit_is_the_prescription_to_send(prescriber, course, methods):
    change = VisitDoseChange(Decimal(60), "conventional", "planned", date(2026, 6, 2), "Tolerating well")
    visit = routine_visit(prescriber, course, dose_change=change, days_supply=28)
    assert (visit.prescription_days_supply, visit.prescription_mg_per_day) == (28, Decimal(60))


def test_a_visit_without_a_prescription_records_none(nurse, course, methods):
    visit = routine_visit(nurse, course, days_supply=None, contraception=None)
    assert visit.prescription_days_supply is None and visit.methods_confirmed == ""
    assert "Prescription to send" not in visit_summary(visit)


@pytest.mark.parametrize(
    ("what", "changes"),
    [
        (
            "a positive pregnancy test",
            {  # and no confirmation: a prescriber confirms only a negative test (IPL-PRESCRIBER-CONFIRM)
                "pregnancy_test": VisitPregnancyTest("monthly", "office", DAY, "positive"),
                "prescriber_confirmation": None,
            },
        ),
        ("critical triglycerides", {"labs": (VisitLab("triglycerides", Decimal("870"), "mg/dL"),)}),
        ("thoughts of self-harm", {"mood_screen": VisitMoodScreen("phq9", 12, 1)}),
    ],
)
def test_a_visit_that_records_a_finding_which_stops_the_drug_saves_no_prescription(
    nurse, course, methods, what, changes
):
    visit = routine_visit(nurse, course, **changes)
    assert visit.prescription is None, what
    assert "Prescription to send" not in visit_summary(visit)


def test_a_prescriber_acknowledging_the_alert_at_the_visit_gets_the_prescription(
    prescriber, nurse, course, methods
):
    record_lab_result(
        actor=nurse, course=course, test="alt", effective_date=DAY, value=Decimal(200), unit="U/L"
    )
    withheld = routine_visit(prescriber, course, day=DAY)
    assert withheld.prescription is None
    seen = VisitAcknowledgment("LIVER_ENZYMES_HIGH", DAY, "dose reduced, recheck in 2 weeks")
    visit = routine_visit(prescriber, course, day=DAY, labs=(), acknowledgments=(seen,))
    assert visit.prescription == {"days_supply": 30, "mg_per_day": 40.0, "product": "conventional"}
    assert AuditEvent.objects.filter(action=EventCode.ALERT_ACKNOWLEDGE, actor=prescriber).count() == 1


def test_only_a_prescriber_acknowledges_an_alert_at_the_visit(nurse, course, methods):
    record_lab_result(
        actor=nurse, course=course, test="alt", effective_date=DAY, value=Decimal(200), unit="U/L"
    )
    seen = VisitAcknowledgment("LIVER_ENZYMES_HIGH", DAY, "looked at it")
    with pytest.raises(NotPermitted):
        routine_visit(nurse, course, acknowledgments=(seen,))
