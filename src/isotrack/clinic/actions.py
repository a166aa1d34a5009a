"""Every write to the clinic's records.

Each action takes the acting user as the keyword `actor`, checks the actor's practice and role, validates, and
does the whole change in one transaction together with its audit row (who, when, what, before and after).
Pages, the API, the command line and the demo generator all write through these functions and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from isotrack import core
from isotrack.audit import trail
from isotrack.audit.models import AuditEvent
from isotrack.audit.trail import snapshot
from isotrack.clinic import worklist_entries
from isotrack.clinic.access import Capability, can, require
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.models import (
    LOINC_BY_LAB_TEST,
    AlertAcknowledgment,
    Contraception,
    Course,
    CourseStatus,
    Dispense,
    DoseSegment,
    Interruption,
    IpledgeEntry,
    LabResult,
    MissedDose,
    MoodScreen,
    Patient,
    PatientCategory,
    Practice,
    PregnancyFollowUp,
    PregnancyFollowUpStep,
    PregnancyTest,
    Role,
    SideEffect,
    StaffUser,
    Visit,
    Weight,
    WeightUnit,
)
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import course_facts
from isotrack.core import plausibility

P = ParamSpec("P")
R = TypeVar("R")

KG_PER_LB = Decimal("0.45359237")  # exact, by definition of the international pound


def action(func: Callable[P, R]) -> Callable[P, R]:
    """One transaction per action; a database constraint violation becomes a clear InvalidInput."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except IntegrityError as error:
            raise InvalidInput(_integrity_message(error)) from error

    return run


def record(*, patient: Patient, **event: Any) -> AuditEvent:
    """The audit row of a write to the patient's records (``audit.trail.record``, inside the action's
    transaction); the stored worklist lines of the patient's courses go out of date with it, in the same
    transaction (``worklist_entries.mark_stale``). Every clinical write records through here."""
    row = trail.record(patient=patient, **event)
    worklist_entries.mark_stale(patient.pk)
    return row


def _integrity_message(error: IntegrityError) -> str:
    text = str(error).lower()
    if "unique" in text or "duplicate" in text:
        return "That record already exists."
    return "The values are outside what the record allows."


def _validated_save(instance: models.Model) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        field, errors = next(iter(error.error_dict.items()))
        first = errors[0]
        if field == "__all__":
            # Check constraints carry the field they guard as their violation code (see models.py).
            field = first.code if first.code in {f.name for f in instance._meta.fields} else None
        raise InvalidInput(" ".join(first.messages), field=field) from error
    instance.save()


def _check_practice(actor: StaffUser, patient: Patient) -> None:
    if actor.practice_id is None or patient.practice_id != actor.practice_id:
        raise RecordNotFound("No such patient.")


def _create(actor: StaffUser, instance: Any, *, patient: Patient, action_code: str, reason: str = "") -> Any:
    instance.recorded_by = actor
    _validated_save(instance)
    record(
        actor=actor,
        action=action_code,
        instance=instance,
        patient=patient,
        after=snapshot(instance),
        reason=reason,
    )
    return instance


def _plausible(problem: str | None, field: str | None) -> None:
    """core.plausibility's answer: a problem is refused beside the field it is about."""
    if problem is not None:
        raise InvalidInput(problem, field=field)


def _today(patient: Patient) -> date:
    return practice_today(Practice.objects.get(pk=patient.practice_id))


def _dated(patient: Patient, day: date, field: str, what: str) -> None:
    """A clinical fact: on or before the practice's today, on or after the patient's birth."""
    _plausible(plausibility.not_after_today(day, _today(patient), what), field)
    _plausible(plausibility.not_before_birth(day, patient.birth_date, what), field)


def _course_record(actor: StaffUser, course: Course, capability: Capability) -> None:
    require(actor, capability)
    _check_practice(actor, course.patient)


# ------------------------------------------------------------------------------------------------- patients


