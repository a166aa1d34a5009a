"""The patient and the records that belong to the patient rather than to a course: registration, the
iPLEDGE category, contact details, weights and contraception."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.utils import timezone

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.trail import snapshot
from isotrack.clinic.access import Capability, can, practice_id_of, require
from isotrack.clinic.actions.base import (
    action,
    check_practice,
    create,
    dated,
    plausible,
    record,
    validated_save,
)
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import (
    AdministrativeGender,
    Contraception,
    MedicationClass,
    OtherMedication,
    Patient,
    PatientCategory,
    Practice,
    ReportSource,
    StaffUser,
    Weight,
    WeightUnit,
)
from isotrack.clinic.queries import practice_today
from isotrack.core import plausibility

KG_PER_LB = Decimal("0.45359237")  # exact, by definition of the international pound


@action
def register_patient(
    *,
    actor: StaffUser,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: date,
    gender: str = AdministrativeGender.UNKNOWN,
    category: str = "",
    ipledge_id: str = "",
    email: str = "",
    phone: str = "",
    reminders_consent: bool = False,
) -> Patient:
    """A new patient. The iPLEDGE category is a prescriber's decision (IPL-CAT): registered by anyone else,
    the patient waits on the worklist for a prescriber to assign it. The administrative gender is the one the
    page makes staff choose; a caller that does not say it (an import file without it) registers "unknown",
    which is what FHIR's AdministrativeGender calls a gender nobody stated. It never sets the category."""
    require(actor, Capability.REGISTER_PATIENTS)
    if gender not in AdministrativeGender.values:
        raise InvalidInput(f"{gender!r} is not a gender (female, male, other or unknown).", field="gender")
    if category and category not in PatientCategory.values:
        raise InvalidInput(f"{category!r} is not a patient category.", field="category")
    if category and not can(actor, Capability.PRESCRIBE):
        raise InvalidInput(
            "Only a prescriber assigns the iPLEDGE category (IPL-CAT): leave it to be assigned.",
            field="category",
        )
    today = practice_today(Practice.objects.get(pk=practice_id_of(actor)))
    plausible(plausibility.birth_date(birth_date, today), "birth_date")
    patient = Patient(
        practice_id=practice_id_of(actor),
        mrn=mrn.strip(),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        birth_date=birth_date,
        gender=gender,
        category=category,
        ipledge_id=ipledge_id.strip(),
        category_set_by=actor if category else None,
        category_set_at=timezone.now() if category else None,
        email=email,
        phone=phone,
        reminders_consent=reminders_consent,
    )
    if Patient.objects.filter(practice_id=practice_id_of(actor), mrn=patient.mrn).exists():
        raise InvalidInput("Another patient of the practice has this MRN.", field="mrn")
    if (
        patient.ipledge_id
        and Patient.objects.filter(practice_id=practice_id_of(actor), ipledge_id=patient.ipledge_id).exists()
    ):
        raise InvalidInput("Another patient of the practice has this iPLEDGE ID.", field="ipledge_id")
    validated_save(patient)
    record(
        actor=actor,
        action=EventCode.PATIENT_REGISTER,
        instance=patient,
        patient=patient,
        after=snapshot(patient),
    )
    return patient


@action
def set_patient_category(*, actor: StaffUser, patient: Patient, category: str, reason: str) -> Patient:
    """IPL-CAT: only a prescriber assigns or changes the category; the change and its reason are audited."""
    require(actor, Capability.PRESCRIBE)
    check_practice(actor, patient)
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
    validated_save(patient)
    record(
        actor=actor,
        action=EventCode.PATIENT_CATEGORY,
        instance=patient,
        patient=patient,
        before=before,
        after=snapshot(patient),
        reason=reason.strip(),
    )
    return patient


@action
def update_patient_contact(
    *,
    actor: StaffUser,
    patient: Patient,
    email: str | None = None,
    phone: str | None = None,
    reminders_consent: bool | None = None,
    gender: str | None = None,
) -> Patient:
    """The patient's e-mail, phone, consent to reminders and administrative gender; values left as None stay
    as they are."""
    require(actor, Capability.REGISTER_PATIENTS)
    check_practice(actor, patient)
    if gender is not None and gender not in AdministrativeGender.values:
        raise InvalidInput(f"{gender!r} is not a gender (female, male, other or unknown).", field="gender")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    before = snapshot(patient)
    if email is not None:
        patient.email = email.strip()
    if phone is not None:
        patient.phone = phone.strip()
    if reminders_consent is not None:
        patient.reminders_consent = reminders_consent
    if gender is not None:
        patient.gender = gender
    validated_save(patient)
    after = snapshot(patient)
    if after != before:
        record(
            actor=actor,
            action=EventCode.PATIENT_CONTACT,
            instance=patient,
            patient=patient,
            before=before,
            after=after,
        )
    return patient


