"""Per-user API tokens. A token acts as its user, inside the practice and role the user had when it was made.

Only the SHA-256 of the token is stored: the value itself is shown once, at creation, and never again.
"""

from __future__ import annotations

import uuid

from django.db import models

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
