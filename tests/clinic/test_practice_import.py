"""Bringing a practice's current patients: a CSV of mid-course patients imports whole or not at all, names
every row's problems at once, and each imported course is judged as the same course entered by hand."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.access import Capability, can, import_authority
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_lab_result, record_pregnancy_test
from isotrack.clinic.actions.patients import record_contraception, record_weight, register_patient
from isotrack.clinic.errors import NotPermitted
from isotrack.clinic.imports import practice as practice_module
from isotrack.clinic.imports.practice import (
    COLUMN_NAMES,
    PracticeFileRejected,
    RowProblem,
    import_practice,
    read_csv,
    template_csv,
)
from isotrack.clinic.models import Course, Patient, Role
from isotrack.clinic.records import course_facts
from tests.conftest import TODAY, make_staff


@dataclass
class Synthetic:
    """One synthetic mid-course patient: the CSV cells and the same history as records to enter by hand."""

    number: int
    category: str
    start: date
    doses: list[tuple[date, int]]
    weight: tuple[date, Decimal, str]
    methods: list[tuple[date, str]] = field(default_factory=list)
    enrolled: date | None = None
    tests: list[tuple[date, str, str]] = field(default_factory=list)  # date, purpose, setting (negative)
    confirmations: list[date] = field(default_factory=list)
    attestations: list[date] = field(default_factory=list)
    fills: list[date] = field(default_factory=list)
    labs: list[tuple[date, str, int, str]] = field(default_factory=list)

    @property
    def mrn(self) -> str:
        return f"IMP-{self.number:04d}"

    def cells(self) -> dict[str, str]:
        return {
            "mrn": self.mrn,
            "given_name": "Sample",
            "family_name": f"Imported{self.number}",
            "birth_date": "2003-05-17",
            "category": self.category,
            "prescriber": "prescriber",
            "start": self.start.isoformat(),
            "product": "conventional",
            "doses": "; ".join(f"{d.isoformat()} {mg}" for d, mg in self.doses),
            "weights": f"{self.weight[0].isoformat()} {self.weight[1]} {self.weight[2]}",
            "contraception": "; ".join(f"{d.isoformat()} {m}" for d, m in self.methods),
            "enrolled": self.enrolled.isoformat() if self.enrolled else "",
            "pregnancy_tests": "; ".join(f"{d.isoformat()} {p} {s} negative" for d, p, s in self.tests),
            "prescriber_confirmations": "; ".join(d.isoformat() for d in self.confirmations),
            "patient_attestations": "; ".join(d.isoformat() for d in self.attestations),
            "fills": "; ".join(f"{d.isoformat()} 30" for d in self.fills),
            "labs": "; ".join(f"{d.isoformat()} {t} {v} {u}" for d, t, v, u in self.labs),
        }


def synthetic(number: int) -> Synthetic:
    """Patient ``number``: started 30 to 117 days before today, every monthly step done on time; every third
    one's dose raised after a month; every fifth weighed in pounds."""
    start = TODAY - timedelta(days=30 + 3 * number)
    can_get_pregnant = number % 2 == 0
    patient = Synthetic(
        number=number,
        category="can_get_pregnant" if can_get_pregnant else "cannot_get_pregnant",
        start=start,
        doses=[(start, 40)] + ([(start + timedelta(days=30), 60)] if number % 3 == 0 else []),
        weight=(start - timedelta(days=10), Decimal(135 + number), "lb")
        if number % 5 == 0
        else (start - timedelta(days=10), Decimal(55 + number), "kg"),
        enrolled=start - timedelta(days=40),
        labs=[
            (start - timedelta(days=10), "triglycerides", 120 + number, "mg/dL"),
            (start - timedelta(days=10), "alt", 21, "U/L"),
        ],
    )
    if can_get_pregnant:
        patient.methods = [
            (start - timedelta(days=70), "iud_copper"),
            (start - timedelta(days=70), "male_condom"),
        ]
        patient.tests.append((start - timedelta(days=35), "screening", "office"))
    month, fill = 0, start - timedelta(days=3)
    while fill <= TODAY:
        test_day = fill - timedelta(days=2)
        if can_get_pregnant:
            patient.tests.append((test_day, "confirmation" if month == 0 else "monthly", "lab"))
            patient.confirmations.append(test_day)
            patient.attestations.append(test_day + timedelta(days=1))
        patient.fills.append(fill)
        month, fill = month + 1, fill + timedelta(days=30)
    return patient


