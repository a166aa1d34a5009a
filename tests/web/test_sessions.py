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
