"""Every surface says what the engine says: for every course of both demo practices, on the demo's today
and on the day after the course's next deadline, each page (the course page, its print view, the monthly
visit form, the worklist), the calendar, the JSON API, the FHIR view and CDS Hooks state the next step and
its deadline, whether a fill may be dispensed, the alerts (open or acknowledged), the due dates, the dose
figures and the phase exactly as the core's evaluation of the course's facts does."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from isotrack import core
from isotrack.clinic.models import Course
from isotrack.clinic.records import facts_of
from isotrack.clinic.worklist import WorklistFilters
from isotrack.clinic.worklist import lines as worklist_lines
from isotrack.core.quantities import round_mg, round_mg_per_kg
from isotrack.demo.generator import build_demo
from tests.api.conftest import TokenClient, token_for
from tests.conftest import clinic_clock

TODAY = dt.date(2026, 12, 1)
DAY = dt.timedelta(days=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo as `make run` builds it (both practices), read-only, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_demo(today=TODAY)
        yield built
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def courses(demo):
    return list(
        Course.objects.filter(patient__practice__in=(demo.practice, demo.pinned_practice))
        .select_related("patient__practice", "prescriber")
        .order_by("id")
    )


@pytest.fixture(scope="module")
def facts(courses):
    return facts_of(courses)


def on(day: dt.date, practice: Any) -> Any:
    """The clock at noon of ``day`` where the practice is: every surface asks ``practice_today``."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(practice.time_zone))
    return clinic_clock(noon)


class Marked(HTMLParser):
    """The elements of a page that carry ``data-*`` attributes, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {name: value or "" for name, value in attrs if name.startswith("data-")}
        if data:
            self.found.append(data)

    def all(self, key: str) -> list[dict[str, str]]:
        return [element for element in self.found if key in element]

    def one(self, key: str, value: str | None = None) -> dict[str, str]:
        matching = [e for e in self.all(key) if value is None or e[key] == value]
        assert len(matching) == 1, (key, value, matching)
        return matching[0]


def engine(course_file: core.CourseFile, day: dt.date) -> dict[str, Any]:
    """What the core says of a course on a day, in the words the surfaces are compared in."""
    evaluation = core.evaluate(course_file, day)
    cycle = core.current_cycle(course_file, day, evaluation)
    step = cycle.next_step
    return {
        "evaluation": evaluation,
        "cycle": cycle,
        "step": step.code if step else "",
        "deadline": step.deadline.isoformat() if step and step.deadline else "",
        "phase": evaluation.phase,
        "allowed": "true" if evaluation.dispense.allowed else "false",
        "alerts": [
            (f.alert.code, f.alert.date.isoformat(), "true" if f.open else "false")
            for f in evaluation.findings
        ],
        "due": sorted((d.code, d.date.isoformat()) for d in evaluation.due),
    }


def days_of(course_file: core.CourseFile) -> list[dt.date]:
    """The demo's today, and the day after the course's next deadline (when it has one)."""
    found = core.next_step(course_file, TODAY)
    after = [found.step.deadline + DAY] if found.step and found.step.deadline else []
    return [TODAY, *after]


def prescriber_of(demo: Any, course: Course) -> Any:
    return course.prescriber if course.prescriber.is_active else demo.staff["doctor"]


def test_every_page_states_what_the_engine_says_for_every_demo_course_today_and_after_its_deadline(
    demo, courses, facts
):
    checked = 0
    for course in courses:
        for day in days_of(facts[course.pk]):
            want = engine(facts[course.pk], day)
            with on(day, course.patient.practice):
                client = Client()  # logged in on the day: a session lasts hours, the days run on
                client.force_login(prescriber_of(demo, course))
                response = client.get(reverse("course", args=[course.uuid]))
                assert response.status_code == 200, (response.status_code, response.get("Location"))
                html = response.content.decode()
                page = Marked(html)
                printed = Marked(client.get(reverse("course_print", args=[course.uuid])).content.decode())
                visit = client.get(reverse("course_visit", args=[course.uuid]))
            for marked in (page, printed):
                shown = marked.one("data-testid", "next-step")
                said = (
                    shown["data-step"],
                    shown["data-deadline"],
                    shown["data-phase"],
                    shown["data-dispense-allowed"],
                )
                assert said == (want["step"], want["deadline"], want["phase"], want["allowed"]), (
                    course.pk,
                    day,
                )
                alerts = [
                    (a["data-alert"], a["data-alert-date"], a["data-open"]) for a in marked.all("data-open")
                ]
                assert alerts == want["alerts"], (course.pk, day)
            due = sorted((d["data-due"], d["data-date"]) for d in page.all("data-due"))
            assert due == want["due"], (course.pk, day)
            dose = want["evaluation"].dose
            figures = page.one("data-testid", "cumulative")
            assert figures["data-mg"] == f"{round_mg(dose.cumulative_mg):.1f}"
            per_kg = dose.cumulative_mg_per_kg
            assert figures["data-mg-per-kg"] == ("" if per_kg is None else f"{round_mg_per_kg(per_kg):.2f}")
            projected = dose.projected_completion_date
            assert page.one("data-testid", "projected-completion")["data-date"] == (
                projected.isoformat() if projected else ""
            )
            cycle = want["cycle"]
            window = cycle.window  # the current cycle's, never a spent one (a closed window says so)
            if window is None:
                assert "Window: " not in html and "has closed" not in html, (course.pk, day)
            elif cycle.window_closed:
                assert f"{window.opens} to {window.closes} has closed" in html
            else:
                assert f"Window: {window.opens} to {window.closes}" in html
            _check_visit_form(visit, facts[course.pk], day, course)
            checked += 1
    # most courses have a next deadline, two days each (not the history's completed and stopped ones)
    assert checked >= len(courses) + 35


def _check_visit_form(response: Any, course_file: core.CourseFile, day: dt.date, course: Course) -> None:
    """The visit form proposes exactly the core's prescription, the test the core says is next, and the
    course's product (Absorica LD plans micronized capsules)."""
    assert response.status_code == 200
    marked = Marked(response.content.decode())
    proposal = core.proposed_prescription(course_file, day)
    assert marked.one("data-testid", "prescription")["data-proposed"] == (
        "true" if proposal.proposed else "false"
    )
    form = response.context["form"]
    if "pregnancy_test_purpose" in form.fields:
        assert form["pregnancy_test_purpose"].value() == (core.expected_test_purpose(course_file, day) or "")
    segment = response.context["segment"]
    if segment is not None and segment.product == "micronized":
        assert form["dose_product"].value() == "micronized"
        plan = response.context["plan"]
        if plan.capsules is not None:
            assert plan.capsules.plan.product == "micronized"
        if proposal.proposed and plan.projected_completion_date is not None:
            expected = core.evaluate(course_file, day).dose.projected_completion_date
            assert plan.current_completion_date == expected


