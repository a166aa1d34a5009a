"""The worklist's stored lines (``WorklistEntry``): when a line is out of date, and judging it again.

A line is the core's ``next_step`` of the course on one day, stored. The worklist reads the stored lines, and
first judges again every line of the courses it lists that is out of date:

- never judged (a course just started);
- the patient's records changed since: every action's audit row bumps the ``generation`` of the lines of
  the patient's courses, in the action's own transaction (``mark_stale``, called by ``actions.record``), and
  a line is current only while ``judged_generation`` equals it;
- judged for another day: windows close and tests fall due with the date alone;
- the engine or the practice's rules or policy changed (``basis``: a digest of the core's source, the
  practice's rule choice and policy); after an upgrade every line is judged again on its first read.

So the first read of a day judges every listed course (about a second for 5,000 courses, bench/worklist.py)
unless ``isotrack refresh-worklist`` ran after midnight (the practice's time zone); every other read judges
only the courses written since the last read. A line is judged for one day only, because judging the days
ahead one by one to store how long it holds costs as much as judging it each day.

Several app processes share the database, and lines are judged on read with no lock. A line records the
generation read *before* the facts it was judged from; a write that lands in between bumps the generation, so
a line judged from facts that were already old never counts as current and is judged again (within the same
read, up to ``ROUNDS`` times, then on the next read). Two processes judging the same line write the same
values. Stale lines cost time, never a wrong line.

The facts are read by ``records.facts_by_course``, the one mapping from rows to facts, for a chunk of
courses at a time; the line keeps the core's whole judgment of the worklist: the step, the alerts (open or
acknowledged, ALERT-URGENCY), the tier it ranks in, and the dispense decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from django.db import connections, transaction
from django.db.models import F, QuerySet

from isotrack import core
from isotrack.clinic.models import Course, Practice, WorklistEntry
from isotrack.clinic.policy import policy_of
from isotrack.clinic.records import facts_by_course

CHUNK = 500  # courses judged and stored per round
ROUNDS = 3  # attempts at judging lines that a concurrent write made stale again while they were judged

# The stored fields of the step, in ``stored_step``'s order.
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
_JUDGED_FIELDS = (
    "judged_generation",
    "judged_on",
    "basis",
    "listed",
    "phase",
    "rule_set_id",
    "rule_set_title",
    "tier",
    "alert_urgency",
    "alerts",
    "dispense_allowed",
    "blocking",
    *STEP_FIELDS,
)


def add_line(course_id: int) -> None:
    """A new course's line, not judged yet: created with the course, in its transaction (the migration that
    added the lines created one for every course before it), so that every later write finds it to mark."""
    WorklistEntry.objects.create(course_id=course_id)


def mark_stale(patient_id: int) -> None:
    """The lines of the patient's courses go out of date: called inside every write's transaction. One
    statement, written out: the ORM's update through a relation costs more to build than to run."""
    connection = connections[WorklistEntry.objects.db]
    quote = connection.ops.quote_name
    entries, courses = quote(WorklistEntry._meta.db_table), quote(Course._meta.db_table)
    generation, course_id, id_, patient = (
        quote(name) for name in ("generation", "course_id", "id", "patient_id")
    )
    sql = (  # names from the models, quoted; the value a parameter
        f"UPDATE {entries} SET {generation} = {generation} + 1 "  # noqa: S608
        f"WHERE {course_id} IN (SELECT {id_} FROM {courses} WHERE {patient} = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [patient_id])


def basis(practice: Practice) -> str:
    """What a line was judged with besides the course's records: the core's source and the practice's rule
    choice and policy."""
    digest = hashlib.sha256(_engine_digest().encode())
    policy = policy_of(practice)  # str() of each value: a choice read back from the database is plain text
    values = [str(practice.rules), *(str(getattr(policy, name)) for name in policy.__dataclass_fields__)]
    digest.update("|".join(values).encode())
    return digest.hexdigest()


@cache
def _engine_digest() -> str:
    """A digest of every source file of the core (the rules and the rule sets included)."""
    root = Path(core.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh(courses: QuerySet[Course], practice: Practice, today: dt.date) -> int:
    """Judge again every out-of-date line of ``courses`` (courses of ``practice``) for ``today``. Returns how
    many lines were judged; none when every line is current (one query)."""
    current = basis(practice)
    judged = 0
    for _ in range(ROUNDS):
        stale = _stale(courses, today, current)
        if not stale:
            break
        judged += _judge(stale, practice, today, current)
    return judged


def _stale(courses: QuerySet[Course], today: dt.date, current: str) -> list[tuple[int, int | None]]:
    """The courses whose line is missing or out of date, with the line's generation (None: no line)."""
    fresh = WorklistEntry.objects.filter(judged_generation=F("generation"), judged_on=today, basis=current)
    return list(
        courses.exclude(id__in=fresh.values("course_id"))
        .order_by("id")
        .values_list("id", "worklist_entry__generation")
    )


def _judge(stale: list[tuple[int, int | None]], practice: Practice, today: dt.date, current: str) -> int:
    missing = [course_id for course_id, generation in stale if generation is None]
    if missing:
        WorklistEntry.objects.bulk_create(
            [WorklistEntry(course_id=id_) for id_ in missing], ignore_conflicts=True
        )
    for start in range(0, len(stale), CHUNK):
        chunk = dict(stale[start : start + CHUNK])
        lines = [
            _values(found, chunk[course_id] or 0, today, current) + (course_id,)
            for course_id, found in judge_courses(list(chunk), practice, today)
        ]
        _store(lines)
    return len(stale)


def _store(lines: list[tuple[Any, ...]]) -> None:
    """One parameterized UPDATE per line, sent together (``executemany``): Django's ``bulk_update`` builds a
    CASE expression per field and line, which takes seconds for thousands of lines."""
    if not lines:
        return
    connection = connections[WorklistEntry.objects.db]
    quote = connection.ops.quote_name
    table = quote(WorklistEntry._meta.db_table)
    assignments = ", ".join(f"{quote(name)} = %s" for name in _JUDGED_FIELDS)
    # Names from the model, quoted; every value a parameter.
    sql = f"UPDATE {table} SET {assignments} WHERE {quote('course_id')} = %s"  # noqa: S608
    date = connection.ops.adapt_datefield_value
    rows = [tuple(date(v) if isinstance(v, dt.date) else v for v in line) for line in lines]
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _values(found: core.NextStep, generation: int, today: dt.date, current: str) -> tuple[Any, ...]:
    """The judged fields of a line (in ``_JUDGED_FIELDS``' order)."""
    step = found.step
    return (
        generation,
        today,
        current,
        step is not None or found.phase in ("qualifying", "active"),
        found.phase,
        found.rule_set_id,
        found.rule_set_title,
        found.tier,
        found.alert_urgency,
        alerts_text(found.findings),
        found.dispense_allowed,
        " ".join(found.blocking),
        step.code if step else "",
        step.label if step else "",
        step.status if step else "",
        step.actor if step else "",
        step.rule_id if step else "",
        step.noun if step else "",
        step.window_bound if step else False,
        step.until_word if step else "",
        step.done_on if step else None,
        step.deadline if step else None,
        step.earliest if step else None,
        " ".join(step.reasons) if step else "",
    )


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


def stored_step(
    code: str,
    label: str,
    status: Any,
    actor: Any,
    rule_id: str,
    noun: str,
    window_bound: bool,
    until_word: str,
    done_on: dt.date | None,
    deadline: dt.date | None,
    earliest: dt.date | None,
    reasons: str,
) -> core.Step | None:
    """The core's step back from a stored line (its notes are not stored: the worklist does not show them)."""
    if not code:
        return None
    return core.Step(
        code=code,
        label=label,
        status=status,
        actor=actor,
        rule_id=rule_id,
        noun=noun,
        window_bound=window_bound,
        until_word=until_word,
        done_on=done_on,
        deadline=deadline,
        earliest=earliest,
        reasons=tuple(reasons.split()),
    )


# --- judging: the facts of many courses at once -------------------------------------------------------------


def judge_courses(
    course_ids: list[int], practice: Practice, today: dt.date
) -> Iterable[tuple[int, core.NextStep]]:
    """``core.next_step`` of each course on ``today`` (ids of ``practice``'s courses), from the facts
    ``records.facts_by_course`` reads (a fixed number of queries)."""
    for course_id, course_file in facts_by_course(course_ids).items():
        yield course_id, core.next_step(course_file, today)
