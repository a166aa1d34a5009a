"""Per-user API tokens. A token acts as its user, inside the practice and role the user had when it was made.

Only the SHA-256 of the token is stored: the value itself is shown once, at creation, and never again.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models

from isotrack.audit.models import AppendOnlyModel, AppendOnlyQuerySet
from isotrack.clinic.models import Practice, Role, StaffUser


class ApiToken(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(StaffUser, on_delete=models.PROTECT, related_name="api_tokens")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=Role.choices)
    name = models.CharField(max_length=80)  # what the token is for, e.g. "EHR interface"
    key_hash = models.CharField(max_length=64, unique=True)  # hex SHA-256 of the token value
    prefix = models.CharField(max_length=8)  # the first characters, so that a user can tell tokens apart
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()  # the token stops working then (settings.API_TOKEN_DAYS by default)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"api token {self.prefix}…"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class WriteOnceQuerySet(AppendOnlyQuerySet):
    """The audit models' guard (bulk UPDATE and DELETE refused), its words naming the feedback rows."""

    def update(self, **kwargs: object) -> int:
        raise RuntimeError("CDS feedback rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RuntimeError("CDS feedback rows are append-only")


class CdsFeedback(AppendOnlyModel):
    """What an EHR reported of a card isotrack gave (CDS Hooks feedback, ``api.cds.feedback``): the user
    accepted its suggestions or overrode it, when, and why. Written once, never changed nor removed through
    the ORM (as the audit rows: ``save`` of a stored row, ``delete`` and a queryset's ``update`` and
    ``delete`` are refused), and kept once: the same user's same outcome of the same card at the same moment
    is one row (``cds_feedback_once``: an EHR's retry adds nothing).

    The EHR's report, not a verified record: isotrack keeps no cards it gave, so ``card`` is the uuid the
    EHR sent, not checked against any card isotrack issued (nor to be this practice's or this user's)."""

    objects: ClassVar[models.Manager[CdsFeedback]] = WriteOnceQuerySet.as_manager()

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"
        OVERRIDDEN = "overridden"

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(StaffUser, on_delete=models.PROTECT, related_name="+")  # the token's owner
    service = models.CharField(max_length=64)  # the CDS service's id
    card = models.UUIDField()  # the card's uuid as the EHR sent it (not checked: isotrack keeps no cards)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    accepted_suggestions = models.JSONField(default=list, blank=True)  # the accepted suggestions' ids
    reason_system = models.CharField(max_length=255, blank=True)  # overrideReason.reason, a Coding
    reason_code = models.CharField(max_length=64, blank=True)
    reason_display = models.CharField(max_length=255, blank=True)
    comment = models.CharField(max_length=1000, blank=True)  # overrideReason.userComment
    outcome_at = models.DateTimeField()  # outcomeTimestamp: when the user acted on the card
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = "CDS feedback row"
        verbose_name_plural = "CDS feedback rows"  # "CDS feedback rows are append-only" (AppendOnlyModel)
        constraints = [  # its index serves the look-ups by practice and card
            models.UniqueConstraint(
                fields=["practice", "card", "actor", "outcome", "outcome_at"], name="cds_feedback_once"
            )
        ]

    def __str__(self) -> str:
        return f"cds feedback {self.outcome} on card {self.card}"


class CdsClient(models.Model):
    """An EHR (a CDS Hooks client) that signs its calls with a JWT (``api.cds_jwt``): who it is (``issuer``,
    the JWT's ``iss``, one client and so one practice: unique across practices; ``subject``, its ``sub``),
    where its public keys are (a JWK Set at ``jwks_url``, or given inline in ``jwks``: exactly one of the
    two), and the practice's staff account its calls act as (``acting_user``: its role and practice scope
    the cards, its name is on the looks; ``acting_role``, its role when the client was registered: as for an
    API token, the EHR's calls stop when that role changes). Registered and revoked by `isotrack cds-client`
    (``api.cds_clients``), never deleted: the audit rows name it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    issuer = models.CharField(max_length=255, unique=True)
    subject = models.CharField(max_length=255)  # the JWT's sub: the client's client_id
    jwks_url = models.URLField(max_length=500, blank=True)  # https (http to loopback only: tests, local)
    jwks = models.JSONField(null=True, blank=True)  # an inline JWK Set {"keys": [...]}, public keys only
    acting_user = models.ForeignKey(StaffUser, on_delete=models.PROTECT, related_name="+")
    acting_role = models.CharField(max_length=20, choices=Role.choices)  # the acting user's, at registration
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(  # the keys come from one place: a URL or the stored set, never both
                condition=(models.Q(jwks_url="") & models.Q(jwks__isnull=False))
                | (~models.Q(jwks_url="") & models.Q(jwks__isnull=True)),
                name="cds_client_one_key_set",
            )
        ]

    def __str__(self) -> str:
        return f"cds client {self.issuer}"


class CdsJwtUse(models.Model):
    """A JWT a CDS client used (its ``jti``), kept until it expires so that it is never accepted twice
    (CDS Hooks: the jti is a nonce "used to protect against replay attacks"). Bookkeeping, not a record: rows
    past ``expires_at`` are deleted when the client's next JWT is written."""

    client = models.ForeignKey(CdsClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField()  # the JWT's exp plus the leeway: until then a replay could pass

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="cds_jwt_once")]
        indexes = [models.Index(fields=["client", "expires_at"], name="cds_jwt_use_expiry")]

    def __str__(self) -> str:
        return f"cds jwt {self.jti}"