@action
def register_patient(
    *,
    actor: StaffUser,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: date,
    category: str = "",
    ipledge_id: str = "",
    email: str = "",
    phone: str = "",
    reminders_consent: bool = False,
) -> Patient:
    """A new patient. The iPLEDGE category is a prescriber's decision (IPL-CAT): registered by anyone else,
    the patient waits on the worklist for a prescriber to assign it."""
    require(actor, Capability.REGISTER_PATIENTS)
    if category and category not in PatientCategory.values:
        raise InvalidInput(f"{category!r} is not a patient category.", field="category")
    if category and not can(actor, Capability.PRESCRIBE):
        raise InvalidInput(
            "Only a prescriber assigns the iPLEDGE category (IPL-CAT): leave it to be assigned.",
            field="category",
        )
    today = practice_today(Practice.objects.get(pk=actor.practice_id))
    _plausible(plausibility.birth_date(birth_date, today), "birth_date")
    patient = Patient(
        practice_id=actor.practice_id,
        mrn=mrn.strip(),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        birth_date=birth_date,
        category=category,
        ipledge_id=ipledge_id.strip(),
        category_set_by=actor if category else None,
        category_set_at=timezone.now() if category else None,
        email=email,
        phone=phone,
        reminders_consent=reminders_consent,
    )
    if Patient.objects.filter(practice_id=actor.practice_id, mrn=patient.mrn).exists():
        raise InvalidInput("Another patient of the practice has this MRN.", field="mrn")
    if (
        patient.ipledge_id
        and Patient.objects.filter(practice_id=actor.practice_id, ipledge_id=patient.ipledge_id).exists()
    ):
        raise InvalidInput("Another patient of the practice has this iPLEDGE ID.", field="ipledge_id")
    _validated_save(patient)
    record(actor=actor, action="patient.register", instance=patient, patient=patient, after=snapshot(patient))
    return patient


@action
def set_patient_category(*, actor: StaffUser, patient: Patient, category: str, reason: str) -> Patient:
    """IPL-CAT: only a prescriber assigns or changes the category; the change and its reason are audited."""
    require(actor, Capability.PRESCRIBE)
    _check_practice(actor, patient)
    if category not in PatientCategory.values:
        raise InvalidInput(f"{category!r} is not a patient category.", field="category")
    if not reason.strip() and not patient.category:
        reason = "assigned by the prescriber"
    if not reason.strip():
        raise InvalidInput("Say why the category changes.", field="reason")
    before = snapshot(patient)
    patient.category = category
    patient.category_set_by = actor
    patient.category_set_at = timezone.now()
    _validated_save(patient)
    record(
        actor=actor,
        action="patient.category",
        instance=patient,
        patient=patient,
        before=before,
        after=snapshot(patient),
        reason=reason.strip(),
    )
    return patient


# -------------------------------------------------------------------------------------------------- weights


def weight_in_kg(value: Decimal, unit: str) -> Decimal:
    if unit == WeightUnit.LB:
        value = value * KG_PER_LB
    elif unit != WeightUnit.KG:
        raise InvalidInput(f"{unit!r} is not a weight unit (kg or lb).", field="unit")
    kg = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    _plausible(plausibility.weight_kg(float(kg)), "value")
    return kg


@action
def record_weight(
    *, actor: StaffUser, patient: Patient, effective_date: date, value: Decimal, unit: str = "kg"
) -> Weight:
    require(actor, Capability.RECORD_OBSERVATIONS)
    _check_practice(actor, patient)
    _dated(patient, effective_date, "effective_date", "A weight")
    weight = Weight(
        patient=patient,
        effective_date=effective_date,
        kg=weight_in_kg(value, unit),
        entered_value=value,
        entered_unit=unit,
    )
    return _create(actor, weight, patient=patient, action_code="weight.record")


