"""Seal the rows written before the chain existed: each practice's rows in the order they were written (time,
then id) become its chain's first rows. PostgreSQL's append-only trigger is lifted for this one migration (run
by the database's owner) and put back ENABLE ALWAYS (isotrack.audit.chain.triggers)."""

from django.db import migrations

from isotrack.audit import chain


def seal_existing(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in chain.drop_triggers(vendor, chain.AUDIT.table):
            schema_editor.execute(statement, params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_auditevent_append_only()", params=None)  # 0003's
    AuditEvent = apps.get_model("audit", "AuditEvent")
    key = chain.audit_key()
    practice_ids = AuditEvent.objects.values_list("practice_id", flat=True).distinct().order_by("practice_id")
    for practice_id in list(practice_ids):
        previous = chain.GENESIS
        rows = AuditEvent.objects.filter(practice_id=practice_id).order_by("at", "id")
        for seq, event in enumerate(rows.iterator(chunk_size=2000), start=1):
            event.seq, event.prev_hash = seq, previous
            event.hash = chain.seal({name: getattr(event, name) for name in chain.SEALED}, key)
            AuditEvent.objects.filter(pk=event.pk).update(seq=seq, prev_hash=previous, hash=event.hash)
            previous = event.hash
    if vendor == "postgresql":
        for statement in chain.triggers(vendor, chain.AUDIT.table):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_chain_fields")]
    operations = [migrations.RunPython(seal_existing, migrations.RunPython.noop)]
