"""Who is calling: a per-user bearer token (integrations) or the staff member's session (the docs page and the
token page). These URLs are exempt from the login redirect of the pages, so they check for themselves and
answer 401 with a problem document, never a redirect.

A bearer token needs no CSRF token (a browser never sends it by itself); a session does, on every unsafe
method. A request that carries an Authorization header is judged by that header alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from ninja.security import APIKeyCookie, HttpBearer

from isotrack.api.problems import ApiError, problem, problem_response, unauthenticated_response
from isotrack.api.tokens import user_for_token
from isotrack.clinic.models import StaffUser

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _csrf_refused(request: HttpRequest) -> bool:
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    request.csrf_processing_done = False  # type: ignore[attr-defined]
    middleware.process_request(request)
    return middleware.process_view(request, lambda _request: HttpResponse(), (), {}) is not None


def bearer_value(request: HttpRequest) -> str | None:
    """The token of an `Authorization: Bearer` header; "" for any other Authorization header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def session_user(request: HttpRequest) -> StaffUser | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active or user.practice_id is None:
        return None
    return user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> StaffUser | None:
        return user_for_token(token)


class StaffSession(APIKeyCookie):
    """The logged-in staff member; unsafe methods need Django's CSRF token (X-CSRFToken header)."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        if "Authorization" in request.headers or session_user(request) is None:
            return None
        if request.method not in SAFE_METHODS and _csrf_refused(request):
            raise ApiError("Send the CSRF token with a session request.", code="csrf_failed", http_status=403)
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> StaffUser | None:
        return session_user(request)


def token_or_session(
    view: Callable[..., HttpResponse],
    unauthenticated: Callable[[], HttpResponse] = unauthenticated_response,
    csrf_refused: Callable[[], HttpResponse] | None = None,
) -> Callable[..., HttpResponse]:
    """For the plain views (FHIR, CDS Hooks): sets `request.api_user` or answers 401 and, for a session
    without its CSRF token, 403 (problem documents, or in the view's own format: FHIR's OperationOutcome)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = bearer_value(request)
        if token is not None:
            user = user_for_token(token) if token else None
        else:
            user = session_user(request)
            if user is not None and request.method not in SAFE_METHODS and _csrf_refused(request):
                if csrf_refused is not None:
                    return csrf_refused()
                return problem_response(
                    problem(403, "csrf_failed", "Send the CSRF token with a session request.")
                )
        if user is None:
            return unauthenticated()
        request.api_user = user  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return login_not_required(csrf_exempt(checked))
