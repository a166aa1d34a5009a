from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from isotrack.audit.models import AuditEvent


def test_it_refuses_to_change_an_audit_row_through_the_app(weight):
    event = AuditEvent.objects.get(action="weight.record")
    event.action = "forged"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    with pytest.raises(RuntimeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(RuntimeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "weight.record"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")  # skip-ok
def test_it_refuses_update_and_delete_on_the_audit_log_in_postgresql(weight):
    for statement in ("UPDATE audit_auditevent SET action = 'forged'", "DELETE FROM audit_auditevent"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(statement)
    assert AuditEvent.objects.filter(action="weight.record").count() == 1
    assert not AuditEvent.objects.filter(action="forged").exists()
