"""The patient's check-in pages (issue 17, item 2), through Django's test client and a real SMTP server: the
reminder of a visit carries a link that names nothing clinical; the birth date opens it (five wrong ones close
it); the questions are answered once (PHQ-9 when the PHQ-2 calls for it); thoughts of self-harm show 988, put
the course first on the worklist and notify the prescriber without naming anyone. Synthetic data only."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from isotrack.clinic import worklist
from isotrack.clinic.actions.check_ins import SYMPTOMS, issue_check_in
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.models import CheckIn, Role
from isotrack.notify.models import Audience, OutboxStatus, ReminderOutbox
from tests.conftest import TODAY, clinic_clock, make_staff
from tests.notify.test_reminders import FORBIDDEN, text_of

pytestmark = pytest.mark.django_db

BIRTH = date(2004, 3, 1)
QUIET = {f"symptom_{key}": "none" for key in SYMPTOMS}


@pytest.fixture
def link(course, prescriber):
    prescriber.email = "prescriber@example.test"
    prescriber.save(update_fields=["email"])
    issued = issue_check_in(course=course, visit_date=TODAY)
    assert issued is not None
    return reverse("check_in", kwargs={"secret": issued.secret})


def opened(link: str) -> Client:
    browser = Client()
    assert browser.post(link, {"birth_date": BIRTH.isoformat()}).status_code == 302
    return browser


def test_five_wrong_birth_dates_close_the_link_for_good(link):
    browser = Client()
    page = browser.get(link)
    assert page.status_code == 200 and 'name="birth_date"' in page.content.decode()
    for left in (4, 3, 2, 1):
        refused = browser.post(link, {"birth_date": "2004-03-02"})
        assert refused.status_code == 422 and f"{left} more tr" in refused.content.decode()
    closed = browser.post(link, {"birth_date": "2004-03-02"})
    assert closed.status_code == 410 and "This link is closed" in closed.content.decode()
    assert browser.post(link, {"birth_date": BIRTH.isoformat()}).status_code == 410
    assert Client().get(link).status_code == 410


def test_an_unknown_or_expired_link_opens_nothing(link):
    assert Client().get("/check-in/not-a-link/").status_code == 404
    with clinic_clock(datetime(2026, 12, 2, 5, 1, tzinfo=UTC)):  # the visit's day over in New York
        page = Client().get(link)
    assert page.status_code == 410 and "expired" in page.content.decode()


def test_the_questions_need_the_birth_date_in_this_browser(link):
    opened(link)
    assert Client().get(link.rstrip("/") + "/questions/").status_code == 302


def test_missing_answers_are_named_and_nothing_is_sent(link):
    browser = opened(link)
    questions = link + "questions/"
    refused = browser.post(questions, {"phq1": "0"})
    assert refused.status_code == 422
    form = refused.context["form"]
    assert {"phq2", "symptom_dry_lips"} <= set(form.errors)
    assert CheckIn.objects.get().submitted_at is None


def test_answers_are_sent_once_and_change_no_record(link, course):
    browser = opened(link)
    questions = link + "questions/"
    sent = browser.post(
        questions,
        {"phq1": "1", "phq2": "0", **QUIET, "symptom_dry_lips": "moderate"}
        | {"methods": ["iud_copper"], "medicine_0": "ibuprofen"},
    )
    assert sent.status_code == 200 and "your answers were sent" in sent.content.decode()
    assert "988" in sent.content.decode() and 'data-testid="crisis"' not in sent.content.decode()
    stored = CheckIn.objects.get()
    assert stored.answers["symptoms"]["dry_lips"] == "moderate" and stored.answers["phq"] == [1, 0]
    assert not course.patient.other_medications.exists()
    again = browser.get(link)
    assert again.status_code == 410 and "already sent" in again.content.decode()


def test_thoughts_of_self_harm_show_988_put_the_course_first_and_notify_the_prescriber(
    link, course, prescriber, smtp_server
):
    other = register_patient(
        actor=prescriber,
        mrn="CI-2",
        given_name="Synthetic",
        family_name="Other",
        birth_date=date(2001, 5, 5),
        category="cannot_get_pregnant",
    )
    second = start_course(
        actor=prescriber,
        patient=other,
        prescriber=prescriber,
        start=date(2026, 11, 1),
        mg_per_day=Decimal(40),
        product="conventional",
    )
    record_ipledge_entry(actor=prescriber, course=second, kind="enrollment", day=date(2026, 10, 20))
    record_dispense(actor=prescriber, course=second, day=date(2026, 11, 1), days_supply=30)
    browser = opened(link)
    questions = link + "questions/"
    more = browser.post(questions, {"phq1": "2", "phq2": "2", **QUIET})
    assert more.status_code == 302  # the PHQ-2 of 4 calls for the PHQ-9's other seven
    page = browser.get(questions).content.decode()
    assert 'name="phq9"' in page and 'name="phq1"' not in page
    sent = browser.post(questions, {f"phq{n}": "1" for n in range(3, 10)})
    text = sent.content.decode()
    assert 'data-testid="crisis"' in text and 'href="tel:988"' in text
    assert CheckIn.objects.get().answers["phq"] == [2, 2, 1, 1, 1, 1, 1, 1, 1]
    line = worklist.worklist(prescriber, worklist.WorklistFilters()).lines[0]
    assert line.course_uuid == course.uuid and line.step_code == "ALERT_SELF_HARM_REPORTED"
    notice = ReminderOutbox.objects.get(audience=Audience.STAFF, event_kind="check_in_self_harm")
    assert notice.status == OutboxStatus.SENT, "sent at once, not at the next daily run"
    (message,) = [m for m in smtp_server.inbox.messages if m["To"] == prescriber.email]
    words = text_of(message)
    assert notice.recipient == prescriber.email and "needs a call" in words
    patient = course.patient
    for named in (
        patient.family_name,
        patient.given_name,
        patient.mrn,
        "self-harm",
        "phq",
        "mood",
        *FORBIDDEN,
    ):
        assert named.lower() not in words, named


def test_the_visit_form_shows_the_answers_beside_its_fields_and_the_review_records_them(link, course, nurse):
    browser = opened(link)
    browser.post(link + "questions/", {"phq1": "1", "phq2": "1", **QUIET, "symptom_dry_eyes": "mild"})
    staff = Client()
    staff.force_login(nurse)
    visit = staff.get(reverse("course_visit", kwargs={"course_id": course.uuid}))
    page = visit.content.decode()
    assert 'data-testid="check-in-pending"' in page and 'data-reported="mood"' in page
    assert "PHQ-2 score 2" in page and "dry or irritated eyes: mild" in page
    assert visit.context["form"]["mood_score"].value() in (None, ""), "beside the fields, never inside them"
    check_in = CheckIn.objects.get()
    review = reverse("check_in_review", kwargs={"check_in_id": check_in.uuid})
    shown = staff.get(review).content.decode()
    assert 'name="confirmed"' in shown and "checked" not in shown, "nothing confirmed beforehand"
    assert staff.post(review, {"confirmed": ["symptoms"]}).status_code == 302
    (effect,) = course.side_effects.all()
    assert (effect.term, effect.severity, effect.source) == ("dry or irritated eyes", "mild", "patient")
    assert not course.mood_screens.exists()
    again = staff.get(reverse("course_visit", kwargs={"course_id": course.uuid})).content.decode()
    assert 'data-testid="check-in-pending"' not in again


def test_with_no_prescriber_to_write_to_the_others_are_told_or_the_patient_asked_to_call(
    link, course, prescriber, smtp_server
):
    prescriber.email = ""
    prescriber.save(update_fields=["email"])
    other = make_staff(prescriber.practice, "second.doctor", Role.PRESCRIBER)
    other.email = "second@example.test"
    other.save(update_fields=["email"])
    browser = opened(link)
    browser.post(link + "questions/", {"phq1": "3", "phq2": "3", **QUIET})
    page = browser.post(link + "questions/", {f"phq{n}": "1" for n in range(3, 10)}).content.decode()
    assert "has been told and will call you today" in page
    assert [m["To"] for m in smtp_server.inbox.messages] == ["second@example.test"]
    sent = ReminderOutbox.objects.get()
    assert sent.status == OutboxStatus.SENT


def test_nobody_to_tell_asks_the_patient_to_call_the_clinic(link, course, prescriber):
    prescriber.email = ""
    prescriber.save(update_fields=["email"])
    browser = opened(link)
    browser.post(link + "questions/", {"phq1": "3", "phq2": "3", **QUIET})
    page = browser.post(link + "questions/", {f"phq{n}": "1" for n in range(3, 10)}).content.decode()
    assert 'href="tel:988"' in page and "Please also call" in page and "has been told" not in page


def test_the_first_pages_answers_wait_on_the_check_in_not_in_the_session(link):
    browser = opened(link)
    browser.post(link + "questions/", {"phq1": "3", "phq2": "3", **QUIET, "medicine_0": "retinol"})
    assert CheckIn.objects.get().draft["medicines"] == [["retinol", ""]]
    assert "retinol" not in str(dict(browser.session.items()))
    browser.post(link + "questions/", {f"phq{n}": "0" for n in range(3, 10)})
    assert CheckIn.objects.get().draft is None


def test_a_medicine_date_to_come_is_refused_beside_its_field(link):
    browser = opened(link)
    refused = browser.post(
        link + "questions/",
        {"phq1": "0", "phq2": "0", **QUIET, "medicine_0": "retinol", "medicine_0_start": "2027-01-05"},
    )
    assert refused.status_code == 422 and "medicine_0_start" in refused.context["form"].errors


def test_a_links_secret_is_taken_out_of_the_logs_and_of_a_sent_reminder():
    from isotrack.logs import RedactSecrets, redacted

    record = logging.LogRecord(
        "django.request", logging.WARNING, "", 0, "Gone: %s", ("/check-in/Abc_12-x/",), None
    )
    assert RedactSecrets().filter(record) and "Abc_12-x" not in record.getMessage()
    assert "secrets" in settings.LOGGING["handlers"]["console"]["filters"]
    assert (
        redacted("open https://x.test/check-in/Abc_12-x/ now")
        == "open https://x.test/check-in/[redacted]/ now"
    )


def _answered_with_corrections_to_make(link, course, nurse) -> tuple[Client, str]:
    browser = opened(link)
    browser.post(
        link + "questions/",
        {
            "phq1": "1",
            "phq2": "0",
            **QUIET,
            "symptom_dry_lips": "severe",
            "symptom_nosebleeds": "mild",
            "medicine_0": "doxycyclin 100",
            "medicine_0_start": "2026-11-25",
            "medicine_1": "fish oil",
        },
    )
    staff = Client()
    staff.force_login(nurse)
    check_in = CheckIn.objects.get()
    return staff, reverse("check_in_review", kwargs={"check_in_id": check_in.uuid})


def test_the_clinician_corrects_an_answer_before_it_is_recorded_and_the_audit_keeps_both(link, course, nurse):
    from isotrack.audit.events import EventCode
    from isotrack.audit.models import AuditEvent

    staff, review = _answered_with_corrections_to_make(link, course, nurse)
    form = staff.get(review).context["form"]
    assert all(form[name].value() in (None, "", False) for name in form.fields), "no correction beforehand"
    saved = staff.post(
        review,
        {
            "confirmed": ["symptoms", "medicines", "mood"],
            "symptom_0_severity": "moderate",  # dry lips: severe as reported, moderate as examined
            "medicine_0_name": "Doxycycline",
            "medicine_1_leave_out": "on",  # not a medicine the patient takes after all
        },
    )
    assert saved.status_code == 302
    effects = {e.term: (e.severity, e.source) for e in course.side_effects.all()}
    assert effects == {"dry or cracked lips": ("moderate", "clinic"), "nosebleeds": ("mild", "patient")}
    (medicine,) = course.patient.other_medications.all()
    assert (medicine.name, medicine.medication_class, medicine.start, medicine.source) == (
        "Doxycycline",
        "tetracycline",
        date(2026, 11, 25),
        "clinic",
    )
    (screen,) = course.mood_screens.all()
    assert (screen.score, screen.source) == (1, "patient")
    event = AuditEvent.objects.get(action=EventCode.CHECK_IN_REVIEW)
    corrected = {
        (c["group"], c["reported"].get("term") or c["reported"].get("name")): c
        for c in event.after["corrected"]
    }
    assert corrected[("symptoms", "dry or cracked lips")]["recorded"]["severity"] == "moderate"
    assert corrected[("symptoms", "dry or cracked lips")]["reported"]["severity"] == "severe"
    assert corrected[("medicines", "doxycyclin 100")]["recorded"]["name"] == "Doxycycline"
    assert corrected[("medicines", "fish oil")]["recorded"] is None


@pytest.mark.parametrize(
    ("posted", "field"),
    [
        ({"confirmed": ["mood"], "symptom_0_severity": "mild"}, "symptom_0_severity"),
        ({"confirmed": ["symptoms"], "symptom_0_severity": "unbearable"}, "symptom_0_severity"),
        (
            {"confirmed": ["symptoms"], "symptom_1_severity": "mild", "symptom_1_leave_out": "on"},
            "symptom_1_leave_out",
        ),
        ({"confirmed": ["medicines"], "medicine_0_start": "2027-02-01"}, "medicine_0_start"),
        ({"confirmed": ["medicines"], "medicine_0_start": "1999-02-01"}, "medicine_0_start"),
        ({"confirmed": ["mood"], "mood_score": "7"}, "mood_score"),
    ],
)
def test_a_wrong_correction_is_refused_beside_its_field_and_nothing_recorded(
    link, course, nurse, posted, field
):
    staff, review = _answered_with_corrections_to_make(link, course, nurse)
    refused = staff.post(review, posted)
    assert refused.status_code == 422
    assert field in refused.context["form"].errors, refused.context["form"].errors
    assert f'id="id_{field}-error"' in refused.content.decode()
    assert not course.side_effects.exists() and not course.patient.other_medications.exists()
    assert not course.mood_screens.exists() and CheckIn.objects.get().reviewed_at is None


def _self_harm_reported(link) -> None:
    browser = opened(link)
    browser.post(link + "questions/", {"phq1": "2", "phq2": "2", **QUIET})
    browser.post(link + "questions/", {f"phq{n}": "1" for n in range(3, 10)})  # item 9: 1


@pytest.mark.parametrize("correction", [{"mood_item9": "0", "mood_score": "0"}, {"mood_score": "12"}])
def test_a_corrected_self_harm_report_stays_open_until_a_prescriber_acknowledges_it(
    link, course, nurse, prescriber, correction
):
    _self_harm_reported(link)
    staff = Client()
    staff.force_login(nurse)
    review = reverse("check_in_review", kwargs={"check_in_id": CheckIn.objects.get().uuid})
    assert "stays open until a prescriber acknowledges it" in staff.get(review).content.decode()
    assert staff.post(review, {"confirmed": ["mood"], **correction}).status_code == 302
    (screen,) = course.mood_screens.all()
    assert screen.source == "clinic"
    line = worklist.worklist(prescriber, worklist.WorklistFilters()).lines[0]
    assert (
        line.course_uuid == course.uuid
    )  # first: the report, or (item 9 still above 0) the engine's risk too
    assert "SELF_HARM_REPORTED" in {alert.code for alert in line.open_alerts}
    assert CheckIn.objects.get().mood_confirmed is False


def test_a_self_harm_report_confirmed_as_reported_becomes_the_engines_self_harm_risk(
    link, course, nurse, prescriber
):
    _self_harm_reported(link)
    staff = Client()
    staff.force_login(nurse)
    review = reverse("check_in_review", kwargs={"check_in_id": CheckIn.objects.get().uuid})
    assert staff.post(review, {"confirmed": ["mood"]}).status_code == 302
    line = worklist.worklist(prescriber, worklist.WorklistFilters()).lines[0]
    assert line.course_uuid == course.uuid and line.step_code == "ALERT_SELF_HARM_RISK"


def test_a_phq9_score_below_its_item_9_is_refused_beside_the_field(link, course, nurse):
    _self_harm_reported(link)
    staff = Client()
    staff.force_login(nurse)
    review = reverse("check_in_review", kwargs={"check_in_id": CheckIn.objects.get().uuid})
    refused = staff.post(review, {"confirmed": ["mood"], "mood_score": "0"})  # item 9 stays 1
    assert refused.status_code == 422
    assert "cannot be below its item 9" in refused.content.decode()
    assert 'id="id_mood_item9-error"' in refused.content.decode()
    assert not course.mood_screens.exists() and CheckIn.objects.get().reviewed_at is None
