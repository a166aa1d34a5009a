"""The CDS Hooks 2.0 service: `GET /cds-services` (discovery), `POST /cds-services/{id}` for the hooks
`patient-view` and `order-sign`, with cards for unmet iPLEDGE requirements and for alerts, and
`POST /cds-services/{id}/feedback` (what the user did with a card, kept in ``CdsFeedback``).

- The patient (``identify``) is named by `context.patientId` when it is isotrack's patient UUID (an EHR set
  up with isotrack's ids); any other value is the EHR's own id, never taken for an MRN (an EHR's id that
  spells another patient's MRN would show that patient's cards). And by the prefetched `patient` (a FHIR
  Patient), which must be the hook's patient (its `id` is `context.patientId`), by its id (isotrack's UUID)
  or its identifiers of isotrack's systems: this practice's MRN system (``urn:isotrack:mrn:<practice
  uuid>``) or the iPLEDGE id's. An identifier of any other system names no patient of ours (another
  assigning authority's number is another patient's). When the two name different patients (or the
  prefetched Patient names two, or is not known to be the hook's patient) isotrack does not guess: one
  warning card says the identifiers disagree, and nothing clinical (at order-sign of another medicine alone:
  that it was not checked against isotretinoin). At patient-view, a patient isotrack does not know (or of
  another practice), or with no course, gets no cards: nothing to say on opening a chart. At order-sign of
  isotretinoin, such a patient gets one info card saying that no iPLEDGE check was made.
- order-sign looks only at draft orders of isotretinoin, as the core recognises it (``core.products``: RxNorm
  ingredient or clinical drug, the ingredient's name or a brand name, in the order's concept or in its
  Medication, contained, among the draft orders or prefetched), and at draft orders of a medicine that
  interacts with it (issue 17), found the same ways: a tetracycline, a vitamin A supplement or an enzyme
  inducer of the core's table (``core.medications``, read through ``clinic.interactions.ordered_medicine``:
  an RxNorm ingredient code of the table, or a name of it among the words of the order's text, so that
  "Doxycycline 100 MG Oral Capsule" is doxycycline; a topical form is none). Any other order gets no card.
- Such a medicine gets a card when the engine would raise its alert were it taken from today
  (``clinic.interactions.order_interactions``: the course's facts with the ordered medicines in place of the
  recorded ones, judged by the core): a tetracycline (MED-TETRA) or vitamin A (MED-VITA) while the patient's
  course is qualifying or active, an enzyme inducer (MED-INDUCER) for a patient who can get pregnant with a
  hormonal method in use while contraception is required. The card is an "external reference" card of the
  alert's own weight (ALERT-URGENCY): critical for a tetracycline (contraindicated: pseudotumor cerebri; its
  alert holds the prescription), a warning for the others; its summary names the interaction, its detail
  what the engine would raise and the rule with its source. A patient isotrack does not know (or of another
  practice), or with no course, gets none, nor does a finished course (but an inducer's in the month after
  the last dose, while contraception is still required): an order of another drug alone says nothing about
  isotretinoin. Drafted with an isotretinoin order, the medicine's card comes with the isotretinoin order's
  cards, after the course's alerts of its weight. The reverse (isotretinoin ordered for a patient with a
  tetracycline recorded in isotrack) needs nothing more: the recorded medicine's open alert is the critical
  TETRACYCLINE_IN_USE card, and it withholds the prescription (the "no prescription" card).
- The cards say what the engine says (read through the clinic: ``api.answers``), most urgent first, each
  card's indicator the core's weight of what it shows (``core.weights``, mapped by ``INDICATORS``):
  a stopped course's follow-up steps not yet recorded (IPL-PT-POSITIVE) are critical cards; an open alert
  that calls for holding or stopping the drug is a critical card saying what it asks for (ALERT-URGENCY),
  another open alert a warning, an acknowledged one an info card naming who acknowledged it; every blocking
  reason of the next fill is a warning card naming the reason, the rule id and the rule set. At order-sign,
  when the core would propose no prescription today, a critical card gives its reasons; when nothing blocks
  and a prescription would be proposed, one info card says so.
- The cards take the card types of HL7's US Medication REMS guide (STU2, "CDS Hooks Card Profiles"): a card
  that rests on reference rules is an "external reference" card: its summary says what to do, its detail
  ends with each rule's source (``core.sources``: the reference's section, the sources it names, and whether
  the rule is a REMS requirement, labeling, evidence or a practice convention), and its ``links`` (type
  ``absolute``) lead to each rule's entry on isotrack's reference page and, for a step made on the iPLEDGE
  website (``IPLEDGE_WEBSITE_URL``), to that website. A card that rests on no rule (the patient's namings
  disagree) is an "instructions" card. ``source.label`` names the REMS program as the user knows it
  ("iPLEDGE REMS · isotrack"), ``source.url`` isotrack's reference page. Indicators stay clinical, as the
  guide asks: ``critical`` only for what calls for holding or stopping the drug.
- Authentication (``cds_jwt.cds_client_or_token``), for the discovery, the services and the feedback alike:
  the EHR's signed JWT, as CDS Hooks has it ("Trusting CDS Clients"), when the practice registered the EHR
  (`isotrack cds-client add`: its issuer, its key set, the staff account its calls act as; ``api.cds_jwt``
  checks the signature, sub, aud, the lifetime and the jti's replay); or, for an EHR not registered, the same
  per-user bearer token as the API (a simplification, see docs/api.md).
- CORS (``cors``): a browser client of an allowed origin (``settings.CDS_HOOKS_ALLOWED_ORIGINS``, none by
  default; a deployment may list the CDS Hooks sandbox) may call these URLs; a preflight needs no token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from isotrack.api import answers
from isotrack.api.cds_jwt import cds_client_or_token
from isotrack.api.fhir.resources import IPLEDGE_ID_SYSTEM, RXNORM
from isotrack.api.models import CdsFeedback
from isotrack.api.problems import problem, problem_response
from isotrack.clinic import inputs, interactions, looks, queries
from isotrack.clinic.access import patients_of, practice_id_of, practice_of
from isotrack.clinic.identifiers import mrn_systems, typed_as_mrn
from isotrack.clinic.interactions import Interaction, OrderedMedicine
from isotrack.clinic.judgments import (
    Evaluation,
    MedicationCoding,
    PlannedEvent,
    PrescriptionProposal,
    Recognised,
    recognise,
    rule,
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
# The REMS guide: the source's label names the REMS program the user knows; isotrack is who says it.
SOURCE_LABEL = "iPLEDGE REMS · isotrack"
SOURCE_TOPIC = {"system": "urn:isotrack:cds", "code": "ipledge"}
SERVICES = {
    "isotrack-patient-view": {
        "hook": "patient-view",
        "title": "isotrack: iPLEDGE status",
        "description": "Unmet iPLEDGE requirements for the next isotretinoin fill, and safety alerts.",
        "id": "isotrack-patient-view",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
    },
    "isotrack-order-sign": {
        "hook": "order-sign",
        "title": "isotrack: iPLEDGE check of an isotretinoin order, and of drugs that interact with it",
        "description": "Before an isotretinoin prescription is signed: can the pharmacy fill it today under "
        "iPLEDGE, and what stands in the way. Before a tetracycline, a vitamin A supplement or an enzyme "
        "inducer is signed for a patient on an isotretinoin course: the interaction (MED-TETRA, MED-VITA, "
        "MED-INDUCER).",
        "id": "isotrack-order-sign",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
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


# ------------------------------------------------------------------------------------------------------- CORS

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"  # seconds a browser may keep a preflight's answer


def cors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """CORS for a browser client of an allowed origin (``settings.CDS_HOOKS_ALLOWED_ORIGINS``: none by
    default; e.g. the CDS Hooks sandbox when a deployment lists it). A preflight ``OPTIONS`` is answered here
    with 204 and no token (a browser sends none with it): the methods and the headers the service reads are
    granted to an allowed origin only. Every other answer of the view (a 401 and the problems too, so that
    the client can show them) names an allowed origin in ``Access-Control-Allow-Origin``; another origin gets
    no grant, so its browser reads nothing. Credentials are never allowed: a script of another origin calls
    with a bearer token it sends, never with a session. A preflight is no look (``AccessLogMiddleware``)."""

    @wraps(view)
    def answered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        allowed = origin in settings.CDS_HOOKS_ALLOWED_ORIGINS  # exact origins, none empty
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Allow"] = CORS_METHODS
            if allowed:
                response["Access-Control-Allow-Methods"] = CORS_METHODS
                response["Access-Control-Allow-Headers"] = CORS_HEADERS
                response["Access-Control-Max-Age"] = CORS_MAX_AGE
        else:
            response = view(request, *args, **kwargs)
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
        patch_vary_headers(response, ["Origin"])
        return response

    return login_not_required(csrf_exempt(answered))


# -------------------------------------------------------------------------------------------------- services


@cors
@cds_client_or_token
@require_GET
def discovery(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"services": list(SERVICES.values())})


@cors
@cds_client_or_token
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
    drafts, prefetch = context.get("draftOrders"), body.get("prefetch")
    ordered = isotretinoin_order(drafts, prefetch) if signing else None
    others = other_medicines(drafts, prefetch) if signing else []
    if signing and ordered is None and not others:
        return JsonResponse({"cards": []})
    user: StaffUser = request.api_user  # type: ignore[attr-defined]
    links = Links(request.build_absolute_uri(reverse("reference")), settings.IPLEDGE_WEBSITE_URL)
    identified = identify(user, context.get("patientId"), prefetch)
    if identified.disagree:  # whose record would the cards show? Not a guess: a card saying so, nothing else
        return JsonResponse({"cards": [_disagreeing(ordered, links, signing=signing, others=others)]})
    patient = identified.patient
    if patient is not None:
        looks.saw(patient)  # a card shows the patient's course: a look (web.middleware.AccessLogMiddleware)
    course = current_course(patient) if patient is not None else None
    if course is None:  # nothing to say at a chart's opening; an isotretinoin order is never let pass unsaid
        unchecked = signing and ordered is not None
        return JsonResponse(
            {"cards": [_unchecked(ordered, links, known=patient is not None)] if unchecked else []}
        )
    today = practice_today(practice_of(user))
    interacting = [
        _interaction_card(interaction, links, with_isotretinoin=ordered is not None)
        for interaction in interactions.order_interactions(course, today, others)
    ]
    if signing and ordered is None:  # another medicine alone: only what it does with the course
        return JsonResponse({"cards": _in_order(interacting)})
    judged = judge(course, today)  # the prescription a visit today would propose
    found = cards(
        judged.evaluation,
        links,
        signing=signing,
        names=judged.acknowledged_by,
        follow_up=answers.follow_up_events(judged.calendar.events),
        proposal=judged.proposal if signing else None,
        interacting=interacting,
    )
    return JsonResponse({"cards": found})


# ------------------------------------------------------------------------------------------------ the patient


@dataclass(frozen=True)
class Identified:
    """Whom a hook is about: ``patient`` (None: isotrack does not know them), or ``disagree``: the hook's
    namings of the patient name different patients, and isotrack does not guess between them."""

    patient: Patient | None
    disagree: bool = False


def identify(user: StaffUser, patient_id: Any, prefetch: Any) -> Identified:
    """The practice's patient a hook is about: named by ``context.patientId`` (``_by_context``: isotrack's
    UUID only) and by the prefetched ``patient``, a FHIR Patient (``_claims``), which must agree.

    The prefetched Patient speaks only as the hook's patient: when ``context.patientId`` is given, the
    Patient's ``id`` must be it (what ``Patient/{{context.patientId}}`` fetches), else (no id, another id)
    the namings disagree, whatever its identifiers say. When the context names no patient of ours (the EHR's
    own id), the prefetched Patient alone may. Any other shape of the prefetch (none, null, not a Patient) is
    no naming. A context id that is not isotrack's UUID is never looked up, as an MRN or otherwise: an MRN
    names a patient only as an identifier of isotrack's MRN system."""
    context_id = _reference_id(patient_id)
    by_context = _by_context(user, context_id)
    resource = prefetch.get("patient") if isinstance(prefetch, dict) else None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        return Identified(by_context)
    if context_id is not None and not _same_id(_reference_id(resource.get("id")), context_id):
        return Identified(None, disagree=True)  # not known to be the hook's patient
    claims = _claims(user, resource)
    if claims is None:
        return Identified(None, disagree=True)
    if by_context is not None:
        agree = all(claim == by_context for claim in claims)
        return Identified(by_context) if agree else Identified(None, disagree=True)
    known = {claim for claim in claims if claim is not None}
    if not known:
        return Identified(None)
    if len(known) > 1 or None in claims:
        return Identified(None, disagree=True)
    return Identified(known.pop())