def test_the_worklist_lists_every_course_with_a_step_as_the_engine_judges_it(demo, courses, facts):
    by_day: dict[dt.date, list[Course]] = defaultdict(list)
    for course in courses:
        for day in days_of(facts[course.pk]):
            by_day[day].append(course)
    for day, on_day in sorted(by_day.items()):
        for practice in (demo.practice, demo.pinned_practice):
            nurse = next(u for u in demo.staff.values() if u.practice_id == practice.pk and u.role == "nurse")
            _, total, listed = worklist_lines(nurse, WorklistFilters(), 0, 1000, today=day)  # every page
            assert len(listed) == total
            lines = {line.course_uuid: line for line in listed}
            for course in (c for c in on_day if c.patient.practice_id == practice.pk):
                found = core.next_step(facts[course.pk], day)
                line = lines.get(course.uuid)
                if found.step is None and found.phase not in ("qualifying", "active"):
                    assert line is None, (course.pk, day)
                    continue
                assert line is not None, (course.pk, day, found.step)
                assert (line.step_code, line.deadline, line.phase, line.tier) == (
                    found.step.code if found.step else "",
                    found.step.deadline if found.step else None,
                    found.phase,
                    found.tier,
                ), (course.pk, day)
                assert [(a.code, a.date, a.open) for a in line.alerts] == [
                    (f.alert.code, f.alert.date, f.open) for f in found.findings
                ]
                assert line.dispense_allowed == found.dispense_allowed


def test_the_worklist_page_leads_with_the_self_harm_risk_then_the_positive_test_then_the_critical_lab(
    demo, courses, facts
):
    client = Client()
    client.force_login(demo.staff["nurse"])
    with on(TODAY, demo.practice):
        rows = Marked(client.get(reverse("home")).content.decode()).all("data-tier")
    tiers = [int(row["data-tier"]) for row in rows]
    assert tiers == sorted(tiers)
    leading = [row["data-course"] for row in rows if int(row["data-tier"]) < 5]
    self_harm = {str(c.uuid) for c in demo.courses["self_harm_risk"]}
    positive = {str(c.uuid) for c in demo.courses["pregnancy_test_positive"]}
    critical = {str(c.uuid) for c in demo.courses["triglycerides_critical"]}
    assert set(leading[: len(self_harm)]) == self_harm
    assert set(leading[len(self_harm) : len(self_harm) + len(positive)]) == positive
    assert critical <= set(leading)
    held = [row for row in rows if row["data-course"] in critical]
    assert all(row["data-step"] == "ON_HOLD" for row in held)


