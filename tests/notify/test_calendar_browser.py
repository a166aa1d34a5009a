"""End to end in a real browser: from the nav to the practice's month, the week, and one course's calendar;
every status drawn distinctly, with a legend, and every text readable (WCAG AA contrast)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from isotrack.demo.generator import DEMO_PASSWORD, MAIN_SITUATIONS, build_demo
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


CONTRAST_CHECK = (Path(__file__).with_name("contrast.js")).read_text(encoding="utf-8")


def low_contrast(page) -> list[str]:
    """Texts of the page's main part below WCAG AA (4.5:1, 3:1 for large text), as the browser draws them."""
    return page.evaluate(CONTRAST_CHECK)


def entry_look(page, status: str) -> tuple[str, ...]:
    entry = page.locator(f"table.cal-month li.cal-entry.cal-{status}").first
    return tuple(
        entry.evaluate(f"e => getComputedStyle(e).{name}")
        for name in ("borderLeftColor", "borderLeftStyle", "backgroundColor")
    )


@pytest.mark.django_db(transaction=True)
def test_it_draws_every_status_distinctly_with_a_legend_and_readable_contrast(page, live_server, demo_clock):
    demo = build_demo(patients=len(MAIN_SITUATIONS), today=demo_clock)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/calendar/?date={demo_clock.isoformat()}")
    legend = page.locator("section.cal-legend")
    for words in ("Overdue", "Open", "Waiting", "Upcoming", "Done", "Past", "staff only"):
        assert legend.get_by_text(words, exact=True).is_visible(), words
    looks = {status: entry_look(page, status) for status in ("overdue", "open", "waiting")}
    assert len(set(looks.values())) == 3, looks  # waiting is neither open nor overdue at a glance
    assert page.locator("table.cal-month li.cal-staff-only").count() >= 1
    screenshot(page, "calendar-statuses-month")
    for view in ("month", "week"):  # this month and the next two: overdue, waiting, projected, other months
        for months in (0, 1, 2):
            anchor = (demo_clock + timedelta(days=30 * months)).isoformat()
            page.goto(f"{live_server.url}/calendar/?view={view}&date={anchor}")
            assert low_contrast(page) == [], (view, anchor)
    held = demo.courses["triglycerides_critical"][0]
    page.goto(f"{live_server.url}/calendar/courses/{held.uuid}/?date={demo_clock.isoformat()}")
    rows = page.locator("table.cal-list tbody tr")
    assert rows.filter(has_text="Alert to review").first.locator(".cal-status").inner_text() == "Overdue"
    assert rows.filter(has_text="Pick-up of the next fill").filter(has_text="Waiting").count() == 1
    assert low_contrast(page) == []
    screenshot(page, "calendar-statuses-course")


@pytest.mark.django_db(transaction=True)
def test_a_nurse_opens_a_dense_day_from_the_month_and_pages_through_it(
    page, live_server, active_course, monkeypatch
):
    from isotrack.clinic import calendar as clinic_calendar

    monkeypatch.setattr(clinic_calendar, "MONTH_DAY_EVENTS", 1)  # every day with two events is dense
    monkeypatch.setattr(clinic_calendar, "PAGE_SIZE", 2)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    next_fill = active_course.dispenses.get().date + timedelta(days=30)  # its visit, test and pick-up
    page.goto(f"{live_server.url}/calendar/?date={next_fill.isoformat()}")
    cell = page.locator("table.cal-month td").filter(
        has=page.locator(f'a[href*="date={next_fill.isoformat()}"]')
    )
    assert cell.locator("li.cal-entry").count() == 1
    more = cell.get_by_role("link", name="more")
    assert more.inner_text().startswith("+ ")
    hidden = int(more.inner_text().split()[1])
    assert low_contrast(page) == []
    more.click()
    seen = []
    while True:
        entries = page.locator(".cal-day li.cal-entry")
        seen += [entries.nth(i).get_attribute("data-key") for i in range(entries.count())]
        assert low_contrast(page) == []
        following = page.get_by_role("link", name="Next page")
        if not following.count():
            break
        following.click()
    assert len(seen) == hidden + 1 == len(set(seen))
    assert {"visit-2", "pregnancy-test-2", "pick-up-2"} <= set(seen)
    screenshot(page, "calendar-practice-day")