def _reference_id(value: Any) -> str | None:
    """An id as text: ``Patient/`` removed (some EHRs send ``context.patientId`` as the reference), None for
    none (blank, or not text: a FHIR id is a string)."""
    return (value.strip().removeprefix("Patient/").strip() or None) if isinstance(value, str) else None


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value is not None else None
    except ValueError:
        return None


def _same_id(resource_id: str | None, context_id: str) -> bool:
    """Whether the prefetched Patient's id is ``context.patientId``: the same text, or the same UUID however
    written (case, hyphens)."""
    if resource_id is None:
        return False
    if resource_id == context_id:
        return True
    as_uuid = _uuid(resource_id)
    return as_uuid is not None and as_uuid == _uuid(context_id)


def _by_context(user: StaffUser, context_id: str | None) -> Patient | None:
    """The practice's patient whose isotrack UUID ``context.patientId`` is. Any other id is the EHR's own and
    names no one (an EHR's patient id may well spell one of our MRNs: it is not that patient)."""
    key = _uuid(context_id)
    return patients_of(user).filter(uuid=key).first() if key is not None else None


def _claims(user: StaffUser, resource: dict[str, Any]) -> list[Patient | None] | None:
    """What the Patient resource says of the patient in isotrack's terms, each a claim:

    - its ``id`` when it is one of the practice's patients' UUIDs (an EHR's own id may be a UUID too: one that
      is not ours says nothing);
    - its identifier of this practice's MRN system (``urn:isotrack:mrn:<practice uuid>``, as isotrack's FHIR
      Patient gives it): that patient or, no such MRN, None;
    - its iPLEDGE id when a patient has it (one not recorded in isotrack says nothing).

    An identifier of any other system is no claim: another assigning authority's number is another patient's.
    None when the resource holds two MRNs or two iPLEDGE ids: a patient has one."""
    mine = patients_of(user)
    claims: list[Patient | None] = []
    key = _uuid(_reference_id(resource.get("id")))
    if key is not None and (found := mine.filter(uuid=key).first()) is not None:
        claims.append(found)
    ours = mrn_systems(practice_of(user))
    mrns: set[str] = set()
    ipledge_ids: set[str] = set()
    for identifier in _list(resource.get("identifier")):
        if not isinstance(identifier, dict):
            continue
        value = (_code(identifier.get("value")) or "").strip()
        system = identifier.get("system")
        if value and isinstance(system, str) and system in ours and typed_as_mrn(identifier):
            mrns.add(value)
        elif value and identifier.get("system") == IPLEDGE_ID_SYSTEM:
            ipledge_ids.add(value)
    if len(mrns) > 1 or len(ipledge_ids) > 1:
        return None
    if mrns:
        claims.append(mine.filter(mrn=mrns.pop()).first())
    if ipledge_ids and (found := mine.filter(ipledge_id=ipledge_ids.pop()).first()) is not None:
        claims.append(found)
    return claims


