"""The check-in link of a visit's reminder (issue 17, item 2) against a real SMTP server: in the patient's
reminder of a visit only, once per visit, naming no drug, result, method or answer, and opening the check-in.
Synthetic data only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.test import Client

from isotrack.clinic.models import CheckIn, ContraceptionMethodCode
from isotrack.notify.models import ReminderOutbox
from tests.conftest import clinic_clock
from tests.notify.test_reminders import FORBIDDEN, run, text_of

pytestmark = pytest.mark.django_db


SENT_ON = date(2026, 11, 26)  # a day the demo has a patient's monthly visit the next day


def test_a_visit_reminder_carries_a_check_in_link_that_names_nothing_clinical(demo, smtp_server):
    run(SENT_ON)
    with_links = [m for m in smtp_server.inbox.messages if "/check-in/" in text_of(m)]
    assert with_links, "the demo's patients with a visit tomorrow who asked for reminders"
    methods = [label.lower() for label in ContraceptionMethodCode.labels]
    for message in with_links:
        text = text_of(message)
        for forbidden in (*FORBIDDEN, *methods, "phq", "self-harm", "mood"):
            assert forbidden not in text, forbidden
        body = message.get_payload(decode=True).decode()  # as sent: the secret's case matters
        (path,) = re.findall(r"https?://[^/\s]+(/check-in/[^\s]+/)", body)
        with clinic_clock(datetime(2026, 11, 26, 17, tzinfo=UTC)):  # the day the reminders were sent
            assert Client().get(path).status_code == 200
    assert CheckIn.objects.count() == len(with_links)
    run(SENT_ON)
    assert CheckIn.objects.count() == len(with_links), "one link per visit"


def test_a_sent_reminder_keeps_no_link_secret(demo, smtp_server):
    run(SENT_ON)
    rows = ReminderOutbox.objects.filter(event_kind="visit", audience="patient")
    assert rows.exists() and all("/check-in/[redacted]/" in r.body for r in rows)
