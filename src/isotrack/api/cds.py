"""The CDS Hooks 2.0 service: `GET /cds-services` (discovery) and `POST /cds-services/{id}` for the hooks
`patient-view` and `order-sign`, with cards for unmet iPLEDGE requirements and for alerts.

- The patient is `context.patientId`: isotrack's patient UUID (the EHR maps its own id), or else the
  patient's MRN in the caller's practice. At patient-view, a patient isotrack does not know (or of another
  practice), or with no course, gets no cards: nothing to say on opening a chart. At order-sign of
  isotretinoin, such a patient gets one info card saying that no iPLEDGE check was made.
- order-sign looks only at draft orders of isotretinoin, as the core recognises it (``core.products``: RxNorm
  ingredient or clinical drug, the ingredient's name or a brand name, in the order's concept or in its
  Medication, contained, among the draft orders or prefetched).
- The cards say what the engine says (read through the clinic: ``api.answers``), most urgent first, each
  card's indicator the core's weight of what it shows (``core.weights``, mapped by ``INDICATORS``):
  a stopped course's follow-up steps not yet recorded (IPL-PT-POSITIVE) are critical cards; an open alert
  that calls for holding or stopping the drug is a critical card saying what it asks for (ALERT-URGENCY),
  another open alert a warning, an acknowledged one an info card naming who acknowledged it; every blocking
  reason of the next fill is a warning card naming the reason, the rule id and the rule set. At order-sign,
  when the core would propose no prescription today, a critical card gives its reasons; when nothing blocks
  and a prescription would be proposed, one info card says so.
- Authentication: the same per-user bearer token as the API. (CDS Hooks normally has the EHR sign a JWT; a
  per-user token is a simplification, see docs/api.md.)
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from isotrack.api import answers
from isotrack.api.auth import token_or_session
from isotrack.api.fhir.resources import RXNORM
from isotrack.api.problems import problem, problem_response
from isotrack.clinic import inputs, looks
from isotrack.clinic.access import patients_of, practice_of
from isotrack.clinic.judgments import (
    Evaluation,
    MedicationCoding,
    PlannedEvent,
    PrescriptionProposal,
    Recognised,
    recognise,
)
from isotrack.clinic.models import Patient, StaffUser
from isotrack.clinic.queries import current_course, judge, practice_today

SUMMARY_MAX = 140  # CDS Hooks: a card's summary is under 140 characters
# The core's weights of what a card shows (core.weights, most pressing first: the cards' order) in the words
# of CDS Hooks' card indicator.
INDICATORS: dict[str, str] = {
    "act_now": "critical",
    "blocks_fill": "warning",
    "review": "warning",
    "settled": "info",
}
SOURCE = {"label": "isotrack", "topic": {"system": "urn:isotrack:cds", "code": "ipledge"}}
SERVICES = {
    "isotrack-patient-view": {
        "hook": "patient-view",
        "title": "isotrack: iPLEDGE status",
        "description": "Unmet iPLEDGE requirements for the next isotretinoin fill, and safety alerts.",
        "id": "isotrack-patient-view",
        "prefetch": {},
    },
    "isotrack-order-sign": {
        "hook": "order-sign",
        "title": "isotrack: iPLEDGE check of an isotretinoin order",
        "description": "Before an isotretinoin prescription is signed: can the pharmacy fill it today under "
        "iPLEDGE, and what stands in the way.",
        "id": "isotrack-order-sign",
        "prefetch": {},
    },
}
# A short phrase per blocking reason, for the card's summary (the detail gives the full explanation).
BLOCKING_SUMMARY = {
    "COURSE_CLOSED": "the course is closed",
    "NOT_ENROLLED": "the patient is not enrolled in iPLEDGE",
    "PREGNANCY_TEST_POSITIVE": "a pregnancy test was positive",
    "PREGNANCY_TEST_MISSING": "no qualifying negative pregnancy test",
    "WINDOW_EXPIRED": "the 7-day fill window has expired",
    "PREGNANCY_TEST_SETTING": "the pregnancy test's setting does not qualify",
    "SCREENING_TEST_MISSING": "no screening pregnancy test",
    "CONFIRMATION_TOO_EARLY": "confirmation test under 19 days after screening",
    "CONTRACEPTION_INSUFFICIENT": "two contraception methods (or abstinence) not documented",
    "CONTRACEPTION_LEAD_IN": "contraception not documented for 30 days before the test",
    "LOCKOUT_19_DAY": "the 19-day lockout after a missed first window",
    "PRESCRIBER_CONFIRMATION_MISSING": "the prescriber has not confirmed in iPLEDGE",
    "PATIENT_ATTESTATION_MISSING": "the patient has not answered the iPLEDGE questions",
    "COUNSELING_MISSING": "this month's counseling is not documented",
}


def _problem(status: int, code: str, detail: str) -> HttpResponse:
    return problem_response(problem(status, code, detail))


@token_or_session
@require_GET
def discovery(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"services": list(SERVICES.values())})


@token_or_session
@require_POST
def call_service(request: HttpRequest, service_id: str) -> HttpResponse:
    service = SERVICES.get(service_id)
    if service is None:
        return _problem(404, "not_found", "No such CDS service.")
    try:
        body = inputs.parse_json(request.body, "The request body")
    except inputs.BadInput as error:
        return _problem(400, "bad_request", f"{error.message}.")
    if not isinstance(body, dict) or not isinstance(body.get("context"), dict):
        return _problem(400, "bad_request", "A CDS Hooks request has a context object.")
    if body.get("hook") != service["hook"]:
        return _problem(400, "bad_request", f"This service answers the {service['hook']} hook.")
    context = body["context"]
    signing = service["hook"] == "order-sign"
    ordered = isotretinoin_order(context.get("draftOrders"), body.get("prefetch")) if signing else None
    if signing and ordered is None:
        return JsonResponse({"cards": []})
    user: StaffUser = request.api_user  # type: ignore[attr-defined]
    patient = _patient(user, context.get("patientId"))
    course = current_course(patient) if patient is not None else None
    if course is None:  # nothing to say at a chart's opening; an isotretinoin order is never let pass unsaid
        return JsonResponse({"cards": [_unchecked(ordered, known=patient is not None)] if signing else []})
    judged = judge(course, practice_today(practice_of(user)))  # the prescription a visit today would propose
    found = cards(
        judged.evaluation,
        signing=signing,
        names=judged.acknowledged_by,
        follow_up=answers.follow_up_events(judged.calendar.events),
        proposal=judged.proposal if signing else None,
    )
    return JsonResponse({"cards": found})


def _patient(user: StaffUser, patient_id: Any) -> Patient | None:
    if not isinstance(patient_id, str) or not patient_id.strip():
        return None
    value = patient_id.strip().removeprefix("Patient/")
    patients = patients_of(user)
    try:
        found = patients.filter(uuid=uuid.UUID(value)).first()
    except ValueError:
        found = patients.filter(mrn=value).first()
    if found is not None:
        looks.saw(found)  # a card shows the patient's course: a look (web.middleware.AccessLogMiddleware)
    return found


def isotretinoin_order(draft_orders: Any, prefetch: Any) -> Recognised | None:
    """The first draft MedicationRequest that is isotretinoin, as the core recognises it (RxNorm code,
    ingredient or brand name: ``core.products``) in its ``medicationCodeableConcept``, or in the Medication
    its ``medicationReference`` points to: contained in the order, another entry of the draft orders, or
    prefetched (a Medication or a Bundle holding it); the Medication's ingredients count too."""
    if not isinstance(draft_orders, dict):
        return None
    resources: list[dict[str, Any]] = [
        entry["resource"]
        for entry in _list(draft_orders.get("entry"))
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]
    prefetched = list(prefetch.values()) if isinstance(prefetch, dict) else []
    medications = _medications([draft_orders, *prefetched])
    for order in resources:
        if order.get("resourceType") != "MedicationRequest":
            continue
        for concept in _medication_concepts(order, medications):
            codings = [
                MedicationCoding(_rxnorm(c.get("system")), _code(c.get("code")), _text(c.get("display")))
                for c in _list(concept.get("coding"))
                if isinstance(c, dict)
            ]
            found = recognise(codings, [_text(concept.get("text"))])
            if found is not None:
                return found
    return None


