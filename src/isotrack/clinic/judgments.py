"""The core's answers by name, for the layers above the clinic.

Pages, the API, FHIR and CDS Hooks never import the core (tests/test_architecture.py): they ask the clinic
(``queries.judge``, ``calendar.course_calendar``...), which hands them the core's answers. This module lets
them name the types of what they receive instead of ``Any``, so that mypy checks how they read them.
"""

from __future__ import annotations

from isotrack.core import (
    CHAPTERS,
    RULE_SET_SOURCES,
    RULE_SETS,
    RULES,
    Acknowledgment,
    Alert,
    Etasu,
    Evaluation,
    Finding,
    MedicationCoding,
    NextStep,
    PlannedEvent,
    PrescriptionProposal,
    Recognised,
    Rule,
    RuleSet,
    TherapyCalendar,
    clinical_drug,
    recognise,
    rule,
)

__all__ = [
    "CHAPTERS",
    "RULE_SET_SOURCES",
    "RULE_SETS",
    "RULES",
    "Rule",
    "rule",
    "Acknowledgment",
    "Alert",
    "Etasu",
    "Evaluation",
    "Finding",
    "MedicationCoding",
    "NextStep",
    "PlannedEvent",
    "PrescriptionProposal",
    "Recognised",
    "RuleSet",
    "TherapyCalendar",
    "clinical_drug",
    "recognise",
]
