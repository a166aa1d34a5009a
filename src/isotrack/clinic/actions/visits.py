"""A visit, and the whole monthly visit on one screen: every record of the visit through its own action, in
one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import models

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability, require
from isotrack.clinic.actions.alerts import acknowledge_alert
from isotrack.clinic.actions.base import (
    Section,
    action,
    check_course,
    check_practice,
    create,
    dated,
    plausible,
)
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.actions.ipledge import record_ipledge_entry
from isotrack.clinic.actions.observations import (
    record_lab_result,
    record_mood_screen,
    record_pregnancy_test,
    record_side_effect,
)
from isotrack.clinic.actions.patients import (
    end_contraception,
    end_medication,
    record_contraception,
    record_medication,
    record_weight,
)
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.models import (
    Contraception,
    Course,
    OtherMedication,
    Patient,
    PatientCategory,
    StaffUser,
    Visit,
)
from isotrack.clinic.records import course_facts
from isotrack.core import plausibility


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
    check_practice(actor, course.patient)
    dated(course.patient, day, "date", "A visit")
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
    return create(actor, visit, patient=course.patient, code=EventCode.VISIT_RECORD)


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
class VisitNewMedicine:
    name: str
    start: date


@dataclass(frozen=True)
class VisitMedicines:
    """Other medicines and supplements (MED-TETRA, MED-VITA, MED-INDUCER): those the patient stopped, with the
    last day taken (on or before the visit's: a tetracycline taken on the visit's day still holds its
    prescription), and those started since, with their first day (on or before the visit's)."""

    stopped: tuple[OtherMedication, ...] = ()
    last_day: date | None = None
    started: tuple[VisitNewMedicine, ...] = ()


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
    change_reason: str  # one of DoseChangeReason, as the prescriber chose it ("" none: refused)
    starts_on: date
    reason: str = ""  # the prescriber's note (needed with "other")
    brand: str = ""
    strength_mg: int | None = None  # the capsule strength, when the prescriber gives one


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
    medicines: VisitMedicines | None = None,
) -> Visit:
    """A whole monthly visit on one screen: every record through its own action, in one transaction, so that a
    problem anywhere saves nothing. ``prescriber_confirmation`` is the iPLEDGE confirmation number ("" when
    confirmed without one; None when not done). Only a prescriber changes the dose or acknowledges an alert.

    The prescription to send (``days_supply`` asked) is the one the core proposes once the visit's own
    records are in (``core.proposed_prescription``): a positive test, a critical lab or an alert left open at
    this visit means none is saved, whatever the form showed before (a tetracycline started, too)."""
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    dated(course.patient, day, "date", "A visit")  # before any of its records: they are all of this day
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
        with Section("weight"):
            record_weight(
                actor=actor, patient=patient, effective_date=day, value=weight.value, unit=weight.unit
            )
    if pregnancy_test is not None:
        with Section("pregnancy_test"):
            record_pregnancy_test(actor=actor, course=course, **vars(pregnancy_test))
    if contraception is not None:
        with Section("contraception"):
            _change_contraception(actor, patient, contraception, day)
    if mood_screen is not None:
        with Section("mood"):
            record_mood_screen(actor=actor, course=course, day=day, **vars(mood_screen))
    if medicines is not None:
        _change_medicines(actor, patient, medicines, day)
    for index, effect in enumerate(side_effects):
        with Section(f"side_effect_{index}"):
            record_side_effect(actor=actor, course=course, onset=day, **vars(effect))
    for index, lab in enumerate(labs):
        with Section(f"lab_{index}"):
            record_lab_result(actor=actor, course=course, effective_date=day, **vars(lab))
    if prescriber_confirmation is not None:
        with Section("ipledge"):
            record_ipledge_entry(
                actor=actor,
                course=course,
                kind="prescriber_confirmation",
                day=day,
                confirmation_number=prescriber_confirmation.strip(),
            )
    if dose_change is not None:
        with Section("dose"):
            change_dose(actor=actor, course=course, **vars(dose_change))
    for index, seen in enumerate(acknowledgments):
        with Section(f"acknowledge_{index}"):
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


def _change_medicines(actor: StaffUser, patient: Patient, medicines: VisitMedicines, day: date) -> None:
    if medicines.stopped and medicines.last_day is None:
        raise InvalidInput("Say the last day the patient took it.", field="medication_stopped_on")
    if medicines.last_day is not None:
        plausible(
            plausibility.not_after_visit(medicines.last_day, day, "A medicine's last day"),
            "medication_stopped_on",
        )
    for item in medicines.stopped:
        if item.patient_id != patient.pk:
            raise RecordNotFound("No such medicine record.")
        assert medicines.last_day is not None
        try:
            end_medication(actor=actor, medication=item, end=medicines.last_day)
        except InvalidInput as error:
            raise InvalidInput(f"{item.name}: {error.message}", field="medication_stopped_on") from error
    for index, medicine in enumerate(medicines.started):
        with Section(f"medication_new_{index}"):
            plausible(plausibility.not_after_visit(medicine.start, day, "A medicine's first day"), "start")
            record_medication(actor=actor, patient=patient, name=medicine.name, start=medicine.start)


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
