"""iCalendar feeds: built with the icalendar library, parsed back and validated, reached only by a live token,
saying little, and keeping their UIDs when a dose change moves the dates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from icalendar import Calendar

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.calendar import event_uid
from isotrack.clinic.queries import practice_today
from isotrack.notify import actions as notify_actions
from isotrack.notify.actions import token_hash
from isotrack.notify.models import FeedToken

DRUG_NAMES = ("isotretinoin", "absorica", "claravis", "amnesteem", "myorisan", "zenatane", "accutane")
METHOD_WORDS = ("condom", "iud", "pill", "implant", "injection", "ring", "patch", "vasectomy", "abstinence")


def fetch(client, secret: str):
    return client.get(reverse("calendar_feed", kwargs={"token": secret}))


def parsed(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    calendar.validate()
    assert not calendar.errors
    for component in calendar.walk():
        assert not component.errors, component.name
    return calendar


def events_by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_a_patient_feed_parses_back_validates_and_says_only_minimal_words(
    client, nurse, patient, active_course
):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    calendar = parsed(fetch(client, issued.secret))
    events = list(calendar.walk("VEVENT"))
    assert events
    summaries = {str(e["SUMMARY"]) for e in events}
    assert "Clinic visit" in summaries or "Lab visit" in summaries
    assert any(s.startswith("Pick up prescription by") for s in summaries)
    text = calendar.to_ical().decode().lower()
    for forbidden in (*DRUG_NAMES, *METHOD_WORDS, "negative", "positive", "pregnan", "mg"):
        assert forbidden not in text, forbidden
    assert patient.family_name.lower() not in text and patient.given_name.lower() not in text
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids))
    assert event_uid(active_course, "pick-up-2") in uids


def test_steps_still_to_do_carry_a_display_alarm_and_a_pick_up_waiting_for_its_test_none(
    client, nurse, patient, active_course
):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    events = events_by_uid(parsed(fetch(client, issued.secret)))
    visit = events[event_uid(active_course, "visit-2")]  # the monthly visit: upcoming
    alarms = visit.walk("VALARM")
    assert len(alarms) == 1 and str(alarms[0]["ACTION"]) == "DISPLAY"
    pick_up = events[event_uid(active_course, "pick-up-2")]  # waits for the monthly test
    assert not pick_up.walk("VALARM")
    assert str(pick_up["SUMMARY"]) == "Pick up prescription: not yet possible"
    first_fill = events[event_uid(active_course, "pick-up-1")]
    assert not first_fill.walk("VALARM")  # done: nothing to remind


def test_staff_feeds_name_patients_by_initials_and_mrn_only(
    client, nurse, prescriber, patient, active_course
):
    for scope, subject in (("prescriber", {"prescriber": prescriber}), ("practice", {})):
        issued = notify_actions.create_feed_token(actor=nurse, scope=scope, **subject)
        calendar = parsed(fetch(client, issued.secret))
        text = calendar.to_ical().decode()
        assert f"{patient.initials} {patient.mrn}" in text
        assert patient.family_name not in text and patient.given_name not in text
        for forbidden in DRUG_NAMES:
            assert forbidden not in text.lower()


def test_a_dose_change_moves_the_end_events_in_the_feed_under_the_same_uids(
    client, nurse, prescriber, patient, active_course
):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    before = events_by_uid(parsed(fetch(client, issued.secret)))
    change_dose(
        actor=prescriber,
        course=active_course,
        starts_on=practice_today(patient.practice) + timedelta(days=1),
        mg_per_day=Decimal(80),
        product="conventional",
        change_reason="planned",
        reason="tolerating well",
    )
    after = events_by_uid(parsed(fetch(client, issued.secret)))
    for key in ("pregnancy-test-end-of-course-1", "pregnancy-test-post-course-1", "contraception-until-1"):
        uid = event_uid(active_course, key)
        assert uid in before and uid in after, key
        assert after[uid]["DTSTART"].dt < before[uid]["DTSTART"].dt, key
    assert set(after) <= set(before)  # nothing new: moved, not duplicated


def test_an_unknown_or_revoked_token_answers_404(client, nurse, patient, active_course):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    assert fetch(client, issued.secret).status_code == 200
    notify_actions.revoke_feed_token(actor=nurse, feed=issued.feed)
    assert fetch(client, issued.secret).status_code == 404
    assert fetch(client, "not-a-token").status_code == 404


def test_only_the_hash_of_a_token_is_stored(nurse, patient):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    row = FeedToken.objects.get(pk=issued.feed.pk)
    assert row.token_sha256 == token_hash(issued.secret) and issued.secret not in row.token_sha256
    assert len(issued.secret) >= 40


def test_rotating_gives_a_new_address_and_ends_the_old_one_with_audit_rows(
    client, nurse, patient, active_course
):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    rotated = notify_actions.rotate_feed_token(actor=nurse, feed=issued.feed)
    assert fetch(client, issued.secret).status_code == 404
    assert fetch(client, rotated.secret).status_code == 200
    assert rotated.feed.replaces_id == issued.feed.pk
    codes = list(AuditEvent.objects.filter(object_type="feedtoken").values_list("action", flat=True))
    assert codes == [EventCode.FEED_TOKEN_CREATE, EventCode.FEED_TOKEN_REVOKE, EventCode.FEED_TOKEN_ROTATE]
    assert all(issued.secret not in str(e.after) for e in AuditEvent.objects.filter(object_type="feedtoken"))


def test_the_feed_page_shows_the_address_once_and_never_again(client, nurse, patient):
    client.force_login(nurse)
    response = client.post(reverse("calendar_feed_new"), {"scope": "patient", "mrn": patient.mrn})
    assert response.status_code == 200
    body = response.content.decode()
    feed = FeedToken.objects.get()
    assert "/feeds/" in body and ".ics" in body
    listing = client.get(reverse("calendar_feeds")).content.decode()
    assert f"Patient {patient.initials} {patient.mrn}" in listing
    address = body.split('value="', 2)[-1].split('"')[0] if 'readonly value="' in body else ""
    assert address and address not in listing
    assert feed.token_sha256 not in listing


def test_a_patient_feed_needs_a_patient_of_the_practice(client, nurse, outsider, other_practice):
    client.force_login(nurse)
    response = client.post(reverse("calendar_feed_new"), {"scope": "patient", "mrn": "NOPE"})
    assert response.status_code == 422
    assert not FeedToken.objects.exists()


@pytest.mark.parametrize("url_name", ["calendar_feed_revoke", "calendar_feed_rotate"])
def test_an_outsider_cannot_revoke_or_rotate_another_practices_feed(
    client, nurse, outsider, patient, url_name
):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    client.force_login(outsider)
    response = client.post(reverse(url_name), {"feed": str(issued.feed.uuid)})
    assert response.status_code == 404
    assert FeedToken.objects.get(pk=issued.feed.pk).revoked_at is None


def test_a_second_parser_reads_the_feed_as_icalendar_does(client, nurse, patient, active_course):
    """vobject (not the library that wrote the feed) reads the same events, and the refresh interval as a
    duration (RFC 7986 5.7: REFRESH-INTERVAL;VALUE=DURATION)."""
    import vobject

    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    response = fetch(client, issued.secret)
    ours = events_by_uid(parsed(response))
    theirs = vobject.readOne(response.content.decode())
    events = {event.uid.value: event for event in theirs.vevent_list}
    assert events.keys() == ours.keys()
    for uid, event in events.items():
        assert event.summary.value == str(ours[uid]["SUMMARY"])
        assert event.dtstart.value == ours[uid].decoded("DTSTART")
    refresh = theirs.contents["refresh-interval"][0]
    assert refresh.params["VALUE"] == ["DURATION"] and refresh.value == "PT6H"


def test_a_feed_answers_head_and_304_while_its_events_are_unchanged(
    client, nurse, prescriber, patient, active_course
):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    url = reverse("calendar_feed", kwargs={"token": issued.secret})
    first = client.get(url)
    etag = first["ETag"]
    head = client.head(url)
    assert head.status_code == 200 and head["ETag"] == etag and not head.content
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)  # a later fetch: new stamps, the same events
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    tomorrow = practice_today(patient.practice) + timedelta(days=1)
    change_dose(
        actor=prescriber, course=active_course, starts_on=tomorrow, mg_per_day=Decimal(80),
        product="conventional", change_reason="planned", reason="tolerating well",
    )  # fmt: skip
    moved = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200 and moved["ETag"] != etag
    assert client.post(url).status_code == 405


def test_a_feeds_etag_is_the_same_at_any_hour_while_its_events_are_and_no_precondition_logs_it(
    client, nurse, patient, active_course, caplog
):
    from datetime import UTC, datetime

    from isotrack.notify import feeds

    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    feed = FeedToken.objects.get(uuid=issued.feed.uuid)
    early, late = datetime(2026, 12, 3, 8, 0, 1, tzinfo=UTC), datetime(2026, 12, 3, 13, 59, 58, tzinfo=UTC)
    at_eight, at_two = (feeds.build_feed(feed, now=when).to_ical() for when in (early, late))
    assert at_eight != at_two  # the stamps differ ...
    assert feeds.feed_version(at_eight) == feeds.feed_version(at_two)  # ... the version does not
    url = reverse("calendar_feed", kwargs={"token": issued.secret})
    for header in (
        {"HTTP_IF_UNMODIFIED_SINCE": "Mon, 01 Jan 2001 00:00:00 GMT"},
        {"HTTP_IF_MATCH": '"other"'},
    ):
        assert client.get(url, **header).status_code == 200  # only If-None-Match is a condition here
    assert issued.secret not in caplog.text
