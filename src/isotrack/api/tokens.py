"""Creating, revoking and checking API tokens: the same pattern as the clinic's actions (one transaction, the
acting user as a keyword, an audit row). The token value is shown once; only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from isotrack.api.models import ApiToken
from isotrack.audit.chain import AUDIT, hold
from isotrack.audit.events import EventCode
from isotrack.audit.trail import record
from isotrack.clinic import looks
from isotrack.clinic.access import Capability, practice_id_of, require
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.inputs import BadInput, refuse_control_characters
from isotrack.clinic.models import StaffUser

MAX_ACTIVE_TOKENS = 20  # per user: more is a sign of tokens being made and forgotten
LAST_USED_RESOLUTION_SECONDS = 60  # last_used_at is written at most once a minute per token
MAX_TOKEN_DAYS = 366


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _audit_values(token: ApiToken) -> dict[str, Any]:
    return {"name": token.name, "prefix": token.prefix, "role": token.role, "expires_at": token.expires_at}


def tokens_of(user: StaffUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def create_token(*, actor: StaffUser, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for the actor, in their practice and role, working for ``days`` (default
    settings.API_TOKEN_DAYS); returns it with its value (shown once)."""
    require(actor, Capability.READ)
    name = name.strip()
    if not name:
        raise InvalidInput("Name the token (what will use it).", field="name")
    try:
        refuse_control_characters(name, "The name", multiline=False)
    except BadInput as error:
        raise InvalidInput(f"{error.message}.", field="name") from None
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"A token works from 1 to {MAX_TOKEN_DAYS} days.", field="days")
    if tokens_of(actor).filter(revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise InvalidInput(f"Revoke a token first: at most {MAX_ACTIVE_TOKENS} are active.", field="name")
    value = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor,
            practice_id=practice_id_of(actor),
            role=actor.role,
            name=name[:80],
            key_hash=token_hash(value),
            prefix=value[:8],
            expires_at=timezone.now() + timedelta(days=days),
        )
        record(actor=actor, action=EventCode.API_TOKEN_CREATE, instance=token, after=_audit_values(token))
    return token, value


def revoke_token(*, actor: StaffUser, token_uuid: Any) -> ApiToken:
    """Revokes one of the actor's own tokens (another user's token, or no token id at all, is reported as
    missing)."""
    try:
        token_uuid = uuid.UUID(str(token_uuid))
    except ValueError:
        raise RecordNotFound("No such token.") from None
    with transaction.atomic():
        if actor.practice_id is not None:
            hold(AUDIT, actor.practice_id)  # the audit chain before the token's row (audit.chain.hold)
        token = tokens_of(actor).select_for_update().filter(uuid=token_uuid).first()
        if token is None:
            raise RecordNotFound("No such token.")
        if token.revoked_at is None:
            _revoke(actor, token)
    return token


def _revoke(actor: StaffUser, token: ApiToken, reason: str = "") -> None:
    """The active token revoked now, with its audit row, in the caller's transaction."""
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        actor=actor,
        action=EventCode.API_TOKEN_REVOKE,
        instance=token,
        before={"revoked_at": None},
        after={"revoked_at": token.revoked_at.isoformat()},
        reason=reason,
    )


def user_for_token(value: str) -> StaffUser | None:
    """The active user a token value stands for, or None. A token stops working when it is revoked, when its
    user is deactivated, or when the user's practice or role changed since it was made."""
    if not value or len(value) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user__practice")
        .filter(key_hash=token_hash(value), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None:
        return None
    user = token.user
    if not user.is_active or user.practice_id != token.practice_id or user.role != token.role:
        return None
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # bookkeeping, not an audited change
    looks.by(user, f"API token {token.name}")
    return user


def revoke_tokens_of(*, actor: StaffUser, member: StaffUser, **_: Any) -> None:
    """Every active API token ``member`` created is revoked, with its audit row (``actor``: the administrator
    who deactivated them): ``clinic.actions.staff.staff_deactivated``'s receiver, in its transaction."""
    for token in ApiToken.objects.select_for_update().filter(user=member, revoked_at__isnull=True):
        _revoke(actor, token, reason="its user was deactivated")
