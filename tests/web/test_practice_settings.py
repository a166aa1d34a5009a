"""The practice's settings page: shown as they are, a change previewed (what it alters on the worklist's
courses) before the Save of that preview saves it, audited with the values before and after, applied at once
to the course pages and the worklist; bad values refused beside their field, nothing saved."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.practice_settings import SETTINGS
from isotrack.clinic.models import Practice, Role
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(practice):
    client = Client()
    client.force_login(make_staff(practice, "manager", Role.PRACTICE_ADMIN))
    return client


def as_rendered(page: bytes) -> dict[str, str]:
    """The form's values as the page shows them (what Save would post untouched)."""
    text = page.decode()
    # An empty input has no value attribute (Django leaves it out).
    values = dict(
        re.findall(r'<input type="(?:text|tel|number|date)" name="(\w+)"(?: value="([^"]*)")?', text)
    )
    for name, body in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', text, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        values[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', text, re.S):
        values[name] = body.strip()
    if re.search(r'<input type="checkbox" name="home_testing_permitted"[^>]*checked', text):
        values["home_testing_permitted"] = "on"
    return values


def projected(client: Client, course) -> str:
    page = client.get(f"/courses/{course.uuid}/").content.decode()
    return re.search(r'data-testid="projected-completion" data-date="([^"]*)"', page).group(1)


def test_the_page_shows_every_setting_as_it_is(admin, practice):
    page = admin.get("/practice/settings/")
    assert page.status_code == 200
    values = as_rendered(page.content)
    assert set(values) | {"home_testing_permitted"} == set(SETTINGS)
    assert values["name"] == practice.name and values["time_zone"] == "America/New_York"
    assert values["target_mg_per_kg"] == "150.0" and values["two_factor"] == "optional"


def test_a_new_target_is_previewed_then_saved_and_moves_the_course_page_and_the_worklist_at_once(
    admin, practice, prescriber, weight, course
):
    viewer = Client()
    viewer.force_login(prescriber)
    assert projected(viewer, course) == "2027-01-19"  # 150 mg/kg x 62 kg at 40 mg/day from 2026-06-01
    values = as_rendered(admin.get("/practice/settings/").content)

    preview = admin.post("/practice/settings/", {**values, "target_mg_per_kg": "120"})
    text = preview.content.decode()
    assert preview.status_code == 200 and "Cumulative dose target (mg/kg): 150 → <strong>120" in text
    assert (
        re.search(r'data-testid="completions-changed">1<', text) and "2027-01-19 → <strong>2026-12-03" in text
    )
    practice.refresh_from_db()
    assert practice.target_mg_per_kg == 150  # a preview saves nothing
    confirm = re.search(r'name="confirm" value="([0-9a-f]+)"', text).group(1)
    key = re.search(r'name="submission_key" value="([^"]+)"', text).group(1)

    changed_since = admin.post(
        "/practice/settings/",
        {**values, "target_mg_per_kg": "125", "confirm": confirm, "submission_key": key},
    )
    assert changed_since.status_code == 200 and b"What this change does" in changed_since.content
    practice.refresh_from_db()
    assert practice.target_mg_per_kg == 150  # another value than the one previewed: previewed again

    saved = admin.post(
        "/practice/settings/",
        {**values, "target_mg_per_kg": "120", "confirm": confirm, "submission_key": key},
        follow=True,
    )
    assert b"Settings saved (cumulative dose target (mg/kg))" in saved.content
    practice.refresh_from_db()
    assert practice.target_mg_per_kg == Decimal(120)
    event = AuditEvent.objects.get(action=EventCode.PRACTICE_SETTINGS_CHANGE)
    assert (event.before, event.after) == ({"target_mg_per_kg": "150.0"}, {"target_mg_per_kg": "120"})
    assert projected(viewer, course) == "2026-12-03"

    assert b'data-alert="TARGET_REACHED"' not in viewer.get("/").content
    lower = {**as_rendered(admin.get("/practice/settings/").content), "target_mg_per_kg": "110"}
    confirm = re.search(
        rb'name="confirm" value="([0-9a-f]+)"', admin.post("/practice/settings/", lower).content
    )
    admin.post("/practice/settings/", {**lower, "confirm": confirm.group(1).decode()})
    assert b'data-alert="TARGET_REACHED"' in viewer.get("/").content  # the worklist's line, judged again


