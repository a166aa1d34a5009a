"""In a real browser, on the demo practice: the self-harm and critical-lab patients lead the worklist with
their alert; a visit for a critical-lab patient proposes no prescription until a prescriber acknowledges the
alert; a course stopped by a positive pregnancy test stays on the worklist until its follow-up is recorded;
the visit panel of an Absorica LD course plans micronized capsules and the engine's completion date."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from isotrack import core
from isotrack.clinic.models import AlertAcknowledgment, Visit
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import course_facts
from isotrack.demo.generator import DEMO_PASSWORD, MAIN_SITUATIONS, build_demo
from tests.web.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()


@pytest.fixture
def demo():
    return build_demo(patients=len(MAIN_SITUATIONS))


def row_of(page, course):
    return page.locator(f'tr[data-course="{course.uuid}"]')


def test_the_self_harm_and_critical_lab_patients_lead_the_worklist_with_their_alert(page, live_server, demo):
    log_in(page, live_server, "nurse")
    rows = page.locator("table.worklist tbody tr")
    (self_harm,) = demo.courses["self_harm_risk"]
    first = rows.nth(0)
    expect(first).to_have_attribute("data-course", str(self_harm.uuid))
    expect(first.locator(".badge.is-critical")).to_have_text("Self-harm risk")
    expect(first).to_contain_text("Safety assessment the same day")
    (held,) = demo.courses["triglycerides_critical"]
    expect(row_of(page, held).locator(".badge.is-critical")).to_have_text("Triglycerides critical")
    expect(row_of(page, held)).to_contain_text("On hold until")
    expect(row_of(page, held)).to_contain_text("recheck triglycerides")
    (positive,) = demo.courses["pregnancy_test_positive"]
    tiers = [int(t) for t in rows.evaluate_all("rows => rows.map(r => r.dataset.tier)")]
    assert tiers[:4] == sorted(tiers[:4]) and tiers[0] == 0
    order = rows.evaluate_all("rows => rows.map(r => r.dataset.course)")
    assert order.index(str(self_harm.uuid)) < order.index(str(positive.uuid)) < order.index(str(held.uuid))
    screenshot(page, "alerts-worklist")


def test_a_visit_for_a_critical_lab_patient_proposes_no_prescription_until_the_alert_is_acknowledged(
    page, live_server, demo
):
    (course,) = demo.courses["liver_enzymes_high"]
    log_in(page, live_server, "doctor")
    page.goto(f"{live_server.url}/courses/{course.uuid}/")
    banner = page.get_by_test_id("alert-banner")
    expect(banner).to_contain_text("Liver enzymes high")
    expect(banner).to_contain_text("No prescription is proposed until a prescriber acknowledges it")
    page.locator("main").get_by_role("link", name="Monthly visit").click()
    expect(page.get_by_test_id("alert-banner")).to_contain_text("hold or reduce the dose")
    prescription = page.get_by_test_id("prescription")
    expect(prescription).to_have_attribute("data-proposed", "false")
    expect(prescription).to_contain_text("No prescription is proposed")
    screenshot(page, "alerts-visit-withheld")
    page.get_by_role("combobox", name="Result").select_option("not_done")  # not "An abnormal lab result"
    page.get_by_label("Instrument").select_option("phq2")
    page.get_by_label("Score").fill("1")
    page.get_by_label("Patient confirms these methods").check()
    page.get_by_label("I have reviewed it: Liver enzymes high").check()
    page.locator("main").get_by_role("button", name="Save the visit").click()
    expect(page.locator(".has-error")).to_contain_text("Say what was decided about this alert.")
    assert not Visit.objects.filter(course=course, date=practice_today(course.patient.practice)).exists()
    page.get_by_label("What was decided").fill("ALT 3x ULN reviewed: dose reduced, recheck in 2 weeks")
    page.locator("main").get_by_role("button", name="Save the visit").click()
    expect(page.locator(".messages")).to_contain_text("Visit saved. Prescription to send: 30-day supply")
    acknowledged = page.locator('[data-alert="LIVER_ENZYMES_HIGH"]')
    expect(acknowledged).to_have_attribute("data-open", "false")
    expect(acknowledged).to_contain_text("Acknowledged by Avery Brightwater, MD")
    screenshot(page, "alerts-acknowledged")
    seen = AlertAcknowledgment.objects.get(course=course)
    assert seen.alert_code == "LIVER_ENZYMES_HIGH" and seen.recorded_by.username == "doctor"
    visit = Visit.objects.get(course=course, date=practice_today(course.patient.practice))
    assert visit.prescription is not None and visit.prescription["days_supply"] == 30


def test_the_critical_lab_patient_on_hold_shows_the_hold_and_no_prescription(page, live_server, demo):
    (course,) = demo.courses["triglycerides_critical"]
    log_in(page, live_server, "doctor")
    page.goto(f"{live_server.url}/courses/{course.uuid}/")
    expect(page.get_by_test_id("next-step")).to_contain_text("On hold until")
    expect(page.get_by_test_id("next-step")).to_contain_text("recheck triglycerides")
    expect(page.get_by_test_id("next-step")).not_to_contain_text("picks up")
    page.goto(f"{live_server.url}/courses/{course.uuid}/visit/")
    expect(page.get_by_test_id("prescription")).to_contain_text("on hold until")
    screenshot(page, "alerts-on-hold-visit")


def test_a_course_stopped_by_a_positive_test_stays_on_the_worklist_until_its_follow_up_is_recorded(
    page, live_server, demo
):
    (course,) = demo.courses["pregnancy_test_positive"]
    log_in(page, live_server, "doctor")
    line = row_of(page, course)
    expect(line).to_contain_text("Report to the iPLEDGE pregnancy registry and FDA MedWatch")
    expect(line.locator(".badge")).to_have_text("Positive pregnancy test")
    line.get_by_role("link").click()
    expect(page.get_by_test_id("next-step")).to_contain_text("report overdue")
    screenshot(page, "alerts-stopped-course")
    page.locator("main").get_by_role("link", name="Record a follow-up step").click()
    page.get_by_label("Step done").select_option("report")
    page.get_by_label("Note").fill("reported to the registry by phone")
    page.locator("main").get_by_role("button", name="Record").click()
    expect(page.locator(".messages")).to_contain_text("Recorded: Reported to the iPLEDGE pregnancy registry")
    expect(page.locator('[data-alert="PREGNANCY_TEST_POSITIVE"]')).to_have_attribute("data-open", "false")
    page.goto(f"{live_server.url}/")
    expect(page.locator("table.worklist")).to_be_visible()
    expect(row_of(page, course)).to_have_count(0)


def test_the_visit_panel_of_an_absorica_ld_course_plans_micronized_capsules_and_the_engines_date(
    page, live_server, demo
):
    course = next(
        c for c in demo.courses["treatment_month_3"] if c.dose_segments.first().product == "micronized"
    )
    today = practice_today(course.patient.practice)
    projected = core.evaluate(course_facts(course), today).dose.projected_completion_date
    log_in(page, live_server, "doctor")
    page.goto(f"{live_server.url}/courses/{course.uuid}/visit/")
    expect(page.get_by_label("Product")).to_have_value("micronized")
    expect(page.get_by_test_id("prescription")).to_contain_text("Absorica LD")
    expect(page.get_by_test_id("projected-completion")).to_have_text(projected.isoformat())
    capsules = page.locator("#dose-preview").inner_text()
    assert any(f"{mg} mg" in capsules for mg in (8, 16, 24, 28, 32)), capsules
    screenshot(page, "alerts-absorica-ld-visit")
