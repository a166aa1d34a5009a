"""The quality report in a real browser (issue 16's acceptance): the dashboard and the printable report at
1280 px and 768 px wide, on the synthetic practice of test_quality_pages; a split, a count's courses, a bad
month refused beside its field; no serious accessibility violation (axe-core); the printout one US Letter
sheet per group (Chromium's own PDF). The screenshots are kept in a temporary directory, listed at the end."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.web.test_browser_foundation import log_in
from tests.web.test_quality_pages import build

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(tempfile.gettempdir()) / "isotrack-quality-screenshots"
WIDTHS = (1280, 768)


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def severe(page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['nodes'][0]['target']}" for v in found if v["impact"] in ("serious", "critical")]


def pages_of(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_the_dashboard_and_the_printout_at_1280_and_768_px(page, live_server):
    build()
    log_in(page, live_server, "q-doctor")
    taken: list[Path] = []
    problems: dict[str, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Quality").click()
        expect(page.locator("h1")).to_have_text("Quality report")
        page.get_by_label("Month", exact=True).fill("2026-10")
        page.get_by_role("button", name="Show the month").click()
        expect(page.locator('[data-testid="period"]')).to_have_attribute("data-start", "2026-10-01")
        lost = page.locator('tr[data-measure="windows.lost"] td[data-group="practice"]')
        expect(lost).to_have_text("1")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing wider than the window"
        charts = page.locator("svg.q-chart")
        assert charts.count() >= 6
        assert charts.first.get_attribute("role") == "img" and charts.first.locator("title").count() == 1
        taken.append(shot(page, f"dashboard-{width}"))
        problems[f"dashboard {width}"] = severe(page)

        page.get_by_role("navigation", name="Show the figures by").get_by_role(
            "link", name="Prescriber"
        ).click()
        expect(page.locator("table.q-table thead").first).to_contain_text("Pat Ashgrove")
        taken.append(shot(page, f"dashboard-prescribers-{width}"))
        page.locator('tr[data-measure="windows.lost"] td[data-group="Pat Ashgrove"] a').click()
        expect(page.locator("h1")).to_have_text("Lost (closed without a fill): the courses behind it")
        expect(page.locator("table.q-courses tbody tr")).to_have_count(1)
        expect(page.locator("table.q-courses")).to_contain_text("Person Q-2, Synthetic")
        taken.append(shot(page, f"courses-behind-{width}"))
        problems[f"courses {width}"] = severe(page)

        page.goto(f"{live_server.url}/quality/?month=2026-13")
        expect(page.locator("#id_month-error")).to_contain_text("2026-13 is not a valid month (YYYY-MM).")
        expect(page.locator('[data-testid="period"]')).to_have_attribute("data-end", "2026-12-01")
        taken.append(shot(page, f"dashboard-bad-month-{width}"))

        page.goto(f"{live_server.url}/quality/")
        page.get_by_role("link", name=re.compile("^Printable report of 2026-11")).click()
        expect(page.locator("article.q-sheet")).to_have_count(5)  # practice, 3 prescribers, definitions
        taken.append(shot(page, f"print-{width}"))
        problems[f"print {width}"] = severe(page)
        page.emulate_media(media="print")
        taken.append(shot(page, f"print-media-{width}"))
        assert pages_of(page.pdf(format="Letter")) == 5, "one US Letter sheet each"
        page.emulate_media(media="screen")
    assert not {where: found for where, found in problems.items() if found}
    print("\nscreenshots:", *map(str, taken), sep="\n  ")
