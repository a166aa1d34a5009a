"""How much an item of the engine's answer weighs: one scale, most pressing first, for every surface
that grades what it shows (FHIR DetectedIssue.severity, CDS Hooks card indicators); each surface maps the
scale to its own words. The items carry their weight (``Finding.weight``, ``AlertAction.weight``,
``Blocking.weight``, ``DispenseAssessment.weight``, ``PrescriptionProposal.weight``, ``PlannedEvent.weight``).

- ``ACT_NOW``: an open alert that holds or stops a drug (ALERT-URGENCY), a stopped course's follow-up step not
  recorded (IPL-PT-POSITIVE), no prescription proposed;
- ``BLOCKS_FILL``: a reason the next fill cannot be dispensed (a blocking reason of the rule set);
- ``REVIEW``: another open alert;
- ``SETTLED``: an alert a prescriber acknowledged, a follow-up step recorded, a fill nothing blocks.

Decision where reference.md is silent: the scale follows ALERT-URGENCY's one distinction (holds or stops a
drug, or not) and puts what blocks a fill between the two.
"""

from __future__ import annotations

ACT_NOW = "act_now"
BLOCKS_FILL = "blocks_fill"
REVIEW = "review"
SETTLED = "settled"
WEIGHTS: tuple[str, ...] = (ACT_NOW, BLOCKS_FILL, REVIEW, SETTLED)
