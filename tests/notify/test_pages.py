"""Calendar pages, feed management and the outbox through the test client: practice scoping, roles, and a
constant number of queries however many courses the practice has."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from isotrack.notify import actions as notify_actions
from isotrack.notify.models import FeedToken

READ_PAGES = ["calendar", "calendar_feeds", "calendar_outbox"]
WRITE_PAGES = ["calendar_feed_new", "calendar_feed_revoke", "calendar_feed_rotate"]


def test_the_course_calendar_lists_the_plan_and_draws_the_month(client, nurse, active_course):
    client.force_login(nurse)
    response = client.get(reverse("course_calendar", kwargs={"course_id": active_course.uuid}))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Pick-up of the next fill" in body and "Pregnancy test for the next fill" in body
    assert "cal-month" in body
    assert "Last day of dosing" in body


@pytest.mark.parametrize("view", ["month", "week"])
def test_the_practice_calendar_shows_what_falls_due_and_marks_overdue_steps(
    client, nurse, active_course, view
):
    client.force_login(nurse)
    next_fill = active_course.dispenses.get().date + timedelta(days=30)
    response = client.get(reverse("calendar"), {"view": view, "date": next_fill.isoformat()})
    assert response.status_code == 200
    body = response.content.decode()
    patient = active_course.patient
    assert f"{patient.initials} {patient.mrn}" in body
    assert patient.family_name not in body


def test_an_overdue_step_is_marked_overdue(client, nurse, active_course):
    active_course.dispenses.update(date=active_course.dispenses.get().date - timedelta(days=40))
    client.force_login(nurse)
    body = client.get(reverse("calendar")).content.decode()
    assert "Overdue (" in body and "cal-overdue" in body


def test_a_prescriber_view_shows_only_that_prescribers_courses(client, nurse, prescriber, active_course):
    from tests.conftest import make_staff

    other = make_staff(prescriber.practice, "other.prescriber", "prescriber")
    client.force_login(nurse)
    mine = client.get(reverse("calendar"), {"prescriber": str(prescriber.uuid)}).content.decode()
    theirs = client.get(reverse("calendar"), {"prescriber": str(other.uuid)}).content.decode()
    mrn = active_course.patient.mrn
    assert mrn in mine and mrn not in theirs


def test_the_practice_calendar_costs_the_same_queries_for_one_course_or_many(
    client, nurse, prescriber, active_course
):
    from isotrack.clinic.actions.courses import start_course
    from isotrack.clinic.actions.patients import register_patient

    client.force_login(nurse)
    client.get(reverse("calendar"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("calendar"))
    for n in range(3):
        patient = register_patient(
            actor=prescriber,
            mrn=f"T-10{n}",
            given_name="Sam",
            family_name=f"Extra{n}",
            birth_date=active_course.patient.birth_date,
            category="cannot_get_pregnant",
        )
        start_course(
            actor=prescriber,
            patient=patient,
            prescriber=prescriber,
            start=active_course.start,
            mg_per_day=active_course.dose_segments.first().mg_per_day,
        )
    client.get(reverse("calendar"))  # the new courses' lines and plans are judged on this read
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("calendar"))
    assert len(many.captured_queries) == len(one.captured_queries)


def test_an_outsider_gets_404_on_the_course_calendar_and_the_prescriber_view(
    client, outsider, prescriber, active_course
):
    client.force_login(outsider)
    assert client.get(reverse("course_calendar", kwargs={"course_id": active_course.uuid})).status_code == 404
    assert client.get(reverse("calendar"), {"prescriber": str(prescriber.uuid)}).status_code == 404
    body = client.get(reverse("calendar")).content.decode()
    assert active_course.patient.mrn not in body


def test_an_outsider_sees_none_of_another_practices_feeds_or_reminders(client, outsider, nurse, patient):
    notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    client.force_login(outsider)
    assert patient.mrn not in client.get(reverse("calendar_feeds")).content.decode()
    assert patient.mrn not in client.get(reverse("calendar_outbox")).content.decode()


def test_an_auditor_reads_the_calendar_pages_but_gets_403_on_every_feed_write(
    client, auditor, nurse, patient
):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    client.force_login(auditor)
    for name in READ_PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    for name in WRITE_PAGES:
        assert client.get(reverse(name)).status_code == 403, name
        response = client.post(reverse(name), {"feed": str(issued.feed.uuid), "scope": "practice"})
        assert response.status_code == 403, name
    assert FeedToken.objects.count() == 1 and FeedToken.objects.get().revoked_at is None


def test_every_calendar_page_but_the_feed_requires_login(client, nurse, patient, active_course):
    issued = notify_actions.create_feed_token(actor=nurse, scope="patient", patient=patient)
    urls = [reverse(name) for name in READ_PAGES + WRITE_PAGES]
    urls.append(reverse("course_calendar", kwargs={"course_id": active_course.uuid}))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    assert client.get(reverse("calendar_feed", kwargs={"token": issued.secret})).status_code == 200