# ----------------------------------------------------------------------------------------------- feedback

FEEDBACK_MAX = 100  # entries in one request
SUGGESTIONS_MAX = 20  # accepted suggestions in one entry
OUTCOMES = {CdsFeedback.Outcome.ACCEPTED.value, CdsFeedback.Outcome.OVERRIDDEN.value}


@cors
@cds_client_or_token
@require_POST
def feedback(request: HttpRequest, service_id: str) -> HttpResponse:
    """``POST /cds-services/{id}/feedback`` (CDS Hooks 2.0 Feedback): what the user did with isotrack's cards,
    each entry a row of ``CdsFeedback`` for the caller's practice, naming the token's owner, all in one
    transaction, or none when any entry is refused (400, the entry and the field named). Answers ``{}``.

    The rows are the EHR's report: isotrack keeps no cards, so it cannot check that it gave the card named.
    Written once (``CdsFeedback`` refuses changes), and once only: an entry the same user already reported
    (the same card, outcome and moment: an EHR's retry, or an entry repeated) is not kept again; the first
    report stands."""
    if service_id not in SERVICES:
        return _problem(404, "not_found", "No such CDS service.")
    received_at = queries.now()  # the clinic's clock
    try:
        body = inputs.parse_json(request.body, "The request body")
        rows = [
            _feedback_row(entry, f"feedback[{n}]", received_at)
            for n, entry in enumerate(_feedback_entries(body))
        ]
    except inputs.BadInput as error:
        return _problem(400, "bad_request", f"{error.message}.")
    user: StaffUser = request.api_user  # type: ignore[attr-defined]
    with transaction.atomic():
        CdsFeedback.objects.bulk_create(
            (
                CdsFeedback(
                    practice_id=practice_id_of(user),
                    actor=user,
                    service=service_id,
                    received_at=received_at,
                    **row,
                )
                for row in rows
            ),
            ignore_conflicts=True,  # the unique constraint "cds_feedback_once": reported already
        )
    return JsonResponse({})


