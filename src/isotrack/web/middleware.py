from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from isotrack.clinic import inputs, looks


class NoStoreMiddleware:
    """Nothing isotrack answers is kept by a browser, a proxy or a shared cache: pages, API and FHIR answers
    and feeds carry patients' data or a secret (a new token's, shown once), so every answer that does not say
    otherwise is ``no-store`` (static files are answered before this, by WhiteNoise, with their caching)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Cache-Control", "no-store, private")
        return response


class InputGuardMiddleware:
    """Bad input refused at the door, in words, with a 4xx, before anything reads or parses it
    (``clinic.inputs``): a body larger than ``MAX_BODY_BYTES`` by its declared length (413); a control
    character in the address's query (a search, a filter: 400); a JSON body (the API, CDS Hooks) nested too
    deep, not JSON, or holding a control character in a string (400). The API and CDS Hooks answer with a
    problem document, FHIR with an OperationOutcome, pages with the error page. Forms refuse the rest beside
    their fields."""

    JSON_PATHS = ("/api/", "/cds-services", "/fhir/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > inputs.MAX_BODY_BYTES:
            megabytes = inputs.MAX_BODY_BYTES // (1024 * 1024)
            return _refused(request, 413, "too_large", f"The request is larger than {megabytes} MB.")
        for key, values in request.GET.lists():
            for text in (key, *values):
                named = inputs.control_character(text)  # a pasted tab or line break is only space
                if named is not None:
                    why = f"The address's {key[:30]!r} holds a control character ({named}): type it again."
                    return _refused(request, 400, "bad_request", why)
        if request.method in ("POST", "PUT", "PATCH") and request.path_info.startswith(self.JSON_PATHS):
            content_type = request.META.get("CONTENT_TYPE", "").lower()
            body = request.body  # at most MAX_BODY_BYTES (its declared length, checked above)
            # A JSON body whatever its declared type (the API parses any): a lab file's CSV is not one.
            if "json" in content_type or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
                try:
                    inputs.parse_json(body, "The request body")
                except inputs.BadInput as error:
                    return _refused(request, 400, "bad_request", f"{error.message}.")
        return self.get_response(request)


def _refused(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    path = request.path_info
    if path.startswith("/fhir/"):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "too-long" if status == 413 else "invalid",
                    "diagnostics": detail,
                }
            ],
        }
        return JsonResponse(outcome, status=status, content_type="application/fhir+json")
    if path.startswith(("/api/", "/cds-services")):
        titles = {400: "Bad request", 413: "Request too large"}
        document = {
            "type": f"urn:isotrack:problem:{code}",
            "title": titles[status],
            "status": status,
            "detail": detail,
        }
        return JsonResponse(
            {**document, "code": code}, status=status, content_type="application/problem+json"
        )
    # Rendered without the request: the context processors would read the body refused (request.POST).
    return HttpResponse(render_to_string("web/error.html", {"error": detail}), status=status)


class AccessLogMiddleware:
    """Every successful read by a member (GET or HEAD answering 2xx, and the POST of a CDS Hooks call: a
    page, a print view, an API, FHIR or CDS answer, a feed fetched by its token) writes its look to the access
    log: who, when, through what, which view and which patients' records were opened (``clinic.looks``).
    Pages that show no patient data (the account's, the login's, the API's documentation) are not looks."""

    NOT_LOOKS = frozenset(
        {
            "healthz",
            "login",
            "login_code",
            "password_change",
            "password_change_done",
            "password_reset",
            "password_reset_sent",
            "password_set",
            "password_set_done",
            "prescribing",
            "two_factor",
            "two_factor_setup",
            "two_factor_recovery",
            "two_factor_remove",
            "api_tokens",
            "fhir_metadata",
            "cds_discovery",
        }
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    # A CDS Hooks call and FHIR's $rems-etasu are POSTs that read a patient's course (their POST only: a CORS
    # preflight OPTIONS, which a browser sends with the session cookie, reads nothing).
    READ_BY_POST = frozenset({"cds_service", "fhir_rems_etasu"})

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = looks.watch()
        try:
            response = self.get_response(request)
            # A 304 answers a conditional read of the record: the requester holds it, so it is a look too.
            if (200 <= response.status_code < 300 or response.status_code == 304) and (
                request.method in ("GET", "HEAD")
                or (
                    request.method == "POST"
                    and request.resolver_match is not None
                    and request.resolver_match.view_name in self.READ_BY_POST
                )
            ):
                self._record(request)
            return response
        finally:
            looks.stop(token)

    def _record(self, request: HttpRequest) -> None:
        match = request.resolver_match
        view = (match.view_name if match is not None else "") or request.path_info.split("/")[1]
        if view in self.NOT_LOOKS or view.endswith(("openapi-json", "openapi-view")):
            return
        look = looks.current()
        actor = look.actor if look is not None and look.actor is not None else _member(request)
        looks.record(actor=actor, channel=channel_of(request.path_info), view=view)


def channel_of(path: str) -> str:
    """Through what a look came: page, print, api, fhir, cds or feed."""
    for prefix, channel in (
        ("/api/", "api"),
        ("/fhir/", "fhir"),
        ("/cds-services", "cds"),
        ("/feeds/", "feed"),
    ):
        if path.startswith(prefix):
            return channel
    return "print" if path.rstrip("/").endswith(("/print", "/handout")) else "page"  # a patient's handout too


def _member(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated and user.practice_id is not None else None


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy header: scripts and styles only from this site, no framing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class PracticeTimeZoneMiddleware:
    """Shows every date and time in the time zone of the user's practice."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        practice = getattr(user, "practice", None) if user is not None and user.is_authenticated else None
        if practice is not None:
            with timezone.override(ZoneInfo(practice.time_zone)):
                return self.get_response(request)
        return self.get_response(request)


SESSION_TOUCHED = "_touched"  # when the session's expiry was last pushed back (epoch seconds)
SESSION_TOUCH_EVERY = 60  # seconds: an idle session still ends SESSION_COOKIE_AGE after the last request,
# give or take a minute, without a database write on every request


class SessionTouchMiddleware:
    """Pushes a logged-in session's expiry back at most once a minute (instead of Django's
    SESSION_SAVE_EVERY_REQUEST, which writes the session row on every request). Place it after
    SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            if now - int(session.get(SESSION_TOUCHED, 0)) >= SESSION_TOUCH_EVERY:
                session[SESSION_TOUCHED] = now  # marks the session modified: saved with a new expiry
        return response


SESSION_STARTED = "_started"  # when the session's login happened (epoch seconds)


def session_started(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """``user_logged_in``'s receiver (connected by the web app's ``ready``): the session's start."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED] = int(timezone.now().timestamp())


class SessionLifetimeMiddleware:
    """Ends a logged-in session ``SESSION_ABSOLUTE_AGE`` seconds after its login, however busy it is (the idle
    timeout, ``SESSION_COOKIE_AGE``, ends a quiet one sooner): the request goes on logged out, so a page asks
    for the login again. A session from before this check has no start: it starts now. Place it after
    AuthenticationMiddleware and before LoginRequiredMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            started = request.session.setdefault(SESSION_STARTED, now)
            if now - int(started) > settings.SESSION_ABSOLUTE_AGE:
                logout(request)
        return self.get_response(request)


SESSION_MUST_ENROLL = "_two_factor_enroll"  # the practice requires a second factor this member has not set up
TWO_FACTOR_OPEN = frozenset(
    {"two_factor", "two_factor_setup", "logout", "password_change", "password_change_done", "healthz"}
)


def two_factor_gate(sender: object, request: HttpRequest | None, user: Any, **kwargs: object) -> None:
    """``user_logged_in``'s receiver (connected by the web app's ``ready``): whether this session must set up
    a second factor before anything else (read once per login, kept in the session)."""
    from isotrack.clinic.actions.two_factor import authenticator_of, required_for

    if request is not None and hasattr(request, "session"):
        if required_for(user) and authenticator_of(user) is None:
            request.session[SESSION_MUST_ENROLL] = True
        else:
            request.session.pop(SESSION_MUST_ENROLL, None)


class TwoFactorEnrollmentMiddleware:
    """Sends a logged-in member whose practice requires a second factor, and who has none, to set one up
    before any other page (logging out and changing the password stay open). Place it after
    LoginRequiredMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        session = getattr(request, "session", None)
        if session is None or not session.get(SESSION_MUST_ENROLL) or not request.user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.url_name in TWO_FACTOR_OPEN:
            return None
        target = reverse("two_factor_setup")
        if request.headers.get("HX-Request"):
            return HttpResponse(status=204, headers={"HX-Redirect": target})
        return redirect(target)
