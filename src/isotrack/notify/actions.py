"""Every write of staff to feed tokens: create, revoke, rotate. One transaction each, the acting user as the
keyword `actor`, an audit row (never the token: only its public id and scope).

The reminder outbox is written by `isotrack.notify.reminders` (the daily command, no acting user); its rows
are themselves the record of what was sent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from isotrack.audit.chain import AUDIT, hold
from isotrack.audit.events import EventCode
from isotrack.audit.trail import record
from isotrack.clinic.access import Capability, practice_id_of, require
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.models import Patient, Role, StaffUser
from isotrack.notify.models import FeedScope, FeedToken

TOKEN_BYTES = 32  # 256 bits from the operating system's generator: unguessable


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret: the secret is in no table, so it can be shown this once only."""

    feed: FeedToken
    secret: str


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _snapshot(feed: FeedToken) -> dict[str, object]:
    return {
        "scope": feed.scope,
        "patient": str(feed.patient.uuid) if feed.patient is not None else None,
        "prescriber": str(feed.prescriber.uuid) if feed.prescriber is not None else None,
        "revoked_at": feed.revoked_at.isoformat() if feed.revoked_at else None,
        "replaces": str(feed.replaces.uuid) if feed.replaces is not None else None,
    }


def _issue(
    actor: StaffUser,
    scope: str,
    patient: Patient | None,
    prescriber: StaffUser | None,
    replaces: FeedToken | None = None,
) -> IssuedToken:
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    feed = FeedToken.objects.create(
        practice_id=practice_id_of(actor),
        scope=scope,
        patient=patient,
        prescriber=prescriber,
        token_sha256=token_hash(secret),
        created_by=actor,
        replaces=replaces,
        expires_at=timezone.now() + timedelta(days=settings.FEED_TOKEN_DAYS),
    )
    record(
        actor=actor,
        action=EventCode.FEED_TOKEN_ROTATE if replaces else EventCode.FEED_TOKEN_CREATE,
        instance=feed,
        patient=patient,
        after=_snapshot(feed),
    )
    return IssuedToken(feed, secret)


def _check_subject(
    actor: StaffUser, scope: str, patient: Patient | None, prescriber: StaffUser | None
) -> None:
    if scope not in FeedScope.values:
        raise InvalidInput(f"{scope!r} is not a kind of feed.", field="scope")
    if scope == FeedScope.PATIENT and (patient is None or patient.practice_id != actor.practice_id):
        raise InvalidInput("Choose a patient of this practice.", field="patient")
    if scope == FeedScope.PRESCRIBER and (
        prescriber is None
        or prescriber.practice_id != actor.practice_id
        or prescriber.role != Role.PRESCRIBER
    ):
        raise InvalidInput("Choose a prescriber of this practice.", field="prescriber")


@transaction.atomic
def create_feed_token(
    *, actor: StaffUser, scope: str, patient: Patient | None = None, prescriber: StaffUser | None = None
) -> IssuedToken:
    require(actor, Capability.REGISTER_PATIENTS)
    _check_subject(actor, scope, patient, prescriber)
    return _issue(
        actor,
        scope,
        patient if scope == FeedScope.PATIENT else None,
        prescriber if scope == FeedScope.PRESCRIBER else None,
    )


def _locked_active(actor: StaffUser, feed: FeedToken) -> FeedToken:
    if feed.practice_id != actor.practice_id:
        raise RecordNotFound("No such feed.")
    hold(AUDIT, feed.practice_id)  # the audit chain before the feed's row (audit.chain.hold)
    locked = (
        FeedToken.objects.select_for_update(of=("self",))
        .select_related("patient", "prescriber")
        .get(pk=feed.pk)
    )
    if locked.revoked_at is not None:
        raise InvalidInput("This feed is already revoked.")
    return locked


def _revoke(actor: StaffUser, feed: FeedToken) -> FeedToken:
    before = _snapshot(feed)
    feed.revoked_at = timezone.now()
    feed.revoked_by = actor
    feed.save(update_fields=["revoked_at", "revoked_by"])
    record(
        actor=actor,
        action=EventCode.FEED_TOKEN_REVOKE,
        instance=feed,
        patient=feed.patient,
        before=before,
        after=_snapshot(feed),
    )
    return feed


@transaction.atomic
def revoke_feed_token(*, actor: StaffUser, feed: FeedToken) -> FeedToken:
    """The feed's URL answers 404 from now on."""
    require(actor, Capability.REGISTER_PATIENTS)
    return _revoke(actor, _locked_active(actor, feed))


@transaction.atomic
def rotate_feed_token(*, actor: StaffUser, feed: FeedToken) -> IssuedToken:
    """A new URL for the same feed; the old one stops working at once."""
    require(actor, Capability.REGISTER_PATIENTS)
    old = _revoke(actor, _locked_active(actor, feed))
    return _issue(actor, old.scope, old.patient, old.prescriber, replaces=old)


def revoke_feeds_of(*, actor: StaffUser, member: StaffUser, **_: object) -> None:
    """Every active calendar feed ``member`` created is revoked (``actor``: the administrator who deactivated
    them): ``clinic.actions.staff.staff_deactivated``'s receiver, in its transaction."""
    active = FeedToken.objects.select_for_update(of=("self",)).select_related("patient", "prescriber")
    for feed in active.filter(created_by=member, revoked_at__isnull=True):
        _revoke(actor, feed)
