"""Practice scoping and role checks. Every read of a record by its public id goes through here.

One lookup helper per object type; a record of another practice is reported exactly like a missing one.
"""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

from django.db.models import QuerySet

from isotrack.clinic.errors import NotPermitted, RecordNotFound
from isotrack.clinic.models import Course, Patient, Role, StaffUser, Weight


class Capability(Enum):
    READ = "read"
    REGISTER_PATIENTS = "register patients"
    RECORD_OBSERVATIONS = "record clinical observations and iPLEDGE steps"
    PRESCRIBE = "change a dose, a course or a patient's category"
    MANAGE_PRACTICE = "manage the practice's staff and policy"


_CAPABILITIES: dict[Any, set[Capability]] = {
    Role.PRESCRIBER: {
        Capability.READ,
        Capability.REGISTER_PATIENTS,
        Capability.RECORD_OBSERVATIONS,
        Capability.PRESCRIBE,
    },
    Role.NURSE: {Capability.READ, Capability.REGISTER_PATIENTS, Capability.RECORD_OBSERVATIONS},
    Role.FRONT_DESK: {Capability.READ, Capability.REGISTER_PATIENTS},
    Role.PRACTICE_ADMIN: {Capability.READ, Capability.REGISTER_PATIENTS, Capability.MANAGE_PRACTICE},
    Role.AUDITOR: {Capability.READ},
}


def can(user: StaffUser, capability: Capability) -> bool:
    return (
        user.is_active and user.practice_id is not None and capability in _CAPABILITIES.get(user.role, set())
    )


def require(user: StaffUser, capability: Capability) -> None:
    if not can(user, capability):
        raise NotPermitted(f"Your role ({user.get_role_display()}) may not {capability.value}.")


def _parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def patients_of(user: StaffUser) -> QuerySet[Patient]:
    return Patient.objects.filter(practice_id=user.practice_id)


def access_patient(user: StaffUser, patient_uuid: Any) -> Patient:
    key = _parse_uuid(patient_uuid)
    patient = patients_of(user).filter(uuid=key).first() if key else None
    if patient is None:
        raise RecordNotFound("No such patient.")
    return patient


def access_course(user: StaffUser, course_uuid: Any) -> Course:
    key = _parse_uuid(course_uuid)
    qs = Course.objects.select_related("patient", "prescriber").filter(patient__practice_id=user.practice_id)
    course = qs.filter(uuid=key).first() if key else None
    if course is None:
        raise RecordNotFound("No such course.")
    return course


def access_weight(user: StaffUser, weight_uuid: Any) -> Weight:
    key = _parse_uuid(weight_uuid)
    qs = Weight.objects.select_related("patient").filter(patient__practice_id=user.practice_id)
    weight = qs.filter(uuid=key).first() if key else None
    if weight is None:
        raise RecordNotFound("No such weight.")
    return weight
