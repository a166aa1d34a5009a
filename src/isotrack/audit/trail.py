"""Writing audit rows: called by actions, inside their transaction."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from isotrack.audit import chain
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent

# Fields never worth copying into the trail (they are the row's identity or bookkeeping).
_SKIPPED = {
    "id",
    "uuid",
    "recorded_at",
    "recorded_by",
    "created_at",
    "password",
    "last_login",
}  # actor is the row's own


def snapshot(instance: Any) -> dict[str, Any]:
    """The auditable values of a record: its fields, foreign keys as their public UUID where they have one."""
    values = model_to_dict(instance, exclude=list(_SKIPPED))
    for field in instance._meta.concrete_fields:
        if field.name in _SKIPPED or field.name not in values:
            continue
        if isinstance(field, models.DecimalField) and values[field.name] is not None:
            # As stored, so that a value typed as 64.5 and one read back as 64.50 compare equal.
            values[field.name] = Decimal(values[field.name]).quantize(
                Decimal(1).scaleb(-field.decimal_places)
            )
        elif field.is_relation:
            related = getattr(instance, field.name)
            values[field.name] = str(getattr(related, "uuid", related.pk)) if related is not None else None
    return values


def record(
    *,
    actor: Any,
    action: EventCode,
    instance: Any,
    patient: Any = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit rows are written inside the action's transaction")
    changed_before, changed_after = before, after
    if before is not None and after is not None:
        keys = [k for k in after if before.get(k) != after.get(k)]
        changed_before = {k: before.get(k) for k in keys}
        changed_after = {k: after.get(k) for k in keys}
    event = AuditEvent(
        practice_id=actor.practice_id if actor.practice_id else patient.practice_id,
        actor=actor,
        at=timezone.now(),
        action=action,
        object_type=instance._meta.model_name,
        object_uuid=instance.uuid,
        patient=patient,
        before=chain.stored_json(changed_before),
        after=chain.stored_json(changed_after),
        reason=reason,
    )
    return chain.append(chain.AUDIT, event)  # the practice's chain is held until the write commits


def record_access(
    *,
    actor: Any,
    channel: str,
    view: str,
    patients: Any = (),
    detail: str = "",
    practice_id: int | None = None,
) -> None:
    """The access rows of one look at patients' records (or at a list, with no patient): who, when, through
    what (``channel``: page, print, api, fhir, cds, feed) and which view, at the end of the practice's access
    chain without its lock (``chain.extend``: one statement for one row, one transaction for several)."""
    now = timezone.now()
    chain.extend(
        chain.ACCESS,
        practice_id or actor.practice_id,
        [
            {
                "uuid": uuid.uuid4(),
                "actor_id": actor.pk,
                "at": now,
                "patient_id": patient_id,
                "channel": channel,
                "view": view[:80],
                "detail": detail[:200],
            }
            for patient_id in patients or [None]
        ],
    )
