"""The practice's staff, managed by its administrators (``Capability.MANAGE_PRACTICE``): inviting a member
(who sets a password at a one-time link, ``practices.set_password_link``), changing a role, deactivating and
reactivating. Each is audited, with the values before and after.

Deactivating takes effect at once: the member's sessions stop on their next request (Django's session
authentication refuses an inactive user), and every API token and calendar feed token they created is revoked
in the same transaction (``staff_deactivated``: the API and the feeds revoke their own tokens). The practice
always keeps an active administrator: the last one can be neither deactivated nor given another role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.dispatch import Signal

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability, practice_id_of, require
from isotrack.clinic.actions.base import action, record_practice_event
from isotrack.clinic.dose_planning import PRODUCT_LINES
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.models import Role, StaffUser

# Sent in the deactivating transaction (``actor``, ``member``): receivers revoke what the member made.
staff_deactivated = Signal()

NPI_PREFIX = "80840"  # the card issuer prefix the NPI's Luhn check digit is computed with (CMS)


def npi_problem(npi: str) -> str | None:
    """Why ``npi`` is not a National Provider Identifier (ten digits, the last a Luhn check digit computed
    over the prefix 80840 and the first nine), or None."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return "An NPI is ten digits."
    digits = [int(d) for d in NPI_PREFIX + npi]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 1 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return None if total % 10 == 0 else "This NPI's check digit is wrong: check the number."


def staff_of(actor: StaffUser) -> Any:
    """The members of the actor's practice, administrators only."""
    require(actor, Capability.MANAGE_PRACTICE)
    return StaffUser.objects.filter(practice_id=practice_id_of(actor))


def member_of(actor: StaffUser, member_uuid: Any) -> StaffUser:
    """One member of the actor's practice by public id (another practice's looks missing)."""
    member = staff_of(actor).filter(uuid=member_uuid).first()
    if member is None:
        raise RecordNotFound("No such member of staff.")
    return member


def _snapshot(member: StaffUser) -> dict[str, Any]:
    return {
        "username": member.username,
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "credentials": member.credentials,
        "npi": member.npi,
        "role": member.role,
        "is_active": member.is_active,
    }


@action
def invite_staff(
    *,
    actor: StaffUser,
    email: str,
    first_name: str,
    last_name: str,
    credentials: str,
    role: str,
    npi: str,
) -> StaffUser:
    """A new member of the actor's practice, without a password (the invitation's link sets it); their login
    is the email address. A prescriber needs an NPI."""
    require(actor, Capability.MANAGE_PRACTICE)
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput("Enter an email address.", field="email") from None
    if role not in Role.values:
        raise InvalidInput("Choose a role.", field="role")
    npi = npi.strip()
    if role == Role.PRESCRIBER and not npi:
        raise InvalidInput("A prescriber needs an NPI.", field="npi")
    if npi and (problem := npi_problem(npi)):
        raise InvalidInput(problem, field="npi")
    login = email.lower()
    if StaffUser.objects.filter(username__iexact=login).exists():
        raise InvalidInput(f"{login} is already the login of a member of staff.", field="email")
    member = StaffUser(
        username=login,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        credentials=credentials.strip(),
        npi=npi,
        role=role,
        practice_id=actor.practice_id,
    )
    member.set_unusable_password()
    member.save()
    record_practice_event(
        actor=actor, action=EventCode.STAFF_INVITE, instance=member, after=_snapshot(member)
    )
    return member


@action
def new_password_link(*, actor: StaffUser, member: StaffUser) -> StaffUser:
    """Records that the administrator gives an active member a new one-time link that sets the password (an
    invitation whose link expired, a forgotten password without email); the link itself is made by
    ``practices.set_password_link`` and never kept."""
    member = member_of(actor, member.uuid)
    if not member.is_active:
        raise InvalidInput("Reactivate the member first: a deactivated member cannot log in.")
    record_practice_event(
        actor=actor,
        action=EventCode.STAFF_PASSWORD_LINK,
        instance=member,
        after={"username": member.username},
    )
    return member


def _locked(actor: StaffUser, member: StaffUser) -> StaffUser:
    """The member as it is now, read once the practice's active administrators are locked for the change
    (PostgreSQL: two changes at once cannot leave the practice without one)."""
    require(actor, Capability.MANAGE_PRACTICE)
    admins = StaffUser.objects.select_for_update().filter(
        practice_id=practice_id_of(actor), role=Role.PRACTICE_ADMIN, is_active=True
    )
    list(admins.order_by("pk"))
    return member_of(actor, member.uuid)


