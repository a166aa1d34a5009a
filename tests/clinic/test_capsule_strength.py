"""A dose's capsule strength (optional): checked against its product line and the dose (the core's rule),
entered on the dose pages and through the API, kept by a correction, and sent on in FHIR as the RxNorm
clinical drug of that strength (``core.clinical_drug``, the codes of ``core.products``)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from isotrack.api.fhir.resources import PROFILES, medication_request
from isotrack.clinic.actions import corrections
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import DoseSegment
from isotrack.core import clinical_drug
from isotrack.core.plausibility import capsule_strength
from isotrack.core.products import CLINICAL_DRUGS
from tests.api.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db


def dose(prescriber, course, **changes):
    values = {
        "starts_on": date(2026, 12, 10),
        "mg_per_day": Decimal(80),
        "product": "conventional",
        "change_reason": "planned",
        "reason": "tolerating well",
    } | changes
    return change_dose(actor=prescriber, course=course, **values)


@pytest.mark.parametrize(("strength", "product"), [(mg, "conventional") for mg in (10, 20, 30, 40, 25, 35)])
def test_each_conventional_strength_has_its_clinical_drug_from_the_cores_one_table(strength, product):
    code = clinical_drug(strength, product)
    assert code is not None and CLINICAL_DRUGS[code] == strength


def test_no_clinical_drug_without_a_strength_or_for_absorica_ld():
    assert clinical_drug(None, "conventional") is None
    assert clinical_drug(16, "micronized") is None and clinical_drug(20, "micronized") is None
    assert clinical_drug(15, "conventional") is None


def test_the_core_checks_a_strength_against_the_line_and_the_dose():
    assert capsule_strength(40, 80, "conventional") is None
    assert capsule_strength(25, 50, "absorica") is None
    assert capsule_strength(16, 32, "micronized") is None
    assert "come in 10, 20, 30, 40 mg" in capsule_strength(25, 50, "conventional")
    assert "come in 8, 16, 20, 24, 28, 32 mg" in capsule_strength(40, 40, "micronized")
    assert "not a whole number of 30 mg capsules" in capsule_strength(30, 80, "conventional")


def test_a_dose_change_stores_its_strength_and_fhir_gives_the_clinical_drug(prescriber, course):
    segment = dose(prescriber, course, strength_mg=40)
    assert DoseSegment.objects.get(pk=segment.pk).strength_mg == 40
    resource = json.loads(medication_request(course, segment).model_dump_json())
    codes = [(c["system"], c["code"]) for c in resource["medicationCodeableConcept"]["coding"]]
    assert codes == [
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "6064"),
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "197845"),  # isotretinoin 40 MG Oral Capsule
    ]
    assert resource["meta"]["profile"] == [PROFILES["MedicationRequest"]]
    first = course.dose_segments.get(starts_on=date(2026, 6, 1))  # no strength given: the ingredient alone
    plain = json.loads(medication_request(course, first).model_dump_json())
    assert [c["code"] for c in plain["medicationCodeableConcept"]["coding"]] == [
        "6064"
    ] and "meta" not in plain


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strength_mg": 25}, "Conventional capsules come in 10, 20, 30, 40 mg"),
        ({"strength_mg": 30}, "not a whole number of 30 mg capsules"),
        ({"strength_mg": 40, "product": "micronized"}, "Absorica LD capsules come in"),
    ],
)
def test_a_strength_that_does_not_fit_is_refused_beside_its_field(prescriber, course, changes, message):
    with pytest.raises(InvalidInput) as refused:
        dose(prescriber, course, **changes)
    assert refused.value.field == "strength_mg" and message in refused.value.message
    assert course.dose_segments.count() == 1  # nothing saved


def test_absorica_takes_its_own_strengths(prescriber, course):
    segment = dose(prescriber, course, mg_per_day=Decimal(50), brand="Absorica", strength_mg=25)
    resource = json.loads(medication_request(course, segment).model_dump_json())
    assert "1547561" in [c["code"] for c in resource["medicationCodeableConcept"]["coding"]]


def test_a_course_opens_with_its_first_doses_strength(prescriber, patient):
    course = start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=date(2026, 12, 5),
        mg_per_day=Decimal(20),
        strength_mg=20,
    )
    assert course.dose_segments.get().strength_mg == 20
    with pytest.raises(InvalidInput) as refused:
        start_course(
            actor=prescriber,
            patient=patient,
            prescriber=prescriber,
            start=date(2026, 12, 6),
            mg_per_day=None,
            strength_mg=20,
        )
    assert refused.value.field == "strength_mg"


def test_the_dose_page_offers_the_strengths_with_none_chosen_and_saves_the_one_chosen(
    client, prescriber, course
):
    client.force_login(prescriber)
    url = reverse("course_dose", kwargs={"course_id": course.uuid})
    page = client.get(url).content.decode()
    select = re.search(r'<select name="dose_strength_mg"[^>]*>(.*?)</select>', page, re.S).group(1)
    options = re.findall(r"<option[^>]*>", select)
    assert re.search(r'value="([^"]*)"', options[0]).group(1) == "" and len(options) > 10
    assert not any("selected" in option for option in options[1:])
    form = {
        "dose_mg_per_day": "60",
        "dose_product": "conventional",
        "dose_starts_on": "2026-12-10",
        "dose_change_reason": "planned",
        "dose_reason": "tolerating well",
        "days_supply": "30",
    }
    refused = client.post(url, form | {"dose_strength_mg": "40"})
    assert refused.status_code == 422 and "dose_strength_mg" in refused.context["form"].errors
    assert client.post(url, form | {"dose_strength_mg": "30"}).status_code == 302
    assert course.dose_segments.get(starts_on=date(2026, 12, 10)).strength_mg == 30
    assert client.post(url, form | {"dose_starts_on": "2026-12-11"}).status_code == 302  # not stated: fine
    assert course.dose_segments.get(starts_on=date(2026, 12, 11)).strength_mg is None


def test_the_api_takes_a_strength_and_refuses_one_that_does_not_fit(prescriber, course):
    api = TokenClient(token_for(prescriber))
    url = f"/api/v1/courses/{course.uuid}/dose-segments"
    body = {
        "starts_on": "2026-12-10",
        "mg_per_day": 80,
        "change_reason": "planned",
        "reason": "tolerating well",
    }
    bad = api.post(url, json.dumps(body | {"strength_mg": 30}), content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "strength_mg"
    good = api.post(url, json.dumps(body | {"strength_mg": 40}), content_type="application/json")
    assert good.status_code == 201 and good.json()["strength_mg"] == 40


def test_a_correction_keeps_the_strength_or_changes_it(prescriber, course):
    segment = dose(prescriber, course, strength_mg=40)
    kind = corrections.kind_of("dose")
    kept = corrections.correct_record(
        actor=prescriber, kind=kind, item=segment, values={"reason": "typo in the reason"}, reason="typo"
    )
    assert kept.strength_mg == 40
    changed = corrections.correct_record(
        actor=prescriber, kind=kind, item=kept, values={"strength_mg": 20}, reason="two 20s, not one 40"
    )
    assert changed.strength_mg == 20


def test_a_stated_strength_is_the_capsule_plan_on_the_course_page_and_in_fhir(client, prescriber, course):
    """Review item 1: 60 mg a day saved in 20 mg capsules is 3 × 20 mg everywhere (the page, its print view,
    the timeline, FHIR), never the stocked strengths' 40 + 20; without a stated strength the stocked ones."""
    prescriber.stocked_strengths = {"conventional": [20, 40]}
    prescriber.save()
    client.force_login(prescriber)
    url = reverse("course", args=[course.uuid])
    dose(prescriber, course, starts_on=date(2026, 10, 1), mg_per_day=Decimal(60))  # no strength stated
    page = client.get(url).content.decode()
    assert "30-day fill: 30 × 20 mg, 30 × 40 mg (Conventional)" in page
    assert 'data-testid="capsule-strength"' not in page

    segment = dose(prescriber, course, starts_on=date(2026, 11, 1), mg_per_day=Decimal(60), strength_mg=20)
    page = client.get(url).content.decode()
    assert "60 mg/day" in page and "(3 × 20 mg capsules, the prescribed strength)" in page
    assert "30-day fill: 90 × 20 mg (Conventional, 20 mg capsules as prescribed)" in page
    assert "20 + 20 mg, then 20 mg a day" in page and "× 40 mg" not in page
    # the timeline's row of the dose: why it changed, then the note
    assert "Conventional, 20 mg capsules, for the planned step (titration): tolerating well" in page
    assert (
        "now 60 mg/day in 20 mg capsules"
        in client.get(reverse("course_print", args=[course.uuid])).content.decode()
    )

    resource = json.loads(medication_request(course, segment).model_dump_json())
    assert resource["dosageInstruction"][0]["text"] == "60 mg a day by mouth (3 × 20 mg capsules)"
    assert "197844" in [c["code"] for c in resource["medicationCodeableConcept"]["coding"]]  # 20 MG capsule
    assert "3 × 20 mg capsules" in resource["text"]["div"]
    unstated = DoseSegment.objects.get(course=course, starts_on=date(2026, 10, 1))
    plain = json.loads(medication_request(course, unstated).model_dump_json())
    assert plain["dosageInstruction"][0]["text"] == "60 mg a day by mouth"  # no capsules claimed


@pytest.mark.parametrize("brand", ["absorica", " ABSORICA ", "Absorica"])
def test_an_absorica_brand_in_any_case_plans_absorica_capsules(client, prescriber, course, brand):
    """The line is read one way (dose_planning.line_of): 50 mg of Absorica is 2 × 25 mg, Absorica's own."""
    segment = dose(prescriber, course, starts_on=date(2026, 11, 1), mg_per_day=Decimal(50), brand=brand)
    client.force_login(prescriber)
    page = client.get(reverse("course", args=[course.uuid])).content.decode()
    assert "30-day fill: 60 × 25 mg (Absorica)" in page
    DoseSegment.objects.filter(pk=segment.pk).update(strength_mg=25)  # as a correction would set it
    page = client.get(reverse("course", args=[course.uuid])).content.decode()
    assert "(2 × 25 mg capsules, the prescribed strength)" in page