@action
def change_weight(
    *, actor: StaffUser, weight: Weight, effective_date: date, value: Decimal, unit: str, reason: str = ""
) -> Weight:
    require(actor, Capability.RECORD_OBSERVATIONS)
    _check_practice(actor, weight.patient)
    weight = Weight.objects.select_for_update().get(pk=weight.pk)
    _dated(weight.patient, effective_date, "effective_date", "A weight")
    before = snapshot(weight)
    weight.effective_date = effective_date
    weight.kg = weight_in_kg(value, unit)
    weight.entered_value = value
    weight.entered_unit = unit
    _validated_save(weight)
    record(
        actor=actor,
        action="weight.change",
        instance=weight,
        patient=weight.patient,
        before=before,
        after=snapshot(weight),
        reason=reason,
    )
    return weight


@action
def record_contraception(
    *, actor: StaffUser, patient: Patient, method: str, start: date, end: date | None = None
) -> Contraception:
    require(actor, Capability.RECORD_OBSERVATIONS)
    _check_practice(actor, patient)
    _dated(patient, start, "start", "A method's first day")
    if end is not None:
        _dated(patient, end, "end", "A method's last day")
    item = Contraception(patient=patient, method=method, start=start, end=end)
    return _create(actor, item, patient=patient, action_code="contraception.record")


# --------------------------------------------------------------------------------------------------- course


@action
def start_course(
    *,
    actor: StaffUser,
    patient: Patient,
    prescriber: StaffUser,
    start: date,
    mg_per_day: Decimal | None,
    product: str = "conventional",
    target_mg_per_kg: Decimal | None = None,
    indication: str = "L70.0",
    planned_end: date | None = None,
    brand: str = "",
) -> Course:
    """Open a course (qualifying until the first dispense) with its first dose segment."""
    require(actor, Capability.PRESCRIBE)
    _check_practice(actor, patient)
    if prescriber.practice_id != patient.practice_id or prescriber.role != Role.PRESCRIBER:
        raise InvalidInput("Choose a prescriber of this practice.", field="prescriber")
    if not patient.category:
        raise InvalidInput("Assign the patient's iPLEDGE category first (IPL-CAT).", field="category")
    practice = Practice.objects.get(pk=patient.practice_id)
    _plausible(plausibility.first_dosing_day(start, practice_today(practice), patient.birth_date), "start")
    if mg_per_day is not None:
        _plausible(plausibility.mg_per_day(float(mg_per_day)), "mg_per_day")
    course = Course(
        patient=patient,
        prescriber=prescriber,
        indication=indication,
        start=start,
        planned_end=planned_end,
        target_mg_per_kg=target_mg_per_kg if target_mg_per_kg is not None else practice.target_mg_per_kg,
    )
    _validated_save(course)
    worklist_entries.add_line(course)
    record(actor=actor, action="course.start", instance=course, patient=patient, after=snapshot(course))
    if mg_per_day is not None:
        segment = DoseSegment(
            course=course,
            starts_on=start,
            mg_per_day=mg_per_day,
            product=product,
            brand=brand,
            reason="starting dose",
        )
        _create(actor, segment, patient=patient, action_code="dose.prescribe")
    return course


@action
def change_dose(
    *,
    actor: StaffUser,
    course: Course,
    starts_on: date,
    mg_per_day: Decimal,
    product: str,
    reason: str,
    brand: str = "",
) -> DoseSegment:
    """A new dose segment from `starts_on` on. Only a prescriber changes a dose, and says why."""
    _course_record(actor, course, Capability.PRESCRIBE)
    if not reason.strip():
        raise InvalidInput("Say why the dose changes.", field="reason")
    if starts_on < course.start:
        raise InvalidInput("A dose cannot start before the course starts.", field="starts_on")
    if DoseSegment.objects.filter(course=course, starts_on=starts_on).exists():
        raise InvalidInput("A dose already starts on that day.", field="starts_on")
    _plausible(plausibility.mg_per_day(float(mg_per_day)), "mg_per_day")
    _plausible(
        plausibility.planned_within_a_year(starts_on, _today(course.patient), "A new dose"), "starts_on"
    )
    segment = DoseSegment(
        course=course,
        starts_on=starts_on,
        mg_per_day=mg_per_day,
        product=product,
        brand=brand,
        reason=reason.strip(),
    )
    return _create(actor, segment, patient=course.patient, action_code="dose.change", reason=reason.strip())


