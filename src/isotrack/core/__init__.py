"""isotrack.core: the pure engine. Where does one course stand on one day, and what must happen next?

Plain Python, standard library only: no Django, no I/O, never reads the clock (the day is always a parameter).
The Django app calls only the names below; they are stable.

Course facts (``isotrack.core.course``): ``CourseFile`` holding ``as_of`` (date | None), ``rules`` ("auto" or
a rule-set id), ``policy`` (``Policy``), ``patient`` (``Patient``), ``course`` (``Course``), ``weights``
(``Weight``), ``doses`` (``DoseSegment``), ``interruptions`` (``Interruption``), ``missed_doses`` (dates),
``contraception`` (``ContraceptionUse``), ``events`` (``Enrollment``, ``PregnancyTest``,
``PrescriberConfirmation``, ``PatientAttestation``, ``Dispense``, ``Visit``, ``LabResult``, ``MoodScreen``)
and ``medications`` (``Medication``: name, ``medication_class``, start, end).
All are frozen dataclasses of dates, numbers, text and tuples; build them directly from rows, then call
``check_history(course_file)`` to reject an impossible history. ``DOSE_CHANGE_REASONS``: the codes of why a
dose changed (``DoseSegment.reason``, None when not recorded), each with its plain words.
``MEDICATION_CLASSES`` / ``medication_class(name=None, rxnorm=None)``: the classes of the patient's other
medicines and the program's table proposing one from a name or an RxNorm ingredient code (``other`` when
unknown; ``isotrack.core.medications``, each entry with its source).

- ``parse_course_file(data: object) -> CourseFile``: a decoded JSON course file; raises ``CourseFileError``
  (``str(error)`` is ``path: problem``; ``.path`` and ``.problem`` too).
- ``dump_course_file(course_file: CourseFile) -> dict``: back to a course file; parse(dump(x)) == x.
- ``check_history(course_file: CourseFile) -> None``: raises ``CourseFileError`` for an impossible history.
- ``evaluate(course_file, day, policy=None, rules=None) -> Evaluation``: the answer on ``day`` with the file's
  policy and rules (or the ones given). ``Evaluation.to_dict()`` is the spec's JSON answer; ``.rule_set``
  (``.id``, ``.title``), ``.phase``, ``.dispense`` (``.allowed``, ``.window``, ``.blocking``: ``Blocking(code,
  rule_id, explanation)``), ``.dose`` (``DoseReport``, unrounded), ``.alerts`` (``Alert(code, date, detail,
  rule_id, explanation)``), ``.due`` (``Due(code, date)``, ``.rule_id``), ``.explanations`` and
  ``.rule_ids()`` (code -> reference rule id of every decision).
- ``standing(course_file, day) -> Standing``: the iPLEDGE part of ``evaluate`` alone (``.rule_set``,
  ``.phase``, ``.dispense``, ``.due``, and the ``.history`` they were judged on), by the same functions; no
  dose figures nor alerts. What the checklist and the worklist need.
- ``dose_report(course_file, day) -> DoseReport``: the dose figures alone.
- ``dose_needed_for_completion(course_file, day, completion_date) -> float | None``: the labeled mg/day from
  the day after ``day`` that reaches the target on ``completion_date``.
- ``completion_date_for_dose(course_file, day, mg_per_day, product) -> date | None``: the projected completion
  if the dose changed from the day after ``day``.
- ``with_dose_from(course_file, start, mg_per_day, product)`` and ``with_days_off(course_file, start, end)``:
  the course's facts with a planned dose, or a planned hold or missed dose, for a preview (never a record).
- ``capsule_plan(mg_per_day, product, strengths=None) -> CapsulePlan``: fewest capsules of the product line's
  strengths (``conventional``, ``absorica``, ``micronized``), split into two doses as even as possible;
  ``.possible``, ``.problem``, ``.nearest_lower_mg``/``.nearest_higher_mg``, ``.capsules_per_day``,
  ``.fill(days)`` (1-30 days, IPL-SUPPLY).
- ``RULE_SETS`` / ``rule_set_for(choice, day, policy)``: the dated registry of rule sets.
- ``current_cycle(course_file, day, evaluation=None) -> Cycle``: the checklist of the current iPLEDGE cycle
  (``.steps``: ``Step`` with code, label, status, actor, rule_id, done_on, deadline, earliest, reasons,
  notes),
  the monitoring steps, the next required step with its ``countdown`` in words, and the exact contraception
  methods to enter (``.methods``); ``STEP_LABELS``, ``STATUS_LABELS``, ``ACTOR_LABELS``, ``DUE_LABELS``,
  ``PHASE_LABELS`` are the plain words;
  ``next_step(course_file, day) -> NextStep`` is that next step alone (``.step``, ``.countdown``,
  ``.days_left``, ``.phase``, ``.rule_set_id``, ``.rule_set_title``), judged by the same functions without
  the rest of the checklist, the dose figures nor the alerts (the worklist's entry point; ``countdown(step,
  day)`` and ``days_left(step, day)`` give its countdown and days left from the step alone);
  ``next_step_until_change(course_file, day) -> NextStep`` is ``next_step`` with ``.changes_on``: the first
  day its ``answer`` (what a worklist line shows and ranks by, ``.rank_date`` included) changes if nothing is
  recorded, at most ``HORIZON_DAYS`` ahead (``isotrack.core.change``);
  ``therapy_calendar(course_file, day) -> TherapyCalendar``: every planned event with its status
  (``isotrack.core.calendar``); ``treatment_month(course_file, day) -> int | None``: the month of treatment a
  visit on the day is about (the fill it leads to; None once dosing is over);
  ``plan_until_change(course_file, day)`` is that calendar with ``.changes_on``:
  the first day it differs from the plan read on that day with ``.on(day)`` (each event's status on a later
  day from its own fields: ``event_status_on(event, day)``; ``overdue_from(event)`` the first day it is
  overdue); ``judge_until_change(course_file, day)`` gives the next step and the calendar, each with its own
  first day of change, each day judged from one evaluation;
  ``plain_words(explanation, rule_id)`` drops the rule id from a sentence for the screen;
  ``result_flag(lab_or_mood_screen, policy)`` is the alert one result raises alone.
- ``replay_course(course_file, start, end) -> CourseReplay``: the engine's answer on each past day of a
  period, for the quality report (``isotrack.core.replay``): ``spans`` (``Span``: maximal runs of days with
  the same phase, rule set, allowed, blocking codes and window, judged on candidate days only), ``windows``
  (``WindowOutcome``: each window filled, lost with the steps missing when it closed, or open) and
  ``first_fill(course_file) -> FirstFill`` (enrollment to first fill in days, and how they were spent).
- ``measures(courses, start, end) -> Measures``: the practice's quality measures of a period, each course
  replayed with ``replay_course``, its alerts and peak-dose labs read from the engine on the days they can
  change, and its dose read with ``dose_report`` (``isotrack.core.quality``): first fills (count, median and
  nearest-rank quartiles of the days from enrollment, the days waited by category), windows closed (filled,
  lost, the steps missing), monitoring (baseline labs, peak-dose labs on time, late or not done, lab draws
  without cause, alerts raised, acknowledged and the days it took, still open), dosing (completed courses'
  mg/kg, 120 and target reached, without a weight; holds by reason; dose reductions, by reason), safety
  (positive tests and their follow-up, self-harm risk, critical labs), courses started, completed, stopped
  (and why) and active; ``QUALITY_DEFINITIONS`` words each figure; ``COMPARISONS`` (``Comparison``: label,
  published figure, source, the practice's share or why none) sets the published figures beside them.
  ``course_outcome(course_file, through, closed_as, stop_reason) -> CourseOutcome``: one course replayed once
  over its whole life, kept as JSON (``outcome_to_json`` / ``outcome_from_json``) and summed for any period
  it serves (``measures_of(outcomes, start, end)``); a period's measures kept as JSON too
  (``measures_to_json`` / ``measures_from_json``); ``STOP_REASONS``, ``AGE_BANDS``, ``age_band``, ``age_on``.
- ``recognise(codings, texts) -> Recognised | None``: whether a medication (its ``MedicationCoding``s and
  texts) is isotretinoin, by RxNorm code, ingredient or brand name (``isotrack.core.products``);
  ``clinical_drug(strength_mg, product)``: the RxNorm SCD of a capsule strength, when the reference has one.
- ``etasu(cycle, evaluation) -> Etasu``: the cycle's iPLEDGE requirements as HL7's REMS guide words them
  (``$rems-etasu``: success, data-required, failure; ``isotrack.core.rems``).
- ``rule(rule_id) -> Rule | None`` / ``RULES``: each reference rule the engine cites, in plain words, with its
  section, its kind (regulation, label, evidence, convention) and the sources the reference names
  (``CHAPTERS``; ``RULE_SET_SOURCES`` per rule set; ``isotrack.core.sources``).
"""

