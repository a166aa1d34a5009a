"""A logged-in session is written at most once a minute, not on every request, and its expiry still counts
from the last request (give or take that minute)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from isotrack.web.middleware import SESSION_TOUCH_EVERY


def expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_a_session_is_written_at_most_once_a_minute(client, nurse):
    client.force_login(nurse)
    client.get(reverse("patients"))
    first = expiry(client)
    client.get(reverse("patients"))
    assert expiry(client) == first  # the second request within the minute wrote nothing
    later = timezone.now() + timedelta(seconds=SESSION_TOUCH_EVERY + 1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        client.get(reverse("patients"))
    assert expiry(client) > first  # a minute on, the expiry moves with the request


def test_a_busy_session_still_ends_its_absolute_lifetime_after_the_login(client, nurse, settings):
    settings.SESSION_ABSOLUTE_AGE = 3600
    client.force_login(nurse)
    assert client.get(reverse("patients")).status_code == 200
    within = timezone.now() + timedelta(seconds=3500)
    with mock.patch("django.utils.timezone.now", return_value=within):
        assert client.get(reverse("patients")).status_code == 200  # busy: the idle timeout never comes
    after = timezone.now() + timedelta(seconds=3700)
    with mock.patch("django.utils.timezone.now", return_value=after):
        response = client.get(reverse("patients"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session  # logged out, not only turned away


def test_staff_change_their_password_with_the_old_one_and_a_strong_new_one(client, nurse):
    old, new = "old-passphrase-2026", "new-passphrase-2026"
    nurse.set_password(old)
    nurse.save()
    assert client.post(reverse("login"), {"username": nurse.username, "password": old}).status_code == 302
    page = reverse("password_change")
    assert b'href="/password/change/"' in client.get(reverse("patients")).content
    for given, field, error in (
        (
            {"old_password": "wrong-passphrase", "new_password1": new, "new_password2": new},
            "old_password",
            b"incorrect",
        ),
        (
            {"old_password": old, "new_password1": "short-1", "new_password2": "short-1"},
            "new_password2",
            b"at least 12",
        ),
    ):
        refused = client.post(page, given)
        assert refused.status_code == 200 and error in refused.content
        assert f'id="id_{field}-error"'.encode() in refused.content
    done = client.post(page, {"old_password": old, "new_password1": new, "new_password2": new}, follow=True)
    assert b"Password changed" in done.content
    assert client.get(reverse("patients")).status_code == 200  # this session goes on
    nurse.refresh_from_db()
    assert nurse.check_password(new)


def test_a_session_from_before_the_lifetime_check_starts_its_lifetime_now(client, nurse):
    from isotrack.web.middleware import SESSION_STARTED

    client.force_login(nurse)
    session = client.session
    del session[SESSION_STARTED]
    session.save()
    assert client.get(reverse("patients")).status_code == 200  # not logged out
    assert abs(client.session[SESSION_STARTED] - timezone.now().timestamp()) < 60
