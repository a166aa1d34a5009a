"""The calendar, the feeds and the reminders on the demo practices: each plans from the engine (the core's
events and statuses), never from rules of its own. One demo for the module, rolled back at its end; each
test's own writes (outbox rows, feed tokens, a follow-up step) are rolled back after it."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from icalendar import Calendar

from isotrack import core
from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic.actions.alerts import record_pregnancy_follow_up
from isotrack.clinic.calendar import STATUS_LABELS, event_uid
from isotrack.clinic.models import Course, Patient
from isotrack.clinic.records import course_facts
from isotrack.core.calendar import STAFF_ONLY_KINDS
from isotrack.notify import actions as notify_actions
from isotrack.notify.models import Audience, ReminderOutbox
from isotrack.notify.reminders import send_reminders
from tests.notify.conftest import DEMO_TODAY

TODAY = DEMO_TODAY
FOLLOW_UP_KEYS = ("pregnancy-stop-1", "pregnancy-refer-1", "pregnancy-report-1")


@pytest.fixture
def everyone_consents(demo, db):
    """Every demo patient asks for reminders (the demo gives consent to about 60 %), so that what a patient
    is not sent is left out by the rules, not by a missing consent."""
    Patient.objects.update(reminders_consent=True)


def one(demo, key: str) -> Course:
    return demo.courses[key][0]


def core_events(course: Course, day=TODAY) -> dict[str, core.PlannedEvent]:
    return core.therapy_calendar(course_facts(course), day).by_key()


def every_course(demo) -> list[Course]:
    return [course for courses in demo.courses.values() for course in courses]


class ShownEvents(HTMLParser):
    """The events a calendar page shows: each element marked with the event's course and key, its status as
    marked and the words of its status tag."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []
        self._awaiting: dict[str, str] | None = None
        self._in_tag: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if "data-key" in named:
            entry = {"course": named["data-course"], "key": named["data-key"], "status": named["data-status"]}
            entry["words"] = ""
            self.found.append(entry)
            self._awaiting = entry
        elif "cal-status" in (named.get("class") or "").split() and self._awaiting is not None:
            self._in_tag, self._awaiting = self._awaiting, None

    def handle_endtag(self, tag):
        if tag == "span":
            self._in_tag = None
        if tag in ("li", "tr"):
            self._awaiting = None

    def handle_data(self, data):
        if self._in_tag is not None:
            self._in_tag["words"] += data


def shown(body: str) -> list[dict[str, str]]:
    parser = ShownEvents()
    parser.feed(body)
    return parser.found


def overdue_box(body: str) -> list[dict[str, str]]:
    start = body.find('class="cal-overdue-box"')
    if start < 0:
        return []
    return shown(body[start : body.index("</section>", start)])


def logged_in(client, demo, course: Course):
    user = demo.staff["lakeside.nurse" if course.patient.practice_id == demo.pinned_practice.pk else "nurse"]
    client.force_login(user)
    return client


def feed_of(client, demo, **subject) -> Calendar:
    issued = notify_actions.create_feed_token(actor=demo.staff["nurse"], **subject)
    response = client.get(reverse("calendar_feed", kwargs={"token": issued.secret}))
    assert response.status_code == 200
    return Calendar.from_ical(response.content)


def reminders_over(days: int) -> None:
    for offset in range(days):
        send_reminders(today=TODAY + timedelta(days=offset))


# ------------------------------------------------------------------------------------------------ reminders


