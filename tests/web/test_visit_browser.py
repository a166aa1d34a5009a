"""In a real browser: enroll a patient who can get pregnant, document the qualifying steps and the first fill,
a routine monthly visit in at most 12 interactions, a dose change whose completion date is recalculated as the
prescriber types (before saving), and a nurse who cannot change a dose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from isotrack.clinic.models import (
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    IpledgeEntry,
    PregnancyTest,
    Visit,
)
from isotrack.clinic.queries import practice_today
from tests.web.conftest import screenshot
from tests.web.test_browser_foundation import log_in

pytestmark = pytest.mark.django_db(transaction=True)

ROUTINE_VISIT_MAX_INTERACTIONS = 12  # issue 4: a routine visit for a patient who can get pregnant


class Counted:
    """The page, counting every fill, selection, check and click a person would do."""

    def __init__(self, page) -> None:
        self.page = page
        self.count = 0

    def open(self, url: str) -> None:
        self.count += 1  # opening the visit page from the course page is one click
        self.page.goto(url)

    def fill(self, locator, value: str) -> None:
        self.count += 1
        locator.fill(value)

    def select(self, locator, value: str) -> None:
        self.count += 1
        locator.select_option(value)

    def check(self, locator) -> None:
        self.count += 1
        locator.check()

    def click(self, locator) -> None:
        self.count += 1
        locator.click()


def main(page):
    return page.locator("main")


def save(page, name: str) -> None:
    main(page).get_by_role("button", name=name).click()


def visit_url(live_server, course) -> str:
    return f"{live_server.url}/courses/{course.uuid}/visit/"


def document_visit(page, live_server, course, day, *, purpose, setting, methods=(), confirm=None):
    """A qualifying visit through the visit form: a pregnancy test, contraception, mood, iPLEDGE."""
    page.goto(visit_url(live_server, course))
    page.get_by_label("Visit date").fill(day.isoformat())
    page.get_by_label("Purpose").select_option(purpose)
    page.get_by_label("Setting").select_option(setting)
    page.get_by_label("Specimen collected on").fill(day.isoformat())
    page.get_by_role("combobox", name="Result").select_option("negative")  # not "An abnormal lab result"
    if methods:
        page.get_by_label("Started: method").select_option(methods[0])
        page.get_by_label("Started: second method").select_option(methods[1])
        page.get_by_label("Started on").fill((day - timedelta(days=15)).isoformat())
    else:
        page.get_by_label("Patient confirms these methods").check()
    page.get_by_label("Instrument").select_option("phq2")
    page.get_by_label("Score").fill("0")
    if confirm:
        page.get_by_label("Confirmed in iPLEDGE at this visit").check()
        page.get_by_label("Confirmation number").fill(confirm)
    save(page, "Save the visit")
    expect(page).to_have_url(f"{live_server.url}/courses/{course.uuid}/")


def reaches_by_tab(page, start, button: str, most: int = 20) -> bool:
    """Keyboard reachable: Tab from a field gets to the button."""
    start.focus()
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip() == button:
            return True
    return False


def test_a_prescriber_enrolls_qualifies_fills_and_documents_a_routine_visit(page, live_server, prescriber):
    today = practice_today(prescriber.practice)
    log_in(page, live_server, "prescriber")

    # Enrollment, screen 1: the patient.
    page.goto(f"{live_server.url}/enroll/")
    page.get_by_label("MRN").fill("T-0500")
    page.get_by_label("Given name").fill("Skyler")
    page.get_by_label("Family name").fill("Example")
    page.get_by_label("Birth date").fill("2006-05-04")
    page.get_by_label("Gender (administrative)").select_option("other")
    page.get_by_label("iPLEDGE category").select_option("can_get_pregnant")
    screenshot(page, "enroll-1-patient")
    save(page, "Register and continue")

    # Screen 2: category, course, first dose, weight in lb, the iPLEDGE enrollment.
    page.get_by_label("First dosing day").fill((today - timedelta(days=28)).isoformat())
    page.get_by_label("First dose (mg/day)").fill("40")
    page.get_by_label("Starting weight").fill("140")
    page.locator("#id_weight_unit").select_option("lb")
    page.get_by_label("Enrolled in iPLEDGE on").fill((today - timedelta(days=60)).isoformat())
    page.get_by_label("iPLEDGE confirmation number").fill("E-500")
    screenshot(page, "enroll-2-course")
    page.set_viewport_size({"width": 768, "height": 1024})
    screenshot(page, "enroll-2-course-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})
    save(page, "Start the course")
    course = Course.objects.get(patient__mrn="T-0500")
    expect(page).to_have_url(f"{live_server.url}/courses/{course.uuid}/")
    expect(page.locator("#checklist-heading")).to_contain_text("before the first fill")
    screenshot(page, "enroll-3-course-page")
    assert IpledgeEntry.objects.filter(course=course, kind="enrollment").exists()

    # The qualifying steps: screening test (with the two methods started), confirmation test 19+ days later
    # with the prescriber's confirmation, the patient's answers, then the first fill.
    document_visit(
        page,
        live_server,
        course,
        today - timedelta(days=55),
        purpose="screening",
        setting="office",
        methods=("iud_copper", "male_condom"),
    )
    document_visit(
        page,
        live_server,
        course,
        today - timedelta(days=30),
        purpose="confirmation",
        setting="lab",
        confirm="C-1",
    )
    page.goto(f"{live_server.url}/courses/{course.uuid}/ipledge/")
    page.get_by_label("Step done in iPLEDGE").select_option("patient_attestation")
    page.get_by_label("Date").fill((today - timedelta(days=30)).isoformat())
    save(page, "Save")
    page.goto(f"{live_server.url}/courses/{course.uuid}/dispense/")
    page.get_by_label("Picked up on").fill((today - timedelta(days=29)).isoformat())
    page.get_by_label("Days supply").fill("30")
    page.get_by_label("RMA (authorization) number").fill("RMA-1")
    save(page, "Save the pick-up")
    expect(page).to_have_url(f"{live_server.url}/courses/{course.uuid}/")
    assert Dispense.objects.get(course=course).days_supply == 30
    assert Contraception.objects.filter(patient=course.patient).count() == 2

    # The routine monthly visit, counted.
    counted = Counted(page)
    counted.open(visit_url(live_server, course))
    counted.fill(page.get_by_label("Weight", exact=True), "64")
    counted.select(page.get_by_label("Setting"), "office")
    counted.fill(page.get_by_label("Specimen collected on"), today.isoformat())
    # chosen by the person who read it, never pre-set (the select: a dose's reason reads "lab result" too)
    counted.select(page.get_by_role("combobox", name="Result"), "negative")
    counted.check(page.get_by_label("Patient confirms these methods"))
    counted.select(page.get_by_label("Instrument"), "phq2")
    counted.fill(page.get_by_label("Score"), "1")
    counted.check(page.get_by_label("Confirmed in iPLEDGE at this visit"))
    counted.fill(page.get_by_label("Confirmation number"), "C-2")
    screenshot(page, "monthly-visit-form")
    page.set_viewport_size({"width": 768, "height": 1024})
    screenshot(page, "monthly-visit-form-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert reaches_by_tab(page, page.get_by_label("Days supply"), "Save the visit")
    counted.click(main(page).get_by_role("button", name="Save the visit"))
    expect(page).to_have_url(f"{live_server.url}/courses/{course.uuid}/")
    assert counted.count <= ROUTINE_VISIT_MAX_INTERACTIONS, counted.count
    print(f"routine monthly visit: {counted.count} interactions")  # noqa: T201

    monthly = PregnancyTest.objects.get(course=course, purpose="monthly")
    assert (monthly.specimen_date, monthly.setting, monthly.result) == (today, "office", "negative")
    assert monthly.verified_by is None  # an office test: nobody is recorded as its verifier unless chosen
    assert Visit.objects.filter(course=course).count() == 3
    assert IpledgeEntry.objects.filter(course=course, kind="prescriber_confirmation").count() == 2
    visit = Visit.objects.filter(course=course).latest("id")
    assert visit.prescription_days_supply == 30 and len(visit.confirmed_methods) == 2
    timeline = page.locator("body").inner_text()  # the course page the visit returned to
    assert "Contraception confirmed in use:" in timeline
    assert f"Prescription to send: 30-day supply of {visit.prescription_mg_per_day} mg/day" in timeline


def test_a_dose_change_shows_the_recalculated_date_before_saving(
    page, live_server, prescriber, course, weight
):
    log_in(page, live_server, "prescriber")
    page.goto(f"{live_server.url}/courses/{course.uuid}/dose/")
    projected = page.get_by_test_id("projected-completion")
    dose = page.get_by_label("New dose (mg/day)")

    dose.press_sequentially("40")
    expect(projected).to_be_visible()
    at_40 = projected.inner_text()
    dose.fill("")
    dose.press_sequentially("80")
    expect(projected).not_to_have_text(at_40)
    at_80 = projected.inner_text()
    assert at_80 < at_40  # ISO dates: the higher dose finishes earlier
    expect(page.locator("#dose-preview")).to_contain_text("mg/kg/day")
    assert DoseSegment.objects.filter(course=course).count() == 1  # nothing saved while typing

    dose.fill("45")
    expect(page.locator("#dose-preview")).to_contain_text("is not a sum of the available capsule strengths")
    screenshot(page, "dose-change-impossible")
    dose.fill("80")
    expect(projected).to_have_text(at_80)
    page.get_by_label("The planned step (titration)").check()
    page.get_by_label("Note on the change").fill("tolerating well, acne persists")
    assert reaches_by_tab(page, dose, "Save the new dose")
    screenshot(page, "dose-change")
    page.set_viewport_size({"width": 768, "height": 1024})
    screenshot(page, "dose-change-tablet")
    save(page, "Save the new dose")
    expect(page).to_have_url(f"{live_server.url}/courses/{course.uuid}/")
    segment = DoseSegment.objects.filter(course=course).latest("starts_on")
    assert (int(segment.mg_per_day), segment.change_reason, segment.reason) == (
        80,
        "planned",
        "tolerating well, acne persists",
    )


def test_a_nurse_cannot_change_a_dose(page, live_server, nurse, course, weight):
    log_in(page, live_server, "nurse")
    page.goto(visit_url(live_server, course))
    dose_section = page.locator("fieldset.dose")
    expect(dose_section).to_contain_text("Only a prescriber changes the dose")
    expect(dose_section.get_by_label("New dose (mg/day)")).to_have_count(0)
    screenshot(page, "monthly-visit-form-nurse")
    page.goto(f"{live_server.url}/courses/{course.uuid}/dose/")
    expect(main(page)).to_contain_text("may not change a dose")
    assert DoseSegment.objects.filter(course=course).count() == 1