def csv_of(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMN_NAMES, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


THIRTY = [synthetic(n) for n in range(1, 31)]


@pytest.fixture
def admin(practice):
    return make_staff(practice, "manager", Role.PRACTICE_ADMIN)


def enter_by_hand(prescriber, nurse, synthetic: Synthetic) -> Course:
    """The same history, entered by the prescriber and the nurse through the clinic's actions, day by day."""
    patient = register_patient(
        actor=prescriber,
        mrn=f"HAND-{synthetic.number:04d}",
        given_name="Sample",
        family_name="Hand",
        birth_date=date(2003, 5, 17),
        category=synthetic.category,
    )
    day, value, unit = synthetic.weight
    record_weight(actor=nurse, patient=patient, effective_date=day, value=value, unit=unit)
    for start, method in synthetic.methods:
        record_contraception(actor=nurse, patient=patient, method=method, start=start)
    course = start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=synthetic.start,
        mg_per_day=Decimal(synthetic.doses[0][1]),
    )
    record_ipledge_entry(actor=prescriber, course=course, kind="enrollment", day=synthetic.enrolled)
    for day, test, value, unit in synthetic.labs:
        record_lab_result(
            actor=nurse, course=course, test=test, effective_date=day, value=Decimal(value), unit=unit
        )
    steps: list[tuple[date, int, object]] = []
    steps += [(d, 0, ("test", p, s)) for d, p, s in synthetic.tests]
    steps += [(d, 1, ("confirmation",)) for d in synthetic.confirmations]
    steps += [(d, 2, ("attestation",)) for d in synthetic.attestations]
    steps += [(d, 3, ("fill",)) for d in synthetic.fills]
    steps += [(d, 4, ("dose", mg)) for d, mg in synthetic.doses[1:]]
    for day, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        match step:
            case ("test", purpose, setting):
                record_pregnancy_test(
                    actor=nurse,
                    course=course,
                    purpose=purpose,
                    setting=setting,
                    specimen_date=day,
                    result="negative",
                )
            case ("confirmation",):
                record_ipledge_entry(actor=prescriber, course=course, kind="prescriber_confirmation", day=day)
            case ("attestation",):
                record_ipledge_entry(actor=nurse, course=course, kind="patient_attestation", day=day)
            case ("fill",):
                record_dispense(actor=nurse, course=course, day=day, days_supply=30)
            case ("dose", mg):
                change_dose(
                    actor=prescriber,
                    course=course,
                    starts_on=day,
                    mg_per_day=Decimal(mg),
                    product="conventional",
                    change_reason="planned",
                    reason="tolerated",
                )
    return course


