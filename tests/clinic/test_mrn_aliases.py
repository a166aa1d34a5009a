"""The other names of a practice's MRNs (``Practice.mrn_aliases``, set in the practice settings): the EHR's
MRN system and the assigning authority a practice's labs write name the practice's MRNs in the lab import,
CDS Hooks and the FHIR searches; another name names no patient of the practice. Synthetic data only."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from isotrack.api.cds import identify
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.practice_settings import change_settings
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.identifiers import (
    ALIASES_MAX,
    NEVER_MRN_SYSTEMS,
    clean_mrn_aliases,
    mrn_system,
    mrn_systems,
)
from isotrack.clinic.imports.labs import LabFileRejected, import_lab_file
from isotrack.clinic.models import LabResult, Practice, Role
from tests.api.conftest import TokenClient, token_for
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db
EHR_OID = "2.16.840.1.113883.19.5"
MSH = "MSH|^~\\&|ACMELAB|ACME|ISOTRACK|DERM|20261125||ORU^R01|1|P|2.5.1"
OBR = "OBR|1|||24325-3^Hepatic function panel^LN|||20261125"
ALT = "OBX|1|NM|1742-6^ALT^LN||35|U/L|||||F|||20261125"


def message(pid_3: str) -> bytes:
    return "\r".join([MSH, f"PID|1||{pid_3}||Testperson^Avery||20040301", OBR, ALT]).encode()


def named(admin, *aliases: str) -> None:
    change_settings(actor=admin, changes={"mrn_aliases": list(aliases)})
    admin.practice.refresh_from_db()  # the test's users share one Practice instance; a request reads it anew


@pytest.fixture
def admin(practice):
    return make_staff(practice, "manager", Role.PRACTICE_ADMIN)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ([], []),
        ([" ALDERDERM ", "", "ALDERDERM", "urn:oid:1.2.3"], ["ALDERDERM", "urn:oid:1.2.3"]),
        (["http://ehr.example.org/mrn"], ["http://ehr.example.org/mrn"]),
    ],
)
def test_the_names_are_kept_trimmed_in_order_and_once(given, kept):
    assert clean_mrn_aliases(given) == kept


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("ALDERDERM", "a list of text"),
        ([1], "a list of text"),
        (["ALDER DERM"], "without spaces"),
        (["ALDER\x00DERM"], "without spaces"),
        (["x" * 256], "at most 255 characters"),
        ([f"A{n}" for n in range(ALIASES_MAX + 1)], f"At most {ALIASES_MAX}"),
        (["urn:isotrack:mrn:00000000-0000-0000-0000-000000000000"], "isotrack's own systems"),
        (["URN:ISOTRACK:ipledge-id"], "isotrack's own systems"),
        (["MR"], "at least 3 characters"),
        (["LAB&1.2.840.99999.1&ISO"], "HL7's delimiters"),
        (["ISO"], "never an MRN system"),
        (["npi"], "never an MRN system"),
        (["http://hl7.org/fhir/sid/us-ssn"], "never an MRN system"),
        (["urn:oid:2.16.840.1.113883.4.1"], "never an MRN system"),  # the SSN's OID
        (["2.16.840.1.113883.6.1"], "never an MRN system"),  # LOINC's
    ],
)
def test_a_name_that_cannot_be_one_is_refused_naming_the_field(given, says):
    with pytest.raises(InvalidInput) as refused:
        clean_mrn_aliases(given)
    assert refused.value.field == "mrn_aliases" and says in refused.value.message


@given(st.lists(st.from_regex(r"[A-Za-z0-9.:/_-]{3,30}", fullmatch=True), max_size=ALIASES_MAX))
def test_every_name_kept_names_the_practice_s_mrns_and_nothing_else(aliases):
    aliases = [
        alias
        for alias in aliases
        if not alias.lower().startswith("urn:isotrack:") and alias.lower() not in NEVER_MRN_SYSTEMS
    ]
    kept = clean_mrn_aliases(aliases)
    assert clean_mrn_aliases(kept) == kept
    practice = Practice(name="Synthetic", mrn_aliases=kept)
    names = mrn_systems(practice)
    assert set(kept) | {mrn_system(practice)} <= names
    # exactly these names (matched as sets: no other case, no part): only an OID's other spelling is added
    for name in names - set(kept) - {mrn_system(practice)}:
        assert name.removeprefix("urn:oid:") in {alias.removeprefix("urn:oid:") for alias in kept}


def test_an_oid_urn_is_kept_in_lowercase():
    assert clean_mrn_aliases(["URN:OID:1.2.840.99999.7"]) == ["urn:oid:1.2.840.99999.7"]


def test_an_oid_is_one_name_bare_or_as_a_urn():
    practice = Practice(name="Synthetic", mrn_aliases=[f"urn:oid:{EHR_OID}", "LABNS"])
    assert mrn_systems(practice) == {mrn_system(practice), f"urn:oid:{EHR_OID}", EHR_OID, "LABNS"}


def test_a_lab_s_assigning_authority_names_the_practice_s_mrns_once_the_practice_says_so(
    admin, nurse, patient, course
):
    with pytest.raises(LabFileRejected) as refused:
        import_lab_file(actor=nurse, content=message("T-0001^^^ALDERDERM^MR"))
    assert "another assigning authority ('ALDERDERM')" in refused.value.rejected[0].reason
    assert "practice settings" in refused.value.rejected[0].reason
    named(admin, "ALDERDERM", f"urn:oid:{EHR_OID}")
    event = AuditEvent.objects.filter(action=EventCode.PRACTICE_SETTINGS_CHANGE).latest("id")
    assert event.after == {"mrn_aliases": ["ALDERDERM", f"urn:oid:{EHR_OID}"]} and event.before == {
        "mrn_aliases": []
    }
    report = import_lab_file(actor=nurse, content=message("T-0001^^^ALDERDERM^MR"))
    assert [result.test for result in report.imported] == ["alt"]
    by_oid = message(f"T-0001^^^&{EHR_OID}&ISO^MR").replace(b"||35|", b"||36|")
    assert [result.value for result in import_lab_file(actor=nurse, content=by_oid).imported] == [36]
    with pytest.raises(LabFileRejected):  # a name the practice did not give is still another authority's
        import_lab_file(actor=nurse, content=message("T-0001^^^OTHERLAB^MR"))
    assert LabResult.objects.filter(course=course).count() == 2


def test_the_fhir_search_and_cds_hooks_read_the_ehr_s_mrn_system(admin, prescriber, patient, other_practice):
    api = TokenClient(token_for(prescriber))
    system = "http://ehr.example.org/mrn"
    search = f"/fhir/R4/Patient?identifier={system}|T-0001"
    prefetch = {
        "patient": {
            "resourceType": "Patient",
            "id": "ehr-1",
            "identifier": [{"system": system, "value": "T-0001"}],
        }
    }
    assert api.get(search).json()["total"] == 0
    assert identify(prescriber, "ehr-1", prefetch).patient is None
    named(admin, system)
    bundle = api.get(search).json()
    assert bundle["total"] == 1 and bundle["entry"][0]["resource"]["id"] == str(patient.uuid)
    assert identify(prescriber, "ehr-1", prefetch).patient == patient
    other_practice.mrn_aliases = [system]  # another practice naming the same system: its own MRNs only
    other_practice.save()
    outsider = make_staff(other_practice, "outside-doctor", Role.PRESCRIBER)
    assert identify(outsider, "ehr-1", prefetch).patient is None
    assert TokenClient(token_for(outsider)).get(search).json()["total"] == 0


def test_the_settings_page_takes_one_name_per_line_and_refuses_a_bad_one_beside_the_field(admin, practice):
    browser = Client()
    browser.force_login(admin)
    page = browser.get("/practice/settings/").content.decode()
    assert 'name="mrn_aliases"' in page and "Other names of this practice&#x27;s MRNs" in page
    form = {
        "name": practice.name,
        "time_zone": practice.time_zone,
        "rules": practice.rules,
        "ipledge_2026_effective": practice.ipledge_2026_effective.isoformat(),
        "target_mg_per_kg": "150.0",
        "weight_basis": practice.weight_basis,
        "ld_equivalence_factor": "1.25",
        "triglycerides_high_mg_dl": "500",
        "triglycerides_critical_mg_dl": "800",
        "liver_enzyme_uln_multiple": "3.0",
        "liver_enzyme_default_uln": "40",
        "peak_labs_after_days": "60",
        "two_factor": practice.two_factor,
    }
    bad = browser.post("/practice/settings/", {**form, "mrn_aliases": "ALDER DERM"})
    assert bad.status_code == 422 and "without spaces" in bad.content.decode()
    preview = browser.post(
        "/practice/settings/", {**form, "mrn_aliases": "ALDERDERM\r\n\r\nurn:oid:1.2.3\r\n"}
    )
    text = preview.content.decode()
    assert (
        "Other names of this practice&#x27;s MRNs: none → <strong>ALDERDERM, urn:oid:1.2.3</strong>" in text
    )
    digest = text.split('name="confirm" value="')[1].split('"')[0]
    saved = browser.post(
        "/practice/settings/", {**form, "mrn_aliases": "ALDERDERM\r\nurn:oid:1.2.3", "confirm": digest}
    )
    assert saved.status_code == 302
    practice.refresh_from_db()
    assert practice.mrn_aliases == ["ALDERDERM", "urn:oid:1.2.3"]
    assert "ALDERDERM\nurn:oid:1.2.3</textarea>" in browser.get("/practice/settings/").content.decode()


def test_under_an_alias_only_an_mrn_is_an_mrn_and_every_part_of_the_authority_must_be_ours(
    admin, nurse, patient, course
):
    """A lab issues several kinds of number under one namespace (its own PI, an account number): only one
    typed MR (or untyped) is read as the practice's MRN; and an HL7 authority whose namespace id is the
    practice's alias but whose universal id is another's is another authority (namespace ids collide)."""
    named(admin, "ALDERDERM")
    for pid_3, says in (
        ("T-0001^^^ALDERDERM^PI", "is no MRN"),
        ("T-0001^^^ALDERDERM^AN", "is no MRN"),
        ("T-0001^^^ALDERDERM&1.2.840.99999.1&ISO^MR", "another assigning authority"),
    ):
        with pytest.raises(LabFileRejected) as refused:
            import_lab_file(actor=nurse, content=message(pid_3))
        assert says in refused.value.rejected[0].reason, pid_3
    named(admin, "ALDERDERM", "urn:oid:1.2.840.99999.1")
    both = message("T-0001^^^ALDERDERM&1.2.840.99999.1&ISO^MR")
    assert [result.test for result in import_lab_file(actor=nurse, content=both).imported] == ["alt"]


def test_an_alias_counts_in_a_fhir_bundle_and_a_csv(admin, nurse, patient, course):
    named(admin, "http://ehr.example.org/mrn")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "1742-6"}]},
                    "subject": {"identifier": {"system": "http://ehr.example.org/mrn", "value": "T-0001"}},
                    "effectiveDateTime": "2026-11-25",
                    "valueQuantity": {"value": 41, "unit": "U/L"},
                }
            }
        ],
    }
    assert len(import_lab_file(actor=nurse, content=json.dumps(bundle).encode()).imported) == 1
    csv = "mrn,identifier_system,loinc,value,unit,date\nT-0001,http://ehr.example.org/mrn,1920-8,30,U/L,2026-11-25\n"
    assert len(import_lab_file(actor=nurse, content=csv.encode()).imported) == 1


def test_an_ehr_s_number_of_another_type_or_an_odd_system_names_no_one_and_is_never_a_500(
    admin, prescriber, patient
):
    system = "http://ehr.example.org/mrn"
    named(admin, system)

    def prefetched(*identifiers: dict) -> dict:
        return {"patient": {"resourceType": "Patient", "id": "ehr-1", "identifier": list(identifiers)}}

    typed = {"system": system, "value": "T-0001", "type": {"coding": [{"code": "PI"}]}}
    assert identify(prescriber, "ehr-1", prefetched(typed)).patient is None
    typed_mr = {
        **typed,
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
    }
    assert identify(prescriber, "ehr-1", prefetched(typed_mr)).patient == patient
    for odd in ([system], {"a": system}, 7, None):
        assert identify(prescriber, "ehr-1", prefetched({"system": odd, "value": "T-0001"})).patient is None
    api = TokenClient(token_for(prescriber))
    for identifier in ({"system": [system], "value": "T-0001"}, typed):
        body = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "resource": {"resourceType": "Patient", "identifier": [identifier]}},
                {
                    "name": "medication",
                    "resource": {
                        "resourceType": "Medication",
                        "code": {
                            "coding": [
                                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6064"}
                            ]
                        },
                    },
                },
            ],
        }
        answer = api.post(
            "/fhir/R4/GuidanceResponse/$rems-etasu", json.dumps(body), content_type="application/fhir+json"
        )
        assert answer.status_code == 404, answer.content  # names no patient: never a 500


def test_previewing_a_change_of_the_mrn_s_names_judges_no_course(admin, course):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from isotrack.clinic.actions.practice_settings import preview_settings

    with CaptureQueriesContext(connection) as names_only:
        preview = preview_settings(actor=admin, changes={"mrn_aliases": ["ALDERDERM"]})
    assert preview.changed == {"mrn_aliases": ([], ["ALDERDERM"])} and preview.steps_changed == 0
    with CaptureQueriesContext(connection) as with_target:
        preview_settings(actor=admin, changes={"target_mg_per_kg": 120})

    def read_the_course(captured: CaptureQueriesContext) -> bool:  # its facts, to judge it
        return any("clinic_dosesegment" in query["sql"] for query in captured.captured_queries)

    assert read_the_course(with_target) and not read_the_course(names_only)
