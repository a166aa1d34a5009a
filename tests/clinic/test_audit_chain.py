"""The audit chain (isotrack.audit.chain): each way of rewriting the trail beside the app, done with raw SQL
on the test's own database (SQLite or PostgreSQL, whichever the suite runs on), is named by `isotrack
verify-audit` at the first row that does not fit; an untouched trail verifies."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isotrack.audit import chain
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.patients import record_weight, register_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(nurse, patient):
    """Six audit rows of one practice: the patient's registration and five weights."""
    for days in range(5):
        record_weight(
            actor=nurse,
            patient=patient,
            effective_date=date(2026, 11, 1) + timedelta(days),
            value=Decimal(60 + days),
        )
    rows = list(AuditEvent.objects.filter(practice=nurse.practice).order_by("seq"))
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 6
    return rows


def verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue() + str(error)
    return 0, out.getvalue(), err.getvalue()


def head_now() -> str:
    out = io.StringIO()
    call_command("audit_head", stdout=out)
    return out.getvalue()


def uuid_param(value: uuid.UUID) -> str:
    """A UUID as the column holds it: 32 hex digits on SQLite (Django's char(32)), the uuid type's text on
    PostgreSQL."""
    return value.hex if connection.vendor == "sqlite" else str(value)


class Beside:
    """A connection of its own to the suite's database, beside the app's, with the rights of the database's
    owner (``ISOTRACK_TEST_DB_OWNER`` when the suite runs as the app's least-privilege role): an attacker who
    got them. Each statement commits on its own."""

    def __init__(self) -> None:
        params = connection.settings_dict
        if connection.vendor == "sqlite":
            import sqlite3

            self.db = sqlite3.connect(params["NAME"], timeout=20, isolation_level=None)
        else:
            import psycopg

            owner = os.environ.get("ISOTRACK_TEST_DB_OWNER")
            self.db = psycopg.connect(
                host=params["HOST"],
                port=params["PORT"] or 5432,
                dbname=params["NAME"],
                user=owner or params["USER"],
                password=None if owner else params["PASSWORD"],
                autocommit=True,
            )

    def execute(self, statement: str, values: list[object] | tuple[object, ...] = ()) -> None:
        if connection.vendor == "sqlite":
            statement = statement.replace("%s", "?")
        self.db.execute(statement, values)

    def lift_defences(self) -> None:
        """What the attacker does first: the append-only trigger put aside."""
        if connection.vendor == "postgresql":
            self.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {chain.TRIGGER}")
        else:
            for statement in chain.drop_triggers("sqlite", chain.AUDIT.table):
                self.execute(statement)

    def put_back_defences(self) -> None:
        """And then, to cover the tracks, puts it back."""
        if connection.vendor == "postgresql":
            self.execute(f"ALTER TABLE audit_auditevent ENABLE ALWAYS TRIGGER {chain.TRIGGER}")
        else:
            for statement in chain.triggers("sqlite", chain.AUDIT.table):
                self.execute(statement)

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def beside():
    attacker = Beside()
    yield attacker
    attacker.close()


def test_an_untouched_trail_verifies_and_its_head_is_its_last_row(trail):
    code, out, _ = verify()
    last = trail[-1]
    assert code == 0
    assert f"audit chain intact: {len(trail)} row(s) in 1 chain(s)" in out
    assert head_now() == f"audit:{last.practice_id}:{last.seq}:{last.hash}\n"
    assert verify("--head", head_now().strip())[0] == 0
    assert (
        verify("--head", f"{last.practice_id}:{last.seq}:{last.hash}")[0] == 0
    )  # the audit chain's, unnamed


def test_each_row_is_chained_to_the_one_before_it_in_its_own_practice(trail, outsider):
    assert trail[0].prev_hash == chain.GENESIS
    assert all(row.prev_hash == before.hash for before, row in zip(trail, trail[1:], strict=False))
    other = register_patient(
        actor=outsider,
        mrn="B-1",
        given_name="Ash",
        family_name="Synthetic",
        birth_date=date(2000, 1, 1),
        category="cannot_get_pregnant",
    )
    row = AuditEvent.objects.get(patient=other)
    assert (row.seq, row.prev_hash) == (1, chain.GENESIS)  # another practice: a chain of its own
    assert verify()[0] == 0


