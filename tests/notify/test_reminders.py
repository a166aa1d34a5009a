"""`isotrack send-reminders` against a real SMTP server on loopback: each reminder once, nothing that names
the drug, a result or a contraception method, and a failed send kept and sent by the next run."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from isotrack.clinic.models import ContraceptionMethodCode, Patient
from isotrack.notify.models import Audience, OutboxStatus, ReminderOutbox
from isotrack.notify.reminders import send_reminders

TODAY = date(2026, 11, 25)
FORBIDDEN = (
    "isotretinoin",
    "absorica",
    "claravis",
    "amnesteem",
    "myorisan",
    "zenatane",
    "accutane",
    "negative",
    "positive",
    "mg/dl",
    "u/l",
    "triglycerides",
)


def run(today: date = TODAY) -> str:
    out = io.StringIO()
    call_command("send_reminders", "--today", today.isoformat(), stdout=out)
    return out.getvalue()


def text_of(message) -> str:
    body = message.get_payload(decode=True).decode()
    return f"{message['Subject']}\n{body}".lower()


def test_running_twice_against_the_demo_sends_each_reminder_once(demo, smtp_server):
    first = run()
    received = list(smtp_server.inbox.messages)
    rows = ReminderOutbox.objects.all()
    assert rows.count() > 0 and len(received) == rows.count()
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert {Audience.PATIENT, Audience.STAFF} <= set(rows.values_list("audience", flat=True))
    assert f"sent {len(received)}" in first

    second = run()
    assert len(smtp_server.inbox.messages) == len(received)
    assert "queued 0, sent 0, failed 0" in second
    ids = [m["Message-ID"] for m in smtp_server.inbox.messages]
    assert len(ids) == len(set(ids))


def test_no_message_names_the_drug_a_result_or_a_contraception_method(demo, smtp_server):
    run()
    methods = [label.lower() for label in ContraceptionMethodCode.labels]
    for message in smtp_server.inbox.messages:
        text = text_of(message)
        for forbidden in (*FORBIDDEN, *methods):
            assert forbidden not in text, (forbidden, message["Subject"])


def test_patients_are_written_to_only_with_consent_and_without_their_name(demo, smtp_server):
    run()
    patient_rows = ReminderOutbox.objects.filter(audience=Audience.PATIENT).select_related("patient")
    assert patient_rows.exists()
    for row in patient_rows:
        assert row.patient.reminders_consent and row.recipient == row.patient.email
        assert row.patient.family_name.lower() not in row.body.lower()
        assert "pregnan" not in row.body.lower()
    no_consent = Patient.objects.filter(reminders_consent=False).values_list("email", flat=True)
    received = {m["To"] for m in smtp_server.inbox.messages}
    assert not received & set(no_consent)


def test_staff_reminders_use_initials_and_mrn(demo, smtp_server):
    run()
    row = ReminderOutbox.objects.filter(audience=Audience.STAFF).select_related("patient").first()
    assert f"{row.patient.initials} {row.patient.mrn}" in row.subject
    assert row.patient.family_name not in row.body


def test_a_stopped_smtp_server_leaves_the_reminders_pending_and_the_next_run_sends_them(demo, smtp_server):
    smtp_server.stop()
    with pytest.raises(CommandError, match="stay in the outbox"):
        run()
    rows = ReminderOutbox.objects.all()
    assert rows.count() > 0
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.FAILED}
    assert all(row.last_error and row.attempts == 1 for row in rows)

    smtp_server.start()
    run()
    assert len(smtp_server.inbox.messages) == rows.count()
    assert set(ReminderOutbox.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_a_reminder_claimed_by_a_sender_that_died_is_sent_after_its_lease(demo, smtp_server):
    from datetime import timedelta

    from django.utils import timezone

    report = send_reminders(today=TODAY)
    sent = report.sent
    row = ReminderOutbox.objects.first()
    # As if a sender claimed it, sent nothing (or died before marking it sent) and its lease ran out.
    ReminderOutbox.objects.filter(pk=row.pk).update(
        status=OutboxStatus.PENDING, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    send_reminders(today=TODAY)
    assert len(smtp_server.inbox.messages) == sent + 1
    assert ReminderOutbox.objects.get(pk=row.pk).status == OutboxStatus.SENT


def test_a_leased_reminder_is_left_to_its_sender(demo, smtp_server):
    from datetime import timedelta

    from django.utils import timezone

    send_reminders(today=TODAY)
    sent = len(smtp_server.inbox.messages)
    row = ReminderOutbox.objects.first()
    ReminderOutbox.objects.filter(pk=row.pk).update(
        status=OutboxStatus.PENDING, claimed_until=timezone.now() + timedelta(minutes=5)
    )
    send_reminders(today=TODAY)
    assert len(smtp_server.inbox.messages) == sent


def test_without_an_smtp_host_nothing_is_sent_and_everything_waits(demo, settings):
    settings.EMAIL_HOST = ""
    output = run()
    assert "EMAIL_HOST is not set" in output
    assert set(ReminderOutbox.objects.values_list("status", flat=True)) == {OutboxStatus.PENDING}
