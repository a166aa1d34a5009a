"""What is observed during a course: pregnancy tests, lab results, mood screens, side effects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability
from isotrack.clinic.actions.base import (
    action,
    check_course,
    create,
    dated,
    plausible,
)
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import (
    LOINC_BY_LAB_TEST,
    Course,
    LabResult,
    MoodScreen,
    PregnancyTest,
    ReportSource,
    SideEffect,
    StaffUser,
)
from isotrack.core import plausibility


@action
def record_pregnancy_test(
    *,
    actor: StaffUser,
    course: Course,
    purpose: str,
    setting: str,
    specimen_date: date,
    result: str,
    verified_by: StaffUser | None = None,
    verification_note: str = "",
) -> PregnancyTest:
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    if verified_by is not None and verified_by.practice_id != course.patient.practice_id:
        raise InvalidInput("The verifier must be on the practice's staff.", field="verified_by")
    dated(course.patient, specimen_date, "specimen_date", "A specimen")
    item = PregnancyTest(
        course=course,
        purpose=purpose,
        setting=setting,
        specimen_date=specimen_date,
        result=result,
        verified_by=verified_by,
        verification_note=verification_note,
    )
    return create(actor, item, patient=course.patient, code=EventCode.PREGNANCY_TEST_RECORD)


@action
def record_lab_result(
    *,
    actor: StaffUser,
    course: Course,
    test: str,
    effective_date: date,
    value: Decimal,
    unit: str,
    uln: Decimal | None = None,
    reference_low: Decimal | None = None,
    reference_high: Decimal | None = None,
) -> LabResult:
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    dated(course.patient, effective_date, "effective_date", "A lab result")
    plausible(plausibility.lab_unit(test, unit), "unit")
    plausible(plausibility.lab_value(test, float(value), unit), "value")
    item = LabResult(
        course=course,
        test=test,
        loinc=LOINC_BY_LAB_TEST.get(test, ""),  # type: ignore[call-overload]
        effective_date=effective_date,
        value=value,
        unit=unit,
        uln=uln,
        reference_low=reference_low,
        reference_high=reference_high,
    )
    return create(actor, item, patient=course.patient, code=EventCode.LAB_RECORD)


@action
def record_mood_screen(
    *,
    actor: StaffUser,
    course: Course,
    day: date,
    instrument: str,
    score: int,
    item9: int | None = None,
    source: str = ReportSource.CLINIC,
) -> MoodScreen:
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    dated(course.patient, day, "date", "A mood screen")
    plausible(plausibility.phq9_item9(score, item9), "item9")
    item = MoodScreen(course=course, date=day, instrument=instrument, score=score, item9=item9, source=source)
    return create(actor, item, patient=course.patient, code=EventCode.MOOD_SCREEN_RECORD)


@action
def record_side_effect(
    *,
    actor: StaffUser,
    course: Course,
    term: str,
    severity: str,
    onset: date,
    resolved_on: date | None = None,
    action_taken: str = "none",
    source: str = ReportSource.CLINIC,
) -> SideEffect:
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    dated(course.patient, onset, "onset", "A side effect's onset")
    if resolved_on is not None:
        dated(course.patient, resolved_on, "resolved_on", "A side effect's end")
    item = SideEffect(
        course=course,
        term=term,
        severity=severity,
        onset=onset,
        resolved_on=resolved_on,
        action=action_taken,
        source=source,
    )
    return create(actor, item, patient=course.patient, code=EventCode.SIDE_EFFECT_RECORD)