@pytest.mark.django_db
def test_thirty_mid_course_patients_import_whole_and_audited_as_one_import(admin, prescriber):
    content = csv_of([p.cells() for p in THIRTY])
    preview = import_practice(actor=admin, content=content, confirm=False)
    assert preview.problems == [] and len(preview.courses) == 30 and not preview.imported
    assert Patient.objects.count() == 0 and Course.objects.count() == 0
    assert not AuditEvent.objects.filter(action=EventCode.PRACTICE_IMPORT).exists()

    report = import_practice(actor=admin, content=content, confirm=True)
    assert report.imported and report.problems == []
    assert [c.next_step for c in report.courses] == [c.next_step for c in preview.courses]
    assert Patient.objects.filter(practice=admin.practice).count() == 30
    courses = Course.objects.filter(patient__practice=admin.practice)
    assert courses.count() == 30 and all(c.prescriber == prescriber for c in courses)
    assert all(c.status == "active" for c in courses)  # each has had its first pick-up
    assert all(c.target_mg_per_kg is None for c in courses)  # they follow the practice's target
    event = AuditEvent.objects.get(action=EventCode.PRACTICE_IMPORT)
    assert event.actor == admin
    assert event.after["sha256"] == report.sha256 and event.after["rows"] == 30
    assert sorted(event.after["courses"]) == sorted(str(c.uuid) for c in courses)
    # every record has its own audit row, by the administrator who imported it
    assert AuditEvent.objects.filter(action=EventCode.DISPENSE_RECORD).count() == sum(
        len(p.fills) for p in THIRTY
    )
    assert set(AuditEvent.objects.values_list("actor", flat=True)) == {admin.pk}


@pytest.mark.django_db
def test_a_course_starting_after_today_in_the_17th_row_refuses_the_whole_file_naming_it(admin, prescriber):
    rows = [p.cells() for p in THIRTY]
    rows[16]["start"] = (TODAY + timedelta(days=3)).isoformat()
    rows[16]["doses"] = f"{rows[16]['start']} 40"
    with pytest.raises(PracticeFileRejected) as refused:
        import_practice(actor=admin, content=csv_of(rows), confirm=True)
    [problem] = refused.value.problems
    assert (problem.row, problem.column, problem.mrn) == (18, "start", THIRTY[16].mrn)  # the header is row 1
    assert "after today" in problem.message
    assert "row 18 (MRN IMP-0017), start:" in refused.value.message
    assert Patient.objects.count() == Course.objects.count() == AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_every_rows_problems_are_named_at_once(admin, prescriber):
    rows = [p.cells() for p in THIRTY[:8]]
    rows[0]["doses"] = f"{THIRTY[0].start.isoformat()} forty"
    rows[1]["contraception"] = f"{THIRTY[1].start.isoformat()} wishful_thinking"
    rows[2]["prescriber"] = "nobody"
    rows[3]["mrn"] = rows[4]["mrn"]
    rows[5]["category"] = "female"
    rows[6]["fills"] = rows[6]["fills"] + f"; {TODAY.isoformat()} 90"
    rows[7]["weights"] = "2026-08-01 62"
    preview = import_practice(actor=admin, content=csv_of(rows), confirm=False)
    found = {(p.row, p.column) for p in preview.problems}
    assert found == {
        (2, "doses"),
        (3, "contraception"),
        (4, "prescriber"),
        (6, "mrn"),  # the second row with that MRN
        (7, "category"),
        (8, "fills"),
        (9, "weights"),
    }
    words = {p.row: p.message for p in preview.problems}
    assert "'forty' is not a number" in words[2]
    assert "wishful_thinking" in words[3]
    assert "nobody" in words[4]
    assert "entry" in words[8] and "30" in words[8]  # IPL-SUPPLY: at most 30 days
    assert "DATE VALUE kg" in words[9]
    assert words[6] == "row 5 has this MRN too: one row per patient"
    assert Patient.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("number", [1, 2, 3, 5, 6, 10, 15, 24, 29, 30])
def test_an_imported_course_is_judged_as_the_same_course_entered_by_hand(admin, prescriber, nurse, number):
    patient = synthetic(number)
    import_practice(actor=admin, content=csv_of([patient.cells()]), confirm=True)
    imported = Course.objects.get(patient__mrn=patient.mrn)
    by_hand = enter_by_hand(prescriber, nurse, patient)
    for day in (TODAY - timedelta(days=20), TODAY, TODAY + timedelta(days=25)):
        imported_facts, hand_facts = course_facts(imported), course_facts(by_hand)
        assert core.evaluate(imported_facts, day).to_dict() == core.evaluate(hand_facts, day).to_dict()
        assert core.next_step(imported_facts, day) == core.next_step(hand_facts, day)
    evaluation = core.evaluate(course_facts(imported), TODAY)
    assert evaluation.phase == "active" and evaluation.dispense.blocking != ("NOT_ENROLLED",)
    assert evaluation.dose.cumulative_mg > 0 and not any(
        a.code == "BASELINE_LABS_MISSING" for a in evaluation.alerts
    )


