"""The worklist's stored lines (``WorklistEntry``): when a line is out of date, and judging it again.

A line is the core's ``next_step_until_change`` of the course on one day, stored with the day it stops holding
(``changes_on``: the first day the core's answer changes with no new record, at most four weeks ahead). A line
is out of date, and judged again on the next read of the practice's worklist, only when:

- the patient's records changed: every action's audit row bumps the ``generation`` of the lines of the
  patient's courses and sets their change date to ``NOT_JUDGED``, in the action's own transaction
  (``mark_stale``, called by ``actions.base.record``);
- its change date has come (a window closing, a test falling due, a deadline passing, a rule set taking
  effect: a few percent of the lines a day, bench/worklist.py), or it was judged for a later day than the one
  read (a read for an earlier day);
- the engine or the practice's rules or policy changed: checked once per practice (``basis`` against
  ``Practice.worklist_basis``), not per line; then every line of the practice is judged again.

The stale lines are found off an index (``worklist_changes_on``), read and judged in chunks (a fixed number of
queries per chunk of ``CHUNK`` lines), and stored with one statement per chunk. The calendar's plan of each
course holds on dates of its own, kept on the line (``plan_judged_on``, ``plan_changes_on``) and made stale by
the same writes: the calendar's reads judge the plans that are due, the worklist's the lines, the nightly job
both; a course whose line and plan are both due is judged once for both (``plan_entries``).

A judged line also keeps the line that follows it (``following``): the core's judgment on the line's change
date, holding until its own. A page's read on a day the nightly job did not run takes it as it is, with no
facts read and nothing judged, when the line came due only because that day came: no write since (a write sets
``NOT_JUDGED``, and so does a change of engine or policy), not read for an earlier day, and the following line
still holding. A line taken so has none after it and is judged from its facts the next time it comes due; the
nightly job judges every due line from its facts, so that each keeps the line after it.

Several app processes share the database, and lines are judged on read with no lock. A line is stored only
if its generation is still the one read *before* the facts it was judged from (``WHERE generation = %s``); a
write that lands in between leaves it out of date, and it is judged again (within the same read, up to
``ROUNDS`` times, then on the next read). Two processes judging the same line write the same values. Stale
lines cost time, never a wrong line.

The facts are read by ``records.facts_by_course``, the one mapping from rows to facts. The line keeps the
core's whole judgment of the worklist (the step, the alerts, open or acknowledged, ALERT-URGENCY, the tier it
ranks in, the dispense decision), its ranking key and the columns its filters read.

Decisions:
- Courses listed: qualifying (draft), active and stopped ones (a stopped course's follow-up of a positive
  pregnancy test stays listed until recorded, IPL-PT-POSITIVE), and completed ones that ended less than
  ``RECENTLY_ENDED_DAYS`` ago (the end-of-course and post-course tests), each while it has a step to do or is
  qualifying or active. Other courses are not judged; their line waits for a write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from django.db import connections, models, transaction
from django.db.models import Field

from isotrack import core
from isotrack.clinic.models import (
    NO_RANK_DATE,
    NOT_JUDGED,
    Course,
    CourseStatus,
    Patient,
    Practice,
    WorklistEntry,
)
from isotrack.clinic.plan_entries import ChunkPlans, move_floating, read_date
from isotrack.clinic.records import facts_by_course, policy_of

CHUNK = 500  # lines judged and stored per round of queries
ROUNDS = 3  # attempts at judging lines that a concurrent write made stale again while they were judged
RECENTLY_ENDED_DAYS = 120  # reference.md 1.7: the post-course test is due 30 days after the last dose
DAY = dt.timedelta(days=1)
NEVER = dt.date.max  # the change date of a line no day alone changes (a course no longer listed)
_RUNNING = (CourseStatus.DRAFT, CourseStatus.ACTIVE, CourseStatus.REVOKED)

# The columns a judgment writes, each named (``_judged``'s keys, in this order).
STEP_FIELDS = (
    "step_code",
    "step_label",
    "step_status",
    "actor",
    "rule_id",
    "noun",
    "window_bound",
    "until_word",
    "done_on",
    "deadline",
    "earliest",
    "reasons",
)
JUDGED_FIELDS = (
    "judged_on",
    "changes_on",
    "listed",
    "tier",
    "rank_date",
    "alert_urgency",
    "family_name",
    "given_name",
    "prescriber_id",
    "category",
    "phase",
    "rule_set_id",
    "rule_set_title",
    "alerts",
    "dispense_allowed",
    "blocking",
    *STEP_FIELDS,
)


# The judged columns that hold a date (ISO text in a following line's JSON).
_DATED = frozenset(
    name for name in JUDGED_FIELDS if isinstance(WorklistEntry._meta.get_field(name), models.DateField)
)


def add_line(course: Course) -> None:
    """A new course's line, not judged yet: created with the course, in its transaction (the migrations that
    added the lines created one for every course before them), so that every later write finds it to mark."""
    WorklistEntry.objects.create(course_id=course.pk, practice_id=course.patient.practice_id)


def mark_stale(patient_id: int) -> None:
    """The lines of the patient's courses go out of date: called inside every write's transaction. One
    statement, written out: the ORM's update through a relation costs more to build than to run."""
    connection = connections[WorklistEntry.objects.db]
    quote = connection.ops.quote_name
    entries, courses = quote(WorklistEntry._meta.db_table), quote(Course._meta.db_table)
    names = ("generation", "changes_on", "plan_changes_on", "course_id", "id", "patient_id")
    generation, changes_on, plan_changes_on, course_id, id_, patient = (quote(name) for name in names)
    sql = (  # names from the models, quoted; the values parameters
        f"UPDATE {entries} SET {generation} = {generation} + 1, {changes_on} = %s, "  # noqa: S608
        f"{plan_changes_on} = %s WHERE {course_id} IN (SELECT {id_} FROM {courses} WHERE {patient} = %s)"
    )
    not_judged = connection.ops.adapt_datefield_value(NOT_JUDGED)
    with connection.cursor() as cursor:
        cursor.execute(sql, [not_judged, not_judged, patient_id])


