"""Why a dose changed (issue 16): ``change_dose`` asks for one of the core's codes and refuses none or an
unknown one, saving nothing; the free-text note is the prescriber's own, needed only with "other"; the code
reaches the core's facts (blank: none recorded), a correction carries it over, an import takes the file's or
leaves it blank, and the quality report counts the reductions for side effects."""

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
from isotrack.clinic.actions import corrections
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.imports.courses import import_course
from isotrack.clinic.models import DoseChangeReason, DoseSegment
from isotrack.clinic.quality import label_of
from isotrack.clinic.records import course_facts

JULY = date(2026, 7, 1)


def lowered(prescriber, course, **changes):
    values = {
        "actor": prescriber,
        "course": course,
        "starts_on": JULY,
        "mg_per_day": Decimal(30),
        "product": "conventional",
        "change_reason": "side_effects",
        "reason": "dry lips",
    } | changes
    return change_dose(**values)


def test_the_reasons_are_the_cores_codes_in_its_order_and_words():
    assert tuple(DoseChangeReason.values) == tuple(core.DOSE_CHANGE_REASONS)
    assert [label.lower() for label in DoseChangeReason.labels] == list(core.DOSE_CHANGE_REASONS.values())
    assert all(label[0].isupper() for label in DoseChangeReason.labels)


def test_a_dose_change_keeps_its_code_and_note_and_the_audit_row_both(prescriber, course):
    segment = lowered(prescriber, course)
    segment.refresh_from_db()
    assert (segment.change_reason, segment.reason) == ("side_effects", "dry lips")
    assert segment.get_change_reason_display() == "Side effects"
    event = AuditEvent.objects.get(action=EventCode.DOSE_CHANGE)
    assert (event.after["change_reason"], event.after["reason"], event.reason) == (
        "side_effects",
        "dry lips",
        "Side effects; dry lips",  # the audit list shows the reason: the code's words, then the note
    )


def test_the_note_is_optional_but_for_another_reason(prescriber, course):
    assert lowered(prescriber, course, change_reason="planned", reason="").reason == ""
    with pytest.raises(InvalidInput) as error:
        lowered(prescriber, course, starts_on=date(2026, 8, 1), change_reason="other", reason="  ")
    assert error.value.field == "reason" and "other reason" in error.value.message
    lowered(prescriber, course, starts_on=date(2026, 8, 1), change_reason="other", reason="patient asked")
    assert DoseSegment.objects.filter(course=course).count() == 3


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("", "Choose why the dose changes: side_effects (side effects), lab_result (an abnormal lab result)"),
        ("dry lips", "dry lips is not a reason for a dose change; choose one of side_effects (side effects)"),
        ("SIDE_EFFECTS", "SIDE_EFFECTS is not a reason for a dose change"),
        ("planned\n", "'planned\\n' is not a reason for a dose change"),
    ],
)
def test_a_missing_or_unknown_code_is_refused_in_words_and_nothing_is_saved(prescriber, course, code, words):
    with pytest.raises(InvalidInput) as error:
        lowered(prescriber, course, change_reason=code)
    assert error.value.field == "change_reason"
    assert error.value.message.startswith(words)
    assert DoseSegment.objects.filter(course=course).count() == 1  # the first dose only
    assert not AuditEvent.objects.filter(action=EventCode.DOSE_CHANGE).exists()


def test_the_core_facts_carry_the_code_and_none_where_none_was_recorded(prescriber, course):
    lowered(prescriber, course)
    first, change = course_facts(course).doses
    assert (first.reason, change.reason) == (None, "side_effects")  # the first dose has none
    DoseSegment.objects.filter(pk=course.dose_segments.get(starts_on=JULY).pk).update(change_reason="")
    assert course_facts(course).doses[1].reason is None  # a row from before codes were recorded


def test_a_correction_carries_the_code_over_or_changes_it_but_never_erases_it(prescriber, course):
    kind = corrections.kind_of("dose")
    segment = lowered(prescriber, course)
    kept = corrections.correct_record(
        actor=prescriber, kind=kind, item=segment, values={"mg_per_day": Decimal(20)}, reason="typo"
    )
    assert (kept.mg_per_day, kept.change_reason, kept.reason) == (Decimal(20), "side_effects", "dry lips")
    changed = corrections.correct_record(
        actor=prescriber, kind=kind, item=kept, values={"change_reason": "lab_result"}, reason="wrong one"
    )
    assert changed.change_reason == "lab_result"
    event = AuditEvent.objects.filter(action=EventCode.correct("dose")).latest("id")
    assert (event.before["change_reason"], event.after["change_reason"]) == ("side_effects", "lab_result")
    with pytest.raises(InvalidInput) as error:
        corrections.correct_record(
            actor=prescriber, kind=kind, item=changed, values={"change_reason": ""}, reason="clear it"
        )
    assert error.value.field == "change_reason"
    changed.refresh_from_db()
    assert not changed.voided and changed.change_reason == "lab_result"


