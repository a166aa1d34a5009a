"""The audit trail's seal: every practice's audit rows form one chain that nobody can rewrite unnoticed.

Each row carries its place in its practice's chain (``seq``: 1, 2, 3 … without gaps), the seal of the row
before it (``prev_hash``) and its own seal (``hash``): an HMAC-SHA256, under the deployment's audit key, of
the row's content and the previous seal, computed in the transaction that writes the row. So

- a row changed after the fact no longer matches its seal;
- a row deleted leaves a gap in ``seq`` (and the next row's ``prev_hash`` names a seal no row has);
- a row inserted beside the app (a forged row) cannot carry a valid seal without the key;
- rows removed from the end leave a chain that is whole but shorter than a head exported earlier
  (``isotrack audit-head``, logged by the nightly job and kept outside the database).

``verify`` checks all of that and names the first row that does not fit. The database refuses UPDATE and
DELETE on the table (a trigger on both PostgreSQL and SQLite, see ``TRIGGERS``) and, on PostgreSQL, the app's
role is given no TRUNCATE and no DDL (docs/operations.md); the chain tells when those defences were got round.

Audit writers are serialised per practice (``append``): on PostgreSQL a transaction-scoped advisory lock on
the practice's chain, held until the write commits; on SQLite every write transaction already holds the
database's write lock from its start (``BEGIN IMMEDIATE``, settings.py). The access log, written on every
read, takes no lock (``extend``): a writer reads the chain's end, seals its rows onto it and inserts them in
one statement that inserts nothing when another writer took one of those places meanwhile, then tries again.
The unique place (practice, ``seq``) is what keeps the chain one line, whichever way it is written.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

GENESIS = "0" * 64  # the seal before a chain's first row
_CHUNK = 2000
_TRIES = 100  # ``extend``'s attempts: each one lost means another writer's rows went in


@dataclass(frozen=True)
class Chain:
    """One kind of sealed row: its table, the fields its seal covers (in the order a verifier reads them) and
    the base of its practices' advisory locks on PostgreSQL (+ the practice's id)."""

    name: str
    table: str
    model: str  # app_label.ModelName
    sealed: tuple[str, ...]
    lock_base: int

    def rows(self) -> Any:
        from django.apps import apps

        return apps.get_model(self.model).objects


_COMMON = ("seq", "uuid", "practice_id", "actor_id", "at")
AUDIT = Chain(
    "audit",
    "audit_auditevent",
    "audit.AuditEvent",
    (
        *_COMMON,
        "action",
        "object_type",
        "object_uuid",
        "patient_id",
        "before",
        "after",
        "reason",
        "prev_hash",
    ),
    0x1507_A0D1 << 32,
)
ACCESS = Chain(
    "access",
    "audit_accessevent",
    "audit.AccessEvent",
    (*_COMMON, "patient_id", "channel", "view", "detail", "prev_hash"),
    0x1507_ACCE << 32,
)
CHAINS = (AUDIT, ACCESS)
SEALED = AUDIT.sealed  # the audit rows' sealed fields (tests, migrations)


def trigger_name(table: str) -> str:
    return f"{table}_append_only"


TRIGGER = trigger_name(AUDIT.table)


def triggers(vendor: str, table: str) -> list[str]:
    """The statements that make the table append-only: one trigger for UPDATE and DELETE on PostgreSQL, ENABLE
    ALWAYS so that a session in replica mode (session_replication_role = replica) does not skip it; two on
    SQLite."""
    name = trigger_name(table)
    if vendor == "postgresql":
        return [
            """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}",
        ]
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {name}_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {name}_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END""",
    ]


def drop_triggers(vendor: str, table: str) -> list[str]:
    name = trigger_name(table)
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {name} ON {table}"]
    return [f"DROP TRIGGER IF EXISTS {name}_update", f"DROP TRIGGER IF EXISTS {name}_delete"]


def stored_json(value: Any) -> Any:
    """A ``before``/``after`` value as the database gives it back (dates, decimals and UUIDs as text): what is
    sealed is what is stored."""
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def seal(row: dict[str, Any], key: bytes | None = None, sealed: tuple[str, ...] = SEALED) -> str:
    """The seal of one row: HMAC-SHA256 under the audit key of its sealed fields (``Chain.sealed``) in one
    canonical text. Numbers are written in one form whatever their type (PostgreSQL's jsonb gives 1e300 back
    as an integer), the instant in UTC to the microsecond."""
    text = "{" + ",".join(f"{json.dumps(name)}:{_canonical(_plain(row[name]))}" for name in sealed) + "}"
    return hmac.new(key or audit_key(), text.encode("ascii"), hashlib.sha256).hexdigest()


def audit_key() -> bytes:
    return settings.AUDIT_CHAIN_KEY.encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, UUID):
        return str(value)
    return value


def _canonical(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value) if isinstance(value, float) else value)
        return "0" if number.is_zero() else str(number.normalize())  # jsonb gives -0.0 back as 0
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{_canonical(v)}" for k, v in pairs) + "}"
    raise TypeError(f"an audit value of type {type(value).__name__} cannot be sealed")


def hold(chain: Chain, practice_id: int) -> None:
    """Take the practice's chain lock now, until the transaction ends (PostgreSQL; on SQLite a write
    transaction holds the database from its start). Every writing transaction takes it first, before any row
    lock (``clinic.actions.base.action``), so that two writers never wait on each other in a circle: one that
    locked a course and then wanted the chain, the other the chain and then the course."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [chain.lock_base + practice_id])


