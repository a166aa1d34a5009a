"""Every surface of the API says what the engine says: the evaluation, the worklist, the FHIR view and CDS
Hooks agree with the core's answer on the stored facts (`records.course_facts`) for every course of the demo
(both practices); the writes that acknowledge an alert and record a positive test's follow-up go through the
clinic's actions, with the API's problem documents."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import transaction
from fhir.resources.R4B.bundle import Bundle

from isotrack import core
from isotrack.audit.models import AuditEvent
from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic import worklist as clinic_worklist
from isotrack.clinic.models import Course, Patient
from isotrack.clinic.records import course_facts
from isotrack.demo.generator import MAIN_SITUATIONS, build_demo
from tests.api.conftest import TokenClient, token_for
from tests.conftest import TODAY as SUITE_TODAY

PROBLEM = "application/problem+json"
TODAY = SUITE_TODAY  # the suite's clock: the API's default day, the day writes are dated
PHASE_STATUS = {
    "qualifying": "draft",
    "active": "active",
    "post_course": "active",
    "completed": "completed",
    "stopped": "revoked",
}

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One demo (both practices, every situation) and a token per persona, for the whole module; each test
    runs in its own transaction inside it, so writes stay within their test."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_demo(patients=len(MAIN_SITUATIONS), today=TODAY)
        built.tokens = {
            name: token_for(built.staff[name]) for name in ("doctor", "nurse", "auditor", "lakeside.doctor")
        }
        yield built
        transaction.set_rollback(True)


def api(demo, name: str = "doctor") -> TokenClient:
    return TokenClient(demo.tokens[name])


def api_of(demo, course: Course) -> TokenClient:
    return api(demo, "doctor" if course.patient.practice_id == demo.practice.pk else "lakeside.doctor")


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def engine(course: Course):
    """The core's answer on the stored facts: evaluation, next step, proposal and calendar, today."""
    facts = course_facts(course)
    evaluation = core.evaluate(facts, TODAY)
    return (
        evaluation,
        core.next_step(facts, TODAY, evaluation),
        core.proposed_prescription(facts, TODAY, evaluation=evaluation),
        core.therapy_calendar(facts, TODAY, evaluation=evaluation),
    )


def all_courses():
    return list(Course.objects.select_related("patient__practice").order_by("id"))


# ---------------------------------------------------------------------------------------------- evaluation


def test_it_gives_every_demo_courses_evaluation_as_the_engine_decides_it(demo):
    courses = all_courses()
    assert len(courses) == len(MAIN_SITUATIONS) + 6
    for course in courses:
        answer = api_of(demo, course).get(f"/api/v1/courses/{course.uuid}/evaluation").json()
        evaluation, nxt, proposal, _ = engine(course)
        where = course.patient.mrn
        assert answer["as_of"] == TODAY.isoformat()
        assert answer["phase"] == evaluation.phase, where
        assert answer["dispense"]["allowed"] == evaluation.dispense.allowed, where
        assert [b["code"] for b in answer["dispense"]["blocking"]] == [
            b.code for b in evaluation.dispense.blocking
        ]
        assert [
            (f["code"], f["date"], f["urgency"], f["by"], f["holds_drug"], f["open"], f["asks_for"])
            for f in answer["findings"]
        ] == [
            (
                f.alert.code,
                f.alert.date.isoformat(),
                f.action.urgency,
                f.action.actor,
                f.action.holds_drug,
                f.open,
                f.action.asks_for,
            )
            for f in evaluation.findings
        ], where
        assert [
            (f["acknowledged"]["date"], f["acknowledged"]["reason"]) if f["acknowledged"] else None
            for f in answer["findings"]
        ] == [
            (f.acknowledgment.date.isoformat(), f.acknowledgment.reason) if f.acknowledgment else None
            for f in evaluation.findings
        ]
        step = nxt.step
        expected_step = (
            {
                "code": step.code,
                "label": step.label,
                "actor": step.actor,
                "status": step.status,
                "deadline": step.deadline and step.deadline.isoformat(),
                "earliest": step.earliest and step.earliest.isoformat(),
                "countdown": nxt.countdown,
                "days_left": nxt.days_left,
                "rule_id": step.rule_id,
            }
            if step
            else None
        )
        assert answer["next_step"] == expected_step, where
        assert answer["tier"] == nxt.tier, where
        hold = evaluation.hold
        assert answer["hold"] == (
            {"from": hold.start.isoformat(), "to": hold.end.isoformat(), "reason": hold.reason}
            if hold
            else None
        )
        prescription = proposal.prescription
        assert answer["prescription"] == (
            {
                "days_supply": prescription.days_supply,
                "mg_per_day": prescription.mg_per_day,
                "product": prescription.product,
            }
            if prescription
            else None
        ), where
        assert answer["prescription_reasons"] == list(proposal.reasons), where


