"""Lab feeds as labs send them (issue 15, item 4): HL7 v2 ORU^R01, FHIR transaction and collection Bundles,
CSV; the patient by identifier system and value (another assigning authority refused, named); hCG as
pregnancy tests with setting lab; triglycerides and their reference range converted together; results dated
after the practice's today refused; one report listing every row. Synthetic data only."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from isotrack.clinic.actions.courses import end_course, start_course
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.imports import labs
from isotrack.clinic.imports.labs import LabFileRejected, import_lab_file
from isotrack.clinic.models import LabResult, PregnancyTest
from isotrack.core import filing
from tests.api.conftest import TokenClient, token_for
from tests.conftest import clinic_clock

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"


def mrn_system(practice) -> str:
    return f"urn:isotrack:mrn:{practice.uuid}"


def oru_r01(
    authority: str, *, mrn: str = "T-0001", obx_date: str = "20261125083000-0500", hcg: str = ""
) -> str:
    """A lab's ORU^R01: a lipid panel (triglycerides in mmol/L with its range), a hepatic panel (ALT, AST)
    and a urine hCG, as the lines of one message (joined by the caller's segment ending)."""
    hcg = hcg or "260385009^Negative^SCT"
    return "\n".join(
        [
            "MSH|^~\\&|ACMELAB|ACME REFERENCE LAB^2.16.840.1.113883.3.999^ISO|ISOTRACK|ALDER DERM|"
            "20261125093000-0500||ORU^R01^ORU_R01|ACME-0001|P|2.5.1",
            f"PID|1||{mrn}^^^{authority}^MR||Testperson^Avery^^^^^L||20040301|F",
            "PV1|1|O",
            "ORC|RE|ORD1234|LAB5678",
            "OBR|1|ORD1234|LAB5678|24331-1^Lipid panel^LN|||20261125083000-0500||||||||"
            "|1234567890^Prescriber^Pat||||||20261125093000-0500||CH|F",
            "OBX|1|NM|2571-8^Triglyceride [Mass/volume] in Serum or Plasma^LN||2.10"
            f"|mmol/L^millimole per liter^UCUM|0.00-1.70|H|||F|||{obx_date}",
            "OBR|2|ORD1234|LAB5679|24325-3^Hepatic function panel^LN|||20261125083000-0500",
            f"OBX|1|NM|1742-6^Alanine aminotransferase^LN||35|U/L^^UCUM|7-56|N|||F|||{obx_date}",
            f"OBX|2|NM|1920-8^Aspartate aminotransferase^LN||28|U/L^^UCUM|<40|N|||F|||{obx_date}",
            "OBR|3|ORD1234|LAB5680|2106-3^hCG urine^LN|||20261125083000-0500",
            "OBX|1|CWE|2106-3^Choriogonadotropin (pregnancy test) [Presence] in Urine^LN"
            f"||{hcg}||Negative|N|||F|||{obx_date}",
        ]
    )


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"])
def test_the_acceptance_oru_r01_imports_three_labs_and_one_pregnancy_test_on_the_patient(
    nurse, practice, patient, course, ending
):
    message = oru_r01(f"&{mrn_system(practice)}&URI").replace("\n", ending) + ending
    report = import_lab_file(actor=nurse, content=message.encode())
    assert (len(report.imported), len(report.pregnancy_tests), report.duplicates) == (3, 1, 0)
    labs = {result.test: result for result in LabResult.objects.filter(course=course)}
    assert set(labs) == {"triglycerides", "alt", "ast"}
    triglycerides = labs["triglycerides"]  # 2.10 mmol/L x 88.57, and its range with it (LAB-TG-HIGH)
    assert (triglycerides.value, triglycerides.unit) == (Decimal("186.00"), "mg/dL")
    assert (triglycerides.reference_low, triglycerides.reference_high) == (Decimal("0.00"), Decimal("150.57"))
    assert (labs["alt"].uln, labs["alt"].reference_low, labs["ast"].uln) == (
        Decimal("56.00"),
        Decimal("7.00"),
        Decimal("40.00"),
    )
    assert {result.effective_date for result in labs.values()} == {date(2026, 11, 25)}
    test = PregnancyTest.objects.get()
    assert (test.course, test.setting, test.result, test.specimen_date, test.purpose) == (
        course,
        "lab",
        "negative",
        date(2026, 11, 25),
        "screening",  # the core's expected test: the course has no fill yet and no screening test
    )
    assert [(row.row, row.outcome, row.kind) for row in report.rows] == [
        (6, "imported", "lab_result"),
        (8, "imported", "lab_result"),
        (9, "imported", "lab_result"),
        (11, "imported", "pregnancy_test"),
    ]
    assert report.rows[0].detail == "Triglycerides 186.00 mg/dL (given as 2.10 mmol/L) on 2026-11-25"
    again = import_lab_file(actor=nurse, content=message)
    assert (len(again.imported), len(again.pregnancy_tests), again.duplicates) == (0, 0, 4)
    assert {row.outcome for row in again.rows} == {"duplicate"}


def test_the_same_message_from_another_assigning_authority_is_refused_whole_naming_it(nurse, patient, course):
    message = oru_r01("OTHERHOSP&2.16.840.1.113883.19.5&ISO")
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=message)
    assert [row.row for row in refused.value.rejected] == [6, 8, 9, 11]
    assert all("'OTHERHOSP&2.16.840.1.113883.19.5&ISO'" in row.reason for row in refused.value.rejected)
    assert "another assigning authority" in refused.value.message
    assert not LabResult.objects.exists() and not PregnancyTest.objects.exists()


@pytest.mark.parametrize(
    ("pid_3", "imported"),
    [
        ("T-0001^^^{ours}^MR", True),  # this practice's MRN system as the namespace id
        ("T-0001^^^&{ours}&URI^MR", True),  # ... as the universal id
        ("T-0001^^^^MR", True),  # no assigning authority: the practice's MRN, as before
        ("LAB-77^^^ACMELAB^PI~T-0001^^^&{ours}&URI^MR", True),  # ours beside the lab's own: ours is used
        ("9900000001^^^&urn:isotrack:ipledge-id&URI", True),  # the iPLEDGE id's system
        ("LAB-77^^^ACMELAB^PI~T-0001^^^^MR", False),  # no authority beside another's: which MRN is it?
        ("T-0001^^^ACMELAB^MR", False),
        ("T-0001^^^&urn:isotrack:mrn:00000000-0000-0000-0000-000000000000&URI^MR", False),  # another practice
    ],
)
def test_pid_3_is_matched_by_assigning_authority_and_value(nurse, practice, patient, course, pid_3, imported):
    message = oru_r01("x").replace("T-0001^^^x^MR", pid_3.format(ours=mrn_system(practice)))
    if imported:
        assert len(import_lab_file(actor=nurse, content=message).imported) == 3
    else:
        with pytest.raises(LabFileRejected, match="another assigning authority"):
            import_lab_file(actor=nurse, content=message)


def segments(*lines: str) -> str:
    return "\r".join(lines)


