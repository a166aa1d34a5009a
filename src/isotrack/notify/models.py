"""Calendar feed tokens and the reminder outbox.

A feed token is the credential of a calendar subscription (a phone's calendar app cannot log in): only its
SHA-256 hash is stored, so a database copy does not reveal working feed URLs. The URL is shown once, when the
token is created.

The outbox holds one row per reminder, with a UNIQUE key (recipient, event uid, event date), written before
anything is sent: running `isotrack send-reminders` again, or in two processes at once, cannot queue or send a
reminder twice, and a failed send stays in the table until a later run delivers it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class FeedScope(models.TextChoices):
    PATIENT = "patient", "One patient (for the patient's phone)"
    PRESCRIBER = "prescriber", "One prescriber's patients (staff)"
    PRACTICE = "practice", "The whole practice (staff)"


class FeedToken(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey("clinic.Practice", on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=12, choices=FeedScope.choices)
    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    prescriber = models.ForeignKey(
        "clinic.StaffUser", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)  # hex digest; the token itself is never kept
    created_by = models.ForeignKey("clinic.StaffUser", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()  # the feed answers 404 from then (settings.FEED_TOKEN_DAYS)
    last_used_at = models.DateTimeField(null=True, blank=True)  # to the hour: a calendar app polls often
    revoked_by = models.ForeignKey(
        "clinic.StaffUser", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(  # rotation: the revoked token this one replaced
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(scope="patient", patient__isnull=False, prescriber__isnull=True))
                | Q(scope="prescriber", patient__isnull=True, prescriber__isnull=False)
                | Q(scope="practice", patient__isnull=True, prescriber__isnull=True),
                name="feed_token_scope_matches_subject",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"feed token {self.uuid}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Audience(models.TextChoices):
    PATIENT = "patient", "Patient"
    STAFF = "staff", "Staff"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (retried on the next run)"


class ReminderOutbox(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey("clinic.Practice", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("clinic.Patient", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey("clinic.Course", on_delete=models.PROTECT, related_name="+")
    audience = models.CharField(max_length=10, choices=Audience.choices)
    recipient = models.EmailField()
    event_uid = models.CharField(max_length=120)  # the feed's UID: {course uuid}-{key}@isotrack
    event_kind = models.CharField(max_length=40)
    event_date = models.DateField()  # the day the step falls due (a moved date is a new reminder)
    queued_on = models.DateField()  # the practice's day of the run that queued it
    subject = models.CharField(max_length=200)
    body = models.TextField()  # written when queued, so that a retry sends exactly the same message
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a sender's lease (several processes)
    last_error = models.CharField(max_length=200, blank=True)  # the error's kind and code, never PHI
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_uid", "event_date"], name="reminder_once_per_recipient_event_date"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "claimed_until"]),
            models.Index(fields=["practice", "created_at"]),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"reminder {self.uuid}"

    @property
    def message_id(self) -> str:
        """The same Message-ID on every attempt, so a receiver can drop a rare duplicate (at-least-once)."""
        return f"<{self.uuid}@isotrack>"