def _list(value: Any) -> list[Any]:
    """A JSON array as it should be, or nothing: an EHR's odd shape never turns into a 500 (and no check)."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _code(value: Any) -> str | None:
    """A code as text: some EHRs send RxNorm's digits as a JSON number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else _text(value)


RXNORM_OID = "urn:oid:2.16.840.1.113883.6.88"  # RxNorm's OID, used by some EHRs in place of its URL


def _rxnorm(system: Any) -> str | None:
    return RXNORM if system == RXNORM_OID else _text(system)


def _medications(resources: list[Any]) -> dict[str, dict[str, Any]]:
    """The Medication resources among these (Bundles opened), by ``Medication/<id>``, by full URL and by the
    full URL's ``Medication/<id>`` ending."""
    found: dict[str, dict[str, Any]] = {}
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "Bundle":
            for entry in _list(resource.get("entry")):
                if not (isinstance(entry, dict) and isinstance(entry.get("resource"), dict)):
                    continue
                medication, full_url = entry["resource"], entry.get("fullUrl")
                if medication.get("resourceType") == "Medication" and isinstance(full_url, str):
                    found[full_url] = medication
                    found["/".join(full_url.split("/")[-2:])] = medication
                found |= _medications([medication])
        elif resource.get("resourceType") == "Medication" and isinstance(resource.get("id"), str):
            found[f"Medication/{resource['id']}"] = resource
    return found