def test_it_shows_who_acknowledged_an_alert_and_what_a_hold_and_an_urgent_alert_ask(demo):
    acknowledged = demo.courses["triglycerides_high"][0]
    answer = api(demo).get(f"/api/v1/courses/{acknowledged.uuid}/evaluation").json()
    finding = next(f for f in answer["findings"] if f["code"] == "TRIGLYCERIDES_HIGH")
    stored = acknowledged.acknowledgments.get()
    assert finding["open"] is False and finding["acknowledged"]["by"] == stored.recorded_by.display_name
    critical = demo.courses["triglycerides_critical"][0]
    answer = api(demo).get(f"/api/v1/courses/{critical.uuid}/evaluation").json()
    first = answer["findings"][0]
    assert (first["code"], first["open"], first["holds_drug"]) == ("TRIGLYCERIDES_CRITICAL", True, True)
    assert first["asks_for"] == "hold the drug; recheck lipids in 2 weeks" and first["by"] == "prescriber"
    assert answer["hold"] is not None and answer["prescription"] is None
    assert any(
        "TRIGLYCERIDES" in reason or "LAB-TG-CRIT" in reason for reason in answer["prescription_reasons"]
    )
    assert answer["tier"] < 5


def test_it_gives_the_prescription_the_core_proposes_for_a_visit_on_the_day_asked(demo):
    course = demo.courses["treatment_month_2"][0]
    url = f"/api/v1/courses/{course.uuid}/evaluation"
    for day in (TODAY, TODAY + timedelta(days=3), TODAY + timedelta(days=400)):
        answer = api(demo).get(url, {"on": day.isoformat()}).json()
        proposal = core.proposed_prescription(course_facts(course), day)
        if proposal.prescription is None:
            assert answer["prescription"] is None and answer["prescription_reasons"] == list(proposal.reasons)
        else:
            assert answer["prescription"] == {
                "days_supply": proposal.prescription.days_supply,
                "mg_per_day": proposal.prescription.mg_per_day,
                "product": proposal.prescription.product,
            }
    (held,) = demo.courses["triglycerides_critical"]
    withheld = api(demo).get(f"/api/v1/courses/{held.uuid}/evaluation").json()
    assert withheld["prescription"] is None and any(
        "LAB-TG-CRIT" in r for r in withheld["prescription_reasons"]
    )


# ------------------------------------------------------------------------------------------------ worklist


def page_lines(user, **filters):
    found = clinic_worklist.worklist(user, clinic_worklist.WorklistFilters(**filters), today=TODAY)
    assert found.first_page and found.last_page
    return found.lines