MSH = "MSH|^~\\&|ACMELAB|ACME|ISOTRACK|DERM|20261125||ORU^R01|1|P|2.5.1"
PID = "PID|1||T-0001^^^^MR"
OBR = "OBR|1|||24331-1^Lipid panel^LN|||20261125"


@pytest.mark.parametrize(
    ("content", "row", "why"),
    [
        ("MSH|", 1, "does not begin with its separators"),
        ("MSH|^~\\&", 1, "does not begin with its separators"),
        ("MSH|^~\\&|A\x00B", 1, "control character (NUL)"),
        (segments(MSH.replace("ORU^R01", "ADT^A01"), PID), 1, "ADT^A01 (MSH-9), not lab results"),
        (segments(MSH, "OBX|1|NM|1742-6^ALT^LN||35|U/L||||||F|||20261125"), 2, "before any PID"),
        (segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||P"), 4, "is not final (F) or corrected"),
        (segments(MSH, PID, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F"), 3, "no date of the observation"),
        (segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^L||35|U/L|||||F"), 4, "no LOINC code"),
        (segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|normal||||F"), 4, "reference range (OBX-7)"),
        (segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||abc|U/L|||||F"), 4, "'abc' is not a number"),
        (segments(MSH, PID, OBR, "OBX|1|SN|1742-6^ALT^LN||<^5|U/L|||||F"), 4, "is a bound, not a result"),
        (segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||2026"), 4, "names no day"),
        (segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||20261340"), 4, "is not a date"),
        (
            segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||20261125250000-0500"),
            4,
            "not a date",
        ),
        (
            segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||20261125083000+9999"),
            4,
            "not a date",
        ),
        (
            segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||99991231230000-0500"),
            4,
            "cannot be read in the practice's time zone",
        ),
        (
            segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||00010101010000+0500"),
            4,
            "cannot be read in the practice's time zone",
        ),
        (segments(MSH, PID, OBR, "OBX|1|ST|2106-3^hCG^LN||Indeterminate||||||F"), 4, "neither Negative nor"),
        (segments(MSH, PID, OBR, "OBX|1|NM|2106-3^hCG^LN||3|mIU/mL|||||F"), 4, "not a number"),
        (segments(MSH, PID, OBR, "OBX|1|NM|19080-1^hCG^LN||3|mIU/mL|||||F"), 4, "quantitative hCG"),
        (
            segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||20300101"),
            4,
            "cannot be after today",
        ),
        (segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||35|mg/dL|||||F"), 4, "mg/dL is not a unit of ALT"),
        (segments(MSH, PID), 1, "the file holds no results"),
        ("\x0bMSH|^~\\&|" + "^" * 5000 + "\x1c\r", 1, "ORU^R01"),  # framed as MLLP, no type
    ],
)
def test_a_malformed_or_refused_hl7_message_is_a_rejected_row_in_words(
    nurse, patient, course, content, row, why
):
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=content)
    first = refused.value.rejected[0]
    assert first.row == row and why in first.reason, first
    assert not LabResult.objects.exists() and not PregnancyTest.objects.exists()


# ---------------------------------------------------------------------------------------------------- FHIR


def observation(loinc: str, subject: dict, **value) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": subject,
        "effectiveDateTime": "2026-11-25T08:30:00-05:00",
        **value,
    }


def transaction_bundle(patient_identifiers: list[dict], bundle_type: str = "transaction") -> str:
    """A lab's transaction: its Patient (by urn:uuid), a DiagnosticReport and its Observations."""
    subject = {"reference": "urn:uuid:6f1c1f4e-0000-4000-8000-000000000001"}
    results = [
        observation(
            "2571-8",
            subject,
            valueQuantity={
                "value": 2.1,
                "unit": "mmol/L",
                "system": "http://unitsofmeasure.org",
                "code": "mmol/L",
            },
            referenceRange=[{"high": {"value": 1.7, "unit": "mmol/L"}}],
        ),
        observation("1742-6", subject, valueQuantity={"value": 35, "unit": "U/L"}),
        observation(
            "2106-3",
            subject,
            valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260385009", "display": "Negative"}]},
        ),
    ]
    entries = [
        {
            "fullUrl": "urn:uuid:6f1c1f4e-0000-4000-8000-000000000001",
            "resource": {"resourceType": "Patient", "identifier": patient_identifiers},
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": "urn:uuid:6f1c1f4e-0000-4000-8000-000000000002",
            "resource": {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": "24331-1"}]},
                "subject": subject,
                "result": [
                    {"reference": f"urn:uuid:6f1c1f4e-0000-4000-8000-00000000001{n}"} for n in range(3)
                ],
            },
            "request": {"method": "POST", "url": "DiagnosticReport"},
        },
    ]
    entries += [
        {
            "fullUrl": f"urn:uuid:6f1c1f4e-0000-4000-8000-00000000001{n}",
            "resource": resource,
            "request": {"method": "POST", "url": "Observation"},
        }
        for n, resource in enumerate(results)
    ]
    return json.dumps({"resourceType": "Bundle", "type": bundle_type, "entry": entries})


@pytest.mark.parametrize("bundle_type", ["transaction", "collection"])
def test_a_lab_transaction_bundle_with_patient_and_diagnostic_report_imports_its_observations(
    nurse, practice, patient, course, bundle_type
):
    identifiers = [
        {"system": "urn:oid:2.16.840.1.113883.3.999", "value": "LAB-77"},  # the lab's own: beside ours
        {"system": mrn_system(practice), "value": "T-0001"},
    ]
    report = import_lab_file(actor=nurse, content=transaction_bundle(identifiers, bundle_type))
    assert (len(report.imported), len(report.pregnancy_tests)) == (2, 1)
    assert [(row.row, row.outcome, row.kind) for row in report.rows] == [
        (1, "ignored", ""),
        (2, "ignored", ""),
        (3, "imported", "lab_result"),
        (4, "imported", "lab_result"),
        (5, "imported", "pregnancy_test"),
    ]
    assert "DiagnosticReport" in report.rows[1].detail
    triglycerides = LabResult.objects.get(test="triglycerides")
    assert (triglycerides.value, triglycerides.unit, triglycerides.reference_high) == (
        Decimal("186.00"),
        "mg/dL",
        Decimal("150.57"),
    )
    assert PregnancyTest.objects.get().setting == "lab"


@pytest.mark.parametrize(
    ("identifiers", "why"),
    [
        (
            [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "T-0001"}],
            "'urn:oid:2.16.840.1.113883.19.5'",
        ),
        ([{"value": "T-0001"}, {"system": "urn:lab:mrn", "value": "T-0001"}], "'urn:lab:mrn'"),
        ([], "has no identifier"),
    ],
)
def test_a_bundle_whose_patient_is_of_another_system_is_refused_naming_it(
    nurse, patient, course, identifiers, why
):
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=transaction_bundle(identifiers))
    assert [row.row for row in refused.value.rejected] == [3, 4, 5]
    assert all(why in row.reason for row in refused.value.rejected)
    assert not LabResult.objects.exists() and not PregnancyTest.objects.exists()


def test_an_observation_names_its_patient_by_system_and_value(nurse, practice, patient, course):
    def bundle(identifier: dict) -> str:
        resource = observation(
            "1742-6", {"identifier": identifier}, valueQuantity={"value": 35, "unit": "U/L"}
        )
        return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]})

    assert import_lab_file(
        actor=nurse, content=bundle({"system": mrn_system(practice), "value": "T-0001"})
    ).imported
    ipledge = {"system": "urn:isotrack:ipledge-id", "value": "9900000001"}
    assert (
        import_lab_file(actor=nurse, content=bundle(ipledge)).duplicates == 1
    )  # the same result: one patient
    with pytest.raises(LabFileRejected, match="another assigning authority \\('urn:lab:mrn'\\)"):
        import_lab_file(actor=nurse, content=bundle({"system": "urn:lab:mrn", "value": "T-0001"}))


def test_an_observation_without_subject_takes_its_diagnostic_report_s(nurse, patient, course):
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "ALT"},
        "subject": {"identifier": {"value": "T-0001"}},
        "result": [{"reference": "Observation/alt-1"}],
    }
    alt = {**observation("1742-6", {}, valueQuantity={"value": 35, "unit": "U/L"}), "id": "alt-1"}
    del alt["subject"]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": report}, {"resource": alt}],
    }
    assert len(import_lab_file(actor=nurse, content=json.dumps(bundle)).imported) == 1


