"""`isotrack grant-app-role ROLE`: give the app's PostgreSQL role what the app needs and no more.

Run by the database's owner after every `isotrack migrate` (new tables need their grants). The role reads
and writes the clinic's tables; on the audit log it may only read and add rows (no UPDATE, no DELETE); it is
given no TRUNCATE, it owns nothing (so no DDL: no ALTER TABLE, no DROP or DISABLE TRIGGER, no migrations) and
must not be a superuser (a superuser could set session_replication_role or lift any trigger).
docs/operations.md shows the whole setup. SQLite has no roles: there the file's permissions are the access
control, and the command exits 2.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection, transaction

from isotrack.clinic.management.arguments import HyphenatedCommand

APPEND_ONLY = ("audit_auditevent", "audit_accessevent", "api_cdsfeedback")  # read and add, never change
READ_ONLY = ("django_migrations",)  # the schema's history is the owner's


class Command(HyphenatedCommand):
    help = "Grant the app's PostgreSQL role the least it needs (run as the owner after every migrate)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the app processes connect as (it must exist and log in)")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "grant-app-role is for PostgreSQL: SQLite has no roles (its file's permissions are the "
                "access control)",
                returncode=2,
            )
        role = options["role"]
        quoted = connection.ops.quote_name(role)
        with transaction.atomic(), connection.cursor() as cursor:
            _refuse_a_role_that_holds_too_much(cursor, role, quoted)
            cursor.execute("SELECT current_database(), current_schema()")
            database, schema = (connection.ops.quote_name(name) for name in cursor.fetchone())
            for statement in (
                f"GRANT CONNECT ON DATABASE {database} TO {quoted}",
                f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
                f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}",
                *(f"REVOKE UPDATE, DELETE ON {table} FROM {quoted}" for table in APPEND_ONLY),
                *(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {quoted}" for table in READ_ONLY),
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
            ):
                cursor.execute(statement)
        self.stdout.write(
            f"granted {role}: read and write the clinic's tables; the audit log read and append only; "
            "no TRUNCATE, no DDL"
        )


def _refuse_a_role_that_holds_too_much(cursor: Any, role: str, quoted: str) -> None:
    """Exit 2 unless the role exists and can do no more than the grants give it: not a superuser, no
    BYPASSRLS, CREATEROLE (before PostgreSQL 16 it can make itself a member of the owner) or REPLICATION; not
    the owner of a table nor a member of one (ALTER TABLE, DISABLE TRIGGER); not in pg_write_all_data (UPDATE
    and DELETE everywhere) nor pg_database_owner."""
    cursor.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolreplication FROM pg_roles WHERE rolname = %s",
        [role],
    )
    found = cursor.fetchone()
    if found is None:
        raise CommandError(
            f"no role {role!r}: create it first (CREATE ROLE {quoted} LOGIN PASSWORD '…')", returncode=2
        )
    for held, what in zip(found, ("SUPERUSER", "BYPASSRLS", "CREATEROLE", "REPLICATION"), strict=True):
        if held:
            raise CommandError(f"{role!r} has {what}: the app's role must not", returncode=2)
    cursor.execute(
        "SELECT count(*) FROM pg_tables"
        " WHERE schemaname = current_schema() AND pg_has_role(%s, tableowner, 'USAGE')",
        [role],
    )
    if cursor.fetchone()[0]:
        raise CommandError(
            f"{role!r} owns tables or is a member of their owner: the app's role must own nothing "
            "(migrate as the owner)",
            returncode=2,
        )
    cursor.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname IN ('pg_write_all_data', 'pg_database_owner')"
        " AND pg_has_role(%s, oid, 'MEMBER')",
        [role],
    )
    if cursor.fetchone()[0]:
        raise CommandError(f"{role!r} is a member of pg_write_all_data or pg_database_owner", returncode=2)
