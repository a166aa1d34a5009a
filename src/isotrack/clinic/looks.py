"""Who looked at which patient's record: the access log's side of a request.

Every request is watched (``watch``, by ``web.middleware.AccessLogMiddleware``): the practice-scoped lookups
that open a patient's record (``access.access_patient``, ``access.access_course``, a FHIR read by id, a feed)
note the patient (``saw``); a request authenticated by a token names its owner and the token (``by``). After a
successful read (GET or HEAD answering 2xx) the middleware writes the look (``record``): one access row per
patient seen, or one row with no patient for a list (the worklist, the patient list, the calendar, a search),
each sealed in the practice's access chain (``isotrack.audit.chain.ACCESS``), all or none.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from isotrack.audit.trail import record_access


@dataclass
class Look:
    patients: list[int] = field(default_factory=list)
    actor: Any = None  # who, when not the session's user (a token's owner)
    detail: str = ""


_current: ContextVar[Look | None] = ContextVar("isotrack_look", default=None)


def watch() -> Token[Look | None]:
    return _current.set(Look())


def stop(token: Token[Look | None]) -> None:
    _current.reset(token)


def saw(patient: Any) -> None:
    look = _current.get()
    if look is not None and patient.pk not in look.patients:
        look.patients.append(patient.pk)


def by(actor: Any, detail: str) -> None:
    """The request is a token's: its owner looks, and the token is named (never its secret)."""
    look = _current.get()
    if look is not None:
        look.actor, look.detail = actor, detail


def current() -> Look | None:
    return _current.get()


def record(*, actor: Any, channel: str, view: str) -> None:
    look = _current.get()
    if look is None or actor is None or actor.practice_id is None:
        return
    record_access(actor=actor, channel=channel, view=view, patients=look.patients, detail=look.detail)
