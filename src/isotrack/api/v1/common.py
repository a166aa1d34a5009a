"""What every endpoint of the JSON API shares: the acting user, the declared problem responses, pagination,
and optimistic concurrency (ETag on read, If-Match on update)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.http import HttpRequest
from ninja import Field, Schema

from isotrack.api.problems import precondition_failed, precondition_required
from isotrack.api.v1.schemas import Problem
from isotrack.audit.chain import AUDIT, hold
from isotrack.audit.trail import snapshot
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


def etag_of(instance: Model) -> str:
    """A strong validator: the hash of the record's audited snapshot (what an audit row would show)."""
    content = json.dumps(snapshot(instance), sort_keys=True, cls=DjangoJSONEncoder)
    return '"' + hashlib.sha256(content.encode()).hexdigest()[:32] + '"'


def check_version(request: HttpRequest, instance: Model) -> None:
    """The update goes ahead only against the version the client read: If-Match must name its ETag.

    Call inside the update's transaction: the row is locked here, so no other writer slips in between this
    check and the change."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise precondition_required()
    practice_id = getattr(getattr(request, "auth", None), "practice_id", None)
    if practice_id is not None:
        hold(AUDIT, practice_id)  # the audit chain before the row (audit.chain.hold), as every writer
    current = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if etag_of(current) not in tags:
        raise precondition_failed(
            "The record changed since you read it (or If-Match names another version): GET it again."
        )
