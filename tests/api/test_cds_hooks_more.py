"""CDS Hooks, issue 15 item 3's rest: the patient matched by the prefetched Patient's identifiers (and never
guessed when the namings disagree), the feedback endpoint, CORS for the CDS Hooks sandbox; and the review of
it: the EHR's own id in the context is never taken for an MRN (1), a prefetched Patient is the hook's patient
only by its id (2), feedback's bounds, write-once rows and Codings (3, 7, 8), a lone surrogate refused (4), no
origin allowed by default (5), a preflight is no look (6). And issue 17: order-sign answers a tetracycline,
vitamin A or enzyme inducer order for a patient on isotretinoin (and the reverse) with a card (MED-TETRA,
MED-VITA, MED-INDUCER)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from isotrack.api.fhir.resources import IPLEDGE_ID_SYSTEM
from isotrack.api.models import CdsFeedback
from isotrack.audit.models import AccessEvent
from isotrack.clinic.models import Patient
from tests.api.conftest import TokenClient, token_for
from tests.api.test_fhir_and_cds import call, order_sign_request, patient_view_request, with_medication

pytestmark = pytest.mark.django_db

SANDBOX = "https://sandbox.cds-hooks.org"
UNKNOWN = "isotrack does not know this patient: no iPLEDGE check was made"
DISAGREE_SIGN = "isotrack cannot tell which patient this is: no iPLEDGE check was made"
DISAGREE_VIEW = "isotrack cannot tell which patient this is: the patient's identifiers disagree"


@pytest.fixture
def doctor_api(demo):
    return TokenClient(token_for(demo.staff["doctor"]))


@pytest.fixture
def lakeside_api(demo):
    return TokenClient(token_for(demo.staff["lakeside.doctor"]))


def mrn_system(practice) -> str:
    return f"urn:isotrack:mrn:{practice.uuid}"


def missed(demo) -> Patient:
    """A patient whose fill window was missed: order-sign cards name WINDOW_EXPIRED."""
    return demo.courses["window_missed"][0].patient


def closing(demo) -> Patient:
    """Another patient of the same practice, whose fill may go ahead today."""
    return demo.courses["window_closing_today"][0].patient


def with_patient(request: dict, resource, *, patient_id="ehr-4711") -> dict:
    """The request as an EHR sends it with the discovery's prefetch: its own id in the context (``None``: no
    patientId at all), the Patient it prefetched."""
    if patient_id is None:
        del request["context"]["patientId"]
    else:
        request["context"]["patientId"] = patient_id
    request["prefetch"] = {"patient": resource}
    return request


def ehr_patient(*identifiers, id="ehr-4711") -> dict:
    return {
        "resourceType": "Patient",
        **({"id": id} if id is not None else {}),
        "identifier": [{"system": system, "value": value} for system, value in identifiers],
        "name": [{"family": "Synthetic", "given": ["Test"]}],
    }


def summaries(answer) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.content
    return [(card["summary"], card["indicator"]) for card in answer.json()["cards"]]


def generic(api, patient: Patient, hook: str = "order-sign") -> list[tuple[str, str]]:
    """The cards of the patient named by isotrack's own id, as before prefetch matching."""
    if hook == "order-sign":
        return summaries(call(api, "isotrack-order-sign", order_sign_request(str(patient.uuid))))
    return summaries(call(api, "isotrack-patient-view", patient_view_request(str(patient.uuid))))


def looks_at(patient: Patient) -> int:
    return AccessEvent.objects.filter(patient=patient).count()


HOOKS = (("isotrack-order-sign", "order-sign"), ("isotrack-patient-view", "patient-view"))


def hook_request(hook: str, patient_id: str) -> dict:
    return order_sign_request(patient_id) if hook == "order-sign" else patient_view_request(patient_id)


# ------------------------------------------------------------------------------------------ discovery


def test_discovery_asks_the_ehr_to_prefetch_the_patient(doctor_api):
    services = doctor_api.get("/cds-services").json()["services"]
    assert len(services) == 2
    assert all(s["prefetch"] == {"patient": "Patient/{{context.patientId}}"} for s in services)


# ------------------------------------------------------------------------------- the patient, by prefetch


def test_the_ehrs_own_id_with_the_prefetched_mrn_finds_the_patient(demo, doctor_api):
    patient = missed(demo)
    expected = generic(doctor_api, patient)
    assert any("window closed" in summary for summary, _ in expected)
    resource = ehr_patient(
        ("http://hospital.example.org/mrn", "H-99812"), (mrn_system(demo.practice), patient.mrn)
    )
    before = looks_at(patient)
    answer = call(doctor_api, "isotrack-order-sign", with_patient(order_sign_request("x"), resource))
    assert summaries(answer) == expected
    assert looks_at(patient) == before + 1  # the cards showed the patient's course: a look
    view = call(doctor_api, "isotrack-patient-view", with_patient(patient_view_request("x"), resource))
    assert summaries(view) == generic(doctor_api, patient, "patient-view")


def test_the_ehrs_own_id_in_the_context_is_never_taken_for_an_mrn(demo, doctor_api):
    """Review item 1: an EHR puts its own patient id in context.patientId; one that happens to be another
    patient's MRN in isotrack names no one (it was looked up as an MRN: that patient's cards, and a look)."""
    x, y = missed(demo), closing(demo)  # y's MRN is the EHR's id of x, whose hospital MRN says nothing
    resource = {
        "resourceType": "Patient",
        "id": y.mrn,
        "identifier": [{"system": "http://hospital.example.org/mrn", "value": x.mrn}],
    }
    before = (looks_at(x), looks_at(y))
    for service, hook, expected in (
        ("isotrack-order-sign", "order-sign", [(UNKNOWN, "info")]),
        ("isotrack-patient-view", "patient-view", []),
    ):
        for prefetch in ({"patient": resource}, None):  # with the discovery's prefetch, or none
            request = hook_request(hook, y.mrn)
            if prefetch is not None:
                request["prefetch"] = prefetch
            answer = call(doctor_api, service, request)
            assert summaries(answer) == expected, (service, prefetch)
            assert all(str(p.uuid) not in answer.content.decode() for p in (x, y))
    assert (looks_at(x), looks_at(y)) == before  # no one's course shown: no look


def test_an_ehr_id_that_is_an_mrn_does_not_contradict_the_prefetched_mrn(demo, doctor_api):
    """The prefetched Patient's MRN of isotrack's system names the patient, whoever's MRN the EHR's own id
    spells (it disagreed with it: no cards)."""
    x, y = missed(demo), closing(demo)
    resource = ehr_patient((mrn_system(demo.practice), x.mrn), id=y.mrn)
    request = with_patient(order_sign_request("x"), resource, patient_id=y.mrn)
    assert summaries(call(doctor_api, "isotrack-order-sign", request)) == generic(doctor_api, x)