@pytest.mark.parametrize(
    ("bundle", "why"),
    [
        (
            {"resourceType": "Bundle", "type": "transaction-response", "entry": []},
            "of type 'transaction-response'",
        ),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}, "holds no resource"),
        (
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": observation("1742-6", {"reference": "urn:uuid:nowhere"})}],
            },
            "names no Patient entry of the Bundle",
        ),
    ],
)
def test_a_bundle_that_is_no_lab_feed_is_refused_in_words(nurse, patient, course, bundle, why):
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=json.dumps(bundle))
    assert why in refused.value.rejected[0].reason


# ----------------------------------------------------------------------------------------------------- CSV


HEADER = "mrn,loinc,value,unit,date,reference_low,reference_high,uln\n"


def test_triglycerides_in_mmol_per_litre_are_stored_with_their_range_in_mg_per_dl(nurse, patient, course):
    report = import_lab_file(
        actor=nurse, content=HEADER + "T-0001,2571-8,2.1,mmol/L,2026-11-20,0.5,1.7,1.7\n"
    )
    result = LabResult.objects.get()
    assert (result.value, result.unit) == (Decimal("186.00"), "mg/dL")
    assert (result.reference_low, result.reference_high, result.uln) == (
        Decimal("44.29"),
        Decimal("150.57"),
        Decimal("150.57"),
    )
    assert report.rows[0].detail == "Triglycerides 186.00 mg/dL (given as 2.1 mmol/L) on 2026-11-20"
    # other lipids keep their unit, and their range with it
    import_lab_file(actor=nurse, content=HEADER + "T-0001,2093-3,4.9,mmol/L,2026-11-20,,5.2,\n")
    cholesterol = LabResult.objects.get(test="cholesterol")
    assert (cholesterol.unit, cholesterol.reference_high) == ("mmol/L", Decimal("5.20"))


def test_a_csv_hcg_row_is_a_pregnancy_test_and_its_system_column_is_read(nurse, practice, patient, course):
    header = "mrn,identifier_system,loinc,value,unit,date\n"
    report = import_lab_file(
        actor=nurse,
        content=header
        + f"T-0001,{mrn_system(practice)},2118-8,Positive,,2026-11-20\n"
        + "T-0001,,1742-6,35,U/L,2026-11-20\n",
    )
    test = PregnancyTest.objects.get()
    assert (test.result, test.setting, test.purpose) == ("positive", "lab", "screening")
    assert [row.outcome for row in report.rows] == ["imported", "imported"]
    with pytest.raises(LabFileRejected, match="another assigning authority \\('urn:oid:1.2.3'\\)"):
        import_lab_file(actor=nurse, content=header + "T-0001,urn:oid:1.2.3,1742-6,36,U/L,2026-11-20\n")


def test_hcg_tests_of_one_file_take_the_purposes_the_core_expects_in_turn(nurse, patient, course):
    content = "mrn,loinc,value,unit,date\nT-0001,2106-3,NEG,,2026-11-02\nT-0001,2106-3,Negative,,2026-11-20\n"
    import_lab_file(actor=nurse, content=content)
    assert list(PregnancyTest.objects.values_list("purpose", "specimen_date")) == [
        ("screening", date(2026, 11, 2)),
        ("confirmation", date(2026, 11, 20)),
    ]


def test_a_pregnancy_test_the_core_expects_none_of_is_refused_with_its_reason(
    nurse, prescriber, patient, course
):
    header = "mrn,loinc,value,unit,date\n"
    import_lab_file(actor=nurse, content=header + "T-0001,2106-3,Positive,,2026-11-02\n")
    with pytest.raises(LabFileRejected, match="a positive test has stopped it"):  # the course is stopped
        import_lab_file(actor=nurse, content=header + "T-0001,2106-3,Negative,,2026-11-20\n")
    register_patient(
        actor=prescriber,
        mrn="T-0002",
        given_name="Blake",
        family_name="Testperson",
        birth_date=date(2000, 1, 1),
        category="cannot_get_pregnant",
    )
    with pytest.raises(LabFileRejected, match="category is cannot get pregnant"):
        import_lab_file(actor=nurse, content=header + "T-0002,2106-3,Negative,,2026-11-20\n")


# ---------------------------------------------------------------------------------------------- the dates


def test_a_result_dated_after_the_practice_s_today_is_refused_per_row(nurse, patient, course):
    content = (
        "mrn,loinc,value,unit,date\n"
        "T-0001,1742-6,35,U/L,2030-01-01\n"
        "T-0001,1920-8,30,U/L,2026-11-20\n"
        "T-0001,2106-3,Negative,,2026-12-02\n"
    )
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=content)
    assert [(row.row, row.reason) for row in refused.value.rejected] == [
        (2, "A result cannot be after today (2026-12-01): 2030-01-01 was entered."),
        (4, "A specimen cannot be after today (2026-12-01): 2026-12-02 was entered."),
    ]
    assert not LabResult.objects.exists()


def test_today_is_the_practice_s_in_its_time_zone(nurse, patient, course):
    content = "mrn,loinc,value,unit,date\nT-0001,1742-6,35,U/L,2026-12-02\n"
    # 03:00 UTC on 2 December is still 1 December in New York
    with clinic_clock(datetime(2026, 12, 2, 3, 0, tzinfo=UTC)), pytest.raises(LabFileRejected):
        import_lab_file(actor=nurse, content=content)
    with clinic_clock(datetime(2026, 12, 2, 15, 0, tzinfo=UTC)):
        assert len(import_lab_file(actor=nurse, content=content).imported) == 1


# ------------------------------------------------------------------------------------ the report's readers


