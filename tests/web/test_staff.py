"""Staff administration by the practice's administrators: invite (email with a one-time link), role,
deactivate and reactivate; each audited; the last administrator kept; a deactivated member stopped at once."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from isotrack.api.models import ApiToken
from isotrack.api.tokens import create_token
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.practices import create_practice
from isotrack.clinic.actions.staff import npi_problem
from isotrack.clinic.models import Role, StaffUser
from isotrack.notify.actions import create_feed_token
from isotrack.notify.models import FeedScope

pytestmark = pytest.mark.django_db

PASSWORD = "harbor-passphrase-2026"
VALID_NPI = "1234567893"  # CMS's example: its check digit is right


@pytest.mark.parametrize(
    ("npi", "problem"),
    [
        (VALID_NPI, None),
        ("1245319599", None),
        ("1234567890", "This NPI's check digit is wrong: check the number."),
        ("123456789", "An NPI is ten digits."),
        ("12345678a3", "An NPI is ten digits."),
        ("１２３４５６７８９３", "An NPI is ten digits."),  # full-width digits are not an NPI
    ],
)
def test_an_npi_is_ten_digits_with_a_luhn_check_digit(npi, problem):
    assert npi_problem(npi) == problem


def logged_in(user: StaffUser) -> Client:
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def harbor():
    practice, admin = create_practice(
        name="Harbor Dermatology", time_zone="America/Chicago", admin_email="admin@harbor.example"
    )
    return practice, admin, logged_in(admin)


INVITE = {
    "email": "Nurse.Lee@harbor.example",
    "first_name": "Robin",
    "last_name": "Lee",
    "credentials": "RN",
    "role": "nurse",
    "npi": "",
}


@pytest.mark.django_db(transaction=True)  # the email goes once the member is committed, as in production
def test_the_administrator_invites_a_member_who_gets_an_email_with_a_one_time_link(harbor, smtp_server):
    practice, admin, client = harbor
    form = client.get("/staff/invite/")
    assert form.status_code == 200
    assert not re.search(
        rb'<option value="[^"]+" selected', form.content
    )  # no role chosen for the administrator
    key = re.search(rb'name="submission_key" value="([^"]+)"', form.content).group(1).decode()
    response = client.post("/staff/invite/", {**INVITE, "submission_key": key}, follow=True)
    member = StaffUser.objects.get(username="nurse.lee@harbor.example")
    assert (member.practice, member.role, member.has_usable_password()) == (practice, Role.NURSE, False)
    assert b"Invitation sent to Nurse.Lee@harbor.example" in response.content
    (email,) = smtp_server.inbox.messages  # received by a real SMTP server on loopback
    assert email["To"] == "Nurse.Lee@harbor.example" and "Harbor Dermatology" in email["Subject"]
    body = email.get_payload(decode=True).decode()
    link = re.search(r"http://testserver(/password/set/\S+)", body).group(1)
    nurse = Client()
    target = nurse.get(link, follow=True).redirect_chain[-1][0]
    nurse.post(target, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert nurse.post("/login/", {"username": member.username, "password": PASSWORD}).status_code == 302
    assert nurse.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="staff.invite", actor=admin, object_uuid=member.uuid).exists()
    assert b"Robin Lee, RN" in client.get("/staff/").content


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"role": ""}, "role", b"This field is required."),
        ({"role": "prescriber"}, "npi", b"A prescriber needs an NPI."),
        ({"role": "prescriber", "npi": "1234567890"}, "npi", b"check digit is wrong"),
        ({"email": "admin@harbor.example"}, "email", b"is already the login of a member of staff"),
        ({"email": "not-an-address"}, "email", b"Enter a valid email address."),
    ],
)
def test_a_bad_invitation_is_refused_beside_its_field_and_nothing_saved(harbor, change, field, error):
    _, _, client = harbor
    response = client.post("/staff/invite/", {**INVITE, **change})
    assert response.status_code == 422 and error in response.content
    assert re.search(rb'id="id_' + field.encode() + rb'-error"', response.content)
    assert StaffUser.objects.count() == 1


def test_only_the_practices_administrators_manage_its_staff(harbor):
    practice, admin, client = harbor
    nurse = StaffUser.objects.create(username="n@harbor.example", practice=practice, role=Role.NURSE)
    as_nurse = logged_in(nurse)
    for path in ("/staff/", "/staff/invite/", f"/staff/{admin.uuid}/"):
        assert as_nurse.get(path).status_code == 403, path
    assert as_nurse.post(f"/staff/{admin.uuid}/active/", {"active": "0"}).status_code == 403
    assert b">Staff</a>" not in as_nurse.get("/").content and b">Staff</a>" in client.get("/").content
    _, other_admin = create_practice(name="Other", time_zone="America/Denver", admin_email="a@other.example")
    assert client.get(f"/staff/{other_admin.uuid}/").status_code == 404  # another practice's: not there


def test_deactivating_stops_the_members_session_api_token_and_feeds_at_once(harbor):
    practice, admin, client = harbor
    nurse = StaffUser.objects.create(username="n@harbor.example", practice=practice, role=Role.NURSE)
    session = logged_in(nurse)
    token, value = create_token(actor=nurse, name="spreadsheet")
    feed = create_feed_token(actor=nurse, scope=FeedScope.PRACTICE)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {value}")
    assert api.get("/api/v1/worklist").status_code == 200
    assert (
        session.get("/").status_code == 200 and Client().get(f"/feeds/{feed.secret}.ics").status_code == 200
    )

    response = client.post(f"/staff/{nurse.uuid}/active/", {"active": "0"}, follow=True)
    assert b"deactivated" in response.content
    assert session.get("/").status_code == 302  # back to the login page
    assert api.get("/api/v1/worklist").status_code == 401
    assert Client().get(f"/feeds/{feed.secret}.ics").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    actions = set(AuditEvent.objects.filter(actor=admin).values_list("action", flat=True))
    assert {"staff.deactivate", "api_token.revoke", "feed_token.revoke"} <= actions

    client.post(f"/staff/{nurse.uuid}/active/", {"active": "1"})
    assert StaffUser.objects.get(pk=nurse.pk).is_active
    assert api.get("/api/v1/worklist").status_code == 401  # what was revoked stays revoked


def test_the_last_active_administrator_is_neither_deactivated_nor_given_another_role(harbor):
    practice, admin, client = harbor
    refused = client.post(f"/staff/{admin.uuid}/", {"role": "nurse", "npi": ""})
    assert refused.status_code == 422 and b"needs an active administrator" in refused.content
    kept = client.post(f"/staff/{admin.uuid}/active/", {"active": "0"}, follow=True)
    assert b"needs an active administrator" in kept.content
    assert StaffUser.objects.get(pk=admin.pk).is_active
    second = StaffUser.objects.create(username="b@harbor.example", practice=practice, role=Role.NURSE)
    client.post(f"/staff/{second.uuid}/", {"role": "practice_admin", "npi": ""})
    assert client.post(f"/staff/{admin.uuid}/", {"role": "nurse", "npi": ""}).status_code == 302
    role_change = AuditEvent.objects.get(action="staff.change", object_uuid=admin.uuid)
    assert (role_change.before, role_change.after) == ({"role": "practice_admin"}, {"role": "nurse"})


def test_a_prescriber_has_an_npi_with_a_right_check_digit(harbor):
    practice, _, client = harbor
    member = StaffUser.objects.create(username="p@harbor.example", practice=practice, role=Role.NURSE)
    for npi, error in (("", b"A prescriber needs an NPI."), ("1234567890", b"check digit is wrong")):
        refused = client.post(f"/staff/{member.uuid}/", {"role": "prescriber", "npi": npi})
        assert (
            refused.status_code == 422
            and error in refused.content
            and b'id="id_npi-error"' in refused.content
        )
    assert client.post(f"/staff/{member.uuid}/", {"role": "prescriber", "npi": VALID_NPI}).status_code == 302
    member.refresh_from_db()
    assert (member.role, member.npi) == (Role.PRESCRIBER, VALID_NPI)


def test_the_footer_says_the_data_are_synthetic_only_on_a_development_instance(settings, client):
    for debug, synthetic in ((True, True), (False, False)):
        settings.DEBUG = debug
        footer = client.get("/login/").content.split(b'<footer class="foot">')[1]
        assert b"never replaces them" in footer and b"Verify requirements in iPLEDGE" in footer
        assert (b"synthetic demo data only" in footer) is synthetic


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("email_host", ["", "smtp.harbor.example"])
def test_without_email_the_administrator_is_given_the_link_to_pass_on(
    harbor, settings, monkeypatch, email_host
):
    import smtplib

    from isotrack.web import staff_views

    _, _, client = harbor
    settings.EMAIL_HOST = email_host

    def refused(**kwargs: object) -> None:
        raise smtplib.SMTPRecipientsRefused({})

    monkeypatch.setattr(staff_views, "send_mail", refused)  # the server refuses (no server at all: not tried)
    response = client.post("/staff/invite/", INVITE, follow=True)
    assert StaffUser.objects.filter(username="nurse.lee@harbor.example").exists()
    link = re.search(
        rb"this link, which works once, for 72 hours: http://testserver(/password/set/[^/]+/[^/]+/)",
        response.content,
    )
    assert link and Client().get(link.group(1).decode(), follow=True).status_code == 200
    assert not mail.outbox


@pytest.mark.django_db(transaction=True)  # the email goes as in production
def test_the_administrator_sends_a_new_link_that_sets_the_password(harbor, smtp_server):
    practice, admin, client = harbor
    member = StaffUser.objects.create(
        username="n@harbor.example", email="n@harbor.example", practice=practice, role=Role.NURSE
    )
    page = client.get(f"/staff/{member.uuid}/").content
    assert b"Send a new link to set the password" in page
    response = client.post(f"/staff/{member.uuid}/password-link/", follow=True)
    assert b"New link sent to n@harbor.example: its link works once, for 72 hours." in response.content
    (email,) = smtp_server.inbox.messages
    body = email.get_payload(decode=True).decode()
    assert "Harbor Dermatology sends you a new link to set your isotrack password." in body
    link = re.search(r"http://testserver(/password/set/\S+)", body).group(1)
    browser = Client()
    target = browser.get(link, follow=True).redirect_chain[-1][0]
    browser.post(target, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert browser.post("/login/", {"username": member.username, "password": PASSWORD}).status_code == 302
    event = AuditEvent.objects.get(action="staff.password_link")
    assert (event.actor, event.object_uuid) == (admin, member.uuid)

    member.is_active = False
    member.save()
    refused = client.post(f"/staff/{member.uuid}/password-link/", follow=True)
    assert b"Reactivate the member first" in refused.content and len(smtp_server.inbox.messages) == 1
