"""Reminders by e-mail: `isotrack send-reminders`, once a day (safe to run again, or in several processes).

Two phases, each through the database only (no state in the process):

1. Queue. For each practice, on the practice's today, every step still to do that falls due tomorrow, or
   whose acceptable range closes within 2 days, becomes one outbox row per recipient: the patient (only with
   `reminders_consent` and an e-mail address) and the course's prescriber. The row's UNIQUE key is
   (recipient, event uid, event date), and rows are inserted with "ignore conflicts": a second run, or a
   second process, queues nothing new. A date that moves (a dose change) is a new reminder.
2. Deliver. Rows pending or failed are claimed with a lease (a compare-and-set UPDATE, after
   `select_for_update(skip_locked=True)` on PostgreSQL), sent over SMTP, then marked sent. A failure marks the
   row failed with the error's kind and it is tried again on the next run; nothing is ever deleted.

Delivery is at-least-once: the row is written (committed) before the message is sent, and marked sent only
after the SMTP server accepted it. If the process dies between the two, the lease expires and a later run
sends the message again, with the same Message-ID so that a mail system can drop the copy. At-most-once would
lose a reminder in that case, which is worse for a patient than a rare duplicate.

No message names the drug, a result or a contraception method (patients get `core.PATIENT_WORDS`, staff the
patient's initials and MRN with the step's label); logs carry counts only.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic.calendar import CalendarEntry
from isotrack.clinic.models import Practice
from isotrack.clinic.queries import practice_today
from isotrack.notify.feeds import staff_summary
from isotrack.notify.models import Audience, OutboxStatus, ReminderOutbox

log = logging.getLogger(__name__)

CLOSING_WITHIN_DAYS = 2  # issue 5: windows that close within 2 days
LEASE = timedelta(minutes=10)  # a sender that died releases its rows after this long
BATCH = 50


@dataclass
class RunReport:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped_no_smtp: bool = False
    failures: list[str] = field(default_factory=list)  # error kinds only


# -------------------------------------------------------------------------------------------------- queue


def worth_a_reminder(entry: CalendarEntry, day: date) -> bool:
    event = entry.event
    if not event.is_step or event.done_on is not None or entry.status in ("past", "overdue", "done"):
        return False
    tomorrow = day + timedelta(days=1)
    return event.date == tomorrow or day <= event.latest <= day + timedelta(days=CLOSING_WITHIN_DAYS)


def _without_repeats(found: list[CalendarEntry]) -> list[CalendarEntry]:
    """One message per thing to do: the test is collected at the visit, and an open pick-up window says the
    pick-up date better than the planned fill."""
    keys = {(e.course.pk, e.event.kind, e.event.number) for e in found}
    kept = []
    for entry in found:
        course, kind, number = entry.course.pk, entry.event.kind, entry.event.number
        if kind == "pregnancy_test" and (course, "visit", number) in keys:
            continue
        if kind == "pick_up" and (course, "pick_up_window", number) in keys:
            continue
        kept.append(entry)
    return kept


def patient_message(entry: CalendarEntry, practice: Practice) -> tuple[str, str]:
    event = entry.event
    words = event.patient_words
    when = event.latest.isoformat() if words.endswith(" by") else f"on {event.date.isoformat()}"
    subject = f"Reminder: {words} {when}"
    body = (
        f"Hello,\n\nA reminder from {practice.name}: {words} {when}.\n\n"
        "If you have a question or cannot make it, please call the clinic.\n\n"
        "You receive these reminders because you asked for them; tell the clinic to stop them at any time.\n"
    )
    return subject, body


def staff_message(entry: CalendarEntry, practice: Practice) -> tuple[str, str]:
    event = entry.event
    closes = f", acceptable until {event.latest.isoformat()}" if event.latest != event.date else ""
    subject = f"isotrack: {staff_summary(entry)} {event.date.isoformat()}"
    body = (
        f"{practice.name}\n\n{staff_summary(entry)}: due {event.date.isoformat()}{closes} "
        f"({event.rule_id}).\n\nOpen isotrack's calendar for the course.\n"
    )
    return subject, body


def _rows_for(entry: CalendarEntry, practice: Practice, day: date) -> list[ReminderOutbox]:
    rows = []
    patient, prescriber = entry.patient, entry.course.prescriber
    common = {
        "practice": practice,
        "patient": patient,
        "course": entry.course,
        "event_uid": entry.uid,
        "event_kind": entry.event.kind,
        "event_date": entry.event.date,
        "queued_on": day,
    }
    if patient.reminders_consent and patient.email:
        subject, body = patient_message(entry, practice)
        rows.append(
            ReminderOutbox(
                audience=Audience.PATIENT, recipient=patient.email, subject=subject, body=body, **common
            )
        )
    if prescriber.email and prescriber.is_active:
        subject, body = staff_message(entry, practice)
        rows.append(
            ReminderOutbox(
                audience=Audience.STAFF, recipient=prescriber.email, subject=subject, body=body, **common
            )
        )
    return rows


def queue_reminders(practice: Practice, day: date) -> int:
    """Queue the practice's reminders of `day`; returns how many rows are new."""
    found = [e for e in clinic_calendar.practice_entries(practice, day) if worth_a_reminder(e, day)]
    rows = [row for entry in _without_repeats(found) for row in _rows_for(entry, practice, day)]
    if not rows:
        return 0
    known = set(
        ReminderOutbox.objects.filter(event_uid__in={r.event_uid for r in rows}).values_list(
            "recipient", "event_uid", "event_date"
        )
    )
    new = [r for r in rows if (r.recipient, r.event_uid, r.event_date) not in known]
    with transaction.atomic():
        # A concurrent run may insert the same key between the read and here: the UNIQUE key drops it.
        ReminderOutbox.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# ------------------------------------------------------------------------------------------------ deliver


