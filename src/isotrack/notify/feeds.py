"""iCalendar feeds (RFC 5545, built by the `icalendar` library): one per patient, prescriber or practice.

What a feed says is deliberately little, because a calendar app shows it on a lock screen and syncs it to
other companies' servers:
- the patient's feed: "Clinic visit", "Lab visit", "Pick up prescription by" and the like
  (`core.PATIENT_WORDS`), never the drug, a result or a contraception method, and no name; never a staff-only
  event (a stopped course's follow-up, an alert review, the end of a hold: `PlannedEvent.for_staff_only`);
  a step that cannot happen yet (status "waiting") says "not yet possible" instead of a date to meet;
- staff feeds: every event, the patient's initials and MRN with the step's staff label, without the
  label's detail (an alert's value, a hold's reason: `staff_words`), and the core's status.

Events are all-day, on the planned day; their UID is derived from the course's public id and the event's
stable key (`clinic.calendar.event_uid`: opaque, so it says nothing either), the same each time the feed is
regenerated, so that a moved date (a dose change moves the projected end) updates the event
instead of adding one. Only steps still to do (the core's status "open" or "upcoming") carry a DISPLAY alarm
the morning before (VALARM); a waiting, overdue, done or past one has none.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from icalendar import Alarm, Calendar, Event
from icalendar.enums import STATUS, TRANSP

from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic.calendar import CalendarEntry, staff_words
from isotrack.clinic.errors import RecordNotFound
from isotrack.clinic.queries import practice_today
from isotrack.notify.actions import token_hash
from isotrack.notify.models import FeedScope, FeedToken

PRODID = "-//isotrack//therapy calendar//EN"
ALARM_BEFORE = timedelta(hours=-15)  # 9:00 the day before an all-day event
REFRESH = timedelta(hours=6)


LAST_USED_RESOLUTION = timedelta(hours=1)  # a calendar app polls often: its last use is kept to the hour


def active_feed(secret: str) -> FeedToken | None:
    """The feed a secret opens, or None (unknown, revoked or expired: the caller answers 404 each way). Its
    last use is written at most once an hour (bookkeeping, not an audited change; the look is logged)."""
    if not secret or len(secret) > 200:
        return None
    now = timezone.now()
    found = (
        FeedToken.objects.select_related("practice", "patient", "prescriber", "created_by")
        .filter(token_sha256=token_hash(secret), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if found is not None and (found.last_used_at is None or now - found.last_used_at > LAST_USED_RESOLUTION):
        FeedToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found


def feed_entries(feed: FeedToken, day: date) -> list[CalendarEntry]:
    if feed.scope == FeedScope.PATIENT:
        found = clinic_calendar.practice_entries(feed.practice, day, patient=feed.patient)
        return [entry for entry in found if not entry.for_staff_only]
    if feed.scope == FeedScope.PRESCRIBER:
        return clinic_calendar.practice_entries(feed.practice, day, prescriber=feed.prescriber)
    return clinic_calendar.practice_entries(feed.practice, day)


def feed_name(feed: FeedToken) -> str:
    if feed.scope == FeedScope.PATIENT:
        return f"{feed.practice.name}: my appointments"
    if feed.scope == FeedScope.PRESCRIBER:
        assert feed.prescriber is not None  # a prescriber's feed names one (feed_token_scope_matches_subject)
        return f"{feed.practice.name}: {feed.prescriber.display_name}'s patients"
    return f"{feed.practice.name}: all courses"


def staff_summary(entry: CalendarEntry) -> str:
    patient = entry.patient
    return f"{patient.initials} {patient.mrn}: {staff_words(entry)}"


def patient_summary(entry: CalendarEntry) -> str:
    """A patient's words for an event: "Pick up prescription by 2026-12-01" (the date is the event's own:
    for a pick-up the window's last day), or for a step that cannot happen yet "...: not yet possible"."""
    words = entry.event.patient_words
    if entry.status == "waiting":
        return f"{words.removesuffix(' by')}: not yet possible"
    if words.endswith(" by"):
        return f"{words} {entry.event.date.isoformat()}"
    return words