def _feedback_entries(body: Any) -> list[Any]:
    entries = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        raise inputs.BadInput(
            "A feedback request is an object whose feedback is an array of one or more entries"
        )
    if len(entries) > FEEDBACK_MAX:
        raise inputs.BadInput(f"At most {FEEDBACK_MAX} feedback entries in one request")
    return entries


def _feedback_row(entry: Any, where: str, now: datetime) -> dict[str, Any]:
    """One Feedback entry as the fields of its ``CdsFeedback``; ``BadInput`` naming the field otherwise."""
    if not isinstance(entry, dict):
        raise inputs.BadInput(f"{where}: a Feedback object")
    try:
        card = uuid.UUID(entry["card"]) if isinstance(entry.get("card"), str) else None
    except ValueError:
        card = None
    if card is None:
        raise inputs.BadInput(f"{where}.card: the uuid of the card, as isotrack gave it")
    outcome = entry.get("outcome")
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise inputs.BadInput(f"{where}.outcome: accepted or overridden")
    accepted = entry.get("acceptedSuggestions")
    if outcome == "accepted":
        if not isinstance(accepted, list) or not 1 <= len(accepted) <= SUGGESTIONS_MAX:
            raise inputs.BadInput(
                f"{where}.acceptedSuggestions: an accepted outcome names 1 to {SUGGESTIONS_MAX} suggestions"
            )
        suggestions = [
            _bounded(_dict(s).get("id"), f"{where}.acceptedSuggestions[{n}].id", 100, required=True)
            for n, s in enumerate(accepted)
        ]
    elif accepted is not None:
        raise inputs.BadInput(f"{where}.acceptedSuggestions: only with an accepted outcome")
    else:
        suggestions = []
    reason = entry.get("overrideReason")
    if reason is not None and (outcome != "overridden" or not isinstance(reason, dict)):
        raise inputs.BadInput(f"{where}.overrideReason: an object, with an overridden outcome only")
    reason = _dict(reason)
    coding = reason.get("reason")
    if coding is not None and not isinstance(coding, dict):
        raise inputs.BadInput(f"{where}.overrideReason.reason: a Coding object")
    coded = f"{where}.overrideReason.reason"
    given = coding is not None  # CDS Hooks: the reason's Coding has its code and its system
    return {
        "card": card,
        "outcome": outcome,
        "accepted_suggestions": suggestions,
        "reason_code": _bounded(_dict(coding).get("code"), f"{coded}.code", 64, required=given),
        "reason_system": _bounded(_dict(coding).get("system"), f"{coded}.system", 255, required=given),
        "reason_display": _bounded(_dict(coding).get("display"), f"{coded}.display", 255),
        "comment": _bounded(reason.get("userComment"), f"{where}.overrideReason.userComment", 1000),
        "outcome_at": _timestamp(entry.get("outcomeTimestamp"), f"{where}.outcomeTimestamp", now),
    }


