"""The administrator's page of the handout's texts (/practice/handouts/): only the practice's administrator
opens it; a section's own text replaces the built-in one in its language only, escaped, its lines kept; every
change audited with the texts before and after."""

from __future__ import annotations

import pytest
from django.urls import reverse

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.errors import InvalidInput, NotPermitted
from isotrack.clinic.models import Role
from isotrack.handouts import wording
from isotrack.handouts.actions import change_handout_texts
from isotrack.handouts.models import MAX_TEXT, HandoutText
from tests.conftest import TODAY, make_staff
from tests.web.test_handout_pages import DAY, treated, visible

pytestmark = pytest.mark.django_db

URL = "/practice/handouts/"


@pytest.fixture
def admin(practice):
    return make_staff(practice, "manager", Role.PRACTICE_ADMIN)


@pytest.fixture
def treated_course(prescriber, nurse):
    return treated(prescriber, nurse, mrn="H-0100", first_fill=TODAY - 40 * DAY, fills=2)


def blank_form(**typed: str) -> dict[str, str]:
    return {section.key: typed.get(section.key, "") for section in wording.SECTIONS}


def sheet(client, course, lang: str) -> str:
    return client.get(reverse("course_handout", args=[course.uuid]), {"lang": lang}).content.decode()


def test_only_the_administrator_opens_the_texts_page(client, admin, prescriber, nurse, front_desk, auditor):
    assert reverse("handout_texts") == URL
    for member in (prescriber, nurse, front_desk, auditor):
        client.force_login(member)
        assert client.get(URL).status_code == 403, member.role
        assert client.post(URL, blank_form(care_lips="Mine.")).status_code == 403, member.role
    assert not HandoutText.objects.exists()
    client.force_login(admin)
    page = client.get(URL, {"lang": "es"})
    assert page.status_code == 200
    body = page.content.decode()
    assert (
        "Built-in text" in body
        and "Casi todas las personas que toman este tratamiento tienen los labios resecos." in body
    )
    assert 'aria-current="page"' in body and "Save the texts in Español" in body


def test_the_settings_page_links_to_the_texts_page(client, admin):
    client.force_login(admin)
    assert f'href="{URL}"' in client.get(reverse("practice_settings")).content.decode()


def test_a_sections_own_text_replaces_the_built_in_one_for_its_language_only(
    client, admin, nurse, treated_course
):
    client.force_login(admin)
    response = client.post(f"{URL}?lang=en", blank_form(care_lips="Use our lip balm, free at the desk."))
    assert response.status_code == 302 and response["Location"] == f"{URL}?lang=en"
    client.force_login(nurse)
    english, spanish = (
        visible(sheet(client, treated_course, "en")),
        visible(sheet(client, treated_course, "es")),
    )
    assert "Use our lip balm, free at the desk." in english
    assert "Almost everyone gets dry lips." not in english
    assert (
        "Casi todas las personas que toman este tratamiento tienen los labios resecos." in spanish
    )  # Spanish keeps the built-in
    assert "free at the desk" not in spanish
    assert "Use a gentle moisturizer" in english  # the other sections keep theirs


def test_every_change_is_audited_with_the_texts_before_and_after(client, admin):
    client.force_login(admin)
    client.post(f"{URL}?lang=es", blank_form(contact="Llame al (555) 010-0199."))
    event = AuditEvent.objects.get(action=EventCode.HANDOUT_TEXT_CHANGE)
    assert event.actor == admin and event.patient is None
    assert event.before == {"es.contact": ""} and event.after == {"es.contact": "Llame al (555) 010-0199."}
    client.post(f"{URL}?lang=es", blank_form(contact="Llame al (555) 010-0199."))  # nothing changed
    assert AuditEvent.objects.filter(action=EventCode.HANDOUT_TEXT_CHANGE).count() == 1
    client.post(f"{URL}?lang=es", blank_form())  # back to the built-in text
    last = AuditEvent.objects.filter(action=EventCode.HANDOUT_TEXT_CHANGE).latest("id")
    assert last.before == {"es.contact": "Llame al (555) 010-0199."} and last.after == {"es.contact": ""}
    assert client.get(URL, {"lang": "es"}).status_code == 200


def test_the_administrators_text_is_shown_as_plain_text_escaped_with_its_lines(
    client, admin, nurse, treated_course
):
    client.force_login(admin)
    typed = "<b>Call</b> <script>alert(1)</script> 555-0100\r\nMonday to Friday, 8 to 5   \r\n\r\n"
    client.post(f"{URL}?lang=en", blank_form(avoid=typed))
    assert HandoutText.objects.get(section="avoid").text == (
        "<b>Call</b> <script>alert(1)</script> 555-0100\nMonday to Friday, 8 to 5"
    )
    client.force_login(nurse)
    body = sheet(client, treated_course, "en")
    assert "<script>alert(1)</script>" not in body and "<b>Call</b>" not in body
    assert "<li>&lt;b&gt;Call&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt; 555-0100</li>" in body
    assert "<li>Monday to Friday, 8 to 5</li>" in body


def test_a_text_too_long_is_refused_beside_its_field_and_nothing_is_saved(client, admin):
    client.force_login(admin)
    response = client.post(URL, blank_form(care_eyes="x" * (MAX_TEXT + 1), care_nose="Saved?"))
    assert response.status_code == 422
    assert 'id="id_care_eyes-error"' in response.content.decode()
    assert not HandoutText.objects.exists()


def test_an_unknown_language_edits_the_english_texts(client, admin):
    client.force_login(admin)
    client.post(f"{URL}?lang=fr", blank_form(contact="Call us."))
    assert HandoutText.objects.get().language == "en"


def test_another_practices_administrator_changes_only_their_own_handout(
    client, other_practice, nurse, treated_course
):
    client.force_login(make_staff(other_practice, "other-manager", Role.PRACTICE_ADMIN))
    client.post(f"{URL}?lang=en", blank_form(care_lips="Theirs."))
    assert HandoutText.objects.get().practice == other_practice
    client.force_login(nurse)
    assert "Theirs." not in sheet(client, treated_course, "en")


def test_the_action_refuses_others_an_unknown_section_or_language(admin, nurse):
    with pytest.raises(NotPermitted):
        change_handout_texts(actor=nurse, language="en", texts={"contact": "Mine."})
    with pytest.raises(InvalidInput):
        change_handout_texts(actor=admin, language="fr", texts={"contact": "À nous."})
    with pytest.raises(InvalidInput):
        change_handout_texts(actor=admin, language="en", texts={"dose": "40 mg"})
    with pytest.raises(InvalidInput) as refused:
        change_handout_texts(actor=admin, language="en", texts={"contact": "Call\x1b us"})
    assert refused.value.field == "contact"
    assert (
        not HandoutText.objects.exists()
        and not AuditEvent.objects.filter(action=EventCode.HANDOUT_TEXT_CHANGE).exists()
    )


def test_it_warns_when_the_texts_may_not_fit_on_one_page(client, admin):
    client.force_login(admin)
    for lang in ("en", "es"):
        assert 'data-testid="too-long"' not in client.get(URL, {"lang": lang}).content.decode(), lang
    long = "Keep your skin out of the sun, and moisturize morning and night, every day of the week. " * 8
    client.post(f"{URL}?lang=es", blank_form(avoid=long[:MAX_TEXT], care_skin=long[:MAX_TEXT]))
    assert 'data-testid="too-long"' in client.get(URL, {"lang": "es"}).content.decode()
    assert 'data-testid="too-long"' not in client.get(URL, {"lang": "en"}).content.decode()
