"""The patient's check-in in a real browser at 360 px (a phone), axe-core clean on each page: the link opens
with the birth date (a wrong one refused, five lock it), the questions lead to the PHQ-9 when the PHQ-2 calls
for it, an item-9 answer shows the 988 line at once and puts the course first on the worklist; the link works
once and expires with the visit's day. Synthetic data only (the demo practice)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from isotrack.clinic import worklist
from isotrack.clinic.actions.alerts import acknowledge_alert
from isotrack.clinic.actions.check_ins import SYMPTOMS, issue_check_in
from isotrack.clinic.models import AlertAcknowledgment, Course
from isotrack.demo.generator import MAIN_SITUATIONS, build_demo
from tests.conftest import TODAY, clinic_clock
from tests.web.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

SEVERE = ("serious", "critical")


@pytest.fixture
def demo():
    return build_demo(patients=len(MAIN_SITUATIONS))


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def clean(page) -> None:
    found = Axe().run(page).response["violations"]
    severe = [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}" for v in found if v["impact"] in SEVERE]
    assert not severe, severe
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"


def answer_radio(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def test_a_check_in_on_a_phone(phone, live_server, demo):
    page = phone
    (course,) = demo.courses["treatment_month_3"]
    patient = course.patient
    issued = issue_check_in(course=course, visit_date=TODAY)
    assert issued is not None
    link = f"{live_server.url}/check-in/{issued.secret}/"

    page.goto(link)
    expect(page.get_by_role("heading", name="Check-in before your visit")).to_be_visible()
    clean(page)
    page.get_by_label("Your date of birth").fill("1990-01-01")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert").first).to_contain_text("does not match")
    expect(page.get_by_text("4 more tries")).to_be_visible()
    clean(page)
    page.get_by_label("Your date of birth").fill(patient.birth_date.isoformat())
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="How you have been feeling")).to_be_visible()
    clean(page)
    page.get_by_role("button", name="Continue").click()  # nothing answered: refused, each question marked
    expect(page.locator(".has-error").first).to_be_visible()
    screenshot(page, "check-in-360-refused")
    answer_radio(page, "Little interest or pleasure in doing things", "Nearly every day")
    answer_radio(page, "Feeling down, depressed, or hopeless", "More than half the days")
    for words in SYMPTOMS.values():
        answer_radio(page, words, "Not at all")
    answer_radio(page, SYMPTOMS["dry_lips"], "Mild")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="A few more questions about how you feel")).to_be_visible()
    clean(page)
    for n in range(3, 9):
        page.locator(f'input[name="phq{n}"][value="0"]').check()
    answer_radio(
        page, "Thoughts that you would be better off dead, or of hurting yourself in some way", "Several days"
    )
    screenshot(page, "check-in-360-phq9")
    page.get_by_role("button", name="Send my answers").click()

    crisis = page.get_by_test_id("crisis")
    expect(crisis).to_be_visible()
    expect(crisis.get_by_role("link", name="Call or text 988")).to_have_attribute("href", "tel:988")
    clean(page)
    screenshot(page, "check-in-360-988")
    lines = worklist.worklist(course.prescriber, worklist.WorklistFilters(), TODAY).lines
    leading = [line for line in lines if line.tier == 0]  # the self-harm tier: the demo's own screens first
    assert [line.step_code for line in leading][-1] == "ALERT_SELF_HARM_REPORTED"
    assert leading[-1].course_uuid == course.uuid and lines[len(leading)].tier > 0
    for line in leading[:-1]:  # once a prescriber has assessed them, the report is first
        stored = AlertAcknowledgment.objects.filter(course__uuid=line.course_uuid)
        finding = next(a for a in line.open_alerts if a.code == "SELF_HARM_RISK")
        acknowledge_alert(
            actor=demo.staff["doctor"],
            course=Course.objects.get(uuid=line.course_uuid),
            code="SELF_HARM_RISK",
            alert_date=finding.date,
            reason="assessed: safe, plan made",
            day=TODAY,
        )
        assert stored.exists()
    first = worklist.worklist(course.prescriber, worklist.WorklistFilters(), TODAY).lines[0]
    assert first.course_uuid == course.uuid and first.step_code == "ALERT_SELF_HARM_REPORTED"

    page.goto(link)  # the link works once
    expect(page.get_by_role("heading", name="This check-in was already sent")).to_be_visible()


def test_five_wrong_birth_dates_lock_it_and_it_expires(phone, live_server, demo):
    page = phone
    (course,) = demo.courses["treatment_month_4"]
    issued = issue_check_in(course=course, visit_date=TODAY)
    assert issued is not None
    page.goto(f"{live_server.url}/check-in/{issued.secret}/")
    for _ in range(5):
        page.get_by_label("Your date of birth").fill("1990-01-01")
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="This link is closed")).to_be_visible()
    clean(page)
    (other,) = demo.courses["treatment_month_5"]
    expiring = issue_check_in(course=other, visit_date=TODAY)
    assert expiring is not None
    with clinic_clock(datetime(2026, 12, 2, 5, 1, tzinfo=UTC)):  # the visit's day over in New York
        page.goto(f"{live_server.url}/check-in/{expiring.secret}/")
        expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
