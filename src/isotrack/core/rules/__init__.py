"""The dated registry of iPLEDGE rule sets.

``rule_set_for(choice, day, policy)``: ``auto`` picks the rule set in force on the evaluation date
(``us-ipledge-2026`` on or after ``policy.ipledge_2026_effective``, else ``us-ipledge-2021``); a rule-set id
pins one. A future modification is a new module and a new entry here; released modules never change.

Decision where the spec is silent: a day before 2021-12-13 (when ``us-ipledge-2021`` took effect) is evaluated
with ``us-ipledge-2021``, the oldest rule set isotrack knows; isotrack does not model older iPLEDGE versions.
"""

from __future__ import annotations

import datetime as dt

from isotrack.core.course import AUTO_RULES, Policy
from isotrack.core.rules import us_ipledge_2021, us_ipledge_2026
from isotrack.core.rules.ipledge import Blocking, DispenseAssessment, RuleSet, Window

RULE_SETS: dict[str, RuleSet] = {
    us_ipledge_2021.RULE_SET.id: us_ipledge_2021.RULE_SET,
    us_ipledge_2026.RULE_SET.id: us_ipledge_2026.RULE_SET,
}
RULE_CHOICES: tuple[str, ...] = (AUTO_RULES, *RULE_SETS)


def in_force_from(rule_set: RuleSet, policy: Policy) -> dt.date:
    return rule_set.in_force_from or policy.ipledge_2026_effective


def rule_set_for(choice: str, day: dt.date, policy: Policy) -> RuleSet:
    """The rule set ``choice`` names, or with ``auto`` the latest modification in force on the day."""
    if choice != AUTO_RULES:
        try:
            return RULE_SETS[choice]
        except KeyError:
            raise ValueError(f"unknown rule set {choice!r}: one of {', '.join(RULE_CHOICES)}") from None
    # RULE_SETS lists the modifications in the order they succeed one another: the later one in force wins,
    # even when a practice dates ``ipledge_2026_effective`` before 2021-12-13 (spec: 2026 rules "on or after
    # policy.ipledge_2026_effective").
    found = us_ipledge_2021.RULE_SET
    for rule_set in RULE_SETS.values():
        if in_force_from(rule_set, policy) <= day:
            found = rule_set
    return found


__all__ = ["RULE_CHOICES", "RULE_SETS", "Blocking", "DispenseAssessment", "RuleSet", "Window", "rule_set_for"]
