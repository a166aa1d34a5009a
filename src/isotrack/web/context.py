"""Template context for every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from isotrack.clinic import submissions


def submission_key(request: HttpRequest) -> dict[str, Any]:
    """A one-time key for the form a page renders (``clinic.submissions``): the posted one when a form comes
    back with errors (nothing was saved under it), else a new one."""
    return {"submission_key": request.POST.get("submission_key") or submissions.new_key()}


def development(request: HttpRequest) -> dict[str, Any]:
    """Whether this is a development instance (``DEBUG`` on: the only place the synthetic demo is loaded), so
    that the footer says its data are synthetic there and nowhere else."""
    return {"development": settings.DEBUG}