def test_the_context_alone_names_a_patient_by_isotracks_id_only(demo, doctor_api):
    patient = missed(demo)
    expected = generic(doctor_api, patient)
    for patient_id in (str(patient.uuid), f"Patient/{patient.uuid}", str(patient.uuid).upper()):
        request = order_sign_request(patient_id)
        assert summaries(call(doctor_api, "isotrack-order-sign", request)) == expected, patient_id
    for patient_id in (patient.mrn, f"Patient/{patient.mrn}", patient.ipledge_id):
        request = order_sign_request(patient_id)
        assert summaries(call(doctor_api, "isotrack-order-sign", request)) == [(UNKNOWN, "info")], patient_id


def test_the_prefetched_ipledge_id_finds_the_patient(demo, doctor_api):
    patient = missed(demo)
    assert patient.ipledge_id
    resource = ehr_patient((IPLEDGE_ID_SYSTEM, patient.ipledge_id))
    answer = call(doctor_api, "isotrack-order-sign", with_patient(order_sign_request("x"), resource))
    assert summaries(answer) == generic(doctor_api, patient)


def test_a_prefetched_patient_with_isotracks_id_matches_as_the_context_does(demo, doctor_api):
    patient = missed(demo)
    expected = generic(doctor_api, patient)
    resource = ehr_patient(id=str(patient.uuid))
    for patient_id in (str(patient.uuid), f"Patient/{patient.uuid}", None):
        request = with_patient(order_sign_request("x"), resource, patient_id=patient_id)
        assert summaries(call(doctor_api, "isotrack-order-sign", request)) == expected, patient_id


@pytest.mark.parametrize(
    "system",
    [
        "http://hospital.example.org/mrn",  # another assigning authority: another patient's number
        "urn:isotrack:mrn",  # isotrack's system, but of no practice
        "urn:isotrack:mrn:00000000-0000-4000-8000-000000000000",  # another practice's
        None,
    ],
)
def test_an_mrn_of_another_system_is_not_our_patient(demo, doctor_api, system):
    patient = missed(demo)
    resource = {"resourceType": "Patient", "id": "ehr-4711", "identifier": [{"value": patient.mrn}]}
    if system is not None:
        resource["identifier"][0]["system"] = system
    before = looks_at(patient)
    answer = call(doctor_api, "isotrack-order-sign", with_patient(order_sign_request("x"), resource))
    assert summaries(answer) == [(UNKNOWN, "info")]
    view = call(doctor_api, "isotrack-patient-view", with_patient(patient_view_request("x"), resource))
    assert view.json() == {"cards": []}
    assert looks_at(patient) == before


def test_an_unknown_mrn_of_our_system_is_an_unknown_patient(demo, doctor_api):
    resource = ehr_patient((mrn_system(demo.practice), "NOT-A-PATIENT-1"))
    answer = call(doctor_api, "isotrack-order-sign", with_patient(order_sign_request("x"), resource))
    assert summaries(answer) == [(UNKNOWN, "info")]
    detail = answer.json()["cards"][0]["detail"]
    assert "prefetched Patient" in detail and "NOT-A-PATIENT-1" not in detail


def test_only_the_tokens_practice_is_searched(demo, doctor_api, lakeside_api):
    patient = missed(demo)
    assert not Patient.objects.filter(practice=demo.pinned_practice, mrn=patient.mrn).exists()
    assert not Patient.objects.filter(practice=demo.pinned_practice, ipledge_id=patient.ipledge_id).exists()
    # the EHR's own id in the context, or isotrack's (of a patient of the other practice)
    for patient_id in ("ehr-4711", str(patient.uuid)):
        for resource in (
            ehr_patient((mrn_system(demo.practice), patient.mrn), id=patient_id),  # the other practice's
            ehr_patient((mrn_system(demo.pinned_practice), patient.mrn), id=patient_id),  # not its patient
            ehr_patient((IPLEDGE_ID_SYSTEM, patient.ipledge_id), id=patient_id),
            ehr_patient(id=patient_id),
        ):
            request = with_patient(order_sign_request("x"), resource, patient_id=patient_id)
            answer = call(lakeside_api, "isotrack-order-sign", request)
            assert summaries(answer) == [(UNKNOWN, "info")], resource
            assert str(patient.uuid) not in answer.content.decode()
    # and the lakeside practice's own patient by its own MRN system
    theirs = Patient.objects.filter(practice=demo.pinned_practice).first()
    resource = ehr_patient((mrn_system(demo.pinned_practice), theirs.mrn))
    answer = call(lakeside_api, "isotrack-order-sign", with_patient(order_sign_request("x"), resource))
    assert summaries(answer) == generic(lakeside_api, theirs)


def test_the_context_and_the_prefetch_agreeing_give_the_patients_cards(demo, doctor_api):
    patient = missed(demo)
    resource = ehr_patient(
        (mrn_system(demo.practice), patient.mrn),
        (IPLEDGE_ID_SYSTEM, patient.ipledge_id),
        ("http://hospital.example.org/mrn", closing(demo).mrn),  # someone else's number elsewhere: no matter
        id=str(patient.uuid),
    )
    expected = generic(doctor_api, patient)
    for patient_id in (str(patient.uuid), f"Patient/{patient.uuid}", f" {str(patient.uuid).upper()} "):
        request = with_patient(order_sign_request("x"), resource, patient_id=patient_id)
        assert summaries(call(doctor_api, "isotrack-order-sign", request)) == expected, patient_id
    # the EHR's own id in the context and as the Patient's id: its MRN and iPLEDGE id name the patient
    resource["id"] = "ehr-4711"
    request = with_patient(order_sign_request("x"), resource, patient_id="ehr-4711")
    assert summaries(call(doctor_api, "isotrack-order-sign", request)) == expected


def test_an_ipledge_id_isotrack_has_not_recorded_does_not_contradict_the_context(demo, doctor_api):
    patient = missed(demo)
    resource = ehr_patient((IPLEDGE_ID_SYSTEM, "0000000000"), id=str(patient.uuid))
    request = with_patient(order_sign_request("x"), resource, patient_id=str(patient.uuid))
    assert summaries(call(doctor_api, "isotrack-order-sign", request)) == generic(doctor_api, patient)


