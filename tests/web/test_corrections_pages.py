"""The correction and void pages, for every kind of record: the form shows the record as entered, a change
with a reason replaces it, a void strikes it through on the course page, and each save says what it did."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from isotrack.clinic.actions import corrections
from isotrack.clinic.actions.observations import record_lab_result
from isotrack.web.forms import correction_form
from tests.clinic.test_corrections import CHANGES, one_of_each


def _posted(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


def form_data(kind, item, user, **changes) -> dict[str, str]:
    """What the page's form posts: the record as entered, with ``changes``."""
    initial = correction_form(kind, item, user).initial
    data = {name: _posted(initial.get(name)) for name in kind.fields}
    data.update({name: _posted(value) for name, value in changes.items()})
    return data


@pytest.mark.parametrize("code", sorted(corrections.KINDS))
def test_a_record_is_corrected_on_its_page(client, code, course, nurse, prescriber):
    kind = corrections.KINDS[code]
    item = one_of_each(course, nurse, prescriber)[code]
    client.force_login(prescriber)
    url = reverse("record_correct", args=[code, item.uuid])
    page = client.get(url)
    assert page.status_code == 200
    assert "As recorded" in page.content.decode()
    values, _ = CHANGES[code]
    data = form_data(kind, item, prescriber, **values, correction_reason="typing error")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    old = kind.model.all_objects.get(pk=item.pk)
    assert old.voided and old.replaced_by is not None
    followed = client.get(response["Location"]).content.decode()
    assert f"{kind.label} corrected: now" in followed


@pytest.mark.parametrize("code", sorted(corrections.KINDS))
def test_a_voided_record_is_struck_through_on_the_course_page(client, code, course, nurse, prescriber):
    kind = corrections.KINDS[code]
    item = one_of_each(course, nurse, prescriber)[code]
    client.force_login(prescriber)
    response = client.post(
        reverse("record_void", args=[code, item.uuid]), {"correction_reason": "wrong patient"}
    )
    assert response.status_code == 302
    assert f"{kind.label} voided:" in client.get(response["Location"]).content.decode()
    page = client.get(reverse("course", args=[course.uuid])).content.decode()
    assert f'<tr class="voided" data-voided="true" data-kind="{code}" data-record="{item.uuid}">' in page
    assert "wrong patient" in page


def test_a_correction_without_a_reason_or_with_an_implausible_value_shows_the_errors_beside_the_fields(
    client, course, nurse, prescriber
):
    item = one_of_each(course, nurse, prescriber)["lab"]
    kind = corrections.KINDS["lab"]
    client.force_login(nurse)
    url = reverse("record_correct", args=["lab", item.uuid])
    response = client.post(url, form_data(kind, item, nurse, correction_reason=""))
    assert response.status_code == 422
    assert response.context["form"].errors == {"correction_reason": ["This field is required."]}
    response = client.post(
        url, form_data(kind, item, nurse, effective_date=date(2027, 2, 1), correction_reason="x")
    )
    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["effective_date"]
    item.refresh_from_db()
    assert not item.voided


def test_a_nurse_sees_no_correction_of_a_dose_and_cannot_reach_it(client, course, nurse, prescriber):
    records = one_of_each(course, nurse, prescriber)
    client.force_login(nurse)
    page = client.get(reverse("course", args=[course.uuid])).content.decode()
    assert reverse("record_void", args=["lab", records["lab"].uuid]) in page
    assert reverse("record_void", args=["dose", records["dose"].uuid]) not in page
    assert client.get(reverse("record_void", args=["dose", records["dose"].uuid])).status_code == 403
    response = client.post(
        reverse("record_correct", args=["dose", records["dose"].uuid]), {"mg_per_day": Decimal(80)}
    )
    assert response.status_code == 403


def test_an_unknown_kind_of_record_is_not_found(client, course, nurse, prescriber):
    records = one_of_each(course, nurse, prescriber)
    client.force_login(prescriber)
    assert client.get(f"/records/allergy/{records['lab'].uuid}/void/").status_code == 404
    assert client.get(reverse("record_void", args=["dose", records["lab"].uuid])).status_code == 404


def test_the_hold_missed_dose_and_dose_pages_show_the_open_alerts(client, course, nurse, prescriber):
    record_lab_result(
        actor=nurse,
        course=course,
        test="triglycerides",
        effective_date=date(2026, 11, 30),
        value=900,
        unit="mg/dL",
    )
    client.force_login(prescriber)
    for name in ("course_hold", "course_missed_dose", "course_dose"):
        page = client.get(reverse(name, args=[course.uuid])).content.decode()
        assert 'data-alert="TRIGLYCERIDES_CRITICAL"' in page, name


def test_a_hold_or_missed_dose_that_cannot_be_is_refused_beside_its_field_and_nothing_is_saved(
    client, course, prescriber
):
    client.force_login(prescriber)
    url = reverse("course_hold", args=[course.uuid])
    response = client.post(url, {"start": "2026-12-05", "end": "2026-12-01", "reason": "surgery"})
    assert response.status_code == 422
    assert response.context["form"].errors == {
        "end": ["A hold's last day cannot be before its first day (2026-12-05)."]
    }
    response = client.post(reverse("course_missed_dose", args=[course.uuid]), {"date": "2027-01-03"})
    assert response.status_code == 422
    assert "after today" in response.context["form"].errors["date"][0]
    assert not course.interruptions.exists() and not course.missed_doses.exists()