@action
def end_course(
    *, actor: StaffUser, course: Course, end: date, reason: str = "", stopped: bool = False
) -> Course:
    """Record the last day of dosing: a completed course, or one stopped early (`stopped`, e.g. a positive
    pregnancy test), which FHIR calls a revoked CarePlan."""
    _course_record(actor, course, Capability.PRESCRIBE)
    course = Course.objects.select_for_update().get(pk=course.pk)
    _plausible(
        plausibility.planned_within_a_year(end, _today(course.patient), "The last day of dosing"), "end"
    )
    before = snapshot(course)
    course.end = end
    course.status = CourseStatus.REVOKED if stopped else CourseStatus.COMPLETED
    _validated_save(course)
    record(
        actor=actor,
        action="course.stop" if stopped else "course.end",
        instance=course,
        patient=course.patient,
        before=before,
        after=snapshot(course),
        reason=reason,
    )
    return course


@action
def activate_course(*, actor: StaffUser, course: Course) -> Course:
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.status == CourseStatus.DRAFT:
        _set_status(actor, course, CourseStatus.ACTIVE, "course.activate")
    return course


def _set_status(actor: StaffUser, course: Course, status: Any, action_code: str, reason: str = "") -> None:
    """A course's status changed (the caller holds the row locked), with its audit row."""
    before = snapshot(course)
    course.status = status
    course.save(update_fields=["status"])
    record(
        actor=actor,
        action=action_code,
        instance=course,
        patient=course.patient,
        before=before,
        after=snapshot(course),
        reason=reason,
    )


@action
def record_interruption(
    *, actor: StaffUser, course: Course, start: date, end: date, reason: str
) -> Interruption:
    _course_record(actor, course, Capability.PRESCRIBE)
    problem = plausibility.days_off(start, end, course.start, _today(course.patient))
    if problem is not None:
        raise InvalidInput(problem[1], field=problem[0])
    item = Interruption(course=course, start=start, end=end, reason=reason)
    return _create(actor, item, patient=course.patient, action_code="interruption.record", reason=reason)


@action
def record_missed_dose(*, actor: StaffUser, course: Course, day: date) -> MissedDose:
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    if (problem := plausibility.days_off(day, day, course.start, _today(course.patient))) is not None:
        raise InvalidInput(problem[1], field="date")
    if MissedDose.objects.filter(course=course, date=day).exists():
        raise InvalidInput("That missed dose is already recorded.", field="date")
    return _create(
        actor, MissedDose(course=course, date=day), patient=course.patient, action_code="missed_dose.record"
    )


# --------------------------------------------------------------------------------------------------- events


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
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    if verified_by is not None and verified_by.practice_id != course.patient.practice_id:
        raise InvalidInput("The verifier must be on the practice's staff.", field="verified_by")
    _dated(course.patient, specimen_date, "specimen_date", "A specimen")
    item = PregnancyTest(
        course=course,
        purpose=purpose,
        setting=setting,
        specimen_date=specimen_date,
        result=result,
        verified_by=verified_by,
        verification_note=verification_note,
    )
    return _create(actor, item, patient=course.patient, action_code="pregnancy_test.record")


@action
def record_ipledge_entry(
    *,
    actor: StaffUser,
    course: Course,
    kind: str,
    day: date,
    confirmation_number: str = "",
    in_order: bool = True,
) -> IpledgeEntry:
    """An iPLEDGE step done. Out of order (``core.entry_out_of_order``) it is refused, naming the step that
    comes first; ``in_order=False`` is for importing a course's history, whose order the engine judges."""
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    _dated(course.patient, day, "date", "An iPLEDGE entry")
    if in_order:
        _plausible(core.entry_out_of_order(course_facts(course), kind, day), "kind")
    item = IpledgeEntry(course=course, kind=kind, date=day, confirmation_number=confirmation_number)
    return _create(actor, item, patient=course.patient, action_code=f"ipledge.{kind}")