def disagreeing_cases(demo) -> list[tuple[str, dict, str | None]]:
    """(what, the prefetched Patient, context.patientId): namings of two patients, or of none to trust. The
    prefetched Patient's id is the context's (as ``Patient/{{context.patientId}}`` fetches it) but where the
    case is about that id."""
    one, other = missed(demo), closing(demo)
    mrns, mine = mrn_system(demo.practice), str(one.uuid)
    return [
        ("context uuid, prefetched MRN of another", ehr_patient((mrns, other.mrn), id=mine), mine),
        (
            "context uuid, prefetched iPLEDGE id of another",
            ehr_patient((IPLEDGE_ID_SYSTEM, other.ipledge_id), id=mine),
            mine,
        ),
        ("context uuid, prefetched id of another", ehr_patient(id=str(other.uuid)), mine),
        (
            "context uuid, prefetched MRN isotrack lacks",
            ehr_patient((mrns, "NOT-A-PATIENT-2"), id=mine),
            mine,
        ),
        ("two MRNs in one Patient", ehr_patient((mrns, one.mrn), (mrns, other.mrn)), "ehr-4711"),
        ("two MRNs, one unknown", ehr_patient((mrns, one.mrn), (mrns, "NOT-A-PATIENT-3")), "ehr-4711"),
        (
            "MRN of one, iPLEDGE id of another",
            ehr_patient((mrns, one.mrn), (IPLEDGE_ID_SYSTEM, other.ipledge_id)),
            "ehr-4711",
        ),
        ("id of one, MRN of another", ehr_patient((mrns, one.mrn), id=str(other.uuid)), None),
        ("the prefetched Patient is another EHR patient", ehr_patient((mrns, one.mrn), id="ehr-1"), "ehr-2"),
        # review item 2: the prefetched Patient is the hook's patient by its id only, whatever else agrees
        ("context uuid, the Patient of the same MRN has no id", ehr_patient((mrns, one.mrn), id=None), mine),
        ("context uuid, the same patient's MRN under the EHR's id", ehr_patient((mrns, one.mrn)), mine),
        ("the EHR's id, the Patient has no id", ehr_patient((mrns, one.mrn), id=None), "ehr-4711"),
        ("the EHR's id, the Patient's id empty", ehr_patient((mrns, one.mrn), id=""), "ehr-4711"),
        ("the EHR's id, the Patient's id a number", ehr_patient((mrns, one.mrn), id=4711), "4711"),
        (
            "the EHR's id, the Patient's id another case",
            ehr_patient((mrns, one.mrn), id="EHR-4711"),
            "ehr-4711",
        ),
    ]


def test_namings_that_disagree_get_one_warning_card_and_nothing_clinical(demo, doctor_api):
    one, other = missed(demo), closing(demo)
    for what, resource, patient_id in disagreeing_cases(demo):
        before = (looks_at(one), looks_at(other))
        for service, request, summary in (
            ("isotrack-order-sign", order_sign_request("x"), DISAGREE_SIGN),
            ("isotrack-patient-view", patient_view_request("x"), DISAGREE_VIEW),
        ):
            answer = call(doctor_api, service, with_patient(request, resource, patient_id=patient_id))
            assert summaries(answer) == [(summary, "warning")], what
            (card,) = answer.json()["cards"]
            uuid.UUID(card["uuid"])
            text = json.dumps(card)
            assert "identifiers" in card["detail"] and "does not guess" in card["detail"], what
            for patient in (one, other):  # names no one
                assert (
                    str(patient.uuid) not in text
                    and patient.mrn not in text
                    and patient.family_name not in text
                )
        assert (looks_at(one), looks_at(other)) == before, what  # no card showed either: no look


def test_an_order_that_is_not_isotretinoin_still_gets_no_cards_whatever_the_patient(demo, doctor_api):
    _, resource, patient_id = disagreeing_cases(demo)[0]
    request = with_patient(order_sign_request("x"), resource, patient_id=patient_id)
    request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "amoxicillin"
    }
    assert call(doctor_api, "isotrack-order-sign", request).json() == {"cards": []}


ODD_PREFETCHES = [  # no prefetched Patient: the context alone names the patient
    None,
    [],
    "Patient/1",
    5,
    {"patient": None},
    {"patient": "Patient/1"},
    {"patient": []},
    {"patient": 7},
    {"patient": {}},
    {"patient": {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]}},
    {"patient": {"resourceType": ["Patient"], "id": "x"}},
]
ODD_PATIENTS = [  # a prefetched Patient of odd fields (its id, when it has one, is not context.patientId)
    {"identifier": 5},
    {"identifier": {"system": "urn:isotrack:mrn", "value": "x"}},
    {"identifier": "DEMO-000001"},
    {"identifier": [None, 5, "x", [], {}]},
    {"identifier": [{"system": 5, "value": []}, {"value": None}]},
    {"identifier": [{"system": ["a"], "value": {"v": 1}}]},
    {"id": 7},
    {"id": ["x"]},
    {"id": None, "identifier": None},
    {"id": "not-a-uuid-" + "x" * 5000},
]


@pytest.mark.parametrize("prefetch", ODD_PREFETCHES, ids=[str(i) for i in range(len(ODD_PREFETCHES))])
def test_odd_prefetches_never_500_and_leave_the_context_to_name_the_patient(demo, doctor_api, prefetch):
    patient = missed(demo)
    for service, hook in HOOKS:
        request = hook_request(hook, str(patient.uuid))
        request["prefetch"] = prefetch
        assert summaries(call(doctor_api, service, request)) == generic(doctor_api, patient, hook), prefetch


@pytest.mark.parametrize("fields", ODD_PATIENTS, ids=[str(i) for i in range(len(ODD_PATIENTS))])
def test_an_odd_prefetched_patient_without_the_contexts_id_is_a_disagreement_never_a_500(
    demo, doctor_api, fields
):
    """Review item 2: a prefetched Patient with no id, or another, is not known to be the hook's patient: the
    warning, nothing clinical (before, one with no id let the context name the patient)."""
    patient = missed(demo)
    before = looks_at(patient)
    for service, hook in HOOKS:
        request = hook_request(hook, str(patient.uuid))
        request["prefetch"] = {"patient": {"resourceType": "Patient", **fields}}
        expected = DISAGREE_SIGN if hook == "order-sign" else DISAGREE_VIEW
        assert summaries(call(doctor_api, service, request)) == [(expected, "warning")], fields
    assert looks_at(patient) == before


@pytest.mark.parametrize("fields", ODD_PATIENTS, ids=[str(i) for i in range(len(ODD_PATIENTS))])
def test_odd_fields_of_the_hooks_own_prefetched_patient_leave_the_context_to_name_it(
    demo, doctor_api, fields
):
    patient = missed(demo)
    for service, hook in HOOKS:
        request = hook_request(hook, str(patient.uuid))
        request["prefetch"] = {"patient": {"resourceType": "Patient", **fields, "id": str(patient.uuid)}}
        assert summaries(call(doctor_api, service, request)) == generic(doctor_api, patient, hook), fields


@pytest.mark.parametrize("patient_id", [None, 5, [], {"id": "x"}, "", "   ", "Patient/", True])
def test_an_odd_context_patient_id_with_a_prefetch_never_500s(demo, doctor_api, patient_id):
    patient = missed(demo)
    request = order_sign_request("x")
    request["context"]["patientId"] = patient_id
    request["prefetch"] = {"patient": ehr_patient((mrn_system(demo.practice), patient.mrn))}
    # The context names no one, nor any other EHR patient: the prefetched Patient names the patient.
    assert summaries(call(doctor_api, "isotrack-order-sign", request)) == generic(doctor_api, patient)
    request["prefetch"] = {"patient": ehr_patient(("http://hospital.example.org/mrn", patient.mrn))}
    assert summaries(call(doctor_api, "isotrack-order-sign", request)) == [(UNKNOWN, "info")]