def test_the_api_answer_lists_every_row_and_keeps_its_fields(nurse, practice, patient, course):
    api = TokenClient(token_for(nurse))
    message = oru_r01(f"&{mrn_system(practice)}&URI").replace("\n", "\r")
    answer = api.post("/api/v1/lab-imports", message, content_type="x-application/hl7-v2+er7")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["imported"], body["duplicates"], body["rejected"]) == (
        3,
        0,
        [],
    )  # the lab results, as before
    assert [(row["row"], row["outcome"], row["kind"]) for row in body["rows"]] == [
        (6, "imported", "lab_result"),
        (8, "imported", "lab_result"),
        (9, "imported", "lab_result"),
        (11, "imported", "pregnancy_test"),
    ]
    records = {row["kind"]: [] for row in body["rows"]}
    for row in body["rows"]:
        records[row["kind"]].append(row["record"])
    # `results` holds the lab results alone, as before; the pregnancy tests have their own list and count
    assert sorted(body["results"]) == sorted(records["lab_result"])
    assert sorted(body["results"]) == sorted(
        str(pk) for pk in LabResult.objects.values_list("uuid", flat=True)
    )
    assert body["pregnancy_tests"] == records["pregnancy_test"] == [str(PregnancyTest.objects.get().uuid)]
    assert body["pregnancy_tests_imported"] == 1
    refused = api.post(
        "/api/v1/lab-imports",
        oru_r01("OTHERHOSP").replace("\n", "\r"),
        content_type="x-application/hl7-v2+er7",
    )
    assert refused.status_code == 422 and "'OTHERHOSP'" in refused.json()["rejected"][0]["reason"]


def test_the_command_lists_every_row_or_every_bad_row(tmp_path, nurse, practice, patient, course, capsys):
    good = tmp_path / "acme.hl7"
    good.write_text(oru_r01(f"&{mrn_system(practice)}&URI").replace("\n", "\r"))
    call_command("import_labs", str(good), "--as", "nurse")
    out = capsys.readouterr().out
    assert (
        "row 11: imported: pregnancy test (urine hCG) negative on 2026-11-25, screening, setting lab" in out
    )
    assert (
        "3 lab result(s) imported, 1 pregnancy test(s) imported, 0 duplicate(s) ignored, 0 row(s) left out "
        "(no result isotrack tracks)." in out
    )
    bad = tmp_path / "other.hl7"
    bad.write_text(oru_r01("OTHERHOSP").replace("\n", "\r"))
    with pytest.raises(CommandError) as failure:
        call_command("import_labs", str(bad), "--as", "nurse")
    assert failure.value.returncode == 2
    err = capsys.readouterr().err
    assert [line.split(":")[0] for line in err.splitlines()] == ["row 6", "row 8", "row 9", "row 11"]


# ------------------------------------------------------------------------------------ the review's findings

ALT = "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def another_patient(prescriber, mrn: str = "LAB-1", *, ipledge_id: str = "", course: bool = True):
    """A second patient of the practice, with a course from 2026-06-01: a result misfiled would land on it."""
    other = register_patient(
        actor=prescriber,
        mrn=mrn,
        given_name="Casey",
        family_name="Otherperson",
        birth_date=date(1990, 5, 5),
        category="can_get_pregnant",
        ipledge_id=ipledge_id,
    )
    if course:
        start_course(
            actor=prescriber,
            patient=other,
            prescriber=prescriber,
            start=date(2026, 6, 1),
            mg_per_day=Decimal(40),
            product="conventional",
        )
    return other


def collection(*resources: dict) -> str:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    )


def hcg(value: dict, subject: dict | None = None, **extra) -> dict:
    return observation("2106-3", subject or {"identifier": {"value": "T-0001"}}, **value, **extra)


def alt(subject: dict | None = None, value: float = 35, **extra) -> dict:
    return observation(
        "1742-6",
        subject or {"identifier": {"value": "T-0001"}},
        valueQuantity={"value": value, "unit": "U/L"},
        **extra,
    )


NEGATIVE_SCT = {"coding": [{"system": SNOMED, "code": "260385009", "display": "Negative"}]}


# 1. OBX-5: one value a row


@pytest.mark.parametrize(
    "obx",
    [
        "OBX|1|ST|2106-3^hCG^LN||Negative~Positive||||||F",
        "OBX|1|CWE|2106-3^hCG^LN||260385009^Negative^SCT~10828004^Positive^SCT||||||F",
        "OBX|1|CWE|2106-3^hCG^LN||260385009^Negative^SCT~260385009^Negative^SCT||||||F",  # even agreeing
        "OBX|1|ST|2106-3^hCG^LN||Negative^Positive||||||F",
        "OBX|1|NM|1742-6^ALT^LN||35~400|U/L|||||F",
        "OBX|1|NM|1742-6^ALT^LN||35^400|U/L|||||F",
    ],
)
def test_an_obx_5_holding_several_values_is_refused_not_read_by_its_first(nurse, patient, course, obx):
    with pytest.raises(LabFileRejected, match="OBX-5 holds several values") as refused:
        import_lab_file(actor=nurse, content=segments(MSH, PID, OBR, obx))
    assert [row.row for row in refused.value.rejected] == [4]
    assert not LabResult.objects.exists() and not PregnancyTest.objects.exists()


# 2. a pregnancy test's words, every one of them, and its flags


@pytest.mark.parametrize(
    ("obx", "why"),
    [
        ("OBX|1|CWE|2106-3^hCG^LN||NEG^Weakly positive^L||||||F", "'Weakly positive' is not one"),
        ("OBX|1|CWE|2106-3^hCG^LN||12345^Negative^99LAB||||||F", "'12345' is not one"),  # a code unread
        ("OBX|1|ST|2106-3^hCG^LN||Not negative||||||F", "is neither Negative nor Positive"),
        ("OBX|1|ST|2106-3^hCG^LN||Negative|||A|||F", "'A' says Positive"),
        ("OBX|1|ST|2106-3^hCG^LN||Negative|||AA|||F", "'AA' says Positive"),
        ("OBX|1|ST|2106-3^hCG^LN||Negative|||H|||F", "'H' says Positive"),
        ("OBX|1|ST|2106-3^hCG^LN||Negative|||N~POS|||F", "'POS' says Positive"),
        ("OBX|1|CWE|2106-3^hCG^LN||10828004^Positive^SCT|||N|||F", "'N' says Negative"),
        ("OBX|1|ST|2106-3^hCG^LN||Negative|||IND|||F", "'IND' is not one isotrack reads on a pregnancy test"),
    ],
)
def test_a_pregnancy_test_with_a_word_or_flag_unread_or_disagreeing_is_refused(
    nurse, patient, course, obx, why
):
    with pytest.raises(LabFileRejected, match=re.escape(why)):
        import_lab_file(actor=nurse, content=segments(MSH, PID, OBR, obx))
    assert not PregnancyTest.objects.exists()


