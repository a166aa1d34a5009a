"""Practice scoping and role checks. Every read of a record by its public id goes through here.

One lookup helper per object type; a record of another practice is reported exactly like a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from isotrack.clinic import looks
from isotrack.clinic.errors import NotPermitted, RecordNotFound
from isotrack.clinic.models import (
    CheckIn,
    Course,
    OtherMedication,
    Patient,
    Practice,
    Role,
    StaffUser,
    Weight,
)


class StaffRequest(HttpRequest):
    """The request of a page not marked ``login_not_required``: LoginRequiredMiddleware lets only a signed-in
    member of staff reach one. An annotation only: Django makes plain HttpRequests."""

    user: StaffUser


class Capability(Enum):
    READ = "read"
    REGISTER_PATIENTS = "register patients"
    RECORD_OBSERVATIONS = "record clinical observations and iPLEDGE steps"
    PRESCRIBE = "change a dose, a course or a patient's category"
    MANAGE_PRACTICE = "manage the practice's staff and policy"
    IMPORT_RECORDS = "import the practice's current patients and courses"
    READ_AUDIT = "read the practice's audit of changes and looks"


_CAPABILITIES: dict[Any, set[Capability]] = {
    Role.PRESCRIBER: {
        Capability.READ,
        Capability.REGISTER_PATIENTS,
        Capability.RECORD_OBSERVATIONS,
        Capability.PRESCRIBE,
    },
    Role.NURSE: {Capability.READ, Capability.REGISTER_PATIENTS, Capability.RECORD_OBSERVATIONS},
    Role.FRONT_DESK: {Capability.READ, Capability.REGISTER_PATIENTS},
    Role.PRACTICE_ADMIN: {
        Capability.READ,
        Capability.REGISTER_PATIENTS,
        Capability.MANAGE_PRACTICE,
        Capability.IMPORT_RECORDS,
        Capability.READ_AUDIT,
    },
    Role.AUDITOR: {Capability.READ, Capability.READ_AUDIT},
}

# What an import of the practice's records writes (``clinic.imports.practice``): a history that prescribers
# and nurses recorded elsewhere, brought in whole by the member who imports it.
_IMPORTED = frozenset({Capability.REGISTER_PATIENTS, Capability.RECORD_OBSERVATIONS, Capability.PRESCRIBE})
_importing: ContextVar[int | None] = ContextVar("isotrack_importing", default=None)


def can(user: StaffUser, capability: Capability) -> bool:
    if not user.is_active or user.practice_id is None:
        return False
    own = _CAPABILITIES.get(user.role, set())
    if capability in own:
        return True
    return capability in _IMPORTED and Capability.IMPORT_RECORDS in own and _importing.get() == user.pk


@contextmanager
def import_authority(user: StaffUser) -> Iterator[None]:
    """While an import runs (inside its one transaction), the member who may import records what the file
    holds, as the records' actions require (a course start, a dose, a test...); each audit row names that
    member. Outside it, and for anyone else, the roles hold as above."""
    require(user, Capability.IMPORT_RECORDS)
    token = _importing.set(user.pk)
    try:
        yield
    finally:
        _importing.reset(token)


def require(user: StaffUser, capability: Capability) -> None:
    if not can(user, capability):
        raise NotPermitted(f"Your role ({user.get_role_display()}) may not {capability.value}.")


def _parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def practice_of(user: StaffUser) -> Practice:
    """The practice of a page's or an action's user. Only a superuser may belong to none (StaffUser's check
    constraint), and such a user passes no ``can``: no page or action of a practice is theirs."""
    assert user.practice is not None, "a practice's page or action reached by a user of no practice"
    return user.practice


def practice_id_of(user: StaffUser) -> int:
    """The key of ``practice_of(user)``, without reading the practice."""
    assert user.practice_id is not None, "a practice's page or action reached by a user of no practice"
    return user.practice_id


def patients_of(user: StaffUser) -> QuerySet[Patient]:
    if user.practice_id is None:  # a superuser of no practice: no patient is theirs
        return Patient.objects.none()
    return Patient.objects.filter(practice_id=user.practice_id)


def access_patient(user: StaffUser, patient_uuid: Any) -> Patient:
    key = _parse_uuid(patient_uuid)
    patient = patients_of(user).filter(uuid=key).first() if key else None
    if patient is None:
        raise RecordNotFound("No such patient.")
    looks.saw(patient)
    return patient


def access_course(user: StaffUser, course_uuid: Any) -> Course:
    key, practice_id = _parse_uuid(course_uuid), user.practice_id
    course = None
    if key and practice_id is not None:  # a superuser of no practice reaches no course
        qs = Course.objects.select_related("patient", "prescriber").filter(patient__practice_id=practice_id)
        course = qs.filter(uuid=key).first()
    if course is None:
        raise RecordNotFound("No such course.")
    looks.saw(course.patient)
    return course


def access_check_in(user: StaffUser, check_in_uuid: Any) -> CheckIn:
    """A check-in of a course of the user's practice."""
    key, practice_id = _parse_uuid(check_in_uuid), user.practice_id
    item = None
    if key and practice_id is not None:  # a superuser of no practice reaches none
        qs = CheckIn.objects.select_related("course__patient", "course__prescriber")
        item = qs.filter(course__patient__practice_id=practice_id, uuid=key).first()
    if item is None:
        raise RecordNotFound("No such check-in.")
    looks.saw(item.course.patient)
    return item


def access_medication(user: StaffUser, medication_uuid: Any) -> OtherMedication:
    """A medicine in force of one of the user's practice's patients (a voided one is no longer in force)."""
    key, practice_id = _parse_uuid(medication_uuid), user.practice_id
    item = None
    if key and practice_id is not None:  # a superuser of no practice reaches none
        qs = OtherMedication.objects.select_related("patient").filter(patient__practice_id=practice_id)
        item = qs.filter(uuid=key).first()
    if item is None:
        raise RecordNotFound("No such medicine.")
    looks.saw(item.patient)
    return item


def access_weight(user: StaffUser, weight_uuid: Any) -> Weight:
    key, practice_id = _parse_uuid(weight_uuid), user.practice_id
    weight = None
    if key and practice_id is not None:  # a superuser of no practice reaches no weight
        qs = Weight.objects.select_related("patient").filter(patient__practice_id=practice_id)
        weight = qs.filter(uuid=key).first()
    if weight is None:
        raise RecordNotFound("No such weight.")
    looks.saw(weight.patient)
    return weight