@pytest.mark.django_db
def test_a_row_may_set_the_courses_own_target_and_name_the_prescriber_by_npi(admin, prescriber):
    prescriber.npi = "1234567893"
    prescriber.save()
    cells = THIRTY[0].cells() | {"prescriber": "1234567893", "target_mg_per_kg": "120"}
    import_practice(actor=admin, content=csv_of([cells]), confirm=True)
    course = Course.objects.get()
    assert course.prescriber == prescriber and course.target_mg_per_kg == Decimal(120)


@pytest.mark.django_db
def test_only_an_administrator_imports_and_only_inside_the_import(admin, prescriber, nurse):
    with pytest.raises(NotPermitted):
        import_practice(actor=nurse, content=csv_of([THIRTY[0].cells()]), confirm=False)
    with pytest.raises(NotPermitted):
        import_practice(actor=prescriber, content=csv_of([THIRTY[0].cells()]), confirm=False)
    assert not can(admin, Capability.PRESCRIBE) and not can(admin, Capability.RECORD_OBSERVATIONS)
    with import_authority(admin):
        assert can(admin, Capability.PRESCRIBE) and can(admin, Capability.RECORD_OBSERVATIONS)
        assert not can(nurse, Capability.PRESCRIBE)  # the authority is the importing member's alone
    assert not can(admin, Capability.PRESCRIBE)
    with pytest.raises(NotPermitted), import_authority(nurse):
        pass


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe\x00m\x00r", "not UTF-8"),
        (b"mrn,given_name\nA,B\n", "lacks the column(s) family_name"),
        (csv_of([]).replace("mrn,", "mrn,shoe_size,").encode(), "does not read: shoe_size"),
        (csv_of([]).encode(), "the file holds no courses"),
        (
            csv_of([THIRTY[0].cells()]).encode() + b"x," * 40 + b"\n",
            "more values than the header has columns",
        ),
        (csv_of([THIRTY[0].cells()]).replace(",labs,", ",contraception,").encode(), "names a column twice"),
        (csv_of([]).replace(",", ";").encode(), "separated by semicolons or tabs"),
        (csv_of([synthetic(n).cells() for n in range(1, 102)]).encode(), "a file holds at most 100 courses"),
        (
            csv_of(
                [
                    synthetic(n).cells() | {"labs": "; ".join(["2026-01-05 alt 20 U/L"] * 20)}
                    for n in range(1, 61)
                ]
            ),
            "records (patients, doses, tests, pick-ups...); at most 1500 a file",
        ),
        (
            csv_of([THIRTY[0].cells(), THIRTY[1].cells()]).replace("IMP-0001", '"IMP-0001').encode(),
            "a quote left",
        ),
    ],
)
def test_a_file_that_is_not_the_template_is_refused_in_words(admin, content, words):
    preview = import_practice(actor=admin, content=content, confirm=False)
    assert preview.courses == [] and words in " ".join(p.message for p in preview.problems)
    with pytest.raises(PracticeFileRejected):
        import_practice(actor=admin, content=content, confirm=True)
    assert Patient.objects.count() == 0


def test_the_template_is_the_header_row_alone():
    """No example row to import by mistake: the examples are on the page and in the docs."""
    assert list(csv.reader(io.StringIO(template_csv()))) == [list(COLUMN_NAMES)]


