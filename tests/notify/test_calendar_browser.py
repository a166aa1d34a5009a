"""End to end in a real browser: from the nav to the practice's month, the week, and one course's calendar."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PASSWORD
from tests.web.conftest import screenshot


@pytest.mark.django_db(transaction=True)
def test_a_nurse_finds_the_next_fill_on_the_calendar_and_opens_the_courses_plan(
    page, live_server, active_course
):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Calendar", exact=True).click()
    next_fill = active_course.dispenses.get().date + timedelta(days=30)
    page.goto(f"{live_server.url}/calendar/?date={next_fill.isoformat()}")
    patient = active_course.patient
    label = f"{patient.initials} {patient.mrn}"
    month = page.locator("table.cal-month")
    assert month.get_by_text("Next fill").count() >= 1
    screenshot(page, "calendar-practice-month")

    page.get_by_label("View").select_option("week")
    page.locator("main").get_by_role("button", name="Show").click()
    assert page.locator("ol.cal-week").get_by_text("Next fill").count() >= 1
    screenshot(page, "calendar-practice-week")

    page.locator("ol.cal-week").get_by_role("link", name=label).first.click()
    assert page.get_by_role("heading", name="Planned events").is_visible()
    rows = page.locator("table.cal-list tbody tr")
    assert rows.count() >= 6
    assert page.locator("table.cal-list").get_by_text("Last day of dosing").is_visible()
    screenshot(page, "calendar-course")