@pytest.mark.parametrize(
    ("obx", "result"),
    [
        ("OBX|1|ST|2106-3^hCG^LN|| negative |||N|||F", "negative"),
        ("OBX|1|CWE|2106-3^hCG^LN||260385009^Negative (qualifier value)^SCT||||||F", "negative"),
        ("OBX|1|CWE|2106-3^hCG^LN||NEG^Not detected^L|||N|||F", "negative"),
        ("OBX|1|CWE|2106-3^hCG^LN||10828004^Positive^SCT|||A|||F", "positive"),
    ],
)
def test_a_pregnancy_test_whose_words_and_flags_agree_is_filed(nurse, patient, course, obx, result):
    import_lab_file(actor=nurse, content=segments(MSH, PID, OBR, obx))
    assert PregnancyTest.objects.get().result == result


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (
            {"valueCodeableConcept": {**NEGATIVE_SCT, "text": "Not negative - see comment"}},
            "'Not negative - see comment' is not one",
        ),
        (
            {
                "valueCodeableConcept": NEGATIVE_SCT,
                "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "POS"}]}],
            },
            "'POS' says Positive",
        ),
        ({"valueString": "Negative", "interpretation": [{"text": "Abnormal"}]}, "'Abnormal' says Positive"),
        (
            {"valueCodeableConcept": {"coding": [{"system": "http://acme.example/codes", "code": "12345"}]}},
            "neither Negative nor Positive",
        ),
    ],
)
def test_a_fhir_pregnancy_test_with_a_word_or_interpretation_unread_or_disagreeing_is_refused(
    nurse, patient, course, value, why
):
    with pytest.raises(LabFileRejected, match=re.escape(why)):
        import_lab_file(actor=nurse, content=collection(hcg(value)))
    assert not PregnancyTest.objects.exists()


def test_a_fhir_negative_interpreted_negative_is_filed(nurse, patient, course):
    value = {
        "valueCodeableConcept": NEGATIVE_SCT,
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "NEG", "display": "Negative"}]}],
    }
    import_lab_file(actor=nurse, content=collection(hcg(value)))
    assert PregnancyTest.objects.get().result == "negative"


# 3. an identifier without authority is an MRN only if its type is MR (or none)


def test_an_hl7_identifier_without_authority_is_an_mrn_only_if_its_type_is_mr(
    nurse, prescriber, patient, course
):
    other = another_patient(prescriber, "LAB-1")
    import_lab_file(actor=nurse, content=segments(MSH, "PID|1||LAB-1^^^^PI~T-0001^^^^MR", OBR, ALT))
    assert LabResult.objects.get().course == course  # T-0001's: LAB-1 is the lab's own id (PI)
    with pytest.raises(LabFileRejected, match="no patient identifier isotrack reads: 'LAB-1' of type PI"):
        import_lab_file(actor=nurse, content=segments(MSH, "PID|1||LAB-1^^^^PI", OBR, ALT))
    with pytest.raises(LabFileRejected, match=r"name 2 different patients .*MRN 'LAB-1'.*MRN 'T-0001'"):
        import_lab_file(actor=nurse, content=segments(MSH, "PID|1||LAB-1^^^^MR~T-0001", OBR, ALT))
    assert not LabResult.objects.filter(course__patient=other).exists()


def test_a_fhir_identifier_without_system_is_an_mrn_only_if_its_type_is_mr(
    nurse, prescriber, patient, course
):
    other = another_patient(prescriber, "LAB-1")
    v2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
    identifiers = [
        {"value": "LAB-1", "type": {"coding": [{"system": v2_0203, "code": "PI"}]}},
        {"value": "T-0001", "type": {"coding": [{"system": v2_0203, "code": "MR"}]}},
    ]
    report = import_lab_file(actor=nurse, content=transaction_bundle(identifiers))
    assert (len(report.imported), len(report.pregnancy_tests)) == (2, 1)
    assert {result.course for result in LabResult.objects.all()} == {course}
    assert not LabResult.objects.filter(course__patient=other).exists()


# 4. every identifier of this practice's names the one patient


def test_every_practice_identifier_must_name_the_same_patient(nurse, prescriber, practice, patient, course):
    another_patient(prescriber, "T-0002", ipledge_id="9900000002")
    ours, ipledge = f"&{mrn_system(practice)}&URI", "&urn:isotrack:ipledge-id&URI"
    for pid_3, why in [
        (
            f"T-0001^^^{ours}^MR~9900000002^^^{ipledge}",
            r"name 2 different patients .*iPLEDGE id '9900000002'",
        ),
        (f"9900000001^^^{ipledge}~T-0009^^^{ours}^MR", "no patient MRN 'T-0009' in this practice"),
        (f"T-0001^^^{ours}^MR~T-0002^^^^MR", r"name 2 different patients .*MRN 'T-0002'"),
    ]:
        with pytest.raises(LabFileRejected, match=why):
            import_lab_file(actor=nurse, content=segments(MSH, f"PID|1||{pid_3}", OBR, ALT))
    assert not LabResult.objects.exists()
    agreeing = f"PID|1||9900000001^^^{ipledge}~T-0001^^^{ours}^MR~T-0001^^^^MR"
    import_lab_file(actor=nurse, content=segments(MSH, agreeing, OBR, ALT))
    assert LabResult.objects.get().course == course


def test_a_fhir_subject_s_identifier_and_reference_must_name_the_same_patient(
    nurse, prescriber, practice, patient, course
):
    other = another_patient(prescriber, "T-0002")
    ours = {"system": mrn_system(practice), "value": "T-0001"}
    with pytest.raises(LabFileRejected, match=r"name 2 different patients .*'Patient/"):
        import_lab_file(
            actor=nurse, content=collection(alt({"identifier": ours, "reference": f"Patient/{other.uuid}"}))
        )
    # the subject's identifier against the identifiers of the Patient entry its reference names
    bundle = json.loads(transaction_bundle([{"system": mrn_system(practice), "value": "T-0002"}]))
    for entry in bundle["entry"][2:]:
        entry["resource"]["subject"]["identifier"] = ours
    with pytest.raises(LabFileRejected, match="name 2 different patients") as refused:
        import_lab_file(actor=nurse, content=json.dumps(bundle))
    assert [row.row for row in refused.value.rejected] == [3, 4, 5]
    assert not LabResult.objects.exists()
    import_lab_file(
        actor=nurse, content=collection(alt({"identifier": ours, "reference": f"Patient/{patient.uuid}"}))
    )
    assert LabResult.objects.get().course == course


# 5. the birth date given is the patient's