@pytest.mark.django_db
def test_the_command_line_previews_imports_and_refuses_with_exit_2(tmp_path, admin, prescriber):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(csv_of([p.cells() for p in THIRTY[:3]]))
    rows = [p.cells() for p in THIRTY[:3]]
    rows[1]["start"] = "2026-13-01"
    bad.write_text(csv_of(rows))

    def run(*args: str) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        call_command("import_practice", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    out, _ = run(str(good), "--as", admin.username, "--dry-run")
    assert "dry run: 3 courses would be imported; nothing written" in out
    assert [line.split("\t")[:2] for line in out.splitlines()[:3]] == [
        ["row 2", "IMP-0001"],
        ["row 3", "IMP-0002"],
        ["row 4", "IMP-0003"],
    ]
    assert Patient.objects.count() == 0
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_practice", str(bad), "--as", admin.username, stderr=err)
    assert refused.value.returncode == 2
    assert str(refused.value) == "nothing imported: 1 problem (row 3)"
    assert err.getvalue().startswith("row 3 (MRN IMP-0002), start: ")
    assert Patient.objects.count() == 0
    out, _ = run(str(good), "--as", admin.username)
    assert "imported 3 courses" in out
    assert Course.objects.filter(patient__practice=admin.practice).count() == 3
    for args in ([str(tmp_path / "missing.csv"), "--as", admin.username], [str(good), "--as", "nobody"]):
        with pytest.raises(CommandError) as refused:
            run(*args)
        assert refused.value.returncode == 2 and "\n" not in str(refused.value)
    with pytest.raises(CommandError) as refused:
        run(str(good), "--as", prescriber.username, "--dry-run")
    assert refused.value.returncode == 2 and "may not import" in str(refused.value)


CELL_TEXT = st.text(st.sampled_from("0123456789-; .:/eEkglbmgnaxNaN\u00e9\t"), max_size=40)


@given(column=st.sampled_from(COLUMN_NAMES), text=CELL_TEXT | st.text(max_size=30))
@settings(max_examples=300, deadline=None)
def test_any_cell_is_read_or_refused_in_words_never_a_crash(column, text):
    """A row with any text in any one column: the row is read, or refused as a problem naming a column."""
    assume("\r" not in text)  # csv_of writes LF line ends and would leave a lone CR unquoted
    cells = THIRTY[0].cells() | {column: text}
    content = csv_of([cells])
    rows, problems = read_csv(content)
    if "\x00" in text:  # a NUL is no spreadsheet's text: the file is refused (PostgreSQL stores no NUL)
        assert [p.message for p in problems] == ["the file is not text (it holds a NUL character)"]
        return
    assert problems == [] and len(rows) == 1
    try:
        read = practice_module._read_row(2, rows[0][1], "auto", {})
    except practice_module._Bad as bad:
        assert bad.column in COLUMN_NAMES and bad.message
    else:
        assert read.course_file is not None


@pytest.mark.django_db
@given(column=st.sampled_from(COLUMN_NAMES), text=CELL_TEXT | st.text(max_size=30))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_cell_previews_as_a_course_or_a_problem_in_words(admin, prescriber, column, text):
    """Through the database too: any one cell's text gives a course or a problem, never an error; the
    preview keeps nothing (so the examples share one database)."""
    assume("\r" not in text)
    report = import_practice(actor=admin, content=csv_of([THIRTY[0].cells() | {column: text}]), confirm=False)
    assert len(report.courses) + len(report.problems) == 1
    assert all(p.message for p in report.problems)
    assert Patient.objects.count() == 0


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_bytes_are_read_or_refused_in_words(content):
    rows, problems = read_csv(
        b"mrn,given_name,family_name,birth_date,category,prescriber,start,product,doses,weights\n" + content
    )
    assert all(isinstance(p, RowProblem) and p.message for p in problems)
    assert all(isinstance(number, int) and number >= 2 and isinstance(cells, dict) for number, cells in rows)


@pytest.mark.django_db
def test_blank_rows_are_skipped_and_do_not_count(admin, prescriber):
    content = csv_of([p.cells() for p in THIRTY[:2]]) + ",,,,,\n" * 600 + "\n"
    report = import_practice(actor=admin, content=content, confirm=True)
    assert report.problems == [] and len(report.courses) == 2 and report.rows == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "text", "words"),
    [
        ("doses", " ; ;", "required, and empty"),
        ("weights", ";", "required, and empty"),
        ("product", "absorica", "'absorica' is not a product isotrack reads"),
        ("target_mg_per_kg", "999999999", "between 50 and 300"),
        ("target_mg_per_kg", "-5", "between 50 and 300"),
        ("target_mg_per_kg", "120.55", "decimal place"),
        ("labs", "2026-08-01 triglyceride 140 mg/dL", "'triglyceride' is not a test isotrack judges"),
        ("labs", "2026-08-01 tg 140 mg/dL", "is not a test isotrack judges"),
        ("labs", "2026-08-01 alt 22 furlongs", "'furlongs' is not a unit"),
        (
            "pregnancy_tests",
            "2026-08-01 monthly home negative ghost",
            "'ghost' is not an active prescriber or nurse",
        ),
        ("pregnancy_tests", "2026-08-01 monthly home negative frontdesk", "'frontdesk' is not an active"),
        (
            "doses",
            f"{THIRTY[1].start} 40; {THIRTY[1].start + timedelta(days=20)} 20 mg tired",
            "entry 2: 'mg tired' is neither 'mg' nor a reason for the change (side_effects, lab_result,",
        ),
        ("doses", f"{THIRTY[1].start} 40 mg side_effects", "only a change has a reason"),
        ("doses", f"{THIRTY[1].start} 40 side_effects planned", "is neither 'mg' nor a reason"),
    ],
)
def test_a_bad_entry_is_named_in_its_own_column(admin, prescriber, front_desk, column, text, words):
    report = import_practice(actor=admin, content=csv_of([THIRTY[1].cells() | {column: text}]), confirm=False)
    [problem] = report.problems
    assert problem.column == column and words in problem.message, problem


