"""Pages. Each view parses, checks access, calls one action or query, renders. No clinical logic here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from isotrack.audit.events import VOIDS_AND_CORRECTIONS
from isotrack.clinic import judgments, queries, submissions
from isotrack.clinic.access import (
    Capability,
    StaffRequest,
    access_medication,
    access_patient,
    can,
    practice_of,
    require,
)
from isotrack.clinic.actions import corrections
from isotrack.clinic.actions.patients import (
    end_medication,
    record_medication,
    record_weight,
    register_patient,
    set_patient_category,
    update_patient_contact,
)
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Patient, Practice
from isotrack.web.forms import (
    CategoryForm,
    ContactForm,
    MedicationEndForm,
    MedicationForm,
    PatientForm,
    WeightForm,
)

View = Callable[..., HttpResponse]


def write_view(capability: Capability) -> Callable[[View], View]:
    """Marks a page that changes records; the role check comes before anything else is read."""

    def wrap(view: View) -> View:
        @wraps(view)
        @require_http_methods(["GET", "POST"])
        def checked(request: StaffRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require(request.user, capability)
            return view(request, *args, **kwargs)

        checked.writes = capability  # type: ignore[attr-defined]
        return checked

    return wrap


SUBMISSION_FIELD = "submission_key"  # every form's one-time key (web/form_errors.html renders it)
ALREADY_SAVED = "This form was already saved: nothing was saved twice."


def save_once(
    request: StaffRequest,
    save: Callable[[], HttpResponse],
    replay: Callable[[], HttpResponse] | None = None,
) -> HttpResponse:
    """The write of a valid form, at most once per form key (``clinic.submissions``), then post-redirect-get.
    A repeat (the back button then Save, a reload, a double click, two tabs) saves nothing and goes to the
    first one's page; ``replay`` answers a repeat of a page that showed a secret once (it is not kept)."""
    key = request.POST.get(SUBMISSION_FIELD) or submissions.new_key()
    answered: list[HttpResponse] = []

    def write() -> tuple[int, str]:
        response = save()
        answered.append(response)
        return (302, response["Location"]) if response.status_code == 302 else (200, "")

    done = submissions.once(request.user, key, write)
    if not done.replayed:
        return answered[0]
    messages.info(request, ALREADY_SAVED)
    if done.result:
        return redirect(done.result)
    assert replay is not None, "a page answered without a redirect must say how to answer a repeat"
    return replay()


def _form_with_error(form: Any, error: InvalidInput) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_http_methods(["GET"])
def reference(request: StaffRequest) -> HttpResponse:
    """The reference rules every decision cites (the course page's "reference rules used", a CDS Hooks card's
    link): each rule's words, its kind (regulation, label, evidence, convention) and the sources the
    reference names; the rule sets with the day each is in force for this practice. The same for everyone of
    the practice: no patient on it."""
    practice = request.user.practice  # None for an account of no practice (a superuser): the default date
    chapters = [
        {"chapter": chapter, "rules": [rule for rule in judgments.RULES.values() if rule.chapter is chapter]}
        for chapter in judgments.CHAPTERS.values()
    ]
    rule_sets = [
        {
            "rule_set": rule_set,
            "in_force_from": rule_set.in_force_from
            or (practice or Practice()).ipledge_2026_effective,  # no practice: the field's default
            "practice_setting": rule_set.in_force_from is None and practice is not None,
            "sources": judgments.RULE_SET_SOURCES.get(rule_set.id, ()),
        }
        for rule_set in judgments.RULE_SETS.values()
    ]
    return render(request, "web/reference.html", {"chapters": chapters, "rule_sets": rule_sets})


