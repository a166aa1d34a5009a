"""Every read that pages and the API use. Reads are scoped to the user's practice through access.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from isotrack import core
from isotrack.audit.models import AuditEvent
from isotrack.clinic.access import patients_of
from isotrack.clinic.dose_planning import line_of, plan_strengths, product_words
from isotrack.clinic.models import (
    AlertAcknowledgment,
    CheckIn,
    ContraceptionMethodCode,
    Course,
    CourseStatus,
    Patient,
    Practice,
    StaffUser,
    Visit,
)
from isotrack.clinic.records import course_facts, courses_with_facts, lab_fact, mood_fact
from isotrack.core import course as facts


def now() -> datetime:
    """The clock the clinic's days are read from: the one seam a test sets (tests/conftest.py) to run on a
    fixed day; sessions, audit timestamps and login throttling keep the real time."""
    return timezone.now()


def practice_today(practice: Practice) -> date:
    """Today in the practice's time zone: the one place the clinic decides what "today" is."""
    return now().astimezone(ZoneInfo(practice.time_zone)).date()


def search_patients(user: StaffUser, text: str = "") -> QuerySet[Patient]:
    patients = patients_of(user).order_by("family_name", "given_name", "mrn")
    text = text.strip()
    if text:
        patients = patients.filter(
            Q(family_name__icontains=text)
            | Q(given_name__icontains=text)
            | Q(mrn__iexact=text)
            | Q(ipledge_id__iexact=text)
        )
    return patients


def patient_page(patient: Patient) -> dict[str, object]:
    return {
        "patient": patient,
        "courses": patient.courses.select_related("prescriber").order_by("-start"),
        "weights": patient.weights.order_by("-effective_date", "-id"),
        "contraception": patient.contraception.order_by("-start"),
        "medications": patient.other_medications.order_by("-start", "-id"),
    }


AWAITING_CATEGORY_SHOWN = 20  # the worklist lists the first ones and counts the rest


@dataclass(frozen=True, slots=True)
class Waiting:
    """A patient whose iPLEDGE category a prescriber has yet to assign, as the worklist lists them."""

    uuid: Any
    full_name: str
    mrn: str
    created_at: datetime


def awaiting_category(user: StaffUser) -> tuple[list[Waiting], int]:
    """IPL-CAT: the practice's patients whose category a prescriber has yet to assign, longest waiting first
    (the first ``AWAITING_CATEGORY_SHOWN``, and how many in all), by the practice's key."""
    waiting = patients_of(user).filter(category="").order_by("created_at", "id")
    shown = [  # one query when they all fit (the usual case)
        Waiting(key, f"{given} {family}", mrn, created_at)
        for key, given, family, mrn, created_at in waiting.values_list(
            "uuid", "given_name", "family_name", "mrn", "created_at"
        )[: AWAITING_CATEGORY_SHOWN + 1]
    ]
    count = len(shown) if len(shown) <= AWAITING_CATEGORY_SHOWN else waiting.count()
    return shown[:AWAITING_CATEGORY_SHOWN], count


def audit_trail(patient: Patient) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient=patient).select_related("actor").order_by("-at", "-id")


# --- one course judged on one day: what the API, FHIR and CDS Hooks show ----------------------------------


@dataclass(frozen=True)
class Judgment:
    """Everything the core says of one course on one day, from one read of its facts."""

    day: date
    evaluation: core.Evaluation
    next_step: core.NextStep
    proposal: core.PrescriptionProposal  # the prescription a visit on the day would propose, or why none
    calendar: core.TherapyCalendar
    acknowledged_by: dict[tuple[str, date], str]  # (alert code, alert date) -> who acknowledged it


def judge(course: Course, day: date, days_supply: int = 30) -> Judgment:
    course_file = course_facts(course)
    evaluation = core.evaluate(course_file, day)
    names = {
        (a.alert_code, a.alert_date): a.recorded_by.display_name
        for a in course.acknowledgments.select_related("recorded_by")
    }
    return Judgment(
        day=day,
        evaluation=evaluation,
        next_step=core.next_step(course_file, day, evaluation),
        proposal=core.proposed_prescription(course_file, day, days_supply, evaluation),
        calendar=core.therapy_calendar(course_file, day, evaluation=evaluation),
        acknowledged_by=names,
    )