def append(chain: Chain, row: Any) -> Any:
    """Seal and insert one row (an unsaved model instance of the chain, its practice set) at the end of its
    practice's chain. Inside the writing transaction: on PostgreSQL this takes the practice's chain lock until
    the transaction ends, so two writers never chain onto the same row."""
    hold(chain, row.practice_id)
    last = (
        chain.rows().filter(practice_id=row.practice_id).order_by("-seq").values_list("seq", "hash").first()
    )
    row.seq, row.prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    row.hash = seal({name: getattr(row, name) for name in chain.sealed}, sealed=chain.sealed)
    row.save(force_insert=True)
    return row


def extend(chain: Chain, practice_id: int, rows: Sequence[Mapping[str, Any]]) -> None:
    """Seal and insert rows (each its fields by attribute name, all but the chain's own) at the end of the
    practice's chain, without its lock: read where the chain ends, seal the rows onto it and insert them in
    one statement that skips a place (practice, seq) already taken. If a concurrent writer took one (fewer
    rows went in), the attempt is undone and made again on the new end. One row costs two statements and no
    transaction of its own (the cheap write the access log needs on every read); several rows go in one
    transaction, so that a look is logged whole or not at all."""
    if not rows:
        return
    fields, tail, statement = _statements(chain, connection.vendor, len(rows))
    key = audit_key()
    for _ in range(_TRIES):
        with connection.cursor() as cursor:  # by its unique index, in SQL: the ORM would double the cost
            cursor.execute(tail, [practice_id])
            seq, previous = cursor.fetchone() or (0, GENESIS)
        values: list[Any] = []
        for row in rows:
            seq += 1
            sealed = {**row, "practice_id": practice_id, "seq": seq, "prev_hash": previous}
            previous = seal(sealed, key, chain.sealed)
            whole = {**sealed, "hash": previous}
            values += [field.get_db_prep_save(whole[field.attname], connection) for field in fields]
        try:
            whole_or_none = transaction.atomic() if len(rows) > 1 else nullcontext()  # one statement is one
            with whole_or_none, connection.cursor() as cursor:
                cursor.execute(statement, values)
                if cursor.rowcount < len(rows):  # the rows inserted (SQLite 3.24+, as Django's 3.31)
                    raise _Taken
            return
        except _Taken:
            continue
    raise RuntimeError(f"the {chain.name} chain of practice {practice_id} stayed taken for {_TRIES} tries")


@functools.lru_cache(maxsize=64)
def _statements(chain: Chain, vendor: str, count: int) -> tuple[list[Any], str, str]:
    """The chain's fields, the statement that reads its end and the one that inserts ``count`` rows."""
    fields = [field for field in chain.rows().model._meta.concrete_fields if not field.primary_key]
    table, quote = connection.ops.quote_name(chain.table), connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # The table and columns are the model's; every value is a parameter.
    tail = f"SELECT seq, hash FROM {table} WHERE practice_id = %s ORDER BY seq DESC LIMIT 1"  # noqa: S608
    statement = (
        f"INSERT INTO {table} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608
        f"VALUES {', '.join([one] * count)} "
        f"ON CONFLICT ({quote('practice_id')}, {quote('seq')}) DO NOTHING"
    )
    return fields, tail, statement


class _Taken(Exception):
    """Another writer took one of the places meanwhile: the attempt is undone."""


