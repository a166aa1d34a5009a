"""The patient's check-in (issue 17, items 2 and 3), below the pages: one link per visit kept as a hash,
opened by the birth date (five wrong ones lock it), expiring with the visit's day, answered once; what the
patient reports counts for nothing in the engine until a clinician confirms it, but a report of thoughts of
self-harm puts the course first on the worklist at once. Synthetic data only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic import worklist
from isotrack.clinic.actions.alerts import acknowledge_alert
from isotrack.clinic.actions.check_ins import (
    CHECK_IN_TRIES,
    SYMPTOMS,
    CheckInAnswers,
    Medicine,
    check_in_of,
    issue_check_in,
    open_check_in,
    pending_check_in,
    review_check_in,
    state_of,
    submit_check_in,
    token_hash,
)
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.errors import InvalidInput, NotPermitted
from isotrack.clinic.models import CheckIn, MoodScreen, ReportSource
from isotrack.clinic.records import course_facts
from isotrack.demo.generator import MAIN_SITUATIONS, build_demo
from tests.conftest import TODAY, clinic_clock

pytestmark = pytest.mark.django_db

VISIT = TODAY + timedelta(days=2)
QUIET = dict.fromkeys(SYMPTOMS, "none")


def answers(*phq: int, **changes: object) -> CheckInAnswers:
    values: dict[str, object] = {"phq": phq, "symptoms": QUIET} | changes
    return CheckInAnswers(**values)  # type: ignore[arg-type]


@pytest.fixture
def check_in(course):
    issued = issue_check_in(course=course, visit_date=VISIT)
    assert issued is not None
    return issued


def test_a_visit_has_one_link_whose_secret_is_not_kept(course, check_in):
    assert check_in.check_in.token_hash == token_hash(check_in.secret) != check_in.secret
    assert check_in.secret not in str(CheckIn.objects.values_list().get())
    again = issue_check_in(course=course, visit_date=VISIT)
    assert again == check_in and CheckIn.objects.count() == 1, "one check-in per visit, its link the same"
    assert issue_check_in(course=course, visit_date=VISIT + timedelta(days=1)).secret != check_in.secret
    assert check_in_of(check_in.secret) == check_in.check_in
    assert check_in_of("not a link") is None and check_in_of("") is None


def test_the_birth_date_opens_it_and_five_wrong_dates_lock_it(patient, check_in):
    item = check_in.check_in
    assert open_check_in(check_in=item, birth_date=patient.birth_date) == "open"
    for n in range(1, CHECK_IN_TRIES):
        assert open_check_in(check_in=item, birth_date=date(2000, 1, n)) == "wrong"
    assert open_check_in(check_in=item, birth_date=date(2000, 2, 1)) == "locked"
    assert open_check_in(check_in=item, birth_date=patient.birth_date) == "locked", "locked for good"
    with pytest.raises(InvalidInput):
        submit_check_in(check_in=item, answers=answers(0, 0))


def test_it_expires_at_the_end_of_the_visits_day_in_the_practices_zone(patient, check_in):
    item = check_in.check_in
    assert item.expires_at == datetime(2026, 12, 4, 5, tzinfo=UTC)  # midnight in New York
    assert state_of(item, datetime(2026, 12, 4, 4, 59, tzinfo=UTC)) == "open"
    assert state_of(item, datetime(2026, 12, 4, 5, tzinfo=UTC)) == "expired"
    CheckIn.objects.filter(pk=item.pk).update(expires_at=datetime(2026, 1, 1, tzinfo=UTC))
    item.refresh_from_db()
    assert open_check_in(check_in=item, birth_date=patient.birth_date) == "expired"
    with pytest.raises(InvalidInput):
        submit_check_in(check_in=item, answers=answers(0, 0))


def test_it_is_answered_once(check_in):
    submit_check_in(check_in=check_in.check_in, answers=answers(1, 0))
    assert state_of(CheckIn.objects.get()) == "answered"
    with pytest.raises(InvalidInput):
        submit_check_in(check_in=check_in.check_in, answers=answers(0, 0))


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (answers(2, 2), "phq"),  # PHQ-2 of 4 calls for the PHQ-9
        (answers(0, 1, 0, 0, 0, 0, 0, 0, 0), "phq"),  # a PHQ-9 not called for
        (answers(0, 4), "phq"),
        (answers(0, 0, symptoms={"dry_lips": "mild"}), "symptoms"),
        (answers(0, 0, symptoms=QUIET | {"dry_lips": "awful"}), "symptoms"),
        (answers(0, 0, methods=("prayer",)), "methods"),
        (answers(0, 0, missed_pills=40), "missed_pills"),
        (answers(0, 0, medicines=(Medicine(" "),)), "medicines"),
    ],
)
def test_wrong_answers_are_refused_naming_them_and_nothing_is_kept(check_in, given, field):
    with pytest.raises(InvalidInput) as refused:
        submit_check_in(check_in=check_in.check_in, answers=given)
    assert refused.value.field == field
    assert CheckIn.objects.get().submitted_at is None


def test_nothing_reported_counts_in_the_engine_until_confirmed(course, check_in):
    before = core.evaluate(course_facts(course), TODAY).to_dict()
    submit_check_in(
        check_in=check_in.check_in,
        answers=answers(
            3,
            3,
            2,
            2,
            1,
            1,
            0,
            0,
            0,
            symptoms=QUIET | {"dry_lips": "severe", "headache_vision": "moderate"},
            methods=("combined_pill",),
            missed_pills=3,
            medicines=(Medicine("doxycycline", date(2026, 11, 20)),),
        ),
    )
    stored = CheckIn.objects.get()
    assert stored.answers["medicines"] == [{"name": "doxycycline", "start": "2026-11-20"}]
    assert not stored.self_harm_reported
    assert course_facts(course).medications == () and course_facts(course).reported_self_harm == ()
    assert core.evaluate(course_facts(course), TODAY).to_dict() == before


def make_course(prescriber, n: int):
    patient = register_patient(
        actor=prescriber,
        mrn=f"CI-{n}",
        given_name="Synthetic",
        family_name=f"Checkin{n}",
        birth_date=date(2000, 1, 1 + n),
        category="cannot_get_pregnant",
    )
    course = start_course(
        actor=prescriber, patient=patient, prescriber=prescriber, start=date(2026, 11, 1),
        mg_per_day=Decimal(40), product="conventional",
    )  # fmt: skip
    record_ipledge_entry(actor=prescriber, course=course, kind="enrollment", day=date(2026, 10, 20))
    record_dispense(actor=prescriber, course=course, day=date(2026, 11, 1), days_supply=30)
    return course


def test_a_report_of_self_harm_puts_the_course_first_on_the_worklist_at_once(prescriber):
    courses = [make_course(prescriber, n) for n in range(3)]
    filters = worklist.WorklistFilters()
    first = worklist.worklist(prescriber, filters, TODAY).lines[0].course_uuid
    last = next(c for c in courses if c.uuid != first)
    issued = issue_check_in(course=last, visit_date=VISIT)
    assert issued is not None
    submit_check_in(check_in=issued.check_in, answers=answers(3, 3, 1, 1, 1, 1, 1, 1, 2))
    stored = CheckIn.objects.get()
    assert stored.self_harm_reported and stored.reported_on == TODAY
    line = worklist.worklist(prescriber, filters, TODAY).lines[0]
    assert line.course_uuid == last.uuid
    assert line.step_code == "ALERT_SELF_HARM_REPORTED" and line.tier == 0
    assert course_facts(last).reported_self_harm == (TODAY,)
    assert not any(e.kind == "mood_screen" for e in course_facts(last).events), "a report is no mood screen"
    with clinic_clock(datetime(2026, 12, 10, 15, tzinfo=UTC)):  # the visit's day has passed: still first
        assert worklist.worklist(prescriber, filters).lines[0].course_uuid == last.uuid


def test_a_confirmed_answer_is_a_record_with_the_patient_as_its_source(course, prescriber, nurse, check_in):
    submit_check_in(
        check_in=check_in.check_in,
        answers=answers(
            3, 3, 1, 1, 1, 1, 0, 0, 1,
            symptoms=QUIET | {"dry_lips": "moderate"},
            medicines=(Medicine("doxycycline", date(2026, 11, 20)),),
        ),
    )  # fmt: skip
    assert course_facts(course).reported_self_harm == (TODAY,)
    assert pending_check_in(course, TODAY) == check_in.check_in
    review_check_in(actor=nurse, check_in=check_in.check_in, confirmed={"mood", "medicines"})
    screen = MoodScreen.objects.get(course=course)
    assert (screen.instrument, screen.score, screen.item9, screen.source) == ("phq9", 11, 1, "patient")
    assert screen.recorded_by == nurse and screen.date == TODAY
    row = AuditEvent.objects.get(action=EventCode.MOOD_SCREEN_RECORD, object_uuid=screen.uuid)
    assert row.after["source"] == ReportSource.PATIENT and row.actor == nurse
    (medicine,) = course.patient.other_medications.all()
    assert (medicine.name, medicine.medication_class, medicine.source) == (
        "doxycycline",
        "tetracycline",
        "patient",
    )
    assert not course.side_effects.exists(), "the side effects were not confirmed: still only a report"
    review = AuditEvent.objects.get(action=EventCode.CHECK_IN_REVIEW)
    assert (
        review.after["confirmed"] == ["medicines", "mood"]
        and review.reason == "reported by the patient at check-in"
    )
    found = course_facts(course)
    assert found.reported_self_harm == (), "reviewed: the report is a record now"
    codes = {a.code for a in core.evaluate(found, TODAY).alerts}
    assert {"SELF_HARM_RISK", "TETRACYCLINE_IN_USE"} <= codes and "SELF_HARM_REPORTED" not in codes
    assert pending_check_in(course, TODAY) is None
    with pytest.raises(InvalidInput):
        review_check_in(actor=nurse, check_in=check_in.check_in, confirmed={"symptoms"})


def test_unreviewed_answers_leave_the_visit_form_when_the_visit_has_passed(course, check_in, front_desk):
    submit_check_in(check_in=check_in.check_in, answers=answers(0, 1))
    assert pending_check_in(course, VISIT) == check_in.check_in
    assert pending_check_in(course, VISIT + timedelta(days=1)) is None
    assert CheckIn.objects.get().answers["phq"] == [0, 1], "kept"
    with pytest.raises(NotPermitted):
        review_check_in(actor=front_desk, check_in=check_in.check_in, confirmed={"mood"})


def test_one_patient_answered_the_check_in_and_nothing_is_recorded_from_it():
    """Issue 17: the demo shows a check-in awaiting a clinician's review; its answers are no records."""
    demo = build_demo(patients=len(MAIN_SITUATIONS), seed=1)  # for the clinic's today: its link still open
    (check_in,) = CheckIn.objects.all()
    (course,) = demo.courses["treatment_month_3"][:1]
    assert check_in.course == course and check_in.visit_date == TODAY + timedelta(days=3)
    assert check_in.submitted_at is not None and check_in.reviewed_at is None
    assert not check_in.self_harm_reported
    assert check_in.answers["medicines"][0]["name"] == "St John's wort"
    assert not course.patient.other_medications.exists(), "reported, not recorded"


