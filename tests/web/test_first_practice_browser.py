"""A real practice's first hour, in a browser (issue 13's acceptance): `isotrack create-practice`, the
administrator sets a password at the printed link and logs in, invites a nurse (the email arrives at a real
SMTP server on loopback), the nurse sets a password and registers a patient; the administrator deactivates the
nurse, and the nurse's open session, API token and calendar feed stop at once."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from isotrack.api.tokens import create_token
from isotrack.clinic.models import Patient, StaffUser
from isotrack.notify.actions import create_feed_token
from isotrack.notify.models import FeedScope
from tests.web.conftest import screenshot

ADMIN_PASSWORD = "harbor-admin-passphrase"
NURSE_PASSWORD = "harbor-nurse-passphrase"


def set_password(page, link: str, password: str) -> None:
    page.goto(link)
    page.locator("#id_new_password1").fill(password)
    page.locator("#id_new_password2").fill(password)
    page.locator("main").get_by_role("button", name="Set password").click()
    assert "Password set" in page.locator("main").inner_text()


def log_in(page, base: str, login: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()


@pytest.mark.django_db(transaction=True)
def test_a_new_practice_invites_a_nurse_who_registers_a_patient_and_is_then_stopped_at_once(
    browser, page, live_server, smtp_server
):
    out = io.StringIO()
    call_command(
        "create_practice",
        *("--name", "Harbor Dermatology", "--time-zone", "America/Chicago"),
        *("--admin-email", "admin@harbor.example", "--url", live_server.url),
        stdout=out,
    )
    set_password(page, out.getvalue().splitlines()[-1], ADMIN_PASSWORD)
    log_in(page, live_server.url, "admin@harbor.example", ADMIN_PASSWORD)
    assert page.get_by_role("heading", name="Worklist").count() == 1
    screenshot(page, "first-practice-admin-worklist")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Invite a member of staff").click()
    page.get_by_label("Email (their login)").fill("robin.lee@harbor.example")
    page.get_by_label("First name").fill("Robin")
    page.get_by_label("Last name").fill("Lee")
    page.get_by_label("Credentials").fill("RN")
    page.get_by_label("Role").select_option("nurse")
    page.locator("main").get_by_role("button", name="Invite").click()
    assert "Invitation sent to robin.lee@harbor.example" in page.locator("main").inner_text()
    screenshot(page, "first-practice-invited")
    (email,) = smtp_server.inbox.messages  # received by the SMTP server
    link = re.search(r"(http://\S+/password/set/\S+)", email.get_payload(decode=True).decode()).group(1)

    nurse_context = browser.new_context(viewport={"width": 1280, "height": 900})
    nurse_page = nurse_context.new_page()
    set_password(nurse_page, link, NURSE_PASSWORD)
    log_in(nurse_page, live_server.url, "robin.lee@harbor.example", NURSE_PASSWORD)
    nurse_page.goto(f"{live_server.url}/enroll/")
    nurse_page.get_by_label("MRN").fill("H-0001")
    nurse_page.get_by_label("Given name").fill("Sky")
    nurse_page.get_by_label("Family name").fill("Example")
    nurse_page.get_by_label("Birth date").fill("2004-05-06")
    nurse_page.get_by_label("Gender (administrative)").select_option("female")
    nurse_page.locator("main").get_by_role("button", name="Register and continue").click()
    assert "Patient registered: MRN H-0001." in nurse_page.locator("main").inner_text()
    screenshot(nurse_page, "first-practice-nurse-registered")
    nurse = StaffUser.objects.get(username="robin.lee@harbor.example")
    assert Patient.objects.get(mrn="H-0001").practice_id == nurse.practice_id
    _, token = create_token(actor=nurse, name="spreadsheet")
    feed = create_feed_token(actor=nurse, scope=FeedScope.PRACTICE)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/worklist").status_code == 200
    assert Client().get(f"/feeds/{feed.secret}.ics").status_code == 200

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Robin Lee, RN").click()
    page.locator("main").get_by_role("button", name="Deactivate").click()
    assert "deactivated: their sessions, API tokens and feeds stopped" in page.locator("main").inner_text()
    screenshot(page, "first-practice-deactivated")

    nurse_page.goto(f"{live_server.url}/patients/")
    assert nurse_page.url.startswith(f"{live_server.url}/login/")  # the open session ended
    assert api.get("/api/v1/worklist").status_code == 401
    assert Client().get(f"/feeds/{feed.secret}.ics").status_code == 404
    nurse_context.close()