def _medication_concepts(
    order: dict[str, Any], medications: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The order's medication as concepts: its CodeableConcept (R4 ``medicationCodeableConcept``, R5
    ``medication.concept``), or the referenced Medication's code and ingredients (and the displays)."""
    r5 = _dict(order.get("medication"))
    concepts = [order.get("medicationCodeableConcept"), r5.get("concept")]
    for reference in (order.get("medicationReference"), r5.get("reference")):
        if not isinstance(reference, dict):
            continue
        concepts.append({"text": reference.get("display")})
        target = reference.get("reference")
        medication = None
        if isinstance(target, str) and target.startswith("#"):
            contained = [c for c in _list(order.get("contained")) if isinstance(c, dict)]
            medication = next((c for c in contained if c.get("id") == target[1:]), None)
        elif isinstance(target, str):
            target = target.split("/_history/")[0]
            medication = medications.get(target) or medications.get("/".join(target.split("/")[-2:]))
        if medication is not None and medication.get("resourceType") == "Medication":
            concepts.append(medication.get("code"))
            for ingredient in _list(medication.get("ingredient")):
                if not isinstance(ingredient, dict):
                    continue
                item = _dict(ingredient.get("item"))
                concepts += [ingredient.get("itemCodeableConcept"), item.get("concept")]
                for named in (ingredient.get("itemReference"), item.get("reference")):
                    if isinstance(named, dict):
                        concepts.append({"text": named.get("display")})
    return [concept for concept in concepts if isinstance(concept, dict)]


def _unchecked(ordered: Recognised | None, *, known: bool) -> dict[str, Any]:
    """The card of an isotretinoin order isotrack could not check: a patient it does not know (or of another
    practice: the same words), or one with no isotretinoin course."""
    what = f"an isotretinoin order ({ordered.by})" if ordered is not None else "an isotretinoin order"
    if known:
        summary = "isotrack has no isotretinoin course for this patient: no iPLEDGE check was made"
        detail = (
            f"This is {what}, and isotrack holds no isotretinoin course for the patient. Start the course in "
            "isotrack (and enroll the patient in iPLEDGE) so that each fill is checked."
        )
    else:
        summary = "isotrack does not know this patient: no iPLEDGE check was made"
        detail = (
            f"This is {what} for a patient isotrack does not know (matched by isotrack's patient id or the "
            "MRN in your practice). Check iPLEDGE itself, or register the patient and the course in isotrack."
        )
    card = _card(summary, "settled", detail)
    card.pop("weight")
    return card