BESIDE = pytest.mark.django_db(transaction=True)  # the trail committed, as the attacker's connection sees it
REFUSED = "append-only|permission denied"  # the trigger, or (as the app's least-privilege role) the grants


@BESIDE
@pytest.mark.parametrize(
    "kind", ["update-content", "update-reason", "delete", "forged-insert", "insert-between"]
)
def test_a_rewrite_beside_the_app_is_named_at_its_first_row(trail, beside, kind):
    target = trail[2]
    beside.lift_defences()
    if kind == "update-content":  # a recorded weight of 62 kg made 180 kg
        changed = json.dumps({**target.after, "kg": "180.00"})
        beside.execute("UPDATE audit_auditevent SET after = %s WHERE id = %s", [changed, target.pk])
    elif kind == "update-reason":
        beside.execute(
            "UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["entered in error", target.pk]
        )
    elif kind == "delete":
        beside.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
    else:
        seq = trail[-1].seq + 1 if kind == "forged-insert" else target.seq
        if kind == "insert-between":  # make room as a forger would: the later rows moved up
            beside.execute(
                "UPDATE audit_auditevent SET seq = seq + 1000 WHERE practice_id = %s AND seq >= %s",
                [target.practice_id, target.seq],
            )
        before = trail[-1] if kind == "forged-insert" else trail[1]
        forged = f"{before.hash}|forged row dated 2020"
        beside.execute(
            "INSERT INTO audit_auditevent (uuid, practice_id, actor_id, at, action, object_type,"
            " object_uuid, patient_id, reason, seq, prev_hash, hash)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                uuid_param(uuid.uuid4()),
                before.practice_id,
                before.actor_id,
                "2020-01-01 00:00:00+00:00",
                str(EventCode.WEIGHT_RECORD),
                "weight",
                uuid_param(before.object_uuid),
                before.patient_id,
                "",
                seq,
                before.hash,
                hashlib.sha256(forged.encode()).hexdigest(),  # a hash of the content, without the key
            ],
        )
    beside.put_back_defences()
    code, _, err = verify()
    assert code == 1
    first_bad = trail[-1].seq + 1 if kind == "forged-insert" else target.seq
    assert f"practice {target.practice_id}, audit row #{first_bad}" in err
    assert err.count("audit chain broken") == 1  # the first break only, the defences back in place
    assert ("rows were deleted" if kind == "delete" else "does not match its seal") in err


@BESIDE
def test_rows_removed_from_the_end_are_named_against_the_head_exported_before(trail, beside, tmp_path):
    exported = tmp_path / "heads.txt"
    exported.write_text(head_now())
    beside.lift_defences()
    beside.execute("DELETE FROM audit_auditevent WHERE seq >= %s", [trail[-2].seq])
    beside.put_back_defences()
    assert verify()[0] == 0  # what is left is a whole chain: only the exported head shows the loss
    code, _, err = verify("--heads-file", str(exported))
    assert code == 1
    assert f"audit row #{trail[-2].seq}" in err and "rows were removed from the end" in err