def test_it_sends_no_pick_up_reminder_for_a_fill_that_is_blocked_or_held(
    demo, everyone_consents, smtp_server, demo_clock
):
    reminders_over(6)
    blocked = {
        "lockout_19_day": one(demo, "lockout_19_day"),  # IPL-LOCK-19 (2021 rules)
        "awaiting_prescriber_confirmation": one(demo, "awaiting_prescriber_confirmation"),
        "triglycerides_critical": one(demo, "triglycerides_critical"),  # on hold, the alert open
        "self_harm_risk": one(demo, "self_harm_risk"),  # an open alert that holds the drug
    }
    for situation, course in blocked.items():
        current = [e for e in core_events(course).values() if e.kind == "pick_up" and not e.projected]
        assert current[-1].status == "waiting", situation  # the next fill's, after those picked up
        rows = ReminderOutbox.objects.filter(course=course, event_kind="pick_up")
        assert not rows.exists(), (situation, list(rows.values_list("subject", flat=True)))
    lockout = one(demo, "lockout_19_day").patient
    for message in smtp_server.inbox.messages:
        if message["To"] == lockout.email:
            assert "pick up" not in message["Subject"].lower(), message["Subject"]
    # Not vacuous: a fill that can be picked up does get its reminder.
    assert ReminderOutbox.objects.filter(
        course=one(demo, "ready_for_first_fill"), event_kind="pick_up", audience=Audience.PATIENT
    ).exists()


def test_it_reminds_only_steps_the_core_says_can_be_done_and_staff_only_steps_to_staff_only(
    demo, everyone_consents, smtp_server, demo_clock
):
    send_reminders(today=TODAY)
    rows = list(ReminderOutbox.objects.select_related("course"))
    assert rows
    by_course: dict[int, dict[str, str]] = {}
    for row in rows:
        if row.course_id not in by_course:
            events = core_events(row.course)
            by_course[row.course_id] = {event_uid(row.course, k): e for k, e in events.items()}
        event = by_course[row.course_id][row.event_uid]
        assert event.kind == row.event_kind and event.date == row.event_date
        if event.for_staff_only:
            assert row.audience == Audience.STAFF, row.subject
            assert event.status in ("open", "upcoming", "overdue"), row.subject
        else:
            assert event.status in ("open", "upcoming"), (row.subject, event.status)


def test_it_gives_the_window_closing_today_patient_one_pick_up_date_the_windows_last_day(
    client, demo, everyone_consents, smtp_server, demo_clock
):
    course = one(demo, "window_closing_today")
    opens = TODAY - timedelta(days=6)  # IPL-WIN-7: the monthly test was collected today - 6
    feed = feed_of(client, demo, scope="patient", patient=course.patient)
    pick_ups = [e for e in feed.walk("VEVENT") if str(e["SUMMARY"]).startswith("Pick up prescription")]
    for event in pick_ups:  # every pick-up says the day it is placed on, never a second date
        assert str(event["SUMMARY"]) == f"Pick up prescription by {event['DTSTART'].dt.isoformat()}"
    current = [e for e in pick_ups if e["DTSTART"].dt >= opens and e["DTSTART"].dt <= TODAY + timedelta(25)]
    assert [e["DTSTART"].dt for e in current] == [TODAY]
    assert len(current[0].walk("VALARM")) == 1  # open: still to do

    send_reminders(today=TODAY)
    rows = ReminderOutbox.objects.filter(course=course, audience=Audience.PATIENT, event_kind="pick_up")
    assert [row.subject for row in rows] == [f"Reminder: Pick up prescription by {TODAY.isoformat()}"]


def test_it_reminds_the_prescriber_once_of_a_stopped_courses_follow_up_and_never_the_patient(
    client, demo, everyone_consents, smtp_server, demo_clock
):
    course = one(demo, "pregnancy_test_positive")
    report = core_events(course)["pregnancy-report-1"]
    assert report.status == "overdue"  # the positive test was five days ago; stop and refer are recorded
    reminders_over(3)
    staff = ReminderOutbox.objects.filter(
        course=course, audience=Audience.STAFF, event_kind="pregnancy_report"
    )
    assert staff.count() == 1  # once: the outbox key is the event's date, the positive test's day
    assert staff.get().recipient == course.prescriber.email
    assert not ReminderOutbox.objects.filter(
        course=course, event_kind__in=["pregnancy_stop", "pregnancy_refer"]
    )
    assert not ReminderOutbox.objects.filter(audience=Audience.PATIENT, event_kind__in=STAFF_ONLY_KINDS)
    for message in smtp_server.inbox.messages:
        if message["To"] == course.patient.email:
            text = f"{message['Subject']} {message.get_payload(decode=True).decode()}".lower()
            assert "registry" not in text and "pregnan" not in text and "refer" not in text
    for situation in ("triglycerides_critical", "self_harm_risk"):  # an open alert that holds the drug
        reviews = ReminderOutbox.objects.filter(course=one(demo, situation), event_kind="alert_review")
        assert [row.audience for row in reviews] == [Audience.STAFF], situation