@require_http_methods(["GET"])
def patient_list(request: StaffRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    patients = queries.search_patients(request.user, text)[:200]
    return render(
        request,
        "web/patient_list.html",
        {"patients": patients, "q": text, "can_register": can(request.user, Capability.REGISTER_PATIENTS)},
    )


def form_page(
    request: StaffRequest,
    form: Any,
    template: str,
    context: dict[str, Any],
    save: Callable[[Any], HttpResponse],
) -> HttpResponse:
    """The one shape of a form page: a valid POST is saved by one action (whose refusal shows beside its
    field); anything invalid renders again with status 422 and nothing saved."""
    if request.method == "POST" and form.is_valid():
        try:
            return save_once(request, lambda: save(form.cleaned_data))
        except InvalidInput as error:
            _form_with_error(form, error)
    return render(request, template, {"form": form, **context}, status=422 if form.errors else 200)


@write_view(Capability.REGISTER_PATIENTS)
def patient_new(request: StaffRequest) -> HttpResponse:
    def save(data: dict[str, Any]) -> HttpResponse:
        patient = register_patient(actor=request.user, **data)
        messages.success(request, f"Patient registered: MRN {patient.mrn}.")
        return redirect("patient", patient_id=patient.uuid)

    form = PatientForm(
        request.POST or None,
        assigns_category=can(request.user, Capability.PRESCRIBE),
        today=queries.practice_today(practice_of(request.user)),
    )
    return form_page(request, form, "web/patient_form.html", {}, save)


@require_http_methods(["GET"])
def patient_detail(request: StaffRequest, patient_id: str) -> HttpResponse:
    patient = access_patient(request.user, patient_id)
    context = queries.patient_page(patient)
    context["can_record"] = can(request.user, Capability.RECORD_OBSERVATIONS)
    context["can_prescribe"] = can(request.user, Capability.PRESCRIBE)
    context["can_register"] = can(request.user, Capability.REGISTER_PATIENTS)
    return render(request, "web/patient.html", context)


@write_view(Capability.PRESCRIBE)
def patient_category(request: StaffRequest, patient_id: str) -> HttpResponse:
    patient = access_patient(request.user, patient_id)

    def save(data: dict[str, Any]) -> HttpResponse:
        changed = set_patient_category(actor=request.user, patient=patient, **data)
        messages.success(request, f"iPLEDGE category saved: {changed.get_category_display()}.")
        return redirect("patient", patient_id=patient.uuid)

    form = CategoryForm(request.POST or None, initial={"category": patient.category})
    return form_page(request, form, "web/category_form.html", {"patient": patient}, save)


@write_view(Capability.REGISTER_PATIENTS)
def patient_contact(request: StaffRequest, patient_id: str) -> HttpResponse:
    patient = access_patient(request.user, patient_id)

    def save(data: dict[str, Any]) -> HttpResponse:
        update_patient_contact(actor=request.user, patient=patient, **data)
        messages.success(request, "Contact details saved.")
        return redirect("patient", patient_id=patient.uuid)

    current = {name: getattr(patient, name) for name in ContactForm.base_fields}
    form = ContactForm(request.POST or None, initial=current)
    context = {"patient": patient, "title": "Contact details and gender", "heading": "Contact details of"}
    return form_page(request, form, "web/patient_form_page.html", context, save)


@write_view(Capability.RECORD_OBSERVATIONS)
def weight_new(request: StaffRequest, patient_id: str) -> HttpResponse:
    patient = access_patient(request.user, patient_id)

    def save(data: dict[str, Any]) -> HttpResponse:
        saved = record_weight(
            actor=request.user,
            patient=patient,
            effective_date=data["effective_date"],
            value=data["value"],
            unit=data["unit"],
        )
        messages.success(request, f"Weight saved: {saved.kg} kg on {saved.effective_date}.")
        return redirect("patient", patient_id=patient.uuid)

    form = WeightForm(
        request.POST or None, initial={"effective_date": queries.practice_today(patient.practice)}
    )
    context = {"patient": patient, "title": "Weight", "heading": "Record a weight for"}
    return form_page(request, form, "web/patient_form_page.html", context, save)


@write_view(Capability.RECORD_OBSERVATIONS)
def medication_new(request: StaffRequest, patient_id: str) -> HttpResponse:
    """Another medicine or supplement the patient takes; the engine checks it against the course."""
    patient = access_patient(request.user, patient_id)
    back = _back_to(request, patient)

    def save(data: dict[str, Any]) -> HttpResponse:
        saved = record_medication(actor=request.user, patient=patient, **data)
        messages.success(
            request, f"Medicine saved: {saved.name} ({saved.get_medication_class_display().lower()})."
        )
        return redirect(back)

    form = MedicationForm(request.POST or None)  # its days are facts the patient gives: none pre-filled
    context = {
        "patient": patient,
        "title": "Other medicine",
        "heading": "Record another medicine for",
        "back": back,
    }
    return form_page(request, form, "web/patient_form_page.html", context, save)


@write_view(Capability.RECORD_OBSERVATIONS)
def medication_end(request: StaffRequest, medication_id: str) -> HttpResponse:
    """The last day the patient took a medicine."""
    medication = access_medication(request.user, medication_id)
    patient = medication.patient
    back = _back_to(request, patient)

    def save(data: dict[str, Any]) -> HttpResponse:
        ended = end_medication(actor=request.user, medication=medication, end=data["end"])
        messages.success(request, f"{ended.name}: last day taken {ended.end}.")
        return redirect(back)

    form = MedicationEndForm(request.POST or None)
    context = {
        "patient": patient,
        "title": "End a medicine",
        "heading": f"{medication.name}: last day taken by",
        "back": back,
    }
    return form_page(request, form, "web/patient_form_page.html", context, save)


def _back_to(request: StaffRequest, patient: Patient) -> str:
    """Where a medicine's form returns: the patient's course it was opened from (``?course=``), else the
    patient's page. Only a course of this patient: the address cannot send anyone elsewhere."""
    asked = request.GET.get("course", "")
    try:
        course = patient.courses.filter(uuid=uuid.UUID(asked)).first() if asked else None
    except ValueError:
        course = None
    if course is not None:
        return reverse("course", args=[course.uuid])
    return reverse("patient", args=[patient.uuid])


@require_http_methods(["GET"])
def patient_audit(request: StaffRequest, patient_id: str) -> HttpResponse:
    patient = access_patient(request.user, patient_id)
    events = [
        (event, event.object_uuid in voided and event.action not in VOIDS_AND_CORRECTIONS)
        for voided in [corrections.voided_of(patient)]
        for event in queries.audit_trail(patient)
    ]
    return render(request, "web/audit.html", {"patient": patient, "events": events})
