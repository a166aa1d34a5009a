"""Tokens for the personas of tests/conftest.py, and a client that speaks to the API with one."""

from __future__ import annotations

import pytest
from django.test import Client

from isotrack.api import tokens


def token_for(user) -> str:
    return tokens.create_token(actor=user, name="test")[1]


class TokenClient(Client):
    """The Django test client with `Authorization: Bearer <token>` on every request."""

    def __init__(self, token: str, **defaults):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {token}", **defaults)


@pytest.fixture
def prescriber_api(prescriber):
    return TokenClient(token_for(prescriber))


@pytest.fixture
def nurse_api(nurse):
    return TokenClient(token_for(nurse))


@pytest.fixture
def auditor_api(auditor):
    return TokenClient(token_for(auditor))


@pytest.fixture
def outsider_api(outsider):
    return TokenClient(token_for(outsider))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One demo practice dated on the practice's today for a module's read-only tests, rolled back at its
    end (a module may define its own)."""
    from django.db import transaction

    from isotrack.demo.generator import MAIN_SITUATIONS, build_demo, practice_today

    with django_db_blocker.unblock(), transaction.atomic():
        yield build_demo(patients=len(MAIN_SITUATIONS), today=practice_today())
        transaction.set_rollback(True)