def _bounded(value: Any, where: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        kind = "required, non-empty text" if required else "text"
        raise inputs.BadInput(f"{where}: {kind} of at most {limit} characters")
    return value


OUTCOME_SINCE = 2000  # the first year of an outcome's moment: before it, no EHR ran isotrack's cards
OUTCOME_AHEAD = timedelta(days=1)  # how far ahead of isotrack's clock an EHR's may run


def _timestamp(value: Any, where: str, now: datetime) -> datetime:
    """An ISO 8601 date and time (a day alone is not one); one without an offset is in UTC (CDS Hooks: the
    time in UTC). From ``OUTCOME_SINCE`` to ``OUTCOME_AHEAD`` after ``now``: the years 1 and 9999 are no
    moment a user acted on a card (and overflow once turned to UTC)."""
    try:
        moment = parse_datetime(value) if isinstance(value, str) and len(value.strip()) > 10 else None
    except ValueError:  # well formed, but no such day or time
        moment = None
    if moment is None:
        raise inputs.BadInput(f"{where}: an ISO 8601 date and time, e.g. 2026-12-11T09:30:00Z")
    if not timezone.is_aware(moment):
        moment = moment.replace(tzinfo=UTC)
    # The year first, as written: out of these years, turning the moment to UTC may overflow.
    if not OUTCOME_SINCE <= moment.year <= now.year + 1 or moment.astimezone(UTC) > now + OUTCOME_AHEAD:
        raise inputs.BadInput(
            f"{where}: a moment from {OUTCOME_SINCE} on, and at most a day from now "
            f"({now.astimezone(UTC):%Y-%m-%dT%H:%MZ})"
        )
    return moment


def isotretinoin_order(draft_orders: Any, prefetch: Any) -> Recognised | None:
    """The first draft MedicationRequest that is isotretinoin, as the core recognises it (RxNorm code,
    ingredient or brand name: ``core.products``) in its ``medicationCodeableConcept``, or in the Medication
    its ``medicationReference`` points to: contained in the order, another entry of the draft orders, or
    prefetched (a Medication or a Bundle holding it); the Medication's ingredients count too."""
    for concepts in _draft_orders(draft_orders, prefetch):
        for codings, texts in concepts:
            found = recognise(codings, texts)
            if found is not None:
                return found
    return None


def other_medicines(draft_orders: Any, prefetch: Any) -> list[OrderedMedicine]:
    """The draft MedicationRequests of another medicine of a class the engine judges (a tetracycline, vitamin
    A, an enzyme inducer: ``interactions.ordered_medicine``, of all the order's concepts together), found as
    isotretinoin orders are (its concept, its Medication contained, among the draft orders or prefetched); an
    isotretinoin order is none of them."""
    found: list[OrderedMedicine] = []
    for concepts in _draft_orders(draft_orders, prefetch):
        if any(recognise(codings, texts) is not None for codings, texts in concepts):
            continue
        codings = [coding for found_codings, _ in concepts for coding in found_codings]
        medicine = interactions.ordered_medicine(codings, [text for _, texts in concepts for text in texts])
        if medicine is not None:
            found.append(medicine)
    return found


Concept = tuple[list[MedicationCoding], list[str | None]]


def _draft_orders(draft_orders: Any, prefetch: Any) -> list[list[Concept]]:
    """Each draft MedicationRequest's medication as its concepts (``_medication_concepts``), each concept as
    its codings and its text."""
    if not isinstance(draft_orders, dict):
        return []
    resources: list[dict[str, Any]] = [
        entry["resource"]
        for entry in _list(draft_orders.get("entry"))
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]
    prefetched = list(prefetch.values()) if isinstance(prefetch, dict) else []
    medications = _medications([draft_orders, *prefetched])
    orders: list[list[Concept]] = []
    for order in resources:
        if order.get("resourceType") != "MedicationRequest":
            continue
        concepts: list[Concept] = []
        for concept in _medication_concepts(order, medications):
            codings = [
                MedicationCoding(_rxnorm(c.get("system")), _code(c.get("code")), _text(c.get("display")))
                for c in _list(concept.get("coding"))
                if isinstance(c, dict)
            ]
            concepts.append((codings, [_text(concept.get("text"))]))
        orders.append(concepts)
    return orders


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


def _unchecked(ordered: Recognised | None, links: Links, *, known: bool) -> dict[str, Any]:
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
            f"This is {what} for a patient isotrack does not know (matched by isotrack's patient id, or by "
            "the prefetched Patient's identifier of isotrack's MRN system for your practice or its iPLEDGE "
            "id; the EHR's own patient id is not one of isotrack's). Check iPLEDGE itself, or register the "
            "patient and the course in isotrack."
        )
    card = _card(summary, "settled", detail, links)
    card["links"] = links.confirming(None)  # check iPLEDGE itself
    card.pop("weight")
    return card


