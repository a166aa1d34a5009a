"""Correcting and voiding a record: every kind of clinical record, one way.

A record is never edited in place nor deleted. Voiding marks it (who, when, why) and the engine stops seeing
it (``models.InForce``); the timeline and the audit page keep showing it, struck through. A correction voids
the record and records its replacement through the same action that records a new one, so the replacement
meets every rule a new record meets (plausibility, role, practice); its audit row keeps the record before and
after, and the reason. Both are one transaction, by the roles allowed to write that kind of record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from isotrack.audit.events import EventCode
from isotrack.audit.trail import snapshot
from isotrack.clinic import looks
from isotrack.clinic.access import Capability, require
from isotrack.clinic.actions.base import action, record
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
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.models import (
    Contraception,
    Dispense,
    DoseSegment,
    Interruption,
    IpledgeEntry,
    LabResult,
    MissedDose,
    MoodScreen,
    OtherMedication,
    Patient,
    PregnancyTest,
    RecordedModel,
    SideEffect,
    StaffUser,
    Visit,
    Weight,
)

Values = Mapping[str, Any]


@dataclass(frozen=True)
class Kind:
    """One kind of record as corrections see it: the fields a correction may change (the model's own names)
    and how a replacement is recorded (the kind's own action, with its checks)."""

    code: str  # in URLs, the API and audit actions: "lab" -> "lab.void", "lab.correct"
    label: str  # for people: "Lab result"
    model: type[RecordedModel]
    capability: Capability  # who may write it, and so correct or void it
    fields: tuple[str, ...]
    replace: Callable[[StaffUser, Any, Values], RecordedModel]
    on_patient: bool = False  # weights and contraception belong to the patient, the rest to a course
    renamed: tuple[tuple[str, str], ...] = ()  # (the action's field, the model's) where they differ

    def patient_of(self, item: Any) -> Patient:
        return item.patient if self.on_patient else item.course.patient


def _weight(actor: StaffUser, old: Weight, v: Values) -> Weight:
    return record_weight(
        actor=actor,
        patient=old.patient,
        effective_date=v["effective_date"],
        value=v["entered_value"],
        unit=v["entered_unit"],
    )


def _contraception(actor: StaffUser, old: Contraception, v: Values) -> Contraception:
    return record_contraception(
        actor=actor, patient=old.patient, method=v["method"], start=v["start"], end=v["end"]
    )


def _lab(actor: StaffUser, old: LabResult, v: Values) -> LabResult:
    return record_lab_result(
        actor=actor,
        course=old.course,
        test=v["test"],
        effective_date=v["effective_date"],
        value=v["value"],
        unit=v["unit"],
        uln=v["uln"],
        reference_low=old.reference_low,
        reference_high=old.reference_high,
    )


def _pregnancy_test(actor: StaffUser, old: PregnancyTest, v: Values) -> PregnancyTest:
    return record_pregnancy_test(
        actor=actor,
        course=old.course,
        purpose=v["purpose"],
        setting=v["setting"],
        specimen_date=v["specimen_date"],
        result=v["result"],
        verified_by=v["verified_by"],
        verification_note=v["verification_note"],
    )


def _mood_screen(actor: StaffUser, old: MoodScreen, v: Values) -> MoodScreen:
    return record_mood_screen(
        actor=actor,
        course=old.course,
        day=v["date"],
        instrument=v["instrument"],
        score=v["score"],
        item9=v["item9"],
    )


def _side_effect(actor: StaffUser, old: SideEffect, v: Values) -> SideEffect:
    return record_side_effect(
        actor=actor,
        course=old.course,
        term=v["term"],
        severity=v["severity"],
        onset=v["onset"],
        resolved_on=v["resolved_on"],
        action_taken=v["action"],
    )


def _visit(actor: StaffUser, old: Visit, v: Values) -> Visit:
    """The visit's day and note; what was confirmed and prescribed at it stays as it was recorded."""
    prescription = (
        (old.prescription_days_supply, old.prescription_mg_per_day, old.prescription_product)
        if old.prescription_days_supply is not None and old.prescription_mg_per_day is not None
        else None
    )
    return record_visit(
        actor=actor,
        course=old.course,
        day=v["date"],
        note=v["note"],
        methods_confirmed=tuple(old.methods_confirmed.split()),
        prescription=prescription,
    )


def _dose(actor: StaffUser, old: DoseSegment, v: Values) -> DoseSegment:
    """The code of why the dose changed carries over unless the correction changes it. A segment recorded
    without one (the course's first, or one recorded before codes or from a course file) may stay without;
    a code once recorded is not erased. The course's first dose is no change: it takes no code (a course
    file carries none for it either)."""
    if v["change_reason"] and v["starts_on"] == old.course.start:
        raise InvalidInput(
            "The course's first dose is no change of dose: it takes no reason.", field="change_reason"
        )
    return change_dose(
        actor=actor,
        course=old.course,
        starts_on=v["starts_on"],
        mg_per_day=v["mg_per_day"],
        product=v["product"],
        change_reason=v["change_reason"] or ("" if old.change_reason else None),
        reason=v["reason"],
        brand=old.brand,
        strength_mg=v["strength_mg"],
    )


def _hold(actor: StaffUser, old: Interruption, v: Values) -> Interruption:
    return record_interruption(
        actor=actor, course=old.course, start=v["start"], end=v["end"], reason=v["reason"]
    )


def _missed_dose(actor: StaffUser, old: MissedDose, v: Values) -> MissedDose:
    return record_missed_dose(actor=actor, course=old.course, day=v["date"])


def _pick_up(actor: StaffUser, old: Dispense, v: Values) -> Dispense:
    return record_dispense(
        actor=actor,
        course=old.course,
        day=v["date"],
        days_supply=v["days_supply"],
        quantity=v["quantity"],
        mg_per_day=v["mg_per_day"],
        product=v["product"],
        pharmacy=v["pharmacy"],
        rma=v["rma"],
    )


def _ipledge(actor: StaffUser, old: IpledgeEntry, v: Values) -> IpledgeEntry:
    return record_ipledge_entry(
        actor=actor,
        course=old.course,
        kind=v["kind"],
        day=v["date"],
        confirmation_number=v["confirmation_number"],
    )


def _medication(actor: StaffUser, old: OtherMedication, v: Values) -> OtherMedication:
    """A corrected name or RxNorm code with the class left as it was takes the class of the core's table for
    the new one (a misspelt "doxycyline" recorded as other becomes a tetracycline)."""
    renamed = (v["name"], v["rxnorm"]) != (old.name, old.rxnorm)
    kept_class = v["medication_class"] == old.medication_class
    return record_medication(
        actor=actor,
        patient=old.patient,
        name=v["name"],
        medication_class=None if renamed and kept_class else v["medication_class"],
        rxnorm=v["rxnorm"],
        start=v["start"],
        end=v["end"],
    )


RECORD = Capability.RECORD_OBSERVATIONS
KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind(
            "weight",
            "Weight",
            Weight,
            RECORD,
            ("effective_date", "entered_value", "entered_unit"),
            _weight,
            on_patient=True,
            renamed=(("value", "entered_value"), ("unit", "entered_unit")),
        ),
        Kind(
            "contraception",
            "Contraception",
            Contraception,
            RECORD,
            ("method", "start", "end"),
            _contraception,
            on_patient=True,
        ),
        Kind(
            "medication",
            "Other medicine",
            OtherMedication,
            RECORD,
            ("name", "medication_class", "rxnorm", "start", "end"),
            _medication,
            on_patient=True,
        ),
        Kind(
            "lab", "Lab result", LabResult, RECORD, ("test", "effective_date", "value", "unit", "uln"), _lab
        ),
        Kind(
            "pregnancy-test",
            "Pregnancy test",
            PregnancyTest,
            RECORD,
            ("purpose", "setting", "specimen_date", "result", "verified_by", "verification_note"),
            _pregnancy_test,
        ),
        Kind(
            "mood-screen",
            "Mood screen",
            MoodScreen,
            RECORD,
            ("date", "instrument", "score", "item9"),
            _mood_screen,
        ),
        Kind(
            "side-effect",
            "Side effect",
            SideEffect,
            RECORD,
            ("term", "severity", "onset", "resolved_on", "action"),
            _side_effect,
            renamed=(("action_taken", "action"),),
        ),
        Kind("visit", "Visit", Visit, Capability.REGISTER_PATIENTS, ("date", "note"), _visit),
        Kind(
            "dose",
            "Dose",
            DoseSegment,
            Capability.PRESCRIBE,
            ("starts_on", "mg_per_day", "product", "strength_mg", "change_reason", "reason"),
            _dose,
        ),
        Kind("hold", "Hold", Interruption, Capability.PRESCRIBE, ("start", "end", "reason"), _hold),
        Kind("missed-dose", "Missed dose", MissedDose, RECORD, ("date",), _missed_dose),
        Kind(
            "pick-up",
            "Pick-up",
            Dispense,
            RECORD,
            ("date", "days_supply", "quantity", "mg_per_day", "product", "pharmacy", "rma"),
            _pick_up,
        ),
        Kind(
            "ipledge",
            "iPLEDGE entry",
            IpledgeEntry,
            RECORD,
            ("kind", "date", "confirmation_number"),
            _ipledge,
        ),
    )
}
KIND_OF_MODEL: dict[type[models.Model], Kind] = {kind.model: kind for kind in KINDS.values()}