def test_it_shows_a_stopped_courses_follow_up_to_staff_and_never_in_the_patients_feed(
    client, demo, demo_clock
):
    course = one(demo, "pregnancy_test_positive")
    logged_in(client, demo, course)
    month = client.get(reverse("calendar"), {"date": TODAY.isoformat()}).content.decode()
    on_page = {(e["course"], e["key"]): e["status"] for e in shown(month)}
    for key in FOLLOW_UP_KEYS:
        assert (str(course.uuid), key) in on_page, key
    assert on_page[(str(course.uuid), "pregnancy-report-1")] == "overdue"
    assert "Report to the iPLEDGE pregnancy registry" in month

    staff_feed = feed_of(client, demo, scope="prescriber", prescriber=course.prescriber)
    staff_uids = {str(e["UID"]) for e in staff_feed.walk("VEVENT")}
    assert {event_uid(course, key) for key in FOLLOW_UP_KEYS} <= staff_uids
    report = next(
        e for e in staff_feed.walk("VEVENT") if str(e["UID"]) == event_uid(course, "pregnancy-report-1")
    )
    assert not report.walk("VALARM")  # overdue: on the Overdue list, no alarm

    patient_feed = feed_of(client, demo, scope="patient", patient=course.patient)
    patient_uids = {str(e["UID"]) for e in patient_feed.walk("VEVENT")}
    for key, event in core_events(course).items():
        assert (event_uid(course, key) in patient_uids) == (not event.for_staff_only), key
    text = patient_feed.to_ical().decode().lower()
    assert "registry" not in text and "pregnan" not in text and "refer" not in text


def test_it_keeps_no_staff_only_event_in_any_patients_feed(client, demo, demo_clock):
    for course in every_course(demo):
        if course.patient.practice_id != demo.practice.pk:
            continue
        staff_only = {event_uid(course, k) for k, e in core_events(course).items() if e.for_staff_only}
        feed = feed_of(client, demo, scope="patient", patient=course.patient)
        assert not staff_only & {str(e["UID"]) for e in feed.walk("VEVENT")}, course.patient.mrn


def test_it_keeps_a_stopped_course_on_the_calendar_while_its_follow_up_is_pending(demo, db):
    course = one(demo, "pregnancy_test_positive")
    long_after = TODAY + timedelta(days=200)  # the course ended (the drug stopped) 205 days before
    keys = {
        e.event.key for e in clinic_calendar.practice_entries(demo.practice, long_after) if e.course == course
    }
    assert "pregnancy-report-1" in keys
    ended_long_ago = {e.course.pk for e in clinic_calendar.practice_entries(demo.practice, long_after)}
    assert not {c.pk for c in demo.courses["completed"]} & ended_long_ago  # nothing pending: gone

    record_pregnancy_follow_up(actor=course.prescriber, course=course, step="report", day=TODAY)
    within = TODAY + timedelta(days=clinic_calendar.KEEP_ENDED_COURSES_DAYS)
    assert any(e.course == course for e in clinic_calendar.practice_entries(demo.practice, within))
    assert not any(e.course == course for e in clinic_calendar.practice_entries(demo.practice, long_after))


# ------------------------------------------------------------------------------------------------ the pages


