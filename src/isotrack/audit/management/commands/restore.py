"""`isotrack restore FILE`: bring a backup of `isotrack backup` into a fresh, empty database (the configured
one), then check its audit chain (`isotrack verify-audit`) and print the heads it restored.

SQLite: the database file must not exist yet or be empty. PostgreSQL: the database must exist and hold no
table (create it as its owner first); run as the owner, then `isotrack grant-app-role` for the app's role.
Exit 0: restored, chain intact. Exit 1: restored, but the chain does not verify (each break is named). Exit 2:
nothing restored (the file is not a backup, or the database is not empty).
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection

from isotrack.audit import chain
from isotrack.audit.management.commands.backup import postgres_arguments, postgres_environment, tool
from isotrack.clinic.management.arguments import HyphenatedCommand


class Command(HyphenatedCommand):
    help = "Restore a backup into a fresh, empty database and verify its audit chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a backup written by `isotrack backup`")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["file"])
        if not source.is_file():
            raise CommandError(f"{source}: no such backup", returncode=2)
        if connection.introspection.table_names():
            raise CommandError(
                "the database is not empty: restore into a fresh database (nothing is overwritten)",
                returncode=2,
            )
        if connection.vendor == "sqlite":
            _restore_sqlite(source)
        else:
            _restore_postgres(source)
        connection.close()  # read the restored database afresh
        verdict = chain.verify()
        for head in verdict.heads:
            self.stdout.write(f"audit head {head}")
        if not verdict.intact:
            for problem in verdict.breaks:
                self.stderr.write(f"audit chain broken: {problem}")
            raise CommandError(
                f"restored, but the audit trail does not verify: {len(verdict.breaks)} break(s)", returncode=1
            )
        self.stdout.write(f"restored {source}: audit chain intact, {verdict.rows} row(s)")


def _restore_sqlite(source: Path) -> None:
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as backup:
            backup.execute("SELECT count(*) FROM django_migrations").fetchone()
            connection.ensure_connection()
            backup.backup(connection.connection)
    except sqlite3.DatabaseError as error:
        raise CommandError(f"{source} is not an isotrack backup: {error}", returncode=2) from error


def _restore_postgres(source: Path) -> None:
    connection.close()  # pg_restore writes through its own connection
    result = subprocess.run(  # noqa: S603 - pg_restore with the configured database's parameters
        [
            tool("pg_restore"),
            "--no-owner",
            "--no-acl",  # the grants are the target's own: `isotrack grant-app-role` after
            "--exit-on-error",
            "--single-transaction",
            *postgres_arguments(),
            str(source),
        ],
        env=postgres_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CommandError(f"nothing restored: {result.stderr.strip()}", returncode=2)