def _card(summary: str, weight: str, detail: str) -> dict[str, Any]:
    """A card of the core's ``weight`` (``core.weights``), shown as its indicator; the weight orders the
    cards and is dropped once they are in order."""
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1] + "…"
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": INDICATORS[weight],
        "weight": weight,
        "detail": detail,
        "source": SOURCE,
    }


def cards(
    evaluation: Evaluation,
    *,
    signing: bool,
    names: dict[tuple[str, date], str] | None = None,
    follow_up: list[PlannedEvent] | None = None,
    proposal: PrescriptionProposal | None = None,
) -> list[dict[str, Any]]:
    """The cards of the engine's answer on the evaluation's day (module docstring), the most urgent first.
    ``follow_up``: the calendar's follow-up events of a stopped course; ``proposal``: the core's prescription
    proposal for today (order-sign)."""
    rule_set = evaluation.rule_set
    rules = f"rule set **{rule_set.id}** ({rule_set.title}), evaluated {evaluation.as_of.isoformat()}"
    found = []
    for event in follow_up or []:
        if event.status == "done" or event.weight is None:  # recorded (a follow-up step always has a weight)
            continue
        detail = (
            f"After the positive pregnancy test: **{event.label}**. Not recorded as done in isotrack "
            f"(due {event.latest.isoformat()}); record it when done.\n\nRule **{event.rule_id}** "
            f"(IPL-PT-POSITIVE); {rules}."
        )
        found.append(_card(f"Positive pregnancy test: {event.label}", event.weight, detail))
    window = evaluation.dispense.window
    for blocking in evaluation.dispense.blocking:
        why = BLOCKING_SUMMARY.get(blocking.code, blocking.code.replace("_", " ").lower())
        if blocking.code == "WINDOW_EXPIRED" and window is not None:
            why = f"the fill window closed on {window.closes.isoformat()}"
        detail = f"{blocking.explanation}\n\nRule **{blocking.rule_id}** (`{blocking.code}`); {rules}."
        if window is not None:
            detail += f" Window: {window.opens.isoformat()} to {window.closes.isoformat()}."
        found.append(_card(f"iPLEDGE: cannot be filled today: {why}", blocking.weight, detail))
    for finding in evaluation.findings:
        found.append(_finding_card(finding, answers.acknowledged_by(finding, names or {}), rules))
    if signing and proposal is not None and proposal.prescription is None:
        reasons = "\n".join(f"- {reason}" for reason in proposal.reasons)
        found.append(
            _card(
                "isotrack proposes no isotretinoin prescription today",
                proposal.weight,
                f"The engine would not propose this prescription today:\n\n{reasons}\n\n{rules}.",
            )
        )
    elif signing and not evaluation.dispense.blocking:
        closes = f"; the window closes {window.closes.isoformat()}" if window else ""
        found.append(
            _card(
                f"iPLEDGE requirements recorded in isotrack are met today{closes}",
                evaluation.dispense.weight,
                f"Confirm in iPLEDGE itself; isotrack is the practice's ledger. {rules}.",
            )
        )
    order = list(INDICATORS)
    found.sort(key=lambda card: order.index(card.pop("weight")))
    return found


def _finding_card(finding: Any, acknowledged_by: str | None, rules: str) -> dict[str, Any]:
    """An alert (ALERT-URGENCY): critical while open when it calls for holding or stopping the drug, a
    warning while another is open, info once acknowledged."""
    alert, action, acknowledgment = finding.alert, finding.action, finding.acknowledgment
    source = f"Rule **{alert.rule_id}** (`{alert.code}`); {rules}."
    asks = f"It asks the {action.actor} for: {action.asks_for}."
    if acknowledgment is None:
        detail = f"{alert.explanation}\n\n{asks}\n\n{source}"
        return _card(f"{action.label}: {action.asks_for}", finding.weight, detail)
    who = f" by {acknowledged_by}" if acknowledged_by else ""
    why = f": {acknowledgment.reason}" if acknowledgment.reason else ""
    detail = (
        f"{alert.explanation}\n\nAcknowledged{who} on {acknowledgment.date.isoformat()}{why}.\n\n{source}"
    )
    summary = f"{action.label} acknowledged{who} on {acknowledgment.date.isoformat()}"
    return _card(summary, finding.weight, detail)
