"""The audit trail: one row per change, append-only and sealed.

Rows are written only by `isotrack.audit.trail.record` inside the action's transaction, so a change and its
audit row commit together or not at all. The app never updates or deletes a row; on PostgreSQL and SQLite a
trigger refuses UPDATE and DELETE outright, and every row is chained to the one before it in its practice's
chain (``seq``, ``prev_hash``, ``hash``: see ``isotrack.audit.chain``), so that a rewrite beside the app is
found by ``isotrack verify-audit``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Bulk UPDATE and DELETE through the ORM are refused like single-row ones."""

    def update(self, **kwargs: object) -> int:
        raise RuntimeError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")

    def update_or_create(self, *args: Any, **kwargs: Any) -> tuple[Any, bool]:
        """Refused before it locks a row (its SELECT … FOR UPDATE, which the app's least-privilege PostgreSQL
        role may not run on an append-only table, docs/operations.md)."""
        self.update()  # the queryset's own refusal
        raise AssertionError("unreachable: update is refused")


class AppendOnlyModel(models.Model):
    """A sealed row: saved once, never changed or deleted through the ORM (the database's triggers refuse it
    beside the app too)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError(f"{self._meta.verbose_name_plural} are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError(f"{self._meta.verbose_name_plural} are append-only")


class AuditEvent(AppendOnlyModel):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey("clinic.Practice", on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey("clinic.StaffUser", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    action = models.CharField(max_length=60)  # a stable code, e.g. "weight.change"
    object_type = models.CharField(max_length=40)
    object_uuid = models.UUIDField()
    patient = models.ForeignKey("clinic.Patient", on_delete=models.PROTECT, null=True, related_name="+")
    before = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    reason = models.CharField(max_length=200, blank=True)
    # The row's place in its practice's chain and the seals (isotrack.audit.chain).
    seq = models.PositiveBigIntegerField(editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["patient", "at"]),
            models.Index(fields=["practice", "at"]),
            # A record's later edits (isotrack.clinic.records.as_it_stood: "as recorded then").
            models.Index(fields=["object_uuid", "at"]),
        ]
        constraints = [models.UniqueConstraint(fields=["practice", "seq"], name="audit_one_row_per_place")]


class AccessEvent(AppendOnlyModel):
    """One look at a patient's record (or at a list of patients, ``patient`` empty): who, when, through what
    (``channel``) and which view. Append-only and sealed in its practice's access chain like the audit rows
    (``isotrack.audit.chain.ACCESS``); written by ``isotrack.audit.trail.record_access``."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey("clinic.Practice", on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey("clinic.StaffUser", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now, editable=False)
    patient = models.ForeignKey("clinic.Patient", on_delete=models.PROTECT, null=True, related_name="+")
    channel = models.CharField(max_length=12)  # page, print, api, fhir, cds, feed
    view = models.CharField(max_length=80)  # the view's name, e.g. "course" or "fhir_everything"
    detail = models.CharField(max_length=200, blank=True)  # e.g. the API token's name
    seq = models.PositiveBigIntegerField(editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["patient", "at"]), models.Index(fields=["practice", "at"])]
        constraints = [models.UniqueConstraint(fields=["practice", "seq"], name="access_one_row_per_place")]
