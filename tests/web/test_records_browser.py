"""In a real browser: nothing recorded that nobody entered, nothing saved twice, every mistake correctable.
A visit saved without choosing a test result is refused; the back button then Save saves the visit once; a
voided lab leaves the engine's judgment but stays on the timeline, struck through; a hold typed on the page
moves the projected completion date before anything is saved."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from isotrack.audit.events import EventCode
from isotrack.clinic.models import Interruption, LabResult, Visit
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import course_facts
from isotrack.core import evaluate
from isotrack.demo.generator import MAIN_SITUATIONS, build_demo
from tests.web.conftest import screenshot
from tests.web.test_alerts_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    return build_demo(patients=len(MAIN_SITUATIONS))


def save_visit(page) -> None:
    page.locator("main").get_by_role("button", name="Save the visit").click()


def fill_routine_visit(page) -> None:
    page.get_by_label("Instrument").select_option("phq2")
    page.get_by_label("Score").fill("0")
    page.get_by_label("Patient confirms these methods").check()


def test_a_visit_saved_without_choosing_a_test_result_is_refused(page, live_server, demo):
    (course,) = demo.courses["treatment_month_1"]
    log_in(page, live_server, "nurse")
    page.goto(f"{live_server.url}/courses/{course.uuid}/visit/")
    expect(page.get_by_label("Result")).to_have_value("")  # nothing chosen for the person
    fill_routine_visit(page)
    save_visit(page)
    expect(page.locator(".error-box")).to_contain_text("Nothing was saved")
    expect(page.locator(".field.has-error")).to_contain_text("Result")
    screenshot(page, "visit-without-result")
    assert not Visit.objects.filter(course=course, date=practice_today(course.patient.practice)).exists()


def test_the_back_button_then_save_saves_the_visit_once(page, live_server, demo):
    (course,) = demo.courses["treatment_month_1"]
    log_in(page, live_server, "nurse")
    page.goto(f"{live_server.url}/courses/{course.uuid}/visit/")
    page.get_by_label("Result").select_option("not_done")
    fill_routine_visit(page)
    save_visit(page)
    expect(page).to_have_url(f"{live_server.url}/courses/{course.uuid}/")
    page.go_back()
    save_visit(page)
    expect(page.locator("main")).to_contain_text("This form was already saved: nothing was saved twice.")
    screenshot(page, "visit-saved-once")
    today = practice_today(course.patient.practice)
    assert Visit.objects.filter(course=course, date=today).count() == 1


def test_a_voided_lab_leaves_the_engines_judgment_but_stays_on_the_timeline(page, live_server, demo):
    (course,) = demo.courses["triglycerides_critical"]
    lab = LabResult.objects.filter(course=course, test="triglycerides").latest("effective_date")
    log_in(page, live_server, "doctor")
    page.goto(f"{live_server.url}/courses/{course.uuid}/")
    expect(page.get_by_test_id("alert-banner")).to_contain_text("Triglycerides critical")
    row = page.locator(f'tr[data-record="{lab.uuid}"]')
    row.get_by_role("link", name="Void").click()
    page.get_by_label("Why is it voided?").fill("result of another patient, filed here by mistake")
    page.locator("main").get_by_role("button", name="Void the record").click()
    expect(page.locator("main")).to_contain_text("Lab result voided:")
    expect(page.locator("main")).not_to_contain_text("Triglycerides critical")
    voided = page.locator(f'tr[data-record="{lab.uuid}"]')
    expect(voided).to_have_attribute("data-voided", "true")
    expect(voided.locator("del").last).to_have_text(f"Triglycerides {lab.value} mg/dL")
    expect(voided).to_contain_text("filed here by mistake")
    screenshot(page, "lab-voided")
    today = practice_today(course.patient.practice)
    assert "TRIGLYCERIDES_CRITICAL" not in {a.code for a in evaluate(course_facts(course), today).alerts}
    page.get_by_role("link", name="Patient record").click()
    page.get_by_role("link", name="Audit trail").click()
    expect(page.locator("table.audit tbody tr").first).to_contain_text(EventCode.LAB_VOID)
    expect(page.locator("table.audit tr.voided").first).to_contain_text(EventCode.LAB_RECORD)


def test_a_hold_typed_on_the_page_moves_the_projected_completion_before_saving(page, live_server, demo):
    (course,) = demo.courses["treatment_month_1"]
    log_in(page, live_server, "doctor")
    page.goto(f"{live_server.url}/courses/{course.uuid}/")
    before = page.get_by_test_id("projected-completion").get_attribute("data-date")
    page.locator("main").get_by_role("link", name="Hold the drug").click()
    expect(page.get_by_test_id("current-completion")).to_have_attribute("data-date", before)
    today = practice_today(course.patient.practice)
    page.get_by_label("Last day without dosing").fill(date.fromordinal(today.toordinal() + 9).isoformat())
    projected = page.locator("#days-off-preview").get_by_test_id("projected-completion")
    expect(projected).to_have_attribute(
        "data-date", date.fromordinal(date.fromisoformat(before).toordinal() + 10).isoformat()
    )
    assert not Interruption.objects.filter(course=course).exists()  # nothing saved yet
    screenshot(page, "hold-preview")
    shown = projected.get_attribute("data-date")
    page.get_by_label("Why the drug is held").fill("elective surgery")
    page.locator("main").get_by_role("button", name="Save the hold").click()
    expect(page.locator("main")).to_contain_text("Hold recorded: no dosing from")
    expect(page.get_by_test_id("projected-completion")).to_have_attribute("data-date", shown)