def test_it_lists_the_worklist_of_the_page_line_for_line(demo):
    for name in ("doctor", "lakeside.doctor"):
        lines = page_lines(demo.staff[name])
        listing = api(demo, name).get("/api/v1/worklist", {"on": TODAY.isoformat(), "limit": 200}).json()
        assert listing["on"] == TODAY.isoformat() and listing["count"] == len(lines) > 0
        items = listing["items"]
        assert [item["course"] for item in items] == [str(line.course_uuid) for line in lines]
        for item, line in zip(items, lines, strict=True):
            step = item["next_step"]
            shown = (step["code"], step["label"], step["status"]) if step else None
            assert shown == ((line.step_code, line.step_label, line.step_status) if line.step_code else None)
            if step:
                assert step["deadline"] == (line.deadline and line.deadline.isoformat())
                assert (step["countdown"], step["days_left"], step["rule_id"]) == (
                    line.countdown,
                    line.days_left,
                    line.rule_id,
                )
            assert item["tier"] == line.tier and item["phase"] == line.phase
            assert item["dispense_allowed"] == line.dispense_allowed
            assert item["blocking"] == list(line.blocking)
            assert [(a["code"], a["date"], a["open"]) for a in item["alerts"]] == [
                (a.code, a.date.isoformat(), a.open) for a in line.alerts
            ]
    main = api(demo).get("/api/v1/worklist", {"limit": 200}).json()["items"]
    listed = {item["course"] for item in main}
    assert str(demo.courses["post_course"][0].uuid) in listed  # the post-course test is still to do
    assert str(demo.courses["pregnancy_test_positive"][0].uuid) in listed  # its report is pending
    first = main[0]
    assert first["tier"] == 0 and first["alerts"][0]["code"] == "SELF_HARM_RISK"


def test_it_agrees_with_the_engine_on_each_lines_step(demo):
    for item in api(demo).get("/api/v1/worklist", {"limit": 200}).json()["items"]:
        course = Course.objects.get(uuid=item["course"])
        _, nxt, _, _ = engine(course)
        assert item["tier"] == nxt.tier and item["dispense_allowed"] == nxt.dispense_allowed
        assert (item["next_step"] or {}).get("code") == (nxt.step.code if nxt.step else None)
        assert (item["next_step"] or {}).get("actor") == (nxt.step.actor if nxt.step else None)
        assert [(a["code"], a["open"]) for a in item["alerts"]] == [
            (f.alert.code, f.open) for f in nxt.findings
        ]


def test_it_pages_the_worklist_in_the_pages_order(demo, monkeypatch):
    user = demo.staff["doctor"]
    everything = [str(line.course_uuid) for line in page_lines(user)]
    monkeypatch.setattr(clinic_worklist, "PAGE_SIZE", 4)

    def page(**filters):
        found = clinic_worklist.worklist(user, clinic_worklist.WorklistFilters(**filters), today=TODAY)
        return found, [str(line.course_uuid) for line in found.lines]

    # The page's Next links walk every line once, in order; Last and Previous walk back.
    walked, after, found = [], "", None
    while found is None or not found.last_page:
        found, shown = page(after=after)
        assert found.first_page == (after == "") and len(shown) <= 4
        walked += shown
        after = found.next_after
    assert walked == everything and len(everything) > 8
    last, shown = page(last=True)
    assert shown == everything[-4:] and last.last_page and not last.first_page
    before, shown = page(before=last.previous_before)
    assert shown == everything[-8:-4] and not before.last_page
    assert page(after="not-a-course")[1] == everything[:4]  # an unknown key: the first page
    # The API pages the same lines by offset.
    for offset, limit in ((0, 3), (3, 6), (4, 4), (9, 50), (len(everything) - 1, 10), (len(everything), 5)):
        listing = api(demo).get("/api/v1/worklist", {"offset": offset, "limit": limit}).json()
        assert [item["course"] for item in listing["items"]] == everything[offset : offset + limit]
        assert (listing["count"], listing["offset"], listing["limit"]) == (len(everything), offset, limit)


def test_it_filters_the_worklist_as_the_page_does(demo):
    user = demo.staff["doctor"]
    course = demo.courses["window_missed"][0]
    for query, filters in (
        ({"phase": "post_course"}, {"phase": "post_course"}),
        ({"category": "cannot_get_pregnant"}, {"category": "cannot_get_pregnant"}),
        ({"q": course.patient.mrn}, {"q": course.patient.mrn}),
        ({"prescriber": str(user.uuid)}, {"prescriber": str(user.uuid)}),
    ):
        items = api(demo).get("/api/v1/worklist", {"limit": 200, **query}).json()["items"]
        assert [item["course"] for item in items] == [
            str(line.course_uuid) for line in page_lines(user, **filters)
        ]
    assert [
        i["course"] for i in api(demo).get("/api/v1/worklist", {"q": course.patient.mrn}).json()["items"]
    ] == [str(course.uuid)]


# ------------------------------------------------------------------------------------------------ calendar


