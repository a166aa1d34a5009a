"""A practice's own text of a handout's section, in one language: it replaces the built-in text
(``wording.SECTIONS``) for that language only; blank means the built-in text."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

MAX_TEXT = 1200  # characters of one section: the handout holds on one Letter page


class HandoutLanguage(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


class HandoutText(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey("clinic.Practice", on_delete=models.PROTECT, related_name="+")
    language = models.CharField(max_length=5, choices=HandoutLanguage.choices)
    # A key of wording.SECTIONS (checked by the action, not by choices: a new section needs no migration).
    section = models.CharField(max_length=40)
    text = models.TextField(max_length=MAX_TEXT, blank=True)  # plain text, shown escaped, lines kept
    changed_by = models.ForeignKey("clinic.StaffUser", on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "language", "section"], name="handout_one_text_per_section"
            )
        ]