def _claimable(now: datetime) -> Q:
    return Q(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _claim_batch(now: datetime, tried: set[int]) -> list[ReminderOutbox]:
    with transaction.atomic():
        candidates = ReminderOutbox.objects.filter(_claimable(now)).exclude(pk__in=tried).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        rows = list(candidates[:BATCH])
        claimed = []
        for row in rows:
            won = ReminderOutbox.objects.filter(_claimable(now), pk=row.pk).update(
                claimed_until=now + LEASE, attempts=F("attempts") + 1
            )
            tried.add(row.pk)
            if won:
                claimed.append(row)
    return claimed


def _error_kind(error: Exception) -> str:
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"[:200]


def _send(row: ReminderOutbox, mail_connection: object) -> None:
    message = EmailMessage(
        subject=row.subject,
        body=row.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient],
        headers={"Message-ID": row.message_id, "Auto-Submitted": "auto-generated"},
        connection=mail_connection,
    )
    message.send(fail_silently=False)


def deliver_reminders(report: RunReport) -> None:
    if not settings.EMAIL_HOST:
        report.skipped_no_smtp = True
        return
    tried: set[int] = set()
    mail_connection = get_connection(fail_silently=False)
    while True:
        now = timezone.now()
        batch = _claim_batch(now, tried)
        if not batch:
            return
        for row in batch:
            try:
                _send(row, mail_connection)
            except Exception as error:  # noqa: BLE001 - any failure leaves the reminder for the next run
                kind = _error_kind(error)
                ReminderOutbox.objects.filter(pk=row.pk).update(
                    status=OutboxStatus.FAILED, claimed_until=None, last_error=kind
                )
                report.failed += 1
                report.failures.append(kind)
                with contextlib.suppress(Exception):  # a broken connection is reopened by the next send
                    mail_connection.close()
                continue
            ReminderOutbox.objects.filter(pk=row.pk).update(
                status=OutboxStatus.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
            )
            report.sent += 1


def send_reminders(*, today: date | None = None) -> RunReport:
    """The daily run: queue every practice's reminders, then deliver everything pending."""
    report = RunReport()
    for practice in Practice.objects.order_by("id"):
        report.queued += queue_reminders(practice, today or practice_today(practice))
    deliver_reminders(report)
    log.info("reminders: queued %d, sent %d, failed %d", report.queued, report.sent, report.failed)
    return report


def outbox_of(practice_id: int) -> object:
    return (
        ReminderOutbox.objects.filter(practice_id=practice_id)
        .select_related("patient")
        .order_by("-created_at", "-id")
    )