def test_a_numeric_mrn_is_read_as_text(demo, doctor_api):
    patient = missed(demo)
    request = order_sign_request(str(patient.uuid))
    request["prefetch"] = {
        "patient": {
            "resourceType": "Patient",
            "id": str(patient.uuid),
            "identifier": [{"system": mrn_system(demo.practice), "value": 12}],
        }
    }
    # MRN "12" is not this patient's: the namings disagree (and a number is no 500)
    assert summaries(call(doctor_api, "isotrack-order-sign", request)) == [(DISAGREE_SIGN, "warning")]
    Patient.objects.filter(pk=patient.pk).update(mrn="120045")
    expected = generic(doctor_api, patient)
    request["prefetch"]["patient"]["identifier"][0]["value"] = 120045  # this patient's MRN, as a number
    assert summaries(call(doctor_api, "isotrack-order-sign", request)) == expected


# ------------------------------------------------------------------------------------------------- feedback


def feedback(api, body, service="isotrack-order-sign", **extra):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(f"/cds-services/{service}/feedback", payload, content_type="application/json", **extra)


def test_cards_carry_a_uuid_and_feedback_on_them_is_kept(demo, doctor_api):
    patient = missed(demo)
    cards = call(doctor_api, "isotrack-order-sign", order_sign_request(str(patient.uuid))).json()["cards"]
    assert cards and len({card["uuid"] for card in cards}) == len(cards)
    first, second = cards[0]["uuid"], cards[-1]["uuid"]
    body = {
        "feedback": [
            {
                "card": first,
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "system": "https://example.com/cds-hooks/override-reason-system",
                        "code": "d7ecf885",
                        "display": "Confirmed in iPLEDGE",
                    },
                    "userComment": "Test done at the lab today; iPLEDGE shows it.",
                },
                "outcomeTimestamp": "2026-12-01T09:30:00Z",
            },
            {"card": second, "outcome": "overridden", "outcomeTimestamp": "2026-12-01T11:45:00+02:00"},
            {
                "card": second,
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
                "outcomeTimestamp": "2026-12-01T10:00:00",  # no offset: UTC, as the spec says
            },
        ]
    }
    before = AccessEvent.objects.count()
    answer = feedback(doctor_api, body)
    assert answer.status_code == 200 and answer.json() == {}
    assert AccessEvent.objects.count() == before  # feedback shows no patient: not a look
    rows = list(CdsFeedback.objects.order_by("id"))
    assert len(rows) == 3
    doctor = demo.staff["doctor"]
    assert all(
        (row.practice_id, row.actor_id, row.service) == (demo.practice.pk, doctor.pk, "isotrack-order-sign")
        for row in rows
    )
    reasoned, plain, accepted = rows
    assert str(reasoned.card) == first and reasoned.outcome == "overridden"
    assert (reasoned.reason_system, reasoned.reason_code, reasoned.reason_display) == (
        "https://example.com/cds-hooks/override-reason-system",
        "d7ecf885",
        "Confirmed in iPLEDGE",
    )
    assert reasoned.comment == "Test done at the lab today; iPLEDGE shows it."
    assert reasoned.outcome_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert plain.outcome_at == datetime(2026, 12, 1, 9, 45, tzinfo=UTC)
    assert (plain.reason_code, plain.comment, plain.accepted_suggestions) == ("", "", [])
    assert accepted.outcome == "accepted" and accepted.outcome_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert accepted.accepted_suggestions == ["e56e1945-20b3-4393-8503-a1a20fd73152"]
    assert rows[0].received_at == rows[2].received_at  # one request, one moment


def test_feedback_is_kept_in_the_callers_practice_for_each_service(demo, lakeside_api):
    card = str(uuid.uuid4())
    body = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-12-01T09:30:00Z"}]}
    assert feedback(lakeside_api, body, service="isotrack-patient-view").status_code == 200
    (row,) = CdsFeedback.objects.filter(card=card)
    assert (row.practice, row.actor, row.service) == (
        demo.pinned_practice,
        demo.staff["lakeside.doctor"],
        "isotrack-patient-view",
    )


GOOD = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "outcomeTimestamp": "2026-12-01T00:00:00Z",
}


def entry(**changes) -> dict:
    changed = {**GOOD, **changes}
    return {key: value for key, value in changed.items() if value is not ...}


