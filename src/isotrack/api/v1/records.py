"""Voiding a record through the API (``clinic.actions.corrections``): the same action as the page's *Void*,
by the roles that write that kind of record. A voided record no longer counts in any judgment; it stays in the
audit trail. To correct a record, void it and record the right one."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema

from isotrack.api.v1.common import WRITE_PROBLEMS, actor
from isotrack.clinic.actions import corrections

router = Router(tags=["events"])


class VoidIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200, description="Why the record is voided (audited).")


class VoidedOut(Schema):
    id: UUID
    kind: str
    voided_at: datetime
    reason: str


@router.post(
    "/records/{kind}/{uuid:record_uuid}/void",
    response={200: VoidedOut, **WRITE_PROBLEMS},
    summary="Void a record (it stays in the audit trail and no longer counts)",
    description="`kind`: " + ", ".join(f"`{code}`" for code in corrections.KINDS) + ".",
)
def void_record(request: HttpRequest, kind: str, record_uuid: UUID, payload: VoidIn) -> dict[str, Any]:
    user = actor(request)
    found = corrections.kind_of(kind)
    item = corrections.find(user, found, record_uuid, in_force=False)  # voided already: 422, not 404
    item = corrections.void_record(actor=user, kind=found, item=item, reason=payload.reason)
    return {"id": item.uuid, "kind": found.code, "voided_at": item.voided_at, "reason": item.void_reason}
