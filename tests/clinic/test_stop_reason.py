"""Why a course was stopped (issue 16): ``end_course`` asks a stopped course for one of the core's reasons and
refuses one for a course that ends as planned; the reason is saved and audited, a positive test's follow-up
gives its own, an import records only the stop a course file can show, and the quality report counts it."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.alerts import record_pregnancy_follow_up
from isotrack.clinic.actions.base import validate
from isotrack.clinic.actions.courses import end_course
from isotrack.clinic.actions.ipledge import record_dispense
from isotrack.clinic.actions.observations import record_pregnancy_test
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.errors import InvalidInput, NotPermitted
from isotrack.clinic.imports.courses import import_course
from isotrack.clinic.models import Course, CourseStatus, StopReason

END = date(2026, 9, 30)


def test_the_reasons_are_the_cores_codes_in_its_order():
    assert tuple(StopReason.values) == core.STOP_REASONS
    assert all(label and label[0].isupper() for label in StopReason.labels)


def test_a_course_that_ends_as_planned_is_completed_with_no_reason(prescriber, course):
    ended = end_course(actor=prescriber, course=course, end=END, reason="course completed")
    assert (ended.status, ended.end, ended.stop_reason) == (CourseStatus.COMPLETED, END, "")
    event = AuditEvent.objects.get(action=EventCode.COURSE_END)
    assert event.after == {"end": "2026-09-30", "status": "completed"}  # the values that changed
    assert event.reason == "course completed"


def test_a_stopped_course_keeps_its_reason_and_the_audit_row_says_it(prescriber, course):
    stopped = end_course(
        actor=prescriber, course=course, end=END, reason="peeling, asked to stop", stopped=True,
        stop_reason="side_effects",
    )  # fmt: skip
    course.refresh_from_db()
    assert (course.status, course.end, course.stop_reason) == (CourseStatus.REVOKED, END, "side_effects")
    assert stopped.get_stop_reason_display() == "Side effects"
    event = AuditEvent.objects.get(action=EventCode.COURSE_STOP)
    assert (event.before["stop_reason"], event.after["stop_reason"]) == ("", "side_effects")
    assert event.reason == "peeling, asked to stop" and event.actor == prescriber


@pytest.mark.parametrize(
    ("stopped", "stop_reason", "words"),
    [
        (True, "", "Choose why the course is stopped: positive_test (positive pregnancy test), side_effects"),
        (True, "bored", "bored is not a reason for stopping a course; choose one of positive_test"),
        (True, "Side effects", "Side effects is not a reason for stopping a course"),
        (True, "not_recorded", "not_recorded is not a reason"),  # the core's word for none, never recorded
        (True, "side_effects\x00", "'side_effects\\x00' is not a reason"),
        (False, "side_effects", "A course that ends as planned has no reason for stopping"),
    ],
)
def test_a_missing_unknown_or_unasked_reason_is_refused_and_nothing_is_saved(
    prescriber, course, stopped, stop_reason, words
):
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as error:
        end_course(actor=prescriber, course=course, end=END, stopped=stopped, stop_reason=stop_reason)
    assert error.value.field == "stop_reason"
    assert words in error.value.message
    assert "\n" not in error.value.message
    course.refresh_from_db()
    assert (course.status, course.end, course.stop_reason) == (CourseStatus.DRAFT, None, "")
    assert AuditEvent.objects.count() == audit_rows


def test_only_a_prescriber_ends_or_stops_a_course(nurse, front_desk, course):
    for user in (nurse, front_desk):
        with pytest.raises(NotPermitted):
            end_course(actor=user, course=course, end=END, stopped=True, stop_reason="patient_choice")
    course.refresh_from_db()
    assert course.end is None and course.stop_reason == ""


def test_ending_a_stopped_course_as_completed_drops_its_reason(prescriber, course):
    end_course(actor=prescriber, course=course, end=END, stopped=True, stop_reason="lost_to_follow_up")
    ended = end_course(actor=prescriber, course=course, end=END, reason="it was completed after all")
    assert (ended.status, ended.stop_reason) == (CourseStatus.COMPLETED, "")


def test_the_database_keeps_a_reason_only_on_a_stopped_course(prescriber, course):
    course.stop_reason = "side_effects"
    with pytest.raises(InvalidInput) as error:
        validate(course)
    assert error.value.field == "stop_reason"
    course.status = CourseStatus.REVOKED
    validate(course)


# --- a positive pregnancy test stops the course -------------------------------------------------------------


def _positive(nurse, course, day):
    return record_pregnancy_test(
        actor=nurse, course=course, purpose="monthly", setting="office", specimen_date=day, result="positive"
    )


def test_recording_that_the_drug_was_stopped_gives_the_positive_test_as_the_reason(prescriber, nurse, course):
    day = date(2026, 7, 20)
    _positive(nurse, course, day)
    record_pregnancy_follow_up(actor=prescriber, course=course, step="stop", day=day)
    course.refresh_from_db()
    assert (course.status, course.end, course.stop_reason) == (CourseStatus.REVOKED, day, "positive_test")


def test_a_course_stopped_before_its_first_dose_has_the_positive_test_as_its_reason(
    prescriber, nurse, course
):
    record_pregnancy_test(
        actor=nurse, course=course, purpose="screening", setting="office", specimen_date=date(2026, 5, 1),
        result="positive",
    )  # fmt: skip
    record_pregnancy_follow_up(actor=prescriber, course=course, step="stop", day=date(2026, 5, 1))
    course.refresh_from_db()
    assert (course.status, course.end, course.stop_reason) == (CourseStatus.REVOKED, None, "positive_test")
    assert AuditEvent.objects.filter(action=EventCode.COURSE_STOP).latest("id").after["stop_reason"] == (
        "positive_test"
    )


# --- an import ----------------------------------------------------------------------------------------------


def _course_file(end: str, *, positive_on: str | None = None) -> core.CourseFile:
    events: list[dict] = [
        {"type": "enrollment", "date": "2026-04-01"},
        {"type": "pregnancy_test", "date": "2026-04-02", "purpose": "screening", "setting": "office",
         "result": "negative"},
        {"type": "pregnancy_test", "date": "2026-05-28", "purpose": "confirmation", "setting": "lab",
         "result": "negative"},
        {"type": "prescriber_confirmation", "date": "2026-05-28"},
        {"type": "patient_attestation", "date": "2026-05-29"},
        {"type": "dispense", "date": "2026-05-30", "days_supply": 30},
    ]  # fmt: skip
    if positive_on:
        events.append(
            {"type": "pregnancy_test", "date": positive_on, "purpose": "monthly", "setting": "office",
             "result": "positive"}
        )  # fmt: skip
    return core.parse_course_file(
        {
            "rules": "auto",
            "patient": {"category": "can_get_pregnant", "birth_date": "2004-03-01"},
            "course": {"start": "2026-06-01", "end": end, "stop_reason": "side_effects"},  # an unknown key
            "weights": [{"date": "2026-05-20", "kg": 62.0}],
            "contraception": [
                {"method": "iud_copper", "from": "2026-03-01"},
                {"method": "male_condom", "from": "2026-03-01"},
            ],
            "doses": [{"from": "2026-06-01", "mg_per_day": 40, "product": "conventional"}],
            "events": events,
        }
    )


def _twin(prescriber, mrn):
    return register_patient(
        actor=prescriber, mrn=mrn, given_name="Import", family_name="Twin", birth_date=date(2004, 3, 1),
        category="can_get_pregnant",
    )  # fmt: skip


def test_an_imported_course_a_positive_test_stopped_is_stopped_for_that_reason(prescriber):
    course_file = _course_file("2026-06-27", positive_on="2026-06-27")
    course = import_course(actor=prescriber, patient=_twin(prescriber, "IMP-1"), course_file=course_file)
    course.refresh_from_db()
    assert (course.status, course.stop_reason) == (CourseStatus.REVOKED, "positive_test")


def test_an_imported_course_with_an_end_and_no_positive_test_is_completed_with_no_reason_invented(prescriber):
    course = import_course(
        actor=prescriber, patient=_twin(prescriber, "IMP-2"), course_file=_course_file("2026-06-27")
    )
    course.refresh_from_db()
    assert (course.status, course.stop_reason) == (CourseStatus.COMPLETED, "")
    # a positive test after the last day of dosing (a post-course test) did not stop the course
    later = _course_file("2026-06-27", positive_on="2026-07-20")
    course = import_course(actor=prescriber, patient=_twin(prescriber, "IMP-3"), course_file=later)
    course.refresh_from_db()
    assert (course.status, course.stop_reason) == (CourseStatus.COMPLETED, "")


# --- the quality report counts them -------------------------------------------------------------------------


def test_the_report_counts_stopped_courses_by_their_recorded_reason(prescriber, nurse, patient, course):
    record_dispense(actor=nurse, course=course, day=date(2026, 5, 30), days_supply=30, mg_per_day=Decimal(40))
    end_course(actor=prescriber, course=course, end=END, stopped=True, stop_reason="patient_choice")
    out = io.StringIO()
    call_command("report", "--month", "2026-09", "--practice", str(patient.practice.uuid), stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    practice = {
        row["measure"]: row["value"]
        for row in rows
        if row["group"] == "practice" and row.get("split", "practice") == "practice"
    }
    assert practice["courses.stopped"] == "1"
    assert practice["courses.stop_reasons.patient_choice"] == "1"
    assert Course.objects.get(pk=course.pk).stop_reason == "patient_choice"


def test_a_course_a_positive_test_stopped_ends_only_by_its_follow_up(prescriber, course):
    """Once a positive test stopped the course in the engine, neither another reason nor a completion may be
    recorded over it (the follow-up's stop would then do nothing and the course keep the wrong reason); the
    test's own stop, as the follow-up records it, is the one way."""
    record_dispense(actor=prescriber, course=course, day=date(2026, 6, 1), days_supply=30)
    record_pregnancy_test(
        actor=prescriber,
        course=course,
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 6, 25),
        result="positive",
    )
    for stopped, reason in ((True, "side_effects"), (False, "")):
        with pytest.raises(InvalidInput, match="A positive pregnancy test stopped this course"):
            end_course(
                actor=prescriber, course=course, end=date(2026, 6, 25), stopped=stopped, stop_reason=reason
            )
    course.refresh_from_db()
    assert (course.status, course.end, course.stop_reason) == (CourseStatus.ACTIVE, None, "")
    ended = end_course(
        actor=prescriber, course=course, end=date(2026, 6, 25), stopped=True, stop_reason="positive_test"
    )
    assert (ended.status, ended.stop_reason) == (CourseStatus.REVOKED, "positive_test")