def _description(entry: CalendarEntry, for_patient: bool) -> str:
    event = entry.event
    lines = []
    if event.earliest != event.latest:
        lines.append(f"From {event.earliest.isoformat()} to {event.latest.isoformat()}.")
    if event.projected:
        lines.append("Planned from the current dose: the date can move.")
    if event.done_on is not None:
        lines.append(f"Done on {event.done_on.isoformat()}.")
    if for_patient:
        if entry.status == "waiting":
            lines.append("An earlier step is not done yet: the clinic will tell you when.")
        lines.append("Questions: call the clinic.")
    else:
        lines.append(f"Status: {entry.status_label}. Rule: {event.rule_id}.")
    return " ".join(lines)


def vevent(entry: CalendarEntry, *, for_patient: bool, stamp: datetime) -> Event:
    event = entry.event
    summary = patient_summary(entry) if for_patient else staff_summary(entry)
    component = Event.new(
        uid=entry.uid,
        stamp=stamp,
        start=event.date,
        end=event.date + timedelta(days=1),
        summary=summary,
        description=_description(entry, for_patient),
        status=STATUS.TENTATIVE if event.projected or entry.status == "waiting" else STATUS.CONFIRMED,
        transparency=TRANSP.TRANSPARENT,
    )
    if entry.to_do:  # open or upcoming: never a waiting, overdue, done or past step
        component.add_component(
            Alarm.new_display(
                description=summary, trigger=ALARM_BEFORE, uid=f"{entry.uid.removesuffix('@isotrack')}-alarm"
            )
        )
    return component


def build_feed(feed: FeedToken, *, now: datetime | None = None) -> Calendar:
    now = now or timezone.now()
    day = practice_today(feed.practice)
    for_patient = feed.scope == FeedScope.PATIENT
    stamp = now.replace(microsecond=0)
    calendar = Calendar.new(
        prodid=PRODID,
        name=feed_name(feed),
        uid=str(feed.uuid),
        refresh_interval=REFRESH,
    )
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"  # RFC 7986 5.7: the value type must be named
    calendar.add("X-PUBLISHED-TTL", "PT6H")  # the same, for clients that predate RFC 7986
    for entry in feed_entries(feed, day):
        calendar.add_component(vevent(entry, for_patient=for_patient, stamp=stamp))
    return calendar


def feed_bytes(feed: FeedToken) -> bytes:
    return build_feed(feed).to_ical()


def feed_version(content: bytes) -> str:
    """The feed's ETag: a digest of its content, the DTSTAMP lines aside (each fetch stamps its events with
    the time it was made), so that a calendar app's copy is current (304) while no event changed."""
    lines = [line for line in content.splitlines() if not line.startswith(b"DTSTAMP:")]
    digest = hashlib.sha256(b"\n".join(lines)).hexdigest()[:32]
    return f'"{digest}"'


def feeds_of(practice_id: int) -> QuerySet[FeedToken]:
    return FeedToken.objects.filter(practice_id=practice_id).select_related(
        "patient", "prescriber", "created_by", "revoked_by"
    )


def subjects(feeds: Iterable[FeedToken]) -> list[tuple[FeedToken, str]]:
    """Each feed with what it covers, in staff words (initials and MRN for a patient)."""
    found = []
    for feed in feeds:
        if feed.scope == FeedScope.PATIENT:
            assert feed.patient is not None  # a patient's feed names one (feed_token_scope_matches_subject)
            label = f"Patient {feed.patient.initials} {feed.patient.mrn}"
        elif feed.scope == FeedScope.PRESCRIBER:
            assert feed.prescriber is not None  # likewise a prescriber's
            label = f"Prescriber {feed.prescriber.display_name}"
        else:
            label = "Whole practice"
        found.append((feed, label))
    return found


def access_feed(practice_id: int | None, feed_uuid: object) -> FeedToken:
    """A feed of the user's practice by public id; another practice's feed is reported as missing."""
    try:
        key = uuid.UUID(str(feed_uuid))
    except ValueError:
        key = None
    feed = feeds_of(practice_id).filter(uuid=key).first() if key and practice_id else None
    if feed is None:
        raise RecordNotFound("No such feed.")
    return feed