def test_it_lists_in_the_overdue_box_exactly_the_events_the_core_calls_overdue(client, demo, demo_clock):
    for practice, user in ((demo.practice, "nurse"), (demo.pinned_practice, "lakeside.nurse")):
        client.force_login(demo.staff[user])
        body = client.get(reverse("calendar")).content.decode()
        listed = {(e["course"], e["key"]) for e in overdue_box(body)}
        expected = set()
        for course in clinic_calendar.current_courses(practice, TODAY):
            for key, event in core_events(course).items():
                assert not (event.projected and event.status == "overdue"), key
                if event.status == "overdue":
                    expected.add((str(course.uuid), key))
        assert listed == expected, practice.name
        assert listed
    # Baseline labs are overdue only once a fill went out without them (BASELINE_LABS_MISSING).
    for situation in ("qualifying", "ready_for_first_fill", "lockout_19_day"):
        for course in demo.courses[situation]:
            assert core_events(course)["labs-baseline-1"].status != "overdue", situation
    assert core_events(one(demo, "baseline_labs_missing"))["labs-baseline-1"].status == "overdue"


def test_it_shows_on_every_course_calendar_the_cores_status_of_every_event(client, demo, demo_clock):
    seen = set()
    for course in every_course(demo):
        logged_in(client, demo, course)
        response = client.get(reverse("course_calendar", kwargs={"course_id": course.uuid}))
        assert response.status_code == 200
        body = response.content.decode()
        rows = shown(body)  # the list of planned events, then the month grid
        expected = {key: event.status for key, event in core_events(course).items()}
        table = body[body.index('class="list cal-list"') :]
        listed = {e["key"]: e["status"] for e in shown(table[: table.index("</table>")])}
        assert listed == expected, course.patient.mrn
        for row in rows:  # the list and the month grid: the words shown are the core's status
            assert row["words"].strip() == STATUS_LABELS[row["status"]], (course.patient.mrn, row)
            assert row["status"] == expected[row["key"]], (course.patient.mrn, row)
        seen |= set(expected.values())
    assert {"done", "overdue", "open", "upcoming", "waiting", "past"} <= seen


def test_it_shows_a_missed_windows_test_overdue_asking_for_a_new_test(client, demo, demo_clock):
    course = one(demo, "window_missed")
    logged_in(client, demo, course)
    body = client.get(reverse("course_calendar", kwargs={"course_id": course.uuid})).content.decode()
    tests = [e for e in shown(body) if e["key"].startswith("pregnancy-test-") and e["status"] != "done"]
    current = [e for e in tests if e["status"] != "upcoming"]  # the projected fills' tests are upcoming
    assert [(e["status"], e["words"].strip()) for e in current[:1]] == [("overdue", "Overdue")]
    assert "the window closed: a new test is needed" in body


@pytest.mark.parametrize("view", ["month", "week"])
def test_it_shows_on_the_practice_and_prescriber_calendars_the_cores_status_and_staff_only_events(
    client, demo, demo_clock, view
):
    client.force_login(demo.staff["nurse"])
    held = one(demo, "triglycerides_critical")
    for prescriber in (None, held.prescriber):
        params = {"view": view, "date": TODAY.isoformat()}
        if prescriber is not None:
            params["prescriber"] = str(prescriber.uuid)
        body = client.get(reverse("calendar"), params).content.decode()
        grid = shown(body[body.index('class="cal-nav"') :])
        assert grid
        statuses = {}
        for course in Course.objects.filter(uuid__in={e["course"] for e in grid}):
            statuses[str(course.uuid)] = {k: e.status for k, e in core_events(course).items()}
        for entry in grid:
            assert entry["status"] == statuses[entry["course"]][entry["key"]], entry
            assert entry["words"].strip() == STATUS_LABELS[entry["status"]], entry
        keys = {(e["course"], e["key"]) for e in grid}
        assert (str(held.uuid), "alert-review-3") in keys  # staff only, the alert's day is in this week
        assert "staff only" in body and "Legend" in body