def test_a_course_with_its_own_target_keeps_it(admin, practice, prescriber, weight, course):
    course.target_mg_per_kg = Decimal(150)
    course.save()
    viewer = Client()
    viewer.force_login(prescriber)
    values = {**as_rendered(admin.get("/practice/settings/").content), "target_mg_per_kg": "120"}
    preview = admin.post("/practice/settings/", values)
    assert re.search(rb'data-testid="completions-changed">0<', preview.content)
    confirm = re.search(rb'name="confirm" value="([0-9a-f]+)"', preview.content).group(1).decode()
    admin.post("/practice/settings/", {**values, "confirm": confirm})
    assert projected(viewer, course) == "2027-01-19"


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"target_mg_per_kg": "400"}, "target_mg_per_kg", "Target mg per kg must be between 50 and 300."),
        ({"triglycerides_critical_mg_dl": "400"}, "triglycerides_critical_mg_dl", "above the high"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Select a valid choice."),
        ({"name": ""}, "name", "This field is required."),
        ({"peak_labs_after_days": "7"}, "peak_labs_after_days", "between 14 and 180"),
        ({"name": "birch skin clinic (test)"}, "name", "exists already"),
        ({"phone": "555-CALL-NOW"}, "phone", "Not a phone number"),
        ({"phone": "555-01"}, "phone", "at least 7 digits"),
    ],
)
def test_a_bad_value_is_refused_beside_its_field_and_nothing_saved(
    admin, practice, other_practice, change, field, error
):
    values = {**as_rendered(admin.get("/practice/settings/").content), **change}
    response = admin.post("/practice/settings/", {**values, "confirm": "0" * 32})
    assert response.status_code == 422
    found = re.search(rf'id="id_{field}-error" role="alert">([^<]*)<', response.content.decode())
    assert found and error in found.group(1)
    assert Practice.objects.get(pk=practice.pk).target_mg_per_kg == 150
    assert not AuditEvent.objects.filter(action=EventCode.PRACTICE_SETTINGS_CHANGE).exists()


def test_only_the_administrator_sees_the_settings(client, practice, prescriber, nurse):
    for member in (prescriber, nurse):
        client.force_login(member)
        assert client.get("/practice/settings/").status_code == 403
        assert client.post("/practice/settings/", {"name": "Taken over"}).status_code == 403
    assert Practice.objects.get(pk=practice.pk).name == practice.name


def test_the_phone_number_is_shown_previewed_saved_and_audited(admin, practice):
    values = as_rendered(admin.get("/practice/settings/").content)
    assert values["phone"] == ""
    typed = {**values, "phone": "  (555) 010-0199   x12 "}
    preview = admin.post("/practice/settings/", typed)
    text = preview.content.decode()
    assert preview.status_code == 200 and "Phone number: none → <strong>(555) 010-0199 x12</strong>" in text
    assert re.search(r'data-testid="steps-changed">0<', text)  # the engine never reads it
    confirm = re.search(r'name="confirm" value="([0-9a-f]+)"', text).group(1)
    saved = admin.post("/practice/settings/", {**typed, "confirm": confirm}, follow=True)
    assert b"Settings saved (phone number)" in saved.content
    assert Practice.objects.get(pk=practice.pk).phone == "(555) 010-0199 x12"  # its spaces tidied
    event = AuditEvent.objects.get(action=EventCode.PRACTICE_SETTINGS_CHANGE)
    assert (event.before, event.after) == ({"phone": ""}, {"phone": "(555) 010-0199 x12"})
    page = admin.get("/practice/settings/").content.decode()
    assert '<input type="tel" name="phone" value="(555) 010-0199 x12"' in page

    cleared = {**as_rendered(page.encode()), "phone": ""}
    confirm = re.search(
        r'name="confirm" value="([0-9a-f]+)"', admin.post("/practice/settings/", cleared).content.decode()
    ).group(1)
    admin.post("/practice/settings/", {**cleared, "confirm": confirm})
    assert Practice.objects.get(pk=practice.pk).phone == ""  # blank again: the handout names none


def test_a_phone_number_with_letters_is_refused_beside_its_field_and_nothing_is_saved(admin, practice):
    values = {**as_rendered(admin.get("/practice/settings/").content), "phone": "call 555 0100"}
    for posted in (values, {**values, "confirm": "0" * 32}):
        response = admin.post("/practice/settings/", posted)
        assert response.status_code == 422
        found = re.search(r'id="id_phone-error" role="alert">([^<]*)<', response.content.decode())
        assert found and "Not a phone number" in found.group(1) and "x before an extension" in found.group(1)
        assert b"What this change does" not in response.content
    assert Practice.objects.get(pk=practice.pk).phone == ""
    assert not AuditEvent.objects.filter(action=EventCode.PRACTICE_SETTINGS_CHANGE).exists()
