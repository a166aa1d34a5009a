"""Tokens end: an API token and a calendar feed have an expiry (settable, with a default), after which the API
answers 401 and the feed 404; their owners see when each was last used and when it expires."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from isotrack.api import tokens
from isotrack.api.models import ApiToken
from isotrack.notify.actions import create_feed_token
from isotrack.notify.models import FeedToken
from tests.api.conftest import TokenClient

pytestmark = pytest.mark.django_db


def later(days: float):
    """Every clock the tokens read, ``days`` from now."""
    moved = timezone.now() + timedelta(days=days)
    return mock.patch("django.utils.timezone.now", return_value=moved)


def test_an_api_token_works_until_it_expires_then_answers_401(nurse, patient, settings):
    token, value = tokens.create_token(actor=nurse, name="EHR interface", days=2)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=2))) < timedelta(minutes=1)
    api = TokenClient(value)
    url = f"/api/v1/patients/{patient.uuid}"
    assert api.get(url).status_code == 200
    with later(1.9):
        assert api.get(url).status_code == 200
    with later(2.1):
        for path in (url, f"/fhir/R4/Patient/{patient.uuid}"):
            answer = api.get(path)
            assert answer.status_code == 401, path
    default, _ = tokens.create_token(actor=nurse, name="script")
    expected = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    assert abs(default.expires_at - expected) < timedelta(minutes=1)


@pytest.mark.parametrize("days", ["0", "367", "abc", "-1", "1.5"])
def test_a_token_life_out_of_range_is_refused_beside_its_field_and_nothing_is_made(client, nurse, days):
    client.force_login(nurse)
    page = client.get(reverse("api_tokens"))
    key = page.context["submission_key"]
    answer = client.post(reverse("api_tokens"), {"name": "script", "days": days, "submission_key": key})
    assert answer.status_code == 422 and "days" in answer.content.decode()
    assert not ApiToken.objects.filter(user=nurse).exists()


def test_the_token_page_shows_each_tokens_last_use_and_expiry(client, nurse, patient):
    token, value = tokens.create_token(actor=nurse, name="EHR interface", days=30)
    TokenClient(value).get(f"/api/v1/patients/{patient.uuid}")
    client.force_login(nurse)
    page = client.get(reverse("api_tokens")).content.decode()
    token.refresh_from_db()
    assert token.last_used_at is not None
    local = timezone.localtime(token.expires_at, ZoneInfo(nurse.practice.time_zone))  # as the page shows it
    assert local.strftime("%Y-%m-%d %H:%M") in page and "<td>never</td>" not in page
    assert 'name="days"' in page and 'value="90"' in page  # the default life offered, a number to change


def test_a_feed_works_until_it_expires_then_answers_404_and_its_last_fetch_is_shown(
    client, nurse, patient, settings
):
    issued = create_feed_token(actor=nurse, scope="patient", patient=patient)
    url = reverse("calendar_feed", args=[issued.secret])
    expected = timezone.now() + timedelta(days=settings.FEED_TOKEN_DAYS)
    assert abs(issued.feed.expires_at - expected) < timedelta(minutes=1)
    assert client.get(url).status_code == 200
    fetched = FeedToken.objects.get(pk=issued.feed.pk).last_used_at
    assert fetched is not None
    with later(settings.FEED_TOKEN_DAYS - 1):
        assert client.get(url).status_code == 200
    with later(settings.FEED_TOKEN_DAYS + 1):
        assert client.get(url).status_code == 404
    client.force_login(nurse)
    page = client.get(reverse("calendar_feeds")).content.decode()
    expires = timezone.localtime(issued.feed.expires_at, ZoneInfo(nurse.practice.time_zone))
    assert "Last fetched" in page and expires.strftime("%Y-%m-%d") in page