@pytest.mark.django_db
def test_lab_tests_and_units_and_a_verifier_are_read_in_any_case(admin, prescriber, nurse):
    patient = THIRTY[1]
    day = patient.start - timedelta(days=10)
    cells = patient.cells() | {
        "labs": f"{day} Triglycerides 140 MG/DL; {day} ALT 22 u/l",
        "pregnancy_tests": patient.cells()["pregnancy_tests"] + f"; {TODAY} monthly home negative NURSE",
    }
    import_practice(actor=admin, content=csv_of([cells]), confirm=True)
    course = Course.objects.get()
    assert sorted(course.lab_results.values_list("test", "unit")) == [
        ("alt", "U/L"),
        ("triglycerides", "mg/dL"),
    ]
    assert course.pregnancy_tests.get(setting="home").verified_by == nurse


def variant() -> Synthetic:
    """A course with what the thirty lack: micronized, a method that ended, a verified home test."""
    patient = synthetic(4)
    patient.methods = [
        (patient.start - timedelta(days=70), "combined_pill"),
        (patient.start - timedelta(days=70), "male_condom"),
    ]
    return patient


@pytest.mark.django_db
def test_a_micronized_course_with_its_own_target_an_ended_method_and_a_home_test_is_judged_as_by_hand(
    admin, prescriber, nurse, practice
):
    practice.home_testing_permitted = True
    practice.save()
    patient = variant()
    home_day = TODAY - timedelta(days=1)
    ended = patient.start - timedelta(days=70)
    cells = patient.cells() | {
        "product": "micronized",
        "target_mg_per_kg": "130",
        "contraception": patient.cells()["contraception"]
        + f"; {ended} iud_copper {ended + timedelta(days=5)}",
        "pregnancy_tests": patient.cells()["pregnancy_tests"] + f"; {home_day} monthly home negative nurse",
    }
    import_practice(actor=admin, content=csv_of([cells]), confirm=True)
    imported = Course.objects.get(patient__mrn=patient.mrn)
    assert imported.target_mg_per_kg == 130 and imported.dose_segments.get().product == "micronized"
    hand = register_patient(
        actor=prescriber,
        mrn="HAND-VARIANT",
        given_name="Sample",
        family_name="Hand",
        birth_date=date(2003, 5, 17),
        category=patient.category,
    )
    record_weight(
        actor=nurse,
        patient=hand,
        effective_date=patient.weight[0],
        value=patient.weight[1],
        unit=patient.weight[2],
    )
    for start, method in patient.methods:
        record_contraception(actor=nurse, patient=hand, method=method, start=start)
    record_contraception(
        actor=nurse, patient=hand, method="iud_copper", start=ended, end=ended + timedelta(days=5)
    )
    by_hand = start_course(
        actor=prescriber,
        patient=hand,
        prescriber=prescriber,
        start=patient.start,
        mg_per_day=Decimal(patient.doses[0][1]),
        product="micronized",
        target_mg_per_kg=Decimal(130),
    )
    record_ipledge_entry(actor=prescriber, course=by_hand, kind="enrollment", day=patient.enrolled)
    for day, test, value, unit in patient.labs:
        record_lab_result(
            actor=nurse, course=by_hand, test=test, effective_date=day, value=Decimal(value), unit=unit
        )
    for day, purpose, setting in patient.tests:
        record_pregnancy_test(
            actor=nurse,
            course=by_hand,
            purpose=purpose,
            setting=setting,
            specimen_date=day,
            result="negative",
        )
    record_pregnancy_test(
        actor=nurse,
        course=by_hand,
        purpose="monthly",
        setting="home",
        specimen_date=home_day,
        result="negative",
        verified_by=nurse,
    )
    for day in patient.confirmations:
        record_ipledge_entry(
            actor=prescriber, course=by_hand, kind="prescriber_confirmation", day=day, in_order=False
        )
    for day in patient.attestations:
        record_ipledge_entry(actor=nurse, course=by_hand, kind="patient_attestation", day=day, in_order=False)
    for day in patient.fills:
        record_dispense(actor=nurse, course=by_hand, day=day, days_supply=30)
    for day, mg in patient.doses[1:]:
        change_dose(
            actor=prescriber,
            course=by_hand,
            starts_on=day,
            mg_per_day=Decimal(mg),
            product="micronized",
            change_reason="planned",
            reason="tolerated",
        )
    for day in (TODAY - timedelta(days=20), TODAY, TODAY + timedelta(days=25)):
        imported_facts, hand_facts = course_facts(imported), course_facts(by_hand)
        assert core.evaluate(imported_facts, day).to_dict() == core.evaluate(hand_facts, day).to_dict()
        assert core.next_step(imported_facts, day) == core.next_step(hand_facts, day)
    evaluation = core.evaluate(course_facts(imported), TODAY)
    assert (
        evaluation.dose.conventional_equivalent_mg > evaluation.dose.cumulative_mg
    )  # micronized counts 1.25x


