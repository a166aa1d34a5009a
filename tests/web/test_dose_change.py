"""The dose change page: the live preview computes before anything is saved; saving records a segment."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from isotrack.clinic import dose_planning
from isotrack.clinic.actions.dosing import change_dose
from isotrack.clinic.actions.ipledge import record_dispense
from isotrack.clinic.models import DoseSegment


def dose_url(course):
    return reverse("course_dose", kwargs={"course_id": course.uuid})


def preview_url(course):
    return reverse("course_dose_preview", kwargs={"course_id": course.uuid})


def test_the_preview_shows_the_completion_date_of_a_typed_dose_and_saves_nothing(
    client, prescriber, course, weight
):
    client.force_login(prescriber)
    plan = dose_planning.plan_dose(
        course, starts_on=date(2026, 12, 1), product_line="conventional", mg_per_day=Decimal(60)
    )
    response = client.get(
        preview_url(course),
        {"dose_mg_per_day": "60", "dose_product": "conventional", "dose_starts_on": "2026-12-01"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert plan.projected_completion_date.isoformat() in page
    assert "30 × 20 mg capsules" in page or "30 × 30 mg capsules" in page or "× " in page
    assert DoseSegment.objects.filter(course=course).count() == 1


def test_a_higher_dose_finishes_earlier_in_the_preview(prescriber, course, weight):
    plans = [
        dose_planning.plan_dose(
            course, starts_on=date(2026, 7, 1), product_line="conventional", mg_per_day=mg
        )
        for mg in (Decimal(40), Decimal(80))
    ]
    assert plans[1].projected_completion_date < plans[0].projected_completion_date
    assert plans[1].mg_per_kg_per_day == pytest.approx(80 / 62)
    assert plans[1].capsules.plan.possible and plans[1].capsules.fill == {40: 60}


def test_a_target_date_gives_the_dose_it_needs_and_the_nearest_capsule_doses(
    client, prescriber, course, weight
):
    client.force_login(prescriber)
    response = client.get(
        preview_url(course),
        {
            "dose_product": "conventional",
            "dose_starts_on": "2026-07-01",
            "dose_completion_date": "2026-12-31",
        },
    )
    page = response.content.decode()
    assert "Dose to finish on 2026-12-31" in page
    assert "is not a sum of the available capsule strengths" in page
    assert "mg/day is possible: it would finish on" in page


def test_a_dose_above_the_labeled_maximum_is_explained(client, prescriber, course, weight):
    client.force_login(prescriber)
    response = client.get(
        preview_url(course),
        {"dose_mg_per_day": "200", "dose_product": "conventional", "dose_starts_on": "2026-07-01"},
    )
    page = response.content.decode()
    assert 'class="warning"' in page and "DOSE_ABOVE_MAXIMUM" not in page


def test_saving_records_a_new_dose_segment_with_its_reason(client, prescriber, course, weight):
    client.force_login(prescriber)
    response = client.post(
        dose_url(course),
        {
            "dose_mg_per_day": "60",
            "dose_product": "absorica",
            "dose_starts_on": "2026-12-01",
            "days_supply": "30",
            "dose_change_reason": "side_effects",
            "dose_reason": "tolerating well",
        },
    )
    assert response.status_code == 302
    segment = DoseSegment.objects.get(course=course, starts_on=date(2026, 12, 1))
    assert (segment.mg_per_day, segment.product, segment.brand, segment.change_reason, segment.reason) == (
        Decimal(60),
        "conventional",
        "Absorica",
        "side_effects",
        "tolerating well",
    )
    # the course's timeline says why the dose changed, in words, with the note
    page = client.get(reverse("course", args=[course.uuid])).content.decode()
    assert "60.0 mg/day, Absorica, for side effects: tolerating well" in page


def test_the_page_offers_the_reasons_as_radio_buttons_none_chosen(client, prescriber, course):
    client.force_login(prescriber)
    page = client.get(dose_url(course)).content.decode()
    buttons = re.findall(r'<input type="radio" name="dose_change_reason"[^>]*>', page)
    assert [re.search(r'value="([^"]*)"', b).group(1) for b in buttons] == [
        "side_effects",
        "lab_result",
        "weight_change",
        "planned",
        "other",
    ]
    assert not any("checked" in b for b in buttons)
    assert "The planned step (titration)" in page and "An abnormal lab result" in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"dose_mg_per_day": "", "dose_change_reason": "planned"}, "dose_mg_per_day"),
        ({"dose_mg_per_day": "60", "dose_reason": "x"}, "dose_change_reason"),
        ({"dose_mg_per_day": "60", "dose_change_reason": "tired"}, "dose_change_reason"),
        ({"dose_mg_per_day": "60", "dose_change_reason": "other", "dose_reason": ""}, "dose_reason"),
        (
            {"dose_mg_per_day": "60", "dose_change_reason": "planned", "dose_starts_on": "2026-05-01"},
            "dose_starts_on",
        ),
    ],
)
def test_bad_input_shows_beside_its_field_and_saves_nothing(client, prescriber, course, data, field):
    client.force_login(prescriber)
    response = client.post(
        dose_url(course), {"dose_product": "conventional", "dose_starts_on": "2026-12-01", **data}
    )
    assert response.status_code == 422
    assert f'id="id_{field}-error"' in response.content.decode()
    assert DoseSegment.objects.filter(course=course).count() == 1


def test_a_nurse_gets_403_an_auditor_403_and_an_outsider_404(client, nurse, auditor, outsider, course):
    for user, status in ((nurse, 403), (auditor, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(dose_url(course)).status_code == status
        assert (
            client.post(
                dose_url(course), {"dose_mg_per_day": "60", "dose_change_reason": "planned"}
            ).status_code
            == status
        )
    client.force_login(outsider)
    assert client.get(preview_url(course), {"dose_mg_per_day": "60"}).status_code == 404
    assert DoseSegment.objects.filter(course=course).count() == 1


def test_the_preview_plans_a_stated_strength_alone_and_refuses_one_saving_would_refuse(
    client, prescriber, course, weight
):
    """Review item 1: the preview shows what saving stores and FHIR sends: 60 mg a day in 20 mg capsules is
    3 × 20 mg whatever the pharmacies stock; a strength that does not fit is refused in saving's words."""
    prescriber.stocked_strengths = {"conventional": [20, 40]}
    prescriber.save()
    client.force_login(prescriber)
    typed = {"dose_mg_per_day": "60", "dose_product": "conventional", "dose_starts_on": "2026-12-01"}
    stocked = client.get(preview_url(course), typed).content.decode()
    assert "30 × 20 mg capsules, 30 × 40 mg capsules" in stocked
    stated = client.get(preview_url(course), typed | {"dose_strength_mg": "20"}).content.decode()
    assert "90 × 20 mg capsules" in stated and "40 mg capsules" not in stated
    refused = client.get(preview_url(course), typed | {"dose_strength_mg": "40"}).content.decode()
    assert "not a whole number of 40 mg capsules" in refused and "90 ×" not in refused
    other_line = client.get(preview_url(course), typed | {"dose_strength_mg": "25"})
    assert "Conventional capsules come in 10, 20, 30, 40 mg" in other_line.content.decode()
    for junk in ("abc", "-5", "99999", "20.5"):  # not a strength: ignored, never a crash
        response = client.get(preview_url(course), typed | {"dose_strength_mg": junk})
        assert response.status_code == 200 and "30 × 40 mg capsules" in response.content.decode()


