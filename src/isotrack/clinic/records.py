"""Between the database and the core: stored courses become the core's facts (the content of a course file),
(``clinic.imports.courses`` does the other way: a course file becomes stored records).

``facts_by_course(course_ids)`` is the one mapping from rows to facts: every page, the worklist, the API,
FHIR, CDS Hooks, the calendar, the feeds, the reminders and the export ask it, for one course
(``course_facts``) or thousands (a fixed number of queries per ``CHUNK`` of courses, each table read as the
driver's plain tuples). Exporting a course, evaluating the export and evaluating the stored course give the
same answer because all three go through it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django.db import connections, models
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from isotrack import core
from isotrack.audit.models import AuditEvent
from isotrack.clinic.models import (
    AlertAcknowledgment,
    CheckIn,
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    Interruption,
    IpledgeEntry,
    LabResult,
    MissedDose,
    MoodScreen,
    OtherMedication,
    Patient,
    Practice,
    PregnancyFollowUp,
    PregnancyTest,
    RecordedModel,
    Visit,
    Weight,
)
from isotrack.core import course as facts
from isotrack.core.medications import MedicationClass

CHUNK = 500  # courses per round of queries (keeps each IN list well inside every database's limits)

_DISPLAYED = (
    "dose_segments",
    "interruptions",
    "missed_doses",
    "pregnancy_tests__verified_by",
    "ipledge_entries",
    "dispenses",
    "lab_results",
    "visits",
    "mood_screens",
    "acknowledgments__recorded_by",
    "pregnancy_follow_ups__recorded_by",
    "patient__weights",
    "patient__contraception",
)


def courses_with_facts(queryset: Any) -> Any:
    """The queryset with the records a course page lists, in a constant number of queries (the facts the
    core judges are read by ``facts_by_course``)."""
    return queryset.select_related("patient__practice").prefetch_related(*_DISPLAYED)


def _number(value: Decimal | float | int | str) -> float | int:
    """Whole numbers stay integers in exports (40, not 40.0), as a person would write the file. Decimal
    columns come from the driver as Decimal (PostgreSQL) or as int, float or text (SQLite)."""
    if type(value) is int:
        return value
    number = value if type(value) is Decimal else Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _date(value: date | str) -> date:
    """A date column as the driver gives it: a date (PostgreSQL) or ISO text (SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _maybe_date(value: date | str | None) -> date | None:
    return None if value is None else _date(value)


def _among(ids: list[int]) -> RawSQL:
    """The ids for an ``__in`` filter as one parameter (a PostgreSQL array; a JSON list read by SQLite's
    ``json_each``): the query's text is the same for 1 id or 500, and neither Django nor the driver handles a
    placeholder per id (which cost more than running the query)."""
    if connections[Course.objects.db].vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])