def basis(practice: Practice) -> str:
    """What a line was judged with besides the course's records: the core's source and the practice's rule
    choice and policy."""
    digest = hashlib.sha256(engine_digest().encode())
    policy = policy_of(practice)  # str() of each value: a choice read back from the database is plain text
    values = [str(practice.rules), *(str(getattr(policy, name)) for name in policy.__dataclass_fields__)]
    digest.update("|".join(values).encode())
    return digest.hexdigest()


@cache
def engine_digest() -> str:
    """A digest of every source file of the core (the rules and the rule sets included)."""
    root = Path(core.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh(
    practice: Practice, today: dt.date, *, lines: bool = True, plans: bool = False, workers: int = 1
) -> int:
    """Judge again for ``today`` the practice's out-of-date ``lines`` (the worklist's reads) and ``plans``
    (the calendar's reads; the nightly job both). Returns how many courses were judged; none when everything
    asked for holds (one query, off the indexes). ``workers`` above one: the chunks are judged by that many
    processes at once (``_in_processes``; the nightly job's, never a page's)."""
    current = basis(practice)
    if practice.worklist_basis != current:
        _all_out_of_date(practice, current)
    parallel = workers > 1 and _may_fork(connections[WorklistEntry.objects.db])
    judged = 0
    for _ in range(ROUNDS if _any_out_of_date(practice, today, lines=lines, plans=plans) else 0):
        stale = _out_of_date(practice, today, lines=lines, plans=plans)
        if not stale:
            break
        chunks = [stale[start : start + CHUNK] for start in range(0, len(stale), CHUNK)]
        if parallel and len(chunks) > 1:
            _in_processes(_judge_in_child, [(chunk, today) for chunk in chunks], workers)
        else:
            for chunk in chunks:
                _judge(chunk, today, follow=not plans)
        judged += len(stale)
    if plans and parallel:  # the plans that hold, their floating events moved to today: after the judging
        parts = [(practice.pk, today, (part, workers)) for part in range(workers)]
        _in_processes(_move_in_child, parts, workers)
    elif plans:
        move_floating(practice.pk, today)
    return judged


def _stale_ranges(*, lines: bool, plans: bool) -> list[tuple[str, str]]:
    """The index ranges that hold the out-of-date lines and plans (``_due``): a change date that came, or a
    judgment for a later day; each as (column, comparison with today)."""
    ranges = [("changes_on", "<="), ("judged_on", ">")] if lines else []
    return ranges + ([("plan_changes_on", "<="), ("plan_judged_on", ">")] if plans else [])


def _any_out_of_date(practice: Practice, today: dt.date, *, lines: bool, plans: bool) -> bool:
    """Whether ``_out_of_date`` would find a course: its ranges of the same indexes, without its joins, the
    first entry of each (on every page load this is all there is to read: nothing is out of date)."""
    connection = connections[WorklistEntry.objects.db]
    quote = connection.ops.quote_name
    entries = quote(WorklistEntry._meta.db_table)
    ranges = _stale_ranges(lines=lines, plans=plans)
    # Names from the model, quoted; the values parameters.
    sql = " UNION ALL ".join(
        f"SELECT * FROM (SELECT 1 FROM {entries} WHERE {quote('practice_id')} = %s "  # noqa: S608
        f"AND {quote(name)} {compared} %s LIMIT 1) AS {quote('probe_' + name)}"
        for name, compared in ranges
    )
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for _ in ranges for value in (practice.pk, day)])
        return cursor.fetchone() is not None


