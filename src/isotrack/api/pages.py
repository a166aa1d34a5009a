"""The token page: a staff member makes and revokes their own API tokens (a logged-in page, with CSRF)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from isotrack.api import tokens
from isotrack.api.problems import problem, problem_response
from isotrack.clinic.errors import ClinicError


@require_http_methods(["GET", "POST"])
def token_page(request: HttpRequest) -> HttpResponse:
    created = None
    error = None
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                tokens.revoke_token(actor=request.user, token_uuid=request.POST["revoke"])
                return redirect("api_tokens")
            created = tokens.create_token(actor=request.user, name=request.POST.get("name", ""))
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
        },
        status=422 if error else 200,
    )


@login_not_required
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other URL under /api/v1/ answers with a problem document, not the site's HTML page."""
    return problem_response(problem(404, "not_found", "No such endpoint or record."))
