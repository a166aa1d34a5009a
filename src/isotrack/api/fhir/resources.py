"""isotrack's records as FHIR R4 resources, built with and validated by `fhir.resources.R4B` (the FHIR R4B
models of fhir.resources 8.3.0; R4B is R4 with a few additions; every resource served here is R4-shaped).

Codes: reference.md section 4 (RxNorm, LOINC, SNOMED CT, ICD-10-CM). What that table has no code for
(contraception methods, iPLEDGE blocking reasons, due items) uses isotrack's own systems, `urn:isotrack:*`.
Resource ids are the records' UUIDs; the resources computed from an evaluation (DetectedIssue, Task) get an
id made of the course's UUID and a digest of the day and the code (``derived_id``), so the same finding keeps
its id during the day, and a read by id finds its course at once (``course_of_derived_id``).

What the engine decides is shown, never decided again here (read through the clinic: ``api.answers``): the
CarePlan's status follows the course's phase, a DetectedIssue's severity the core's weight of its alert or
blocking reason (``SEVERITIES``; ALERT-URGENCY), its mitigation the prescriber's acknowledgment, and a Task's
status the therapy calendar's event that answers its due item (or the follow-up step of a positive test).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.task import Task

from isotrack.api import answers
from isotrack.clinic.judgments import Acknowledgment, Evaluation, PlannedEvent, RuleSet, TherapyCalendar
from isotrack.clinic.models import (
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    LabResult,
    MoodScreen,
    Patient,
    PregnancyTest,
    Weight,
)
from isotrack.clinic.records import courses_with_facts, target_of

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_SYSTEM = "urn:isotrack:mrn"  # + ":<practice uuid>": an MRN is unique within its practice
IPLEDGE_ID_SYSTEM = "urn:isotrack:ipledge-id"
RMA_SYSTEM = "urn:isotrack:ipledge-rma"
CONTRACEPTION_SYSTEM = "urn:isotrack:contraception-method"
ISOTRACK_OBSERVATION_SYSTEM = "urn:isotrack:observation"
BLOCKING_SYSTEM = "urn:isotrack:ipledge-blocking"
ALERT_SYSTEM = "urn:isotrack:alert"
DUE_SYSTEM = "urn:isotrack:due"
FOLLOW_UP_SYSTEM = "urn:isotrack:pregnancy-follow-up"  # stop, refer, report (IPL-PT-POSITIVE)
MITIGATION_SYSTEM = "urn:isotrack:mitigation"
# The core's weights (core.weights) in the words of DetectedIssue.severity. An issue keeps its own weight once
# acknowledged: the acknowledgment is its mitigation.
SEVERITIES: dict[str, str] = {
    "act_now": "high",
    "blocks_fill": "high",
    "review": "moderate",
    "settled": "low",
}
DERIVED_ID_NAMESPACE = uuid.UUID("5d1f0e1e-6c53-4a57-9d55-3a4f1b7d0c11")  # isotrack's namespace for uuid5 ids

ISOTRETINOIN = {"system": RXNORM, "code": "6064", "display": "isotretinoin"}  # RxNorm ingredient
# RxNorm SCD per capsule strength (mg), reference.md section 4.
SCD_BY_STRENGTH = {
    10: "197843",
    20: "197844",
    30: "403930",
    40: "197845",
    25: "1547561",
    35: "1547565",
}
LOINC_WEIGHT = {"system": LOINC, "code": "29463-7", "display": "Body weight"}
LOINC_HCG_URINE = {
    "system": LOINC,
    "code": "2106-3",
    "display": "Choriogonadotropin (pregnancy test) [Presence] in Urine",
}
LOINC_HCG_SERUM = {
    "system": LOINC,
    "code": "2118-8",
    "display": "Choriogonadotropin (pregnancy test) [Presence] in Serum or Plasma",
}
LOINC_PHQ = {
    "phq2": {"system": LOINC, "code": "55758-7", "display": "PHQ-2 total score"},
    "phq9": {"system": LOINC, "code": "44261-6", "display": "PHQ-9 total score"},
}
LOINC_PHQ9_ITEM9 = {
    "system": LOINC,
    "code": "44260-8",
}  # PHQ-9 item 9 (not in reference.md; LOINC panel 44249-1)
SNOMED_RESULT = {
    "positive": {"system": SNOMED, "code": "10828004", "display": "Positive"},
    "negative": {"system": SNOMED, "code": "260385009", "display": "Negative"},
}
LAB_DISPLAY = {
    "triglycerides": "Triglyceride [Mass/volume] in Serum or Plasma",
    "cholesterol": "Cholesterol [Mass/volume] in Serum or Plasma",
    "hdl": "HDL cholesterol",
    "ldl": "LDL cholesterol (calculated)",
    "alt": "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "ast": "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
}
UCUM_CODE = {"mg/dL": "mg/dL", "mmol/L": "mmol/L", "U/L": "U/L"}
# The course's phase (the engine's) as a CarePlan status: a course after its last dose stays active while its
# post-course steps remain; a course stopped by a positive pregnancy test is revoked.
CARE_PLAN_STATUS = {
    "qualifying": "draft",
    "active": "active",
    "post_course": "active",
    "completed": "completed",
    "stopped": "revoked",
}
MEDICATION_STATUS = {
    "draft": "draft",
    "active": "active",
    "completed": "completed",
    "revoked": "stopped",
    "entered-in-error": "entered-in-error",
}


def _ref(kind: str, key: Any, display: str | None = None) -> dict[str, Any]:
    reference = {"reference": f"{kind}/{key}"}
    if display:
        reference["display"] = display
    return reference


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": _number(value), "unit": unit}
    if unit in UCUM_CODE:
        quantity.update({"system": UCUM, "code": UCUM_CODE[unit]})
    return quantity


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def derived_id(course_uuid: uuid.UUID, *parts: object) -> str:
    """``<course UUID>-<16 hex digits>`` (53 characters, within FHIR's 64): the digest of the day and code."""
    digest = uuid.uuid5(DERIVED_ID_NAMESPACE, "|".join(str(p) for p in (course_uuid, *parts))).hex[:16]
    return f"{course_uuid}-{digest}"


def course_of_derived_id(resource_id: str) -> uuid.UUID | None:
    """The course a DetectedIssue's or Task's id names (None: not an id of that form)."""
    head, _, digest = resource_id.rpartition("-")
    if len(digest) != 16 or any(c not in "0123456789abcdef" for c in digest):
        return None
    try:
        return uuid.UUID(head) if len(head) == 36 else None
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------- records


def patient_resource(patient: Patient) -> FhirPatient:
    identifiers = [
        {
            "use": "usual",
            "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}], "text": "MRN"},
            "system": f"{MRN_SYSTEM}:{patient.practice.uuid}",
            "value": patient.mrn,
        }
    ]
    if patient.ipledge_id:
        identifiers.append({"system": IPLEDGE_ID_SYSTEM, "value": patient.ipledge_id})
    telecom = [{"system": "email", "value": patient.email}] if patient.email else []
    telecom += [{"system": "phone", "value": patient.phone}] if patient.phone else []
    return FhirPatient.model_validate(
        {
            "resourceType": "Patient",
            "id": str(patient.uuid),
            "identifier": identifiers,
            "name": [{"family": patient.family_name, "given": [patient.given_name]}],
            "birthDate": patient.birth_date.isoformat(),
            **({"telecom": telecom} if telecom else {}),
        }
    )


def care_plan_status(course: Course, evaluation: Evaluation | None) -> str:
    """From the engine's phase; a course entered in error (never evaluated) keeps that status, and one that
    closed before its first fill (the engine's COURSE_CLOSED) is revoked rather than a draft."""
    if evaluation is None:
        return "entered-in-error"
    if evaluation.phase == "qualifying" and any(
        b.code == "COURSE_CLOSED" for b in evaluation.dispense.blocking
    ):
        return "revoked"
    return CARE_PLAN_STATUS[evaluation.phase]


def care_plan(course: Course, evaluation: Evaluation | None) -> CarePlan:
    period = {"start": course.start.isoformat()}
    if course.end or course.planned_end:
        period["end"] = (course.end or course.planned_end).isoformat()  # type: ignore[union-attr]
    return CarePlan.model_validate(
        {
            "resourceType": "CarePlan",
            "id": str(course.uuid),
            "status": care_plan_status(course, evaluation),
            "intent": "plan",
            "title": "Isotretinoin course",
            "description": f"Isotretinoin course, target {target_of(course, course.patient.practice)} mg/kg "
            "(cumulative)",
            "subject": _ref("Patient", course.patient.uuid),
            "period": period,
            "author": {"display": course.prescriber.display_name},
            "addresses": [
                {
                    "display": f"{course.get_indication_display()} (ICD-10-CM {course.indication})",
                    "identifier": {"system": ICD10CM, "value": course.indication},
                }
            ],
            "activity": [
                {"reference": _ref("MedicationRequest", s.uuid)} for s in course.dose_segments.all()
            ],
        }
    )


def _segment_end(course: Course, segment: DoseSegment) -> date | None:
    later = [s.starts_on for s in course.dose_segments.all() if s.starts_on > segment.starts_on]
    return min(later) - timedelta(days=1) if later else course.end


def medication_request(course: Course, segment: DoseSegment) -> MedicationRequest:
    coding = [ISOTRETINOIN]
    if segment.product == "conventional" and segment.strength_mg in SCD_BY_STRENGTH:
        coding.append({"system": RXNORM, "code": SCD_BY_STRENGTH[segment.strength_mg]})
    bounds = {"start": segment.starts_on.isoformat()}
    end = _segment_end(course, segment)
    if end is not None and end >= segment.starts_on:
        bounds["end"] = end.isoformat()
    product = "micronized (Absorica LD)" if segment.product == "micronized" else "conventional"
    return MedicationRequest.model_validate(
        {
            "resourceType": "MedicationRequest",
            "id": str(segment.uuid),
            "status": MEDICATION_STATUS[course.status],
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": coding,
                "text": f"isotretinoin, {product}{', ' + segment.brand if segment.brand else ''}",
            },
            "subject": _ref("Patient", course.patient.uuid),
            "authoredOn": segment.recorded_at.isoformat(),
            "requester": {"display": course.prescriber.display_name},
            "basedOn": [_ref("CarePlan", course.uuid)],
            **({"note": [{"text": segment.reason}]} if segment.reason else {}),
            "dosageInstruction": [
                {
                    "text": f"{_number(segment.mg_per_day)} mg a day by mouth",
                    "timing": {
                        "repeat": {"boundsPeriod": bounds, "frequency": 1, "period": 1, "periodUnit": "d"}
                    },
                    "doseAndRate": [
                        {"doseQuantity": _quantity(segment.mg_per_day, "mg") | {"system": UCUM, "code": "mg"}}
                    ],
                }
            ],
        }
    )