def calendar_items(client, start, end, *, limit=40, max_queries=None, assert_queries=None) -> list[dict]:
    """Every item of the API's calendar between two days, page after page (``next_after``)."""
    items, after = [], ""
    while True:
        params = {"start": start.isoformat(), "end": end.isoformat(), "limit": limit, "after": after}
        if assert_queries is None:
            body = client.get("/api/v1/calendar", params).json()
        else:
            with assert_queries(max_queries):
                body = client.get("/api/v1/calendar", params).json()
        items += body["items"]
        after = body["next_after"]
        if after is None:
            return items


def test_it_shows_the_practices_calendar_from_the_stored_plans_a_page_at_a_time(
    demo, django_assert_max_num_queries
):
    start, end = TODAY - timedelta(days=30), TODAY + timedelta(days=60)
    client = api(demo)
    client.get("/api/v1/calendar")  # the day's first read judges the practice's lines and plans
    # (at most 10 queries a page: the page read by key, and its look written to the access log)
    items = calendar_items(client, start, end, max_queries=10, assert_queries=django_assert_max_num_queries)
    assert len(items) > 40  # more than one page
    assert [i["date"] for i in items] == sorted(i["date"] for i in items)
    # Exactly what the core plans today for every course on the practice's calendar.
    expected = {
        (str(e.course.uuid), e.event.key, e.event.date.isoformat(), e.status, e.event.due_code)
        for e in clinic_calendar.practice_entries(demo.practice, TODAY)
        if start <= e.event.date <= end
    }
    shown = {(i["course"], i["key"], i["date"], i["status"], i["due_code"]) for i in items}
    assert shown == expected
    assert {"done", "overdue", "open", "upcoming", "waiting", "past"} <= {i["status"] for i in items}
    for item in items:
        _, _, _, plan = engine(Course.objects.get(uuid=item["course"]))
        assert plan.by_key()[item["key"]].label == item["label"]


def test_the_api_and_the_page_list_the_same_events_of_a_day(client, demo):
    day = next(
        e.event.date for e in clinic_calendar.practice_entries(demo.practice, TODAY) if e.event.date > TODAY
    )
    from_api = [(i["course"], i["key"], i["status"]) for i in calendar_items(api(demo), day, day, limit=3)]
    client.force_login(demo.staff["doctor"])
    body = client.get("/calendar/", {"view": "day", "date": day.isoformat()}).content.decode()
    box = body[body.index('class="cal-day"') :]
    on_page = re.findall(r'data-course="([^"]+)" data-key="([^"]+)" data-status="([^"]+)"', box)
    assert from_api and on_page == from_api


# ---------------------------------------------------------------------------------------------------- FHIR