def test_the_calendar_plans_from_the_engine_for_every_demo_course(demo, courses, facts):
    for course in courses:
        for day in days_of(facts[course.pk]):
            calendar = core.therapy_calendar(facts[course.pk], day)
            evaluation = calendar.evaluation
            for due in evaluation.due:
                (answer,) = [e for e in calendar.events if e.due_code == due.code]
                assert answer.due_date == due.date
            for event in calendar.events:
                assert not (event.projected and event.status == "overdue")
                if event.kind == "pick_up" and not event.projected and event.status in ("open", "upcoming"):
                    # a pick-up is asked for only when the engine would let the fill be dispensed in time
                    assert not evaluation.hold and not any(
                        f.withholds_prescription for f in evaluation.findings
                    )
            step = core.current_cycle(facts[course.pk], day, evaluation).next_step
            if (
                step is not None
                and step.code in ("MONTHLY_TEST", "CONFIRMATION_TEST")
                and step.status != "done"
            ):
                tests = [e for e in calendar.events if e.kind == "pregnancy_test" and not e.projected]
                assert tests and tests[-1].done_on is None, (course.pk, day)


def test_the_api_fhir_and_cds_hooks_state_what_the_engine_says_for_every_demo_course(demo, courses, facts):
    tokens: dict[int, str] = {}
    for course in courses:
        user = prescriber_of(demo, course)
        if user.pk not in tokens:
            tokens[user.pk] = token_for(user)
        token = tokens[user.pk]
        for day in days_of(facts[course.pk]):
            want = engine(facts[course.pk], day)
            evaluation = want["evaluation"]
            with on(day, course.patient.practice):
                client = TokenClient(token)
                answer = client.get(f"/api/v1/courses/{course.uuid}/evaluation").json()
                bundle = client.get(f"/fhir/R4/Patient/{course.patient.uuid}/$everything").json()
                hook = {
                    "hook": "patient-view",
                    "hookInstance": "x",
                    "context": {"patientId": str(course.patient.uuid)},
                }
                cards = client.post(
                    "/cds-services/isotrack-patient-view", hook, content_type="application/json"
                )
            where = (course.pk, day)
            # The JSON API: the spec's answer and what the engine decides beyond it.
            assert answer["as_of"] == day.isoformat() and answer["phase"] == want["phase"], where
            assert answer["dispense"]["allowed"] is evaluation.dispense.allowed
            assert [b["code"] for b in answer["dispense"]["blocking"]] == [
                b.code for b in evaluation.dispense.blocking
            ]
            findings = [(f["code"], f["date"], "true" if f["open"] else "false") for f in answer["findings"]]
            assert findings == want["alerts"], where
            step = answer["next_step"]
            assert ((step or {}).get("code", ""), (step or {}).get("deadline") or "") == (
                want["step"],
                want["deadline"],
            ), where
            assert sorted((d["code"], d["date"]) for d in answer["due"]) == want["due"]
            assert answer["dose"] == evaluation.to_dict()["dose"]
            proposal = core.proposed_prescription(facts[course.pk], day, evaluation=evaluation)
            assert (answer["prescription"] is not None) is proposal.proposed, where
            # FHIR: a DetectedIssue for every blocking reason and alert, severity from ALERT-URGENCY.
            resources = [entry["resource"] for entry in bundle["entry"]]
            issues = [
                (r["code"]["coding"][0]["code"], r["severity"])
                for r in resources
                if r["resourceType"] == "DetectedIssue"
                and r["implicated"][0]["reference"].endswith(str(course.uuid))
            ]
            assert issues == [(b.code, "high") for b in evaluation.dispense.blocking] + [
                (f.alert.code, "high" if f.action.holds_drug else "moderate") for f in evaluation.findings
            ], where
            # CDS Hooks: critical cards exactly for the open alerts that hold the drug and a stopped course's
            # pending follow-up steps; an acknowledged alert is information.
            indicators = [card["indicator"] for card in cards.json()["cards"]]
            holding = [f for f in evaluation.findings if f.withholds_prescription]
            pending = [s for s in want["cycle"].steps if s.code.startswith("PREGNANCY_") and s.pending]
            assert indicators.count("critical") == len(holding) + len(pending), where
            acknowledged = [
                f for f in evaluation.findings if not f.open and f.alert.code != "PREGNANCY_TEST_POSITIVE"
            ]
            assert indicators.count("info") >= len(acknowledged), where
