"""What every endpoint of the JSON API shares: the acting user, the declared problem responses, pagination,
and optimistic concurrency (ETag on read, If-Match on update)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from ninja import Field, Schema

from isotrack.api.problems import precondition_failed, precondition_required
from isotrack.api.v1.schemas import Problem
from isotrack.audit.chain import AUDIT, hold
from isotrack.clinic.models import StaffUser

READ_PROBLEMS: dict[int, Any] = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: Problem}
WRITE_PROBLEMS: dict[int, Any] = {**READ_PROBLEMS}
UPDATE_PROBLEMS: dict[int, Any] = {**READ_PROBLEMS, 412: Problem, 428: Problem}
DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET = 50, 200, 1_000_000


def actor(request: HttpRequest) -> StaffUser:
    """The staff member the token or the session stands for (request.user is anonymous with a token)."""
    return request.auth  # type: ignore[attr-defined, no-any-return]


def decimal_of(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def decimal(value: float) -> Decimal:
    """A JSON number as the exact decimal that was written (62.1, not 62.099999...)."""
    return Decimal(str(value))


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class DateRange(Schema):
    since: date | None = Field(None, description="Only records dated on or after this day.")
    until: date | None = Field(None, description="Only records dated on or before this day.")


def page(items: Any, params: PageParams, present: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One page of a queryset (or list), each item presented by its explicit output builder."""
    count = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
    chosen = items[params.offset : params.offset + params.limit]
    return {"items": [present(item) for item in chosen], "count": count, **params.dict()}


def public_fields(instance: Model, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of a record for an output schema: `id` is its UUID, a related record its UUID."""
    values: dict[str, Any] = {}
    for name in names:
        if name == "id":
            values[name] = instance.uuid  # type: ignore[attr-defined]
            continue
        value = getattr(instance, name)
        values[name] = getattr(value, "uuid", value) if isinstance(value, Model) else value
    return values


# ---------------------------------------------------------------------------------- optimistic concurrency


def etag_of(representation: dict[str, Any]) -> str:
    """A strong validator: the hash of what the GET answers (the representation), so that a change to anything
    it shows (the record, or what it draws from elsewhere, as a course's target from the practice's policy)
    changes it."""
    content = json.dumps(representation, sort_keys=True, default=_as_served)
    return '"' + hashlib.sha256(content.encode()).hexdigest()[:32] + '"'


_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e]*")\s*(?:,|$)')


def entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """The entity tags an If-Match or If-None-Match header lists (RFC 9110 8.8.3), each as (weak, opaque tag
    with its quotes); ``None`` for ``*`` (any current version); an empty list for a header that lists none in
    the grammar (which then matches nothing)."""
    if header.strip() == "*":
        return None
    tags, at = [], 0
    while at < len(header):
        if header[at] in " \t,":  # empty list elements are ignored (RFC 9110 5.6.1)
            at += 1
            continue
        found = _ENTITY_TAG.match(header, at)
        if found is None or found.end() == at:
            return []
        tags.append((found.group(1) is not None, found.group(2)))
        at = found.end()
    return tags


def _as_served(value: object) -> object:
    """A value as the answer serves it: a decimal as its number (64.5 and 64.50 are one version)."""
    return float(value) if isinstance(value, Decimal) else str(value)


def check_version(request: HttpRequest, instance: Model, represent: Callable[[Any], dict[str, Any]]) -> None:
    """The update goes ahead only against the version the client read: If-Match must name its ETag, compared
    strongly (RFC 9110 13.1.1: a weak tag never matches), or be ``*`` (the record as it now is).

    Call inside the update's transaction: the row is locked here, so no other writer slips in between this
    check and the change."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise precondition_required()
    practice_id = getattr(getattr(request, "auth", None), "practice_id", None)
    if practice_id is not None:
        hold(AUDIT, practice_id)  # the audit chain before the row (audit.chain.hold), as every writer
    current = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    tags = entity_tags(header)
    if tags is not None and (False, etag_of(represent(current))) not in tags:
        raise precondition_failed(
            "The record changed since you read it (or If-Match names another version, or a weak one): GET it "
            "again and send its ETag as it came."
        )


def read_version(
    request: HttpRequest, representation: dict[str, Any], response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    """A read's answer with its ETag; or, when If-None-Match names it (compared weakly, RFC 9110 13.1.2) or is
    ``*``, 304 Not Modified instead: the client's copy is current."""
    etag = etag_of(representation)
    response["ETag"] = etag
    tags = entity_tags(request.headers.get("If-None-Match", "")) if "If-None-Match" in request.headers else []
    if tags is None or etag in {tag for _, tag in tags}:
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        return not_modified
    return representation


def created(response: HttpResponse, path: str) -> None:
    """A 201's Location: the new record's URL (RFC 9110 10.2.2)."""
    response["Location"] = f"/api/v1{path}"


# What the OpenAPI document says of these headers (django-ninja merges ``openapi_extra`` into the operation).
_ETAG = {
    "ETag": {
        "description": "The record's version: send it as If-Match to change it.",
        "schema": {"type": "string"},
    }
}


def doc_read() -> dict[str, Any]:
    return {
        "parameters": [
            {
                "in": "header",
                "name": "If-None-Match",
                "required": False,
                "schema": {"type": "string"},
                "description": "The ETag of the copy you hold: 304 Not Modified if it is still current.",
            }
        ],
        "responses": {
            200: {"headers": dict(_ETAG)},
            304: {"description": "Not Modified: your copy is current."},
        },
    }


def doc_update() -> dict[str, Any]:
    return {
        "parameters": [
            {
                "in": "header",
                "name": "If-Match",
                "required": True,
                "schema": {"type": "string"},
                "description": "The ETag of the version you read (strong, as the GET gave it), or *. "
                "Without it: 428; another version: 412.",
            }
        ],
        "responses": {200: {"headers": dict(_ETAG)}},
    }


def doc_created() -> dict[str, Any]:
    return {
        "responses": {
            201: {
                "headers": {
                    "Location": {"description": "The new record's URL.", "schema": {"type": "string"}}
                }
            }
        }
    }