@action
def record_dispense(
    *,
    actor: StaffUser,
    course: Course,
    day: date,
    days_supply: int,
    quantity: int | None = None,
    mg_per_day: Decimal | None = None,
    product: str = "",
    pharmacy: str = "",
    rma: str = "",
) -> Dispense:
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    _dated(course.patient, day, "date", "A pick-up")
    item = Dispense(
        course=course,
        date=day,
        days_supply=days_supply,
        quantity=quantity,
        mg_per_day=mg_per_day,
        product=product,
        pharmacy=pharmacy,
        rma=rma,
    )
    dispense = _create(actor, item, patient=course.patient, action_code="dispense.record")
    activate_course(actor=actor, course=course)
    return dispense


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
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    _dated(course.patient, effective_date, "effective_date", "A lab result")
    _plausible(plausibility.lab_unit(test, unit), "unit")
    _plausible(plausibility.lab_value(test, float(value), unit), "value")
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
    return _create(actor, item, patient=course.patient, action_code="lab.record")


@action
def record_visit(
    *,
    actor: StaffUser,
    course: Course,
    day: date,
    note: str = "",
    methods_confirmed: tuple[str, ...] = (),
    prescription: tuple[int, Decimal, str] | None = None,
) -> Visit:
    """A visit; ``prescription`` is the one to send: (days supply, mg/day, product)."""
    require(actor, Capability.REGISTER_PATIENTS)
    _check_practice(actor, course.patient)
    _dated(course.patient, day, "date", "A visit")
    days_supply, mg_per_day, product = prescription if prescription else (None, None, "")
    visit = Visit(
        course=course,
        date=day,
        note=note.strip(),
        methods_confirmed=" ".join(methods_confirmed),
        prescription_days_supply=days_supply,
        prescription_mg_per_day=mg_per_day,
        prescription_product=product,
    )
    return _create(actor, visit, patient=course.patient, action_code="visit.record")


@action
def record_mood_screen(
    *, actor: StaffUser, course: Course, day: date, instrument: str, score: int, item9: int | None = None
) -> MoodScreen:
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    _dated(course.patient, day, "date", "A mood screen")
    item = MoodScreen(course=course, date=day, instrument=instrument, score=score, item9=item9)
    return _create(actor, item, patient=course.patient, action_code="mood_screen.record")


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
) -> SideEffect:
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    _dated(course.patient, onset, "onset", "A side effect's onset")
    if resolved_on is not None:
        _dated(course.patient, resolved_on, "resolved_on", "A side effect's end")
    item = SideEffect(
        course=course, term=term, severity=severity, onset=onset, resolved_on=resolved_on, action=action_taken
    )
    return _create(actor, item, patient=course.patient, action_code="side_effect.record")


@action
def end_contraception(*, actor: StaffUser, contraception: Contraception, end: date) -> Contraception:
    """The last day a method was used (IPL-CON-2); the period stays on record."""
    require(actor, Capability.RECORD_OBSERVATIONS)
    _check_practice(actor, contraception.patient)
    item = Contraception.objects.select_for_update().get(pk=contraception.pk)
    _dated(item.patient, end, "end", "A method's last day")
    before = snapshot(item)
    item.end = end
    _validated_save(item)
    record(
        actor=actor,
        action="contraception.end",
        instance=item,
        patient=item.patient,
        before=before,
        after=snapshot(item),
    )
    return item


# ------------------------------------------------------------------------------ alerts and their follow-up