from __future__ import annotations

from isotrack.core.calendar import (
    FLOATING_FIELDS,
    KIND_LABELS,
    KIND_ORDER,
    PATIENT_WORDS,
    PlannedEvent,
    TherapyCalendar,
    event_status_on,
    overdue_from,
    therapy_calendar,
    treatment_month,
)
from isotrack.core.change import (
    HORIZON_DAYS,
    answer,
    judge_until_change,
    next_step_until_change,
    plan_until_change,
)
from isotrack.core.course import (
    AUTO_RULES,
    DOSE_CHANGE_REASONS,
    FOLLOW_UP_KINDS,
    Acknowledgment,
    ContraceptionUse,
    Course,
    CourseFile,
    Dispense,
    DoseSegment,
    Enrollment,
    Event,
    FollowUp,
    Interruption,
    LabResult,
    Medication,
    MoodScreen,
    Patient,
    PatientAttestation,
    Policy,
    PregnancyTest,
    PrescriberConfirmation,
    Visit,
    Weight,
)
from isotrack.core.coursefile import CourseFileError, check_history, dump_course_file, parse_course_file
from isotrack.core.cycle import (
    ACTOR_LABELS,
    DUE_LABELS,
    FOLLOW_UP_STEPS,
    PHASE_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    Cycle,
    NextStep,
    Step,
    countdown,
    current_cycle,
    days_left,
    entry_out_of_order,
    expected_test_purpose,
    methods_in_use,
    next_step,
    plain_words,
    rank_date,
    result_flag,
)
from isotrack.core.dose import (
    CAPSULE_STRENGTHS_MG,
    CapsulePlan,
    DoseReport,
    capsule_plan,
    completion_date_for_dose,
    dose_needed_for_completion,
    dose_report,
    with_days_off,
    with_dose_from,
)
from isotrack.core.evaluate import Evaluation, Standing, evaluate, standing
from isotrack.core.medications import MEDICATION_CLASSES, medication_class
from isotrack.core.monitoring import Alert, phq9_called_for
from isotrack.core.prescription import Prescription, PrescriptionProposal, proposed_prescription
from isotrack.core.products import Coding as MedicationCoding
from isotrack.core.products import Recognised, clinical_drug, recognise
from isotrack.core.quality import (
    AGE_BANDS,
    COMPARISONS,
    NOT_RECORDED,
    STOP_REASONS,
    ClosedAs,
    Comparison,
    CourseOutcome,
    Measures,
    age_band,
    age_on,
    course_outcome,
    measures,
    measures_from_json,
    measures_of,
    measures_to_json,
    outcome_from_json,
    outcome_to_json,
)
from isotrack.core.quality import DEFINITIONS as QUALITY_DEFINITIONS
from isotrack.core.rems import Etasu, etasu
from isotrack.core.replay import (
    CourseReplay,
    FirstFill,
    Span,
    WindowOutcome,
    first_fill,
    replay_course,
    spans,
    windows,
)
from isotrack.core.rules import RULE_SETS, Blocking, RuleSet, Window, rule_set_for
from isotrack.core.schedule import Due
from isotrack.core.sources import CHAPTERS, RULE_SET_SOURCES, RULES, Rule, rule
from isotrack.core.urgency import (
    ACKNOWLEDGEABLE,
    ALERT_ACTIONS,
    ALERT_ORDER,
    NO_OPEN_ALERT,
    TIER_LABELS,
    TIER_OTHER,
    AlertAction,
    Finding,
)
from isotrack.core.weights import ACT_NOW, BLOCKS_FILL, REVIEW, SETTLED, WEIGHTS

