"""Ending or stopping a course on its page (prescribers only): the last day of dosing (today unless changed),
and for stopping early a reason chosen by the prescriber (none pre-selected); errors beside their field and
nothing saved; other roles neither see the form nor may post it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import CourseStatus
from tests.conftest import TODAY


def page_url(course):
    return reverse("course", kwargs={"course_id": course.uuid})


def end_url(course):
    return reverse("course_end", kwargs={"course_id": course.uuid})


def _unchanged(course):
    course.refresh_from_db()
    return (course.status, course.end, course.stop_reason) == (CourseStatus.DRAFT, None, "")


def test_the_course_page_shows_a_prescriber_the_form_with_no_reason_chosen(client, prescriber, course):
    client.force_login(prescriber)
    page = client.get(page_url(course)).content.decode()
    assert "End or stop the course" in page
    form = page[page.index(f'action="{end_url(course)}"') :]
    form = form[: form.index("</form>")]
    assert f'value="{TODAY.isoformat()}"' in form  # the last day of dosing: today unless changed
    radios = re.findall(r'<input type="radio" name="stop_reason"[^>]*>', form)
    assert len(radios) == 5 and not any("checked" in radio for radio in radios)
    for label in (
        "Positive pregnancy test",
        "Side effects",
        "The patient&#x27;s choice",
        "Lost to follow-up",
    ):
        assert label in form
    buttons = re.findall(r'<button type="submit" name="outcome" value="(\w+)">([^<]+)</button>', form)
    assert buttons == [("end", "End the course (last day of dosing)"), ("stop", "Stop the course early")]
    assert 'name="note"' in form


def test_the_form_ends_a_course(client, prescriber, course):
    client.force_login(prescriber)
    response = client.post(end_url(course), {"end": "2026-11-30", "outcome": "end", "note": "target reached"})
    assert response.status_code == 302 and response["Location"] == page_url(course)
    course.refresh_from_db()
    assert (course.status, course.end.isoformat(), course.stop_reason) == ("completed", "2026-11-30", "")
    assert AuditEvent.objects.get(action=EventCode.COURSE_END).reason == "target reached"
    page = client.get(page_url(course)).content.decode()
    assert "Course ended: last day of dosing 2026-11-30." in page
    assert "to 2026-11-30 · completed" in page
    assert f'action="{end_url(course)}"' not in page  # ended: nothing left to end


def test_the_form_stops_a_course_with_its_reason(client, prescriber, course):
    client.force_login(prescriber)
    body = {"end": "2026-11-28", "outcome": "stop", "stop_reason": "side_effects", "note": ""}
    response = client.post(end_url(course), body)
    assert response.status_code == 302
    course.refresh_from_db()
    assert (course.status, course.end.isoformat(), course.stop_reason) == (
        "revoked",
        "2026-11-28",
        "side_effects",
    )
    page = client.get(page_url(course)).content.decode()
    assert "Course stopped early (side effects): last day of dosing 2026-11-28." in page
    assert "stopped early: side effects" in page


def test_stopping_without_a_reason_is_refused_beside_the_field_and_nothing_is_saved(
    client, prescriber, course
):
    client.force_login(prescriber)
    audit_rows = AuditEvent.objects.count()
    response = client.post(end_url(course), {"end": "2026-11-28", "outcome": "stop", "note": "asked to"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"stop_reason": ["Choose why the course is stopped early."]}
    page = response.content.decode()
    assert 'id="id_stop_reason-error"' in page and "Choose why the course is stopped early." in page
    assert 'value="2026-11-28"' in page and "asked to" in page  # what was typed is kept
    assert _unchanged(course) and AuditEvent.objects.count() == audit_rows


def test_ending_with_a_reason_chosen_is_refused_and_shown_again_with_the_reason_cleared(
    client, prescriber, course
):
    client.force_login(prescriber)
    response = client.post(end_url(course), {"end": "2026-11-28", "outcome": "end", "stop_reason": "other"})
    assert response.status_code == 422
    (message,) = response.context["form"].errors["stop_reason"]
    assert "no reason for stopping: the reason is cleared" in message
    assert not re.search(r'<input type="radio" name="stop_reason"[^>]*checked', response.content.decode())
    assert _unchanged(course)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"end": "2026-11-28"}, "__all__", "Press “End the course (last day of dosing)” or “Stop the course"),
        ({"end": "", "outcome": "end"}, "end", "This field is required."),
        ({"end": "2026-02-30", "outcome": "end"}, "end", "Enter a valid date."),
        ({"end": "2028-01-01", "outcome": "end"}, "end", "The last day of dosing"),
        ({"end": "2026-05-01", "outcome": "end"}, "end", "This date cannot be before the start."),
        ({"end": "2026-11-28", "outcome": "stop", "stop_reason": "bored"}, "stop_reason", "not one of"),
        (
            {"end": "2026-11-28", "outcome": "stop", "stop_reason": "other", "note": "a\x00b"},
            "note",
            "control",
        ),
    ],
)
def test_other_bad_input_is_refused_beside_its_field_and_nothing_is_saved(
    client, prescriber, course, body, field, words
):
    client.force_login(prescriber)
    response = client.post(end_url(course), body)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert words in " ".join(errors[field]), errors
    assert _unchanged(course)


def test_a_nurse_or_the_front_desk_neither_sees_the_form_nor_may_post_it(client, nurse, front_desk, course):
    for user in (nurse, front_desk):
        client.force_login(user)
        page = client.get(page_url(course)).content.decode()
        assert "End or stop the course" not in page and "Stop the course early" not in page
        assert client.get(end_url(course)).status_code == 403
        body = {"end": "2026-11-28", "outcome": "stop", "stop_reason": "patient_choice"}
        assert client.post(end_url(course), body).status_code == 403
    assert _unchanged(course)


def test_a_course_already_ended_is_not_ended_again(client, prescriber, course):
    client.force_login(prescriber)
    client.post(end_url(course), {"end": "2026-11-28", "outcome": "stop", "stop_reason": "lost_to_follow_up"})
    page = client.get(end_url(course))
    assert page.status_code == 200 and "This course has already ended" in page.content.decode()
    assert "lost to follow-up" in page.content.decode()
    again = client.post(end_url(course), {"end": "2026-11-29", "outcome": "end"})
    assert again.status_code == 422
    course.refresh_from_db()
    assert (course.status, course.end.isoformat(), course.stop_reason) == (
        "revoked",
        "2026-11-28",
        "lost_to_follow_up",
    )


@pytest.mark.django_db(transaction=True)
def test_in_a_browser_a_prescriber_stops_a_course_after_being_told_to_choose_a_reason(
    page, live_server, course
):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect

    from tests.conftest import PASSWORD
    from tests.web.conftest import screenshot

    def severe() -> list[str]:
        found = Axe().run(page).response["violations"]
        return [
            f"{v['id']}: {v['nodes'][0]['target']}" for v in found if v["impact"] in ("serious", "critical")
        ]

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("prescriber")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}{page_url(course)}")
    form = page.locator("form.end-course")
    expect(form.get_by_label("Last day of dosing")).to_have_value(TODAY.isoformat())
    assert form.locator('input[name="stop_reason"]:checked').count() == 0
    assert severe() == []
    screenshot(page, "course-end-form")
    form.get_by_role("button", name="Stop the course early").click()
    expect(page.locator("#id_stop_reason-error")).to_have_text("Choose why the course is stopped early.")
    assert severe() == []
    screenshot(page, "course-end-form-error")
    page.get_by_label("Side effects").check()
    page.get_by_role("button", name="Stop the course early").click()
    expect(page.get_by_test_id("stopped")).to_have_text("stopped early: side effects")
    course.refresh_from_db()
    assert (course.status, course.stop_reason) == ("revoked", "side_effects")
