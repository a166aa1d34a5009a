"""Reminders by e-mail: `isotrack send-reminders`, once a day (safe to run again, or in several processes).

Two phases, each through the database only (no state in the process):

1. Queue. For each practice, on the practice's today, the calendar's events (the core's, with the core's
   status: nothing is planned here) become one outbox row per recipient (`worth_a_reminder`):
   - a step that can be done (status "open" or "upcoming") that falls due tomorrow or whose acceptable range
     closes within 2 days: to the patient (only with `reminders_consent` and an e-mail address) and to the
     course's prescriber; never a step that is "waiting" (an earlier iPLEDGE step is not done, a lockout, a
     hold, an open alert that holds the drug: no pick-up reminder for a fill that cannot be dispensed),
     "done" or "past", and never an "overdue" one (it is on the calendar's Overdue list);
   - a staff-only step (`PlannedEvent.for_staff_only`: a stopped course's follow-up, IPL-PT-POSITIVE; the
     review an open alert that holds the drug asks for, ALERT-URGENCY) still pending ("open", "overdue", or
     "upcoming" and due within the same days): to the prescriber only, once (the event's date is the
     positive test's or the alert's day, so the outbox key below admits one message per event). A patient
     never gets a staff-only event.
   The row's UNIQUE key is (recipient, event uid, event date), and rows are inserted with "ignore
   conflicts": a second run, or a second process, queues nothing new. A date that moves (a dose change) is a
   new reminder.
2. Deliver. Rows pending or failed are claimed with a lease (a compare-and-set UPDATE, after
   `select_for_update(skip_locked=True)` on PostgreSQL), sent over SMTP, then marked sent. A failure marks the
   row failed with the error's kind and it is tried again on the next run; nothing is ever deleted.

Delivery is at-least-once: the row is written (committed) before the message is sent, and marked sent only
after the SMTP server accepted it. If the process dies between the two, the lease expires and a later run
sends the message again, with the same Message-ID so that a mail system can drop the copy. At-most-once would
lose a reminder in that case, which is worse for a patient than a rare duplicate.

No message names the drug, a result or a contraception method (patients get `core.PATIENT_WORDS`, staff the
patient's initials and MRN with the step's label without its detail: `feeds.staff_words`); logs carry counts
only.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic.actions.check_ins import issue_check_in
from isotrack.clinic.calendar import CalendarEntry
from isotrack.clinic.models import CheckIn, Course, Practice, Role, StaffUser
from isotrack.clinic.queries import practice_today
from isotrack.logs import redacted
from isotrack.notify.feeds import staff_summary
from isotrack.notify.models import Audience, OutboxStatus, ReminderOutbox

log = logging.getLogger(__name__)

CLOSING_WITHIN_DAYS = 2  # issue 5: windows that close within 2 days
CAN_BE_DONE = ("open", "upcoming")  # the core's statuses of a step someone can still do
STAFF_PENDING = ("open", "upcoming", "overdue")  # a staff-only step not recorded yet
LEASE = timedelta(minutes=10)  # a sender that died releases its rows after this long
BATCH = 50
SEND_NOW_TIMEOUT = 5  # seconds: a notice sent while the patient's page waits


@dataclass
class RunReport:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped_no_smtp: bool = False
    failures: list[str] = field(default_factory=list)  # error kinds only


# -------------------------------------------------------------------------------------------------- queue


def worth_a_reminder(entry: CalendarEntry, day: date) -> bool:
    """Whether the event gets a reminder on ``day`` (see the module's docstring); who gets it: `_rows_for`."""
    event = entry.event
    if not event.is_step:
        return False
    tomorrow = day + timedelta(days=1)
    if event.for_staff_only:  # due the positive test's or the alert's day: pending from then on
        return entry.status in STAFF_PENDING and (
            event.date <= tomorrow or event.latest <= day + timedelta(days=CLOSING_WITHIN_DAYS)
        )
    if entry.status not in CAN_BE_DONE:
        return False
    return event.date == tomorrow or day <= event.latest <= day + timedelta(days=CLOSING_WITHIN_DAYS)


def _without_repeats(found: list[CalendarEntry]) -> list[CalendarEntry]:
    """One message per thing to do: the test is collected at the visit (same dates, same status)."""
    keys = {(e.course.pk, e.event.kind, e.event.number) for e in found}
    return [
        entry
        for entry in found
        if not (
            entry.event.kind == "pregnancy_test" and (entry.course.pk, "visit", entry.event.number) in keys
        )
    ]


def patient_message(entry: CalendarEntry, practice: Practice) -> tuple[str, str]:
    event = entry.event
    words = event.patient_words
    # "Pick up prescription by 2026-12-01": a pick-up's date is its window's last day (one event per fill)
    when = event.date.isoformat() if words.endswith(" by") else f"on {event.date.isoformat()}"
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
    overdue = " (overdue: not recorded yet)" if entry.status == "overdue" else ""
    subject = f"isotrack: {staff_summary(entry)} {event.date.isoformat()}"
    body = (
        f"{practice.name}\n\n{staff_summary(entry)}: due {event.date.isoformat()}{closes}{overdue} "
        f"({event.rule_id}).\n\nOpen isotrack's calendar for the course.\n"
    )
    return subject, body


def check_in_paragraph(course: Course, visit_date: date) -> str:
    """The visit's check-in link for the patient's reminder (issue 17; one check-in per visit, whose link
    every run writes the same: ``check_ins.secret_of``). It names no drug, result, method or answer; none
    once the check-in was answered or closed."""
    issued = issue_check_in(course=course, visit_date=visit_date)
    if issued.check_in.submitted_at is not None or issued.check_in.locked_at is not None:
        return ""  # a visit still to come (the reminder's day): only an answer or a lock closes its link
    url = f"{settings.PUBLIC_URL}{reverse('check_in', kwargs={'secret': issued.secret})}"
    return (
        f"\nBefore the visit you can answer the clinic's usual questions from your phone: {url}\n"
        f"The link works once, until the end of {visit_date.isoformat()}; you will be asked your date of "
        "birth first.\n"
    )


def self_harm_notice(check_in: CheckIn) -> list[ReminderOutbox]:
    """Notices that a check-in needs a call today (a patient reported thoughts of self-harm), queued once per
    check-in and recipient: to the course's prescriber, or, when they have no e-mail address or no longer
    work here, to every active prescriber of the practice who has one. No patient, drug, result or answer is
    named: the worklist shows the course first. Returns the queued rows (none: nobody could be written to);
    ``send_now`` sends them at once."""
    course = check_in.course
    prescriber, practice = course.prescriber, course.patient.practice
    recipients = [prescriber.email] if prescriber.email and prescriber.is_active else []
    if not recipients:
        recipients = sorted(
            {
                email
                for email in StaffUser.objects.filter(
                    practice=practice, role=Role.PRESCRIBER, is_active=True
                ).values_list("email", flat=True)
                if email
            }
        )
    rows = [
        ReminderOutbox(
            practice=practice,
            patient=course.patient,
            course=course,
            audience=Audience.STAFF,
            recipient=recipient,
            event_uid=f"check-in-{check_in.uuid}@isotrack",
            event_kind="check_in_self_harm",
            event_date=check_in.reported_on or practice_today(practice),
            queued_on=practice_today(practice),
            subject="isotrack: a patient needs a call today",
            body=(
                f"{practice.name}\n\nA patient's check-in before a visit needs a call from you today. Open "
                "isotrack's worklist: the course is first.\n"
            ),
        )
        for recipient in recipients
    ]
    ReminderOutbox.objects.bulk_create(rows, ignore_conflicts=True)  # a concurrent twin: the key drops it
    return list(ReminderOutbox.objects.filter(event_uid=f"check-in-{check_in.uuid}@isotrack"))


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
    if patient.reminders_consent and patient.email and not entry.for_staff_only and entry.event.patient_words:
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
        for row in new:
            if row.audience == Audience.PATIENT and row.event_kind == "visit":
                row.body += check_in_paragraph(row.course, row.event_date)
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


def _send(row: ReminderOutbox, mail_connection: BaseEmailBackend) -> None:
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
            _deliver(row, mail_connection, report)


def _deliver(row: ReminderOutbox, mail_connection: BaseEmailBackend, report: RunReport) -> None:
    """Send a claimed row and mark it sent, or failed (tried again by the next run)."""
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
        return
    ReminderOutbox.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENT,
        sent_at=timezone.now(),
        claimed_until=None,
        last_error="",
        body=redacted(row.body),  # sent: a check-in link's secret is kept no longer
    )
    report.sent += 1


