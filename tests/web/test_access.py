"""Who may see and change what, through every URL of the pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import URLPattern, get_resolver, reverse

from isotrack.audit.events import EventCode
from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.models import CheckIn, Role


def all_patterns(patterns=None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLPattern):
            yield pattern
        else:
            yield from all_patterns(pattern.url_patterns)


@pytest.fixture
def records(patient, weight, course, nurse):
    """A record of the first practice for every kind of id a page URL can name."""
    return {
        "member_id": nurse.uuid,  # a member of staff
        "patient_id": patient.uuid,
        "weight_id": weight.uuid,
        "medication_id": record_medication(
            actor=nurse, patient=patient, name="doxycycline", start=date(2026, 6, 1)
        ).uuid,
        "course_id": course.uuid,
        "check_in_id": answered_check_in(course).uuid,
        "kind": "weight",  # a kind of record to correct or void, and one of them
        "record_id": weight.uuid,
        "code": "TRIGLYCERIDES_CRITICAL",  # an alert of the course, by its code and date
        "alert_date": date(2026, 6, 1),
    }


def answered_check_in(course):
    """A check-in of the course, answered by the patient (its review page names it)."""
    from isotrack.clinic.actions.check_ins import SYMPTOMS, CheckInAnswers, issue_check_in, submit_check_in

    issued = issue_check_in(course=course, visit_date=course.start)
    assert issued is not None
    CheckIn.objects.filter(pk=issued.check_in.pk).update(expires_at=datetime(2100, 1, 1, tzinfo=UTC))
    issued.check_in.refresh_from_db()
    answers = CheckInAnswers(phq=(1, 1), symptoms=dict.fromkeys(SYMPTOMS, "mild"))
    return submit_check_in(check_in=issued.check_in, answers=answers)


def page_patterns():
    """The HTML pages (the API and token-reached feeds have tests of their own)."""
    for pattern in all_patterns():
        module = getattr(pattern.callback, "__module__", "")
        if module.startswith("isotrack.web") and getattr(pattern.callback, "login_required", True):
            yield pattern


def url_of(pattern, records):
    names = set(pattern.pattern.converters)
    assert names <= set(records), f"{pattern.name}: give the test a record for {names - set(records)}"
    return reverse(pattern.name, kwargs={name: records[name] for name in names})


def record_urls(records):
    """Every page that names a record: outsiders must get 404 on each."""
    return [url_of(p, records) for p in page_patterns() if p.pattern.converters]


def write_urls(records, *, naming_a_record: bool = False):
    return [
        url_of(p, records)
        for p in page_patterns()
        if hasattr(p.callback, "writes") and (p.pattern.converters or not naming_a_record)
    ]


def test_every_page_but_login_and_healthz_requires_login(client, records):
    assert client.get("/healthz").status_code == 200
    assert client.get(reverse("login")).status_code == 200
    for url in [reverse("home"), reverse("patients"), reverse("patient_new"), *record_urls(records)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_an_outsider_gets_404_on_every_record_url_of_another_practice(client, outsider, patient, records):
    client.force_login(outsider)
    urls = record_urls(records)
    assert len(urls) >= 5
    for url in urls:
        assert client.get(url).status_code == outsiders_status(url), url
    for url in write_urls(records, naming_a_record=True):
        response = client.post(url, {"value": "70", "unit": "kg", "effective_date": "2026-06-01"})
        assert response.status_code == outsiders_status(url), url
    assert patient.weights.count() == 1


def outsiders_status(url: str) -> int:
    """404 (another practice's record looks missing), but 403 on the staff pages: a prescriber may not manage
    staff at all, and the role is checked before anything is read (as for an auditor's writes)."""
    return 403 if url.startswith(("/staff/", "/practice/")) else 404


def test_an_outsider_administrator_gets_404_on_the_staff_pages_of_another_practice(
    client, other_practice, nurse
):
    from tests.conftest import make_staff

    client.force_login(make_staff(other_practice, "outside-admin", Role.PRACTICE_ADMIN))
    for url in (
        f"/staff/{nurse.uuid}/",
        f"/staff/{nurse.uuid}/active/",
        f"/staff/{nurse.uuid}/two-factor/remove/",
        f"/staff/{nurse.uuid}/password-link/",
    ):
        assert client.post(url, {"role": "practice_admin", "active": "0"}).status_code == 404, url
    nurse.refresh_from_db()
    assert nurse.is_active and nurse.role == Role.NURSE


def test_an_outsider_does_not_find_the_patient_by_search(client, outsider, patient):
    client.force_login(outsider)
    response = client.get(reverse("patients"), {"q": patient.mrn})
    assert patient.family_name not in response.content.decode()


def test_an_auditor_gets_403_on_every_write(client, auditor, weight, records):
    client.force_login(auditor)
    urls = write_urls(records)
    assert len(urls) >= 4
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert (
            client.post(url, {"value": "99", "unit": "kg", "effective_date": "2026-06-01"}).status_code == 403
        )
    weight.refresh_from_db()
    assert str(weight.kg) == "62.00"


def test_an_auditor_reads_the_patient_and_its_audit_trail(client, auditor, patient, weight):
    client.force_login(auditor)
    assert client.get(reverse("patient", kwargs={"patient_id": patient.uuid})).status_code == 200
    assert client.get(reverse("patient_audit", kwargs={"patient_id": patient.uuid})).status_code == 200


def test_a_nurse_cannot_change_the_patients_category(client, nurse, patient):
    client.force_login(nurse)
    url = reverse("patient_category", kwargs={"patient_id": patient.uuid})
    response = client.post(url, {"category": "cannot_get_pregnant", "reason": "typo"})
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.category == "can_get_pregnant"


def test_five_wrong_passwords_in_a_row_throttle_the_login(client, nurse):
    from tests.conftest import PASSWORD

    for _ in range(5):
        response = client.post(reverse("login"), {"username": "nurse", "password": "wrong-password"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": "nurse", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_right_password_logs_in(client, nurse):
    from tests.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": "nurse", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("patients")).status_code == 200


@pytest.mark.parametrize("value", ["", "abc", "-5"])
def test_a_bad_weight_shows_the_error_beside_the_field_and_saves_nothing(client, nurse, patient, value):
    client.force_login(nurse)
    url = reverse("weight_new", kwargs={"patient_id": patient.uuid})
    response = client.post(url, {"effective_date": "2026-06-01", "value": value, "unit": "kg"})
    assert response.status_code == 422
    assert 'id="id_value-error"' in response.content.decode()
    assert patient.weights.count() == 0


def test_an_impossible_weight_is_refused_beside_the_field(client, nurse, patient):
    client.force_login(nurse)
    url = reverse("weight_new", kwargs={"patient_id": patient.uuid})
    response = client.post(url, {"effective_date": "2026-06-01", "value": "800", "unit": "lb"})
    assert response.status_code == 422
    assert patient.weights.count() == 0


def test_a_corrected_weight_shows_in_the_audit_page_with_old_and_new_values(client, nurse, patient, weight):
    client.force_login(nurse)
    response = client.post(
        reverse("record_correct", args=["weight", weight.uuid]),
        {
            "effective_date": date(2026, 5, 20).isoformat(),
            "entered_value": "140",
            "entered_unit": "lb",
            "correction_reason": "re-weighed",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patient", kwargs={"patient_id": patient.uuid})
    page = client.get(reverse("patient_audit", kwargs={"patient_id": patient.uuid})).content.decode()
    assert EventCode.WEIGHT_CORRECT in page
    assert "62.00" in page and "140.00" in page
    assert nurse.display_name in page
    assert "re-weighed" in page
    assert '<tr class="voided" data-voided="true">' in page  # where the first weight was recorded
    assert [w.kg for w in patient.weights.all()] == [Decimal("63.50")]


def test_a_front_desk_user_registers_a_patient(client, front_desk):
    client.force_login(front_desk)
    response = client.post(
        reverse("patient_new"),
        {
            "mrn": "T-0100",
            "given_name": "Jordan",
            "family_name": "Sample",
            "birth_date": "2003-02-01",
            "gender": "male",
            "category": "cannot_get_pregnant",
        },
    )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_pages_carry_the_security_headers(client, nurse):
    client.force_login(nurse)
    response = client.get(reverse("patients"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "never replaces them" in response.content.decode()


def wrong_passwords(client, count: int, addresses: list[str]) -> None:
    for attempt in range(count):
        address = addresses[attempt % len(addresses)]
        response = client.post(
            reverse("login"), {"username": "nurse", "password": "wrong-password"}, REMOTE_ADDR=address
        )
        assert response.status_code in (200, 429)


ADDRESSES = [f"203.0.113.{n}" for n in range(1, 6)]


def test_twenty_wrong_passwords_spread_over_five_addresses_lock_the_login_everywhere(client, nurse):
    from tests.conftest import PASSWORD

    wrong_passwords(client, 20, ADDRESSES)  # four from each address: none of them alone is locked
    response = client.post(
        reverse("login"), {"username": "nurse", "password": PASSWORD}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_fewer_wrong_passwords_across_addresses_leave_the_login_open(client, nurse):
    from tests.conftest import PASSWORD

    wrong_passwords(client, 19, ADDRESSES)
    response = client.post(
        reverse("login"), {"username": "nurse", "password": PASSWORD}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "client_is"),
    [
        (0, "203.0.113.1", "198.51.100.7", "203.0.113.1"),  # no proxy: the header is the client's own words
        (1, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "192.0.2.66, 198.51.100.7", "198.51.100.7"),  # a forged entry is further left
        (2, "10.0.0.3", "192.0.2.66, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "10.0.0.3", "198.51.100.7", "10.0.0.3"),  # fewer entries than proxies: the connection's
        (1, "10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_the_client_address_behind_trusted_proxies(settings, rf, proxies, remote, forwarded, client_is):
    from isotrack.web.throttle import client_address

    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/login/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == client_is


def test_behind_a_proxy_a_forged_forwarded_address_does_not_escape_the_lock(client, nurse, settings):
    settings.TRUSTED_PROXIES = 1
    for forged in range(5):
        client.post(
            reverse("login"),
            {"username": "nurse", "password": "wrong-password"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{forged}, 198.51.100.7",
        )
    response = client.post(
        reverse("login"),
        {"username": "nurse", "password": "wrong-password"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.99, 198.51.100.7",
    )
    assert response.status_code == 429
