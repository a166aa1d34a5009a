"""The one entry point: where does this course stand on the day, and what must happen next?

``evaluate(course_file, day)`` gives an ``Evaluation``; ``Evaluation.to_dict()`` is exactly the answer of
../shared/spec/course-evaluation.md. The Evaluation also keeps, for pages, the rule set used and the reference
rule id of every blocking reason, alert and due item (``rule_ids()``), and each explanation sentence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias

from isotrack.core.course import CourseFile, Interruption, Policy
from isotrack.core.dose import DoseReport, dose_report
from isotrack.core.history import History, history_until
from isotrack.core.monitoring import Alert, alerts
from isotrack.core.quantities import plain_number, round_mg, round_mg_per_kg
from isotrack.core.rules import RuleSet, rule_set_for
from isotrack.core.rules.ipledge import DispenseAssessment
from isotrack.core.schedule import AFTER_LAST_DOSE_DAYS, Due, due_items, end_of_course_tests_done
from isotrack.core.urgency import Finding, findings, hold_on

Phase: TypeAlias = Literal["stopped", "qualifying", "active", "completed", "post_course"]
PHASES: tuple[Phase, ...] = ("qualifying", "active", "post_course", "completed", "stopped")


@dataclass(frozen=True, slots=True)
class Evaluation:
    as_of: dt.date
    rule_set: RuleSet
    phase: Phase
    dispense: DispenseAssessment
    dose: DoseReport
    alerts: tuple[Alert, ...]
    due: tuple[Due, ...]
    # Beyond the spec's answer (not in ``to_dict``): each alert with its urgency, what it asks for and whether
    # a prescriber acknowledged it (``urgency``), most urgent first; the hold the course is in on the day.
    findings: tuple[Finding, ...] = ()
    hold: Interruption | None = None
    # The history judged on (``history_until(file, as_of)``), kept: the checklist need not read it again.
    history: History | None = field(default=None, compare=False, repr=False)

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.open)

    @property
    def explanations(self) -> tuple[str, ...]:
        """One sentence per blocking reason, then one per alert, each naming its rule id."""
        return tuple(b.explanation for b in self.dispense.blocking) + tuple(
            a.explanation for a in self.alerts
        )

    def rule_ids(self) -> dict[str, dict[str, str]]:
        """Which reference rule each decision applied: {"blocking"|"alerts"|"due": {code: rule id}}."""
        return {
            "blocking": {b.code: b.rule_id for b in self.dispense.blocking},
            "alerts": {a.code: a.rule_id for a in self.alerts},
            "due": {d.code: d.rule_id for d in self.due},
        }

    def to_dict(self) -> dict[str, Any]:
        """The spec's JSON answer; numbers rounded only here (mg to 0.1, mg/kg to 0.01)."""
        dose = self.dose
        window = self.dispense.window
        return {
            "as_of": self.as_of.isoformat(),
            "rules": self.rule_set.id,
            "phase": self.phase,
            "dispense": {
                "allowed": self.dispense.allowed,
                "window": {"opens": window.opens.isoformat(), "closes": window.closes.isoformat()}
                if window
                else None,
                "blocking": [b.code for b in self.dispense.blocking],
            },
            "dose": {
                "cumulative_mg": round_mg(dose.cumulative_mg),
                "cumulative_mg_per_kg": _maybe(round_mg_per_kg, dose.cumulative_mg_per_kg),
                "conventional_equivalent_mg": round_mg(dose.conventional_equivalent_mg),
                "target_mg_per_kg": plain_number(dose.target_mg_per_kg),
                "remaining_mg": _maybe(round_mg, dose.remaining_mg),
                "current_mg_per_day": _maybe(plain_number, dose.current_mg_per_day),
                "current_mg_per_kg_per_day": _maybe(round_mg_per_kg, dose.current_mg_per_kg_per_day),
                "projected_completion_date": _maybe(dt.date.isoformat, dose.projected_completion_date),
            },
            "alerts": [{"code": a.code, "date": a.date.isoformat(), "detail": a.detail} for a in self.alerts],
            "due": [{"code": d.code, "date": d.date.isoformat()} for d in self.due],
            "explanations": list(self.explanations),
        }


def _maybe(convert: Any, value: Any) -> Any:
    return None if value is None else convert(value)


def phase_of(course_file: CourseFile, history: History) -> Phase:
    """Spec ``phase``, in the spec's order of precedence."""
    if history.positive_tests:
        return "stopped"
    if not history.dispenses:
        return "qualifying"
    end = course_file.course.end
    if end is None or end >= history.day:
        return "active"
    if (history.day - end).days > AFTER_LAST_DOSE_DAYS and (
        course_file.patient.category == "cannot_get_pregnant"
        or end_of_course_tests_done(course_file, history)
    ):
        return "completed"
    return "post_course"


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the course stands in iPLEDGE on the day: the evaluation without its dose figures and alerts,
    plus the history it was judged on. What the checklist (``cycle.current_cycle``) and the worklist need."""

    as_of: dt.date
    rule_set: RuleSet
    history: History
    phase: Phase
    dispense: DispenseAssessment
    due: tuple[Due, ...]


def standing(course_file: CourseFile, day: dt.date, rule_set: RuleSet | None = None) -> Standing:
    """The iPLEDGE part of ``evaluate``: the same rule set, phase, dispense assessment and due items, by the
    same functions (``evaluate`` is this plus the dose figures and the alerts). ``rule_set`` is the one
    ``rule_set_for`` gives for the file on the day, when the caller already has it."""
    if rule_set is None:
        rule_set = rule_set_for(course_file.rules, day, course_file.policy)
    history = history_until(course_file, day)
    phase = phase_of(course_file, history)
    return Standing(
        as_of=day,
        rule_set=rule_set,
        history=history,
        phase=phase,
        dispense=rule_set.assess_dispense(course_file, history),
        due=due_items(course_file, history, phase),
    )


def evaluate(
    course_file: CourseFile, day: dt.date, policy: Policy | None = None, rules: str | None = None
) -> Evaluation:
    """Evaluates the course on ``day`` with the file's policy and rules (or the ones given). Pure: no clock,
    no I/O; ``day`` is the practice's local date."""
    if policy is not None:
        course_file = replace(course_file, policy=policy)
    found = standing(course_file, day, rule_set_for(rules or course_file.rules, day, course_file.policy))
    dose = dose_report(course_file, day)
    raised = alerts(course_file, found.history, dose, found.phase)
    return Evaluation(
        as_of=day,
        rule_set=found.rule_set,
        phase=found.phase,
        dispense=found.dispense,
        dose=dose,
        alerts=raised,
        due=found.due,
        findings=findings(course_file, raised, day),
        hold=hold_on(course_file, day) if found.phase == "active" else None,
        history=found.history,
    )