@pytest.mark.django_db
def test_the_import_authority_ends_when_the_import_fails(admin, prescriber):
    with pytest.raises(RuntimeError), import_authority(admin):
        raise RuntimeError("an import that fails")
    assert not can(admin, Capability.PRESCRIBE)


@pytest.mark.django_db
def test_repeated_ipledge_ids_text_under_an_unnamed_column_and_doses_out_of_order_are_named(
    admin, prescriber
):
    rows = [p.cells() for p in THIRTY[:3]]
    rows[0]["ipledge_id"] = rows[2]["ipledge_id"] = "9911223344"
    start = THIRTY[1].start
    rows[1]["doses"] = f"{start + timedelta(days=30)} 60; {start} 350"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["mrn", "", *COLUMN_NAMES[1:]])  # a column the header does not name
    for number, cells in enumerate(rows):
        writer.writerow(
            [cells["mrn"], "stray" if number == 0 else "", *(cells.get(c, "") for c in COLUMN_NAMES[1:])]
        )
    report = import_practice(actor=admin, content=out.getvalue(), confirm=False)
    words = {(p.row, p.column): p.message for p in report.problems}
    assert (
        words
        == {
            (2, ""): "text under a column the header does not name (column 2)",
            (3, "doses"): words[(3, "doses")],
            (4, "ipledge_id"): "row 2 has this iPLEDGE ID too: one row per patient",
        }
        or words
    )
    assert words[(3, "doses")].startswith("entry 2:") and "350" in words[(3, "doses")]


