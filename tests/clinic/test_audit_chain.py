"""The audit chain (isotrack.audit.chain): each way of rewriting the trail beside the app, done with raw SQL
on the test's own database (SQLite or PostgreSQL, whichever the suite runs on), is named by `isotrack
verify-audit` at the first row that does not fit; an untouched trail verifies."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

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


def lift_defences(cursor) -> None:
    """What an attacker with the database owner's rights does first: the append-only trigger put aside."""
    if connection.vendor == "postgresql":
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own rows are checked now, then the ALTER
        cursor.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {chain.TRIGGER}")
    else:
        for statement in chain.DROP_TRIGGERS["sqlite"]:
            cursor.execute(statement)


def put_back_defences(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE audit_auditevent ENABLE ALWAYS TRIGGER {chain.TRIGGER}")
    else:
        for statement in chain.TRIGGERS["sqlite"]:
            cursor.execute(statement)


def test_an_untouched_trail_verifies_and_its_head_is_its_last_row(trail):
    code, out, _ = verify()
    last = trail[-1]
    assert code == 0
    assert f"audit chain intact: {len(trail)} row(s) in 1 chain(s)" in out
    assert head_now() == f"{last.practice_id}:{last.seq}:{last.hash}\n"
    assert verify("--head", head_now().strip())[0] == 0


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


@pytest.mark.parametrize(
    "kind",
    ["update", "update-after-the-trigger-is-disabled", "delete", "forged-insert", "insert-out-of-order"],
)
def test_a_rewrite_beside_the_app_is_named_at_its_first_row(trail, kind):
    target = trail[2]
    with transaction.atomic(), connection.cursor() as cursor:
        lift_defences(cursor)
        if kind.startswith("update"):
            changed = json.dumps({**target.after, "kg": "180.00"})
            cursor.execute("UPDATE audit_auditevent SET after = %s WHERE id = %s", [changed, target.pk])
        elif kind == "delete":
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
        else:
            seq = trail[-1].seq + 1 if kind == "forged-insert" else target.seq
            if kind == "insert-out-of-order":  # make room as a forger would: move the later rows up by one
                cursor.execute(
                    "UPDATE audit_auditevent SET seq = seq + 1000 WHERE practice_id = %s AND seq >= %s",
                    [target.practice_id, target.seq],
                )
            before = trail[-1] if kind == "forged-insert" else trail[1]
            forged = f"{before.hash}|forged row dated 2020"
            cursor.execute(
                "INSERT INTO audit_auditevent (uuid, practice_id, actor_id, at, action, object_type,"
                " object_uuid, patient_id, reason, seq, prev_hash, hash)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    uuid_param(uuid.uuid4()),
                    before.practice_id,
                    before.actor_id,
                    "2020-01-01 00:00:00+00:00",
                    EventCode.WEIGHT_RECORD,
                    "weight",
                    uuid_param(before.object_uuid),
                    before.patient_id,
                    "",
                    seq,
                    before.hash,
                    hashlib.sha256(forged.encode()).hexdigest(),  # a hash of the content, without the key
                ],
            )
        put_back_defences(cursor)
    code, _, err = verify()
    assert code == 1
    first_bad = trail[-1].seq + 1 if kind == "forged-insert" else target.seq
    assert f"practice {target.practice_id}, audit row #{first_bad}" in err
    assert err.count("audit chain broken") == 1  # the first break only, the defences back in place
    expected = {
        "update": "does not match its seal",
        "update-after-the-trigger-is-disabled": "does not match its seal",
        "delete": "rows were deleted",
        "forged-insert": "does not match its seal",
        "insert-out-of-order": "does not match its seal",
    }[kind]
    assert expected in err


def test_rows_removed_from_the_end_are_named_against_the_head_exported_before(trail, tmp_path):
    exported = tmp_path / "heads.txt"
    exported.write_text(head_now())
    with transaction.atomic(), connection.cursor() as cursor:
        lift_defences(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE seq >= %s", [trail[-2].seq])
        put_back_defences(cursor)
    assert verify()[0] == 0  # what is left is a whole chain: only the exported head shows the loss
    code, _, err = verify("--heads-file", str(exported))
    assert code == 1
    assert f"audit row #{trail[-2].seq}" in err and "rows were removed from the end" in err


def test_a_chain_rewritten_from_a_row_on_does_not_reach_the_exported_head(trail):
    exported = head_now().strip()
    with transaction.atomic(), connection.cursor() as cursor:
        lift_defences(cursor)
        cursor.execute("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, trail[-1].pk])
        put_back_defences(cursor)
    code, _, err = verify("--head", exported)
    assert code == 1 and f"audit row #{trail[-1].seq}" in err


def test_the_database_refuses_update_and_delete_of_an_audit_row(trail):
    """On both databases; on PostgreSQL also in replica mode (session_replication_role), which skips a trigger
    that is not ENABLE ALWAYS."""
    modes = (
        ["", "SET LOCAL session_replication_role = replica"] if connection.vendor == "postgresql" else [""]
    )
    for mode in modes:
        for statement in ("UPDATE audit_auditevent SET action = 'forged'", "DELETE FROM audit_auditevent"):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                if mode:
                    cursor.execute(mode)
                cursor.execute(statement)
    assert AuditEvent.objects.filter(action="forged").count() == 0
    assert verify()[0] == 0


def test_a_dropped_or_disabled_trigger_is_named(trail):
    with transaction.atomic():
        with connection.cursor() as cursor:
            lift_defences(cursor)
        code, _, err = verify()
        transaction.set_rollback(True)
    assert code == 1 and "append-only trigger" in err


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
                st.text(st.characters(exclude_characters="\x00"), max_size=5), inner, max_size=3
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
