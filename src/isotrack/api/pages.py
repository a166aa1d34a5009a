"""The token page: a staff member makes and revokes their own API tokens (a logged-in page, with CSRF)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from isotrack.api import tokens
from isotrack.api.problems import problem, problem_response
from isotrack.clinic import submissions
from isotrack.clinic.access import StaffRequest
from isotrack.clinic.errors import ClinicError, InvalidInput
from isotrack.clinic.inputs import whole_number


@require_http_methods(["GET", "POST"])
def token_page(request: StaffRequest) -> HttpResponse:
    created = None
    error = None
    repeated = False
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                tokens.revoke_token(actor=request.user, token_uuid=request.POST["revoke"])
                return redirect("api_tokens")
            made: list[Any] = []

            def create() -> tuple[int, str]:
                name, days = request.POST.get("name", ""), _days(request.POST.get("days", ""))
                made.append(tokens.create_token(actor=request.user, name=name, days=days))
                return 200, ""

            # Once per form (clinic.submissions): a reload of this page must not create a second token.
            key = request.POST.get("submission_key") or submissions.new_key()
            repeated = submissions.once(request.user, key, create).replayed
            created = made[0] if made else None
        except ClinicError as failure:
            error = failure.message
    return render(
        request,
        "api/tokens.html",
        {
            "tokens": tokens.tokens_of(request.user),
            "created": created[0] if created else None,
            "value": created[1] if created else None,
            "error": error,
            "repeated": repeated,
            "default_days": settings.API_TOKEN_DAYS,
            "max_days": tokens.MAX_TOKEN_DAYS,
            "now": timezone.now(),
        },
        status=422 if error else 200,
    )


def _days(text: str) -> int | None:
    """The form's "works for" in days (empty: the default); not a whole number is refused beside it."""
    text = text.strip()
    if not text:
        return None
    days = whole_number(text, digits=4)
    if days is None:
        raise InvalidInput("Give the days as a whole number.", field="days")
    return days


@login_not_required
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other URL under /api/v1/ answers with a problem document, not the site's HTML page."""
    return problem_response(problem(404, "not_found", "No such endpoint or record."))
