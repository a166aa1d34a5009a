"""The patient's other medicines in the clinic (issue 17, item 1, the records part): recorded with their class
(the core's table's for a name it holds), read by the one mapping to the core's facts, judged by the engine
(MED-TETRA, MED-VITA, MED-INDUCER), carried in and out by course files. Synthetic data only."""

from __future__ import annotations

from datetime import date

import pytest

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.errors import InvalidInput, NotPermitted
from isotrack.clinic.imports.courses import import_course
from isotrack.clinic.models import OtherMedication
from isotrack.clinic.records import course_facts

pytestmark = pytest.mark.django_db

DAY = date(2026, 7, 10)


@pytest.mark.parametrize(
    ("name", "rxnorm", "kind"),
    [
        ("Doxycycline", "", "tetracycline"),
        ("a brand nobody knows", "3640", "tetracycline"),  # doxycycline's RxNorm ingredient
        ("St John's wort", "", "enzyme_inducer"),
        ("ibuprofen", "", "other"),
    ],
)
def test_a_medicine_takes_the_class_the_cores_table_gives(nurse, patient, name, rxnorm, kind):
    item = record_medication(actor=nurse, patient=patient, name=name, rxnorm=rxnorm, start=DAY)
    assert item.medication_class == kind == core.medication_class(name, rxnorm or None)
    assert AuditEvent.objects.filter(action=EventCode.MEDICATION_RECORD, object_uuid=item.uuid).exists()


def test_a_tetracycline_during_the_course_is_judged_by_the_engine_and_holds_the_prescription(
    prescriber, nurse, patient, weight, methods, course
):
    record_medication(actor=nurse, patient=patient, name="minocycline", start=date(2026, 6, 10))
    found = course_facts(course)
    assert found.medications == (core.Medication("minocycline", "tetracycline", date(2026, 6, 10), None),)
    alerts = {a.code: a for a in core.evaluate(found, DAY).alerts}
    assert alerts["TETRACYCLINE_IN_USE"].date == date(2026, 6, 10)
    step = core.next_step(found, DAY).step
    assert step is not None and step.code == "ALERT_TETRACYCLINE_IN_USE" and step.rule_id == "MED-TETRA"
    assert not core.proposed_prescription(found, DAY).proposed


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "  "}, "name"),
        ({"medication_class": "antibiotic"}, "medication_class"),
        ({"start": date(2026, 7, 20), "end": date(2026, 7, 1)}, "end"),
    ],
)
def test_a_wrong_medicine_is_refused_beside_its_field_and_nothing_is_saved(nurse, patient, values, field):
    with pytest.raises(InvalidInput) as refused:
        record_medication(actor=nurse, patient=patient, **({"name": "doxycycline", "start": DAY} | values))
    assert refused.value.field == field
    assert not OtherMedication.all_objects.exists()


def test_the_front_desk_records_no_medicine(front_desk, patient):
    with pytest.raises(NotPermitted):
        record_medication(actor=front_desk, patient=patient, name="doxycycline", start=DAY)


def test_a_course_files_medications_are_imported_and_exported_as_they_were(prescriber, patient):
    course_file = core.parse_course_file(
        {
            "rules": "auto",
            "patient": {"category": "can_get_pregnant", "birth_date": "2004-03-01"},
            "course": {"start": "2026-06-01", "end": None},
            "weights": [{"date": "2026-05-20", "kg": 60}],
            "doses": [{"from": "2026-06-01", "mg_per_day": 40, "product": "conventional"}],
            "contraception": [
                {"method": "iud_copper", "from": "2026-04-01", "to": None},
                {"method": "male_condom", "from": "2026-04-01", "to": None},
            ],
            "medications": [
                {
                    "name": "St John's wort",
                    "class": "enzyme_inducer",
                    "from": "2026-06-05",
                    "to": "2026-06-30",
                },
                {"name": "retinol", "class": "vitamin_a", "from": "2026-06-20", "to": None},
            ],
            "events": [{"type": "enrollment", "date": "2026-05-01"}],
        }
    )
    course = import_course(actor=prescriber, patient=patient, course_file=course_file)
    assert course_facts(course).medications == course_file.medications
    exported = core.dump_course_file(course_facts(course))["medications"]
    assert exported == core.dump_course_file(course_file)["medications"] != []