def current_course(patient: Patient) -> Course | None:
    """The course a prescription would belong to: the latest qualifying or active one, else the latest."""
    courses = patient.courses.select_related("patient__practice").exclude(
        status=CourseStatus.ENTERED_IN_ERROR
    )
    courses = courses.order_by("-start", "-id")
    open_course = courses.filter(status__in=[CourseStatus.DRAFT, CourseStatus.ACTIVE]).first()
    return open_course or courses.first()


def rems_etasu(course: Course, day: date) -> core.Etasu:
    """The course's iPLEDGE requirements for a fill on ``day``, as the REMS guide's ``$rems-etasu`` words
    them (``core.etasu``)."""
    course_file = course_facts(course)
    evaluation = core.evaluate(course_file, day)
    return core.etasu(core.current_cycle(course_file, day, evaluation), evaluation)


def judged_in_words(course_file: facts.CourseFile, day: date) -> tuple[str, date | None]:
    """The course's next step in words (with its deadline, and "overdue" once past it) and its projected
    completion date: what a preview of a change shows for each course it touches."""
    evaluation = core.evaluate(course_file, day)
    step = core.next_step(course_file, day, evaluation).step
    words = "nothing to do" if step is None else step.label
    if step is not None and step.deadline is not None:
        words += f" by {step.deadline.isoformat()}"
    if step is not None and step.status == "overdue":
        words += " (overdue)"
    return words, evaluation.dose.projected_completion_date


# --- the course page ---------------------------------------------------------------------------------------

DOSE_CURVE_POINTS = 40  # the chart's resolution: enough for a smooth curve, few evaluations


def course_page(course: Course, today: date) -> dict[str, Any]:
    """Everything the course page (and its print view) shows, as the core decides it on ``today``."""
    course = (
        courses_with_facts(Course.objects.filter(pk=course.pk))
        .select_related("prescriber")
        .prefetch_related("side_effects", "dispenses__recorded_by", "ipledge_entries__recorded_by")
        .get()
    )
    course_file = course_facts(course)
    evaluation = core.evaluate(course_file, today)
    cycle = core.current_cycle(course_file, today, evaluation)
    policy = course_file.policy
    return {
        "course": course,
        "patient": course.patient,
        "today": today,
        "evaluation": evaluation,
        "cycle": cycle,
        "banner": alert_banner(evaluation, course.acknowledgments.all()),
        "tier_label": core.TIER_LABELS.get(cycle.tier, ""),
        "follow_up_pending": [s for s in cycle.steps if s.code in FOLLOW_UP_CODES and s.pending],
        "phase_label": core.PHASE_LABELS[evaluation.phase],
        "steps": [_step_view(step, today) for step in cycle.steps],
        "monitoring": [_step_view(step, today) for step in cycle.monitoring],
        "next_step": _step_view(cycle.next_step, today) if cycle.next_step else None,
        "methods": [ContraceptionMethodCode(m).label for m in cycle.methods],
        "dose": evaluation.dose,
        "dose_curve": _dose_curve(course_file, today),
        "capsules": _capsules(course, evaluation),
        "labs": [
            (lab, _flag(lab_fact(lab), policy))
            for lab in sorted(course.lab_results.all(), key=lambda r: (r.effective_date, r.id), reverse=True)
        ],
        "mood_screens": [
            (
                screen,
                _flag(mood_fact(screen), policy),
            )
            for screen in reversed(course.mood_screens.all())
        ],
        "side_effects": list(reversed(course.side_effects.all())),
        "medications": list(course.patient.other_medications.order_by("-start", "-id")),
        "check_in": CheckIn.objects.filter(
            course=course, submitted_at__isnull=False, reviewed_at__isnull=True
        )
        .order_by("-visit_date")
        .first(),
        "alerts": [
            {"alert": a, "words": core.plain_words(a.explanation, a.rule_id)} for a in evaluation.alerts
        ],
        "due": [
            {"code": d.code, "label": core.DUE_LABELS[d.code], "date": d.date, "rule_id": d.rule_id}
            for d in evaluation.due
        ],
        "rule_ids": sorted(
            {rule for group in evaluation.rule_ids().values() for rule in group.values()}
            | {s.rule_id for s in (*cycle.steps, *cycle.monitoring) if s.rule_id}
        ),
    }


FOLLOW_UP_CODES = frozenset(kind.code for kind in core.FOLLOW_UP_STEPS.values())