def _disagreeing(
    ordered: Recognised | None, links: Links, *, signing: bool, others: list[OrderedMedicine] | None = None
) -> dict[str, Any]:
    """The card of a hook whose namings of the patient disagree (``identify``): a warning, naming no one."""
    if (
        signing and ordered is None
    ):  # another medicine alone (a tetracycline...): is the patient on isotretinoin?
        summary = "isotrack cannot tell which patient this is: the order was not checked against isotretinoin"
        outcome = (
            f"so it did not check this order ({_named(others or [])}) against an isotretinoin course: check "
            "whether the patient takes isotretinoin"
        )
    elif signing:
        what = f"an isotretinoin order ({ordered.by})" if ordered is not None else "an isotretinoin order"
        summary = "isotrack cannot tell which patient this is: no iPLEDGE check was made"
        outcome = f"so it made no iPLEDGE check of this, {what}: check iPLEDGE itself"
    else:
        summary = "isotrack cannot tell which patient this is: the patient's identifiers disagree"
        outcome = "so it shows nothing of either patient's iPLEDGE status"
    detail = (
        "The hook's patient (`context.patientId`) and the prefetched Patient (its id, its MRN of isotrack's "
        "system for your practice, its iPLEDGE id) name different patients in isotrack, or the prefetched "
        "Patient is not known to be the hook's patient (its id is not `context.patientId`, or it has none). "
        f"isotrack does not guess between them, {outcome}. Correct the patient's identifiers in the EHR or "
        "in isotrack."
    )
    card = _card(summary, "review", detail, links)
    card.pop("weight")
    return card


# Each interaction of an ordered medicine (reference.md section 3), by the alert the engine would raise: what
# the medicine is, the card's summary (the interaction, what to do), and the advice of its detail.
INTERACTION_WORDS: dict[str, tuple[str, str, str]] = {
    "TETRACYCLINE_IN_USE": (
        "a tetracycline",
        "{names} with isotretinoin: risk of pseudotumor cerebri; do not combine them",
        "Tetracyclines with isotretinoin can raise the pressure inside the skull (pseudotumor cerebri): "
        "they are contraindicated together. Do not sign the tetracycline as it stands: choose another "
        "treatment, or hold isotretinoin while the tetracycline is needed, and ask about headache and "
        "vision.",
    ),
    "VITAMIN_A_IN_USE": (
        "a vitamin A supplement",
        "{names} with isotretinoin: their vitamin A toxicity adds up; avoid the supplement",
        "Vitamin A supplements add to isotretinoin's toxicity: avoid the supplement during the course.",
    ),
    "HORMONAL_METHOD_WEAKENED": (
        "an enzyme inducer",
        "{names} can weaken the hormonal contraception iPLEDGE counts on: counsel the patient",
        "An enzyme inducer can make hormonal contraception less effective, and the patient can get "
        "pregnant and takes isotretinoin: counsel the patient and prefer a non-hormonal primary method "
        "while it lasts.",
    ),
}
# The course's phase (core.PHASES) in the words of an interaction card: the phases the engine judges them in.
PHASE_WORDS = {
    "qualifying": "about to start (qualifying for its first fill)",
    "active": "running",
    "post_course": "past its last dose, in the month when contraception is still required",
}