def _out_of_date(practice: Practice, today: dt.date, *, lines: bool, plans: bool) -> list[dict[str, Any]]:
    """The practice's courses whose line (``lines``) or plan (``plans``) is out of date: its change date came,
    or it was judged for a later day; by course, with what judging them needs besides the course's facts
    (``_judge``'s keys: ``line_due`` and ``plan_due`` say which to judge). One statement, written out: it runs
    on every page load, where the ORM's union of joins cost more to build than to run. A union of one range
    of an index each (``worklist_changes_on``, ``worklist_judged_on``, and the plans' two): SQLite reads an OR
    of them through one index, all the practice's lines."""
    connection = connections[WorklistEntry.objects.db]
    quote = connection.ops.quote_name
    entries, courses, patients = (quote(model._meta.db_table) for model in (WorklistEntry, Course, Patient))
    columns = ", ".join(
        (
            f"{entries}.{quote('course_id')}",
            f"{entries}.{quote('generation')}",
            *(f"{entries}.{quote(name)}" for name in _DATES),
            f"{entries}.{quote('following')}",
            f"{courses}.{quote('status')}",
            f"{courses}.{quote('end')}",
            f"{courses}.{quote('prescriber_id')}",
            f"{patients}.{quote('family_name')}",
            f"{patients}.{quote('given_name')}",
            f"{patients}.{quote('category')}",
        )
    )
    joined = (
        f"{entries} JOIN {courses} ON {courses}.{quote('id')} = {entries}.{quote('course_id')} "
        f"JOIN {patients} ON {patients}.{quote('id')} = {courses}.{quote('patient_id')}"
    )
    practice_id = quote("practice_id")
    ranges = _stale_ranges(lines=lines, plans=plans)
    # Names from the models, quoted; the values parameters.
    sql = " UNION ".join(
        f"SELECT {columns} FROM {joined} WHERE {entries}.{practice_id} = %s "  # noqa: S608
        f"AND {entries}.{quote(name)} {compared} %s"
        for name, compared in ranges
    )
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY 1", [value for _ in ranges for value in (practice.pk, day)])
        rows = [dict(zip(_READ, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        changes_on, judged_on, plan_changes_on, plan_judged_on = (read_date(row.pop(name)) for name in _DATES)
        row["line_due"] = lines and _due(changes_on, judged_on, today)
        row["plan_due"] = plans and _due(plan_changes_on, plan_judged_on, today)
        row["changes_on"], row["judged_on"] = changes_on, judged_on
    return rows


def _due(changes_on: dt.date | None, judged_on: dt.date | None, today: dt.date) -> bool:
    """Out of date on ``today``: its change date came, or it was judged for a later day."""
    return (changes_on is not None and changes_on <= today) or (judged_on is not None and judged_on > today)


_DATES = ("changes_on", "judged_on", "plan_changes_on", "plan_judged_on")
_READ = (  # the keys of ``_out_of_date``'s rows
    "course_id",
    "generation",
    *_DATES,
    "following",
    "course__status",
    "course__end",
    "course__prescriber_id",
    "course__patient__family_name",
    "course__patient__given_name",
    "course__patient__category",
)


def add_missing_lines(practice: Practice) -> int:
    """A line for every course of the practice that has none (courses written before the lines existed, or
    by hand): ``isotrack refresh-worklist`` and a change of basis call it. Returns how many were added."""
    missing = Course.objects.filter(patient__practice_id=practice.pk, worklist_entry__isnull=True)
    lines = [
        WorklistEntry(course_id=id_, practice_id=practice.pk) for id_ in missing.values_list("id", flat=True)
    ]
    created = WorklistEntry.objects.bulk_create(lines, ignore_conflicts=True)
    return len(created)


def _all_out_of_date(practice: Practice, current: str) -> None:
    """The engine or the practice's policy changed: every line of the practice is judged again."""
    with transaction.atomic():
        add_missing_lines(practice)
        WorklistEntry.objects.filter(practice_id=practice.pk).update(
            changes_on=NOT_JUDGED, plan_changes_on=NOT_JUDGED
        )
        Practice.objects.filter(pk=practice.pk).update(worklist_basis=current)
    practice.worklist_basis = current


def _judge(stale: list[dict[str, Any]], today: dt.date, *, follow: bool = False) -> None:
    """Judge one chunk of courses, each line and plan that is due, and store them (a fixed number of
    statements). A judged line keeps the line that follows it on its change date (``following``); with
    ``follow`` (a page's read), a line due only because that day came takes it, with no facts read."""
    due = [row for row in stale if row["line_due"]]
    followed = {row["course_id"]: values for row in due if follow and (values := _following(row, today))}
    listed = [row["course_id"] for row in due if row["course_id"] not in followed and _listed_on(row, today)]
    plans = ChunkPlans([row for row in stale if row["plan_due"]], today)  # the calendar's (plan_entries)
    judged = {course_id: (found, facts) for course_id, found, facts in judge_courses(listed, today, plans)}
    lines = []
    for row in due:
        course_id = row["course_id"]
        if course_id in followed:  # its next line, as judged with the last: it has none after it
            values = {**followed[course_id], "following": ""}
        elif course_id in judged:
            found, course_file = judged[course_id]
            values = _judged(found, row, today)
            values["following"] = _following_text(course_file, row, values["changes_on"])
        else:
            values = {**_not_listed(row, today), "following": ""}
        lines.append((values, course_id, row["generation"]))
    with transaction.atomic():
        _store(lines, LINE_FIELDS)
        _store(plans.states(), PLAN_FIELDS)
        plans.store()


def _listed_on(row: dict[str, Any], day: dt.date) -> bool:
    """Whether the worklist lists the course on ``day`` (see the module's decisions)."""
    status = row["course__status"]
    recently = day - RECENTLY_ENDED_DAYS * DAY
    return status in _RUNNING or (
        status == CourseStatus.COMPLETED and _date_or_min(row["course__end"]) >= recently
    )


def _following_text(course_file: core.CourseFile, row: dict[str, Any], day: dt.date) -> str:
    """The line on its change date ``day`` as the core judges it then, with no new record (JSON of the
    ``JUDGED_FIELDS``, dates as ISO text); empty when no day alone changes the line."""
    if day == NEVER:
        return ""
    if _listed_on(row, day):
        found = core.next_step_until_change(course_file, day)
        values = _judged(found, row, day)
    else:
        values = _not_listed(row, day)
    return json.dumps(_json_row(values, row["course_id"], row["generation"], JUDGED_FIELDS))


def _following(row: dict[str, Any], today: dt.date) -> dict[str, Any] | None:
    """A due line's following line when it holds on ``today``: the line came due only because its change
    date came (no write since, which sets ``NOT_JUDGED``; not read for an earlier day), and the following
    line, judged for that date, holds until a later day than ``today``."""
    changes_on, judged_on = row["changes_on"], row["judged_on"]
    if not row["following"] or changes_on is None or changes_on == NOT_JUDGED:
        return None
    if judged_on is None or judged_on > today or changes_on > today:
        return None
    stored = json.loads(row["following"])
    values: dict[str, Any] = {
        name: read_date(stored[name]) if name in _DATED else stored[name] for name in JUDGED_FIELDS
    }
    if values["judged_on"] != changes_on or values["changes_on"] <= today:
        return None
    return values


def _may_fork(connection: Any) -> bool:
    """Whether chunks may be judged by other processes: on PostgreSQL (SQLite takes one writer at a time), and
    outside a transaction (a child sees only what is committed, and has a connection of its own)."""
    return bool(connection.vendor == "postgresql" and not connection.in_atomic_block)


def _in_processes(task: Callable[..., None], arguments: list[tuple[Any, ...]], workers: int) -> None:
    """Run ``task`` once for each tuple of ``arguments`` in up to ``workers`` processes forked from this one,
    each on a connection of its own and in its own transactions, as in one process: the lines' generations
    keep a concurrent write safe either way. The connections are closed before the fork (a child must not
    share a socket with its parent); an error in a child is raised here."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(arguments)), mp_context=context) as pool:
        for done in pool.map(task, *zip(*arguments, strict=True)):
            assert done is None


def _judge_in_child(chunk: list[dict[str, Any]], today: dt.date) -> None:
    """One chunk judged in a worker process, which closes its connection after (the pool ends its processes
    without running their exit handlers)."""
    try:
        _judge(chunk, today)
    finally:
        connections.close_all()


def _move_in_child(practice_id: int, today: dt.date, part: tuple[int, int]) -> None:
    """One part of the practice's floating events moved to ``today`` in a worker process."""
    try:
        move_floating(practice_id, today, part)
    finally:
        connections.close_all()


def _date_or_min(value: dt.date | str | None) -> dt.date:
    return read_date(value) or dt.date.min


def _judged(found: core.NextStep, row: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The columns of a listed course's line (``JUDGED_FIELDS``)."""
    step = found.step
    changes_on = found.changes_on or today + DAY
    if row["course__status"] == CourseStatus.COMPLETED:  # it leaves the worklist the day after the period
        changes_on = min(changes_on, _date_or_min(row["course__end"]) + (RECENTLY_ENDED_DAYS + 1) * DAY)
    return {
        "judged_on": today,
        "changes_on": changes_on,
        "listed": step is not None or found.phase in ("qualifying", "active"),
        "tier": found.tier,
        "rank_date": found.rank_date or NO_RANK_DATE,
        "alert_urgency": found.alert_urgency,
        **_copied(row),
        "phase": found.phase,
        "rule_set_id": found.rule_set_id,
        "rule_set_title": found.rule_set_title,
        "alerts": alerts_text(found.findings),
        "dispense_allowed": found.dispense_allowed,
        "blocking": " ".join(found.blocking),
        "step_code": step.code if step else "",
        "step_label": step.label if step else "",
        "step_status": step.status if step else "",
        "actor": step.actor if step else "",
        "rule_id": step.rule_id if step else "",
        "noun": step.noun if step else "",
        "window_bound": step.window_bound if step else False,
        "until_word": step.until_word if step else "",
        "done_on": step.done_on if step else None,
        "deadline": step.deadline if step else None,
        "earliest": step.earliest if step else None,
        "reasons": " ".join(step.reasons) if step else "",
    }


def _not_listed(row: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The line of a course the worklist does not list (ended long ago, entered in error): nothing judged,
    and no day alone lists it again (a write to the patient's records does)."""
    empty: dict[str, Any] = dict.fromkeys(STEP_FIELDS, "")
    empty.update(window_bound=False, done_on=None, deadline=None, earliest=None)
    return {
        "judged_on": today,
        "changes_on": NEVER,
        "listed": False,
        "tier": core.TIER_OTHER,
        "rank_date": NO_RANK_DATE,
        "alert_urgency": core.NO_OPEN_ALERT,
        **_copied(row),
        "phase": "",
        "rule_set_id": "",
        "rule_set_title": "",
        "alerts": "",
        "dispense_allowed": False,
        "blocking": "",
        **empty,
    }


def _copied(row: dict[str, Any]) -> dict[str, Any]:
    """The columns copied from the course and the patient for the order and the filters."""
    return {
        "family_name": row["course__patient__family_name"],
        "given_name": row["course__patient__given_name"],
        "prescriber_id": row["course__prescriber_id"],
        "category": row["course__patient__category"],
    }


def _store(lines: list[tuple[dict[str, Any], int, int]], fields: tuple[str, ...]) -> None:
    """Store the ``fields`` of a chunk of judged lines, each only while its generation is the one read before
    its facts. (Django's ``bulk_update`` builds a CASE expression per field and line, which takes seconds for
    thousands of lines.)"""
    if not lines:
        return
    connection = connections[WorklistEntry.objects.db]
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _store_in_one(cursor, connection, lines, fields)
        else:
            _store_each(cursor, connection, lines, fields)


_KEY = ("course_id", "generation")  # a line is stored only if both match
LINE_FIELDS = (*JUDGED_FIELDS, "following")  # what a judged line writes
PLAN_FIELDS = ("plan_judged_on", "plan_changes_on")  # what a judged plan writes on its line


def _store_in_one(
    cursor: Any, connection: Any, lines: list[tuple[dict[str, Any], int, int]], fields: tuple[str, ...]
) -> None:
    """PostgreSQL: one UPDATE for the chunk, the lines as one parameter, a JSON list of rows read back as
    typed columns (``jsonb_to_recordset``): the statement's text is the same for 1 line or 500, with no
    placeholder per value for the driver to parse and no round trip per line."""
    quote = connection.ops.quote_name
    table = quote(WorklistEntry._meta.db_table)
    typed = ", ".join(
        f"{quote(field.attname)} {field.cast_db_type(connection)}"
        for field in (WorklistEntry._meta.get_field(name) for name in (*_KEY, *fields))
        if isinstance(field, Field)  # each is: a column of the line's own
    )
    assignments = ", ".join(f"{quote(name)} = v.{quote(name)}" for name in fields)
    matched = " AND ".join(f"{table}.{quote(name)} = v.{quote(name)}" for name in _KEY)
    rows = [_json_row(values, course_id, generation, fields) for values, course_id, generation in lines]
    # Names from the model, quoted; the rows one parameter.
    sql = f"UPDATE {table} SET {assignments} FROM jsonb_to_recordset(%s::jsonb) AS v({typed}) "  # noqa: S608
    cursor.execute(sql + f"WHERE {matched}", [json.dumps(rows)])


def _json_row(
    values: dict[str, Any], course_id: int, generation: int, fields: tuple[str, ...]
) -> dict[str, Any]:
    """A line's row in the JSON of ``_store_in_one``: dates as ISO text."""
    row: dict[str, Any] = {"course_id": course_id, "generation": generation}
    for name in fields:
        value = values[name]
        row[name] = value.isoformat() if isinstance(value, dt.date) else value
    return row


def _store_each(
    cursor: Any, connection: Any, lines: list[tuple[dict[str, Any], int, int]], fields: tuple[str, ...]
) -> None:
    """SQLite, in the process: one prepared UPDATE run for each line (``executemany``), which costs less than
    unpacking JSON there."""
    quote = connection.ops.quote_name
    table = quote(WorklistEntry._meta.db_table)
    assignments = ", ".join(f"{quote(name)} = %s" for name in fields)
    matched = " AND ".join(f"{quote(name)} = %s" for name in _KEY)
    date = connection.ops.adapt_datefield_value
    rows = [
        (*(date(v) if isinstance(v, dt.date) else v for v in (values[n] for n in fields)), *key)
        for values, *key in lines
    ]
    # Names from the model, quoted; every value a parameter.
    cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {matched}", rows)  # noqa: S608


def alerts_text(findings: Iterable[core.Finding]) -> str:
    """The line's alerts as stored: JSON, most urgent first."""
    return json.dumps(
        [
            {
                "code": f.alert.code,
                "date": f.alert.date.isoformat(),
                "detail": f.alert.detail,
                "rule_id": f.alert.rule_id,
                "open": f.open,
            }
            for f in findings
        ]
    )


def stored_alerts(text: str) -> list[dict[str, Any]]:
    """The stored alerts back (see ``alerts_text``); a line never judged has none."""
    return list(json.loads(text)) if text else []


def stored_step(row: dict[str, Any]) -> core.Step | None:
    """The core's step back from a stored line's columns (``STEP_FIELDS``; its notes are not stored: the
    worklist does not show them)."""
    if not row["step_code"]:
        return None
    return core.Step(
        code=row["step_code"],
        label=row["step_label"],
        status=row["step_status"],
        actor=row["actor"],
        rule_id=row["rule_id"],
        noun=row["noun"],
        window_bound=row["window_bound"],
        until_word=row["until_word"],
        done_on=row["done_on"],
        deadline=row["deadline"],
        earliest=row["earliest"],
        reasons=tuple(row["reasons"].split()),
    )


# --- judging: the facts of many courses at once -------------------------------------------------------------


def judge_courses(
    course_ids: list[int], today: dt.date, plans: ChunkPlans | None = None
) -> Iterable[tuple[int, core.NextStep, core.CourseFile]]:
    """``core.next_step_until_change`` of each course on ``today``, with the facts it was judged from, which
    ``records.facts_by_course`` reads (a fixed number of queries); with ``plans``, the plan of each course it
    wants is judged from the same facts and evaluations (``core.judge_until_change``: each with its own change
    date)."""
    wanted = plans.wanted if plans is not None else frozenset()
    steps = set(course_ids)
    for course_id, course_file in facts_by_course(sorted(steps | wanted)).items():
        found, plan = core.judge_until_change(
            course_file, today, step=course_id in steps, plan=course_id in wanted
        )
        if plan is not None and plans is not None:
            plans.add(course_id, plan)
        if found is not None:
            yield course_id, found, course_file
