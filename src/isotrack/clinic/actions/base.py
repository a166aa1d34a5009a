"""What every action shares: one transaction, the audit row, the practice and role checks, refusals beside
their field.

Each action takes the acting user as the keyword `actor`, checks the actor's practice and role, validates, and
does the whole change in one transaction together with its audit row (who, when, what, before and after).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from isotrack.audit import chain, trail
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.audit.trail import snapshot
from isotrack.clinic import worklist_entries
from isotrack.clinic.access import Capability, require
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.models import Course, Patient, Practice, StaffUser
from isotrack.clinic.queries import practice_today
from isotrack.core import plausibility

P = ParamSpec("P")
R = TypeVar("R")


def action(func: Callable[P, R]) -> Callable[P, R]:
    """One transaction per action; a database constraint violation becomes a clear InvalidInput. The
    transaction takes the actor's practice's audit chain first (``audit.chain.hold``), before any row lock."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with transaction.atomic():
                practice_id = getattr(kwargs.get("actor"), "practice_id", None)
                if practice_id is not None:
                    chain.hold(chain.AUDIT, practice_id)
                return func(*args, **kwargs)
        except IntegrityError as error:
            raise InvalidInput(_integrity_message(error)) from error

    return run


def record(*, patient: Patient, action: EventCode, **event: Any) -> AuditEvent:
    """The audit row of a write to the patient's records (``audit.trail.record``, inside the action's
    transaction); the stored worklist lines of the patient's courses go out of date with it, in the same
    transaction (``worklist_entries.mark_stale``). Every clinical write records through here."""
    row = trail.record(patient=patient, action=action, **event)
    worklist_entries.mark_stale(patient.pk)
    return row


def record_practice_event(
    *, actor: StaffUser, action: EventCode, instance: Any, after: dict[str, Any], before: Any = None
) -> None:
    """The audit row of a write that concerns the practice or its staff, not a patient's records: no stored
    worklist line goes out of date with it (``before`` and ``after``: the values that changed are kept)."""
    trail.record(actor=actor, action=action, instance=instance, before=before, after=after)


def _integrity_message(error: IntegrityError) -> str:
    text = str(error).lower()
    if "unique" in text or "duplicate" in text:
        return "That record already exists."
    return "The values are outside what the record allows."


def validated_save(instance: models.Model) -> None:
    """The model's own validation, its first problem refused beside its field; then the save."""
    validate(instance)
    instance.save()


def validate(instance: models.Model, exclude: list[str] | None = None) -> None:
    """The model's own validation (fields, ranges, check constraints), its first problem refused beside its
    field (InvalidInput); nothing saved."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        name, errors = next(iter(error.error_dict.items()))
        first = errors[0]
        field: str | None = name
        if field == "__all__":
            # Check constraints carry the field they guard as their violation code (see models.py).
            field = first.code if first.code in {f.name for f in instance._meta.fields} else None
        raise InvalidInput(" ".join(first.messages), field=field) from error


def check_practice(actor: StaffUser, patient: Patient) -> None:
    """Another practice's patient is reported exactly like a missing one."""
    if actor.practice_id is None or patient.practice_id != actor.practice_id:
        raise RecordNotFound("No such patient.")


def check_course(actor: StaffUser, course: Course, capability: Capability) -> None:
    """The actor may do this to a course of their own practice."""
    require(actor, capability)
    check_practice(actor, course.patient)


def create(actor: StaffUser, instance: Any, *, patient: Patient, code: EventCode, reason: str = "") -> Any:
    """A new record, validated and saved by the actor, with its audit row."""
    instance.recorded_by = actor
    validated_save(instance)
    record(
        actor=actor,
        action=code,
        instance=instance,
        patient=patient,
        after=snapshot(instance),
        reason=reason,
    )
    return instance


def plausible(problem: str | None, field: str | None) -> None:
    """core.plausibility's answer: a problem is refused beside the field it is about."""
    if problem is not None:
        raise InvalidInput(problem, field=field)


def today_of(patient: Patient) -> date:
    """Today in the patient's practice."""
    return practice_today(Practice.objects.get(pk=patient.practice_id))


def dated(patient: Patient, day: date, field: str, what: str) -> None:
    """A clinical fact: on or before the practice's today, on or after the patient's birth."""
    plausible(plausibility.not_after_today(day, today_of(patient), what), field)
    plausible(plausibility.not_before_birth(day, patient.birth_date, what), field)


class Section:
    """Names the section of a form an error belongs to, for the actions that record several records at once
    (the monthly visit, the enrollment): `value` of the weight is `weight_value`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if isinstance(error, InvalidInput):
            field = f"{self.prefix}_{error.field}" if error.field else self.prefix
            raise InvalidInput(error.message, field=field) from error
