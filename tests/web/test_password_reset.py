"""A forgotten password: the login page's link, the email (received by a real SMTP server on loopback) with a
link that works once, the same answer for an address nobody has."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "lantern-orchard-2026"


def test_a_member_resets_a_forgotten_password_by_email_and_the_link_works_once(nurse, smtp_server):
    nurse.email = "nurse@alder.example"
    nurse.save()
    client = Client()
    login = client.get("/login/")
    assert b'href="/password/reset/"' in login.content
    assert client.get("/password/reset/").status_code == 200
    response = client.post("/password/reset/", {"email": "NURSE@alder.example"}, follow=True)
    assert (
        response.redirect_chain[-1][0] == "/password/reset/sent/" and b"Check your email" in response.content
    )
    (email,) = smtp_server.inbox.messages
    assert email["To"] == "nurse@alder.example" and email["Subject"] == "isotrack: reset your password"
    body = email.get_payload(decode=True).decode()
    assert "login: nurse" in body and "for 72 hours" in body
    link = re.search(r"http://testserver(/password/set/\S+)", body).group(1)

    form = client.get(link, follow=True)
    target = form.redirect_chain[-1][0]
    assert b"Set your password" in form.content
    short = client.post(target, {"new_password1": "short", "new_password2": "short"})
    assert short.status_code == 200 and b"at least 12 characters" in short.content
    done = client.post(target, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert Client().post("/login/", {"username": "nurse", "password": NEW_PASSWORD}).status_code == 302
    again = Client().get(link, follow=True)
    assert b"This link has expired or has been used." in again.content


def test_an_unknown_address_gets_the_same_answer_and_no_email(nurse, smtp_server):
    response = Client().post("/password/reset/", {"email": "nobody@alder.example"}, follow=True)
    assert response.redirect_chain[-1][0] == "/password/reset/sent/"
    assert smtp_server.inbox.messages == []
    refused = Client().post("/password/reset/", {"email": "not an address"})
    assert refused.status_code == 200 and b'id="id_email-error"' in refused.content
