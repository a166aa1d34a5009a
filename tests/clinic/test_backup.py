"""`isotrack backup` then `isotrack restore` into a fresh database, on the suite's own database (SQLite or
PostgreSQL): the same rows, the audit chain verifies, and the app reads the restored practice; a database
that is not empty, a file that is not a backup and a backup whose chain was rewritten are refused."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from isotrack.audit import chain
from tests.clinic.test_audit_chain import Beside

pytestmark = pytest.mark.django_db(transaction=True)
ISOTRACK = str(Path(sys.executable).with_name("isotrack"))
COUNTED = ["clinic_patient", "clinic_course", "clinic_weight", "audit_auditevent", "audit_accessevent"]


def isotrack(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, in a process of its own, on the given database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [ISOTRACK, *args],
        capture_output=True,
        text=True,
        env={**env, "DATABASE_URL": database_url},
        timeout=300,
    )


class Fresh:
    """A fresh, empty database beside the suite's: a new SQLite file, or a new PostgreSQL database made by
    the owner (and dropped after)."""

    def __init__(self, tmp_path: Path) -> None:
        params = connection.settings_dict
        if connection.vendor == "sqlite":
            self.path = tmp_path / "restored.sqlite3"
            self.url = f"sqlite:///{self.path}"
            return
        self.name = f"isotrack_restored_{os.getpid()}"
        self.owner = os.environ.get("ISOTRACK_TEST_DB_OWNER") or params["USER"]
        self.server = f"{params['HOST']}:{params['PORT'] or 5432}"
        self.url = f"postgres://{self.owner}@{self.server}/{self.name}"
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"', f'CREATE DATABASE "{self.name}"')

    def _admin(self, *statements: str) -> None:
        import psycopg

        host, port = self.server.split(":")
        with psycopg.connect(host=host, port=port, dbname="postgres", user=self.owner, autocommit=True) as db:
            for statement in statements:
                db.execute(statement)

    def counts(self) -> dict[str, int]:
        if connection.vendor == "sqlite":
            with sqlite3.connect(self.path) as db:
                return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED}  # noqa: S608
        import psycopg

        host, port = self.server.split(":")
        with psycopg.connect(host=host, port=port, dbname=self.name, user=self.owner) as db:
            return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED}  # noqa: S608

    def close(self) -> None:
        if connection.vendor == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def fresh(tmp_path):
    database = Fresh(tmp_path)
    yield database
    database.close()


@pytest.fixture
def practice_in_use(nurse, course, weight):
    """A practice with changes and looks, committed."""
    client = Client()
    client.force_login(nurse)
    assert client.get(reverse("course", args=[course.uuid])).status_code == 200
    return course


def here() -> dict[str, int]:
    with connection.cursor() as cursor:
        found = {}
        for table in COUNTED:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - the tables named above
            found[table] = cursor.fetchone()[0]
    return found


def test_a_backup_restores_into_a_fresh_database_whole_verified_and_served(practice_in_use, fresh, tmp_path):
    backup = tmp_path / "isotrack.backup"
    out = io.StringIO()
    call_command("backup", str(backup), stdout=out)
    assert backup.stat().st_mode & 0o777 == 0o600
    heads = [line.removeprefix("audit head ") for line in out.getvalue().splitlines()[1:]]
    assert heads == [str(head) for head in chain.heads()] and len(heads) == 2  # changes and looks
    restored = isotrack(fresh.url, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "audit chain intact" in restored.stdout
    assert [line.removeprefix("audit head ") for line in restored.stdout.splitlines()[:-1]] == heads
    assert fresh.counts() == here() and here()["audit_accessevent"] >= 1
    verified = isotrack(fresh.url, "verify-audit", *(f"--head={head}" for head in heads))
    assert verified.returncode == 0, verified.stderr
    served = isotrack(fresh.url, "export-course", str(practice_in_use.uuid), "--as-of", "2026-12-01")
    original = io.StringIO()
    call_command("export_course", str(practice_in_use.uuid), "--as-of", "2026-12-01", stdout=original)
    assert served.returncode == 0 and served.stdout == original.getvalue()  # the same course, read back


def test_restore_refuses_a_database_that_is_not_empty_and_a_file_that_is_not_a_backup(
    practice_in_use, fresh, tmp_path
):
    backup = tmp_path / "isotrack.backup"
    call_command("backup", str(backup), stdout=io.StringIO())
    with pytest.raises(CommandError, match="not empty") as refused:
        call_command("restore", str(backup))
    assert refused.value.returncode == 2
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a backup\n")
    answer = isotrack(fresh.url, "restore", str(not_a_backup))
    assert answer.returncode == 2 and answer.stderr.count("\n") == 1
    assert isotrack(fresh.url, "restore", str(tmp_path / "missing")).returncode == 2
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", str(backup))


def test_a_backup_of_a_rewritten_chain_restores_but_is_named(practice_in_use, fresh, tmp_path):
    attacker = Beside()
    try:
        attacker.lift_defences()
        attacker.execute("UPDATE audit_auditevent SET reason = 'rewritten' WHERE seq = 2")
        attacker.put_back_defences()
    finally:
        attacker.close()
    backup = tmp_path / "isotrack.backup"
    call_command("backup", str(backup), stdout=io.StringIO())
    restored = isotrack(fresh.url, "restore", str(backup))
    assert restored.returncode == 1
    assert "audit row #2" in restored.stderr and "does not match its seal" in restored.stderr