def test_a_target_date_with_a_strength_gives_the_nearest_doses_in_that_strength(
    client, prescriber, course, weight
):
    client.force_login(prescriber)
    data = {
        "dose_product": "conventional",
        "dose_starts_on": "2026-07-01",
        "dose_completion_date": "2026-12-31",
        "dose_strength_mg": "20",
    }
    page = client.get(preview_url(course), data).content.decode()
    assert "Dose to finish on 2026-12-31" in page
    assert "is not a sum of the available capsule strengths (20 mg)" in page
    nearest = [int(mg) for mg in re.findall(r"<li>(\d+) mg/day is possible", page)]
    assert nearest and all(mg % 20 == 0 for mg in nearest)


def test_the_visit_previews_the_continued_dose_in_its_stored_strength(
    client, prescriber, nurse, course, weight, methods
):
    """A visit that continues a dose of 60 mg a day in 20 mg capsules previews 3 × 20 mg, for the prescriber
    (the decision "continue", the strength field left empty) and for the nurse (the dose read only)."""
    prescriber.stocked_strengths = {"conventional": [20, 40]}
    prescriber.save()
    record_dispense(actor=nurse, course=course, day=date(2026, 6, 1), days_supply=30)
    change_dose(
        actor=prescriber,
        course=course,
        starts_on=date(2026, 11, 20),
        mg_per_day=Decimal(60),
        product="conventional",
        change_reason="planned",
        reason="tolerating well",
        strength_mg=20,
    )
    visit_url = reverse("course_visit", kwargs={"course_id": course.uuid})
    for user in (prescriber, nurse):
        client.force_login(user)
        page = client.get(visit_url).content.decode()
        assert "60 mg/day, Conventional, 20 mg capsules" in page, user  # the current dose
        assert "90 × 20 mg capsules" in page and "40 mg capsules" not in page, user
    client.force_login(prescriber)
    continued = {"dose_decision": "continue", "dose_mg_per_day": "60.0", "dose_product": "conventional"}
    assert "90 × 20 mg capsules" in client.get(preview_url(course), continued).content.decode()
    changed = continued | {
        "dose_decision": "change",
        "dose_mg_per_day": "80",
    }  # a new dose: typed strength only
    assert "60 × 40 mg capsules" in client.get(preview_url(course), changed).content.decode()
