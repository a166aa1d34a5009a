"""A real practice starts: `isotrack create-practice`, the one-time link that sets the administrator's
password, the first login; bad input refused whole with one line and exit 2."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import Practice, Role, StaffUser

pytestmark = pytest.mark.django_db

PASSWORD = "harbor-passphrase-2026"
URL = "https://isotrack.harbor.example"


def create(*options: str, name: str = "Harbor Dermatology", email: str = "Admin@Harbor.example") -> str:
    out = io.StringIO()
    arguments = ["--name", name, "--time-zone", "America/Chicago", "--admin-email", email, *options]
    call_command("create_practice", *arguments, stdout=out)
    return out.getvalue()


def form_of(client: Client, link: str) -> str:
    """The address the set-password form posts to, reached from the link (Django moves the token from the
    address into the session first)."""
    response = client.get(link.removeprefix(URL), follow=True)
    assert response.status_code == 200 and b"Set your password" in response.content
    return str(response.redirect_chain[-1][0]) if response.redirect_chain else link.removeprefix(URL)


def test_a_new_practice_and_its_administrator_who_sets_a_password_once_and_logs_in():
    out = create("--url", URL + "/")
    link = out.splitlines()[-1]
    assert out.splitlines()[0] == "created the practice Harbor Dermatology (America/Chicago)"
    assert "admin@harbor.example sets a password, once, within 72 hours" in out
    assert link.startswith(URL + "/password/set/")
    practice = Practice.objects.get(name="Harbor Dermatology")
    admin = StaffUser.objects.get(username="admin@harbor.example")
    assert (practice.time_zone, admin.practice, admin.role) == (
        "America/Chicago",
        practice,
        Role.PRACTICE_ADMIN,
    )
    assert admin.email == "Admin@Harbor.example" and not admin.has_usable_password()
    trail = AuditEvent.objects.filter(practice=practice)
    assert sorted(trail.values_list("action", "actor__username")) == [
        ("practice.create", "admin@harbor.example"),
        ("staff.create", "admin@harbor.example"),
    ]

    browser = Client()
    target = form_of(browser, link)
    for bad, error in (("short-pass", b"at least 12 characters"), ("password1234", b"too common")):
        refused = browser.post(target, {"new_password1": bad, "new_password2": bad})
        assert refused.status_code == 200 and error in refused.content
    done = browser.post(target, {"new_password1": PASSWORD, "new_password2": PASSWORD}, follow=True)
    assert b"Password set" in done.content
    logged_in = browser.post(
        "/login/", {"username": "admin@harbor.example", "password": PASSWORD}, follow=True
    )
    assert logged_in.status_code == 200 and logged_in.wsgi_request.user == admin

    again = Client().get(link.removeprefix(URL), follow=True)  # used once: refused
    assert b"expired or has been used" in again.content and b"new_password1" not in again.content


def test_the_link_expires(monkeypatch, settings):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    issued = dt.datetime.now() - dt.timedelta(hours=2)
    monkeypatch.setattr(default_token_generator, "_now", lambda: issued)
    link = create().splitlines()[-1]
    monkeypatch.undo()
    expired = Client().get(link.removeprefix("http://localhost:8000"), follow=True)
    assert b"expired or has been used" in expired.content and b"new_password1" not in expired.content


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--time-zone", "Mars/Olympus"], "--time-zone: Mars/Olympus is not a time zone of the tz database"),
        (["--admin-email", "not-an-address"], "--admin-email: not-an-address is not an email address."),
        (["--name", "   "], "--name: The practice's name must be 1 to 200 characters."),
        (["--url", "isotrack.example"], "--url: isotrack.example is not an http(s) address"),
    ],
)
def test_bad_input_is_refused_with_one_line_and_nothing_written(options, message):
    arguments = {
        "--name": "Harbor Dermatology",
        "--time-zone": "America/Chicago",
        "--admin-email": "a@h.example",
    }
    given = dict(arguments, **dict(zip(options[::2], options[1::2], strict=True)))
    with pytest.raises(CommandError) as error:
        call_command(
            "create_practice", *(item for pair in given.items() for item in pair), stdout=io.StringIO()
        )
    assert error.value.returncode == 2 and str(error.value).startswith(message)
    assert "\n" not in str(error.value)
    assert not Practice.objects.filter(name="Harbor Dermatology").exists() and not StaffUser.objects.exists()


def test_a_practice_or_a_login_that_exists_is_refused():
    create()
    with pytest.raises(CommandError) as error:
        create(name="harbor  DERMATOLOGY", email="other@harbor.example")
    assert error.value.returncode == 2
    assert str(error.value) == "--name: A practice named 'harbor DERMATOLOGY' exists already."
    with pytest.raises(CommandError) as error:
        create(name="Harbor North", email="ADMIN@harbor.example")
    assert str(error.value) == "--admin-email: admin@harbor.example is already the login of a staff member."
    assert Practice.objects.count() == 1 and StaffUser.objects.count() == 1
