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