@BESIDE
def test_a_chain_rewritten_from_a_row_on_does_not_reach_the_exported_head(trail, beside):
    exported = head_now().strip()
    beside.lift_defences()
    beside.execute("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, trail[-1].pk])
    beside.put_back_defences()
    code, _, err = verify("--head", exported)
    assert code == 1 and f"audit row #{trail[-1].seq}" in err


def test_the_app_cannot_update_or_delete_an_audit_row(trail):
    """Through the app's own connection, on both databases; on PostgreSQL also in replica mode
    (session_replication_role), which skips a trigger that is not ENABLE ALWAYS."""
    modes = (
        ["", "SET LOCAL session_replication_role = replica"] if connection.vendor == "postgresql" else [""]
    )
    for mode in modes:
        for statement in ("UPDATE audit_auditevent SET action = 'forged'", "DELETE FROM audit_auditevent"):
            with (
                pytest.raises(DatabaseError, match=REFUSED),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                if mode:
                    cursor.execute(mode)
                cursor.execute(statement)
    assert AuditEvent.objects.filter(action="forged").count() == 0
    assert verify()[0] == 0


@BESIDE
def test_a_dropped_or_disabled_trigger_is_named(trail, beside):
    beside.lift_defences()
    code, _, err = verify()
    beside.put_back_defences()
    assert code == 1 and "append-only trigger" in err
    assert verify()[0] == 0


@pytest.mark.parametrize("text", ["", "1:2", "x:1:" + "a" * 64, "1:2:" + "a" * 63, "1:2:3:4"])
def test_a_head_not_as_audit_head_prints_it_exits_2_with_one_line(db, text):
    code, _, err = verify("--head", text)
    assert code == 2 and "--head" in err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(10**30), 10**30)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=5),
                inner,
                max_size=3,
            )
        ),
        max_leaves=8,
    )
)
def test_what_is_sealed_is_what_the_database_gives_back(nurse, patient, value):
    """Any value a snapshot may hold seals the same before it is stored and after it is read back
    (PostgreSQL's jsonb writes numbers its own way, SQLite keeps the text)."""
    from isotrack.audit import trail as audit_trail

    with transaction.atomic():
        written = audit_trail.record(
            actor=nurse,
            action=EventCode.PATIENT_CONTACT,
            instance=patient,
            patient=patient,
            after={"v": value},
        )
        read = AuditEvent.objects.values_list(*chain.SEALED).get(pk=written.pk)
        assert chain.seal(dict(zip(chain.SEALED, read, strict=True))) == written.hash
        transaction.set_rollback(True)


ROLE_REFUSALS = [
    "TRUNCATE audit_auditevent",
    f"ALTER TABLE audit_auditevent DISABLE TRIGGER {chain.TRIGGER}",
    f"DROP TRIGGER {chain.TRIGGER} ON audit_auditevent",
    "SET session_replication_role = replica",
    "UPDATE audit_auditevent SET reason = 'entered in error'",
    "DELETE FROM audit_auditevent",
    "UPDATE audit_accessevent SET detail = 'nobody looked'",
    "DELETE FROM audit_accessevent",
    "TRUNCATE audit_accessevent",
    "INSERT INTO django_migrations (app, name, applied) VALUES ('audit', 'forged', now())",
    "CREATE TABLE forged (id integer)",
    "TRUNCATE clinic_patient",
]


@BESIDE
def test_the_apps_postgresql_role_can_neither_rewrite_nor_remove_the_trail(trail, beside):
    """`isotrack grant-app-role ROLE` (run as the owner) leaves the app's role reading and writing the
    clinic's tables, adding audit rows, and nothing else: every way round the trail above is refused. On
    SQLite, which has no roles, the command exits 2 with one line."""
    if connection.vendor == "sqlite":
        with pytest.raises(CommandError, match="SQLite has no roles") as refused:
            call_command("grant_app_role", "isotrack_app")
        assert refused.value.returncode == 2
        return
    import psycopg

    role = f"isotrack_test_app_{os.getpid()}"
    beside.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        assert grant(role).returncode == 0
        refused = [grant(name) for name in ("no_such_role_here", beside_user())]
        assert [result.returncode for result in refused] == [2, 2]
        assert "no role" in refused[0].stderr and "SUPERUSER" in refused[1].stderr
        params = connection.settings_dict
        with psycopg.connect(
            host=params["HOST"],
            port=params["PORT"] or 5432,
            dbname=params["NAME"],
            user=role,
            autocommit=True,
        ) as app:
            assert app.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (len(trail),)
            app.execute("UPDATE clinic_patient SET mrn = mrn")  # the clinic's records: read and write
            for statement in ROLE_REFUSALS:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    app.execute(statement)
            privileges = app.execute(
                "SELECT has_table_privilege(%s, 'audit_auditevent', 'INSERT'),"
                " has_table_privilege(%s, 'audit_auditevent', 'TRUNCATE'),"
                " has_table_privilege(%s, 'api_cdsfeedback', 'INSERT'),"  # an EHR's feedback: added, kept
                " has_table_privilege(%s, 'api_cdsfeedback', 'UPDATE'),"
                " has_table_privilege(%s, 'api_cdsfeedback', 'DELETE')",
                [role] * 5,
            ).fetchone()
            assert privileges == (True, False, True, False, False)
    finally:
        beside.execute(f'DROP OWNED BY "{role}"')
        beside.execute(f'DROP ROLE "{role}"')
    assert verify()[0] == 0