@action
def acknowledge_alert(
    *, actor: StaffUser, course: Course, code: str, alert_date: date, reason: str, day: date
) -> AlertAcknowledgment:
    """A prescriber acknowledges an alert the core raises on ``day`` (reference.md ALERT-URGENCY), saying why;
    an alert that calls for holding the drug lets a prescription be proposed again. A positive pregnancy test
    is closed by its follow-up steps instead (``record_pregnancy_follow_up``)."""
    _course_record(actor, course, Capability.PRESCRIBE)
    if code not in core.ACKNOWLEDGEABLE:
        raise InvalidInput(
            "A positive pregnancy test is closed by recording its follow-up steps, not acknowledged."
            if code == "PREGNANCY_TEST_POSITIVE"
            else f"{code!r} is not an alert.",
            field="code",
        )
    if not reason.strip():
        raise InvalidInput("Say why the alert is acknowledged (what was decided).", field="reason")
    _plausible(plausibility.not_after_today(day, _today(course.patient), "An acknowledgment"), "date")
    raised = core.evaluate(course_facts(course), day).alerts
    if not any(alert.code == code and alert.date == alert_date for alert in raised):
        raise InvalidInput(f"There is no such alert on {day}: it may have been cleared by a newer result.")
    if AlertAcknowledgment.objects.filter(course=course, alert_code=code, alert_date=alert_date).exists():
        raise InvalidInput("This alert is already acknowledged.", field="code")
    item = AlertAcknowledgment(
        course=course, alert_code=code, alert_date=alert_date, date=day, reason=reason.strip()
    )
    return _create(
        actor, item, patient=course.patient, action_code="alert.acknowledge", reason=reason.strip()
    )


@action
def record_pregnancy_follow_up(
    *, actor: StaffUser, course: Course, step: str, day: date, note: str = ""
) -> PregnancyFollowUp:
    """One follow-up step of a positive pregnancy test done (IPL-PT-POSITIVE), recorded by a prescriber.
    Recording that the drug was stopped also ends the course that day (IPL-PREG-STOP), if it has not ended."""
    _course_record(actor, course, Capability.PRESCRIBE)
    if step not in PregnancyFollowUpStep.values:
        raise InvalidInput(f"{step!r} is not a follow-up step.", field="step")
    positive = course.pregnancy_tests.filter(result="positive").order_by("specimen_date", "id").first()
    if positive is None:
        raise InvalidInput("This course has no positive pregnancy test to follow up.", field="step")
    _plausible(plausibility.not_after_today(day, _today(course.patient), "A follow-up step"), "date")
    if day < positive.specimen_date:
        raise InvalidInput(
            f"The follow-up cannot be before the positive test of {positive.specimen_date}.", field="date"
        )
    if PregnancyFollowUp.objects.filter(course=course, step=step).exists():
        raise InvalidInput("This follow-up step is already recorded.", field="step")
    item = PregnancyFollowUp(course=course, step=step, date=day, note=note.strip())
    done = _create(actor, item, patient=course.patient, action_code="pregnancy_follow_up.record")
    if step == PregnancyFollowUpStep.STOP:
        _stop_course(actor, course, day)
    return done


def _stop_course(actor: StaffUser, course: Course, day: date) -> None:
    """IPL-PREG-STOP: the last day of dosing is the day the drug was stopped; a course that never started is
    stopped without one."""
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.end is not None or course.status == CourseStatus.REVOKED:
        return
    if day >= course.start:
        end_course(actor=actor, course=course, end=day, reason="positive pregnancy test", stopped=True)
        return
    _set_status(
        actor, course, CourseStatus.REVOKED, "course.stop", "positive pregnancy test before the first dose"
    )


# ------------------------------------------------------------------------------------ the monthly visit


@dataclass(frozen=True)
class VisitWeight:
    value: Decimal
    unit: str  # kg or lb


@dataclass(frozen=True)
class VisitPregnancyTest:
    purpose: str
    setting: str
    specimen_date: date
    result: str
    verified_by: StaffUser | None = None
    verification_note: str = ""


@dataclass(frozen=True)
class VisitContraception:
    """IPL-CON-2: the methods in use confirmed as they are, or changed (some stopped, some started)."""

    confirmed: bool
    stopped: tuple[Contraception, ...] = ()
    started: tuple[str, ...] = ()
    start: date | None = None  # the first day of the started methods (default: the visit's day)