def test_a_self_harm_report_reviewed_without_its_mood_answers_stays_until_acknowledged(
    course, prescriber, nurse, check_in
):
    submit_check_in(check_in=check_in.check_in, answers=answers(3, 3, 1, 1, 1, 1, 1, 1, 3))
    review_check_in(actor=nurse, check_in=check_in.check_in, confirmed=set())
    assert not MoodScreen.objects.exists()
    assert course_facts(course).reported_self_harm == (TODAY,), "not confirmed: still the patient's report"
    step = core.next_step(course_facts(course), TODAY).step
    assert step is not None and step.code == "ALERT_SELF_HARM_REPORTED"
    acknowledge_alert(
        actor=prescriber,
        course=course,
        code="SELF_HARM_REPORTED",
        alert_date=TODAY,
        reason="called: answered by mistake, PHQ-9 done at the visit",
        day=TODAY,
    )
    found = core.next_step(course_facts(course), TODAY)
    assert found.step is None or found.step.code != "ALERT_SELF_HARM_REPORTED"


def test_a_medicine_first_taken_after_today_or_before_birth_is_refused(check_in, patient):
    for start in (TODAY + timedelta(days=1), date(1990, 1, 1)):
        with pytest.raises(InvalidInput) as refused:
            submit_check_in(
                check_in=check_in.check_in, answers=answers(0, 0, medicines=(Medicine("retinol", start),))
            )
        assert refused.value.field == "medicines"
    assert CheckIn.objects.get().submitted_at is None
