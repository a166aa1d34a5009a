"""The iPLEDGE requirements of the next fill in the words of HL7's US Medication REMS guide (STU2,
``GuidanceResponse/$rems-etasu``): each requirement of the current cycle (``current_cycle``: enrollment, the
tests, contraception, the prescriber's entry, the patient's questions, the pharmacy's authorization within the
window) with a status, and one status for them all.

- A requirement done is ``success``; one still possible (to do, or waiting for an earlier step) is
  ``data-required``; one whose deadline passed (a test whose window closed: IPL-WIN-7) is ``failure``; one not
  needed this cycle is left out. The pick-up is the patient's, after the authorization: not a requirement.
- The pharmacy's authorization is ``success`` exactly when the evaluation allows the fill today
  (``dispense.allowed``); its note gives the window and its last day.
- Altogether: ``success`` exactly when the evaluation allows the fill today, never otherwise; ``failure`` when
  what blocks it no record can cure (the course closed, a positive pregnancy test); else ``data-required``.

Pure: the cycle and the evaluation of one day in, an ``Etasu`` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from isotrack.core.cycle import Cycle, Step
from isotrack.core.evaluate import Evaluation

Status: TypeAlias = Literal["success", "data-required", "failure"]
NOT_REQUIREMENTS = frozenset({"PICK_UP"})
AUTHORIZATION = "PHARMACY_AUTHORIZATION"
NO_CURE = frozenset({"COURSE_CLOSED", "PREGNANCY_TEST_POSITIVE"})  # no record makes the fill possible


@dataclass(frozen=True)
class Requirement:
    code: str  # the cycle step's code
    name: str  # its plain words
    status: Status
    rule_id: str
    note: str  # when it was done, or by when it is due, or why it waits


@dataclass(frozen=True)
class Etasu:
    status: Status
    requirements: tuple[Requirement, ...]
    rule_set_id: str
    day: str  # ISO date of the day judged


def etasu(cycle: Cycle, evaluation: Evaluation) -> Etasu:
    allowed = evaluation.dispense.allowed
    requirements = tuple(
        _requirement(step, allowed, cycle)
        for step in cycle.steps
        if step.code not in NOT_REQUIREMENTS and step.status != "not_needed"
    )
    blocking = {blocking.code for blocking in evaluation.dispense.blocking}
    status: Status = "success" if allowed else "failure" if blocking & NO_CURE else "data-required"
    return Etasu(status, requirements, cycle.rule_set_id, cycle.day.isoformat())


def _requirement(step: Step, allowed: bool, cycle: Cycle) -> Requirement:
    status: Status
    if step.code == AUTHORIZATION:
        status = "success" if allowed else "failure" if step.status == "overdue" else "data-required"
    elif step.status == "done":
        status = "success"
    elif step.status == "overdue":
        status = "failure"
    else:
        status = "data-required"
    return Requirement(step.code, step.label, status, step.rule_id, _note(step, status, cycle))


def _note(step: Step, status: Status, cycle: Cycle) -> str:
    parts = [step.label]
    window = cycle.window
    if step.code == AUTHORIZATION and window is not None:
        parts.append(f"window {window.opens.isoformat()} to {window.closes.isoformat()} (the last day)")
    if step.done_on is not None:
        parts.append(f"done on {step.done_on.isoformat()}")
    elif status == "failure" and step.deadline is not None:
        parts.append(f"its last day was {step.deadline.isoformat()}")
    elif step.deadline is not None:
        parts.append(f"due by {step.deadline.isoformat()}")
    if step.earliest is not None and status == "data-required":
        parts.append(f"not possible before {step.earliest.isoformat()}")
    if step.reasons:
        parts.append("blocked by " + ", ".join(step.reasons))
    parts.append(f"rule {step.rule_id}")
    return "; ".join(parts)
