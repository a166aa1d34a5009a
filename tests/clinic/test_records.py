"""Course files in and out of the database: exporting a course, evaluating the export, evaluating the stored
course and evaluating a re-import of the export all give the same answer, on every demo course."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.imports.courses import import_course
from isotrack.clinic.models import Course, StaffUser
from isotrack.clinic.records import courses_with_facts, evaluate_course
from isotrack.demo.generator import build_demo

TODAY = date(2026, 11, 25)
ISOTRACK = str(Path(sys.executable).with_name("isotrack"))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_demo(today=TODAY)
        yield built
        transaction.set_rollback(True)


def export(course: Course) -> dict:
    out = io.StringIO()
    call_command("export_course", str(course.uuid), "--as-of", TODAY.isoformat(), stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_export_evaluation_and_import_agree_on_every_demo_course(demo):
    courses = list(courses_with_facts(Course.objects.order_by("id")))
    assert len(courses) >= 60
    for number, course in enumerate(courses):
        stored = evaluate_course(course, TODAY).to_dict()
        exported = export(course)
        assert core.evaluate(core.parse_course_file(exported), TODAY).to_dict() == stored, course.patient.mrn

        prescriber = course.prescriber
        twin = register_patient(
            actor=prescriber,
            mrn=f"IMPORT-{number:04d}",
            given_name="Import",
            family_name="Twin",
            birth_date=course.patient.birth_date,
            category=course.patient.category,
        )
        verifier_practice = StaffUser.objects.filter(practice=prescriber.practice)
        assert verifier_practice.exists()
        imported = import_course(actor=prescriber, patient=twin, course_file=core.parse_course_file(exported))
        imported = courses_with_facts(Course.objects.filter(pk=imported.pk)).get()
        assert evaluate_course(imported, TODAY).to_dict() == stored, course.patient.mrn


@pytest.mark.django_db
def test_the_evaluate_command_agrees_with_the_stored_course(demo, tmp_path):
    for key in ("window_closing_today", "lockout_19_day", "triglycerides_high", "post_course"):
        course = courses_with_facts(Course.objects.filter(pk=demo.courses[key][0].pk)).get()
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(export(course)))
        result = subprocess.run([ISOTRACK, "evaluate", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == evaluate_course(course, TODAY).to_dict()


@pytest.mark.django_db
def test_an_import_with_a_bad_value_saves_nothing_and_names_the_field(prescriber, patient, tmp_path):
    data = {
        "as_of": "2026-07-20",
        "rules": "auto",
        "patient": {"category": "can_get_pregnant"},
        "course": {"start": "2026-06-01", "end": None},
        "weights": [{"date": "2026-05-20", "kg": 62.0}],
        "doses": [{"from": "2026-06-01", "mg_per_day": 40, "product": "conventional"}],
        "events": [
            {"type": "enrollment", "date": "2026-04-01"},
            {"type": "dispense", "date": "2026-05-30", "days_supply": 45},
        ],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    before = (Course.objects.count(), AuditEvent.objects.count())
    with pytest.raises(CommandError) as error:
        call_command("import_course", str(path), "--patient", patient.mrn, "--as", prescriber.username)
    assert error.value.returncode == 2
    assert "events[1].days_supply" in str(error.value)
    assert (Course.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_an_import_that_fails_half_way_leaves_nothing(prescriber, patient, tmp_path):
    data = {
        "as_of": "2026-07-20",
        "rules": "auto",
        "patient": {"category": "can_get_pregnant"},
        "course": {"start": "2026-06-01", "end": None},
        "weights": [{"date": "2026-05-20", "kg": 62.0}],
        "doses": [{"from": "2026-06-01", "mg_per_day": 40, "product": "conventional"}],
        "events": [
            {"type": "enrollment", "date": "2026-04-01"},
            {
                "type": "pregnancy_test",
                "date": "2026-06-27",
                "purpose": "monthly",
                "setting": "home",
                "result": "negative",
                "verified_by": "nobody-of-this-practice",
            },
        ],
    }
    path = tmp_path / "half.json"
    path.write_text(json.dumps(data))
    before = (Course.objects.count(), AuditEvent.objects.count(), patient.weights.count())
    with pytest.raises(CommandError) as error:
        call_command("import_course", str(path), "--patient", patient.mrn, "--as", prescriber.username)
    assert "events[1].verified_by" in str(error.value)
    assert (Course.objects.count(), AuditEvent.objects.count(), patient.weights.count()) == before


@pytest.mark.django_db
def test_an_import_creates_the_course_through_the_actions(prescriber, patient, tmp_path):
    scenario = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "01-spec-example.json"
    out = io.StringIO()
    call_command(
        "import_course", str(scenario), "--patient", patient.mrn, "--as", prescriber.username, stdout=out
    )
    course = courses_with_facts(Course.objects.filter(uuid=out.getvalue().strip())).get()
    answer = evaluate_course(course, date(2026, 7, 20)).to_dict()
    assert answer["dispense"]["blocking"] == ["PATIENT_ATTESTATION_MISSING"]
    assert answer["dose"]["cumulative_mg"] == 2400.0
    assert AuditEvent.objects.filter(action=EventCode.DISPENSE_RECORD, patient=patient).count() == 2


def test_a_practice_can_pin_every_rule_set_of_the_cores_registry_and_nothing_else() -> None:
    from isotrack import core
    from isotrack.clinic.models import RulesChoice

    assert [value for value, _ in RulesChoice.choices] == ["auto", *core.RULE_SETS]
    assert dict(RulesChoice.choices)["us-ipledge-2021"] == "iPLEDGE 2021 (pinned)"
