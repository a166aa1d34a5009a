"""A member's second factor (django-otp): an authenticator app's time-based codes (RFC 6238) and ten recovery
codes, each good once, for the day the phone is lost.

The practice chooses who must have one (``Practice.two_factor``): nobody, its prescribers, administrators and
auditors, or everyone. A member who must and has none is sent to set one up before any other page
(web.middleware.TwoFactorEnrollmentMiddleware); a member who has one gives a code after the password
(web.account_views). Setting one up, new recovery codes and removing one (the member, when the practice
allows it, or an administrator for a member who lost the phone) are audited; the codes and the secret never
are.
"""

from __future__ import annotations

import base64
import math

from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability, require
from isotrack.clinic.actions.base import action, record_practice_event
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Practice, Role, StaffUser, TwoFactorPolicy

RECOVERY_CODES = 10
AUTHENTICATOR = "authenticator"  # the device names: one of each per member
RECOVERY = "recovery codes"
_PRIVILEGED = {Role.PRESCRIBER, Role.PRACTICE_ADMIN, Role.AUDITOR}


def required_for(user: StaffUser) -> bool:
    """Whether the user's practice requires a second factor of them."""
    if user.practice_id is None:
        return False
    policy = Practice.objects.filter(pk=user.practice_id).values_list("two_factor", flat=True).first()
    if policy == TwoFactorPolicy.PRIVILEGED:
        return user.role in _PRIVILEGED
    return policy == TwoFactorPolicy.EVERYONE


def authenticator_of(user: StaffUser) -> TOTPDevice | None:
    """The user's confirmed authenticator, if they have one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user: StaffUser) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def new_secret() -> str:
    """A new authenticator secret (hex), kept by the setup page until a code confirms it."""
    return default_key()


def authenticator_url(user: StaffUser, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code (Key URI format)."""
    return str(TOTPDevice(user=user, key=secret).config_url)


def secret_for_typing(secret: str) -> str:
    """The secret as an app asks for it when typed by hand: base32, in groups of four."""
    text = base64.b32encode(bytes.fromhex(secret)).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


@action
def confirm_authenticator(*, actor: StaffUser, secret: str, code: str) -> list[str]:
    """The authenticator of ``secret`` (``new_secret``), once a code it shows confirms it, replacing any
    earlier one, with ten new recovery codes (returned, to be shown once)."""
    device = TOTPDevice(user=actor, name=AUTHENTICATOR, key=secret, confirmed=False)
    # A wrong code's throttle row is rolled back with the refusal: nothing is stored until a code confirms it.
    if not device.verify_token(_normalized(code)):
        raise InvalidInput(
            "That is not the code the app shows now: check the phone's clock and type the six digits.",
            field="code",
        )
    TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save()
    codes = _replace_recovery_codes(actor)
    record_practice_event(
        actor=actor, action=EventCode.TWO_FACTOR_ENROLL, instance=actor, after={"authenticator": True}
    )
    return codes


def _replace_recovery_codes(user: StaffUser) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@action
def new_recovery_codes(*, actor: StaffUser) -> list[str]:
    """Ten new recovery codes for the actor (the old ones stop working)."""
    if authenticator_of(actor) is None:
        raise InvalidInput("Set up an authenticator first.")
    codes = _replace_recovery_codes(actor)
    record_practice_event(
        actor=actor, action=EventCode.TWO_FACTOR_RECOVERY_CODES, instance=actor, after={"codes": len(codes)}
    )
    return codes


@action
def remove_second_factor(*, actor: StaffUser, member: StaffUser) -> None:
    """The member's authenticator and recovery codes removed: by the member, when the practice does not
    require one of them; by an administrator of the practice (a lost phone: the member sets up a new one at
    the next login)."""
    if member.pk == actor.pk:
        if required_for(actor):
            raise InvalidInput("Your practice requires a second factor: set up a new one instead.")
    else:
        require(actor, Capability.MANAGE_PRACTICE)
        if member.practice_id != actor.practice_id:
            raise InvalidInput("No such member of staff.")
    had = authenticator_of(member) is not None
    TOTPDevice.objects.filter(user=member).delete()
    StaticDevice.objects.filter(user=member).delete()
    if had:
        record_practice_event(
            actor=actor,
            action=EventCode.TWO_FACTOR_REMOVE,
            instance=member,
            before={"authenticator": True},
            after={"authenticator": False},
        )


def verify_second_factor(user: StaffUser, code: str) -> tuple[Device | None, str]:
    """The device that accepts ``code`` (six digits: the authenticator; otherwise a recovery code, which is
    used up), or None and why not. A wrong code slows the next tries down (django-otp's throttle); a code
    already used is refused."""
    code = _normalized(code)
    model = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            return None, "That is neither a code of your authenticator nor one of your recovery codes."
        allowed, why = device.verify_is_allowed()
        if not allowed:
            until = why.get("locked_until") if why else None
            seconds = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
            return None, f"Too many wrong codes: wait {seconds} s, then type the code the app shows then."
        if device.verify_token(code):
            return device, ""
    return None, "That code is wrong or was used already."
