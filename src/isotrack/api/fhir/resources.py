"""isotrack's records as FHIR R4 resources, built with and validated by `fhir.resources.R4B` (the FHIR R4B
models of fhir.resources 8.3.0; R4B is R4 with a few additions; every resource served here is R4-shaped).

Codes: reference.md section 4 (RxNorm, LOINC, SNOMED CT, ICD-10-CM). What that table has no code for
(contraception methods, the classes of other medicines, iPLEDGE blocking reasons, due items) uses isotrack's
own systems, `urn:isotrack:*`.
Resource ids are the records' UUIDs (a Practitioner's: the staff member's); the resources computed from an
evaluation (DetectedIssue, Task) get an id made of the course's UUID and a digest of the day and the code
(``derived_id``), so the same finding keeps its id during the day, and a read by id finds its course at once
(``course_of_derived_id``); a course's indication (a Condition) gets one the same way, from the course alone.

US Core 6.1 where it fits: ``meta.profile`` names a US Core profile only on a resource that has that
profile's mandatory elements (``PROFILES``; a MedicationRequest only with its clinical drug's RxNorm code and
a requester that is a US Core Practitioner, a Practitioner only with a family name (its identifier is always
there: isotrack's staff identifier, and the NPI when known), a lab Observation only with a LOINC code).
Every resource carries a generated narrative that says nothing the resource does not (``_narrative``,
escaped). The course's indication is a Condition (an encounter diagnosis: the prescriber's at enrollment) that
the CarePlan addresses and the MedicationRequests give as their reason; the course's prescriber is a
Practitioner (with the NPI when known).

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
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.html import escape
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.task import Task

from isotrack.api import answers
from isotrack.clinic.dose_planning import segment_capsules
from isotrack.clinic.identifiers import IPLEDGE_ID_SYSTEM, MRN_SYSTEM
from isotrack.clinic.judgments import (
    Acknowledgment,
    Evaluation,
    PlannedEvent,
    RuleSet,
    TherapyCalendar,
    clinical_drug,
)
from isotrack.clinic.models import (
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    LabResult,
    MoodScreen,
    OtherMedication,
    Patient,
    PregnancyTest,
    ReportSource,
    StaffUser,
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
RMA_SYSTEM = "urn:isotrack:ipledge-rma"
CONTRACEPTION_SYSTEM = "urn:isotrack:contraception-method"
MEDICATION_CLASS_SYSTEM = "urn:isotrack:medication-class"  # tetracycline, vitamin_a, enzyme_inducer, other
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
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
STAFF_SYSTEM = "urn:isotrack:staff"  # the staff member's UUID: every Practitioner has it, the NPI beside
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CARE_PLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
XHTML = "http://www.w3.org/1999/xhtml"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
US_CORE_VERSION = "6.1.0"
# The US Core 6.1 profiles isotrack's resources claim, each only where the resource has what it requires (the
# functions below say when). No claim: contraception (isotrack's own codes), mood screens, dispenses (the
# ingredient code only), DetectedIssue, Task and MedicationStatement (US Core 6.1 has no profile for them).
PROFILES = {
    "Patient": f"{US_CORE}/us-core-patient|{US_CORE_VERSION}",
    "Practitioner": f"{US_CORE}/us-core-practitioner|{US_CORE_VERSION}",
    "Condition": f"{US_CORE}/us-core-condition-encounter-diagnosis|{US_CORE_VERSION}",
    "CarePlan": f"{US_CORE}/us-core-careplan|{US_CORE_VERSION}",
    "MedicationRequest": f"{US_CORE}/us-core-medicationrequest|{US_CORE_VERSION}",
    "lab": f"{US_CORE}/us-core-observation-lab|{US_CORE_VERSION}",
    "body-weight": f"{US_CORE}/us-core-body-weight|{US_CORE_VERSION}",
}

ISOTRETINOIN = {"system": RXNORM, "code": "6064", "display": "isotretinoin"}  # RxNorm ingredient
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


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


def _narrative(*lines: str) -> dict[str, Any]:
    """A generated narrative: each line a paragraph, escaped; only what the resource itself holds."""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _meta(*profiles: str) -> dict[str, Any]:
    return {"meta": {"profile": list(profiles)}} if profiles else {}


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
    """US Core Patient: an identifier (the MRN), a name and the administrative gender, which is the patient's
    own field and never the iPLEDGE category."""
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
            **_meta(PROFILES["Patient"]),
            "text": _narrative(
                patient.full_name,
                f"Gender: {patient.get_gender_display().lower()}; born {patient.birth_date.isoformat()}",
                f"MRN {patient.mrn}",
            ),
            "identifier": identifiers,
            "name": [{"family": patient.family_name, "given": [patient.given_name]}],
            "gender": patient.gender,
            "birthDate": patient.birth_date.isoformat(),
            **({"telecom": telecom} if telecom else {}),
        }
    )


def us_core_practitioner(member: StaffUser) -> bool:
    """Whether a member's Practitioner has what US Core 6.1 Practitioner requires: an identifier (always:
    isotrack's staff identifier, and the NPI when known) and a name with a family name."""
    return bool(member.last_name.strip())


