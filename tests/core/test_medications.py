"""The patient's other medicines: the program's table of names and RxNorm codes (core.medications), the course
file's ``medications``, and the three alerts they raise (spec "Alert vocabulary": TETRACYCLINE_IN_USE,
VITAMIN_A_IN_USE, HORMONAL_METHOD_WEAKENED; reference.md MED-TETRA, MED-VITA, MED-INDUCER)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isotrack.core import (
    ALERT_ACTIONS,
    ALERT_ORDER,
    MEDICATION_CLASSES,
    Acknowledgment,
    ContraceptionUse,
    Course,
    CourseFile,
    CourseFileError,
    Dispense,
    Medication,
    Patient,
    PregnancyTest,
    course_outcome,
    dump_course_file,
    evaluate,
    medication_class,
    next_step,
    next_step_until_change,
    parse_course_file,
    proposed_prescription,
)
from isotrack.core.medications import BY_NAME, MEDICINES, folded, medicine
from tests.core.builders import START, any_course_files, days, simple_course
from tests.core.test_change import assert_holds_until_change, running_courses

DAY = dt.timedelta(days=1)
FILL = START - days(3)
BASE = simple_course()
END = START + days(25)
CODE_OF_CLASS = {"tetracycline": "TETRACYCLINE_IN_USE", "vitamin_a": "VITAMIN_A_IN_USE"}
RULE_OF_CODE = {
    "TETRACYCLINE_IN_USE": "MED-TETRA",
    "VITAMIN_A_IN_USE": "MED-VITA",
    "HORMONAL_METHOD_WEAKENED": "MED-INDUCER",
}


def course_in(phase: str, *taken: Medication, **changes: Any) -> tuple[CourseFile, dt.date]:
    """A course that can get pregnant (combined pill and condom since START - 100) in a phase, and a day of
    that phase."""
    filled = (*BASE.events, Dispense(FILL, 30))
    if phase == "qualifying":
        found, day = simple_course(events=BASE.events), FILL
    elif phase == "active":
        found, day = simple_course(events=filled), START + days(20)
    elif phase == "post_course":
        found, day = simple_course(events=filled, course=Course(START, END)), END + days(10)
    elif phase == "completed":
        tests = (
            PregnancyTest(END, "end_of_course", "lab", "negative"),
            PregnancyTest(END + days(30), "post_course", "lab", "negative"),
        )
        found, day = simple_course(events=(*filled, *tests), course=Course(START, END)), END + days(40)
    else:
        positive = PregnancyTest(START + days(10), "monthly", "lab", "positive")
        found, day = simple_course(events=(*filled, positive)), START + days(20)
    found = dataclasses.replace(found, medications=taken, **changes)
    assert evaluate(found, day).phase == phase
    return found, day


def alerts_of(course_file: CourseFile, day: dt.date) -> dict[str, dt.date]:
    return {a.code: a.date for a in evaluate(course_file, day).alerts}


# --- the table ----------------------------------------------------------------------------------------------


def test_the_classes_are_the_spec_vocabulary() -> None:
    assert MEDICATION_CLASSES == ("tetracycline", "vitamin_a", "enzyme_inducer", "other")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # the spec's own lists
        ("doxycycline", "tetracycline"),
        ("minocycline", "tetracycline"),
        ("tetracycline", "tetracycline"),
        ("sarecycline", "tetracycline"),
        ("omadacycline", "tetracycline"),
        ("retinol", "vitamin_a"),
        ("vitamin A", "vitamin_a"),
        ("St John's wort", "enzyme_inducer"),
        ("carbamazepine", "enzyme_inducer"),
        ("phenytoin", "enzyme_inducer"),
        ("phenobarbital", "enzyme_inducer"),
        ("rifampin", "enzyme_inducer"),
        ("rifabutin", "enzyme_inducer"),
        ("modafinil", "enzyme_inducer"),
        ("topiramate", "enzyme_inducer"),
        # brands, other spellings, any case
        ("Vibramycin", "tetracycline"),
        ("DORYX", "tetracycline"),
        ("Minocin", "tetracycline"),
        ("Solodyn", "tetracycline"),
        ("Seysara", "tetracycline"),
        ("Nuzyra", "tetracycline"),
        ("doxycycline hyclate", "tetracycline"),
        ("St. John’s Wort", "enzyme_inducer"),
        ("  hypericum   perforatum ", "enzyme_inducer"),
        ("Rifampicin", "enzyme_inducer"),
        ("Tegretol", "enzyme_inducer"),
        ("oxcarbazepine", "enzyme_inducer"),
        ("fosphenytoin", "enzyme_inducer"),
        ("primidone", "enzyme_inducer"),
        ("armodafinil", "enzyme_inducer"),
        ("efavirenz", "enzyme_inducer"),
        ("griseofulvin", "enzyme_inducer"),
        # not in the table
        ("multivitamin", "other"),
        ("amoxicillin", "other"),
        ("doxycycline 100 mg", "other"),
        ("", "other"),
    ],
)
def test_a_name_gives_its_class(name: str, expected: str) -> None:
    assert medication_class(name) == expected


@pytest.mark.parametrize(
    ("rxnorm", "expected"),
    [
        ("3640", "tetracycline"),
        ("10395", "tetracycline"),
        ("2002", "enzyme_inducer"),
        ("8183", "enzyme_inducer"),
        ("9384", "enzyme_inducer"),
        ("38404", "enzyme_inducer"),
        ("6064", "other"),  # isotretinoin itself (reference.md section 4)
        ("not-a-code", "other"),
    ],
)
def test_an_rxnorm_ingredient_code_gives_its_class(rxnorm: str, expected: str) -> None:
    assert medication_class(rxnorm=rxnorm) == expected


def test_the_code_wins_over_the_name_and_a_code_unknown_falls_back_to_the_name() -> None:
    assert medication_class("multivitamin", "3640") == "tetracycline"
    assert medication_class("minocycline", "999999999") == "tetracycline"
    assert medication_class() == "other"
    assert medicine("Seysara") is medicine("sarecycline")


def test_every_entry_has_a_source_a_known_class_and_folded_names_held_once() -> None:
    names = [name for m in MEDICINES for name in (m.generic, *m.names)]
    assert len(names) == len(set(names)) == len(BY_NAME)
    assert all(folded(name) == name for name in names)
    for m in MEDICINES:
        assert m.source and m.medication_class in MEDICATION_CLASSES and m.medication_class != "other"
        assert m.rxnorm is None or m.rxnorm.isdigit()
    assert len({m.rxnorm for m in MEDICINES if m.rxnorm}) == len([m for m in MEDICINES if m.rxnorm])


# --- the course file ----------------------------------------------------------------------------------------


def file_with(*rows: dict[str, Any]) -> dict[str, Any]:
    data = dump_course_file(BASE)
    data["medications"] = list(rows)
    return data


def test_medications_are_read_with_to_optional_and_written_back() -> None:
    data = file_with(
        {"name": "doxycycline", "class": "tetracycline", "from": "2025-09-10", "to": None},
        {"name": "retinol", "class": "vitamin_a", "from": "2025-09-01", "to": "2025-09-30", "dose": "high"},
        {"name": "carbamazepine", "class": "enzyme_inducer", "from": "2025-08-01"},
    )
    parsed = parse_course_file(data)
    assert parsed.medications == (
        Medication("doxycycline", "tetracycline", dt.date(2025, 9, 10)),
        Medication("retinol", "vitamin_a", dt.date(2025, 9, 1), dt.date(2025, 9, 30)),
        Medication("carbamazepine", "enzyme_inducer", dt.date(2025, 8, 1)),
    )
    written = dump_course_file(parsed)
    assert written["medications"][0] == {
        "name": "doxycycline",
        "class": "tetracycline",
        "from": "2025-09-10",
        "to": None,
    }
    assert parse_course_file(json.loads(json.dumps(written))) == parsed
    assert "medications" not in dump_course_file(BASE)  # none: left out, read back as none
    assert parse_course_file(dump_course_file(BASE)).medications == ()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"name": "amoxicillin", "class": "antibiotic", "from": "2025-09-10"},
            "medications[0].class: 'antibiotic' is not one of: tetracycline, vitamin_a, enzyme_inducer, "
            "other",
        ),
        ({"name": "doxycycline", "from": "2025-09-10"}, "medications[0].class: is required"),
        ({"class": "tetracycline", "from": "2025-09-10"}, "medications[0].name: is required"),
        (
            {"name": " ", "class": "tetracycline", "from": "2025-09-10"},
            "medications[0].name: expected a non-empty",
        ),
        ({"name": "doxycycline", "class": "tetracycline"}, "medications[0].from: is required"),
        (
            {"name": "doxycycline", "class": "tetracycline", "from": "2025-02-30"},
            "medications[0].from: 2025-02-30 is not a valid date",
        ),
        (
            {"name": "doxycycline", "class": "tetracycline", "from": "2025-09-10", "to": "2025-09-09"},
            "medications[0].to: 2025-09-09 is before its from date 2025-09-10",
        ),
        (
            {"name": "doxycycline", "class": "tetracycline", "from": "1899-12-31"},
            "medications[0].from: 1899-12-31 is outside the dates isotrack evaluates",
        ),
    ],
)
def test_a_bad_medication_is_refused_naming_its_field(row: dict[str, Any], message: str) -> None:
    with pytest.raises(CourseFileError) as refused:
        parse_course_file(file_with(row))
    assert str(refused.value).startswith(message)


def test_check_history_covers_the_medications_the_django_side_builds() -> None:
    from isotrack.core import check_history

    with pytest.raises(CourseFileError, match=r"^medications\[0\]\.to: .* is before its from date"):
        check_history(simple_course(medications=(Medication("doxycycline", "tetracycline", START, FILL),)))
    with pytest.raises(CourseFileError, match=r"^medications\[0\]\.to: 9999-12-31 is outside the dates"):
        check_history(simple_course(medications=(Medication("x", "other", START, dt.date(9999, 12, 31)),)))


# --- TETRACYCLINE_IN_USE and VITAMIN_A_IN_USE ---------------------------------------------------------------


@pytest.mark.parametrize("drug_class", ["tetracycline", "vitamin_a"])
@pytest.mark.parametrize(
    ("phase", "raised"),
    [
        ("qualifying", True),
        ("active", True),
        ("post_course", False),
        ("completed", False),
        ("stopped", False),
    ],
)
def test_a_drug_alert_is_raised_in_qualifying_and_active_only(
    drug_class: str, phase: str, raised: bool
) -> None:
    course_file, day = course_in(phase, Medication("x", drug_class, START - days(60)))  # type: ignore[arg-type]
    assert (CODE_OF_CLASS[drug_class] in alerts_of(course_file, day)) == raised


@pytest.mark.parametrize("drug_class", ["tetracycline", "vitamin_a"])
def test_the_period_includes_both_its_ends(drug_class: Any) -> None:
    code = CODE_OF_CLASS[drug_class]
    day = START + days(20)
    for start, end, raised in [
        (day, None, True),  # from is the day
        (day - days(5), day, True),  # to is the day (inclusive)
        (day - days(5), day - DAY, False),  # ended the day before
        (day + DAY, None, False),  # starts tomorrow: unknown today
    ]:
        course_file, _ = course_in("active", Medication("x", drug_class, start, end))
        assert (code in alerts_of(course_file, day)) == raised, (start, end)


@pytest.mark.parametrize("drug_class", ["tetracycline", "vitamin_a"])
def test_a_drug_alert_is_dated_the_later_of_from_and_the_course_start_never_after_the_day(
    drug_class: Any,
) -> None:
    code = CODE_OF_CLASS[drug_class]
    started_during, day = course_in("active", Medication("x", drug_class, START + days(12)))
    assert alerts_of(started_during, day)[code] == START + days(12)
    taken_before, day = course_in("active", Medication("x", drug_class, START - days(40)))
    assert alerts_of(taken_before, day)[code] == START
    # qualifying, dosing planned from START: the day itself, each day a new date
    planned, day = course_in("qualifying", Medication("x", drug_class, START - days(40)))
    assert alerts_of(planned, day)[code] == day
    assert alerts_of(planned, day + DAY)[code] == day + DAY
    assert alerts_of(planned, START)[code] == START  # the start day is the first day of dosing


def test_a_drug_alert_is_listed_once_dated_by_the_earliest_and_names_every_medication() -> None:
    course_file, day = course_in(
        "active",
        Medication("minocycline", "tetracycline", START + days(15)),
        Medication("doxycycline", "tetracycline", START + days(5), START + days(30)),
        Medication("sarecycline", "tetracycline", START - days(100), START - days(1)),  # ended before it
        Medication("retinol", "vitamin_a", START + days(18)),
    )
    found = evaluate(course_file, day)
    codes = [a.code for a in found.alerts]
    assert codes.count("TETRACYCLINE_IN_USE") == 1
    (tetra,) = [a for a in found.alerts if a.code == "TETRACYCLINE_IN_USE"]
    assert tetra.date == START + days(5)
    assert tetra.detail.index("doxycycline") < tetra.detail.index("minocycline")
    assert "sarecycline" not in tetra.detail
    assert tetra.rule_id == "MED-TETRA" and tetra.explanation.endswith("(MED-TETRA).")
    assert alerts_of(course_file, day)["VITAMIN_A_IN_USE"] == START + days(18)
    assert codes[-2:] == ["TETRACYCLINE_IN_USE", "VITAMIN_A_IN_USE"]  # the spec's order of the vocabulary


def test_other_class_medicines_raise_nothing_whatever_their_name() -> None:
    course_file, day = course_in("active", Medication("doxycycline", "other", START))
    assert not set(alerts_of(course_file, day)) & set(RULE_OF_CODE)


def test_a_drug_alert_is_no_blocking_reason() -> None:
    plain, day = course_in("qualifying")
    taken, _ = course_in("qualifying", Medication("doxycycline", "tetracycline", START - days(10)))
    assert evaluate(taken, day).dispense == evaluate(plain, day).dispense
    assert evaluate(taken, day).dispense.allowed


# --- the tetracycline holds the prescription ----------------------------------------------------------------


def test_the_tetracycline_is_the_fifth_alert_and_holds_the_drug_the_vitamin_a_and_inducer_do_not() -> None:
    assert [c for c in ALERT_ORDER if c != "SELF_HARM_REPORTED"].index("TETRACYCLINE_IN_USE") == 4
    assert ALERT_ACTIONS["TETRACYCLINE_IN_USE"].holds_drug
    assert not ALERT_ACTIONS["VITAMIN_A_IN_USE"].holds_drug
    assert not ALERT_ACTIONS["HORMONAL_METHOD_WEAKENED"].holds_drug
    assert ALERT_ORDER.index("TRIGLYCERIDES_HIGH") < ALERT_ORDER.index("HORMONAL_METHOD_WEAKENED")
    assert ALERT_ORDER.index("HORMONAL_METHOD_WEAKENED") < ALERT_ORDER.index("VITAMIN_A_IN_USE")
    assert ALERT_ORDER.index("VITAMIN_A_IN_USE") < ALERT_ORDER.index("BASELINE_LABS_MISSING")


def test_no_prescription_while_a_tetracycline_alert_is_open_until_a_prescriber_acknowledges_it() -> None:
    started = START + days(12)
    course_file, day = course_in("active", Medication("doxycycline", "tetracycline", started))
    held = proposed_prescription(course_file, day)
    assert not held.proposed
    assert any("(MED-TETRA)" in reason and "acknowledges" in reason for reason in held.reasons)
    step = next_step(course_file, day).step
    assert step is not None and step.code == "ALERT_TETRACYCLINE_IN_USE" and step.rule_id == "MED-TETRA"

    seen = Acknowledgment("TETRACYCLINE_IN_USE", started, started + DAY, "doctor", "doxycycline stopped")
    acknowledged = dataclasses.replace(course_file, acknowledgments=(seen,))
    assert proposed_prescription(acknowledged, day).proposed
    (finding,) = [f for f in evaluate(acknowledged, day).findings if f.alert.code == "TETRACYCLINE_IN_USE"]
    assert not finding.open and not finding.withholds_prescription
    # an acknowledgment of another date is of another alert; one dated after the day is not known yet
    other = dataclasses.replace(seen, alert_date=started + DAY)
    assert not proposed_prescription(dataclasses.replace(course_file, acknowledgments=(other,)), day).proposed
    later = dataclasses.replace(seen, date=day + DAY)
    assert not proposed_prescription(dataclasses.replace(course_file, acknowledgments=(later,)), day).proposed


def test_vitamin_a_and_an_inducer_do_not_hold_the_prescription() -> None:
    course_file, day = course_in(
        "active",
        Medication("retinol", "vitamin_a", START + days(12)),
        Medication("carbamazepine", "enzyme_inducer", START + days(12)),
    )
    assert {"VITAMIN_A_IN_USE", "HORMONAL_METHOD_WEAKENED"} <= set(alerts_of(course_file, day))
    assert not any(
        "MED-VITA" in r or "MED-INDUCER" in r for r in proposed_prescription(course_file, day).reasons
    )


# --- HORMONAL_METHOD_WEAKENED -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "raised"),
    [("qualifying", True), ("active", True), ("post_course", True), ("completed", False), ("stopped", False)],
)
def test_an_inducer_weakens_a_hormonal_method_while_contraception_is_required(
    phase: str, raised: bool
) -> None:
    course_file, day = course_in(phase, Medication("St John's wort", "enzyme_inducer", START - days(50)))
    assert ("HORMONAL_METHOD_WEAKENED" in alerts_of(course_file, day)) == raised


def test_only_a_patient_who_can_get_pregnant() -> None:
    course_file, day = course_in("active", Medication("phenytoin", "enzyme_inducer", START))
    other = dataclasses.replace(course_file, patient=Patient("cannot_get_pregnant"))
    assert "HORMONAL_METHOD_WEAKENED" not in alerts_of(other, day)


@pytest.mark.parametrize(
    ("methods", "raised"),
    [
        (("combined_pill", "male_condom"), True),
        (("iud_hormonal", "male_condom"), True),
        (("implant", "male_condom"), True),
        (("patch", "male_condom"), True),
        (("vaginal_ring", "male_condom"), True),
        (("injection", "male_condom"), True),
        (("progestin_only_pill", "iud_copper"), True),  # counts toward nothing, but it is hormonal
        (("iud_copper", "male_condom"), False),
        (("tubal_sterilization", "male_condom"), False),
        (("abstinence",), False),
    ],
)
def test_only_a_hormonal_method_in_use_that_day(methods: tuple[Any, ...], raised: bool) -> None:
    contraception = tuple(ContraceptionUse(m, START - days(100)) for m in methods)
    course_file, day = course_in(
        "active", Medication("rifampin", "enzyme_inducer", START), contraception=contraception
    )
    assert ("HORMONAL_METHOD_WEAKENED" in alerts_of(course_file, day)) == raised


def test_both_periods_must_include_the_day_to_inclusive() -> None:
    day = START + days(20)
    for pill_end, inducer_end, raised in [
        (day, day, True),
        (day - DAY, None, False),
        (None, day - DAY, False),
    ]:
        course_file, _ = course_in(
            "active",
            Medication("modafinil", "enzyme_inducer", START, inducer_end),
            contraception=(
                ContraceptionUse("combined_pill", START - days(100), pill_end),
                ContraceptionUse("iud_copper", START - days(100)),
            ),
        )
        assert ("HORMONAL_METHOD_WEAKENED" in alerts_of(course_file, day)) == raised, (pill_end, inducer_end)


def test_dated_the_later_of_the_two_starts_of_the_earliest_pair_and_listed_once() -> None:
    course_file, day = course_in(
        "active",
        Medication("topiramate", "enzyme_inducer", START + days(10)),
        Medication("carbamazepine", "enzyme_inducer", START - days(200)),
        contraception=(
            ContraceptionUse("combined_pill", START + days(4)),
            ContraceptionUse("implant", START + days(15)),
            ContraceptionUse("male_condom", START - days(100)),
        ),
    )
    found = [a for a in evaluate(course_file, day).alerts if a.code == "HORMONAL_METHOD_WEAKENED"]
    assert len(found) == 1
    (alert,) = found
    assert alert.date == START + days(4)  # carbamazepine (long before) with the pill started on START + 4
    assert "the combined pill and the implant" in alert.detail
    assert alert.explanation.startswith("Carbamazepine, topiramate, enzyme inducers, can make")
    assert alert.rule_id == "MED-INDUCER"


def test_a_weakened_method_changes_no_blocking_reason() -> None:
    plain, day = course_in("qualifying")
    weakened, _ = course_in("qualifying", Medication("St John's wort", "enzyme_inducer", START - days(60)))
    assert "HORMONAL_METHOD_WEAKENED" in alerts_of(weakened, day)
    assert evaluate(weakened, day).dispense == evaluate(plain, day).dispense


# --- when the answer can change (core.change) ---------------------------------------------------------------


def test_a_medication_s_first_day_and_the_day_after_its_last_are_change_dates() -> None:
    day = START + days(20)
    starts = day + days(5)
    course_file, _ = course_in("active", Medication("doxycycline", "tetracycline", starts, starts + days(7)))
    assert next_step_until_change(course_file, day).changes_on == starts
    last = starts + days(7)
    assert "TETRACYCLINE_IN_USE" in [f.alert.code for f in next_step(course_file, last).findings]
    assert next_step_until_change(course_file, last).changes_on == last + DAY  # to is inclusive
    assert "TETRACYCLINE_IN_USE" not in [f.alert.code for f in next_step(course_file, last + DAY).findings]
    for judged in (day, starts, starts + days(3), last):
        assert_holds_until_change(course_file, judged)


def test_a_drug_alert_before_the_planned_start_changes_every_day() -> None:
    course_file, day = course_in("qualifying", Medication("retinol", "vitamin_a", START - days(30)))
    assert next_step_until_change(course_file, day).changes_on == day + DAY
    assert_holds_until_change(course_file, day)


def test_an_inducer_meeting_a_method_started_later_is_a_change_date() -> None:
    day = START + days(20)
    pill = day + days(4)
    course_file, _ = course_in(
        "active",
        Medication("carbamazepine", "enzyme_inducer", START),
        contraception=(
            ContraceptionUse("iud_copper", START - days(100)),
            ContraceptionUse("combined_pill", pill),
        ),
    )
    assert "HORMONAL_METHOD_WEAKENED" not in alerts_of(course_file, day)
    assert "HORMONAL_METHOD_WEAKENED" in alerts_of(course_file, pill)
    assert assert_holds_until_change(course_file, day) <= pill


def test_the_quality_replay_keeps_the_medication_alerts_the_engine_gives_on_every_day() -> None:
    """core.quality judges the alerts on candidate days only: a medication's and a method's ends, the first
    day a course can be completed, and every day while a drug alert before the planned start is dated the day
    itself."""
    fill = START + days(2)
    course_file = simple_course(
        course=Course(START, END),
        events=(*BASE.events, Dispense(fill, 30)),
        contraception=(
            ContraceptionUse("iud_copper", START - days(100)),
            ContraceptionUse("combined_pill", START - days(100), START + days(50)),
        ),
        medications=(
            Medication("retinol", "vitamin_a", START - days(30), START + days(3)),
            Medication("doxycycline", "tetracycline", START + days(5), START + days(9)),
            Medication("phenytoin", "enzyme_inducer", START + days(12)),
        ),
    )
    through = END + days(80)
    outcome = course_outcome(course_file, through)
    day = START - days(40)
    while day <= through:
        expected = {(a.code, a.date) for a in evaluate(course_file, day).alerts}
        assert expected == {(a.code, a.date) for a in outcome.alerts if a.shown_on(day)}, day
        day += DAY


# --- properties ---------------------------------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
other_medications = st.lists(
    st.builds(
        Medication,
        st.sampled_from(["doxycycline", "sertraline", "multivitamin"]),
        st.just("other"),
        st.integers(-120, 200).map(lambda n: START + days(n)),
        st.none() | st.integers(200, 300).map(lambda n: START + days(n)),
    ),
    min_size=1,
    max_size=3,
)


@PROPERTY
@given(st.one_of(running_courses(), any_course_files()), other_medications, st.integers(-30, 240))
def test_an_other_class_medication_never_changes_the_evaluation(
    course_file: CourseFile, added: list[Medication], offset: int
) -> None:
    day = START + days(offset)
    more = dataclasses.replace(course_file, medications=(*course_file.medications, *added))
    before, after = evaluate(course_file, day), evaluate(more, day)
    assert after.to_dict() == before.to_dict()
    assert after.findings == before.findings
    assert next_step(more, day) == next_step(course_file, day)


@PROPERTY
@given(st.one_of(running_courses(), any_course_files()), st.integers(-30, 240))
def test_medications_change_alerts_only_never_the_dispense_phase_nor_due_items(
    course_file: CourseFile, offset: int
) -> None:
    day = START + days(offset)
    without = dataclasses.replace(course_file, medications=())
    found, plain = evaluate(course_file, day), evaluate(without, day)
    assert (found.phase, found.dispense, found.due, found.dose) == (
        plain.phase,
        plain.dispense,
        plain.due,
        plain.dose,
    )
    assert [a for a in found.alerts if a.code not in RULE_OF_CODE] == list(plain.alerts)
    for alert in found.alerts:
        if alert.code in RULE_OF_CODE:
            assert alert.rule_id == RULE_OF_CODE[alert.code] and alert.date <= day
            assert [a.code for a in found.alerts].count(alert.code) == 1


@PROPERTY
@given(any_course_files())
def test_a_course_file_with_medications_round_trips(course_file: CourseFile) -> None:
    dumped = json.loads(json.dumps(dump_course_file(course_file)))
    assert parse_course_file(dumped) == course_file
    assert len(dumped.get("medications", [])) == len(course_file.medications)
