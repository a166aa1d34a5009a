"""End to end in a real browser: log in, correct a weight (a wrong value first), read the audit trail."""

from __future__ import annotations

import pytest

from isotrack.audit.events import EventCode
from tests.conftest import PASSWORD
from tests.web.conftest import screenshot


def log_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()


@pytest.mark.django_db(transaction=True)
def test_a_nurse_corrects_a_weight_and_the_audit_page_shows_old_and_new(page, live_server, nurse, weight):
    log_in(page, live_server, "nurse")
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Testperson, Avery").click()
    page.get_by_role("link", name="Correct").click()
    page.get_by_label("Weight").fill("900")
    page.get_by_label("Why is it corrected?").fill("re-weighed on the clinic scale")
    page.locator("main").get_by_role("button", name="Save the correction").click()
    error = page.locator("#id_entered_value-error").inner_text()
    assert error.startswith("A weight must be between 20 and 300 kg")
    screenshot(page, "weight-form-error")

    page.get_by_label("Weight").fill("140")
    page.get_by_label("Unit").select_option("lb")
    page.locator("main").get_by_role("button", name="Save the correction").click()
    assert "63.50 kg" in page.locator("main").inner_text()

    page.get_by_role("link", name="Audit trail").click()
    row = page.locator("table.audit tbody tr").first
    text = row.inner_text()
    assert EventCode.WEIGHT_CORRECT in text and "62.00" in text and "140.00" in text
    assert "Nurse Synthetic" in text and "re-weighed on the clinic scale" in text
    screenshot(page, "audit-trail")


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_shows_an_error_and_five_in_a_row_lock_the_login(page, live_server, nurse):
    for _ in range(4):
        log_in(page, live_server, "nurse", "not-the-password")
        assert "Please enter a correct username and password" in page.locator("main").inner_text()
    log_in(page, live_server, "nurse", "not-the-password")
    assert "Too many failed log-ins" in page.locator("main").inner_text()
    log_in(page, live_server, "nurse")
    assert "Too many failed log-ins" in page.locator("main").inner_text()
