"""Two-factor authentication (django-otp): an authenticator app set up with its QR code's secret, the code
asked after the password, wrong and replayed codes refused, recovery codes good once, the practice's
requirement, an administrator's removal for a lost phone. The codes are computed as a phone would (pyotp)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import Role, TwoFactorPolicy
from tests.conftest import PASSWORD, make_staff
from tests.web.conftest import screenshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_throttle(settings):
    """Wrong codes do not slow the next try (django-otp's throttle has a test of its own below)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def password_step(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def secret_on(page: bytes) -> str:
    return re.search(rb'<code id="secret">([A-Z2-7 ]+)</code>', page).group(1).decode().replace(" ", "")


def key_of(page: bytes) -> str:
    return re.search(rb'name="submission_key" value="([^"]+)"', page).group(1).decode()


def enroll(client: Client) -> tuple[pyotp.TOTP, list[str]]:
    """Sets up an authenticator from the setup page, as a member would; the app and the recovery codes."""
    form = client.get("/account/two-factor/setup/")
    assert form.status_code == 200 and b'src="data:image/svg+xml' in form.content  # the QR code
    app = pyotp.TOTP(secret_on(form.content))
    response = client.post(
        "/account/two-factor/setup/", {"code": app.now(), "submission_key": key_of(form.content)}
    )
    assert response.status_code == 200, response.content
    codes = re.findall(rb"<li><code>([a-z2-7]{8})</code></li>", response.content)
    assert len(codes) == 10
    return app, [c.decode() for c in codes]


def next_step(app: pyotp.TOTP, steps: int = 1) -> str:
    """The code the app shows ``steps`` periods from now (accepted: the server allows one step of drift)."""
    return app.at(time.time() + steps * app.interval)


def test_a_member_sets_up_an_authenticator_and_then_needs_a_code_after_the_password(nurse, no_throttle):
    client = password_step("nurse")
    form = client.get("/account/two-factor/setup/")
    wrong = client.post(
        "/account/two-factor/setup/", {"code": "123456", "submission_key": key_of(form.content)}
    )
    assert wrong.status_code == 422 and b'id="id_code-error"' in wrong.content
    assert not TOTPDevice.objects.filter(user=nurse).exists()  # nothing stored until a code confirms it
    app, codes = enroll(client)
    assert TOTPDevice.objects.get(user=nurse).confirmed
    assert b"<strong>10</strong> recovery codes left" in client.get("/account/two-factor/").content
    assert AuditEvent.objects.filter(action=EventCode.TWO_FACTOR_ENROLL, actor=nurse).count() == 1
    trail = repr(list(AuditEvent.objects.values_list("before", "after")))
    assert not any(code in trail for code in codes)

    second = password_step("nurse")
    assert second.get("/").status_code == 302  # the password alone logs nobody in
    page = second.get("/login/code/")
    assert page.status_code == 200 and b"authenticator app" in page.content
    refused = second.post("/login/code/", {"code": "000000"})
    assert refused.status_code == 422 and b"That code is wrong or was used already." in refused.content
    code = next_step(app)
    assert second.post("/login/code/", {"code": code}).status_code == 302
    assert second.get("/").status_code == 200

    replayed = password_step("nurse")
    refused = replayed.post("/login/code/", {"code": code})
    assert refused.status_code == 422 and b"was used already" in refused.content
    assert replayed.get("/").status_code == 302


def test_a_recovery_code_logs_in_once(nurse, no_throttle):
    _, codes = enroll(password_step("nurse"))
    client = password_step("nurse")
    response = client.post("/login/code/", {"code": codes[3].upper()}, follow=True)
    assert b"You logged in with a recovery code: 9 left." in response.content
    again = password_step("nurse")
    assert again.post("/login/code/", {"code": codes[3]}).status_code == 422


def test_wrong_codes_slow_the_next_tries(nurse):
    app, _ = enroll(password_step("nurse"))
    client = password_step("nurse")
    assert client.post("/login/code/", {"code": "000000"}).status_code == 422
    refused = client.post("/login/code/", {"code": next_step(app)})
    assert refused.status_code == 422 and b"Too many wrong codes: wait 1 s" in refused.content


def test_the_code_must_follow_the_password_within_five_minutes(nurse, no_throttle, settings):
    app, _ = enroll(password_step("nurse"))
    settings.TWO_FACTOR_PENDING_SECONDS = -1
    client = password_step("nurse")
    response = client.post("/login/code/", {"code": next_step(app)}, follow=True)
    assert response.redirect_chain[-1][0] == "/login/"
    assert b"the code must follow the password within five minutes" in response.content
    assert Client().get("/login/code/").status_code == 302  # and with no password given: the login page


def test_a_practice_that_requires_it_sends_a_member_without_one_to_set_it_up_first(
    practice, prescriber, nurse, no_throttle
):
    practice.two_factor = TwoFactorPolicy.PRIVILEGED
    practice.save()
    assert password_step("nurse").get("/").status_code == 200  # not of a nurse
    client = password_step("prescriber")
    for path in ("/", "/patients/", "/calendar/", "/api/tokens/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, "/account/two-factor/setup/"), path
    assert (
        client.get("/patients/", headers={"HX-Request": "true"})["HX-Redirect"]
        == "/account/two-factor/setup/"
    )
    page = client.get("/account/two-factor/setup/")
    assert b"Your practice requires a second factor of your role" in page.content
    enroll(client)
    assert client.get("/patients/").status_code == 200
    removal = client.post("/account/two-factor/remove/", follow=True)
    assert b"Your practice requires a second factor" in removal.content
    assert TOTPDevice.objects.filter(user=prescriber).exists()

    practice.two_factor = TwoFactorPolicy.EVERYONE
    practice.save()
    assert password_step("nurse").get("/").status_code == 302


def test_an_administrator_removes_the_second_factor_of_a_member_who_lost_the_phone(practice, nurse):
    enroll(password_step("nurse"))
    admin = make_staff(practice, "manager", Role.PRACTICE_ADMIN)
    client = Client()
    client.force_login(admin)
    assert b"Remove their second factor" in client.get(f"/staff/{nurse.uuid}/").content
    response = client.post(f"/staff/{nurse.uuid}/two-factor/remove/", follow=True)
    assert b"second factor is removed" in response.content
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    event = AuditEvent.objects.get(action=EventCode.TWO_FACTOR_REMOVE)
    assert (event.actor, event.object_uuid) == (admin, nurse.uuid)
    assert password_step("nurse").get("/").status_code == 200  # the password alone, until a new one


def test_a_member_turns_it_off_when_the_practice_allows(nurse):
    client = password_step("nurse")
    enroll(client)
    response = client.post("/account/two-factor/remove/", follow=True)
    assert b"Your authenticator and recovery codes are removed." in response.content
    assert password_step("nurse").get("/").status_code == 200


def test_new_recovery_codes_replace_the_old_ones_and_are_shown_once(nurse, no_throttle):
    client = password_step("nurse")
    _, old = enroll(client)
    page = client.get("/account/two-factor/")
    made = client.post("/account/two-factor/recovery/", {"submission_key": key_of(page.content)})
    new = re.findall(rb"<li><code>([a-z2-7]{8})</code></li>", made.content)
    assert len(new) == 10 and not {c.decode() for c in new} & set(old)
    again = client.post(
        "/account/two-factor/recovery/", {"submission_key": key_of(page.content)}, follow=True
    )
    assert b"already saved" in again.content and b"<li><code>" not in again.content
    assert password_step("nurse").post("/login/code/", {"code": old[0]}).status_code == 422


@pytest.mark.django_db(transaction=True)
def test_in_a_browser_a_member_enrolls_then_logs_in_with_a_code_and_a_replay_is_refused(
    page, live_server, nurse, no_throttle
):
    def log_in():
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill("nurse")
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("main").get_by_role("button", name="Log in").click()

    log_in()
    page.get_by_role("link", name="Two-factor").click()
    page.get_by_role("link", name="Set up an authenticator app").click()
    app = pyotp.TOTP(page.locator("#secret").inner_text().replace(" ", ""))
    screenshot(page, "two-factor-setup")
    page.get_by_label("Code").fill(app.now())
    page.locator("main").get_by_role("button", name="Confirm").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("button", name="Log out").click()

    log_in()
    assert page.url.endswith("/login/code/")
    code = next_step(app)
    page.get_by_label("Code").fill(code)
    page.locator("main").get_by_role("button", name="Log in").click()
    assert page.get_by_role("heading", name="Worklist").count() == 1
    page.get_by_role("button", name="Log out").click()

    log_in()
    for attempt in (code, "999999"):
        page.get_by_label("Code").fill(attempt)
        page.locator("main").get_by_role("button", name="Log in").click()
        assert "That code is wrong or was used already." in page.locator("#id_code-error").inner_text()
    screenshot(page, "two-factor-refused")
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/login/")