def practitioner_resource(member: StaffUser) -> Practitioner:
    """A prescriber: isotrack's staff identifier (``urn:isotrack:staff``, the member's UUID) and the NPI
    (``us-npi``) when known, the name and credentials. US Core Practitioner asks for an identifier and a
    family name: claimed whenever the family name is known (``us_core_practitioner``)."""
    name: dict[str, Any] = {"text": member.display_name}
    if member.last_name.strip():
        name["family"] = member.last_name.strip()
    if member.first_name:
        name["given"] = [member.first_name]
    if member.credentials:
        name["suffix"] = [member.credentials]
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(member.uuid),
        **(_meta(PROFILES["Practitioner"]) if us_core_practitioner(member) else {}),
        "text": _narrative(member.display_name, f"NPI {member.npi}" if member.npi else ""),
        "identifier": [
            *([{"system": NPI_SYSTEM, "value": member.npi}] if member.npi else []),
            {"system": STAFF_SYSTEM, "value": str(member.uuid)},
        ],
        "active": member.is_active,
        "name": [name],
    }
    return Practitioner.model_validate(resource)


def _prescriber_ref(course: Course) -> dict[str, Any]:
    return _ref("Practitioner", course.prescriber.uuid, course.prescriber.display_name)


def indication_id(course: Course) -> str:
    """The id of a course's indication (a Condition): derived from the course, so a read finds the course."""
    return derived_id(course.uuid, "indication")


