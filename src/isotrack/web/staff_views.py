"""The practice's staff and settings, for its administrators: the list, inviting a member (by email, with the
one-time link that sets the password), changing a role, deactivating and reactivating (clinic.actions.staff);
the practice's settings, previewed before they are saved (clinic.actions.practice_settings)."""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from isotrack.clinic.access import Capability, StaffRequest, practice_of
from isotrack.clinic.actions.practice_settings import (
    SETTINGS,
    change_settings,
    practice_for_settings,
    preview_settings,
)
from isotrack.clinic.actions.practices import set_password_link
from isotrack.clinic.actions.staff import (
    change_staff,
    invite_staff,
    member_of,
    new_password_link,
    set_active,
    staff_of,
)
from isotrack.clinic.actions.two_factor import authenticator_of, required_for
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Practice, StaffUser
from isotrack.web.forms import InviteForm, PracticeSettingsForm, StaffForm
from isotrack.web.views import form_page, save_once, write_view

logger = logging.getLogger(__name__)


@require_http_methods(["GET"])
def staff_list(request: StaffRequest) -> HttpResponse:
    members = staff_of(request.user).order_by("-is_active", "last_name", "first_name", "username")
    return render(request, "web/staff/list.html", {"members": members})


@write_view(Capability.MANAGE_PRACTICE)
def staff_invite(request: StaffRequest) -> HttpResponse:
    def save(data: dict[str, Any]) -> HttpResponse:
        member = invite_staff(actor=request.user, **data)
        link = set_password_link(member, request.build_absolute_uri("/"))
        practice = practice_of(request.user).name
        transaction.on_commit(lambda: _invite_by_email(request, member, link, practice, ACCOUNT_GIVEN))
        return redirect("staff_member", member_id=member.uuid)

    context = {"hours": _link_hours()}
    return form_page(request, InviteForm(request.POST or None), "web/staff/invite.html", context, save)


def _link_hours() -> int:
    return int(settings.PASSWORD_RESET_TIMEOUT // 3600)


ACCOUNT_GIVEN = "{practice} has given you an isotrack account."
NEW_LINK = "{practice} sends you a new link to set your isotrack password."


def _invite_by_email(
    request: StaffRequest, member: StaffUser, link: str, practice: str, opening: str
) -> None:
    """Once the member is saved: the link by email, or, when email is not set up or the server refuses it,
    the link shown to the administrator to pass on."""
    hours = _link_hours()
    if settings.EMAIL_HOST:
        try:
            send_mail(
                subject=f"isotrack: your account at {practice}",
                message=(
                    f"{opening.format(practice=practice)} Your login is {member.username}.\n\n"
                    f"Set your password at this link, within {hours} hours; it works once:\n{link}\n"
                ),
                from_email=None,
                recipient_list=[member.email],
            )
        except (OSError, smtplib.SMTPException):
            logger.warning("the invitation email could not be sent")  # no address or name: no PHI
        else:
            what = "Invitation" if opening == ACCOUNT_GIVEN else "New link"
            messages.success(
                request, f"{what} sent to {member.email}: its link works once, for {hours} hours."
            )
            return
    messages.warning(
        request,
        f"No email was sent (email is not set up, or the server refused it): give {member.display_name} this "
        f"link, which works once, for {hours} hours: {link}",
    )


@write_view(Capability.MANAGE_PRACTICE)
def staff_member(request: StaffRequest, member_id: str) -> HttpResponse:
    member = member_of(request.user, member_id)

    def save(data: dict[str, Any]) -> HttpResponse:
        changed = change_staff(actor=request.user, member=member, **data)
        messages.success(request, f"{changed.display_name}: saved ({changed.get_role_display()}).")
        return redirect("staff_member", member_id=member.uuid)

    form = StaffForm(request.POST or None, initial={"role": member.role, "npi": member.npi})
    context = {
        "member": member,
        "authenticator": authenticator_of(member),
        "two_factor_required": required_for(member),
        "hours": _link_hours(),
    }
    return form_page(request, form, "web/staff/member.html", context, save)


@write_view(Capability.MANAGE_PRACTICE)
def staff_password_link(request: StaffRequest, member_id: str) -> HttpResponse:
    """The member page's "Send a new link to set the password" (a GET goes to that page)."""
    member = member_of(request.user, member_id)
    if request.method == "POST":
        try:
            new_password_link(actor=request.user, member=member)
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            link = set_password_link(member, request.build_absolute_uri("/"))
            _invite_by_email(request, member, link, practice_of(request.user).name, NEW_LINK)
    return redirect("staff_member", member_id=member.uuid)


@write_view(Capability.MANAGE_PRACTICE)
def staff_active(request: StaffRequest, member_id: str) -> HttpResponse:
    """The member page's Deactivate or Reactivate button (a GET goes to that page)."""
    member = member_of(request.user, member_id)
    if request.method != "POST":
        return redirect("staff_member", member_id=member.uuid)
    active = request.POST.get("active") == "1"

    def save() -> HttpResponse:
        changed = set_active(actor=request.user, member=member, active=active)
        done = (
            "reactivated"
            if changed.is_active
            else "deactivated: their sessions, API tokens and feeds stopped"
        )
        messages.success(request, f"{changed.display_name} {done}.")
        return redirect("staff_member", member_id=member.uuid)

    return save_once(request, save)


@write_view(Capability.MANAGE_PRACTICE)
def practice_settings(request: StaffRequest) -> HttpResponse:
    """The practice's settings: a change is previewed (what it alters on the worklist's courses), then saved
    with the Save button of that preview; changing a value after the preview previews again."""
    practice = practice_for_settings(request.user)
    form = PracticeSettingsForm(request.POST or None, initial={n: getattr(practice, n) for n in SETTINGS})
    preview, digest = None, ""
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in SETTINGS}
        digest = _digest(changes)
        try:
            if request.POST.get("confirm") == digest:
                return save_once(request, lambda: _save_settings(request, changes))
            preview = preview_settings(actor=request.user, changes=changes)
        except InvalidInput as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
    changed = [
        (PracticeSettingsForm.label_of(name), _shown(name, before), _shown(name, after))
        for name, (before, after) in (preview.changed.items() if preview else ())
    ]
    context = {"form": form, "preview": preview, "changed": changed, "digest": digest}
    return render(request, "web/practice_settings.html", context, status=422 if form.errors else 200)


def _shown(name: str, value: Any) -> str:
    """A setting's value in the words of its form: a choice's label, yes or no, a number without trailing
    zeros, a date as ISO."""
    if isinstance(value, list):  # the MRN's other names
        return ", ".join(value) or "none"
    if value == "":  # the phone number, not given
        return "none"
    field = Practice._meta.get_field(name)
    choices = dict(getattr(field, "choices", None) or ())
    if value in choices:
        return str(choices[value])
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return value.isoformat() if isinstance(value, date) else str(value)


def _digest(changes: dict[str, Any]) -> str:
    """The values a preview showed: Save saves them only if they are still the ones in the form."""
    text = json.dumps({name: str(value) for name, value in changes.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _save_settings(request: StaffRequest, changes: dict[str, Any]) -> HttpResponse:
    changed = change_settings(actor=request.user, changes=changes)
    names = ", ".join(PracticeSettingsForm.label_of(name).lower() for name in changed) or "nothing changed"
    messages.success(request, f"Settings saved ({names}). The worklist and the calendar follow them now.")
    return redirect("practice_settings")
