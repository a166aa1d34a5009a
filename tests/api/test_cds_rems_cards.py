"""CDS Hooks cards shaped as HL7's US Medication REMS guide's card types: a card resting on reference rules is
an "external reference" card (absolute links to each rule's entry on isotrack's reference page, and to the
iPLEDGE website for a step made there; the rules' sources in its detail); one resting on none is an
"instructions" card. The links lead to a page that says what the card cites."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.api.conftest import TokenClient, token_for
from tests.api.test_fhir_and_cds import call, order_sign_request, patient_view_request

pytestmark = pytest.mark.django_db
IPLEDGE = "https://www.ipledgeprogram.com"
CITED = re.compile(r"Rule \*\*([A-Z0-9-]+)\*\*")


@pytest.fixture
def doctor_api(demo):
    return TokenClient(token_for(demo.staff["doctor"]))


def cards_of(api, demo, situation: str, service: str = "isotrack-order-sign") -> list[dict]:
    patient = demo.courses[situation][0].patient
    build = order_sign_request if service.endswith("order-sign") else patient_view_request
    request = build(str(patient.uuid))
    response = call(api, service, request)
    assert response.status_code == 200
    return response.json()["cards"]


def test_a_card_resting_on_a_rule_links_to_the_rule_and_names_its_sources(demo, doctor_api):
    (expired,) = [c for c in cards_of(doctor_api, demo, "window_missed") if "WINDOW_EXPIRED" in c["detail"]]
    assert expired["links"] == [
        {
            "label": "Rule IPL-WIN-7 and its sources",
            "url": "http://testserver/reference/#IPL-WIN-7",
            "type": "absolute",
        }
    ]  # the window is not a step made on the iPLEDGE website: no link to it
    assert "Source of IPL-WIN-7: iPLEDGE REMS requirement; isotrack's reference §1.5" in expired["detail"]
    assert "fda.gov" in expired["detail"]
    assert expired["source"] == {
        "label": "iPLEDGE REMS · isotrack",
        "url": "http://testserver/reference/",
        "topic": {"system": "urn:isotrack:cds", "code": "ipledge"},
    }


def test_a_step_made_on_the_ipledge_website_links_to_it(demo, doctor_api):
    cards = cards_of(doctor_api, demo, "awaiting_prescriber_confirmation")
    (confirm,) = [c for c in cards if "PRESCRIBER_CONFIRMATION_MISSING" in c["detail"]]
    assert [link["url"] for link in confirm["links"]] == [
        "http://testserver/reference/#IPL-PRESCRIBER-CONFIRM",
        IPLEDGE,
    ]


def test_every_card_of_every_situation_is_an_external_reference_or_instructions_card(demo, doctor_api):
    seen_links = 0
    for situation in demo.courses:
        for service in ("isotrack-order-sign", "isotrack-patient-view"):
            for card in cards_of(doctor_api, demo, situation, service):
                cited = CITED.findall(card["detail"])
                urls = [link["url"] for link in card.get("links", [])]
                for rule_id in cited:  # every rule a card rests on: its link and its source
                    assert f"http://testserver/reference/#{rule_id}" in urls, (situation, card["summary"])
                    assert f"Source of {rule_id}: " in card["detail"]
                for link in card.get("links", []):  # CDS Hooks' Link; the guide: an external one is absolute
                    assert set(link) == {"label", "url", "type"} and link["type"] == "absolute"
                    assert urlsplit(link["url"]).scheme in ("http", "https") and link["label"]
                assert card["indicator"] in ("info", "warning", "critical")
                assert card["source"]["label"] == "iPLEDGE REMS · isotrack"
                seen_links += len(urls)
    assert seen_links > 20


def test_an_order_isotrack_could_not_check_points_to_ipledge(demo, doctor_api):
    (card,) = call(doctor_api, "isotrack-order-sign", order_sign_request("ehr-unknown-1")).json()["cards"]
    assert card["summary"].startswith("isotrack does not know this patient")
    assert card["links"] == [{"label": "The iPLEDGE REMS website", "url": IPLEDGE, "type": "absolute"}]


def test_all_met_points_to_ipledge_and_the_rule_set(demo, doctor_api):
    cards = cards_of(doctor_api, demo, "window_closing_today")
    met_words = "iPLEDGE requirements recorded in isotrack are met"
    (met,) = [c for c in cards if c["summary"].startswith(met_words)]
    urls = [link["url"] for link in met["links"]]
    assert urls[0] == IPLEDGE and re.fullmatch(r"http://testserver/reference/#us-ipledge-20(21|26)", urls[1])


def test_namings_that_disagree_give_an_instructions_card_without_links(demo, doctor_api):
    patient = demo.courses["window_missed"][0].patient
    request = order_sign_request(str(patient.uuid))
    request["prefetch"] = {"patient": {"resourceType": "Patient", "id": "someone-else"}}
    (card,) = call(doctor_api, "isotrack-order-sign", request).json()["cards"]
    assert "cannot tell which patient" in card["summary"] and "links" not in card


def test_the_ipledge_website_is_a_setting(demo, doctor_api, settings):
    settings.IPLEDGE_WEBSITE_URL = "https://ipledge.example.org"
    cards = cards_of(doctor_api, demo, "awaiting_prescriber_confirmation")
    assert "https://ipledge.example.org" in json.dumps(cards) and IPLEDGE not in json.dumps(cards)


def test_the_links_lead_to_the_rules_they_name(demo, doctor_api):
    """The reference page (login required, as every page) holds an entry for each rule and rule set a card
    links to, with its words and its sources."""
    assert Client().get("/reference/").status_code == 302  # to the login page
    browser = Client()
    browser.force_login(demo.staff["nurse"])
    page = browser.get("/reference/").content.decode()
    for situation in ("window_missed", "awaiting_prescriber_confirmation", "window_closing_today"):
        for card in cards_of(doctor_api, demo, situation):
            for link in card.get("links", []):
                anchor = urlsplit(link["url"]).fragment
                if urlsplit(link["url"]).path == "/reference/":
                    assert f'id="{anchor}"' in page, anchor
    assert "Hansen 2016" in page and "CLIA-certified" in page and "§1.5" in page


def test_the_course_page_links_each_rule_it_used(demo):
    browser = Client()
    browser.force_login(demo.staff["doctor"])
    course = demo.courses["window_missed"][0]
    page = browser.get(f"/courses/{course.uuid}/").content.decode()
    assert '<a href="/reference/#IPL-WIN-7">IPL-WIN-7</a>' in page


def test_a_positive_test_s_follow_up_cards_link_the_step_and_the_rule_that_ends_the_course(demo, doctor_api):
    cards = cards_of(doctor_api, demo, "pregnancy_test_positive", "isotrack-patient-view")
    follow_up = [c for c in cards if c["detail"].startswith("After the positive pregnancy test")]
    assert follow_up, [c["summary"] for c in cards]
    for card in follow_up:
        urls = [link["url"] for link in card["links"]]
        assert "http://testserver/reference/#IPL-PT-POSITIVE" in urls
        assert any(re.search(r"#IPL-PREG-(STOP|REFER|REPORT)$", url) for url in urls), urls


def test_the_reference_page_serves_an_account_of_no_practice(db):
    from isotrack.clinic.models import StaffUser

    browser = Client()
    browser.force_login(StaffUser.objects.create_superuser("root-of-none", password="x" * 20))
    page = browser.get("/reference/")
    assert page.status_code == 200
    assert "2026-11-15 <small>(the default; each practice sets it)</small>" in page.content.decode()