def medication_dispense(course: Course, dispense: Dispense) -> MedicationDispense:
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": str(dispense.uuid),
        "status": "completed",
        "medicationCodeableConcept": {"coding": [ISOTRETINOIN], "text": "isotretinoin"},
        "subject": _ref("Patient", course.patient.uuid),
        "context": None,
        "whenHandedOver": dispense.date.isoformat(),
        "daysSupply": {"value": dispense.days_supply, "unit": "day", "system": UCUM, "code": "d"},
    }
    resource.pop("context")
    if dispense.quantity is not None:
        resource["quantity"] = {"value": dispense.quantity, "unit": "capsule"}
    if dispense.rma:
        resource["identifier"] = [{"system": RMA_SYSTEM, "value": dispense.rma}]
    if dispense.pharmacy:
        resource["performer"] = [{"actor": {"display": dispense.pharmacy}}]
    if dispense.mg_per_day is not None:
        resource["dosageInstruction"] = [{"text": f"{_number(dispense.mg_per_day)} mg a day"}]
    return MedicationDispense.model_validate(resource)


def _observation(record_id: Any, patient: Patient, **fields: Any) -> Observation:
    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "id": str(record_id),
            "status": "final",
            "subject": _ref("Patient", patient.uuid),
            **fields,
        }
    )