def test_a_correction_of_a_dose_with_no_code_keeps_none(prescriber, course):
    first = course.dose_segments.get()  # the course's first dose: no reason for a change
    kind = corrections.kind_of("dose")
    replacement = corrections.correct_record(
        actor=prescriber, kind=kind, item=first, values={"mg_per_day": Decimal(30)}, reason="typo"
    )
    assert (replacement.mg_per_day, replacement.change_reason) == (Decimal(30), "")
    with pytest.raises(InvalidInput) as error:
        corrections.correct_record(
            actor=prescriber, kind=kind, item=replacement, values={"change_reason": "planned"}, reason="why"
        )
    assert error.value.field == "change_reason" and "first dose" in str(error.value)
    replacement.refresh_from_db()
    assert not replacement.voided and replacement.change_reason == ""


def _course_file(*later_doses: dict[str, object]) -> core.CourseFile:
    return core.parse_course_file(
        {
            "patient": {"category": "cannot_get_pregnant", "birth_date": "2004-03-01"},
            "course": {"start": "2026-06-01"},
            "weights": [{"date": "2026-05-20", "kg": 62.0}],
            "doses": [
                {"from": "2026-06-01", "mg_per_day": 40, "product": "conventional", "reason": "planned"},
                *later_doses,
            ],
            "events": [{"type": "enrollment", "date": "2026-05-01"}],
        }
    )


def test_an_import_takes_the_files_code_and_leaves_none_blank(prescriber):
    patient = register_patient(
        actor=prescriber, mrn="IMP-DOSE", given_name="Import", family_name="Twin",
        birth_date=date(2004, 3, 1), category="cannot_get_pregnant",
    )  # fmt: skip
    course_file = _course_file(
        {"from": "2026-07-01", "mg_per_day": 60, "product": "conventional", "reason": "planned"},
        {"from": "2026-08-01", "mg_per_day": 40, "product": "conventional", "reason": "lab_result"},
        {"from": "2026-09-01", "mg_per_day": 30, "product": "conventional"},
    )
    course = import_course(actor=prescriber, patient=patient, course_file=course_file)
    stored = list(course.dose_segments.order_by("starts_on").values_list("change_reason", "reason"))
    assert stored == [
        ("", "starting dose"),  # the course's first dose has no reason for a change, whatever the file says
        ("planned", "imported from a course file"),
        ("lab_result", "imported from a course file"),
        ("", "imported from a course file"),  # none in the file: none recorded
    ]
    assert [s.reason for s in course_facts(course).doses] == [None, "planned", "lab_result", None]
    # the quality report: two reductions, one for an abnormal lab result, one with no reason recorded
    dosing = core.measures([course_facts(course)], date(2026, 6, 1), date(2026, 11, 30)).dosing
    assert (dosing.reductions, dosing.reductions_for_side_effects) == (2, 1)
    assert dosing.reduction_reasons == (("lab_result", 1), ("not_recorded", 1))


def test_the_report_counts_the_reductions_for_side_effects_by_their_recorded_reason(
    prescriber, patient, course
):
    lowered(prescriber, course)  # 40 to 30 mg/day on 1 July, for side effects
    lowered(prescriber, course, starts_on=date(2026, 7, 20), mg_per_day=Decimal(20), change_reason="other",
            reason="travel")  # fmt: skip
    lowered(prescriber, course, starts_on=date(2026, 7, 25), mg_per_day=Decimal(40), change_reason="planned")
    out = io.StringIO()
    call_command("report", "--month", "2026-07", "--practice", str(patient.practice.uuid), stdout=out)
    practice = {
        row["measure"]: row["value"]
        for row in csv.DictReader(io.StringIO(out.getvalue()))
        if row["group"] == "practice" and row.get("split", "practice") == "practice"
    }
    assert practice["dosing.reductions"] == "2"  # the rise of 25 July is none
    assert practice["dosing.reductions_for_side_effects"] == "1"
    assert practice["dosing.reduction_reasons.side_effects"] == "1"
    assert practice["dosing.reduction_reasons.other"] == "1"
    assert "dosing.reduction_reasons.planned" not in practice
    assert label_of("dosing.reduction_reasons.lab_result") == "an abnormal lab result"
    assert (
        label_of("dosing.reductions_for_side_effects") == "Dose reductions for side effects or a lab result"
    )
