"""A new practice and its first administrator (``isotrack create-practice``), and the one-time link that
sets a staff member's password.

The administrator is created without a password: the link (Django's password-reset token) sets it. It
expires after ``PASSWORD_RESET_TIMEOUT`` and works once (the token is signed with the password's hash and the
last login, which setting the password changes).
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from isotrack.audit.events import EventCode
from isotrack.clinic.actions.base import action, record_practice_event, snapshot
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Practice, Role, StaffUser

NAME_LENGTH = Practice._meta.get_field("name").max_length or 200


@action
def create_practice(*, name: str, time_zone: str, admin_email: str) -> tuple[Practice, StaffUser]:
    """The practice and its administrator, whose login is the email address, in one transaction
    (``action``) with their audit rows (the administrator as the actor). Refuses an empty or taken name, a
    time zone the tz database does not know, and an email address that is not one or is already a login."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH:
        raise InvalidInput(f"The practice's name must be 1 to {NAME_LENGTH} characters.", field="name")
    if time_zone not in time_zones():
        raise InvalidInput(
            f"{time_zone} is not a time zone of the tz database (for example America/New_York).",
            field="time_zone",
        )
    email = admin_email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"{email or '(empty)'} is not an email address.", field="admin_email") from None
    login = email.lower()
    if Practice.objects.filter(name__iexact=name).exists():
        raise InvalidInput(f"A practice named {name!r} exists already.", field="name")
    if StaffUser.objects.filter(username__iexact=login).exists():
        raise InvalidInput(f"{login} is already the login of a staff member.", field="admin_email")
    practice = Practice.objects.create(name=name, time_zone=time_zone)
    admin = StaffUser(username=login, email=email, practice=practice, role=Role.PRACTICE_ADMIN)
    admin.set_unusable_password()
    admin.save()
    created = snapshot(practice)
    record_practice_event(actor=admin, action=EventCode.PRACTICE_CREATE, instance=practice, after=created)
    staff = {"username": admin.username, "email": admin.email, "role": admin.role, "practice": name}
    record_practice_event(actor=admin, action=EventCode.STAFF_CREATE, instance=admin, after=staff)
    return practice, admin


def set_password_link(user: StaffUser, base_url: str) -> str:
    """The one-time link at which ``user`` sets a password (``base_url``: the address staff reach isotrack
    at, e.g. https://isotrack.example.org)."""
    path = reverse(
        "password_set",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return base_url.rstrip("/") + path


@cache
def time_zones() -> tuple[str, ...]:
    """The time zones of the tz database, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))