def weight_observation(weight: Weight) -> Observation:
    return _observation(
        weight.uuid,
        weight.patient,
        category=_category("vital-signs", "Vital Signs"),
        code={"coding": [LOINC_WEIGHT], "text": "Body weight"},
        effectiveDateTime=weight.effective_date.isoformat(),
        valueQuantity={"value": _number(weight.kg), "unit": "kg", "system": UCUM, "code": "kg"},
    )


def contraception_observation(item: Contraception) -> Observation:
    period = {"start": item.start.isoformat()}
    if item.end:
        period["end"] = item.end.isoformat()
    return _observation(
        item.uuid,
        item.patient,
        category=_category("social-history", "Social History"),
        code={
            "coding": [{"system": ISOTRACK_OBSERVATION_SYSTEM, "code": "contraception-method"}],
            "text": "Contraception method in use (IPL-CON-2)",
        },
        effectivePeriod=period,
        valueCodeableConcept={
            "coding": [
                {"system": CONTRACEPTION_SYSTEM, "code": item.method, "display": item.get_method_display()}
            ],
            "text": item.get_method_display(),
        },
    )


def pregnancy_test_observation(course: Course, test: PregnancyTest) -> Observation:
    code = LOINC_HCG_SERUM if test.setting == "lab" else LOINC_HCG_URINE
    return _observation(
        test.uuid,
        course.patient,
        category=_category("laboratory", "Laboratory"),
        code={
            "coding": [code],
            "text": f"Pregnancy test ({test.get_purpose_display()}, {test.get_setting_display()})",
        },
        effectiveDateTime=test.specimen_date.isoformat(),
        valueCodeableConcept={"coding": [SNOMED_RESULT[test.result]], "text": test.get_result_display()},
        focus=[_ref("CarePlan", course.uuid)],
        **({"note": [{"text": test.verification_note}]} if test.verification_note else {}),
    )