def send_now(row: ReminderOutbox) -> bool:
    """Send one queued message at once (the prescriber's notice of a check-in), claimed like any other so that
    a concurrent run does not send it too; a failure leaves it for the next run. Whether it was sent."""
    if not settings.EMAIL_HOST:
        return False
    now = timezone.now()
    won = ReminderOutbox.objects.filter(_claimable(now), pk=row.pk).update(
        claimed_until=now + LEASE, attempts=F("attempts") + 1
    )
    if not won:
        return False
    report = RunReport()
    _deliver(row, get_connection(fail_silently=False, timeout=SEND_NOW_TIMEOUT), report)
    return report.sent == 1


def send_reminders(*, today: date | None = None) -> RunReport:
    """The daily run: queue every practice's reminders, then deliver everything pending."""
    report = RunReport()
    for practice in Practice.objects.order_by("id"):
        report.queued += queue_reminders(practice, today or practice_today(practice))
    deliver_reminders(report)
    log.info("reminders: queued %d, sent %d, failed %d", report.queued, report.sent, report.failed)
    return report


def outbox_of(practice_id: int | None) -> QuerySet[ReminderOutbox]:
    if practice_id is None:  # a superuser of no practice: no reminder is theirs
        return ReminderOutbox.objects.none()
    return (
        ReminderOutbox.objects.filter(practice_id=practice_id)
        .select_related("patient")
        .order_by("-created_at", "-id")
    )
