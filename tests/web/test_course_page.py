"""The course page and its print view: the checklist, the dose chart, labs, alerts and the timeline, scoped to
the user's practice."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from isotrack.demo.generator import DEMO_PASSWORD, MAIN_SITUATIONS, build_demo
from tests.web.conftest import screenshot
from tests.web.test_worklist import TODAY, ready_course

DAY = dt.timedelta(days=1)


def test_the_course_page_needs_a_login(client, course):
    response = client.get(reverse("course", args=[course.uuid]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_outsider_gets_404_exactly_as_for_a_missing_course(client, outsider, course):
    client.force_login(outsider)
    for name in ("course", "course_print"):
        theirs = client.get(reverse(name, args=[course.uuid]))
        missing = client.get(reverse(name, args=["00000000-0000-4000-8000-000000000000"]))
        assert theirs.status_code == missing.status_code == 404
        assert b"No such course." in theirs.content and b"No such course." in missing.content


def test_an_auditor_reads_the_course_and_its_print_view(client, auditor, prescriber, nurse):
    course = ready_course(prescriber, nurse, mrn="T-0500", family="Readable", test_day=TODAY - 2 * DAY)
    client.force_login(auditor)
    assert client.get(reverse("course", args=[course.uuid])).status_code == 200
    assert client.get(reverse("course_print", args=[course.uuid])).status_code == 200


def test_the_page_shows_the_checklist_methods_rule_set_and_no_raw_codes(client, nurse, prescriber):
    course = ready_course(prescriber, nurse, mrn="T-0600", family="Checked", test_day=TODAY - 2 * DAY)
    client.force_login(nurse)
    body = client.get(reverse("course", args=[course.uuid])).content.decode()
    for words in (
        "Screening pregnancy test",
        "Confirmation pregnancy test",
        "Prescriber confirms the test, counseling and methods in iPLEDGE",
        "Patient answers the comprehension questions in iPLEDGE",
        "Pharmacy obtains the authorization (RMA)",
        "Patient picks up the prescription",
        "Copper IUD",
        "Male condom",
    ):
        assert words in body, words
    assert 'title="Rule IPL-WIN-7' in body  # the rule id on hover
    assert "iPLEDGE REMS as modified" in body  # the rule set in force, by title
    visible = re.sub(
        r'title="[^"]*"|<[^>]+>', " ", body.split("<main")[1].split('class="muted small decided-by"')[0]
    )
    for code in ("PHARMACY_AUTHORIZATION", "PATIENT_ATTESTATION_MISSING", "IPL-WIN-7", "iud_copper", "to_do"):
        assert code not in visible, code


def test_the_course_link_is_on_the_patient_page(client, nurse, course):
    client.force_login(nurse)
    body = client.get(reverse("patient", args=[course.patient.uuid])).content.decode()
    assert reverse("course", args=[course.uuid]) in body


def test_the_dose_panel_draws_the_cumulative_curve_and_the_target(client, nurse, prescriber):
    course = ready_course(prescriber, nurse, mrn="T-0700", family="Dosed", test_day=TODAY - 40 * DAY)
    client.force_login(nurse)
    body = client.get(reverse("course", args=[course.uuid])).content.decode()
    assert "<svg" in body and 'class="curve"' in body and 'class="target"' in body
    assert "Projected completion" in body and "mg/kg/day" in body
    assert "30-day fill: 30 × 40 mg" in body  # the capsule plan of 40 mg/day


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_selector("h1")


@pytest.mark.django_db(transaction=True)
def test_a_nurse_opens_a_course_from_the_worklist_and_prints_it(page, live_server):
    demo = build_demo(patients=len(MAIN_SITUATIONS))
    course = demo.courses["awaiting_patient_attestation"][0]
    log_in(page, live_server, "nurse")
    page.get_by_role("link", name=f"{course.patient.family_name}, {course.patient.given_name}").click()
    expect(page.locator("h1")).to_contain_text(course.patient.full_name)
    checklist = page.locator("table.checklist")
    expect(checklist).to_contain_text("Patient answers the comprehension questions in iPLEDGE")
    row = checklist.locator("tr").filter(has_text="comprehension questions")
    expect(row).to_contain_text("To do")
    expect(row).to_contain_text("window closes in")
    expect(page.locator(".methods li")).to_have_count(2)
    expect(page.locator("svg.dose-chart polyline.curve")).to_have_count(1)
    expect(page.locator("table.timeline tbody tr").first).to_be_visible()
    screenshot(page, "course-page")

    page.set_viewport_size({"width": 768, "height": 1000})
    screenshot(page, "course-page-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Print view").click()
    expect(page.locator("h1")).to_contain_text("course summary")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    screenshot(page, "course-print")


@pytest.mark.django_db(transaction=True)
def test_a_course_whose_window_closed_shows_it_on_the_course_page(page, live_server):
    demo = build_demo(patients=len(MAIN_SITUATIONS))
    course = demo.courses["window_missed"][0]
    log_in(page, live_server, "nurse")
    page.goto(f"{live_server.url}{reverse('course', args=[course.uuid])}")
    row = page.locator("table.checklist tr").filter(has_text="Monthly pregnancy test")
    expect(row).to_contain_text("Overdue")
    expect(row).to_contain_text("window closed")
    expect(page.locator(".next-step")).to_contain_text("new test needed")