# ---------------------------------------------------------------------------------- weights and contraception


def weight_in_kg(value: Decimal, unit: str) -> Decimal:
    if unit == WeightUnit.LB:
        value = value * KG_PER_LB
    elif unit != WeightUnit.KG:
        raise InvalidInput(f"{unit!r} is not a weight unit (kg or lb).", field="unit")
    kg = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    plausible(plausibility.weight_kg(float(kg)), "value")
    return kg


@action
def record_weight(
    *, actor: StaffUser, patient: Patient, effective_date: date, value: Decimal, unit: str = "kg"
) -> Weight:
    require(actor, Capability.RECORD_OBSERVATIONS)
    check_practice(actor, patient)
    dated(patient, effective_date, "effective_date", "A weight")
    weight = Weight(
        patient=patient,
        effective_date=effective_date,
        kg=weight_in_kg(value, unit),
        entered_value=value,
        entered_unit=unit,
    )
    return create(actor, weight, patient=patient, code=EventCode.WEIGHT_RECORD)


@action
def change_weight(
    *, actor: StaffUser, weight: Weight, effective_date: date, value: Decimal, unit: str, reason: str = ""
) -> Weight:
    require(actor, Capability.RECORD_OBSERVATIONS)
    check_practice(actor, weight.patient)
    weight = Weight.objects.select_for_update().get(pk=weight.pk)
    dated(weight.patient, effective_date, "effective_date", "A weight")
    before = snapshot(weight)
    weight.effective_date = effective_date
    weight.kg = weight_in_kg(value, unit)
    weight.entered_value = value
    weight.entered_unit = unit
    validated_save(weight)
    record(
        actor=actor,
        action=EventCode.WEIGHT_CHANGE,
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
    check_practice(actor, patient)
    dated(patient, start, "start", "A method's first day")
    if end is not None:
        dated(patient, end, "end", "A method's last day")
    item = Contraception(patient=patient, method=method, start=start, end=end)
    return create(actor, item, patient=patient, code=EventCode.CONTRACEPTION_RECORD)


@action
def record_medication(
    *,
    actor: StaffUser,
    patient: Patient,
    name: str,
    start: date,
    end: date | None = None,
    medication_class: str | None = None,
    rxnorm: str = "",
    source: str = ReportSource.CLINIC,
) -> OtherMedication:
    """Another medicine or supplement the patient takes (MED-TETRA, MED-VITA, MED-INDUCER). Its class is the
    one given (a course file's, or a clinician's), or the core's table's for the name or RxNorm code
    (``core.medication_class``): a medicine the table does not hold is ``other``."""
    require(actor, Capability.RECORD_OBSERVATIONS)
    check_practice(actor, patient)
    name, rxnorm = name.strip(), rxnorm.strip()
    if not name:
        raise InvalidInput("Name the medicine or supplement.", field="name")
    if medication_class is None:
        medication_class = core.medication_class(name, rxnorm or None)
    if medication_class not in MedicationClass.values:
        raise InvalidInput(
            f"{medication_class!r} is not a class of medicine isotrack judges.", field="medication_class"
        )
    dated(patient, start, "start", "A medicine's first day")
    if end is not None:
        dated(patient, end, "end", "A medicine's last day")
    item = OtherMedication(
        patient=patient,
        name=name,
        medication_class=medication_class,
        rxnorm=rxnorm,
        start=start,
        end=end,
        source=source,
    )
    return create(actor, item, patient=patient, code=EventCode.MEDICATION_RECORD)


@action
def end_medication(*, actor: StaffUser, medication: OtherMedication, end: date) -> OtherMedication:
    """The last day a medicine was taken; the period stays on record."""
    return _end_period(actor, medication, end, EventCode.MEDICATION_END, "A medicine's last day")


@action
def end_contraception(*, actor: StaffUser, contraception: Contraception, end: date) -> Contraception:
    """The last day a method was used (IPL-CON-2); the period stays on record."""
    return _end_period(actor, contraception, end, EventCode.CONTRACEPTION_END, "A method's last day")


Period = TypeVar("Period", OtherMedication, Contraception)


def _end_period(actor: StaffUser, period: Period, end: date, code: EventCode, what: str) -> Period:
    """A period's last day (a medicine's, a method's), read again under lock and audited before and after."""
    require(actor, Capability.RECORD_OBSERVATIONS)
    check_practice(actor, period.patient)
    item = type(period).objects.select_for_update().get(pk=period.pk)
    dated(item.patient, end, "end", what)
    before = snapshot(item)
    item.end = end
    validated_save(item)
    record(actor=actor, action=code, instance=item, patient=item.patient, before=before, after=snapshot(item))
    return item