def _named(medicines: list[OrderedMedicine]) -> str:
    """The ordered medicines as the orders name them, each with what named it when that says more."""
    named = [m.name if m.by == m.name else f"{m.name} ({m.by})" for m in medicines]
    return ", ".join(dict.fromkeys(named)) or "another medicine"


def _interaction_card(interaction: Interaction, links: Links, *, with_isotretinoin: bool) -> dict[str, Any]:
    """The card of another medicine drafted for a patient on an isotretinoin course: what the engine would
    raise were it taken from today (``interactions.order_interactions``; MED-TETRA, MED-VITA, MED-INDUCER), of
    the alert's own weight (ALERT-URGENCY: critical for a tetracycline, which calls for stopping a drug)."""
    finding = interaction.finding
    alert, action = finding.alert, finding.action
    kind, summary, advice = INTERACTION_WORDS.get(
        alert.code, ("a medicine", "{names} with isotretinoin: " + action.asks_for, "")
    )
    names = " and ".join(dict.fromkeys(m.name for m in interaction.medicines))
    phase = PHASE_WORDS.get(interaction.phase, interaction.phase.replace("_", " "))
    also = ", and isotretinoin is ordered in the same signing" if with_isotretinoin else ""
    holds = (
        " While that alert is open and not acknowledged by a prescriber, isotrack proposes no isotretinoin "
        "prescription."
        if action.holds_drug
        else ""
    )
    detail = (
        f"This order is of {_named(list(interaction.medicines))}, {kind}, for a patient whose isotretinoin "
        f"course is {phase} in isotrack{also}. {advice}\n\nWere it taken from today, the engine would raise "
        f"{action.label}: {alert.explanation}\n\nIt asks the {action.actor} for: {action.asks_for}.{holds}"
        f"\n\nRule **{alert.rule_id}** (`{alert.code}`), evaluated {alert.date.isoformat()}."
    )
    summary = summary.format(names=names)
    return _card(summary[:1].upper() + summary[1:], action.weight, detail, links, (alert.rule_id,))


@dataclass(frozen=True)
class Links:
    """Where a card's reader can learn more, as absolute URLs (the REMS guide's "external reference" card:
    ``Link.type`` absolute): isotrack's reference page (each rule's words, kind and sources, by its id as
    the anchor; login required, as every page), and the iPLEDGE REMS website where the steps are made."""

    reference: str
    ipledge: str

    def source(self) -> dict[str, Any]:
        return {"label": SOURCE_LABEL, "url": self.reference, "topic": SOURCE_TOPIC}

    def of(self, rule_ids: tuple[str, ...]) -> list[dict[str, str]]:
        found: list[dict[str, str]] = []
        for rule_id in dict.fromkeys(rule_ids):
            known = rule(rule_id)
            if known is None:
                continue
            found.append(
                {
                    "label": f"Rule {rule_id} and its sources",
                    "url": f"{self.reference}#{rule_id}",
                    "type": "absolute",
                }
            )
            if known.done_in_ipledge and not any(link["url"] == self.ipledge for link in found):
                found.append({"label": "The iPLEDGE REMS website", "url": self.ipledge, "type": "absolute"})
        return found

    def confirming(self, rule_set_id: str | None) -> list[dict[str, str]]:
        """Where to confirm what isotrack could not say or says is met: iPLEDGE itself, and the rule set that
        was applied (if one was)."""
        found = [{"label": "The iPLEDGE REMS website", "url": self.ipledge, "type": "absolute"}]
        if rule_set_id is not None:
            found.append(
                {
                    "label": f"Rule set {rule_set_id} and its sources",
                    "url": f"{self.reference}#{rule_set_id}",
                    "type": "absolute",
                }
            )
        return found


def _sources(rule_ids: tuple[str, ...]) -> str:
    """The rules' sources, one line each, for a card's detail."""
    lines = [
        f"Source of {rule_id}: {known.source}."
        for rule_id in dict.fromkeys(rule_ids)
        if (known := rule(rule_id))
    ]
    return "\n\n".join(lines)