@dataclass(frozen=True)
class VisitMoodScreen:
    instrument: str
    score: int
    item9: int | None = None


@dataclass(frozen=True)
class VisitSideEffect:
    term: str
    severity: str
    action_taken: str = "none"


@dataclass(frozen=True)
class VisitLab:
    test: str
    value: Decimal
    unit: str


@dataclass(frozen=True)
class VisitAcknowledgment:
    """A prescriber acknowledges an open alert at the visit (``acknowledge_alert``)."""

    code: str
    alert_date: date
    reason: str


@dataclass(frozen=True)
class VisitDoseChange:
    mg_per_day: Decimal
    product: str
    reason: str
    starts_on: date
    brand: str = ""


class _Section:
    """Names the section of the visit form an error belongs to: `value` of the weight is `weight_value`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if isinstance(error, InvalidInput):
            field = f"{self.prefix}_{error.field}" if error.field else self.prefix
            raise InvalidInput(error.message, field=field) from error


@action
def record_monthly_visit(
    *,
    actor: StaffUser,
    course: Course,
    day: date,
    note: str = "",
    weight: VisitWeight | None = None,
    pregnancy_test: VisitPregnancyTest | None = None,
    contraception: VisitContraception | None = None,
    mood_screen: VisitMoodScreen | None = None,
    side_effects: tuple[VisitSideEffect, ...] = (),
    labs: tuple[VisitLab, ...] = (),
    prescriber_confirmation: str | None = None,
    dose_change: VisitDoseChange | None = None,
    days_supply: int | None = None,
    acknowledgments: tuple[VisitAcknowledgment, ...] = (),
) -> Visit:
    """A whole monthly visit on one screen: every record through its own action, in one transaction, so that a
    problem anywhere saves nothing. ``prescriber_confirmation`` is the iPLEDGE confirmation number ("" when
    confirmed without one; None when not done). Only a prescriber changes the dose or acknowledges an alert.

    The prescription to send (``days_supply`` asked) is the one the core proposes once the visit's own
    records are in (``core.proposed_prescription``): a positive test, a critical lab or an alert left open at
    this visit means none is saved, whatever the form showed before."""
    _course_record(actor, course, Capability.RECORD_OBSERVATIONS)
    _dated(course.patient, day, "date", "A visit")  # before any of its records: they are all of this day
    if dose_change is not None or acknowledgments:
        require(actor, Capability.PRESCRIBE)
    if days_supply is not None and not 1 <= days_supply <= 30:  # IPL-SUPPLY
        raise InvalidInput("A prescription is for 1 to 30 days (IPL-SUPPLY).", field="days_supply")
    patient = course.patient
    can_get_pregnant = patient.category == PatientCategory.CAN_GET_PREGNANT
    if not can_get_pregnant and (pregnancy_test is not None or contraception is not None):
        raise InvalidInput("This patient cannot get pregnant: no pregnancy test or contraception to record.")
    if can_get_pregnant and contraception is not None and not _contraception_documented(contraception):
        raise InvalidInput(
            "Confirm the methods in use, or record which stopped and which started.",
            field="contraception_confirmed",
        )
    if weight is not None:
        with _Section("weight"):
            record_weight(
                actor=actor, patient=patient, effective_date=day, value=weight.value, unit=weight.unit
            )
    if pregnancy_test is not None:
        with _Section("pregnancy_test"):
            record_pregnancy_test(actor=actor, course=course, **vars(pregnancy_test))
    if contraception is not None:
        with _Section("contraception"):
            _change_contraception(actor, patient, contraception, day)
    if mood_screen is not None:
        with _Section("mood"):
            record_mood_screen(actor=actor, course=course, day=day, **vars(mood_screen))
    for index, effect in enumerate(side_effects):
        with _Section(f"side_effect_{index}"):
            record_side_effect(actor=actor, course=course, onset=day, **vars(effect))
    for index, lab in enumerate(labs):
        with _Section(f"lab_{index}"):
            record_lab_result(actor=actor, course=course, effective_date=day, **vars(lab))
    if prescriber_confirmation is not None:
        with _Section("ipledge"):
            record_ipledge_entry(
                actor=actor,
                course=course,
                kind="prescriber_confirmation",
                day=day,
                confirmation_number=prescriber_confirmation.strip(),
            )
    if dose_change is not None:
        with _Section("dose"):
            change_dose(actor=actor, course=course, **vars(dose_change))
    for index, seen in enumerate(acknowledgments):
        with _Section(f"acknowledge_{index}"):
            acknowledge_alert(actor=actor, course=course, day=day, **vars(seen))
    return record_visit(
        actor=actor,
        course=course,
        day=day,
        note=note,
        methods_confirmed=_methods_confirmed(patient, contraception, day),
        prescription=_prescription(course, day, days_supply),
    )


def _contraception_documented(contraception: VisitContraception) -> bool:
    return contraception.confirmed or bool(contraception.stopped or contraception.started)


def _change_contraception(
    actor: StaffUser, patient: Patient, contraception: VisitContraception, day: date
) -> None:
    for item in contraception.stopped:
        if item.patient_id != patient.pk:
            raise RecordNotFound("No such contraception record.")
        end_contraception(actor=actor, contraception=item, end=day)
    for method in contraception.started:
        record_contraception(actor=actor, patient=patient, method=method, start=contraception.start or day)


def _methods_confirmed(
    patient: Patient, contraception: VisitContraception | None, day: date
) -> tuple[str, ...]:
    """The methods in use on the day that the patient confirmed (IPL-CON-2), as method codes."""
    if contraception is None or not contraception.confirmed:
        return ()
    in_use = patient.contraception.filter(start__lte=day).filter(
        models.Q(end__isnull=True) | models.Q(end__gte=day)
    )
    return tuple(item.method for item in in_use.order_by("start", "id"))


def _prescription(course: Course, day: date, days_supply: int | None) -> tuple[int, Decimal, str] | None:
    """The prescription the core proposes after the visit's records (see ``record_monthly_visit``)."""
    if days_supply is None:
        return None
    found = core.proposed_prescription(course_facts(course), day, days_supply).prescription
    if found is None:
        return None
    return found.days_supply, Decimal(str(found.mg_per_day)).quantize(Decimal("0.1")), found.product


