"""Nothing saved twice: every form and API write carries a one-time key, and the write and its key are stored
in one transaction. A second submission with the same key (the back button then Save, a reload, a double
click, two tabs, an API client's retry) saves nothing and answers with the first one's result.

Several processes share the database and keep no state: the key's UNIQUE index decides. Two submissions at the
same moment both try to insert the key inside their transaction; the second waits for the first (PostgreSQL's
unique index, SQLite's write lock) and then fails to insert, so it reads the result the first stored. A write
that fails (bad input) rolls its key back with it, so the corrected form can be sent again.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from isotrack.clinic.models import StaffUser, Submission

KEY_LENGTH = 24  # random bytes of a form's key (token_urlsafe)
MAX_CLIENT_KEY = 200  # an API client's Idempotency-Key, at most


def new_key() -> str:
    return secrets.token_urlsafe(KEY_LENGTH)


@dataclass(frozen=True)
class Done:
    status: int
    result: str  # the page's URL, or the API's JSON answer
    replayed: bool  # True: this submission had been carried out before; nothing was saved now


def _stored_key(user: StaffUser, key: str) -> str:
    """The key as stored: per user (one user's key never answers another's submission), hashed to a fixed
    length (an API client chooses its keys)."""
    return hashlib.sha256(f"{user.pk}:{key}".encode()).hexdigest()


def seen(user: StaffUser, key: str) -> bool:
    """Whether a submission with this key was carried out already (its repeat is answered, not judged)."""
    return bool(key) and Submission.objects.filter(key=_stored_key(user, key)).exists()


def once(user: StaffUser, key: str, write: Callable[[], tuple[int, str]]) -> Done:
    """Carry out ``write`` (which returns its answer: status and URL or JSON) once for ``key``: in one
    transaction with the key, or not at all; a repeat gets the first answer back."""
    stored = _stored_key(user, key)
    with transaction.atomic():
        try:
            with transaction.atomic():
                submission = Submission.objects.create(key=stored, user=user)
        except IntegrityError:
            first = Submission.objects.get(key=stored)
            return Done(first.status, first.result, replayed=True)
        status, result = write()
        if status >= 300 and status != 302:  # nothing was saved: the key may be used again
            transaction.set_rollback(True)
            return Done(status, result, replayed=False)
        submission.status, submission.result = status, result
        submission.save(update_fields=["status", "result"])
    return Done(status, result, replayed=False)