def _card(
    summary: str, weight: str, detail: str, links: Links, rule_ids: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A card of the core's ``weight`` (``core.weights``), shown as its indicator; the weight orders the
    cards and is dropped once they are in order. A card that rests on reference rules is the REMS guide's
    "external reference" card: a link to each rule's entry (and to the iPLEDGE website for a step made
    there), the rules' sources at the end of the detail; one that rests on none is an "instructions" card."""
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1] + "…"
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": INDICATORS[weight],
        "weight": weight,
        "detail": detail,
        "source": links.source(),
    }
    found = links.of(rule_ids)
    if found:
        card["links"] = found
        card["detail"] = f"{detail}\n\n{_sources(rule_ids)}"
    return card


def cards(
    evaluation: Evaluation,
    links: Links,
    *,
    signing: bool,
    names: dict[tuple[str, date], str] | None = None,
    follow_up: list[PlannedEvent] | None = None,
    proposal: PrescriptionProposal | None = None,
    interacting: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The cards of the engine's answer on the evaluation's day (module docstring), the most urgent first.
    ``follow_up``: the calendar's follow-up events of a stopped course; ``proposal``: the core's prescription
    proposal for today (order-sign); ``interacting``: the cards of other medicines drafted with the
    isotretinoin order (``_interaction_card``), after the course's alerts of each weight."""
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
        found.append(
            _card(
                f"Positive pregnancy test: {event.label}",
                event.weight,
                detail,
                links,
                (event.rule_id, "IPL-PT-POSITIVE"),
            )
        )
    window = evaluation.dispense.window
    for blocking in evaluation.dispense.blocking:
        why = BLOCKING_SUMMARY.get(blocking.code, blocking.code.replace("_", " ").lower())
        if blocking.code == "WINDOW_EXPIRED" and window is not None:
            why = f"the fill window closed on {window.closes.isoformat()}"
        detail = f"{blocking.explanation}\n\nRule **{blocking.rule_id}** (`{blocking.code}`); {rules}."
        if window is not None:
            detail += f" Window: {window.opens.isoformat()} to {window.closes.isoformat()}."
        found.append(
            _card(
                f"iPLEDGE: cannot be filled today: {why}", blocking.weight, detail, links, (blocking.rule_id,)
            )
        )
    for finding in evaluation.findings:
        found.append(_finding_card(finding, answers.acknowledged_by(finding, names or {}), rules, links))
    found += interacting or []  # after the course's own alerts, before what they mean for the prescription
    if signing and proposal is not None and proposal.prescription is None:
        reasons = "\n".join(f"- {reason}" for reason in proposal.reasons)
        found.append(
            _card(
                "isotrack proposes no isotretinoin prescription today",
                proposal.weight,
                f"The engine would not propose this prescription today:\n\n{reasons}\n\n{rules}.",
                links,
            )
        )
    elif signing and not evaluation.dispense.blocking:
        closes = f"; the window closes {window.closes.isoformat()}" if window else ""
        met = _card(
            f"iPLEDGE requirements recorded in isotrack are met today{closes}",
            evaluation.dispense.weight,
            f"Confirm in iPLEDGE itself; isotrack is the practice's ledger. {rules}.",
            links,
        )
        met["links"] = links.confirming(rule_set.id)
        found.append(met)
    return _in_order(found)


def _in_order(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards by their weight, most pressing first (a stable sort: each weight's cards as they came), the
    weight dropped."""
    order = list(INDICATORS)
    found.sort(key=lambda card: order.index(card.pop("weight")))
    return found


def _finding_card(finding: Any, acknowledged_by: str | None, rules: str, links: Links) -> dict[str, Any]:
    """An alert (ALERT-URGENCY): critical while open when it calls for holding or stopping the drug, a
    warning while another is open, info once acknowledged."""
    alert, action, acknowledgment = finding.alert, finding.action, finding.acknowledgment
    source = f"Rule **{alert.rule_id}** (`{alert.code}`); {rules}."
    asks = f"It asks the {action.actor} for: {action.asks_for}."
    if acknowledgment is None:
        detail = f"{alert.explanation}\n\n{asks}\n\n{source}"
        return _card(f"{action.label}: {action.asks_for}", finding.weight, detail, links, (alert.rule_id,))
    who = f" by {acknowledged_by}" if acknowledged_by else ""
    why = f": {acknowledgment.reason}" if acknowledgment.reason else ""
    detail = (
        f"{alert.explanation}\n\nAcknowledged{who} on {acknowledgment.date.isoformat()}{why}.\n\n{source}"
    )
    summary = f"{action.label} acknowledged{who} on {acknowledgment.date.isoformat()}"
    return _card(summary, finding.weight, detail, links, (alert.rule_id,))