__all__ = [
    "phq9_called_for",
    "QUALITY_DEFINITIONS",
    "Measures",
    "measures",
    "AGE_BANDS",
    "COMPARISONS",
    "Comparison",
    "ClosedAs",
    "NOT_RECORDED",
    "STOP_REASONS",
    "CourseOutcome",
    "age_band",
    "age_on",
    "course_outcome",
    "measures_from_json",
    "measures_of",
    "measures_to_json",
    "outcome_from_json",
    "outcome_to_json",
    "CourseReplay",
    "FirstFill",
    "Span",
    "WindowOutcome",
    "first_fill",
    "replay_course",
    "spans",
    "windows",
    "CHAPTERS",
    "RULE_SET_SOURCES",
    "RULES",
    "Rule",
    "rule",
    "Etasu",
    "etasu",
    "MedicationCoding",
    "Recognised",
    "recognise",
    "clinical_drug",
    "HORIZON_DAYS",
    "answer",
    "next_step_until_change",
    "plan_until_change",
    "judge_until_change",
    "event_status_on",
    "overdue_from",
    "KIND_ORDER",
    "FLOATING_FIELDS",
    "rank_date",
    "expected_test_purpose",
    "ACKNOWLEDGEABLE",
    "ACT_NOW",
    "BLOCKS_FILL",
    "REVIEW",
    "SETTLED",
    "WEIGHTS",
    "AUTO_RULES",
    "DOSE_CHANGE_REASONS",
    "ALERT_ACTIONS",
    "ALERT_ORDER",
    "FOLLOW_UP_KINDS",
    "FOLLOW_UP_STEPS",
    "TIER_LABELS",
    "TIER_OTHER",
    "NO_OPEN_ALERT",
    "Acknowledgment",
    "AlertAction",
    "Finding",
    "FollowUp",
    "Prescription",
    "PrescriptionProposal",
    "proposed_prescription",
    "KIND_LABELS",
    "PATIENT_WORDS",
    "PlannedEvent",
    "TherapyCalendar",
    "therapy_calendar",
    "treatment_month",
    "ACTOR_LABELS",
    "DUE_LABELS",
    "PHASE_LABELS",
    "STATUS_LABELS",
    "STEP_LABELS",
    "Cycle",
    "NextStep",
    "Step",
    "countdown",
    "current_cycle",
    "entry_out_of_order",
    "days_left",
    "methods_in_use",
    "next_step",
    "plain_words",
    "result_flag",
    "RULE_SETS",
    "Alert",
    "Blocking",
    "CapsulePlan",
    "ContraceptionUse",
    "Course",
    "CourseFile",
    "CourseFileError",
    "Dispense",
    "DoseReport",
    "DoseSegment",
    "Due",
    "Enrollment",
    "Evaluation",
    "Standing",
    "Event",
    "Interruption",
    "LabResult",
    "MEDICATION_CLASSES",
    "Medication",
    "medication_class",
    "MoodScreen",
    "Patient",
    "PatientAttestation",
    "Policy",
    "PregnancyTest",
    "PrescriberConfirmation",
    "RuleSet",
    "Visit",
    "Weight",
    "Window",
    "capsule_plan",
    "CAPSULE_STRENGTHS_MG",
    "check_history",
    "completion_date_for_dose",
    "dose_needed_for_completion",
    "dose_report",
    "dump_course_file",
    "evaluate",
    "standing",
    "parse_course_file",
    "rule_set_for",
    "with_days_off",
    "with_dose_from",
]
