"""The worklist: every qualifying and active course of the practice with its next step, most urgent first."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from playwright.sync_api import expect

from isotrack import core
from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_ipledge_entry
from isotrack.clinic.actions.observations import record_pregnancy_test
from isotrack.clinic.actions.patients import record_contraception, record_weight, register_patient
from isotrack.clinic.models import NOT_JUDGED, Course, PlanEntry, WorklistEntry
from isotrack.clinic.worklist import WorklistFilters, worklist
from isotrack.demo.generator import DEMO_PASSWORD, MAIN_SITUATIONS, build_demo
from tests.conftest import make_staff
from tests.web.conftest import screenshot

TODAY = dt.date(2026, 11, 25)  # after the 2026 rules took effect (2026-11-15)
DAY = dt.timedelta(days=1)


def ready_course(prescriber, nurse, *, mrn: str, family: str, test_day: dt.date) -> Course:
    """A patient who can get pregnant with every step for the first fill done on ``test_day``."""
    patient = register_patient(
        actor=prescriber,
        mrn=mrn,
        given_name="Sam",
        family_name=family,
        birth_date=dt.date(2004, 3, 1),
        category="can_get_pregnant",
        ipledge_id=f"99{mrn[-4:]}0000",
    )
    record_weight(actor=nurse, patient=patient, effective_date=test_day - 40 * DAY, value=Decimal(60))
    for method in ("iud_copper", "male_condom"):
        record_contraception(actor=nurse, patient=patient, method=method, start=test_day - 60 * DAY)
    course = start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=test_day + 2 * DAY,
        mg_per_day=Decimal(40),
        product="conventional",
    )
    record_ipledge_entry(actor=prescriber, course=course, kind="enrollment", day=test_day - 30 * DAY)
    for purpose, setting, day in (
        ("screening", "office", test_day - 25 * DAY),
        ("confirmation", "lab", test_day),
    ):
        record_pregnancy_test(
            actor=nurse, course=course, purpose=purpose, setting=setting, specimen_date=day, result="negative"
        )
    record_ipledge_entry(actor=prescriber, course=course, kind="prescriber_confirmation", day=test_day)
    record_ipledge_entry(actor=nurse, course=course, kind="patient_attestation", day=test_day)
    return course


def with_courses(prescriber, nurse, count: int) -> list[Course]:
    return [
        ready_course(prescriber, nurse, mrn=f"T-{n:04d}", family=f"Person{n}", test_day=TODAY - (n % 9) * DAY)
        for n in range(count)
    ]


def test_the_home_page_is_the_worklist_and_needs_a_login(client, prescriber):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(prescriber)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"<h1>Worklist</h1>" in response.content


def test_it_lists_a_course_with_its_next_step_who_and_a_countdown(client, prescriber, nurse):
    course = ready_course(prescriber, nurse, mrn="T-0100", family="Closing", test_day=TODAY - 4 * DAY)
    lines = worklist(prescriber, WorklistFilters(), today=TODAY).lines
    assert len(lines) == 1
    line = lines[0]
    assert line.course_uuid == course.uuid and line.step_code == "PHARMACY_AUTHORIZATION"
    assert line.actor_label == "Pharmacy" and line.countdown == "window closes in 2 days"
    assert line.deadline == TODAY + 2 * DAY and line.rule_id == "IPL-WIN-7"


def test_a_window_that_closed_shows_as_overdue_first(client, prescriber, nurse):
    ready_course(prescriber, nurse, mrn="T-0101", family="Later", test_day=TODAY - 1 * DAY)
    ready_course(prescriber, nurse, mrn="T-0102", family="Expired", test_day=TODAY - 9 * DAY)
    lines = worklist(prescriber, WorklistFilters(), today=TODAY).lines
    assert [line.patient_name for line in lines] == ["Expired, Sam", "Later, Sam"]
    assert lines[0].overdue and lines[0].countdown == "window closed 3 days ago: new confirmation test needed"


def test_the_filters_and_the_search_narrow_the_lines(client, prescriber, nurse):
    with_courses(prescriber, nurse, 4)
    other = make_staff(prescriber.practice, "second", "prescriber")
    ready_course(other, nurse, mrn="T-0900", family="Elsewhere", test_day=TODAY)
    everyone = worklist(prescriber, WorklistFilters(), today=TODAY)
    assert everyone.total == 5
    assert worklist(prescriber, WorklistFilters(prescriber=str(other.uuid)), today=TODAY).total == 1
    # Not a prescriber's id: no line, not the lines that have no prescriber copied yet.
    WorklistEntry.objects.filter(course__patient__mrn="T-0900").update(prescriber=None)
    assert worklist(prescriber, WorklistFilters(prescriber="not-an-id"), today=TODAY).total == 0
    assert (
        worklist(prescriber, WorklistFilters(q="T-0900"), today=TODAY).lines[0].patient_name
        == "Elsewhere, Sam"
    )
    assert worklist(prescriber, WorklistFilters(q="elsewh"), today=TODAY).total == 1
    assert worklist(prescriber, WorklistFilters(category="cannot_get_pregnant"), today=TODAY).total == 0
    assert worklist(prescriber, WorklistFilters(phase="active"), today=TODAY).total == 0
    assert worklist(prescriber, WorklistFilters(step="PHARMACY_AUTHORIZATION"), today=TODAY).total >= 1


def test_an_outsider_sees_none_of_the_practice_courses(client, outsider, prescriber, nurse):
    ready_course(prescriber, nurse, mrn="T-0200", family="Private", test_day=TODAY)
    client.force_login(outsider)
    response = client.get(reverse("home"), {"q": "T-0200"})
    assert response.status_code == 200 and b"Private" not in response.content
    assert worklist(outsider, WorklistFilters(), today=TODAY).total == 0


def test_an_auditor_can_read_the_worklist(client, auditor, prescriber, nurse):
    ready_course(prescriber, nurse, mrn="T-0300", family="Audited", test_day=TODAY)
    client.force_login(auditor)
    response = client.get(reverse("home"))
    assert response.status_code == 200 and b"Audited, Sam" in response.content


def test_htmx_gets_only_the_lines(client, prescriber, nurse):
    ready_course(prescriber, nurse, mrn="T-0400", family="Fragment", test_day=TODAY)
    client.force_login(prescriber)
    response = client.get(
        reverse("home"), {"q": "Fragment"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="worklist"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="worklist"') and "<html" not in body
    assert "Fragment, Sam" in body


@pytest.mark.parametrize("count", [2, 20])
def test_the_worklist_takes_the_same_number_of_queries_for_2_or_20_courses(
    client, prescriber, nurse, count, django_assert_num_queries
):
    with_courses(prescriber, nurse, count)
    client.force_login(prescriber)
    client.get(reverse("home"))  # the session and the user are loaded once; count the page's own reads
    # session, user, practice, whether any line is out of date (none), count, page, the practice's staff (the
    # prescribers' names), the patients awaiting
    # their category (none); the session is not written again within the minute; then the look written to
    # the access log with no lock: the chain's last row and the insert (audit.chain.extend)
    with django_assert_num_queries(8 + 2):
        response = client.get(reverse("home"))
    assert response.content.count(b'href="/courses/') == count


@pytest.mark.parametrize("count", [2, 20])
def test_judging_every_line_again_takes_the_same_number_of_queries_for_2_or_20_courses(
    prescriber, nurse, count, django_assert_num_queries
):
    with_courses(prescriber, nurse, count)
    worklist(prescriber, WorklistFilters(), today=TODAY)
    # Every line out of date, as after a write to each patient's records (no line that follows is taken).
    WorklistEntry.objects.filter(practice=prescriber.practice).update(changes_on=NOT_JUDGED)
    # A month later: whether any line is out of date (yes), the out-of-date lines; the facts
    # (records.facts_by_course: the courses, their practices, 6 tables of events, 3 of dosing,
    # acknowledgments, follow-ups, self-harm reported at check-in, weights, contraception and other
    # medicines); the judged lines written (one statement, in a transaction: a savepoint here and its
    # release; the worklist's reads judge no calendar plan), the out-of-date lines again (none), count, page,
    # the practice's staff.
    with django_assert_num_queries(26):
        found = worklist(prescriber, WorklistFilters(), today=TODAY + 30 * DAY)
    assert found.total == count


@pytest.mark.parametrize("count", [2, 20])
def test_judging_every_plan_again_takes_the_same_number_of_queries_for_2_or_20_courses(
    prescriber, nurse, count, django_assert_num_queries
):
    with_courses(prescriber, nurse, count)
    practice = prescriber.practice
    worklist(prescriber, WorklistFilters(), today=TODAY)
    clinic_calendar.refresh(practice, TODAY)
    lines = WorklistEntry.objects.filter(practice=practice)
    assert lines.filter(plan_judged_on=TODAY).count() == count
    # A month later every plan is out of date: whether any is (yes), the out-of-date plans; the facts (as the
    # lines' above); in one transaction (a savepoint here and its release) the plans' dates written on the
    # lines (one statement), the lines' generations, one DELETE and one INSERT of the plans (PostgreSQL: a
    # COPY, which Django does not count); the out-of-date plans again (none); the floating events of the plans
    # that hold moved.
    with django_assert_num_queries(27 if connection.vendor == "sqlite" else 26):
        clinic_calendar.refresh(practice, TODAY + 30 * DAY)
    assert lines.filter(plan_judged_on=TODAY + 30 * DAY).count() == count
    assert PlanEntry.objects.filter(practice=practice).values("course").distinct().count() == count
    assert lines.filter(judged_on=TODAY).count() == count  # the worklist's lines were left as they were


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["nurse", "lakeside.nurse"])  # rules in force by date; pinned to 2021
def test_every_worklist_line_of_the_demo_agrees_with_evaluate_on_the_exported_course(username):
    demo = build_demo(patients=len(MAIN_SITUATIONS), today=TODAY)
    nurse = demo.staff[username]
    lines = {line.course_uuid: line for line in worklist(nurse, WorklistFilters(), today=TODAY).lines}
    courses = Course.objects.filter(patient__practice=nurse.practice)
    assert len(lines) >= (15 if username == "nurse" else 5)
    for course in courses:
        out = io.StringIO()
        call_command("export_course", str(course.uuid), "--as-of", TODAY.isoformat(), stdout=out)
        course_file = core.parse_course_file(json.loads(out.getvalue()))
        evaluation = core.evaluate(course_file, TODAY)
        cycle = core.current_cycle(course_file, TODAY, evaluation)
        line = lines.get(course.uuid)
        if line is None:
            assert course.status in ("completed", "revoked") and (
                cycle.next_step is None or course.status == "revoked"
            ), course.uuid
            continue
        assert line.phase == evaluation.phase and line.rule_set_id == evaluation.rule_set.id
        assert cycle.next_step is not None
        assert (line.step_code, line.deadline, line.countdown, line.days_left) == (
            cycle.next_step.code,
            cycle.next_step.deadline,
            cycle.countdown,
            cycle.days_left,
        )
        if evaluation.dispense.allowed and cycle.next_step in cycle.steps:
            assert line.step_code in ("PHARMACY_AUTHORIZATION", "PICK_UP")


# --- in a real browser --------------------------------------------------------------------------------------


def log_in(page, live_server, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_selector("h1")
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_a_nurse_sees_the_worklist_with_countdowns_and_filters_it(page, live_server):
    demo = build_demo(patients=len(MAIN_SITUATIONS))  # dated on the practice's today, as the page is
    log_in(page, live_server, "nurse")
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() >= 15
    text = page.locator("#worklist").inner_text()
    assert "window closed" in text and ("today is the last day" in text or "window closes" in text)
    first = rows.first.inner_text()
    assert "overdue" in first or "closed" in first  # most urgent first
    screenshot(page, "worklist")

    page.get_by_label("iPLEDGE category").select_option("cannot_get_pregnant")
    page.wait_for_url("**category=cannot_get_pregnant**")
    expect(page.locator("#worklist tbody")).not_to_contain_text("Can get pregnant")
    expect(page.locator("#worklist tbody")).to_contain_text("Cannot get pregnant")

    name = demo.courses["window_missed"][0].patient.family_name
    page.get_by_label("iPLEDGE category").select_option("")
    page.get_by_label("Patient (name, MRN or iPLEDGE ID)").fill(name)
    page.wait_for_url(f"**q={name}**")
    expect(page.locator("#worklist tbody")).not_to_contain_text("Qualifying")
    line = page.locator("table.worklist tbody tr").filter(has_text=name).first
    assert "window closed" in line.inner_text()  # the expired window shows as overdue
    assert "is-overdue" in (line.get_attribute("class") or "")
    page.set_viewport_size({"width": 768, "height": 1000})
    page.get_by_label("Patient (name, MRN or iPLEDGE ID)").fill("")
    expect(page.locator("#worklist tbody tr")).not_to_have_count(1)
    screenshot(page, "worklist-tablet")


@pytest.mark.django_db(transaction=True)
def test_the_worklist_filters_work_without_javascript(browser, live_server):
    build_demo(patients=10)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "nurse")
    page.get_by_label("Phase").select_option("qualifying")
    page.get_by_role("button", name="Apply").click()
    assert "phase=qualifying" in page.url
    phases = page.locator("table.worklist tbody tr td[data-label='Category · phase']").all_inner_texts()
    assert phases and all("Qualifying" in text for text in phases)
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_worklist_is_reachable_by_keyboard(page, live_server):
    build_demo(patients=5)
    log_in(page, live_server, "nurse")
    focused = []
    for _ in range(14):  # the skip link, the brand, the menu and the account links first
        page.keyboard.press("Tab")
        focused.append(
            page.locator(":focus").get_attribute("id") or page.locator(":focus").inner_text().strip()
        )
    assert {"q", "prescriber", "category", "phase", "step"} <= set(focused)


@pytest.mark.django_db(transaction=True)
def test_a_nurse_pages_through_the_worklist(page, live_server, monkeypatch):
    """Pages by key: Next, Previous, First and Last walk the lines in order, each line once."""
    from isotrack.clinic import worklist as clinic_worklist

    demo = build_demo(patients=len(MAIN_SITUATIONS))
    everything = [str(line.course_uuid) for line in worklist(demo.staff["nurse"], WorklistFilters()).lines]
    monkeypatch.setattr(clinic_worklist, "PAGE_SIZE", 6)
    log_in(page, live_server, "nurse")
    rows = page.locator("table.worklist tbody tr")

    def shown() -> list[str]:
        return [row.get_attribute("data-course") or "" for row in rows.all()]

    assert shown() == everything[:6]
    walked = shown()
    while page.get_by_role("link", name="Next page").count():
        page.get_by_role("link", name="Next page").click()
        page.wait_for_url("**after=**")
        expect(rows.first).not_to_have_attribute("data-course", walked[-6])
        walked += shown()
    assert walked == everything and len(everything) > 12
    page.get_by_role("link", name="Previous page").click()
    page.wait_for_url("**before=**")
    expect(page.get_by_role("link", name="Next page")).to_be_visible()
    on_the_last = len(everything) % 6 or 6  # the lines the last Next showed
    assert shown() == everything[-on_the_last - 6 : -on_the_last]
    page.get_by_role("link", name="Last page").click()
    page.wait_for_url("**last=1**")
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    assert shown() == everything[-6:]
    page.get_by_role("link", name="First page").click()
    expect(page.get_by_role("link", name="First page")).to_have_count(0)
    assert shown() == everything[:6]


def test_an_empty_worklist_names_the_rule_set_in_force_today(client, prescriber):
    client.force_login(prescriber)
    page = client.get(reverse("home")).content.decode()
    assert "No course matches." in page
    assert 'Rule set in force today: <span title="us-ipledge-2026">' in page  # 2026-12-01, after 2026-11-15