def beside_user() -> str:
    return os.environ.get("ISOTRACK_TEST_DB_OWNER") or connection.settings_dict["USER"]


def grant(role: str) -> subprocess.CompletedProcess[str]:
    """`isotrack grant-app-role ROLE` as the owner runs it, in a process of its own, on the suite's
    database."""
    params = connection.settings_dict
    url = f"postgres://{beside_user()}@{params['HOST']}:{params['PORT'] or 5432}/{params['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    command = [str(Path(sys.executable).with_name("isotrack")), "grant-app-role", role]
    return subprocess.run(
        command, capture_output=True, text=True, env={**env, "DATABASE_URL": url}, timeout=120
    )


@BESIDE
def test_the_nightly_jobs_log_is_a_heads_file_its_latest_head_of_each_practice_counts(
    trail, beside, tmp_path
):
    log = tmp_path / "refresh-worklist.log"
    call_command("refresh_worklist", stdout=(first := io.StringIO()))
    record_weight(
        actor=trail[0].actor, patient=trail[0].patient, effective_date=date(2026, 11, 20), value=Decimal(70)
    )
    call_command("refresh_worklist", stdout=(second := io.StringIO()))
    log.write_text(first.getvalue() + second.getvalue())
    assert verify("--heads-file", str(log))[0] == 0
    beside.lift_defences()
    beside.execute("DELETE FROM audit_auditevent WHERE seq > %s", [trail[-1].seq])  # the day's new row
    beside.put_back_defences()
    code, _, err = verify("--heads-file", str(log))
    assert code == 1 and f"audit row #{trail[-1].seq + 1}" in err  # against the second day's head
    (tmp_path / "empty.log").write_text("judged 0 worklist line(s) in 1 practice(s)\n")
    assert verify("--heads-file", str(tmp_path / "empty.log"))[0] == 2


@BESIDE
def test_a_look_rewritten_or_deleted_beside_the_app_is_named_in_the_access_chain(
    trail, beside, nurse, course
):
    from django.test import Client
    from django.urls import reverse

    from isotrack.audit.models import AccessEvent

    client = Client()
    client.force_login(nurse)
    for _ in range(3):
        assert client.get(reverse("course", args=[course.uuid])).status_code == 200
    looks = list(AccessEvent.objects.filter(practice=nurse.practice).order_by("seq"))
    assert [look.seq for look in looks] == [1, 2, 3] and verify()[0] == 0
    name = chain.trigger_name(chain.ACCESS.table)
    lift = (
        [f"ALTER TABLE audit_accessevent DISABLE TRIGGER {name}"]
        if connection.vendor == "postgresql"
        else chain.drop_triggers("sqlite", chain.ACCESS.table)
    )
    for statement in lift:
        beside.execute(statement)
    beside.execute("UPDATE audit_accessevent SET detail = 'nobody looked' WHERE id = %s", [looks[1].pk])
    code, _, err = verify()
    assert code == 1 and f"practice {nurse.practice_id}, access row #2" in err and "does not match" in err
    assert f"the append-only trigger {name}" in err  # and its defence is named as missing or disabled
    beside.execute("DELETE FROM audit_accessevent WHERE id = %s", [looks[0].pk])
    code, _, err = verify()
    assert code == 1 and "access row #1" in err and "rows were deleted" in err
    put_back = (
        [f"ALTER TABLE audit_accessevent ENABLE ALWAYS TRIGGER {name}"]
        if connection.vendor == "postgresql"
        else chain.triggers("sqlite", chain.ACCESS.table)
    )
    for statement in put_back:
        beside.execute(statement)