# ------------------------------------------------------------------------------------------- enrollment


@action
def enroll_in_course(
    *,
    actor: StaffUser,
    patient: Patient,
    prescriber: StaffUser,
    category: str,
    start: date,
    mg_per_day: Decimal,
    product: str,
    enrollment_date: date,
    brand: str = "",
    target_mg_per_kg: Decimal | None = None,
    confirmation_number: str = "",
    weight: VisitWeight | None = None,
) -> Course:
    """IPL-CAT and enrollment: the prescriber assigns the category (kept with who and when), opens the course
    with its first dose and records the iPLEDGE enrollment, with a starting weight: all or nothing."""
    require(actor, Capability.PRESCRIBE)
    _check_practice(actor, patient)
    set_by = patient.category_set_by
    set_by_prescriber = set_by is not None and set_by.role == Role.PRESCRIBER
    if category != patient.category or not set_by_prescriber:
        set_patient_category(
            actor=actor, patient=patient, category=category, reason="assigned by the prescriber at enrollment"
        )
    if weight is not None:
        with _Section("weight"):
            record_weight(
                actor=actor,
                patient=patient,
                effective_date=enrollment_date,
                value=weight.value,
                unit=weight.unit,
            )
    course = start_course(
        actor=actor,
        patient=patient,
        prescriber=prescriber,
        start=start,
        mg_per_day=mg_per_day,
        product=product,
        brand=brand,
        target_mg_per_kg=target_mg_per_kg,
    )
    with _Section("enrollment"):
        record_ipledge_entry(
            actor=actor,
            course=course,
            kind="enrollment",
            day=enrollment_date,
            confirmation_number=confirmation_number.strip(),
        )
    return course
