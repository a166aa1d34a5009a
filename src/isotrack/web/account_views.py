"""A member's own account: the login with a second factor, setting up an authenticator app, recovery codes
(clinic.actions.two_factor).

The login takes the password first (Django's LoginView, throttled by django-axes); a member with an
authenticator is logged in only once a code is given too, within ``TWO_FACTOR_PENDING_SECONDS``. Until then
the session holds only who passed the password check, and nothing else is open to it.
"""

from __future__ import annotations

import time
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_static.models import StaticDevice

from isotrack.clinic.access import Capability, StaffRequest
from isotrack.clinic.actions import two_factor
from isotrack.clinic.actions.staff import change_prescribing, member_of
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import StaffUser
from isotrack.web.forms import CodeForm, PrescribingForm
from isotrack.web.middleware import SESSION_MUST_ENROLL
from isotrack.web.views import form_page, save_once, write_view

PENDING = "_two_factor_pending"  # {user, backend, at, next}: the password was right, the code is awaited
SETUP = "_two_factor_secret"  # the secret being set up, until a code confirms it


class PasswordThenCodeLoginView(LoginView):
    """Django's login; a member with an authenticator goes on to the code page instead of being logged in."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if two_factor.authenticator_of(user) is None:
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": int(time.time()),
            "next": self.get_success_url(),  # LoginView's: checked to stay on this site
        }
        return redirect("login_code")


def _pending_user(request: HttpRequest) -> tuple[StaffUser | None, dict[str, Any]]:
    pending = request.session.get(PENDING) or {}
    fresh = pending and time.time() - pending["at"] <= settings.TWO_FACTOR_PENDING_SECONDS
    user = StaffUser.objects.filter(pk=pending["user"], is_active=True).first() if fresh else None
    if user is None:
        request.session.pop(PENDING, None)
    return user, pending


@login_not_required
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of a login: the authenticator's code or a recovery code."""
    if request.user.is_authenticated:
        return redirect("home")
    user, pending = _pending_user(request)
    if user is None:
        if pending:
            messages.info(request, "Log in again: the code must follow the password within five minutes.")
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, why = two_factor.verify_second_factor(user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", why)
        else:
            del request.session[PENDING]
            auth_login(request, user, backend=pending["backend"])
            if isinstance(device, StaticDevice):
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You logged in with a recovery code: {left} left. Make new ones on your Two-factor page "
                    "if you lost your authenticator.",
                )
            return redirect(pending["next"])
    return render(request, "web/login_code.html", {"form": form}, status=422 if form.errors else 200)


@require_http_methods(["GET"])
def two_factor_page(request: StaffRequest) -> HttpResponse:
    """The member's second factor: whether it is set up, the recovery codes left, what can be done."""
    user = request.user
    context = {
        "authenticator": two_factor.authenticator_of(user),
        "codes_left": two_factor.recovery_codes_left(user),
        "required": two_factor.required_for(user),
    }
    return render(request, "web/two_factor/status.html", context)


@require_http_methods(["GET", "POST"])
def two_factor_setup(request: StaffRequest) -> HttpResponse:
    """A new authenticator: the QR code (and the secret, to type instead), then a code from the app. On
    success, the recovery codes, shown once."""
    secret = request.session.get(SETUP)
    if secret is None:
        secret = request.session[SETUP] = two_factor.new_secret()
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            return save_once(
                request, lambda: _confirmed(request, secret, form.cleaned_data["code"]), _shown_once
            )
        except InvalidInput as error:
            form.add_error("code", error.message)
    url = two_factor.authenticator_url(request.user, secret)
    context = {
        "form": form,
        "qr": segno.make(url, error="m").svg_data_uri(scale=5),
        "secret": two_factor.secret_for_typing(secret),
        "required": request.session.get(SESSION_MUST_ENROLL, False),
    }
    return render(request, "web/two_factor/setup.html", context, status=422 if form.errors else 200)


def _confirmed(request: StaffRequest, secret: str, code: str) -> HttpResponse:
    codes = two_factor.confirm_authenticator(actor=request.user, secret=secret, code=code)
    request.session.pop(SETUP, None)
    request.session.pop(SESSION_MUST_ENROLL, None)
    return _codes_page(request, codes, "Your authenticator is set up.")


def _codes_page(request: StaffRequest, codes: list[str], done: str) -> HttpResponse:
    return render(request, "web/two_factor/codes.html", {"codes": codes, "done": done})


def _shown_once() -> HttpResponse:
    return redirect("two_factor")


@require_http_methods(["GET", "POST"])
def two_factor_recovery(request: StaffRequest) -> HttpResponse:
    """Ten new recovery codes (the old ones stop working), shown once (a GET goes to the Two-factor page)."""
    if request.method != "POST":
        return redirect("two_factor")

    def save() -> HttpResponse:
        codes = two_factor.new_recovery_codes(actor=request.user)
        return _codes_page(request, codes, "New recovery codes: the earlier ones no longer work.")

    try:
        return save_once(request, save, _shown_once)
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("two_factor")


@require_http_methods(["GET", "POST"])
def two_factor_remove(request: StaffRequest) -> HttpResponse:
    """The member removes their own second factor (when the practice does not require one; a GET goes to the
    Two-factor page)."""
    if request.method != "POST":
        return redirect("two_factor")
    try:
        two_factor.remove_second_factor(actor=request.user, member=request.user)
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your authenticator and recovery codes are removed.")
    return redirect("two_factor")


@write_view(Capability.MANAGE_PRACTICE)
def staff_two_factor_remove(request: StaffRequest, member_id: str) -> HttpResponse:
    """An administrator removes a member's second factor (a lost phone): the member sets up a new one."""
    member = member_of(request.user, member_id)
    if request.method == "POST":
        two_factor.remove_second_factor(actor=request.user, member=member)
        messages.success(
            request,
            f"{member.display_name}'s second factor is removed: they log in with the password and set up "
            "a new one (at once, if the practice requires it).",
        )
    return redirect("staff_member", member_id=member.uuid)


@write_view(Capability.PRESCRIBE)
def prescribing(request: StaffRequest) -> HttpResponse:
    """A prescriber's own settings: the product line new courses start with, the capsule strengths stocked."""
    user = request.user

    def save(data: dict[str, Any]) -> HttpResponse:
        change_prescribing(
            actor=user, default_product_line=data["default_product_line"], stocked=form.stocked()
        )
        messages.success(request, "Prescribing settings saved: capsule plans use the strengths stocked.")
        return redirect("prescribing")

    form = PrescribingForm(
        request.POST or None,
        initial={"default_product_line": user.default_product_line},
        stocked=user.stocked_strengths or {},
    )
    return form_page(request, form, "web/prescribing.html", {}, save)