def alert_banner(
    evaluation: core.Evaluation, acknowledgments: Iterable[AlertAcknowledgment]
) -> list[dict[str, Any]]:
    """The alerts the core raises on the day, most urgent first, as the banner shows them: what each is, what
    it asks for and of whom, its rule, and who acknowledged it when (ALERT-URGENCY). Nothing is decided
    here."""
    by_alert = {(a.alert_code, a.alert_date): a for a in acknowledgments}
    banner = []
    for finding in evaluation.findings:
        alert, action = finding.alert, finding.action
        stored = by_alert.get((alert.code, alert.date))
        acknowledgment = finding.acknowledgment
        banner.append(
            {
                "finding": finding,
                "code": alert.code,
                "date": alert.date,
                "label": action.label,
                "detail": alert.detail,
                "words": core.plain_words(alert.explanation, alert.rule_id),
                "asks_for": action.asks_for,
                "by": core.ACTOR_LABELS.get(action.actor, action.actor),
                "rule_id": alert.rule_id,
                "open": finding.open,
                "holds_drug": action.holds_drug,
                "acknowledgeable": finding.open and alert.code in core.ACKNOWLEDGEABLE,
                "acknowledged_by": stored.recorded_by.display_name if stored else None,
                "acknowledged_on": acknowledgment.date if acknowledgment else None,
                "acknowledged_reason": acknowledgment.reason if acknowledgment else None,
            }
        )
    return banner


def course_banner(course: Course, day: date) -> list[dict[str, Any]]:
    """The alert banner alone, for the pages that change a course without the whole course page (a hold, a
    missed dose, a dose change): what the core raises on ``day``."""
    evaluation = core.evaluate(course_facts(course), day)
    return alert_banner(evaluation, course.acknowledgments.select_related("recorded_by"))


def _step_view(step: core.Step, today: date) -> dict[str, Any]:
    return {
        "step": step,
        "status_label": core.STATUS_LABELS[step.status],
        "actor_label": core.ACTOR_LABELS[step.actor],
        "countdown": core.countdown(step, today),
    }


def _flag(result: facts.LabResult | facts.MoodScreen, policy: facts.Policy) -> dict[str, str] | None:
    alert = core.result_flag(result, policy)
    if alert is None:
        return None
    return {
        "detail": alert.detail,
        "words": core.plain_words(alert.explanation, alert.rule_id),
        "rule_id": alert.rule_id,
    }


def _dose_curve(course_file: facts.CourseFile, today: date) -> list[tuple[date, float, float]]:
    """(day, cumulative mg/kg, cumulative mg) from the course start through today (or its end)."""
    start = course_file.course.start
    last = min(today, course_file.course.end or today)
    if last < start:
        return []
    span = (last - start).days
    every = max(1, -(-span // DOSE_CURVE_POINTS))
    days = [start + timedelta(days=n) for n in range(0, span, every)] + [last]
    curve = []
    for day in days:
        report = core.dose_report(course_file, day)
        if report.cumulative_mg_per_kg is not None:
            curve.append((day, report.cumulative_mg_per_kg, report.cumulative_mg))
    return curve


def _capsules(course: Course, evaluation: core.Evaluation) -> dict[str, Any] | None:
    """The capsule plan of today's dose (DOSE-LD: the product line's strengths): in the capsule strength the
    prescriber stated for the dose, when one was (what FHIR sends), else in the stocked strengths."""
    mg = evaluation.dose.current_mg_per_day
    segment = evaluation.dose.current_segment
    if not mg or segment is None:
        return None
    stored = [s for s in course.dose_segments.all() if s.starts_on == segment.start]
    brand = stored[0].brand if stored else ""
    strength = stored[0].strength_mg if stored else None
    line = line_of(segment.product, brand)
    plan = core.capsule_plan(mg, line, plan_strengths(course.prescriber, line, strength))
    return {
        "plan": plan,
        "line": product_words(segment.product, brand),
        "strength_mg": strength,
        "per_day": plan.capsules_per_day if plan.possible else None,
        "fill": plan.fill(30) if plan.possible else None,
    }


def visit_summary(visit: Visit) -> str:
    """A visit in words: the staff's note, the methods confirmed in use and the prescription to send."""
    parts = [visit.note] if visit.note else []
    if visit.methods_confirmed:
        parts.append(f"Contraception confirmed in use: {', '.join(visit.methods_confirmed_labels)}.")
    if visit.prescription_days_supply is not None:
        parts.append(prescription_words(visit))
    return " ".join(parts) or "office visit"


def prescription_words(visit: Visit) -> str:
    return (
        f"Prescription to send: {visit.prescription_days_supply}-day supply of "
        f"{visit.prescription_mg_per_day} mg/day, {visit.get_prescription_product_display()}."
    )