def indication_condition(course: Course) -> Condition:
    """The indication the prescriber recorded when opening the course (ICD-10-CM), as a US Core encounter
    diagnosis. Active while the course is qualifying or under way; isotrack records no outcome of the acne, so
    a finished course's condition has no clinical status rather than a guessed one. A course entered in error
    makes its indication one too (and then no clinical status, as FHIR requires)."""
    label = course.get_indication_display()
    in_error = course.status == "entered-in-error"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": indication_id(course),
        **_meta(PROFILES["Condition"]),
        "text": _narrative(
            f"{label} (ICD-10-CM {course.indication})",
            f"The indication of the isotretinoin course from {course.start.isoformat()}, diagnosed by "
            f"{course.prescriber.display_name}",
        ),
        "verificationStatus": _concept(
            CONDITION_VERIFICATION, "entered-in-error" if in_error else "confirmed"
        ),
        "category": [_concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
        "code": {"coding": [{"system": ICD10CM, "code": course.indication, "display": label}], "text": label},
        "subject": _ref("Patient", course.patient.uuid),
        "recordedDate": course.created_at.isoformat(),
        "asserter": _prescriber_ref(course),
    }
    if course.status in ("draft", "active"):
        resource["clinicalStatus"] = _concept(CONDITION_CLINICAL, "active")
    return Condition.model_validate(resource)


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
    """US Core CarePlan (assess-plan): the course, addressing its indication."""
    period = {"start": course.start.isoformat()}
    if course.end or course.planned_end:
        period["end"] = (course.end or course.planned_end).isoformat()  # type: ignore[union-attr]
    status = care_plan_status(course, evaluation)
    description = (
        f"Isotretinoin course, target {target_of(course, course.patient.practice)} mg/kg (cumulative)"
    )
    label = f"{course.get_indication_display()} (ICD-10-CM {course.indication})"
    return CarePlan.model_validate(
        {
            "resourceType": "CarePlan",
            "id": str(course.uuid),
            **_meta(PROFILES["CarePlan"]),
            "text": _narrative(
                f"{description}; {status}",
                f"From {period['start']}" + (f" to {period['end']}" if "end" in period else ""),
                f"For {label}; prescriber {course.prescriber.display_name}",
            ),
            "status": status,
            "intent": "plan",
            "category": [_concept(CARE_PLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment")],
            "title": "Isotretinoin course",
            "description": description,
            "subject": _ref("Patient", course.patient.uuid),
            "period": period,
            "author": _prescriber_ref(course),
            "addresses": [_ref("Condition", indication_id(course), label)],
            "activity": [
                {"reference": _ref("MedicationRequest", s.uuid)} for s in course.dose_segments.all()
            ],
        }
    )


def _segment_end(course: Course, segment: DoseSegment) -> date | None:
    later = [s.starts_on for s in course.dose_segments.all() if s.starts_on > segment.starts_on]
    return min(later) - timedelta(days=1) if later else course.end


def authored_on(course: Course, segment: DoseSegment) -> date:
    """The day the dose was prescribed. isotrack keeps no prescribing date apart from the row: a dose entered
    ahead of its start (only a prescriber enters one) was prescribed that day, the day of entry where the
    practice is; a dose entered on or after its start (a backdated record, an import, a correction) was
    prescribed by its start at the latest, and that day is the only honest one. So: the earlier of the two,
    never after the dosing starts. A date (FHIR's dateTime takes one)."""
    entered = timezone.localtime(segment.recorded_at, ZoneInfo(course.patient.practice.time_zone)).date()
    return min(entered, segment.starts_on)


def _capsule_words(course: Course, segment: DoseSegment) -> str:
    """The capsules of a dose in its stated strength, as the core plans them (the plan the course page shows):
    `` (3 × 20 mg capsules)``; "" without a stated strength or when the dose is no whole number of it."""
    if not segment.strength_mg:
        return ""
    plan = segment_capsules(segment, course.prescriber)
    if plan is None or not plan.possible:
        return ""
    counts = ", ".join(f"{count} × {strength} mg" for strength, count in plan.capsules_per_day.items())
    return f" ({counts} capsules)"


def medication_request(course: Course, segment: DoseSegment) -> MedicationRequest:
    """US Core MedicationRequest when the capsule strength is known: its RxNorm clinical drug (the profile's
    medication codes) beside the ingredient, and its requester a US Core Practitioner (a family name; the
    identifier is always there). Without either, no claim; without the strength, the ingredient alone."""
    coding = [ISOTRETINOIN]
    scd = clinical_drug(segment.strength_mg, segment.product)  # type: ignore[arg-type]
    if scd is not None:
        coding.append(
            {"system": RXNORM, "code": scd, "display": f"isotretinoin {segment.strength_mg} MG Oral Capsule"}
        )
    bounds = {"start": segment.starts_on.isoformat()}
    end = _segment_end(course, segment)
    if end is not None and end >= segment.starts_on:
        bounds["end"] = end.isoformat()
    product = "micronized (Absorica LD)" if segment.product == "micronized" else "conventional"
    strength = f", {segment.strength_mg} mg capsules" if segment.strength_mg else ""
    medication = f"isotretinoin, {product}{', ' + segment.brand if segment.brand else ''}{strength}"
    dose = f"{_number(segment.mg_per_day)} mg a day by mouth{_capsule_words(course, segment)}"
    written = authored_on(course, segment)
    return MedicationRequest.model_validate(
        {
            "resourceType": "MedicationRequest",
            "id": str(segment.uuid),
            **(
                _meta(PROFILES["MedicationRequest"])
                if scd is not None and us_core_practitioner(course.prescriber)
                else {}
            ),
            "text": _narrative(
                medication,
                f"{dose} from {segment.starts_on.isoformat()}"
                + (f" to {bounds['end']}" if "end" in bounds else ""),
                f"Prescribed {written.isoformat()} by {course.prescriber.display_name}",
                f"Reason for the dose: {_dose_reason(segment)}" if _dose_reason(segment) else "",
            ),
            "status": MEDICATION_STATUS[course.status],
            "intent": "order",
            "medicationCodeableConcept": {"coding": coding, "text": medication},
            "subject": _ref("Patient", course.patient.uuid),
            "authoredOn": written.isoformat(),
            "requester": _prescriber_ref(course),
            "reasonReference": [_ref("Condition", indication_id(course))],
            "basedOn": [_ref("CarePlan", course.uuid)],
            **({"note": [{"text": _dose_reason(segment)}]} if _dose_reason(segment) else {}),
            "dosageInstruction": [
                {
                    "text": dose,
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
    supply = f"{dispense.days_supply} days" + (
        f", {dispense.quantity} capsules" if dispense.quantity is not None else ""
    )
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": str(dispense.uuid),
        "text": _narrative(
            f"Isotretinoin picked up {dispense.date.isoformat()}: {supply}",
            f"Pharmacy: {dispense.pharmacy}" if dispense.pharmacy else "",
            f"iPLEDGE RMA {dispense.rma}" if dispense.rma else "",
        ),
        "status": "completed",
        "medicationCodeableConcept": {"coding": [ISOTRETINOIN], "text": "isotretinoin"},
        "subject": _ref("Patient", course.patient.uuid),
        "whenHandedOver": dispense.date.isoformat(),
        "daysSupply": {"value": dispense.days_supply, "unit": "day", "system": UCUM, "code": "d"},
    }
    if dispense.quantity is not None:
        resource["quantity"] = {"value": dispense.quantity, "unit": "capsule"}
    if dispense.rma:
        resource["identifier"] = [{"system": RMA_SYSTEM, "value": dispense.rma}]
    if dispense.pharmacy:
        resource["performer"] = [{"actor": {"display": dispense.pharmacy}}]
    if dispense.mg_per_day is not None:
        resource["dosageInstruction"] = [{"text": f"{_number(dispense.mg_per_day)} mg a day"}]
    return MedicationDispense.model_validate(resource)


def _observation(
    record_id: Any, patient: Patient, *lines: str, profile: str = "", **fields: Any
) -> Observation:
    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "id": str(record_id),
            **(_meta(profile) if profile else {}),
            "text": _narrative(*lines),
            "status": "final",
            "subject": _ref("Patient", patient.uuid),
            **fields,
        }
    )


def _based_on(course: Course) -> list[dict[str, Any]]:
    """What an Observation of the course was done for: the course's CarePlan (Observation.basedOn)."""
    return [_ref("CarePlan", course.uuid)]


def weight_observation(weight: Weight) -> Observation:
    """US Core Body Weight: LOINC 29463-7 in kg (UCUM)."""
    return _observation(
        weight.uuid,
        weight.patient,
        f"Body weight {_number(weight.kg)} kg on {weight.effective_date.isoformat()}",
        profile=PROFILES["body-weight"],
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
        f"Contraception: {item.get_method_display()}, from {period['start']}"
        + (f" to {period['end']}" if "end" in period else ""),
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


def medication_statement(item: OtherMedication, today: date) -> MedicationStatement:
    """Another medicine or supplement the patient takes (MED-TETRA, MED-VITA, MED-INDUCER): its RxNorm
    ingredient when known and its name as text; ``effectivePeriod`` the days taken; active through its last
    day, completed after it (``today``: the practice's). isotrack's class of the medicine is the category, in
    isotrack's own system (R4's category has an example binding only)."""
    period = {"start": item.start.isoformat()}
    if item.end is not None:
        period["end"] = item.end.isoformat()
    status = "completed" if item.end is not None and item.end < today else "active"
    label = item.get_medication_class_display()
    medication: dict[str, Any] = {"text": item.name}
    if item.rxnorm:
        medication["coding"] = [{"system": RXNORM, "code": item.rxnorm}]
    return MedicationStatement.model_validate(
        {
            "resourceType": "MedicationStatement",
            "id": str(item.uuid),
            "text": _narrative(
                f"{item.name} ({label}): {status}",
                f"Taken from {period['start']}" + (f" to {period['end']}" if "end" in period else ""),
                f"RxNorm {item.rxnorm}" if item.rxnorm else "",
            ),
            "status": status,
            "category": {
                "coding": [
                    {"system": MEDICATION_CLASS_SYSTEM, "code": item.medication_class, "display": label}
                ],
                "text": label,
            },
            "medicationCodeableConcept": medication,
            "subject": _ref("Patient", item.patient.uuid),
            "effectivePeriod": period,
            "dateAsserted": item.recorded_at.isoformat(),
            # Who the fact came from: the patient (a confirmed check-in answer, or a statement sent so).
            **(
                {"informationSource": _ref("Patient", item.patient.uuid)}
                if item.source == ReportSource.PATIENT
                else {}
            ),
        }
    )


def pregnancy_test_observation(course: Course, test: PregnancyTest) -> Observation:
    """A pregnancy test (hCG, LOINC): a US Core lab Observation, done for the course."""
    code = LOINC_HCG_SERUM if test.setting == "lab" else LOINC_HCG_URINE
    text = f"Pregnancy test ({test.get_purpose_display()}, {test.get_setting_display()})"
    return _observation(
        test.uuid,
        course.patient,
        f"{text}: {test.get_result_display().lower()}, specimen of {test.specimen_date.isoformat()}",
        f"Verification: {test.verification_note}" if test.verification_note else "",
        profile=PROFILES["lab"],
        category=_category("laboratory", "Laboratory"),
        code={"coding": [code], "text": text},
        effectiveDateTime=test.specimen_date.isoformat(),
        valueCodeableConcept={"coding": [SNOMED_RESULT[test.result]], "text": test.get_result_display()},
        basedOn=_based_on(course),
        **({"note": [{"text": test.verification_note}]} if test.verification_note else {}),
    )


def lab_observation(course: Course, lab: LabResult) -> Observation:
    """A lab result: a US Core lab Observation when it has its LOINC code (a test of isotrack's list)."""
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
        f"{lab.get_test_display()}: {_number(lab.value)} {lab.unit} on {lab.effective_date.isoformat()}",
        profile=PROFILES["lab"] if coding else "",
        category=_category("laboratory", "Laboratory"),
        code={"coding": coding, "text": lab.get_test_display()}
        if coding
        else {"text": lab.get_test_display()},
        effectiveDateTime=lab.effective_date.isoformat(),
        valueQuantity=_quantity(lab.value, lab.unit),
        basedOn=_based_on(course),
        **({"referenceRange": [ranges]} if ranges else {}),
    )


def mood_observation(course: Course, screen: MoodScreen) -> Observation:
    extra: dict[str, Any] = {}
    if screen.item9 is not None:
        item9 = {"code": {"coding": [LOINC_PHQ9_ITEM9], "text": "PHQ-9 item 9"}, "valueInteger": screen.item9}
        extra["component"] = [item9]
    return _observation(
        screen.uuid,
        course.patient,
        f"{screen.get_instrument_display()} total score {screen.score} on {screen.date.isoformat()}",
        f"Item 9: {screen.item9}" if screen.item9 is not None else "",
        category=_category("survey", "Survey"),
        code={"coding": [LOINC_PHQ[screen.instrument]], "text": screen.get_instrument_display()},
        effectiveDateTime=screen.date.isoformat(),
        valueInteger=screen.score,
        basedOn=_based_on(course),
        **extra,
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
    status = "completed" if done else "requested"
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": derived_id(course.uuid, day, *key),
        "text": _narrative(f"{code['text'].capitalize()}: {status}", description),
        "status": status,
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
    text = code.replace("_", " ").lower()
    detail = f"{explanation} Rule {rule_id}; rule set {rule_set.id} ({rule_set.title})."
    acknowledged = mitigation["action"]["text"] if mitigation else ""
    return DetectedIssue.model_validate(
        {
            "resourceType": "DetectedIssue",
            "id": derived_id(course.uuid, day, system, code),
            "text": _narrative(
                f"{text.capitalize()} ({severity} severity), {day.isoformat()}", detail, acknowledged
            ),
            "status": "final",
            "code": {"coding": [{"system": system, "code": code}], "text": text},
            "severity": severity,
            "patient": _ref("Patient", course.patient.uuid),
            "identifiedDateTime": day.isoformat(),
            "implicated": [_ref("CarePlan", course.uuid)],
            "detail": detail,
            "reference": f"urn:isotrack:rule:{rule_id}",
            **({"mitigation": [mitigation]} if mitigation else {}),
        }
    )


# ---------------------------------------------------------------------------------------------- a patient


def derived_resources(courses: Any, today: date, kind: str = "") -> list[Resource]:
    """What the given courses (a queryset) make besides their records, for a read by id that names the course:
    their indications (Conditions) and, on the day, their DetectedIssues and Tasks (judged only when ``kind``
    is one of those)."""
    found: list[Resource] = []
    for course in courses_with_facts(courses.select_related("prescriber")):
        found.append(indication_condition(course))
        if course.status != "entered-in-error" and kind in ("", "DetectedIssue", "Task"):
            found += evaluation_resources(course, answers.plan(course, today))
    return found


def patient_resources(patient: Patient, today: date) -> list[Resource]:
    """Everything isotrack holds about one patient, as FHIR resources (for $everything and searches): the
    patient, the prescribers of the patient's courses, the patient's own records (weights, contraception,
    other medicines), then each course with its indication, its records and what the engine finds."""
    found: list[Resource] = [patient_resource(patient)]
    courses = courses_with_facts(patient.courses.select_related("prescriber").order_by("start", "id"))
    prescribers = {course.prescriber.pk: course.prescriber for course in courses}
    found += [practitioner_resource(member) for member in prescribers.values()]
    found += [weight_observation(w) for w in patient.weights.all()]
    found += [contraception_observation(c) for c in patient.contraception.all()]
    found += [medication_statement(m, today) for m in patient.other_medications.all()]
    for course in courses:
        plan = answers.plan(course, today) if course.status != "entered-in-error" else None
        found.append(care_plan(course, plan.evaluation if plan is not None else None))
        found.append(indication_condition(course))
        found += [medication_request(course, s) for s in course.dose_segments.all()]
        found += [medication_dispense(course, d) for d in course.dispenses.all()]
        found += [pregnancy_test_observation(course, t) for t in course.pregnancy_tests.all()]
        found += [lab_observation(course, lab) for lab in course.lab_results.all()]
        found += [mood_observation(course, m) for m in course.mood_screens.all()]
        if plan is not None:
            found += evaluation_resources(course, plan)
    return found


def _dose_reason(segment: DoseSegment) -> str:
    """Why the dose changed, in words: the prescriber's coded reason, then their note ("" for neither)."""
    words = segment.get_change_reason_display() if segment.change_reason else ""
    return "; ".join(part for part in (words, segment.reason) if part)