def resources_by_course(bundle: dict) -> dict[str, dict[str, list[dict]]]:
    """The CarePlans, DetectedIssues and Tasks of a bundle, by the CarePlan (course) they concern."""
    found: dict[str, dict[str, list[dict]]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "CarePlan":
            key = resource["id"]
        elif kind == "DetectedIssue":
            key = resource["implicated"][0]["reference"].removeprefix("CarePlan/")
        elif kind == "Task":
            key = resource["focus"]["reference"].removeprefix("CarePlan/")
        else:
            continue
        found.setdefault(key, {"CarePlan": [], "DetectedIssue": [], "Task": []})[kind].append(resource)
    return found


def codes(resources: list[dict], system: str) -> list[tuple[str, str]]:
    return [
        (r["code"]["coding"][0]["code"], r.get("severity") or r.get("status"))
        for r in resources
        if r["code"]["coding"][0]["system"] == system
    ]


def test_it_shows_the_engines_answer_as_fhir_resources(demo):
    for patient in Patient.objects.select_related("practice"):
        course_api = api(demo, "doctor" if patient.practice_id == demo.practice.pk else "lakeside.doctor")
        response = course_api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
        Bundle.model_validate_json(response.content)
        by_course = resources_by_course(response.json())
        for course in patient.courses.all():
            evaluation, _, _, plan = engine(course)
            resources = by_course[str(course.uuid)]
            where = patient.mrn
            assert [c["status"] for c in resources["CarePlan"]] == [PHASE_STATUS[evaluation.phase]], where
            issues = resources["DetectedIssue"]
            assert codes(issues, "urn:isotrack:ipledge-blocking") == [
                (b.code, "high") for b in evaluation.dispense.blocking
            ]
            assert codes(issues, "urn:isotrack:alert") == [
                (f.alert.code, "high" if f.action.holds_drug else "moderate") for f in evaluation.findings
            ], where
            alert_issues = [i for i in issues if i["code"]["coding"][0]["system"] == "urn:isotrack:alert"]
            for issue, finding in zip(alert_issues, evaluation.findings, strict=True):
                mitigation = issue.get("mitigation")
                if finding.acknowledgment is None:
                    assert mitigation is None
                else:
                    assert mitigation[0]["action"]["text"].startswith("acknowledged")
                    assert mitigation[0]["date"] == finding.acknowledgment.date.isoformat()
            answering = {e.due_code: e for e in plan.events if e.due_code}
            assert codes(resources["Task"], "urn:isotrack:due") == [
                (d.code, "completed" if answering[d.code].status == "done" else "requested")
                for d in evaluation.due
            ], where
            follow_up = {"pregnancy_stop": "stop", "pregnancy_refer": "refer", "pregnancy_report": "report"}
            assert codes(resources["Task"], "urn:isotrack:pregnancy-follow-up") == [
                (follow_up[e.kind], "completed" if e.status == "done" else "requested")
                for e in plan.events
                if e.kind in follow_up
            ], where


def test_it_says_in_fhir_that_a_post_course_is_active_and_a_stopped_one_is_revoked_with_its_follow_up(demo):
    def bundle_of(key):
        course = demo.courses[key][0]
        everything = api(demo).get(f"/fhir/R4/Patient/{course.patient.uuid}/$everything").json()
        return resources_by_course(everything)[str(course.uuid)]

    assert bundle_of("post_course")["CarePlan"][0]["status"] == "active"
    assert bundle_of("completed")["CarePlan"][0]["status"] == "completed"
    stopped = bundle_of("pregnancy_test_positive")
    assert stopped["CarePlan"][0]["status"] == "revoked"
    assert sorted(codes(stopped["Task"], "urn:isotrack:pregnancy-follow-up")) == [
        ("refer", "completed"),
        ("report", "requested"),
        ("stop", "completed"),
    ]
    acknowledged = bundle_of("triglycerides_high")["DetectedIssue"]
    issue = next(i for i in acknowledged if i["code"]["coding"][0]["code"] == "TRIGLYCERIDES_HIGH")
    assert issue["severity"] == "moderate" and issue["mitigation"][0]["author"]["display"]
    critical = bundle_of("triglycerides_critical")["DetectedIssue"]
    assert ("TRIGLYCERIDES_CRITICAL", "high") in codes(critical, "urn:isotrack:alert")


# ----------------------------------------------------------------------------------------------- CDS Hooks


def hook(demo, service: str, course: Course, name: str = "doctor") -> list[dict]:
    context: dict = {"userId": "Practitioner/example", "patientId": str(course.patient.uuid)}
    if service == "order-sign":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "status": "draft",
                        "intent": "order",
                        "medicationCodeableConcept": {"text": "isotretinoin 40 MG Oral Capsule"},
                    }
                }
            ],
        }
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": service, "context": context}
    response = post(api(demo, name), f"/cds-services/isotrack-{service}", body)
    assert response.status_code == 200
    return response.json()["cards"]


@pytest.mark.parametrize("key", ["triglycerides_critical", "self_harm_risk"])
def test_it_gives_critical_cards_that_say_what_an_urgent_alert_asks_for(demo, key):
    course = demo.courses[key][0]
    evaluation, _, _, _ = engine(course)
    urgent = [f for f in evaluation.findings if f.withholds_prescription]
    assert urgent
    cards = hook(demo, "patient-view", course)
    assert cards[0]["indicator"] == "critical"
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert [c["summary"] for c in critical] == [
        f"{f.action.label}: {f.action.asks_for}"[:140] for f in urgent
    ]
    for card, finding in zip(critical, urgent, strict=True):
        assert finding.alert.rule_id in card["detail"] and finding.alert.code in card["detail"]
    others = [f for f in evaluation.findings if f.open and not f.action.holds_drug]
    assert len([c for c in cards if c["indicator"] == "warning"]) == len(others) + len(
        evaluation.dispense.blocking
    )


