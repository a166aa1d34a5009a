"""The other names of a practice's MRNs (``Practice.mrn_aliases``, set in the practice settings): the EHR's
MRN system and the assigning authority a practice's labs write name the practice's MRNs in the lab import,
CDS Hooks and the FHIR searches; another name names no patient of the practice. Synthetic data only."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from isotrack.api.cds import identify
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.practice_settings import change_settings
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.identifiers import ALIASES_MAX, clean_mrn_aliases, mrn_system, mrn_systems
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
    ],
)
def test_a_name_that_cannot_be_one_is_refused_naming_the_field(given, says):
    with pytest.raises(InvalidInput) as refused:
        clean_mrn_aliases(given)
    assert refused.value.field == "mrn_aliases" and says in refused.value.message


@given(st.lists(st.from_regex(r"[!-~]{1,30}", fullmatch=True), max_size=ALIASES_MAX))
def test_every_name_kept_names_the_practice_s_mrns(aliases):
    aliases = [alias for alias in aliases if not alias.lower().startswith("urn:isotrack:")]
    kept = clean_mrn_aliases(aliases)
    assert clean_mrn_aliases(kept) == kept
    practice = Practice(name="Synthetic", mrn_aliases=kept)
    assert set(kept) | {mrn_system(practice)} <= mrn_systems(practice)


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