def _rows(query: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` query as the database driver gives them, without Django's per-value
    converters: for columns converted here (``_date``, ``_number``) or needing none."""
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_COURSE_COLUMNS = (
    "id",
    "start",
    "end",
    "target_mg_per_kg",
    "patient_id",
    "patient__category",
    "patient__birth_date",
    "patient__practice_id",
)
_IPLEDGE_EVENTS: dict[str, Any] = {
    "enrollment": facts.Enrollment,
    "prescriber_confirmation": facts.PrescriberConfirmation,
    "patient_attestation": facts.PatientAttestation,
}


def course_facts(course: Course, *, as_of: date | None = None) -> facts.CourseFile:
    """The core's view of one stored course."""
    found = facts_by_course([course.pk])[course.pk]
    return dataclasses.replace(found, as_of=as_of) if as_of is not None else found


def with_medications_from(
    course_file: facts.CourseFile, medicines: Iterable[tuple[str, str]], start: date
) -> facts.CourseFile:
    """The course's facts with these other medicines (name, class) taken from ``start`` on, in place of the
    recorded ones: what the engine would say of a drafted order (``clinic.interactions``, CDS Hooks
    order-sign). Never a record."""
    medications = tuple(
        facts.Medication(name, cast(MedicationClass, kind), start) for name, kind in medicines
    )
    return dataclasses.replace(course_file, medications=medications)


def facts_of(courses: Iterable[Course]) -> dict[int, facts.CourseFile]:
    """``facts_by_course`` of the given courses (by their database keys)."""
    return facts_by_course([course.pk for course in courses])


def facts_by_course(
    course_ids: list[int], recorded_by: datetime | None = None
) -> dict[int, facts.CourseFile]:
    """The core's facts of each course (ids of any practices), a fixed number of queries per ``CHUNK``.

    ``recorded_by``: the records as they stood at that instant (the quality report's "as recorded then"):
    those recorded by then and not voided by then, so that a record entered or corrected later shows as a
    correction, not a rewrite; and what is edited in place (a course's last day and target, a patient's
    category and birth date, a weight, a method's end, the practice's settings) with the values it had then,
    read back from the audit trail (``as_it_stood``)."""
    found: dict[int, facts.CourseFile] = {}
    for first in range(0, len(course_ids), CHUNK):
        found.update(_chunk(course_ids[first : first + CHUNK], recorded_by))
    return found


def _records(model: type[RecordedModel], recorded_by: datetime | None) -> QuerySet[Any]:
    """The records in force, or as they stood at ``recorded_by`` (see ``facts_by_course``)."""
    if recorded_by is None:
        return model.objects.all()
    return model.all_objects.filter(recorded_at__lte=recorded_by).exclude(voided_at__lte=recorded_by)


def as_it_stood(
    model: type[models.Model], rows: dict[Any, dict[str, Any]], cutoff: datetime
) -> dict[Any, dict[str, Any]]:
    """``rows`` (each row's current values of some fields, by the row's public UUID) with the values they had
    at ``cutoff``: every edit made in place since is audited with the values it changed as they were
    (``isotrack.audit.trail.record``), so the earliest later audit row that names a field holds the field's
    value at ``cutoff``. Voids and corrections name no column (``in_force``) or the values the row still
    has, so they change nothing here. One query, by the rows' UUIDs."""
    keys = {uuid.UUID(str(key)): key for key in rows}
    stood = {key: dict(values) for key, values in rows.items()}
    later = (
        AuditEvent.objects.filter(
            object_type=model._meta.model_name,
            object_uuid__in=list(keys),
            at__gt=cutoff,
            before__isnull=False,
        )
        .order_by("-at", "-id")  # the latest first: the earliest, applied last, wins
        .values_list("object_uuid", "before")
    )
    for object_uuid, before in later:
        values = stood[keys[object_uuid]]
        for name, value in before.items() if isinstance(before, dict) else ():
            if name in values:
                values[name] = cast(models.Field, model._meta.get_field(name)).to_python(value)
    return stood


def _chunk(course_ids: list[int], recorded_by: datetime | None = None) -> dict[int, facts.CourseFile]:
    rows = _rows(Course.objects.filter(id__in=_among(course_ids)).values_list(*_COURSE_COLUMNS))
    if recorded_by is not None:
        rows = _courses_as_they_stood(rows, recorded_by)
    patient_ids = sorted({row[4] for row in rows})
    practices = {p.pk: p for p in Practice.objects.filter(id__in={row[7] for row in rows})}
    if recorded_by is not None:
        practices = {key: _practice_as_it_stood(practice, recorded_by) for key, practice in practices.items()}
    events = _events(course_ids, recorded_by)
    doses, holds, missed = _dosing(course_ids, recorded_by)
    acknowledgments, follow_ups = _handled(course_ids, recorded_by)
    reported = _reported(course_ids, recorded_by)
    weights, contraception, medications = _patient_facts(patient_ids, recorded_by)
    policies: dict[tuple[int, Any], facts.Policy] = {}
    found = {}
    for course_id, start, end, target, patient_id, category, birth, practice_id in rows:
        practice = practices[practice_id]
        policy = policies.get((practice_id, target))
        if policy is None:
            policy = policy_of(practice)
            if target is not None:  # the course's own target; none: the practice's
                policy = dataclasses.replace(policy, target_mg_per_kg=float(_number(target)))
            policies[(practice_id, target)] = policy
        found[course_id] = facts.CourseFile(
            rules=practice.rules,
            policy=policy,
            patient=facts.Patient(category=category, birth_date=_maybe_date(birth)),
            course=facts.Course(start=_date(start), end=_maybe_date(end)),
            weights=weights.get(patient_id, ()),
            doses=doses.get(course_id, ()),
            interruptions=holds.get(course_id, ()),
            missed_doses=missed.get(course_id, ()),
            contraception=contraception.get(patient_id, ()),
            medications=medications.get(patient_id, ()),
            events=tuple(sorted(events.get(course_id, ()), key=lambda event: event.date)),
            acknowledgments=acknowledgments.get(course_id, ()),
            follow_ups=follow_ups.get(course_id, ()),
            reported_self_harm=reported.get(course_id, ()),
        )
    return found


def _reported(course_ids: list[int], recorded_by: datetime | None) -> dict[int, tuple[date, ...]]:
    """The days a patient reported thoughts of self-harm at a check-in whose mood answers no clinician had
    confirmed (by ``recorded_by``, as things stood then): the engine's SELF_HARM_REPORTED, until then or until
    a prescriber acknowledges it. Nothing else a patient reports is a fact until a clinician confirms it."""
    check_ins = CheckIn.objects.filter(course_id__in=_among(course_ids), self_harm_reported=True)
    if recorded_by is None:
        check_ins = check_ins.exclude(mood_confirmed=True)
    else:
        check_ins = check_ins.filter(submitted_at__lte=recorded_by).exclude(
            mood_confirmed=True, reviewed_at__lte=recorded_by
        )
    return _grouped(check_ins.order_by("reported_on", "id").values_list("course_id", "reported_on"), _date)


def _courses_as_they_stood(rows: list[tuple[Any, ...]], cutoff: datetime) -> list[tuple[Any, ...]]:
    """Rows of ``_COURSE_COLUMNS`` with the course's and the patient's values at ``cutoff``."""
    ids = _among([row[0] for row in rows])
    keys = {
        course_id: (course_uuid, patient_uuid)
        for course_id, course_uuid, patient_uuid in Course.objects.filter(id__in=ids).values_list(
            "id", "uuid", "patient__uuid"
        )
    }
    courses = as_it_stood(
        Course,
        {keys[row[0]][0]: {"start": row[1], "end": row[2], "target_mg_per_kg": row[3]} for row in rows},
        cutoff,
    )
    patients = as_it_stood(
        Patient, {keys[row[0]][1]: {"category": row[5], "birth_date": row[6]} for row in rows}, cutoff
    )
    stood = []
    for course_id, _, _, _, patient_id, _, _, practice_id in rows:
        course, patient = courses[keys[course_id][0]], patients[keys[course_id][1]]
        stood.append(
            (
                course_id,
                course["start"],
                course["end"],
                course["target_mg_per_kg"],
                patient_id,
                patient["category"],
                patient["birth_date"],
                practice_id,
            )
        )
    return stood


def _practice_as_it_stood(practice: Practice, cutoff: datetime) -> Practice:
    """A copy of ``practice`` with its settings as they were at ``cutoff`` (not saved)."""
    fields = [field.name for field in Practice._meta.concrete_fields if not field.is_relation]
    values = as_it_stood(
        Practice, {practice.uuid: {name: getattr(practice, name) for name in fields}}, cutoff
    )
    stood = copy.copy(practice)
    for name, value in values[practice.uuid].items():
        setattr(stood, name, value)
    return stood


def _grouped(query: QuerySet[Any, Any], make: Any) -> dict[int, tuple[Any, ...]]:
    """Rows (the key first) turned into facts by ``make(*rest)``, grouped by the key, in the query's order."""
    found: dict[int, list[Any]] = defaultdict(list)
    for key, *rest in _rows(query):
        found[key].append(make(*rest))
    return {key: tuple(items) for key, items in found.items()}


def _lab(day: Any, test: str, value: Any, unit: str, uln: Any) -> facts.LabResult:
    return facts.LabResult(_date(day), test, _number(value), unit, _number(uln) if uln is not None else None)


def _mood(day: Any, instrument: str, score: int, item9: int | None) -> facts.MoodScreen:
    return facts.MoodScreen(_date(day), instrument, score, item9)  # type: ignore[arg-type]


def lab_fact(lab: LabResult) -> facts.LabResult:
    """One stored lab result as the core's fact (the course page flags each row it lists)."""
    return _lab(lab.effective_date, lab.test, lab.value, lab.unit, lab.uln)


def mood_fact(screen: MoodScreen) -> facts.MoodScreen:
    return _mood(screen.date, screen.instrument, screen.score, screen.item9)


def _events(course_ids: list[int], recorded_by: datetime | None) -> dict[int, list[facts.Event]]:
    """Every event of each course: each type in date order (then id)."""
    among = _among(course_ids)
    found: dict[int, list[facts.Event]] = defaultdict(list)
    tables: list[tuple[QuerySet[Any, Any], Any]] = [
        (
            _records(IpledgeEntry, recorded_by)
            .filter(course_id__in=among)
            .order_by("date", "id")
            .values_list("course_id", "kind", "date"),
            lambda kind, day: _IPLEDGE_EVENTS[kind](_date(day)),
        ),
        (
            _records(PregnancyTest, recorded_by)
            .filter(course_id__in=among)
            .order_by("specimen_date", "id")
            .values_list(
                "course_id", "specimen_date", "purpose", "setting", "result", "verified_by__username"
            ),
            lambda day, purpose, setting, result, verifier: facts.PregnancyTest(
                _date(day), purpose, setting, result, verifier
            ),
        ),
        (
            _records(Dispense, recorded_by)
            .filter(course_id__in=among)
            .order_by("date", "id")
            .values_list("course_id", "date", "days_supply", "mg_per_day", "product", "rma"),
            lambda day, supply, mg, product, rma: facts.Dispense(
                _date(day), supply, _number(mg) if mg is not None else None, product or None, rma or None
            ),
        ),
        (
            _records(Visit, recorded_by)
            .filter(course_id__in=among)
            .order_by("date", "id")
            .values_list("course_id", "date"),
            lambda day: facts.Visit(_date(day)),
        ),
        (
            _records(LabResult, recorded_by)
            .filter(course_id__in=among)
            .order_by("effective_date", "id")
            .values_list("course_id", "effective_date", "test", "value", "unit", "uln"),
            _lab,
        ),
        (
            _records(MoodScreen, recorded_by)
            .filter(course_id__in=among)
            .order_by("date", "id")
            .values_list("course_id", "date", "instrument", "score", "item9"),
            _mood,
        ),
    ]
    for query, make in tables:
        for course_id, items in _grouped(query, make).items():
            found[course_id].extend(items)
    return found


def _dosing(
    course_ids: list[int], recorded_by: datetime | None
) -> tuple[
    dict[int, tuple[facts.DoseSegment, ...]],
    dict[int, tuple[facts.Interruption, ...]],
    dict[int, tuple[date, ...]],
]:
    among = _among(course_ids)
    doses = _grouped(
        _records(DoseSegment, recorded_by)
        .filter(course_id__in=among)
        .order_by("starts_on", "id")
        .values_list("course_id", "starts_on", "mg_per_day", "product", "change_reason"),
        lambda day, mg, product, why: facts.DoseSegment(_date(day), _number(mg), product, why or None),
    )
    holds = _grouped(
        _records(Interruption, recorded_by)
        .filter(course_id__in=among)
        .order_by("start", "id")
        .values_list("course_id", "start", "end", "reason"),
        lambda start, end, reason: facts.Interruption(_date(start), _date(end), reason or None),
    )
    missed = _grouped(
        _records(MissedDose, recorded_by)
        .filter(course_id__in=among)
        .order_by("date", "id")
        .values_list("course_id", "date"),
        _date,
    )
    return doses, holds, missed


def _handled(
    course_ids: list[int], recorded_by: datetime | None
) -> tuple[dict[int, tuple[facts.Acknowledgment, ...]], dict[int, tuple[facts.FollowUp, ...]]]:
    among = _among(course_ids)
    acknowledgments = _grouped(
        _records(AlertAcknowledgment, recorded_by)
        .filter(course_id__in=among)
        .order_by("date", "id")
        .values_list("course_id", "alert_code", "alert_date", "date", "recorded_by__username", "reason"),
        lambda code, alert_date, day, by, reason: facts.Acknowledgment(
            code, _date(alert_date), _date(day), by, reason or None
        ),
    )
    follow_ups = _grouped(
        _records(PregnancyFollowUp, recorded_by)
        .filter(course_id__in=among)
        .order_by("date", "id")
        .values_list("course_id", "step", "date"),
        lambda step, day: facts.FollowUp(step, _date(day)),
    )
    return acknowledgments, follow_ups


def _patient_facts(
    patient_ids: list[int], recorded_by: datetime | None
) -> tuple[
    dict[int, tuple[facts.Weight, ...]],
    dict[int, tuple[facts.ContraceptionUse, ...]],
    dict[int, tuple[facts.Medication, ...]],
]:
    among = _among(patient_ids)
    weights = _grouped_as_they_stood(
        _records(Weight, recorded_by)
        .filter(patient_id__in=among)
        .order_by("effective_date", "id")
        .values_list("patient_id", "effective_date", "kg"),
        lambda day, kg: facts.Weight(_date(day), _number(kg)),
        recorded_by,
    )
    contraception = _grouped_as_they_stood(
        _records(Contraception, recorded_by)
        .filter(patient_id__in=among)
        .order_by("start", "id")
        .values_list("patient_id", "method", "start", "end"),
        lambda method, start, end: facts.ContraceptionUse(method, _date(start), _maybe_date(end)),
        recorded_by,
    )
    medications = _grouped(
        _records(OtherMedication, recorded_by)
        .filter(patient_id__in=among)
        .order_by("start", "id")
        .values_list("patient_id", "name", "medication_class", "start", "end"),
        lambda name, kind, start, end: facts.Medication(name, kind, _date(start), _maybe_date(end)),
    )
    return weights, contraception, medications


def _grouped_as_they_stood(
    query: QuerySet[Any, Any], make: Any, recorded_by: datetime | None
) -> dict[int, tuple[Any, ...]]:
    """``_grouped``, or with ``recorded_by`` each row's values as they were then (``as_it_stood``; edits in
    place of a weight or a method's end), in the query's order (its date field, then the row's id) by those
    values: the core takes the last of a day's weights as that day's."""
    if recorded_by is None:
        return _grouped(query, make)
    names = query.query.values_select[1:]
    rows = {row[-1]: row[:-1] for row in _rows(query.values_list(*query.query.values_select, "id", "uuid"))}
    stood = as_it_stood(
        query.model, {key: dict(zip(names, row[1:-1], strict=True)) for key, row in rows.items()}, recorded_by
    )
    found: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for key, row in rows.items():
        found[row[0]].append((row[-1], tuple(stood[key][name] for name in names)))
    first = names.index(query.query.order_by[0])
    return {
        owner: tuple(make(*values) for _, values in sorted(items, key=lambda i: (_date(i[1][first]), i[0])))
        for owner, items in found.items()
    }


def evaluate_course(course: Course, day: date) -> core.Evaluation:
    return core.evaluate(course_facts(course), day)


def under_settings(
    found: dict[int, facts.CourseFile], practice: Practice, own_targets: dict[int, Decimal | None]
) -> dict[int, facts.CourseFile]:
    """The courses' facts (``facts_by_course``) with ``practice``'s rule choice and policy instead (an unsaved
    practice: the settings page's preview), each course keeping its own target (``own_targets``)."""
    policy = policy_of(practice)
    moved = {}
    for course_id, course_file in found.items():
        own = own_targets.get(course_id)
        course_policy = policy if own is None else dataclasses.replace(policy, target_mg_per_kg=float(own))
        moved[course_id] = dataclasses.replace(course_file, policy=course_policy, rules=practice.rules)
    return moved


def target_of(course: Course, practice: Practice) -> Decimal:
    """The course's dose target in mg/kg (DOSE-TARGET): its own, or its practice's."""
    return course.target_mg_per_kg if course.target_mg_per_kg is not None else practice.target_mg_per_kg


def policy_of(practice: Practice, course: Course | None = None) -> facts.Policy:
    """The practice's policy as the core takes it (the ⚙ conventions of reference.md, per practice), with the
    course's own dose target when a course that has one is given."""
    target = target_of(course, practice) if course is not None else practice.target_mg_per_kg
    return facts.Policy(
        target_mg_per_kg=float(target),
        weight_basis=cast(facts.WeightBasis, practice.weight_basis),  # the field's choices are the core's
        home_testing_permitted=practice.home_testing_permitted,
        ld_equivalence_factor=float(practice.ld_equivalence_factor),
        ipledge_2026_effective=practice.ipledge_2026_effective,
        triglycerides_high_mg_dl=float(practice.triglycerides_high_mg_dl),
        triglycerides_critical_mg_dl=float(practice.triglycerides_critical_mg_dl),
        liver_uln_u_per_l=float(practice.liver_enzyme_default_uln),
        liver_uln_multiple=float(practice.liver_enzyme_uln_multiple),
        labs_peak_days=practice.peak_labs_after_days,
    )
