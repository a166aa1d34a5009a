"""FHIR searches apply every parameter they are given or say that they did not: a client matching a patient by
MRN gets that patient and no other; an unsupported parameter is refused when the client asks for strict
handling and named when it does not; dates compare as FHIR's prefixes define (issue 15, item 1)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from hypothesis import given
from hypothesis import strategies as st

from isotrack.api.fhir import search
from isotrack.api.fhir.resources import IPLEDGE_ID_SYSTEM, MRN_SYSTEM
from isotrack.audit.models import AccessEvent
from isotrack.clinic.models import Patient
from tests.api.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db
STRICT = {"HTTP_PREFER": "handling=strict"}


@pytest.fixture
def api(demo):
    return TokenClient(token_for(demo.staff["doctor"]))


def ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def outcomes(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "outcome"]


def self_link(bundle: dict) -> str:
    return next(link["url"] for link in bundle["link"] if link["relation"] == "self")


def test_a_patient_matched_by_mrn_with_its_system_is_that_patient_and_no_other(demo, api):
    patient = Patient.objects.get(practice=demo.practice, mrn="DEMO-000001")
    system = f"{MRN_SYSTEM}:{demo.practice.uuid}"
    bundle = api.get("/fhir/R4/Patient", {"identifier": f"{system}|DEMO-000001"}).json()
    Bundle.model_validate(bundle)
    assert ids(bundle) == [str(patient.uuid)] and bundle["total"] == 1
    assert api.get("/fhir/R4/Patient", {"identifier": "DEMO-000001"}).json()["total"] == 1  # any system
    for elsewhere in (
        f"{MRN_SYSTEM}:{demo.pinned_practice.uuid}|DEMO-000001",  # another practice's MRNs
        "http://hospital.example.org/mrn|DEMO-000001",  # another assigning authority
        "|DEMO-000001",  # an identifier with no system: none of ours
        f"{system}|DEMO-999999",
    ):
        assert api.get("/fhir/R4/Patient", {"identifier": elsewhere}).json()["total"] == 0, elsewhere


def test_an_ipledge_id_finds_its_patient_and_a_system_alone_finds_all_who_have_one(demo, api):
    holders = Patient.objects.filter(practice=demo.practice).exclude(ipledge_id="")
    one = holders.first()
    found = api.get("/fhir/R4/Patient", {"identifier": f"{IPLEDGE_ID_SYSTEM}|{one.ipledge_id}"}).json()
    assert ids(found) == [str(one.uuid)]
    every = api.get("/fhir/R4/Patient", {"identifier": f"{IPLEDGE_ID_SYSTEM}|", "_count": "200"}).json()
    assert sorted(ids(every)) == sorted(str(p.uuid) for p in holders)


def test_names_match_from_their_start_in_any_case_or_exactly_or_within(demo, api):
    patient = Patient.objects.filter(practice=demo.practice).order_by("id").first()
    mine = Patient.objects.filter(practice=demo.practice)

    def found(**query: str) -> set[str]:
        return set(ids(api.get("/fhir/R4/Patient", {**query, "_count": "200"}).json()))

    start = patient.family_name[:3]
    expected = {
        str(p.uuid)
        for p in mine
        if p.family_name.lower().startswith(start.lower()) or p.given_name.lower().startswith(start.lower())
    }
    assert str(patient.uuid) in expected and found(name=start.upper()) == expected
    assert found(family=start.lower()) == {
        str(p.uuid) for p in mine if p.family_name.lower().startswith(start.lower())
    }
    assert str(patient.uuid) in found(**{"family:exact": patient.family_name})
    assert not found(**{"family:exact": patient.family_name.upper() + "X"})
    assert str(patient.uuid) in found(**{"given:contains": patient.given_name[1:-1]})
    # Two parameters must both hold; two values of one parameter, either.
    both = found(family=patient.family_name, given=patient.given_name)
    assert str(patient.uuid) in both and all(
        p.family_name.startswith(patient.family_name) for p in mine if str(p.uuid) in both
    )
    assert found(name=f"{patient.family_name},Zz-nobody") == found(name=patient.family_name)


@pytest.mark.parametrize("prefix", search.PREFIXES)
@pytest.mark.parametrize("precision", [4, 7, 10])
def test_birthdates_compare_as_fhirs_prefixes_define_at_a_years_a_months_or_a_days_precision(
    demo, api, prefix, precision
):
    mine = list(Patient.objects.filter(practice=demo.practice))
    value = sorted(p.birth_date for p in mine)[len(mine) // 2].isoformat()[:precision]
    found = set(ids(api.get("/fhir/R4/Patient", {"birthdate": f"{prefix}{value}", "_count": "200"}).json()))
    criterion = search.date_criterion(f"{prefix}{value}")
    expected = {str(p.uuid) for p in mine if search.date_matches(*criterion, (p.birth_date, p.birth_date))}
    assert found == expected
    assert expected or prefix in (
        "lt",
        "gt",
        "sa",
        "eb",
    )  # the middle patient is matched by eq, ge, le, ne-free


def test_a_parameter_not_supported_is_refused_when_strict_and_named_when_lenient(demo, api):
    refused = api.get("/fhir/R4/Patient", {"gender": "female"}, **STRICT)
    assert refused.status_code == 400 and refused["Content-Type"] == "application/fhir+json"
    issue = refused.json()["issue"][0]
    assert refused.json()["resourceType"] == "OperationOutcome" and "gender" in issue["details"]["text"]

    lenient = api.get("/fhir/R4/Patient", {"gender": "female", "family": "A", "_count": "5"}).json()
    Bundle.model_validate(lenient)
    assert "gender" not in self_link(lenient) and "family=A" in self_link(lenient)
    (warning,) = outcomes(lenient)
    assert warning["issue"][0]["severity"] == "warning" and "gender" in warning["issue"][0]["diagnostics"]
    applied = api.get("/fhir/R4/Patient", {"family": "A", "_count": "5"}).json()
    assert ids(lenient) == ids(applied) and not outcomes(applied)


def test_an_unsupported_modifier_or_a_value_that_is_not_one_is_refused_in_either_mode(demo, api):
    for query in (
        {"identifier:of-type": "MR|1"},
        {"birthdate": "2001-13"},
        {"birthdate": "yesterday"},
        {"name": ""},
        {"_count": "many"},
    ):
        for headers in ({}, STRICT):
            answer = api.get("/fhir/R4/Patient", query, **headers)
            assert answer.status_code == 400, (query, headers)
            assert answer.json()["resourceType"] == "OperationOutcome"


def test_observations_are_searched_by_category_code_and_date_within_the_patient(demo, api):
    patient = demo.courses["treatment_month_3"][0].patient
    url, who = "/fhir/R4/Observation", {"patient": str(patient.uuid), "_count": "200"}
    every = api.get(url, who).json()["entry"]
    labs = api.get(url, {**who, "category": "laboratory"}).json()
    Bundle.model_validate(labs)
    categories = [e["resource"]["category"][0]["coding"][0]["code"] for e in every]
    assert labs["total"] == categories.count("laboratory") > 0
    assert {e["resource"]["category"][0]["coding"][0]["code"] for e in labs["entry"]} == {"laboratory"}
    system = "http://terminology.hl7.org/CodeSystem/observation-category"
    assert api.get(url, {**who, "category": f"{system}|laboratory"}).json()["total"] == labs["total"]
    assert api.get(url, {**who, "category": "other-system|laboratory"}).json()["total"] == 0
    weight = api.get(url, {**who, "code": "http://loinc.org|29463-7"}).json()
    assert weight["total"] and all(
        e["resource"]["code"]["coding"][0]["code"] == "29463-7" for e in weight["entry"]
    )
    dated = sorted(e["resource"]["effectiveDateTime"] for e in every if "effectiveDateTime" in e["resource"])
    middle = dated[len(dated) // 2]
    later = api.get(url, {**who, "date": f"ge{middle}"}).json()["entry"]
    earlier = api.get(url, {**who, "date": f"lt{middle}"}).json()["entry"]
    assert all(e["resource"].get("effectiveDateTime", "9999") >= middle for e in later)

    def began(resource: dict) -> str:  # a contraception method's period by its start
        return resource.get("effectiveDateTime") or resource["effectivePeriod"]["start"]

    assert {e["resource"]["id"] for e in earlier} == {
        e["resource"]["id"] for e in every if began(e["resource"]) < middle
    }
    both = api.get(url, {**who, "category": "laboratory", "date": f"ge{middle}"}).json()
    assert set(ids(both)) == set(ids(labs)) & {e["resource"]["id"] for e in later}


def test_a_patients_resources_page_by_count_with_next_links(demo, api):
    patient = demo.courses["treatment_month_3"][0].patient
    total = api.get("/fhir/R4/Observation", {"patient": str(patient.uuid)}).json()["total"]
    bundle, seen = api.get("/fhir/R4/Observation", {"patient": str(patient.uuid), "_count": "3"}).json(), []
    while True:
        assert bundle["total"] == total and len(bundle["entry"]) <= 3
        seen += ids(bundle)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        bundle = api.get(following[0].split("testserver", 1)[1]).json()
    assert len(seen) == len(set(seen)) == total > 3


def test_the_capability_statement_is_public_and_states_exactly_what_searches_apply(client):
    answer = client.get("/fhir/R4/metadata")  # no token: it holds no patient data
    assert answer.status_code == 200
    statement = CapabilityStatement.model_validate_json(answer.content)
    rest = statement.rest[0]
    assert "OAuth" not in answer.content.decode().replace("No OAuth", "")
    assert rest.security.cors is False
    for resource in (r for r in rest.resource if r.type in search.SUPPORTED):
        names = {param.name for param in resource.searchParam}
        assert names == {p.name for p in search.SUPPORTED[resource.type]} | set(search.RESULT_PARAMS)
    assert client.get("/fhir/R4/Patient").status_code == 401  # everything else needs a token


def test_a_search_without_a_token_or_for_another_practices_patient_reveals_nothing(demo, api):
    other = Patient.objects.filter(practice=demo.pinned_practice).first()
    assert Client().get("/fhir/R4/Observation", {"patient": str(other.uuid)}).status_code == 401
    elsewhere = api.get("/fhir/R4/Observation", {"patient": str(other.uuid)}).json()
    nobody = api.get("/fhir/R4/Observation", {"patient": str(uuid.uuid4())}).json()
    assert elsewhere["total"] == nobody["total"] == 0 and "entry" not in elsewhere and "entry" not in nobody
    mrn = f"{MRN_SYSTEM}:{demo.pinned_practice.uuid}|{other.mrn}"
    assert api.get("/fhir/R4/Patient", {"identifier": mrn}).json()["total"] == 0


# ------------------------------------------------------------------------------- the comparisons themselves

days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31))


@st.composite
def ranges(draw) -> tuple[dt.date, dt.date]:
    first, second = draw(days), draw(days)
    return min(first, second), max(first, second)


@given(ranges(), ranges())
def test_the_prefixes_relate_as_fhir_defines_them(searched, target):
    match = {prefix: search.date_matches(prefix, searched, target) for prefix in search.PREFIXES}
    assert match["ne"] is not match["eq"]
    assert match["ge"] == (match["gt"] or match["eq"]) and match["le"] == (match["lt"] or match["eq"])
    assert not match["sa"] or match["gt"]  # starting after is above
    assert not match["eb"] or match["lt"]
    assert not (match["sa"] and match["eb"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026", (dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
        ("2024-02", (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
        ("2026-12", (dt.date(2026, 12, 1), dt.date(2026, 12, 31))),
        ("2026-06-15", (dt.date(2026, 6, 15), dt.date(2026, 6, 15))),
        ("2026-06-15T10:30:00Z", (dt.date(2026, 6, 15), dt.date(2026, 6, 15))),
    ],
)
def test_a_date_stands_for_the_days_of_its_precision(value, expected):
    assert search.date_criterion(value) == ("eq", expected)
    assert search.date_criterion(f"ge{value}") == ("ge", expected)


@pytest.mark.parametrize(
    ("value", "system", "code"),
    [("a|b", "a", "b"), ("|b", "", "b"), ("a|", "a", None), ("b", None, "b"), ("a|b|c", "a", "b|c")],
)
def test_a_token_names_its_system_and_code(value, system, code):
    assert search.token(value) == (system, code)


def test_the_prefer_header_asks_for_strict_handling_among_other_preferences():
    assert search.strict("handling=strict")
    assert search.strict("return=minimal, handling=strict")
    assert search.strict("Handling = Strict")
    assert not search.strict("handling=lenient")
    assert not search.strict("")


# ------------------------------------------------------------------------------ review: edges of the values


def test_an_empty_value_among_commas_is_refused_rather_than_matching_everyone(demo, api):
    for query in ({"name": "zzzz,"}, {"family": ",Smith"}, {"identifier": "DEMO-000001,"}, {"_id": ","}):
        for headers in ({}, STRICT):
            answer = api.get("/fhir/R4/Patient", query, **headers)
            assert answer.status_code == 400, query
    escaped = api.get("/fhir/R4/Patient", {"family": "zz\\,yy"}).json()  # a comma in the name, not "or"
    assert escaped["total"] == 0 and "zz%5C%2Cyy" in self_link(escaped)


def test_a_patient_is_named_by_id_reference_or_this_servers_url_and_one_unknown_matches_nothing(demo, api):
    patient = demo.courses["treatment_month_3"][0].patient
    url = "/fhir/R4/Observation"
    plain = ids(api.get(url, {"patient": str(patient.uuid), "_count": "200"}).json())
    assert plain
    for reference in (f"Patient/{patient.uuid}", f"http://testserver/fhir/R4/Patient/{patient.uuid}"):
        assert ids(api.get(url, {"patient": reference, "_count": "200"}).json()) == plain, reference
    both = api.get(f"{url}?patient=Patient/{patient.uuid}&patient={patient.uuid}&_count=200").json()
    assert ids(both) == plain  # two ways of naming the same patient, both hold
    either = api.get(url, {"patient": f"{patient.uuid},{uuid.uuid4()}", "_count": "200"}).json()
    assert ids(either) == plain
    for wrong in ("not-a-uuid", "Practitioner/1", f"http://elsewhere.example/fhir/Patient/{patient.uuid}"):
        assert api.get(url, {"patient": wrong}).status_code == 400, wrong
    assert ids(api.get("/fhir/R4/Patient", {"patient": str(patient.uuid)}).json()) == [str(patient.uuid)]


def test_count_zero_gives_the_total_alone_and_the_self_link_names_the_count_applied(demo, api):
    total = Patient.objects.filter(practice=demo.practice).count()
    summary = api.get("/fhir/R4/Patient", {"_count": "0"}).json()
    assert summary["total"] == total and "entry" not in summary
    assert [link["relation"] for link in summary["link"]] == ["self"]
    capped = api.get("/fhir/R4/Patient", {"_count": "5000"}).json()
    assert "_count=200" in self_link(capped) and len(capped["entry"]) == min(total, 200)


def test_each_patient_a_patient_search_answers_is_a_look_at_that_patient(demo, api):
    patient = Patient.objects.get(practice=demo.practice, mrn="DEMO-000001")
    before = AccessEvent.objects.count()
    api.get("/fhir/R4/Patient", {"identifier": "DEMO-000001"})
    looks = list(AccessEvent.objects.order_by("id")[before:])
    assert [(look.patient_id, look.channel, look.view) for look in looks] == [
        (patient.pk, "fhir", "fhir_search")
    ]


def test_exact_is_the_name_as_written_and_a_prefix_any_case(demo, api):
    patient = Patient.objects.filter(practice=demo.practice).order_by("id").first()
    assert patient.family_name != patient.family_name.lower()
    exact = api.get("/fhir/R4/Patient", {"family:exact": patient.family_name}).json()
    assert str(patient.uuid) in ids(exact)
    lowered = api.get("/fhir/R4/Patient", {"family:exact": patient.family_name.lower()}).json()
    assert str(patient.uuid) not in ids(lowered)
    assert str(patient.uuid) in ids(
        api.get("/fhir/R4/Patient", {"family": patient.family_name.lower()}).json()
    )


@pytest.mark.parametrize(
    ("prefix", "searched", "target", "expected"),
    [  # FHIR R4 3.1.1.4.2, by hand: the search value's days and the target's days
        ("eq", ("2026-06-01", "2026-06-30"), ("2026-06-15", "2026-06-15"), True),
        ("eq", ("2026-06-01", "2026-06-30"), ("2026-05-31", "2026-06-02"), False),  # overlaps, not within
        ("ne", ("2026-06-01", "2026-06-30"), ("2026-05-31", "2026-06-02"), True),
        ("gt", ("2026-06-01", "2026-06-30"), ("2026-06-20", "2026-07-02"), True),  # reaches above
        ("gt", ("2026-06-01", "2026-06-30"), ("2026-06-30", "2026-06-30"), False),
        ("lt", ("2026-06-01", "2026-06-30"), ("2026-05-30", "2026-06-05"), True),  # reaches below
        ("lt", ("2026-06-01", "2026-06-30"), ("2026-06-01", "2026-06-01"), False),
        ("ge", ("2026-06-01", "2026-06-30"), ("2026-06-01", "2026-06-01"), True),
        ("ge", ("2026-06-01", "2026-06-30"), ("2026-05-01", "2026-05-31"), False),
        ("le", ("2026-06-01", "2026-06-30"), ("2026-06-30", "2026-06-30"), True),
        ("le", ("2026-06-01", "2026-06-30"), ("2026-07-01", "2026-07-01"), False),
        ("sa", ("2026-06-01", "2026-06-30"), ("2026-07-01", "2026-08-01"), True),
        ("sa", ("2026-06-01", "2026-06-30"), ("2026-06-30", "2026-08-01"), False),  # starts within
        ("eb", ("2026-06-01", "2026-06-30"), ("2026-05-01", "2026-05-31"), True),
        ("eb", ("2026-06-01", "2026-06-30"), ("2026-05-01", "2026-06-01"), False),
    ],
)
def test_the_prefixes_on_ranges_as_the_specification_words_them(prefix, searched, target, expected):
    def days(pair):
        return tuple(dt.date.fromisoformat(day) for day in pair)

    assert search.date_matches(prefix, days(searched), days(target)) is expected


def coded(concept: dict, value: str) -> bool:
    return value.split("|") in [[coding.get("system"), coding.get("code")] for coding in concept["coding"]]


def _resources(api, patients, kind) -> list[dict]:
    found = []
    for patient in patients:
        bundle = api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything").json()
        found += [(patient, e["resource"]) for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
    return found


@pytest.mark.parametrize(
    ("kind", "name", "value_of", "holds"),
    [
        ("CarePlan", "status", lambda r: r["status"], lambda r, v: r["status"] == v),
        ("MedicationRequest", "status", lambda r: r["status"], lambda r, v: r["status"] == v),
        (
            "MedicationRequest", "code",
            lambda r: "{system}|{code}".format(**r["medicationCodeableConcept"]["coding"][0]),
            lambda r, v: coded(r["medicationCodeableConcept"], v),
        ),
        ("MedicationDispense", "status", lambda r: r["status"], lambda r, v: r["status"] == v),
        (
            "MedicationDispense", "whenhandedover", lambda r: r["whenHandedOver"][:10],
            lambda r, v: r.get("whenHandedOver", "")[:10] == v,
        ),
        (
            "DetectedIssue", "code", lambda r: "{system}|{code}".format(**r["code"]["coding"][0]),
            lambda r, v: coded(r["code"], v),
        ),
        ("Task", "status", lambda r: r["status"], lambda r, v: r["status"] == v),
        (
            "Task", "code", lambda r: "{system}|{code}".format(**r["code"]["coding"][0]),
            lambda r, v: coded(r["code"], v),
        ),
        ("Observation", "_id", lambda r: r["id"], lambda r, v: r["id"] == v),
    ],
)  # fmt: skip
def test_every_types_parameters_select_what_they_name(demo, api, kind, name, value_of, holds):
    """For each type's parameter: a value one resource has selects exactly the resources that have it (worked
    out here from the JSON, not by the search module), and a value none has selects none."""
    candidates = [c[0].patient for c in demo.courses.values() if c[0].patient.practice_id == demo.practice.pk]
    found = _resources(api, candidates, kind)
    assert found, kind
    patient, first = found[0]
    value = value_of(first)
    mine = [resource for owner, resource in found if owner == patient]
    answer = api.get(f"/fhir/R4/{kind}", {"patient": str(patient.uuid), name: value, "_count": "200"}).json()
    assert sorted(ids(answer)) == sorted(r["id"] for r in mine if holds(r, value)) and ids(answer)
    nothing = "urn:none|none" if "|" in value else ("2001-01-01" if name == "whenhandedover" else "none")
    assert api.get(f"/fhir/R4/{kind}", {"patient": str(patient.uuid), name: nothing}).json()["total"] == 0