def kind_of(code: str) -> Kind:
    kind = KINDS.get(code)
    if kind is None:
        raise RecordNotFound(f"{code!r} is not a kind of record.")
    return kind


def find(user: StaffUser, kind: Kind, record_uuid: Any, *, in_force: bool = True) -> Any:
    """A record of the user's practice by its public id (a voided one only when ``in_force`` is False);
    another practice's record is reported exactly like a missing one."""
    owner = "patient" if kind.on_patient else "course__patient"
    records = kind.model.objects if in_force else kind.model.all_objects
    found = (
        records.select_related(owner)
        .filter(**{f"{owner}__practice_id": user.practice_id}, uuid=record_uuid)
        .first()
        if user.practice_id is not None
        else None
    )
    if found is None:
        raise RecordNotFound(f"No such {kind.label.lower()}.")
    looks.saw(found.patient if kind.on_patient else found.course.patient)  # type: ignore[attr-defined]
    return found


def _reason(reason: str, doing: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput(f"Say why the record is {doing}.", field="correction_reason")
    if len(reason) > 200:
        raise InvalidInput("Say why in at most 200 characters.", field="correction_reason")
    return reason


def _lock(actor: StaffUser, kind: Kind, item: Any) -> Any:
    require(actor, kind.capability)
    if actor.practice_id is None or kind.patient_of(item).practice_id != actor.practice_id:
        raise RecordNotFound(f"No such {kind.label.lower()}.")
    locked = kind.model.all_objects.select_for_update().get(pk=item.pk)
    if locked.voided_at is not None:
        raise InvalidInput(f"This {kind.label.lower()} was already voided or corrected.")
    return locked


def _void(actor: StaffUser, item: Any, reason: str) -> None:
    item.voided_at = timezone.now()  # bookkeeping, like recorded_at
    item.voided_by = actor
    item.void_reason = reason
    item.save(update_fields=["voided_at", "voided_by", "void_reason"])


@action
def void_record(*, actor: StaffUser, kind: Kind, item: Any, reason: str) -> Any:
    """The record stops counting from now on; it stays on the timeline and in the trail, struck through."""
    reason = _reason(reason, "voided")
    item = _lock(actor, kind, item)
    _void(actor, item, reason)
    record(
        actor=actor,
        action=EventCode.void(kind.code),
        instance=item,
        patient=kind.patient_of(item),
        before={"in_force": True},
        after={"in_force": False},
        reason=reason,
    )
    return item


@action
def correct_record(*, actor: StaffUser, kind: Kind, item: Any, values: Values, reason: str) -> Any:
    """The record replaced by one with ``values`` (the fields of ``kind.fields``): the old one voided with the
    reason and pointing to its replacement, the new one recorded by the kind's own action."""
    reason = _reason(reason, "corrected")
    item = _lock(actor, kind, item)
    before = snapshot(item)
    wanted = {name: values.get(name, getattr(item, name)) for name in kind.fields}
    if all(_same(getattr(item, name), wanted[name]) for name in kind.fields):
        raise InvalidInput("Nothing was changed: change a value, or void the record instead.")
    _void(actor, item, reason)
    try:
        replacement = kind.replace(actor, item, wanted)
    except InvalidInput as error:  # refused beside the field as the record names it
        field = dict(kind.renamed).get(error.field or "", error.field)
        raise InvalidInput(error.message, field=field) from error
    item.replaced_by = replacement
    item.save(update_fields=["replaced_by"])
    record(
        actor=actor,
        action=EventCode.correct(kind.code),
        instance=item,
        patient=kind.patient_of(item),
        before={name: before.get(name) for name in kind.fields},
        after={name: snapshot(replacement).get(name) for name in kind.fields},
        reason=reason,
    )
    return replacement


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        try:
            return old is not None and new is not None and Decimal(str(old)) == Decimal(str(new))
        except ArithmeticError:
            return False
    if isinstance(old, models.Model) or isinstance(new, models.Model):
        return getattr(old, "pk", None) == getattr(new, "pk", None)
    if isinstance(old, date) or isinstance(new, date):
        return old == new
    return (old if old is not None else "") == (new if new is not None else "")


def voided_of(patient: Patient) -> set[Any]:
    """The public ids of the patient's voided records (one query per kind, by the patient's key)."""
    found: set[Any] = set()
    for kind in KINDS.values():
        owner = "patient" if kind.on_patient else "course__patient"
        voided = kind.model.all_objects.filter(**{owner: patient}, voided_at__isnull=False)
        found.update(voided.values_list("uuid", flat=True))
    return found