def lab_observation(course: Course, lab: LabResult) -> Observation:
    coding = (
        [{"system": LOINC, "code": lab.loinc, "display": LAB_DISPLAY.get(lab.test, lab.test)}]
        if lab.loinc
        else []
    )
    high = lab.reference_high if lab.reference_high is not None else lab.uln
    ranges = {}
    if lab.reference_low is not None:
        ranges["low"] = _quantity(lab.reference_low, lab.unit)
    if high is not None:
        ranges["high"] = _quantity(high, lab.unit)
    return _observation(
        lab.uuid,
        course.patient,
        category=_category("laboratory", "Laboratory"),
        code={"coding": coding, "text": lab.get_test_display()}
        if coding
        else {"text": lab.get_test_display()},
        effectiveDateTime=lab.effective_date.isoformat(),
        valueQuantity=_quantity(lab.value, lab.unit),
        focus=[_ref("CarePlan", course.uuid)],
        **({"referenceRange": [ranges]} if ranges else {}),
    )


def mood_observation(course: Course, screen: MoodScreen) -> Observation:
    components = []
    if screen.item9 is not None:
        components.append(
            {"code": {"coding": [LOINC_PHQ9_ITEM9], "text": "PHQ-9 item 9"}, "valueInteger": screen.item9}
        )
    return _observation(
        screen.uuid,
        course.patient,
        category=_category("survey", "Survey"),
        code={"coding": [LOINC_PHQ[screen.instrument]], "text": screen.get_instrument_display()},
        effectiveDateTime=screen.date.isoformat(),
        valueInteger=screen.score,
        focus=[_ref("CarePlan", course.uuid)],
        **({"component": components} if components else {}),
    )


# ------------------------------------------------------------------------------------- from the evaluation


def evaluation_resources(course: Course, plan: TherapyCalendar) -> list[Resource]:
    """From the therapy calendar and the evaluation it was read off, on its day: a DetectedIssue for every
    blocking reason and alert, a Task for every due item and for every follow-up step of a stopped course."""
    evaluation = plan.evaluation
    day = evaluation.as_of
    rule_set = evaluation.rule_set
    names = answers.acknowledgers(course.acknowledgments.all())
    found: list[Resource] = []
    for blocking in evaluation.dispense.blocking:
        found.append(
            _issue(
                course,
                day,
                BLOCKING_SYSTEM,
                blocking.code,
                SEVERITIES[blocking.weight],
                blocking.explanation,
                blocking.rule_id,
                rule_set,
            )
        )
    for finding in evaluation.findings:
        alert, acknowledgment = finding.alert, finding.acknowledgment
        issue = _issue(
            course,
            day,
            ALERT_SYSTEM,
            alert.code,
            SEVERITIES[finding.action.weight],  # the alert's own weight; an acknowledgment is a mitigation
            f"{alert.explanation} It asks the {finding.action.actor} for: {finding.action.asks_for}.",
            alert.rule_id,
            rule_set,
            mitigation=_mitigation(acknowledgment, answers.acknowledged_by(finding, names))
            if acknowledgment is not None
            else None,
        )
        found.append(issue)
    answering = {event.due_code: event for event in plan.events if event.due_code}
    for due in evaluation.due:
        text = due.code.replace("_", " ").lower()
        found.append(
            _task(
                course,
                day,
                ("due", due.code),
                {"coding": [{"system": DUE_SYSTEM, "code": due.code}], "text": text},
                f"{due.code} by {due.date.isoformat()} ({due.rule_id}; {rule_set.id})",
                due.date,
                answering.get(due.code),
            )
        )
    for event in answers.follow_up_events(plan.events):
        step = answers.FOLLOW_UP_EVENTS[event.kind]
        found.append(
            _task(
                course,
                day,
                ("follow-up", step),
                {"coding": [{"system": FOLLOW_UP_SYSTEM, "code": step}], "text": event.label},
                f"{event.label} ({event.rule_id}; after a positive pregnancy test, IPL-PT-POSITIVE)",
                None if event.status == "done" else event.latest,
                event,
            )
        )
    return found