def _keeps_an_administrator(member: StaffUser) -> None:
    others = StaffUser.objects.filter(
        practice_id=practice_id_of(member), role=Role.PRACTICE_ADMIN, is_active=True
    ).exclude(pk=member.pk)
    if member.role == Role.PRACTICE_ADMIN and member.is_active and not others.exists():
        raise InvalidInput(
            "The practice needs an active administrator: make another one first.", field="role"
        )


@action
def change_staff(*, actor: StaffUser, member: StaffUser, role: str, npi: str) -> StaffUser:
    """The member's role and NPI (a prescriber needs one; the last active administrator keeps the role)."""
    member = _locked(actor, member)
    if role not in Role.values:
        raise InvalidInput("Choose a role.", field="role")
    npi = npi.strip()
    if npi and (problem := npi_problem(npi)):
        raise InvalidInput(problem, field="npi")
    if role == Role.PRESCRIBER and not npi:
        raise InvalidInput("A prescriber needs an NPI.", field="npi")
    if role != member.role:
        _keeps_an_administrator(member)
    _change(actor, member, EventCode.STAFF_CHANGE, _snapshot, role=role, npi=npi)
    return member


def _change(
    actor: StaffUser,
    member: StaffUser,
    code: EventCode,
    shown: Callable[[StaffUser], dict[str, Any]],
    **values: Any,
) -> None:
    """Sets ``values`` on the member and, when ``shown`` (what the audit keeps) differs, saves those fields
    with the audit row of ``code`` (before and after)."""
    before = shown(member)
    for name, value in values.items():
        setattr(member, name, value)
    after = shown(member)
    if after != before:
        member.save(update_fields=list(values))
        record_practice_event(actor=actor, action=code, instance=member, before=before, after=after)


@action
def set_active(*, actor: StaffUser, member: StaffUser, active: bool) -> StaffUser:
    """Deactivate (``active`` False) or reactivate the member. Deactivating revokes what they made
    (``staff_deactivated``) and ends their sessions; the last active administrator stays active."""
    member = _locked(actor, member)
    if member.is_active == active:
        return member
    if not active:
        _keeps_an_administrator(member)
    before = _snapshot(member)
    member.is_active = active
    member.save(update_fields=["is_active"])
    code = EventCode.STAFF_REACTIVATE if active else EventCode.STAFF_DEACTIVATE
    after = _snapshot(member)
    record_practice_event(actor=actor, action=code, instance=member, before=before, after=after)
    if not active:
        staff_deactivated.send(sender=StaffUser, actor=actor, member=member)
    return member


def _prescribing(member: StaffUser) -> dict[str, Any]:
    return {
        "default_product_line": member.default_product_line,
        "stocked_strengths": member.stocked_strengths,
    }


@action
def change_prescribing(
    *, actor: StaffUser, default_product_line: str, stocked: dict[str, list[int]]
) -> StaffUser:
    """A prescriber's own settings: the product line new courses start with ("": none) and, by product line,
    the capsule strengths the local pharmacies stock (at least one of each line; every strength of a line is
    stored as none named: the line follows reference.md's list)."""
    require(actor, Capability.PRESCRIBE)
    if actor.role != Role.PRESCRIBER:
        raise InvalidInput("Only a prescriber has prescribing settings.")
    if default_product_line and default_product_line not in PRODUCT_LINES:
        raise InvalidInput("Choose a product line.", field="default_product_line")
    kept: dict[str, list[int]] = {}
    for line, strengths in stocked.items():
        every = core.CAPSULE_STRENGTHS_MG.get(line)
        if every is None:
            raise InvalidInput(f"{line!r} is not a product line.", field=line)
        chosen = sorted({int(s) for s in strengths})
        if not chosen:
            raise InvalidInput("Choose at least one strength the pharmacies stock.", field=line)
        if not set(chosen) <= set(every):
            raise InvalidInput(f"{line.capitalize()} capsules come in {every} mg only.", field=line)
        if chosen != sorted(every):
            kept[line] = chosen
    member = StaffUser.objects.select_for_update().get(pk=actor.pk)
    values = {"default_product_line": default_product_line, "stocked_strengths": kept}
    _change(actor, member, EventCode.STAFF_PRESCRIBING, _prescribing, **values)
    return member