def test_it_says_in_a_critical_card_what_triglycerides_ask_for(demo):
    cards = hook(demo, "patient-view", demo.courses["triglycerides_critical"][0])
    assert "hold the drug; recheck lipids in 2 weeks" in cards[0]["summary"]


def test_it_gives_an_info_card_naming_who_acknowledged_an_alert(demo):
    course = demo.courses["triglycerides_high"][0]
    name = course.acknowledgments.get().recorded_by.display_name
    cards = hook(demo, "patient-view", course)
    info = [c for c in cards if c["indicator"] == "info" and "Triglycerides high" in c["summary"]]
    assert len(info) == 1 and name in info[0]["summary"]


def test_it_gives_critical_cards_for_a_stopped_courses_pending_follow_up(demo):
    cards = hook(demo, "patient-view", demo.courses["pregnancy_test_positive"][0])
    follow_up = [c for c in cards if c["summary"].startswith("Positive pregnancy test: ")]
    reports = [c for c in follow_up if "IPL-PREG-REPORT" in c["detail"]]
    assert len(reports) == 1 and reports[0]["indicator"] == "critical"
    assert not [c for c in follow_up if "IPL-PREG-STOP" in c["detail"] or "IPL-PREG-REFER" in c["detail"]]


def test_it_warns_at_order_sign_when_the_core_would_not_propose_the_prescription(demo):
    course = demo.courses["triglycerides_critical"][0]
    _, _, proposal, _ = engine(course)
    assert proposal.prescription is None
    cards = hook(demo, "order-sign", course)
    refused = [c for c in cards if c["summary"] == "isotrack proposes no isotretinoin prescription today"]
    assert len(refused) == 1 and refused[0]["indicator"] == "critical"
    assert all(reason in refused[0]["detail"] for reason in proposal.reasons)
    assert not [c for c in cards if "requirements recorded in isotrack are met" in c["summary"]]


# -------------------------------------------------------------------------------------------------- writes


def acknowledgment_url(course: Course) -> str:
    return f"/api/v1/courses/{course.uuid}/acknowledgments"


def follow_up_url(course: Course) -> str:
    return f"/api/v1/courses/{course.uuid}/pregnancy-follow-up"


def open_alert(course: Course, code: str):
    evaluation, _, _, _ = engine(course)
    return next(f.alert for f in evaluation.findings if f.alert.code == code and f.open)


def test_it_acknowledges_an_alert_and_then_shows_it_acknowledged(demo):
    course = demo.courses["triglycerides_critical"][0]
    alert = open_alert(course, "TRIGLYCERIDES_CRITICAL")
    rows = AuditEvent.objects.count()
    body = {"code": alert.code, "alert_date": alert.date.isoformat(), "reason": "dose halved; recheck booked"}
    response = post(api(demo), acknowledgment_url(course), body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["code"], created["alert_date"], created["date"]) == (
        alert.code,
        alert.date.isoformat(),
        TODAY.isoformat(),
    )
    assert created["course"] == str(course.uuid) and created["reason"] == "dose halved; recheck booked"
    assert AuditEvent.objects.count() > rows
    finding = api(demo).get(f"/api/v1/courses/{course.uuid}/evaluation").json()["findings"][0]
    assert finding["open"] is False
    assert finding["acknowledged"] == {
        "date": TODAY.isoformat(),
        "by": demo.staff["doctor"].display_name,
        "reason": "dose halved; recheck booked",
    }
    assert [a["id"] for a in api(demo, "auditor").get(acknowledgment_url(course)).json()] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "NOT_AN_ALERT", "reason": "x"}, "code"),
        ({"code": "PREGNANCY_TEST_POSITIVE", "reason": "x"}, "code"),
        ({"code": "TRIGLYCERIDES_CRITICAL"}, "reason"),
        ({"code": "TRIGLYCERIDES_CRITICAL", "reason": "   "}, "reason"),
    ],
)
def test_it_refuses_a_bad_acknowledgment_with_a_422_problem(demo, body, field):
    course = demo.courses["triglycerides_critical"][0]
    alert = open_alert(course, "TRIGLYCERIDES_CRITICAL")
    rows = AuditEvent.objects.count()
    response = post(api(demo), acknowledgment_url(course), {"alert_date": alert.date.isoformat(), **body})
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "invalid"
    assert problem.get("field") == field or [e["field"] for e in problem.get("errors", [])] == [field]
    assert AuditEvent.objects.count() == rows