def test_a_birth_date_given_that_is_not_the_patient_s_refuses_the_row(nurse, patient, course):
    with pytest.raises(
        LabFileRejected, match=re.escape("birth date given (PID-7 1980-01-01) does not match")
    ):
        import_lab_file(actor=nurse, content=segments(MSH, "PID|1||T-0001||||19800101", OBR, ALT))
    with pytest.raises(LabFileRejected, match=re.escape("the birth date (PID-7) '19801301' is not a date")):
        import_lab_file(actor=nurse, content=segments(MSH, "PID|1||T-0001||||19801301", OBR, ALT))
    bundle = json.loads(transaction_bundle([{"value": "T-0001"}]))
    bundle["entry"][0]["resource"]["birthDate"] = "1980-01-01"
    with pytest.raises(LabFileRejected, match=re.escape("(Patient.birthDate 1980-01-01) does not match")):
        import_lab_file(actor=nurse, content=json.dumps(bundle))
    assert not LabResult.objects.exists()
    import_lab_file(
        actor=nurse, content=segments(MSH, "PID|1||T-0001||Testperson^Avery||20040301|F", OBR, ALT)
    )
    bundle["entry"][0]["resource"]["birthDate"] = "2004-03-01"
    assert len(import_lab_file(actor=nurse, content=json.dumps(bundle)).imported) == 1  # ALT 35: a duplicate
    assert LabResult.objects.count() == 2


# 6. a production message only


@pytest.mark.parametrize(
    ("processing", "why"),
    [
        ("T", "processing id (MSH-11) is 'T' (training)"),
        ("D", "processing id (MSH-11) is 'D' (debugging)"),
        ("X", "processing id (MSH-11) is 'X' (not production)"),
        ("", "no processing id (MSH-11)"),
    ],
)
def test_a_message_that_is_not_production_is_refused(nurse, patient, course, processing, why):
    header = MSH.replace("|1|P|2.5.1", f"|1|{processing}|2.5.1")
    with pytest.raises(LabFileRejected, match=re.escape(why)) as refused:
        import_lab_file(actor=nurse, content=segments(header, PID, OBR, ALT))
    assert refused.value.rejected[0].row == 1
    assert not LabResult.objects.exists()


# 7. pregnancy tests in date order, whatever the file's order


def test_a_file_s_pregnancy_tests_take_their_purposes_in_date_order(nurse, patient, course):
    content = "mrn,loinc,value,unit,date\nT-0001,2106-3,Negative,,2026-11-20\nT-0001,2106-3,NEG,,2026-11-02\n"
    report = import_lab_file(actor=nurse, content=content)
    assert list(PregnancyTest.objects.order_by("specimen_date").values_list("purpose", "specimen_date")) == [
        ("screening", date(2026, 11, 2)),
        ("confirmation", date(2026, 11, 20)),
    ]
    assert [(row.row, row.outcome) for row in report.rows] == [(2, "imported"), (3, "imported")]


# 8. a structured numeric range or ratio is no result


@pytest.mark.parametrize("value", ["^150^-^900", "^1^:^2", "=^150^-^900"])
def test_a_structured_numeric_range_or_ratio_is_refused(nurse, patient, course, value):
    with pytest.raises(LabFileRejected, match="is a range or a ratio"):
        import_lab_file(
            actor=nurse, content=segments(MSH, PID, OBR, f"OBX|1|SN|1742-6^ALT^LN||{value}|U/L|||||F")
        )
    assert not LabResult.objects.exists()


# 9. the course a result belongs to


@pytest.fixture
def two_courses(prescriber, patient, course):
    """Course A from 2026-06-01 to 2026-08-15; course B planned from 2026-12-20."""
    ended = end_course(actor=prescriber, course=course, end=date(2026, 8, 15))
    following = start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=date(2026, 12, 20),
        mg_per_day=Decimal(40),
        product="conventional",
    )
    return ended, following


@pytest.mark.parametrize(
    ("day", "which"),
    [
        ("2026-08-15", "A"),  # its last dose
        ("2026-09-10", "A"),  # the test 30 days after A's last dose (B's start is far off)
        ("2026-09-19", "A"),  # 35 days after
        ("2026-09-20", None),  # 36 days after A, 91 before B
        ("2026-10-20", None),  # 61 days before B
        ("2026-10-21", "B"),  # 60 days before B: its screening test
    ],
)
def test_a_pregnancy_test_outside_every_course_lands_only_where_it_fits(nurse, two_courses, day, which):
    courses = dict(zip("AB", two_courses, strict=True))
    content = f"mrn,loinc,value,unit,date\nT-0001,2106-3,Negative,,{day}\n"
    if which is None:
        with pytest.raises(LabFileRejected, match=f"no course was dosing on {day}"):
            import_lab_file(actor=nurse, content=content)
        assert not PregnancyTest.objects.exists()
    else:
        import_lab_file(actor=nurse, content=content)
        assert PregnancyTest.objects.get().course == courses[which]


def test_a_pregnancy_test_that_may_be_either_course_s_is_refused(nurse, prescriber, patient, course):
    end_course(actor=prescriber, course=course, end=date(2026, 10, 15))
    start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=date(2026, 12, 10),
        mg_per_day=Decimal(40),
        product="conventional",
    )
    with pytest.raises(LabFileRejected, match="which course's test it is, isotrack does not guess"):
        import_lab_file(
            actor=nurse, content="mrn,loinc,value,unit,date\nT-0001,2106-3,Negative,,2026-11-01\n"
        )


def test_a_lab_outside_every_course_lands_on_the_next_course_else_the_last(nurse, two_courses):
    first, following = two_courses
    content = "mrn,loinc,value,unit,date\nT-0001,1742-6,35,U/L,2026-05-20\nT-0001,1920-8,30,U/L,2026-10-01\n"
    import_lab_file(actor=nurse, content=content)
    assert LabResult.objects.get(test="alt").course == first  # a baseline before A, not on the latest course
    assert LabResult.objects.get(test="ast").course == following


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 5, 31), 0),  # before A: a lab is A's baseline
        (date(2026, 6, 1), 0),
        (date(2026, 9, 1), 1),  # between A and B: B's baseline
        (date(2027, 3, 1), 1),  # after B ended: the course that ended last
    ],
)
def test_the_core_files_a_lab_on_the_course_running_else_the_next_else_the_last(day, expected):
    courses = [
        filing.CourseDates(date(2026, 6, 1), date(2026, 8, 15)),
        filing.CourseDates(date(2026, 12, 20), date(2027, 1, 31)),
    ]
    assert filing.course_for_lab(courses, day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 9, 19), 0),
        (date(2026, 9, 20), None),
        (date(2026, 10, 20), None),
        (date(2026, 10, 21), 1),
        (date(2026, 4, 1), None),  # more than 60 days before A
        (date(2026, 4, 2), 0),
    ],
)
def test_the_core_files_a_pregnancy_test_only_within_its_windows(day, expected):
    courses = [
        filing.CourseDates(date(2026, 6, 1), date(2026, 8, 15)),
        filing.CourseDates(date(2026, 12, 20)),
    ]
    chosen = filing.course_for_pregnancy_test(courses, day)
    assert chosen.index == expected
    assert bool(chosen.problem) == (expected is None)


# 10. a corrected result is corrected in isotrack; a withdrawn one voided there


