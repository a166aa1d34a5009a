"""Nothing saved twice: a resubmitted form (the back button then Save, a reload, a double click, two tabs, two
identical POSTs at the same moment) saves once and answers with what was saved; an API write with an
Idempotency-Key is carried out once; a second visit on the same day is asked for, not assumed."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from isotrack.api.models import ApiToken
from isotrack.clinic.models import LabResult, Submission, Visit
from tests.api.conftest import TokenClient, token_for
from tests.conftest import TODAY
from tests.web.test_visit import visit_url


def visit_form(client, course, **changes):
    """What the page renders (its one-time key included) with the fields staff fill."""
    form = client.get(visit_url(course)).context["form"]
    data = {"submission_key": client.get(visit_url(course)).context["submission_key"]}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if value not in (None, False):
            data[name] = value.isoformat() if isinstance(value, date) else value
    data |= {
        "weight_unit": "kg",
        "pregnancy_test_result": "not_done",
        "contraception_confirmed": "on",
        "mood_instrument": "phq2",
        "mood_score": "0",
    }
    return data | changes


@pytest.mark.django_db
def test_the_back_button_then_save_saves_the_visit_once_and_goes_to_what_was_saved(
    client, nurse, course, methods
):
    client.force_login(nurse)
    data = visit_form(client, course)
    first = client.post(visit_url(course), data)
    again = client.post(visit_url(course), data, follow=True)  # the same page, submitted again
    assert first.status_code == 302 and again.redirect_chain[0][0] == first["Location"]
    assert "This form was already saved: nothing was saved twice." in again.content.decode()
    assert Visit.objects.filter(course=course).count() == 1


@pytest.mark.django_db
def test_a_form_refused_for_bad_input_keeps_its_key_for_the_corrected_submission(
    client, nurse, course, methods
):
    client.force_login(nurse)
    data = visit_form(client, course)
    assert client.post(visit_url(course), data | {"weight_value": "900"}).status_code == 422
    assert not Submission.objects.exists()
    assert client.post(visit_url(course), data).status_code == 302
    assert Visit.objects.filter(course=course).count() == 1


@pytest.mark.django_db
def test_a_second_visit_on_the_same_day_is_asked_for_and_saved_once_confirmed(client, nurse, course, methods):
    client.force_login(nurse)
    assert client.post(visit_url(course), visit_form(client, course)).status_code == 302
    second = visit_form(client, course)  # a new form: another key
    refused = client.post(visit_url(course), second)
    assert refused.status_code == 422
    assert (
        f"A visit is already recorded on {TODAY}: tick this to record a second one."
        in refused.content.decode()
    )
    assert Visit.objects.filter(course=course).count() == 1
    assert client.post(visit_url(course), second | {"confirm_second_visit": "on"}).status_code == 302
    assert Visit.objects.filter(course=course).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_identical_visit_posts_at_the_same_moment_save_one_visit(nurse, course, methods):
    client = Client()
    client.force_login(nurse)
    data = visit_form(client, course)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def post() -> None:
        twin = Client()
        twin.cookies = client.cookies  # the same browser session, two tabs
        start.wait()
        try:
            statuses.append(twin.post(visit_url(course), data).status_code)
        except Exception as error:  # noqa: BLE001 - shown by the assertion below
            statuses.append(repr(error))  # type: ignore[arg-type]
        finally:
            close_old_connections()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 302]
    assert Visit.objects.filter(course=course).count() == 1
    assert Submission.objects.count() == 1


@pytest.mark.django_db
def test_reloading_the_page_after_creating_an_api_token_creates_no_second_token(client, nurse):
    client.force_login(nurse)
    key = client.get(reverse("api_tokens")).context["submission_key"]
    created = client.post(reverse("api_tokens"), {"name": "EHR", "submission_key": key})
    assert "shown only this once" in created.content.decode()
    reloaded = client.post(reverse("api_tokens"), {"name": "EHR", "submission_key": key})
    assert "Nothing was created twice" in reloaded.content.decode()
    assert ApiToken.objects.filter(user=nurse).count() == 1


@pytest.mark.django_db
def test_an_api_write_with_an_idempotency_key_is_carried_out_once(nurse, course):
    api = TokenClient(token_for(nurse))
    url = f"/api/v1/courses/{course.uuid}/lab-results"
    body = {"test": "alt", "effective_date": "2026-06-01", "value": 20, "unit": "U/L"}
    first = api.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="lab-42")
    retry = api.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="lab-42")
    assert first.status_code == retry.status_code == 201
    assert retry["Idempotency-Replayed"] == "true" and retry.json() == first.json()
    assert LabResult.objects.filter(course=course).count() == 1
    other = api.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="lab-43")
    assert other.status_code == 201 and LabResult.objects.filter(course=course).count() == 2


@pytest.mark.django_db
def test_a_refused_api_write_keeps_no_idempotency_key(nurse, course):
    api = TokenClient(token_for(nurse))
    url = f"/api/v1/courses/{course.uuid}/lab-results"
    bad = {"test": "alt", "effective_date": "2026-06-01", "value": 20, "unit": "mg/dL"}
    assert api.post(url, bad, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k").status_code == 422
    good = bad | {"unit": "U/L"}
    assert api.post(url, good, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    too_long = api.post(url, good, content_type="application/json", HTTP_IDEMPOTENCY_KEY="x" * 201)
    assert too_long.status_code == 400 and too_long.json()["code"] == "bad_idempotency_key"


@pytest.mark.django_db
def test_one_users_key_never_answers_another_users_write(nurse, prescriber, course):
    url = f"/api/v1/courses/{course.uuid}/lab-results"
    body = {"test": "alt", "effective_date": "2026-06-01", "value": 20, "unit": "U/L"}
    for user in (nurse, prescriber):
        answer = TokenClient(token_for(user)).post(
            url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same"
        )
        assert answer.status_code == 201 and "Idempotency-Replayed" not in answer
    assert LabResult.objects.filter(course=course).count() == 2


@pytest.mark.django_db(transaction=True)
def test_twenty_pairs_of_identical_writes_at_the_same_moment_each_save_once_and_none_fails(nurse, patient):
    """Two tabs saving the same weight at the same instant, twenty times over: the second write waits for the
    first (SQLite: BEGIN IMMEDIATE with a busy timeout, and WAL) instead of answering 500 "database is
    locked"; each pair saves one weight."""
    client = Client()
    client.force_login(nurse)
    url = reverse("weight_new", args=[patient.uuid])
    statuses: list[object] = []
    for pair in range(20):
        key = client.get(url).context["submission_key"]
        data = {
            "submission_key": key,
            "effective_date": date(2026, 11, 1 + pair),
            "value": "61.5",
            "unit": "kg",
        }
        start = threading.Barrier(2)

        def post(data=data, start=start) -> None:
            twin = Client()
            twin.cookies = client.cookies
            start.wait()
            try:
                statuses.append(twin.post(url, data).status_code)
            except Exception as error:  # noqa: BLE001 - shown by the assertion below
                statuses.append(repr(error))
            finally:
                close_old_connections()

        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [302] * 40
    assert patient.weights.count() == 20