def test_it_refuses_to_acknowledge_an_alert_that_is_not_raised(demo):
    course = demo.courses["triglycerides_critical"][0]
    body = {"code": "TRIGLYCERIDES_CRITICAL", "alert_date": "2001-01-01", "reason": "seen"}
    response = post(api(demo), acknowledgment_url(course), body)
    assert response.status_code == 422 and response.json()["code"] == "invalid"


@pytest.mark.parametrize("name", ["nurse", "auditor"])
def test_it_lets_only_a_prescriber_acknowledge_an_alert(demo, name):
    course = demo.courses["triglycerides_critical"][0]
    alert = open_alert(course, "TRIGLYCERIDES_CRITICAL")
    body = {"code": alert.code, "alert_date": alert.date.isoformat(), "reason": "seen"}
    response = post(api(demo, name), acknowledgment_url(course), body)
    assert response.status_code == 403 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "not_permitted"
    follow_up = post(
        api(demo, name),
        follow_up_url(demo.courses["pregnancy_test_positive"][0]),
        {
            "step": "report",
            "date": TODAY.isoformat(),
        },
    )
    assert follow_up.status_code == 403 and follow_up.json()["code"] == "not_permitted"


def test_it_answers_404_for_another_practices_course(demo):
    course = demo.courses["triglycerides_critical"][0]
    alert = open_alert(course, "TRIGLYCERIDES_CRITICAL")
    body = {"code": alert.code, "alert_date": alert.date.isoformat(), "reason": "seen"}
    outsider = api(demo, "lakeside.doctor")
    for response in (
        post(outsider, acknowledgment_url(course), body),
        post(
            outsider,
            follow_up_url(demo.courses["pregnancy_test_positive"][0]),
            {
                "step": "report",
                "date": TODAY.isoformat(),
            },
        ),
        outsider.get(acknowledgment_url(course)),
        outsider.get(follow_up_url(course)),
    ):
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM
        assert response.json()["code"] == "not_found"
    assert not course.acknowledgments.filter(alert_code=alert.code, alert_date=alert.date).exists()


def test_it_records_a_positive_tests_last_follow_up_step_and_the_alert_is_then_handled(demo):
    course = demo.courses["pregnancy_test_positive"][0]
    body = {"step": "report", "date": TODAY.isoformat(), "note": "registry and MedWatch"}
    response = post(api(demo), follow_up_url(course), body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["step"], created["date"], created["note"]) == ("report", TODAY.isoformat(), body["note"])
    assert [f["step"] for f in api(demo).get(follow_up_url(course)).json()] == ["stop", "refer", "report"]
    answer = api(demo).get(f"/api/v1/courses/{course.uuid}/evaluation").json()
    positive = next(f for f in answer["findings"] if f["code"] == "PREGNANCY_TEST_POSITIVE")
    assert positive["open"] is False and answer["phase"] == "stopped"
    cards = hook(demo, "patient-view", course)
    assert not [c for c in cards if c["summary"].startswith("Positive pregnancy test: ")]


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("pregnancy_test_positive", {"step": "stop"}),  # already recorded
        ("pregnancy_test_positive", {"step": "celebrate"}),
        ("treatment_month_2", {"step": "report"}),  # no positive test
        ("pregnancy_test_positive", {"step": "report", "date": "1999-01-01"}),  # before the test
    ],
)
def test_it_refuses_a_bad_follow_up_step_with_a_422_problem(demo, key, body):
    response = post(api(demo), follow_up_url(demo.courses[key][0]), {"date": TODAY.isoformat(), **body})
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "invalid"