def _task(
    course: Course,
    day: date,
    key: tuple[str, str],
    code: dict[str, Any],
    description: str,
    by: date | None,
    event: PlannedEvent | None,
) -> Task:
    """A Task: completed when the calendar's event that answers it is done, else requested."""
    done = event is not None and event.status == "done"
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": derived_id(course.uuid, day, *key),
        "status": "completed" if done else "requested",
        "intent": "plan",
        "code": code,
        "description": description,
        "for": _ref("Patient", course.patient.uuid),
        "focus": _ref("CarePlan", course.uuid),
        "authoredOn": day.isoformat(),
    }
    if by is not None:
        resource["restriction"] = {"period": {"end": by.isoformat()}}
    if done and event is not None and event.done_on is not None:
        resource["executionPeriod"] = {"end": event.done_on.isoformat()}
    return Task.model_validate(resource)


def _mitigation(acknowledgment: Acknowledgment, by: str | None) -> dict[str, Any]:
    """A prescriber's acknowledgment of an alert (ALERT-URGENCY), as a DetectedIssue's mitigation."""
    mitigation: dict[str, Any] = {
        "action": {
            "coding": [{"system": MITIGATION_SYSTEM, "code": "acknowledged"}],
            "text": "acknowledged" + (f": {acknowledgment.reason}" if acknowledgment.reason else ""),
        },
        "date": acknowledgment.date.isoformat(),
    }
    if by:
        mitigation["author"] = {"display": by}
    return mitigation


def _issue(
    course: Course,
    day: date,
    system: str,
    code: str,
    severity: str,
    explanation: str,
    rule_id: str,
    rule_set: RuleSet,
    *,
    mitigation: dict[str, Any] | None = None,
) -> DetectedIssue:
    return DetectedIssue.model_validate(
        {
            "resourceType": "DetectedIssue",
            "id": derived_id(course.uuid, day, system, code),
            "status": "final",
            "code": {"coding": [{"system": system, "code": code}], "text": code.replace("_", " ").lower()},
            "severity": severity,
            "patient": _ref("Patient", course.patient.uuid),
            "identifiedDateTime": day.isoformat(),
            "implicated": [_ref("CarePlan", course.uuid)],
            "detail": f"{explanation} Rule {rule_id}; rule set {rule_set.id} ({rule_set.title}).",
            "reference": f"urn:isotrack:rule:{rule_id}",
            **({"mitigation": [mitigation]} if mitigation else {}),
        }
    )


# ---------------------------------------------------------------------------------------------- a patient


def derived_resources(courses: Any, today: date) -> list[Resource]:
    """The DetectedIssues and Tasks of the given courses (a queryset) on the day: a read by id judges one."""
    found: list[Resource] = []
    for course in courses_with_facts(courses.select_related("patient", "prescriber")):
        if course.status != "entered-in-error":
            found += evaluation_resources(course, answers.plan(course, today))
    return found


def patient_resources(patient: Patient, today: date) -> list[Resource]:
    """Everything isotrack holds about one patient, as FHIR resources (for $everything and searches)."""
    found: list[Resource] = [patient_resource(patient)]
    found += [weight_observation(w) for w in patient.weights.all()]
    found += [contraception_observation(c) for c in patient.contraception.all()]
    courses = courses_with_facts(patient.courses.select_related("prescriber").order_by("start", "id"))
    for course in courses:
        plan = answers.plan(course, today) if course.status != "entered-in-error" else None
        found.append(care_plan(course, plan.evaluation if plan is not None else None))
        found += [medication_request(course, s) for s in course.dose_segments.all()]
        found += [medication_dispense(course, d) for d in course.dispenses.all()]
        found += [pregnancy_test_observation(course, t) for t in course.pregnancy_tests.all()]
        found += [lab_observation(course, lab) for lab in course.lab_results.all()]
        found += [mood_observation(course, m) for m in course.mood_screens.all()]
        if plan is not None:
            found += evaluation_resources(course, plan)
    return found
