"""Template context for every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from isotrack.clinic import submissions


def submission_key(request: HttpRequest) -> dict[str, Any]:
    """A one-time key for the form a page renders (``clinic.submissions``): the posted one when a form comes
    back with errors (nothing was saved under it), else a new one."""
    return {"submission_key": request.POST.get("submission_key") or submissions.new_key()}
