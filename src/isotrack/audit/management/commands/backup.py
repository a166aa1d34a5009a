"""`isotrack backup FILE`: a consistent copy of the whole database, taken while the app serves.

SQLite: the online backup API (pages copied under the database's own locking, the app's writes wait a moment
or land in the copy whole). PostgreSQL: `pg_dump --format=custom` (one snapshot). Prints the audit heads the
copy holds (as `isotrack audit-head`), to keep with it. `isotrack restore FILE` brings it back into a fresh
database and checks the chain. docs/operations.md has the schedule.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection

from isotrack.audit import chain
from isotrack.clinic.management.arguments import HyphenatedCommand


class Command(HyphenatedCommand):
    help = "Copy the whole database to FILE while the app serves (restore it with `isotrack restore FILE`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the backup to write (it must not exist yet)")

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["file"])
        if target.exists():
            raise CommandError(f"{target} exists already: a backup never overwrites a file", returncode=2)
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a directory", returncode=2)
        heads = chain.heads()
        try:  # made readable by its owner only before a byte is written (patients' records), never twice
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise CommandError(
                f"{target} exists already: a backup never overwrites a file", returncode=2
            ) from None
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            source = connection.connection
            with sqlite3.connect(target) as copy:
                source.backup(copy)
            copy.close()
        else:
            result = subprocess.run(  # noqa: S603 - pg_dump with the configured database's parameters
                [tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", *postgres_arguments()],
                env=postgres_environment(),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                target.unlink(missing_ok=True)
                raise CommandError(f"pg_dump failed: {result.stderr.strip()}", returncode=1)
        self.stdout.write(f"backed up to {target} ({target.stat().st_size} bytes)")
        for head in heads:
            self.stdout.write(f"audit head {head}")


def tool(name: str) -> str:
    """The PostgreSQL client program's path (pg_dump, pg_restore), or exit 2 naming the package."""
    found = shutil.which(name)
    if found is None:
        raise CommandError(f"{name} is not installed: install PostgreSQL's client programs", returncode=2)
    return found


def postgres_arguments(database: str | None = None) -> list[str]:
    """pg_dump's and pg_restore's connection options for the configured database (the password goes by the
    environment, never the command line)."""
    params = connection.settings_dict
    found = [f"--dbname={database or params['NAME']}"]
    if params.get("HOST"):
        found.append(f"--host={params['HOST']}")
    if params.get("PORT"):
        found.append(f"--port={params['PORT']}")
    if params.get("USER"):
        found.append(f"--username={params['USER']}")
    return found


def postgres_environment() -> dict[str, str]:
    password = connection.settings_dict.get("PASSWORD")
    return {**os.environ, **({"PGPASSWORD": password} if password else {})}
