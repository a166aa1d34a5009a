"""The worklist: every qualifying and active course of the practice with its next required step, most urgent
first. The core decides each line (``core.next_step``: the next step of ``core.current_cycle``, judged by the
same functions); this module only reads.

Speed at any size (bench/worklist.py, 5,000 and 50,000 active courses): each course's line is stored
(``WorklistEntry``) with the day it stops holding, and judged again only when the patient's records changed
or that day came (``worklist_entries``). A page load judges the practice's out-of-date lines (the course just
written, usually; on a day's first read without the nightly job, the few percent whose day came), then reads
one page of stored lines by key off the ``worklist_order`` index (keyset pagination: the last page costs what
the first does) and counts the listed lines off the same index. The countdown in words follows from the
stored step and the day (``core.countdown``). Tests check that every line agrees with the core's judgment of
the course's full records, after each kind of write and as days pass, and that the API lists the same lines in
the same order.

Decisions:
- Courses listed: see ``worklist_entries`` (qualifying, active, stopped with a follow-up to record, completed
  less than ``RECENTLY_ENDED_DAYS`` ago with a step to do).
- The order (the core's ``tier``, ALERT-URGENCY): a self-harm risk, a positive pregnancy test, a critical lab,
  another drug to stop, a course on hold, then the rest; within a tier by the day the line ranks by
  (``core.rank_date``: the deadline, overdue first, or the earliest day a step is possible while ahead), then
  the lines without a date; then the most urgent open alert; ties by family name, given name, then the
  course's age. A line never judged (concurrent writes kept it from being judged) comes first in its tier.
- Pages are ``PAGE_SIZE`` lines, reached by First, Previous, Next and Last; a page is named by the course
  whose line it follows or precedes (``after``/``before``: a course's public id, never a patient's name in a
  URL). A line that moved since comes where it now ranks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL

from isotrack import core
from isotrack.clinic import worklist_entries
from isotrack.clinic.access import practice_of
from isotrack.clinic.models import PatientCategory, Practice, Role, StaffUser, WorklistEntry
from isotrack.clinic.queries import practice_today
from isotrack.clinic.records import policy_of
from isotrack.clinic.worklist_entries import RECENTLY_ENDED_DAYS

PAGE_SIZE = 50  # lines per page: the most urgent first; a page renders in a few ms
ORDER = ("tier", "rank_date", "alert_urgency", "family_name", "given_name", "course_id")  # worklist_order

__all__ = ["PAGE_SIZE", "RECENTLY_ENDED_DAYS", "Worklist", "WorklistFilters", "WorklistLine", "worklist"]


@dataclass(frozen=True, slots=True)
class WorklistFilters:
    prescriber: str = ""  # a prescriber's uuid
    category: str = ""
    phase: str = ""
    step: str = ""
    q: str = ""  # name, MRN or iPLEDGE ID
    after: str = ""  # a course's uuid: the page after its line
    before: str = ""  # a course's uuid: the page before its line
    last: bool = False  # the last page

    @property
    def active(self) -> bool:
        return any((self.prescriber, self.category, self.phase, self.step, self.q))


@dataclass(frozen=True, slots=True)
class WorklistAlert:
    """An alert of a line, as a badge: open, or acknowledged by a prescriber (ALERT-URGENCY)."""

    code: str
    label: str
    date: dt.date
    detail: str
    rule_id: str
    open: bool


@dataclass(frozen=True, slots=True)
class WorklistLine:
    course_uuid: Any
    patient_uuid: Any
    patient_name: str
    mrn: str
    ipledge_id: str
    prescriber: str
    category: str
    category_label: str
    status: str  # the course's
    phase: str
    phase_label: str
    step_code: str
    step_label: str
    step_status: str
    actor: str
    actor_label: str
    deadline: dt.date | None
    earliest: dt.date | None
    countdown: str
    days_left: int | None
    rule_id: str
    rule_set_id: str
    rule_set_title: str
    tier: int = 5
    alerts: tuple[WorklistAlert, ...] = ()
    dispense_allowed: bool = False
    blocking: tuple[str, ...] = ()

    @property
    def open_alerts(self) -> tuple[WorklistAlert, ...]:
        return tuple(a for a in self.alerts if a.open)

    @property
    def urgent(self) -> bool:
        return self.tier < core.TIER_OTHER or (self.days_left is not None and self.days_left <= 2)

    @property
    def overdue(self) -> bool:
        return self.step_status == "overdue" or (self.days_left is not None and self.days_left < 0)


@dataclass(frozen=True, slots=True)
class Worklist:
    today: dt.date
    lines: list[WorklistLine]  # the page shown
    total: int  # lines matching the filters
    first_page: bool  # no line before this page
    last_page: bool  # no line after this page
    prescribers: list[tuple[str, str]]  # (uuid, name) for the filter
    steps: list[tuple[str, str]]  # (code, label) for the filter
    rule_set_id: str = ""  # the rule set in force on ``today`` for the practice (reference §1.1)
    rule_set_title: str = ""

    @property
    def next_after(self) -> str:
        """The Next link's ``after``: the last line's course (empty on the last page)."""
        return "" if self.last_page or not self.lines else str(self.lines[-1].course_uuid)

    @property
    def previous_before(self) -> str:
        """The Previous link's ``before``: the first line's course (empty on the first page)."""
        return "" if self.first_page or not self.lines else str(self.lines[0].course_uuid)


def worklist(user: StaffUser, filters: WorklistFilters, today: dt.date | None = None) -> Worklist:
    """One page of the user's practice's worklist on ``today`` (the practice's today by default)."""
    practice = practice_of(user)
    today = refresh(practice, today)
    listed = _listed(practice, filters)
    total = listed.count()
    boundary = _key_of(practice, filters.before or filters.after)
    backwards = filters.last or bool(filters.before and boundary)
    page = listed
    if boundary is not None:
        page = page.filter(_beyond(boundary, backwards=backwards))
    ordering = [f"-{name}" for name in ORDER] if backwards else list(ORDER)
    rows = list(_with_shown(page.order_by(*ordering))[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if backwards:
        rows.reverse()
        first_page, last_page = not more, filters.last
    else:
        first_page, last_page = boundary is None, not more
    names, prescribers = _staff_names(practice)
    rule_set = core.rule_set_for(practice.rules, today, policy_of(practice))
    return Worklist(
        today=today,
        rule_set_id=rule_set.id,
        rule_set_title=rule_set.title,
        lines=[_line(entry, today, names) for entry in rows],
        total=total,
        first_page=first_page,
        last_page=last_page or total <= PAGE_SIZE,
        prescribers=prescribers,
        steps=sorted(core.STEP_LABELS.items(), key=lambda item: item[1]),
    )


def lines(
    user: StaffUser, filters: WorklistFilters, offset: int, limit: int, today: dt.date | None = None
) -> tuple[dt.date, int, list[WorklistLine]]:
    """Lines [offset, offset + limit) of the worklist in the page's order (the API's paging): the same
    stored lines, filters and order as ``worklist``. Returns the day, the count and the lines."""
    practice = practice_of(user)
    today = refresh(practice, today)
    listed = _listed(practice, filters)
    rows = _with_shown(listed.order_by(*ORDER))[offset : offset + limit]
    names, _ = _staff_names(practice)
    return today, listed.count(), [_line(entry, today, names) for entry in rows]


def refresh(practice: Practice, today: dt.date | None = None, *, plans: bool = False) -> dt.date:
    """Judge every out-of-date line of the practice's worklist for ``today`` (by default the practice's
    today); with ``plans``, the calendar's out-of-date plans instead. Returns the day."""
    today = today or practice_today(practice)
    worklist_entries.refresh(practice, today, lines=not plans, plans=plans)
    return today


def refresh_for_the_day(practice: Practice, today: dt.date | None = None, *, workers: int = 1) -> int:
    """``isotrack refresh-worklist``: add the lines of courses that have none, then judge every line and plan
    whose day came (in ``workers`` processes on PostgreSQL), so that the day's first page load need not.
    Returns how many courses were judged."""
    today = today or practice_today(practice)
    worklist_entries.add_missing_lines(practice)
    return worklist_entries.refresh(practice, today, lines=True, plans=True, workers=workers)


def _listed(practice: Practice, filters: WorklistFilters) -> QuerySet[WorklistEntry]:
    # ``listed = true`` as a comparison (Django writes a bare ``WHERE listed`` for ``listed=True``): SQLite
    # reads the ``worklist_order`` index in order only for an equality on its columns, else it sorts every
    # line of the practice for each page.
    entries = WorklistEntry.objects.filter(practice_id=practice.pk, listed=Value(True))
    if filters.prescriber:
        prescriber = _uuid_or_none(filters.prescriber)
        if prescriber is None:  # not a prescriber's id: no line (not the lines without a prescriber)
            return entries.none()
        entries = entries.filter(prescriber__uuid=prescriber)
    if filters.category in PatientCategory.values:
        entries = entries.filter(category=filters.category)
    if filters.phase:
        entries = entries.filter(phase=filters.phase)
    if filters.step:
        entries = entries.filter(step_code=filters.step)
    text = filters.q.strip()
    if text:
        entries = entries.filter(
            Q(family_name__icontains=text)
            | Q(given_name__icontains=text)
            | Q(course__patient__mrn__iexact=text)
            | Q(course__patient__ipledge_id__iexact=text)
        )
    return entries


_SHOWN = (
    "course__uuid",
    "course__status",
    "course__patient__uuid",
    "course__patient__mrn",
    "course__patient__ipledge_id",
    "prescriber_id",
    "judged_on",
    "family_name",
    "given_name",
    "category",
    "phase",
    "rule_set_id",
    "rule_set_title",
    "tier",
    "alerts",
    "dispense_allowed",
    "blocking",
    *worklist_entries.STEP_FIELDS,
)


def _with_shown(entries: QuerySet[WorklistEntry]) -> QuerySet[WorklistEntry, dict[str, Any]]:
    """The rows as named columns with what a line shows besides the stored judgment (one query, joined by
    key)."""
    return entries.values(*_SHOWN)


def _key_of(practice: Practice, course: str) -> tuple[Any, ...] | None:
    """The ranking key of a course's line (None: no such course in the practice)."""
    public_id = _uuid_or_none(course) if course else None
    if public_id is None:
        return None
    return (
        WorklistEntry.objects.filter(practice_id=practice.pk, course__uuid=public_id)
        .values_list(*ORDER)
        .first()
    )


def _beyond(key: tuple[Any, ...], *, backwards: bool) -> RawSQL:
    """The lines after ``key`` in the worklist's order (before it, ``backwards``): a row comparison, which
    PostgreSQL and SQLite read off the ``worklist_order`` index."""
    connection = connections[WorklistEntry.objects.db]
    quote = connection.ops.quote_name
    table = quote(WorklistEntry._meta.db_table)
    columns = ", ".join(f"{table}.{quote(name)}" for name in ORDER)
    marks = ", ".join(["%s"] * len(ORDER))
    values = [connection.ops.adapt_datefield_value(v) if isinstance(v, dt.date) else v for v in key]
    # Names from the model, quoted; every value a parameter.
    sql = f"({columns}) {'<' if backwards else '>'} ({marks})"
    return RawSQL(sql, values, output_field=BooleanField())  # noqa: S611


def _uuid_or_none(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


# --- the lines ----------------------------------------------------------------------------------------------

_CATEGORY_LABELS: dict[str, str] = dict(PatientCategory.choices)
NOT_JUDGED_WORDS = "Not worked out yet: open the course"  # a line concurrent writes kept from being judged


def _staff_names(practice: Practice) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """The practice's staff as lines name a course's prescriber (by key: a line reads no staff row), and its
    prescribers (uuid, name) by name for the filter. One read of the practice's few staff rows."""
    staff = StaffUser.objects.filter(practice_id=practice.pk).values_list(
        "pk", "uuid", "role", "first_name", "last_name", "credentials", "username"
    )
    names, prescribers = {}, []
    for key, public_id, role, first, last, credentials, username in staff:
        names[key] = _prescriber_name(first, last, credentials, username)
        if role == Role.PRESCRIBER:
            prescribers.append(((last, first, key), str(public_id), names[key]))
    return names, [(public_id, name) for _, public_id, name in sorted(prescribers)]


def _line(row: dict[str, Any], today: dt.date, names: dict[int, str]) -> WorklistLine:
    step = worklist_entries.stored_step(row)
    judged = row["judged_on"] is not None
    return WorklistLine(
        course_uuid=row["course__uuid"],
        patient_uuid=row["course__patient__uuid"],
        patient_name=f"{row['family_name']}, {row['given_name']}",
        mrn=row["course__patient__mrn"],
        ipledge_id=row["course__patient__ipledge_id"],
        prescriber=names.get(row["prescriber_id"], ""),
        category=row["category"],
        category_label=_CATEGORY_LABELS.get(row["category"], ""),
        status=row["course__status"],
        phase=row["phase"],
        phase_label=core.PHASE_LABELS.get(row["phase"], ""),
        step_code=step.code if step else "",
        step_label=step.label if step else ("Nothing to do" if judged else NOT_JUDGED_WORDS),
        step_status=step.status if step else "done",
        actor=step.actor if step else "",
        actor_label=core.ACTOR_LABELS[step.actor] if step else "",
        deadline=step.deadline if step else None,
        earliest=step.earliest if step else None,
        countdown=core.countdown(step, today) if step else ("nothing to do" if judged else ""),
        days_left=core.days_left(step, today) if step else None,
        rule_id=step.rule_id if step else "",
        rule_set_id=row["rule_set_id"],
        rule_set_title=row["rule_set_title"],
        tier=row["tier"],
        alerts=tuple(
            WorklistAlert(
                code=a["code"],
                label=core.ALERT_ACTIONS[a["code"]].label,
                date=dt.date.fromisoformat(a["date"]),
                detail=a["detail"],
                rule_id=a["rule_id"],
                open=a["open"],
            )
            for a in worklist_entries.stored_alerts(row["alerts"])
        ),
        dispense_allowed=row["dispense_allowed"],
        blocking=tuple(row["blocking"].split()),
    )


def _prescriber_name(first: str, last: str, credentials: str, username: str) -> str:
    """A prescriber as lines show them ("" for a course whose prescriber's account was removed)."""
    name = f"{first} {last}".strip() or username
    return f"{name}, {credentials}" if credentials else name
