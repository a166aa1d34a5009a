"""Lab files (CSV or FHIR Bundle) onto the right course: all or nothing, duplicates ignored, units
converted."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from isotrack.clinic.imports.labs import LabFileRejected, import_lab_file
from isotrack.clinic.models import LabResult, PregnancyTest

HEADER = "mrn,loinc,value,unit,date\n"


def test_a_csv_lands_on_the_course_running_on_that_date(nurse, patient, course):
    report = import_lab_file(actor=nurse, content=HEADER + "T-0001,1742-6,35,U/L,2026-06-20\n")
    assert len(report.imported) == 1
    result = LabResult.objects.get()
    assert (result.course, result.test, result.unit, result.value) == (course, "alt", "U/L", Decimal("35.00"))


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(nurse, patient, course):
    content = (
        HEADER
        + "T-0001,2571-8,140,mg/dL,2026-05-20\n"
        + "T-0001,2571-8,abc,mg/dL,2026-05-21\n"
        + "T-0001,1742-6,30,U/L,2026-05-20\n"
    )
    with pytest.raises(LabFileRejected) as rejected:
        import_lab_file(actor=nurse, content=content)
    assert [(r.row, r.reason) for r in rejected.value.rejected] == [(3, "value 'abc' is not a number")]
    assert "row 3" in rejected.value.message
    assert LabResult.objects.count() == 0


def test_unknown_patients_codes_and_units_are_rejected_with_their_reason(nurse, patient, course):
    content = (
        HEADER
        + "T-9999,2571-8,140,mg/dL,2026-05-20\n"
        + "T-0001,1234-5,140,mg/dL,2026-05-20\n"
        + "T-0001,1742-6,140,mg/dL,2026-05-20\n"
    )
    with pytest.raises(LabFileRejected) as rejected:
        import_lab_file(actor=nurse, content=content)
    reasons = {r.row: r.reason for r in rejected.value.rejected}
    assert "no patient" in reasons[2] and "LOINC" in reasons[3]
    assert reasons[4] == "mg/dL is not a unit of ALT: use U/L."  # the words of the page and the API too


def test_duplicates_on_record_or_in_the_file_are_ignored(nurse, patient, course):
    row = "T-0001,2571-8,140,mg/dL,2026-05-20\n"
    first = import_lab_file(actor=nurse, content=HEADER + row + row)
    assert (len(first.imported), first.duplicates) == (1, 1)
    again = import_lab_file(actor=nurse, content=HEADER + row)
    assert (len(again.imported), again.duplicates) == (0, 1)
    assert LabResult.objects.count() == 1


def test_triglycerides_in_mmol_per_litre_are_stored_in_mg_per_dl(nurse, patient, course):
    import_lab_file(actor=nurse, content=HEADER + "T-0001,2571-8,5.65,mmol/L,2026-06-20\n")
    result = LabResult.objects.get()
    assert (result.value, result.unit) == (Decimal("500.42"), "mg/dL")  # 5.65 x 88.57, LAB-TG-HIGH
    # the same result again, in either unit, is a duplicate
    assert (
        import_lab_file(actor=nurse, content=HEADER + "T-0001,2571-8,500.42,mg/dL,2026-06-20\n").duplicates
        == 1
    )


def fhir_bundle(*observations: dict) -> str:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": o} for o in observations]}
    )


def observation(loinc: str, value: float, unit: str, day: str, mrn: str = "T-0001", **extra) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        # no system: the practice's MRN (an identifier of another system is refused)
        "subject": {"identifier": {"value": mrn}},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        **extra,
    }


def test_a_fhir_bundle_of_observations_is_imported_with_the_uln_from_the_reference_range(
    nurse, patient, course
):
    content = fhir_bundle(
        observation(
            "1920-8", 130, "U/L", "2026-06-20T08:30:00-04:00", referenceRange=[{"high": {"value": 40}}]
        ),
        observation("2093-3", 4.9, "mmol/L", "2026-06-20"),
    )
    report = import_lab_file(actor=nurse, content=content)
    assert len(report.imported) == 2
    ast = LabResult.objects.get(test="ast")
    assert (ast.effective_date, ast.uln) == (date(2026, 6, 20), Decimal("40.00"))
    assert LabResult.objects.get(test="cholesterol").unit == "mmol/L"


def test_a_bundle_with_a_preliminary_result_imports_nothing(nurse, patient, course):
    content = fhir_bundle(
        observation("1742-6", 30, "U/L", "2026-06-20"),
        observation("1920-8", 30, "U/L", "2026-06-20", status="preliminary"),
    )
    with pytest.raises(LabFileRejected) as rejected:
        import_lab_file(actor=nurse, content=content)
    assert rejected.value.rejected[0].row == 2
    assert LabResult.objects.count() == 0


def test_an_auditor_cannot_import(auditor, patient, course):
    from isotrack.clinic.errors import NotPermitted

    with pytest.raises(NotPermitted):
        import_lab_file(actor=auditor, content=HEADER + "T-0001,1742-6,35,U/L,2026-06-20\n")


def test_the_api_endpoint_reports_rejected_rows_as_a_problem(nurse_api, patient, course):
    bad = HEADER + "T-0001,1742-6,35,U/L,2026-06-20\nT-0001,1742-6,35,U/L,2026-13-40\n"
    response = nurse_api.post("/api/v1/lab-imports", bad, content_type="text/csv")
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert response.json()["rejected"] == [
        {"row": 3, "reason": "date '2026-13-40' is not an ISO date (YYYY-MM-DD)"}
    ]
    good = nurse_api.post(
        "/api/v1/lab-imports", bad.splitlines()[0] + "\n" + bad.splitlines()[1], content_type="text/csv"
    )
    assert good.status_code == 200 and good.json()["imported"] == 1


def test_the_command_imports_a_file_or_exits_2_naming_the_row(tmp_path, nurse, patient, course, capsys):
    good = tmp_path / "labs.csv"
    good.write_text(HEADER + "T-0001,1742-6,35,U/L,2026-06-20\n")
    call_command("import_labs", str(good), "--as", "nurse")
    assert "1 lab result(s) imported" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "T-0001,1742-6,,U/L,2026-06-20\n")
    with pytest.raises(CommandError) as failure:
        call_command("import_labs", str(bad), "--as", "nurse")
    assert failure.value.returncode == 2 and "row 2" in str(failure.value)
    with pytest.raises(CommandError) as failure:
        call_command("import_labs", str(good), "--as", "nobody")
    assert failure.value.returncode == 2


def test_the_api_answer_keeps_results_for_lab_results_and_lists_pregnancy_tests_apart(
    client, nurse_api, patient, course
):
    content = HEADER + "T-0001,1742-6,35,U/L,2026-11-20\nT-0001,2106-3,Negative,,2026-11-20\n"
    body = nurse_api.post("/api/v1/lab-imports", content, content_type="text/csv").json()
    assert (body["imported"], body["pregnancy_tests_imported"], body["duplicates"]) == (1, 1, 0)
    assert body["results"] == [str(LabResult.objects.get().uuid)]
    assert body["pregnancy_tests"] == [str(PregnancyTest.objects.get().uuid)]
    document = client.get("/api/v1/openapi.json").json()
    answer = document["paths"]["/api/v1/lab-imports"]["post"]["responses"]["200"]["content"][
        "application/json"
    ]
    schema = document["components"]["schemas"][answer["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"imported", "results", "pregnancy_tests_imported", "pregnancy_tests", "rows"} <= set(
        schema["required"]
    )
