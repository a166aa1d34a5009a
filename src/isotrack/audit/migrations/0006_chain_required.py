"""Every row has its place in its practice's chain (one row per place), and on SQLite the same append-only
triggers as on PostgreSQL, made after the table is rebuilt by the change of column (a rebuild drops them)."""

from django.db import migrations, models

from isotrack.audit import chain


def sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in chain.triggers("sqlite", chain.AUDIT.table):
            schema_editor.execute(statement, params=None)


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in chain.drop_triggers("sqlite", chain.AUDIT.table):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_seal_existing_rows")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("practice", "seq"), name="audit_one_row_per_place"),
        ),
        migrations.RunPython(sqlite_triggers, drop_sqlite_triggers),
    ]
