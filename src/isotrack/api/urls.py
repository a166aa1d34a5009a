"""The JSON API (/api/v1/), the FHIR R4 view (/fhir/R4/) and the CDS Hooks service (/cds-services).

These URLs authenticate by bearer token (or session) themselves, so they are exempt from the login redirect of
the pages: an anonymous request gets 401 in the API's own format, never the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path, re_path

from isotrack.api import cds, pages
from isotrack.api.auth import bearer_value, session_user
from isotrack.api.fhir import views as fhir
from isotrack.api.problems import problem, problem_response
from isotrack.api.tokens import user_for_token
from isotrack.api.v1.api import api
from isotrack.clinic import submissions


def _problem_for_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/problem"
        ):
            allowed = response.get("Allow", "")
            response = problem_response(
                problem(405, "method_not_allowed", f"Allowed: {allowed}."), headers={"Allow": allowed}
            )
        return response

    return wrapped


SAFE = {"GET", "HEAD", "OPTIONS"}
IDEMPOTENCY_KEY = "Idempotency-Key"


def _once_per_idempotency_key(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A write sent with an ``Idempotency-Key`` header is carried out once (``clinic.submissions``): a retry
    with the same key (a timeout, a network error, a double send) gets the first answer back, marked
    ``Idempotency-Replayed: true``, and saves nothing. A write that failed (4xx) keeps no key."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(IDEMPOTENCY_KEY)
        if request.method in SAFE or key is None:
            return view(request, *args, **kwargs)
        if not 1 <= len(key) <= submissions.MAX_CLIENT_KEY:
            detail = f"{IDEMPOTENCY_KEY}: 1 to {submissions.MAX_CLIENT_KEY} characters."
            return problem_response(problem(400, "bad_idempotency_key", detail))
        token = bearer_value(request)
        user = (user_for_token(token) if token else None) if token is not None else session_user(request)
        if user is None:
            return view(request, *args, **kwargs)  # it answers 401 itself
        answered: list[HttpResponse] = []

        def write() -> tuple[int, str]:
            response = view(request, *args, **kwargs)
            answered.append(response)
            return response.status_code, response.content.decode()

        done = submissions.once(user, f"api {request.method} {request.path} {key}", write)
        if not done.replayed:
            return answered[0]
        replayed = HttpResponse(done.result, status=done.status, content_type="application/json")
        replayed["Idempotency-Replayed"] = "true"
        return replayed

    return wrapped


def _token_authenticated(patterns: list[Any]) -> list[Any]:
    """Ninja's URL patterns, exempt from the login redirect, with a problem document for 405."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _token_authenticated(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            callback = pattern.callback
            wrapped = login_not_required(_once_per_idempotency_key(_problem_for_405(callback)))
            wrapped.csrf_exempt = getattr(callback, "csrf_exempt", False)  # type: ignore[attr-defined]
            pattern.callback = wrapped
    return patterns


api_patterns, api_app, api_namespace = api.urls

urlpatterns = [
    path("api/v1/", include((_token_authenticated(api_patterns), api_app), namespace=api_namespace)),
    re_path(r"^api/v1/(?P<rest>.*)$", pages.api_not_found),
    path("api/tokens/", pages.token_page, name="api_tokens"),
    path("fhir/R4/", include(fhir.urlpatterns)),
    path("cds-services", cds.discovery, name="cds_discovery"),
    path("cds-services/<slug:service_id>", cds.call_service, name="cds_service"),
    path("cds-services/<slug:service_id>/feedback", cds.feedback, name="cds_feedback"),
]