BAD_BODIES = [
    ("not JSON", "{feedback:", "JSON"),
    ("an array", [], "feedback"),
    ("no feedback", {}, "feedback"),
    ("feedback not an array", {"feedback": {"card": GOOD["card"]}}, "feedback"),
    ("no entries", {"feedback": []}, "feedback"),
    ("too many", {"feedback": [GOOD] * 101}, "At most 100"),
    ("an entry not an object", {"feedback": [GOOD, 5]}, "feedback[1]"),
    ("no card", {"feedback": [entry(card=...)]}, "feedback[0].card"),
    ("a card that is no uuid", {"feedback": [entry(card="card-1")]}, "feedback[0].card"),
    ("a card as a number", {"feedback": [entry(card=12)]}, "feedback[0].card"),
    ("no outcome", {"feedback": [entry(outcome=...)]}, "feedback[0].outcome"),
    ("another outcome", {"feedback": [entry(outcome="rejected")]}, "accepted or overridden"),
    ("an outcome not text", {"feedback": [entry(outcome=["accepted"])]}, "feedback[0].outcome"),
    ("accepted, no suggestions", {"feedback": [entry(outcome="accepted")]}, "acceptedSuggestions"),
    (
        "accepted, empty",
        {"feedback": [entry(outcome="accepted", acceptedSuggestions=[])]},
        "acceptedSuggestions",
    ),
    ("accepted, a number", {"feedback": [entry(outcome="accepted", acceptedSuggestions=[5])]}, "[0].id"),
    (
        "accepted, id number",
        {"feedback": [entry(outcome="accepted", acceptedSuggestions=[{"id": 5}])]},
        "[0].id",
    ),
    (
        "accepted, id long",
        {"feedback": [entry(outcome="accepted", acceptedSuggestions=[{"id": "x" * 101}])]},
        "100",
    ),
    (
        "overridden with suggestions",
        {"feedback": [entry(acceptedSuggestions=[{"id": "a"}])]},
        "acceptedSuggestions",
    ),
    (
        "a reason when accepted",
        {"feedback": [entry(outcome="accepted", acceptedSuggestions=[{"id": "a"}], overrideReason={})]},
        "overrideReason",
    ),
    ("a reason not an object", {"feedback": [entry(overrideReason="because")]}, "overrideReason"),
    (
        "a reason's coding not an object",
        {"feedback": [entry(overrideReason={"reason": ["x"]})]},
        "overrideReason.reason:",
    ),
    ("a code as a number", {"feedback": [entry(overrideReason={"reason": {"code": 5}})]}, "reason.code"),
    (
        "a code too long",
        {"feedback": [entry(overrideReason={"reason": {"code": "c" * 65}})]},
        "64 characters",
    ),
    # review item 8: a Coding has a system and a code (CDS Hooks 2.0, overrideReason.reason)
    (
        "a coding with no system",
        {"feedback": [entry(overrideReason={"reason": {"code": "c1"}})]},
        "reason.system",
    ),
    (
        "a coding with no code",
        {"feedback": [entry(overrideReason={"reason": {"system": "https://example.com/r", "display": "d"}})]},
        "reason.code",
    ),
    ("an empty coding", {"feedback": [entry(overrideReason={"reason": {}})]}, "reason.code"),
    ("a display alone", {"feedback": [entry(overrideReason={"reason": {"display": "d"}})]}, "reason.code"),
    (
        "a blank code",
        {"feedback": [entry(overrideReason={"reason": {"system": "https://example.com/r", "code": " "}})]},
        "reason.code",
    ),
    (
        "a blank system",
        {"feedback": [entry(overrideReason={"reason": {"system": "", "code": "c1"}})]},
        "reason.system",
    ),
    ("a comment too long", {"feedback": [entry(overrideReason={"userComment": "c" * 1001})]}, "userComment"),
    ("no timestamp", {"feedback": [entry(outcomeTimestamp=...)]}, "outcomeTimestamp"),
    ("a timestamp in words", {"feedback": [entry(outcomeTimestamp="yesterday")]}, "outcomeTimestamp"),
    ("a day alone", {"feedback": [entry(outcomeTimestamp="2026-12-11")]}, "outcomeTimestamp"),
    ("no such day", {"feedback": [entry(outcomeTimestamp="2026-13-40T00:00:00Z")]}, "outcomeTimestamp"),
    ("a timestamp as a number", {"feedback": [entry(outcomeTimestamp=1765411200)]}, "outcomeTimestamp"),
    # review item 3: out of any range a feedback could have (these overflowed at the save: a 500)
    (
        "the year 9999",
        {"feedback": [entry(outcomeTimestamp="9999-12-31T23:59:59-05:00")]},
        "outcomeTimestamp",
    ),
    ("the year 1", {"feedback": [entry(outcomeTimestamp="0001-01-01T00:00:00+01:00")]}, "outcomeTimestamp"),
    ("before 2000", {"feedback": [entry(outcomeTimestamp="1999-12-31T23:59:59Z")]}, "from 2000"),
    ("next year", {"feedback": [entry(outcomeTimestamp="2027-06-01T00:00:00Z")]}, "a day from now"),
    ("over a day ahead", {"feedback": [entry(outcomeTimestamp="2026-12-02T17:00:01Z")]}, "a day from now"),
    (
        "a day ahead, elsewhere",
        {"feedback": [entry(outcomeTimestamp="2026-12-02T13:00:01-04:00")]},
        "a day from now",
    ),
    ("one bad among good ones", {"feedback": [GOOD, GOOD, entry(outcome="ignored")]}, "feedback[2].outcome"),
]