def test_a_corrected_result_of_one_on_record_is_refused_with_the_way_to_correct_it(nurse, patient, course):
    import_lab_file(actor=nurse, content="mrn,loinc,value,unit,date\nT-0001,1742-6,35,U/L,2026-11-25\n")
    corrected = segments(MSH, PID, OBR, "OBX|1|NM|1742-6^ALT^LN||350|U/L|||||C|||20261125")
    with pytest.raises(LabFileRejected, match="correct that result in isotrack"):
        import_lab_file(actor=nurse, content=corrected)
    for status in ("corrected", "amended"):
        with pytest.raises(LabFileRejected, match="correct that result in isotrack"):
            import_lab_file(actor=nurse, content=collection(alt(value=350, status=status)))
    assert list(LabResult.objects.values_list("value", flat=True)) == [Decimal("35.00")]
    # the corrected value is the one on record (a file sent again): a duplicate
    assert import_lab_file(actor=nurse, content=corrected.replace("||350|", "||35|")).duplicates == 1
    # an original and its correction in one file
    both = segments(
        MSH,
        PID,
        OBR,
        "OBX|1|NM|1742-6^ALT^LN||40|U/L|||||F|||20261120",
        "OBX|2|NM|1742-6^ALT^LN||400|U/L|||||C|||20261120",
    )
    with pytest.raises(LabFileRejected, match="of the same test and date in this file") as refused:
        import_lab_file(actor=nurse, content=both)
    assert [row.row for row in refused.value.rejected] == [5]
    assert LabResult.objects.count() == 1


def test_a_corrected_pregnancy_test_of_one_on_record_is_refused(nurse, patient, course):
    import_lab_file(actor=nurse, content="mrn,loinc,value,unit,date\nT-0001,2106-3,Negative,,2026-11-25\n")
    corrected = segments(MSH, PID, OBR, "OBX|1|ST|2106-3^hCG^LN||Positive||||||C")
    with pytest.raises(LabFileRejected, match="correct that result in isotrack"):
        import_lab_file(actor=nurse, content=corrected)
    assert list(PregnancyTest.objects.values_list("result", flat=True)) == ["negative"]


@pytest.mark.parametrize("status", ["W", "D"])
def test_a_result_the_lab_withdrew_is_refused_in_its_own_words(nurse, patient, course, status):
    withdrawn = f"the lab withdrew this result (OBX-11 {status}"
    with pytest.raises(LabFileRejected, match=re.escape(withdrawn)) as refused:
        import_lab_file(actor=nurse, content=segments(MSH, PID, OBR, ALT[:-1] + status))
    assert refused.value.rejected[0].reason.endswith("if it was imported, void it in isotrack")
    with pytest.raises(
        LabFileRejected, match=re.escape("the lab withdrew this result (status entered-in-error)")
    ):
        import_lab_file(actor=nurse, content=collection(alt(status="entered-in-error")))


# 11. a moment with its offset is dated in the practice's time zone


def test_a_moment_with_its_offset_is_dated_by_the_practice_s_day(nurse, patient, course):
    import_lab_file(actor=nurse, content=collection(alt(effectiveDateTime="2026-11-21T02:00:00Z")))
    ast_obx = "OBX|1|NM|1920-8^AST^LN||28|U/L|||||F|||20261121020000+0000"
    import_lab_file(actor=nurse, content=segments(MSH, PID, OBR, ast_obx))
    assert {test: day for test, day in LabResult.objects.values_list("test", "effective_date")} == {
        "alt": date(2026, 11, 20),  # 21:00 on 20 November in New York
        "ast": date(2026, 11, 20),
    }
    # without an offset, the day as written
    import_lab_file(
        actor=nurse, content=segments(MSH, PID, OBR, ast_obx.replace("+0000", "").replace("|28|", "|29|"))
    )
    assert LabResult.objects.get(value=29).effective_date == date(2026, 11, 21)
    # 03:00 UTC on 2 December is the practice's 1 December: today, not after it
    import_lab_file(actor=nurse, content=collection(alt(value=36, effectiveDateTime="2026-12-02T03:00:00Z")))
    assert LabResult.objects.get(value=36).effective_date == date(2026, 12, 1)


# 12. a pregnancy test is dated by its collection


def test_a_pregnancy_test_is_dated_by_its_collection_obr_7_a_lab_by_obx_14(nurse, patient, course):
    content = segments(
        MSH,
        PID,
        "OBR|1|||2106-3^hCG^LN|||20261102",
        "OBX|1|ST|2106-3^hCG^LN||Negative||||||F|||20261104",
        "OBX|2|NM|1742-6^ALT^LN||35|U/L|||||F|||20261104",
    )
    import_lab_file(actor=nurse, content=content)
    assert PregnancyTest.objects.get().specimen_date == date(2026, 11, 2)
    assert LabResult.objects.get().effective_date == date(2026, 11, 4)


# 13. a FHIR quantity with a comparator is a bound


def test_a_fhir_quantity_with_a_comparator_is_refused(nurse, patient, course):
    bound = alt()
    bound["valueQuantity"]["comparator"] = ">"
    with pytest.raises(LabFileRejected, match=re.escape("valueQuantity.comparator '>'")):
        import_lab_file(actor=nurse, content=collection(bound))
    assert not LabResult.objects.exists()


# 14. pregnancy tests of one day saying opposite results


def test_pregnancy_tests_of_one_day_saying_negative_and_positive_are_both_refused(nurse, patient, course):
    header = "mrn,loinc,value,unit,date\n"
    both = header + "T-0001,2106-3,Negative,,2026-11-20\nT-0001,2118-8,Positive,,2026-11-20\n"
    with pytest.raises(LabFileRejected, match="say Negative and Positive: neither is filed") as refused:
        import_lab_file(actor=nurse, content=both)
    assert [row.row for row in refused.value.rejected] == [2, 3]
    assert not PregnancyTest.objects.exists()
    import_lab_file(actor=nurse, content=header + "T-0001,2106-3,Negative,,2026-11-20\n")
    with pytest.raises(LabFileRejected, match="a negative pregnancy test of 2026-11-20 is on record"):
        import_lab_file(actor=nurse, content=header + "T-0001,2118-8,Positive,,2026-11-20\n")
    assert list(PregnancyTest.objects.values_list("result", flat=True)) == ["negative"]


# 16. an empty reference names nothing


def test_an_empty_reference_in_a_diagnostic_report_gives_no_subject(nurse, patient, course):
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "ALT"},
        "subject": {"identifier": {"value": "T-0001"}},
        "result": [{"reference": ""}, {"reference": " "}],
    }
    orphan = alt()
    del orphan["subject"]
    with pytest.raises(LabFileRejected, match="no subject") as refused:
        import_lab_file(actor=nurse, content=collection(report, orphan))
    assert [row.row for row in refused.value.rejected] == [2]
    # an Observation listed by two DiagnosticReports of different subjects takes neither
    listed = {**orphan, "id": "alt-1"}
    first = {**report, "result": [{"reference": "Observation/alt-1"}]}
    second = {**first, "subject": {"identifier": {"value": "T-0002"}}}
    with pytest.raises(LabFileRejected, match="DiagnosticReports that list it name different subjects"):
        import_lab_file(actor=nurse, content=collection(first, second, listed))
    assert not LabResult.objects.exists()


# L. the identifier systems belong to the clinic