@dataclass(frozen=True)
class Head:
    """Where a practice's chain ends: its last row's place and seal. Written ``chain:practice:seq:hash``
    (``practice:seq:hash`` alone names the audit chain)."""

    chain: str
    practice_id: int
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.chain}:{self.practice_id}:{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        parts = text.strip().split(":")
        if len(parts) == 3:
            parts = [AUDIT.name, *parts]
        names = {chain.name for chain in CHAINS}
        if (
            len(parts) != 4
            or parts[0] not in names
            or not (parts[1].isdigit() and parts[2].isdigit())
            or len(parts[3]) != 64
        ):
            raise ValueError(f"{text.strip()!r} is not a head as `isotrack audit-head` prints it")
        return cls(parts[0], int(parts[1]), int(parts[2]), parts[3].lower())


HEAD_PATTERN = r"\b(?:(?:audit|access):)?\d+:\d+:[0-9a-f]{64}\b"


def heads() -> list[Head]:
    """Every chain's head of every practice, practices in order (a chain with no row yet has none)."""
    found = []
    for practice_id in _practice_ids():
        for chain in CHAINS:
            last = (
                chain.rows()
                .filter(practice_id=practice_id)
                .order_by("-seq")
                .values_list("seq", "hash")
                .first()
            )
            if last is not None:
                found.append(Head(chain.name, practice_id, *last))
    return found


@dataclass(frozen=True)
class Break:
    """The first place a practice's chain does not fit: which row (its chain and place, and when known its id,
    time and code) and why."""

    chain: str
    practice_id: int
    seq: int
    why: str
    row: str = ""

    def __str__(self) -> str:
        if not self.seq:  # the database's defences, not a row
            return self.why
        where = f"practice {self.practice_id}, {self.chain} row #{self.seq}"
        return f"{where}{f' ({self.row})' if self.row else ''}: {self.why}"


@dataclass(frozen=True)
class Verdict:
    rows: int
    heads: list[Head]
    breaks: list[Break]

    @property
    def intact(self) -> bool:
        return not self.breaks


def verify(exported: Iterable[Head] = ()) -> Verdict:
    """Check every practice's chains from their first rows, and each exported head against them. The first
    break of each chain is reported; the database's defences (the append-only triggers) are checked too."""
    by_chain = {(head.chain, head.practice_id): head for head in exported}
    breaks: list[Break] = [Break("", 0, 0, why) for why in missing_defences()]
    rows = 0
    found_heads = []
    practices = sorted(set(_practice_ids()) | {practice_id for _, practice_id in by_chain})
    for practice_id in practices:
        for chain in CHAINS:
            count, last, problem = _verify(chain, practice_id, by_chain.get((chain.name, practice_id)))
            rows += count
            if last is not None:
                found_heads.append(last)
            if problem is not None:
                breaks.append(problem)
    return Verdict(rows=rows, heads=found_heads, breaks=breaks)


def _verify(chain: Chain, practice_id: int, exported: Head | None) -> tuple[int, Head | None, Break | None]:
    expected, previous, count = 1, GENESIS, 0
    sealed_at_export = None
    key = audit_key()

    def broken(seq: int, why: str, row: str = "") -> Break:
        return Break(chain.name, practice_id, seq, why, row)

    rows = (
        chain.rows()
        .filter(practice_id=practice_id)
        .order_by("seq", "id")
        .values_list(*chain.sealed, "hash")
        .iterator(chunk_size=_CHUNK)
    )
    for values in rows:
        row = dict(zip(chain.sealed, values[:-1], strict=True))
        row_hash = values[-1]
        label = f"{row['uuid']}, {_plain(row['at'])}, {row.get('action') or row.get('view')}"
        if row["seq"] != expected:
            if row["seq"] > expected:
                why = f"row #{expected} is missing (the next row is #{row['seq']}): rows were deleted"
                return count, None, broken(expected, why)
            why = f"a second row #{row['seq']} after #{expected - 1}: inserted out of order"
            return count, None, broken(row["seq"], why, label)
        if row["prev_hash"] != previous:
            why = "its link to the row before does not match that row's seal: inserted or replaced"
            return count, None, broken(row["seq"], why, label)
        if not hmac.compare_digest(seal(row, key, chain.sealed), row_hash or ""):
            why = "its content does not match its seal: changed after it was written, or forged"
            return count, None, broken(row["seq"], why, label)
        if exported is not None and row["seq"] == exported.seq:
            sealed_at_export = row_hash
        previous, expected, count = row_hash, expected + 1, count + 1
    last = Head(chain.name, practice_id, expected - 1, previous) if count else None
    if exported is not None:
        if exported.seq > expected - 1:
            why = (
                f"the chain ends at row #{expected - 1} but the exported head {exported} names row "
                f"#{exported.seq}: rows were removed from the end"
            )
            return count, last, broken(expected, why)
        if sealed_at_export != exported.hash:
            why = (
                f"row #{exported.seq} is not the row of the exported head {exported}: the chain was rewritten"
            )
            return count, last, broken(exported.seq, why)
    return count, last, None


def _practice_ids() -> list[int]:
    from isotrack.clinic.models import Practice

    return list(Practice.objects.order_by("id").values_list("id", flat=True))


def missing_defences() -> list[str]:
    """The database's append-only triggers that are not in place (dropped, or disabled on PostgreSQL)."""
    missing = []
    with connection.cursor() as cursor:
        for chain in CHAINS:
            name = trigger_name(chain.table)
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
                    [chain.table, name],
                )
                state = cursor.fetchone()
                if state is None:
                    missing.append(f"the append-only trigger {name} is missing: it was dropped")
                elif state[0] != "A":
                    missing.append(
                        f"the append-only trigger {name} is not enabled always (state {state[0]!r})"
                    )
                continue
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [chain.table]
            )
            present = {found for (found,) in cursor.fetchall()}
            missing += [
                f"the append-only trigger {each} is missing: it was dropped"
                for each in (f"{name}_update", f"{name}_delete")
                if each not in present
            ]
    return missing