@pytest.mark.parametrize("what,body,says", BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_bad_feedback_is_refused_with_a_400_in_words_and_nothing_is_kept(doctor_api, what, body, says):
    answer = feedback(doctor_api, body)
    assert answer.status_code == 400, (what, answer.content)
    assert answer["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "bad_request" and says in problem["detail"], (what, problem)
    assert not CdsFeedback.objects.exists()


@pytest.mark.parametrize(
    "moment,kept",
    [
        ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
        ("2000-01-01T00:00:00-05:00", datetime(2000, 1, 1, 5, tzinfo=UTC)),
        ("2026-12-02T17:00:00Z", datetime(2026, 12, 2, 17, tzinfo=UTC)),  # a day after the clinic's clock
        ("2026-12-02T13:00:00-04:00", datetime(2026, 12, 2, 17, tzinfo=UTC)),
    ],
)
def test_an_outcome_from_2000_to_a_day_ahead_is_kept(doctor_api, moment, kept):
    """Review item 3's bounds, their ends included (an EHR's clock may run a little ahead)."""
    assert feedback(doctor_api, {"feedback": [entry(outcomeTimestamp=moment)]}).status_code == 200
    assert CdsFeedback.objects.get().outcome_at == kept


def test_the_same_feedback_sent_again_is_kept_once(demo, doctor_api, lakeside_api):
    """Review item 7: an EHR that retries (or repeats an entry) does not double the record: the same user's
    same outcome of the same card at the same moment is one row, the first one."""
    first = {**GOOD, "overrideReason": {"userComment": "first"}}
    again = {**GOOD, "overrideReason": {"userComment": "sent again"}}
    assert feedback(doctor_api, {"feedback": [first, first]}).status_code == 200
    assert feedback(doctor_api, {"feedback": [again]}).status_code == 200
    assert feedback(doctor_api, {"feedback": [GOOD]}, service="isotrack-patient-view").status_code == 200
    (row,) = CdsFeedback.objects.all()
    assert (row.comment, row.service) == ("first", "isotrack-order-sign")
    # another moment, another outcome, another user: other reports
    later = entry(outcomeTimestamp="2026-12-01T00:00:01Z")
    accepted = entry(outcome="accepted", acceptedSuggestions=[{"id": "s1"}])
    assert feedback(doctor_api, {"feedback": [GOOD, later, accepted]}).status_code == 200
    nurse = TokenClient(token_for(demo.staff["nurse"]))
    assert feedback(nurse, {"feedback": [GOOD]}).status_code == 200
    assert feedback(lakeside_api, {"feedback": [GOOD]}).status_code == 200
    kept = CdsFeedback.objects.order_by("id")
    assert [(r.actor.username, r.outcome, r.outcome_at.second) for r in kept] == [
        ("doctor", "overridden", 0),
        ("doctor", "overridden", 1),
        ("doctor", "accepted", 0),
        ("nurse", "overridden", 0),
        ("lakeside.doctor", "overridden", 0),
    ]


def test_feedback_rows_are_write_once(doctor_api):
    """Review item 7: as the audit rows, the ORM refuses to change or remove a feedback row."""
    assert feedback(doctor_api, {"feedback": [GOOD]}).status_code == 200
    row = CdsFeedback.objects.get()
    row.comment = "changed"
    with pytest.raises(RuntimeError, match="CDS feedback rows are append-only"):
        row.save()
    with pytest.raises(RuntimeError, match="CDS feedback rows are append-only"):
        row.delete()
    with pytest.raises(RuntimeError, match="CDS feedback rows are append-only"):
        CdsFeedback.objects.filter(pk=row.pk).update(comment="changed")
    with pytest.raises(RuntimeError, match="CDS feedback rows are append-only"):
        CdsFeedback.objects.all().delete()
    with pytest.raises(RuntimeError, match="CDS feedback rows are append-only"), transaction.atomic():
        CdsFeedback.objects.bulk_update([row], ["comment"])  # (its own atomic block has no savepoint)
    with pytest.raises(RuntimeError, match="CDS feedback rows are append-only"):
        CdsFeedback.objects.update_or_create(pk=row.pk, defaults={"comment": "changed"})
    assert CdsFeedback.objects.get().comment == ""


LONE_SURROGATE = "\\ud800"  # JSON's escape of half a UTF-16 pair: no character, not UTF-8


def test_a_lone_surrogate_in_feedback_is_refused_not_500(doctor_api):
    """Review item 4: it was kept until the database encoded it (UnicodeEncodeError, a 500)."""
    good = json.dumps({"feedback": [{**GOOD, "overrideReason": {"userComment": "COMMENT"}}]})
    for body in (
        good.replace("COMMENT", f"ok {LONE_SURROGATE} ok"),
        good.replace("COMMENT", "\\udfff"),
        good.replace('"userComment"', f'"user{LONE_SURROGATE}Comment"'),  # a key too
    ):
        answer = feedback(doctor_api, body)
        assert answer.status_code == 400, answer.content
        assert answer["Content-Type"] == "application/problem+json"
        assert "surrogate" in answer.json()["detail"]
    assert not CdsFeedback.objects.exists()
    # a real character beyond the BMP, escaped as its two halves, is text like any other
    assert feedback(doctor_api, good.replace("COMMENT", "\\ud83d\\ude00")).status_code == 200
    assert CdsFeedback.objects.get().comment == "\U0001f600"


def test_a_lone_surrogate_in_a_hook_call_is_refused_not_500(demo, doctor_api):
    patient = missed(demo)
    resource = ehr_patient((mrn_system(demo.practice), "MRN-SURROGATE"))
    for service, hook in HOOKS:
        in_identifier = json.dumps(with_patient(hook_request(hook, "x"), resource))
        in_context = json.dumps(hook_request(hook, "PATIENT-ID"))
        for body in (
            in_identifier.replace("MRN-SURROGATE", LONE_SURROGATE),
            in_context.replace("PATIENT-ID", f"{patient.uuid}{LONE_SURROGATE}"),
            in_context.replace("PATIENT-ID", LONE_SURROGATE),
        ):
            answer = doctor_api.post(f"/cds-services/{service}", body, content_type="application/json")
            assert answer.status_code == 400, answer.content
            assert answer.json()["code"] == "bad_request" and "surrogate" in answer.json()["detail"]


def test_feedback_needs_the_services_authentication_and_an_existing_service(client, doctor_api):
    body = {"feedback": [GOOD]}
    anonymous = feedback(client, body)
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/problem+json"
    assert feedback(TokenClient("not-a-token"), body).status_code == 401
    unknown = feedback(doctor_api, body, service="nothing")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert doctor_api.get("/cds-services/isotrack-order-sign/feedback").status_code == 405
    assert not CdsFeedback.objects.exists()


def test_a_session_needs_its_csrf_token_for_feedback(demo):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(demo.staff["doctor"])
    answer = feedback(browser, {"feedback": [GOOD]})
    assert answer.status_code == 403 and answer.json()["code"] == "csrf_failed"
    assert not CdsFeedback.objects.exists()


# ----------------------------------------------------------------------------------------------------- CORS

CDS_URLS = [
    "/cds-services",
    "/cds-services/isotrack-order-sign",
    "/cds-services/isotrack-patient-view/feedback",
]


@pytest.fixture
def sandbox(settings):
    """The CDS Hooks sandbox allowed, as a deployment that wants it sets CDS_HOOKS_ALLOWED_ORIGINS."""
    settings.CDS_HOOKS_ALLOWED_ORIGINS = [SANDBOX]


def preflight(client, url, origin=SANDBOX):
    return client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def vary(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


@pytest.mark.parametrize("url", CDS_URLS)
def test_a_preflight_from_the_sandbox_needs_no_token_and_is_granted(client, sandbox, url):
    from django.test import Client

    before = AccessEvent.objects.count()
    for browser in (client, Client(enforce_csrf_checks=True)):  # no login redirect, no CSRF refusal
        answer = preflight(browser, url)
        assert answer.status_code == 204, answer
        assert answer["Access-Control-Allow-Origin"] == SANDBOX
        methods = {m.strip() for m in answer["Access-Control-Allow-Methods"].split(",")}
        assert methods == {"GET", "POST", "OPTIONS"}
        headers = {h.strip().lower() for h in answer["Access-Control-Allow-Headers"].split(",")}
        assert headers == {"authorization", "content-type"}
        assert "origin" in vary(answer)
        assert "Access-Control-Allow-Credentials" not in answer
    assert AccessEvent.objects.count() == before


@pytest.mark.parametrize("url", CDS_URLS)
def test_a_preflight_from_another_origin_is_granted_nothing(client, sandbox, url):
    for origin in (
        "https://evil.example",
        "null",
        "https://sandbox.cds-hooks.org.evil.example",
        SANDBOX + "/",
    ):
        answer = preflight(client, url, origin)
        assert answer.status_code == 204
        assert not any(header.lower().startswith("access-control-allow") for header in answer.headers), origin
        assert "origin" in vary(answer)


def test_answers_name_the_allowed_origin_only(demo, client, doctor_api, sandbox):
    patient = missed(demo)
    body = json.dumps(order_sign_request(str(patient.uuid)))
    for origin, granted in ((SANDBOX, True), ("https://evil.example", False), (None, False)):
        headers = {"Origin": origin} if origin else {}
        answers = [
            doctor_api.get("/cds-services", headers=headers),
            doctor_api.post(
                "/cds-services/isotrack-order-sign", body, content_type="application/json", headers=headers
            ),
            feedback(doctor_api, {"feedback": [GOOD]}, headers=headers),
            client.get("/cds-services", headers=headers),  # a 401: the sandbox can show it
            doctor_api.post(  # a problem too
                "/cds-services/nothing", body, content_type="application/json", headers=headers
            ),
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 401, 404]
        for answer in answers:
            assert answer.get("Access-Control-Allow-Origin") == (origin if granted else None), origin
            assert "origin" in vary(answer)
            assert "Access-Control-Allow-Credentials" not in answer


def test_the_allowed_origins_are_a_setting(settings, client):
    settings.CDS_HOOKS_ALLOWED_ORIGINS = ["https://ehr.example.org", "http://localhost:8080"]
    for origin in ("https://ehr.example.org", "http://localhost:8080"):
        assert preflight(client, "/cds-services", origin)["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Origin" not in preflight(client, "/cds-services", SANDBOX)
    settings.CDS_HOOKS_ALLOWED_ORIGINS = []
    assert "Access-Control-Allow-Origin" not in preflight(client, "/cds-services", SANDBOX)


def test_cors_is_for_the_cds_hooks_urls_only(client, doctor_api):
    for url in ("/api/v1/patients", "/fhir/R4/metadata"):
        answer = doctor_api.get(url, headers={"Origin": SANDBOX})
        assert answer.status_code == 200, url
        assert "Access-Control-Allow-Origin" not in answer, url
        assert "Access-Control-Allow-Origin" not in preflight(client, url), url


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, []),  # no origin by default (review item 5): a deployment allows the sandbox itself
        ("https://sandbox.cds-hooks.org", ["https://sandbox.cds-hooks.org"]),
        (
            "https://ehr.example.org/, http://localhost:8080 ,,",
            ["https://ehr.example.org", "http://localhost:8080"],
        ),
        ("", []),
    ],
)
def test_the_setting_reads_the_environment(value, expected):
    env = {k: v for k, v in os.environ.items() if k != "CDS_HOOKS_ALLOWED_ORIGINS"}
    env |= {"DJANGO_SETTINGS_MODULE": "tests.settings"}
    if value is not None:
        env["CDS_HOOKS_ALLOWED_ORIGINS"] = value
    code = "from django.conf import settings; print(repr(settings.CDS_HOOKS_ALLOWED_ORIGINS))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == repr(expected)


@pytest.mark.parametrize("url", CDS_URLS)
def test_a_preflight_with_a_session_is_no_look(demo, sandbox, url):
    """Review item 6: a browser's OPTIONS carries the session cookie; it reads nothing, so it is no look (the
    CDS service's POST was a look whatever the method)."""
    from django.test import Client

    browser = Client()
    browser.force_login(demo.staff["doctor"])
    before = AccessEvent.objects.count()
    for origin in (SANDBOX, "https://evil.example", None):
        headers = {"Origin": origin} if origin else {}
        assert browser.options(url, headers=headers).status_code == 204
        assert preflight(browser, url, origin or SANDBOX).status_code == 204
    assert AccessEvent.objects.count() == before
    # and a CDS call of that session is a look, as before
    patient = missed(demo)
    seen = looks_at(patient)
    body = json.dumps(order_sign_request(str(patient.uuid)))
    answer = browser.post("/cds-services/isotrack-order-sign", body, content_type="application/json")
    assert answer.status_code == 200 and looks_at(patient) == seen + 1


# --------------------------------------------------------------- other medicines with isotretinoin (issue 17)

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DOXYCYCLINE_TEXT = "Doxycycline 100 MG Oral Capsule"


def drafting(patient_id: str, *concepts: dict, with_isotretinoin: bool = False) -> dict:
    """An order-sign whose draft orders are MedicationRequests of these medication concepts (and the example's
    isotretinoin order first, when asked)."""
    request = order_sign_request(patient_id)
    entries = request["context"]["draftOrders"]["entry"]
    isotretinoin = entries[0]
    entries.clear()
    if with_isotretinoin:
        entries.append(isotretinoin)
    for n, concept in enumerate(concepts):
        order = {
            "resourceType": "MedicationRequest",
            "id": f"draft-{n}",
            "status": "draft",
            "intent": "order",
        }
        entries.append({"resource": {**order, "medicationCodeableConcept": concept}})
    return request


def text(name: str) -> dict:
    return {"text": name}


def rxnorm(code: str, display: str | None = None) -> dict:
    return {"coding": [{"system": RXNORM, "code": code, **({"display": display} if display else {})}]}


def order_cards(api, patient_id: str, *concepts: dict, **how) -> list[dict]:
    answer = call(api, "isotrack-order-sign", drafting(patient_id, *concepts, **how))
    assert answer.status_code == 200, answer.content
    return answer.json()["cards"]


def on_course(demo, situation: str = "treatment_month_1") -> Patient:
    return demo.courses[situation][0].patient


def assert_cites(card: dict, rule_id: str, indicator: str) -> None:
    """A card resting on the rule, as the module's other rule-based cards: the rule named in the detail with
    its source, a link to its entry on the reference page."""
    assert card["indicator"] == indicator and len(card["summary"]) <= 140
    assert f"Rule **{rule_id}**" in card["detail"] and f"Source of {rule_id}: " in card["detail"]
    assert card["links"] == [
        {
            "label": f"Rule {rule_id} and its sources",
            "url": f"http://testserver/reference/#{rule_id}",
            "type": "absolute",
        }
    ]
    assert card["source"]["label"] == "iPLEDGE REMS · isotrack"
    uuid.UUID(card["uuid"])


@pytest.mark.parametrize(
    "concept",
    [
        rxnorm("3640"),
        rxnorm("3640", "doxycycline"),
        text(DOXYCYCLINE_TEXT),
        rxnorm("999999", DOXYCYCLINE_TEXT),
    ],
    ids=["rxnorm", "rxnorm-display", "text", "display"],
)
@pytest.mark.parametrize("situation", ["treatment_month_1", "qualifying"])
def test_a_doxycycline_order_for_a_patient_on_isotretinoin_gets_a_critical_card_citing_med_tetra(
    demo, doctor_api, concept, situation
):
    patient = on_course(demo, situation)
    before = looks_at(patient)
    (card,) = order_cards(doctor_api, str(patient.uuid), concept)
    assert_cites(card, "MED-TETRA", "critical")
    assert "with isotretinoin" in card["summary"] and "pseudotumor cerebri" in card["summary"]
    assert "Doxycycline" in card["summary"] or "RxNorm 3640" in card["summary"]
    assert "TETRACYCLINE_IN_USE" in card["detail"] and "contraindicated together" in card["detail"]
    phase = "about to start" if situation == "qualifying" else "is running"
    assert phase in card["detail"]
    assert looks_at(patient) == before + 1  # the card shows the patient's course: a look


def test_a_tetracycline_is_found_however_the_ehr_shapes_the_order(demo, doctor_api):
    """The same recognition as an isotretinoin order's: a contained Medication, one prefetched, a brand."""
    patient = on_course(demo)
    for how in ("contained", "prefetched"):
        request = with_medication(
            order_sign_request(str(patient.uuid)), how, "Minocycline 100 MG Oral Capsule"
        )
        (card,) = call(doctor_api, "isotrack-order-sign", request).json()["cards"]
        assert card["summary"].startswith("Minocycline with isotretinoin"), how
        assert_cites(card, "MED-TETRA", "critical")
    (card,) = order_cards(doctor_api, str(patient.uuid), text("Vibramycin 100 mg capsules"))
    assert card["summary"].startswith("Vibramycin with isotretinoin") and card["indicator"] == "critical"


@pytest.mark.parametrize(
    "concept",
    [
        text("Ibuprofen 400 MG Oral Tablet"),
        rxnorm("5640", "ibuprofen"),
        text("Amoxicillin 500 MG Oral Capsule"),
        text("Minocycline 4 % Topical Foam"),  # a topical tetracycline: not the systemic drug (core's table)
        text("Retinol 0.5 % Topical Cream"),
        text("Multivitamin tablet"),
    ],
)
def test_an_order_of_another_drug_gets_no_card(demo, doctor_api, concept):
    assert order_cards(doctor_api, str(on_course(demo).uuid), concept) == []


def test_no_card_without_a_course_isotrack_holds_running_or_about_to_start(demo, doctor_api, lakeside_api):
    doxycycline = rxnorm("3640", DOXYCYCLINE_TEXT)
    no_course = demo.awaiting_category
    assert no_course is not None and not no_course.courses.exists()
    for patient_id in (str(no_course.uuid), str(uuid.uuid4()), "ehr-4711"):  # no course; unknown patients
        assert order_cards(doctor_api, patient_id, doxycycline) == [], patient_id
    for situation in ("completed", "post_course"):  # a finished course: nothing taken or about to be
        assert order_cards(doctor_api, str(on_course(demo, situation).uuid), doxycycline) == [], situation
    # another practice's patient: as if unknown
    assert order_cards(lakeside_api, str(on_course(demo).uuid), doxycycline) == []


def test_doxycycline_drafted_with_isotretinoin_adds_its_card_to_the_isotretinoin_orders(demo, doctor_api):
    patient = closing(demo)
    alone = generic(doctor_api, patient)
    assert [indicator for _, indicator in alone] == ["info"]  # the fill may go ahead today
    cards = order_cards(doctor_api, str(patient.uuid), text(DOXYCYCLINE_TEXT), with_isotretinoin=True)
    assert [(c["summary"], c["indicator"]) for c in cards[1:]] == alone
    assert_cites(cards[0], "MED-TETRA", "critical")
    assert "isotretinoin is ordered in the same signing" in cards[0]["detail"]
    # and an isotretinoin order never counts as the other medicine
    assert (
        summaries(
            call(doctor_api, "isotrack-order-sign", drafting(str(patient.uuid), with_isotretinoin=True))
        )
        == alone
    )


def test_isotretinoin_ordered_for_a_patient_with_a_tetracycline_recorded_gets_the_engines_alert(
    demo, doctor_api
):
    """The reverse: the alert of a tetracycline recorded in isotrack (TETRACYCLINE_IN_USE) is a critical card,
    and the prescription it holds is none."""
    from isotrack.clinic.actions.patients import record_medication
    from isotrack.clinic.queries import practice_today

    patient = closing(demo)
    assert not any(indicator == "critical" for _, indicator in generic(doctor_api, patient))
    today = practice_today(demo.practice)
    record_medication(
        actor=demo.staff["doctor"],
        patient=patient,
        name="Doxycycline",
        rxnorm="3640",
        start=today - timedelta(3),
    )
    cards = call(doctor_api, "isotrack-order-sign", order_sign_request(str(patient.uuid))).json()["cards"]
    (alert,) = [c for c in cards if "TETRACYCLINE_IN_USE" in c["detail"]]
    assert_cites(alert, "MED-TETRA", "critical")
    assert "stop the tetracycline" in alert["summary"]
    (withheld,) = [c for c in cards if c["summary"] == "isotrack proposes no isotretinoin prescription today"]
    assert withheld["indicator"] == "critical" and "tetracycline in use" in withheld["detail"]
    assert not any(
        c["summary"].startswith("iPLEDGE requirements recorded in isotrack are met") for c in cards
    )


def test_a_vitamin_a_order_gets_a_warning_card_citing_med_vita(demo, doctor_api):
    patient = on_course(demo)
    (card,) = order_cards(doctor_api, str(patient.uuid), text("Vitamin A 10000 UNT Oral Capsule"))
    assert_cites(card, "MED-VITA", "warning")
    assert card["summary"].startswith("Vitamin A with isotretinoin") and "VITAMIN_A_IN_USE" in card["detail"]


def test_an_inducer_order_warns_when_a_hormonal_method_is_in_use(demo, doctor_api):
    from isotrack.clinic.actions.patients import record_contraception
    from isotrack.clinic.queries import practice_today

    carbamazepine = rxnorm("2002", "carbamazepine 200 MG Oral Tablet")
    abstinent = on_course(demo, "treatment_month_4")  # can get pregnant, abstinence: no hormonal method
    assert order_cards(doctor_api, str(abstinent.uuid), carbamazepine) == []
    cannot = on_course(demo, "treatment_month_2")  # cannot get pregnant
    assert order_cards(doctor_api, str(cannot.uuid), carbamazepine) == []
    today = practice_today(demo.practice)
    record_contraception(
        actor=demo.staff["doctor"], patient=abstinent, method="combined_pill", start=today - timedelta(40)
    )
    (card,) = order_cards(doctor_api, str(abstinent.uuid), carbamazepine)
    assert_cites(card, "MED-INDUCER", "warning")
    assert card["summary"].startswith("Carbamazepine can weaken the hormonal contraception")
    assert "the combined pill" in card["detail"] and "HORMONAL_METHOD_WEAKENED" in card["detail"]
    (card,) = order_cards(doctor_api, str(abstinent.uuid), text("St. John's Wort 300 MG Oral Capsule"))
    assert_cites(card, "MED-INDUCER", "warning")
    # the engine's phases: contraception is still required the month after the last dose, not once completed
    for situation, expected in (("post_course", ["warning"]), ("completed", [])):
        finished = on_course(demo, situation)
        assert finished.category == "can_get_pregnant"
        record_contraception(
            actor=demo.staff["doctor"], patient=finished, method="patch", start=today - timedelta(200)
        )
        found = order_cards(doctor_api, str(finished.uuid), carbamazepine)
        assert [c["indicator"] for c in found] == expected, situation


def test_several_medicines_drafted_get_a_card_each_most_urgent_first(demo, doctor_api):
    patient = on_course(demo)
    cards = order_cards(
        doctor_api,
        str(patient.uuid),
        text("Retinyl palmitate 10000 UNT"),
        text("Ibuprofen 200 MG"),
        text(DOXYCYCLINE_TEXT),
        rxnorm("10395", "tetracycline 250 MG Oral Capsule"),
    )
    assert [c["indicator"] for c in cards] == ["critical", "warning"]
    assert cards[0]["summary"].startswith("Doxycycline and tetracycline with isotretinoin")
    assert "MED-VITA" in cards[1]["detail"]


def test_a_tetracycline_order_whose_patient_namings_disagree_gets_the_warning(demo, doctor_api):
    _, resource, patient_id = disagreeing_cases(demo)[0]
    request = with_patient(drafting("x", text(DOXYCYCLINE_TEXT)), resource, patient_id=patient_id)
    (card,) = call(doctor_api, "isotrack-order-sign", request).json()["cards"]
    assert card["indicator"] == "warning" and "links" not in card
    assert (
        card["summary"]
        == "isotrack cannot tell which patient this is: the order was not checked against isotretinoin"
    )
    assert "Doxycycline" in card["detail"] and "does not guess" in card["detail"]


def test_discovery_says_the_order_sign_service_checks_other_medicines(doctor_api):
    services = {s["id"]: s for s in doctor_api.get("/cds-services").json()["services"]}
    described = services["isotrack-order-sign"]["description"]
    assert all(word in described for word in ("tetracycline", "vitamin A", "enzyme inducer"))