def test_the_identifier_systems_are_the_clinic_s_and_the_fhir_server_serves_them(practice):
    from isotrack.api.fhir import resources
    from isotrack.clinic import identifiers

    assert (resources.MRN_SYSTEM, resources.IPLEDGE_ID_SYSTEM) == (
        identifiers.MRN_SYSTEM,
        identifiers.IPLEDGE_ID_SYSTEM,
    )
    assert identifiers.mrn_system(practice) == mrn_system(practice)
    tree = ast.parse(Path(labs.__file__).read_text(encoding="utf-8"))
    modules = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [module for module in modules if module.startswith("isotrack.api")]


# A lab sends whole panels: their other results (labs.PANEL_COMPANIONS) are listed as ignored; any other
# LOINC isotrack does not read refuses the row, whatever its name (or none) says.

HEPATIC_PANEL = [
    "OBR|1|||24325-3^Hepatic function panel^LN|||20261125",
    "OBX|1|NM|1742-6^Alanine aminotransferase^LN||35|U/L|||||F",
    "OBX|2|NM|1920-8^Aspartate aminotransferase^LN||28|U/L|||||F",
    "OBX|3|NM|1751-7^Albumin [Mass/volume] in Serum or Plasma^LN||4.4|g/dL|||||F",
    "OBX|4|NM|6768-6^Alkaline phosphatase^LN||71|U/L|||||X",  # a status isotrack would refuse: not read
    "OBX|5|SN|33914-3^Glomerular filtration rate^LN||>^60|mL/min|||||F",  # a bound: not read either
]


def test_a_panel_s_results_isotrack_does_not_track_are_listed_as_ignored(nurse, patient, course):
    report = import_lab_file(actor=nurse, content=segments(MSH, PID, *HEPATIC_PANEL))
    assert {result.test for result in LabResult.objects.filter(course=course)} == {"alt", "ast"}
    assert [(row.row, row.outcome) for row in report.rows] == [
        (4, "imported"),
        (5, "imported"),
        (6, "ignored"),
        (7, "ignored"),
        (8, "ignored"),
    ]
    assert report.rows[2].detail == "LOINC 1751-7 (Albumin): a result isotrack does not track"


def test_a_lipid_panel_s_calculated_results_are_left_out_and_its_measured_ones_imported(
    nurse, patient, course
):
    panel = [
        OBR,
        "OBX|1|NM|2571-8^Triglyceride^LN||140|mg/dL|||||F|||20261125",
        "OBX|2|NM|2093-3^Cholesterol^LN||180|mg/dL|||||F|||20261125",
        "OBX|3|NM|2085-9^HDL Cholesterol^LN||50|mg/dL|||||F|||20261125",
        "OBX|4|NM|13457-7^LDL Cholesterol (calc)^LN||102|mg/dL|||||F|||20261125",
        "OBX|5|NM|13458-5^VLDL Cholesterol (calc)^LN||28|mg/dL|||||F|||20261125",
        "OBX|6|NM|9830-1^Cholesterol/HDL ratio^LN||3.6||||||F|||20261125",
        "OBX|7|NM|43396-1^Non-HDL Cholesterol^LN||130|mg/dL|||||F|||20261125",
    ]
    report = import_lab_file(actor=nurse, content=segments(MSH, PID, *panel))
    assert [(row.row, row.outcome) for row in report.rows][-3:] == [
        (8, "ignored"),
        (9, "ignored"),
        (10, "ignored"),
    ]
    tests = set(LabResult.objects.filter(course=course).values_list("test", flat=True))
    assert tests == {"triglycerides", "cholesterol", "hdl", "ldl"}


@pytest.mark.parametrize(
    "obx",
    [
        "OBX|1|NM|18262-6^Cholesterol in LDL [Mass/volume] by Direct assay^LN||95|mg/dL|||||F",
        "OBX|1|NM|18262-6^^LN||95|mg/dL|||||F",  # no name at all
        "OBX|1|NM|1743-4^ALT with P-5'-P^LN||35|U/L|||||F",
        "OBX|1|NM|3043-7^TRIGLY^LN||180|mg/dL|||||F",
        "OBX|1|NM|LOCAL9^TRIG^L^99999-9^Some code^LN||180|mg/dL|||||F",
        "OBX|1|ST|2112-1^UPT^LN||Positive||||||F",  # a positive pregnancy test must never be left out
    ],
)
def test_a_tracked_result_under_another_loinc_is_refused_never_left_out(nurse, patient, course, obx):
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=segments(MSH, PID, OBR, obx + "|||20261125"))
    (row,) = refused.value.rejected
    assert row.row == 4 and "is not a code isotrack reads" in row.reason
    assert "Triglycerides 2571-8" in row.reason and "hCG 2106-3, 2118-8" in row.reason
    assert not LabResult.objects.exists() and not PregnancyTest.objects.exists()


def test_a_file_of_untracked_results_alone_is_refused_saying_so(nurse, patient, course):
    albumin = "OBX|1|NM|1751-7^Albumin^LN||4.4|g/dL|||||F|||20261125"
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=segments(MSH, PID, OBR, albumin))
    (row,) = refused.value.rejected
    assert row.row == 1 and row.reason.startswith("the file holds no result isotrack tracks (1 row left out")
    assert "LOINC 1751-7 (Albumin)" in row.reason


def test_a_fhir_observation_isotrack_does_not_track_is_listed_as_ignored(nurse, patient, course):
    sodium = observation("2951-2", {"identifier": {"value": "T-0001"}}, valueQuantity={"value": 140})
    sodium["code"]["text"] = "Sodium"
    sodium["status"] = "preliminary"  # not read: the row is left out before its status matters
    direct_ldl = observation("18262-6", {"identifier": {"value": "T-0001"}}, valueQuantity={"value": 95})
    report = import_lab_file(actor=nurse, content=collection(alt(), sodium).encode())
    assert [(row.row, row.outcome) for row in report.rows] == [(1, "imported"), (2, "ignored")]
    assert report.rows[1].detail == "LOINC 2951-2 (Sodium): a result isotrack does not track"
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=collection(alt(value=36), direct_ldl).encode())
    assert [row.row for row in refused.value.rejected] == [2]
    assert LabResult.objects.filter(course=course).count() == 1  # the first file's ALT alone
    panel = observation("24331-1", {"identifier": {"value": "T-0001"}})
    panel["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": "2571-8"}]},
            "valueQuantity": {"value": 900, "unit": "mg/dL"},
        }
    ]  # a triglyceride of 900 mg/dL in a component: never left out
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=collection(alt(value=37), panel).encode())
    (row,) = refused.value.rejected
    assert row.row == 2 and "components, which isotrack does not read" in row.reason


def test_an_unknown_loinc_in_a_csv_made_for_isotrack_is_still_refused(nurse, patient, course):
    content = (
        "mrn,loinc,value,unit,date\nT-0001,1751-7,4.4,g/dL,2026-11-25\nT-0001,1742-6,35,U/L,2026-11-25\n"
    )
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=content.encode())
    (row,) = refused.value.rejected
    assert row.row == 2 and "is not a lab isotrack tracks" in row.reason
