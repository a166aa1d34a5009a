"""A prescriber's own settings: the product a new course starts with and the capsule strengths the local
pharmacies stock, which the course page's capsule plan and the dose planner use for that prescriber's
courses; audited; a line with no strength refused beside it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

EVERY = {"conventional": ["10", "20", "30", "40"], "absorica": ["10", "20", "25", "30", "35", "40"]}
EVERY["micronized"] = ["8", "16", "20", "24", "28", "32"]


def fill(client, course) -> str:
    page = client.get(f"/courses/{course.uuid}/").content.decode()
    return re.search(r"30-day fill: ([^(]*)\(", page).group(1).strip()


def test_a_prescriber_stocks_only_some_strengths_and_the_capsule_plan_follows(
    client, prescriber, weight, course
):
    client.force_login(prescriber)
    assert fill(client, course) == "30 × 40 mg"  # 40 mg/day from every conventional strength
    form = client.get("/account/prescribing/").content.decode()
    assert len(re.findall(r'type="checkbox" name="conventional" value="\d+"[^>]*checked', form)) == 4
    assert not re.search(r'<option value="[^"]+" selected', form)  # no default product chosen for them
    stocked = {**EVERY, "conventional": ["10", "20"], "default_product_line": "absorica"}
    assert client.post("/account/prescribing/", stocked).status_code == 302
    prescriber.refresh_from_db()
    assert prescriber.stocked_strengths == {"conventional": [10, 20]}
    assert prescriber.default_product_line == "absorica"
    event = AuditEvent.objects.get(action=EventCode.STAFF_PRESCRIBING)
    assert event.after == {
        "default_product_line": "absorica",
        "stocked_strengths": {"conventional": [10, 20]},
    }
    assert fill(client, course) == "60 × 20 mg"
    planner = {"dose_mg_per_day": "30", "dose_product": "conventional"}
    preview = client.get(f"/courses/{course.uuid}/dose/preview/", planner).content.decode()
    supply = re.search(r'<span class="fill">([^<]*)</span>', preview).group(1)
    assert "30 × 20 mg capsules" in supply and "30 × 10 mg capsules" in supply and "× 30 mg" not in supply
    enrollment = client.get(reverse("enroll_course", kwargs={"patient_id": course.patient.uuid})).content
    assert b'<option value="absorica" selected>' in enrollment  # their default product, chosen beforehand


def test_a_line_with_no_strength_is_refused_beside_it(client, prescriber):
    client.force_login(prescriber)
    response = client.post("/account/prescribing/", {**EVERY, "micronized": []})
    assert response.status_code == 422
    assert re.search(rb'id="id_micronized-error" role="alert">Choose at least one strength', response.content)
    prescriber.refresh_from_db()
    assert prescriber.stocked_strengths == {} and not AuditEvent.objects.filter(
        action=EventCode.STAFF_PRESCRIBING
    )


def test_only_prescribers_have_prescribing_settings(client, nurse):
    client.force_login(nurse)
    assert client.get("/account/prescribing/").status_code == 403
    assert b"/account/prescribing/" not in client.get("/").content