@pytest.mark.django_db
def test_a_product_is_read_in_any_case(admin, prescriber):
    import_practice(
        actor=admin, content=csv_of([THIRTY[0].cells() | {"product": "Micronized"}]), confirm=True
    )
    assert Course.objects.get().dose_segments.get().product == "micronized"


@pytest.mark.django_db
def test_the_gender_column_is_read_in_any_case_and_empty_is_unknown(admin, prescriber):
    """Review item 4: the optional ``gender`` column (FHIR's administrative gender), never the category."""
    genders = ["Female", "MALE", " other ", "unknown", ""]
    rows = [p.cells() | {"gender": g} for p, g in zip(THIRTY, genders, strict=False)]
    rows[1]["category"] = "can_get_pregnant"  # a male patient who can get pregnant: the two are apart
    report = import_practice(actor=admin, content=csv_of(rows), confirm=True)
    assert report.problems == [] and report.imported
    stored = dict(Patient.objects.values_list("mrn", "gender"))
    assert [stored[p.mrn] for p in THIRTY[:5]] == ["female", "male", "other", "unknown", "unknown"]
    assert Patient.objects.get(mrn=THIRTY[1].mrn).category == "can_get_pregnant"


@pytest.mark.django_db
def test_a_file_without_the_gender_column_registers_unknown(admin, prescriber):
    out = io.StringIO()
    columns = [name for name in COLUMN_NAMES if name != "gender"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerow(THIRTY[0].cells())
    import_practice(actor=admin, content=out.getvalue(), confirm=True)
    assert Patient.objects.get().gender == "unknown"


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["f", "woman", "nonbinary", "can_get_pregnant", "unknown?"])
def test_a_gender_isotrack_does_not_read_refuses_its_row_naming_the_allowed_values(admin, prescriber, text):
    rows = [THIRTY[0].cells(), THIRTY[1].cells() | {"gender": text}]
    report = import_practice(actor=admin, content=csv_of(rows), confirm=False)
    [problem] = report.problems
    assert (problem.row, problem.column, problem.mrn) == (3, "gender", THIRTY[1].mrn)
    assert problem.message == (
        f"{text!r} is not a gender isotrack reads (female, male, other, unknown; empty: unknown)"
    )
    with pytest.raises(PracticeFileRejected) as refused:
        import_practice(actor=admin, content=csv_of(rows), confirm=True)
    assert "row 3 (MRN IMP-0002), gender:" in refused.value.message
    assert Patient.objects.count() == 0


def test_the_docs_list_every_column_of_the_template_in_its_order():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "practice-import.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([a-z_]+)` \| (yes|no) \|", docs, re.M)
    assert documented == [(c.name, "yes" if c.required else "no") for c in practice_module.COLUMNS]


@pytest.mark.django_db
def test_a_dose_change_keeps_its_reason_and_one_without_has_none_recorded(admin, prescriber):
    start = THIRTY[1].start
    later, reduced = start + timedelta(days=10), start + timedelta(days=20)
    doses = f"{start} 40; {later} 60 planned; {reduced} 40 mg side_effects"
    report = import_practice(
        actor=admin, content=csv_of([THIRTY[1].cells() | {"doses": doses}]), confirm=True
    )
    assert report.problems == []
    course = Course.objects.get()
    stored = list(course.dose_segments.order_by("starts_on").values_list("mg_per_day", "change_reason"))
    assert stored == [(40, ""), (60, "planned"), (40, "side_effects")]
    assert [d.reason for d in course_facts(course).doses] == [None, "planned", "side_effects"]
