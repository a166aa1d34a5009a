"""The one-screen monthly visit, the dose change with its live preview, the small iPLEDGE and pick-up forms.
Each view parses, checks access, calls one action or query, renders. No clinical logic here: the figures of
the preview come from clinic.dose_planning (which asks the core)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from isotrack.clinic import dose_planning, submissions, visit_queries
from isotrack.clinic.access import Capability, StaffRequest, access_course, can, require
from isotrack.clinic.actions.alerts import acknowledge_alert, record_pregnancy_follow_up
from isotrack.clinic.actions.check_ins import pending_check_in
from isotrack.clinic.actions.dosing import change_dose, record_interruption, record_missed_dose
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.visits import record_monthly_visit
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.models import Course, PregnancyFollowUpStep, Visit
from isotrack.clinic.queries import course_banner, practice_today
from isotrack.clinic.queries import prescription_words as visit_summary_prescription
from isotrack.web.check_in_views import reported_context
from isotrack.web.views import SUBMISSION_FIELD, _form_with_error, form_page, save_once, write_view
from isotrack.web.visit_forms import (
    LAB_ROWS,
    SIDE_EFFECT_ROWS,
    AcknowledgeForm,
    DaysOffPreviewForm,
    DispenseForm,
    DoseChangeForm,
    DosePreviewForm,
    FollowUpForm,
    HoldForm,
    IpledgeEntryForm,
    MissedDoseForm,
    MonthlyVisitForm,
    visit_initial,
)


def course_page(course: Course) -> HttpResponse:
    return redirect(reverse("course", args=[course.uuid]))


def saved_visit_message(visit: Visit) -> str:
    """What the visit saved, said once on the course page: the prescription to send, or that none was."""
    if visit.prescription is None:
        return "Visit saved. No prescription was proposed: see the alerts and the next step below."
    return f"Visit saved. {visit_summary_prescription(visit)}"


@write_view(Capability.RECORD_OBSERVATIONS)
def course_visit(request: StaffRequest, course_id: str) -> HttpResponse:
    course = access_course(request.user, course_id)
    if (
        request.POST.get("dose_decision") == "change"
    ):  # only a prescriber changes a dose, whatever else is sent
        require(request.user, Capability.PRESCRIBE)
    context = visit_queries.visit_page(course)
    segment = context["segment"]
    can_prescribe = can(request.user, Capability.PRESCRIBE)
    form = MonthlyVisitForm(
        request.POST or None,
        initial=visit_initial(
            context["today"],
            segment.mg_per_day if segment else None,
            context["test_purpose"],
            context["product_line"],
        ),
        category=course.patient.category,
        staff=context["staff"],
        methods_in_use=context["methods_in_use"],
        medications_in_use=context["medications_in_use"],
        current_product=context["product_line"],
        to_acknowledge=context["to_acknowledge"] if can_prescribe else [],
        today=context["today"],
        birth=course.patient.birth_date,
    )
    second_visit = (
        request.method == "POST"
        and form.is_valid()
        and not form.cleaned_data["confirm_second_visit"]
        and not submissions.seen(request.user, request.POST.get(SUBMISSION_FIELD, ""))  # a repeat: answered
        and visit_queries.visit_on(course, form.cleaned_data["date"])
    )
    if second_visit:
        form.add_error(
            "confirm_second_visit",
            f"A visit is already recorded on {form.cleaned_data['date']}: tick this to record a second one.",
        )
    if request.method == "POST" and form.is_valid():

        def save() -> HttpResponse:
            visit = record_monthly_visit(actor=request.user, course=course, **form.visit())
            messages.success(request, saved_visit_message(visit))
            return course_page(course)

        try:
            return save_once(request, save)
        except InvalidInput as error:
            _form_with_error(form, error)
    tomorrow = context["today"] + timedelta(days=1)
    context |= {
        "form": form,
        "plan": _plan(course, form.data if form.is_bound else form.initial, tomorrow),
        "can_prescribe": can_prescribe,
        "side_effect_rows": form.rows("side_effect", SIDE_EFFECT_ROWS, ("term", "severity", "action_taken")),
        "lab_rows": form.rows("lab", LAB_ROWS, ("test", "value", "unit")),
        **reported_context(pending_check_in(course, context["today"])),
    }
    return render(request, "web/visit/visit_form.html", context, status=422 if form.errors else 200)


@write_view(Capability.PRESCRIBE)
def course_dose(request: StaffRequest, course_id: str) -> HttpResponse:
    course = access_course(request.user, course_id)
    context = visit_queries.visit_page(course)
    tomorrow = context["today"] + timedelta(days=1)
    form = DoseChangeForm(
        request.POST or None,
        initial={"dose_product": context["product_line"], "dose_starts_on": tomorrow, "days_supply": 30},
    )
    if request.method == "POST" and form.is_valid():

        def save() -> HttpResponse:
            change = form.dose_change()
            change_dose(actor=request.user, course=course, **vars(change))
            messages.success(request, f"Dose changed: {change.mg_per_day} mg/day from {change.starts_on}.")
            return course_page(course)

        try:
            return save_once(request, save)
        except InvalidInput as error:  # the action's fields are the form's without the section name
            _form_with_error(form, InvalidInput(error.message, field=f"dose_{error.field}"))
    plan = _plan(course, form.data if form.is_bound else form.initial, tomorrow)
    context |= {"form": form, "plan": plan}
    return render(request, "web/visit/dose_form.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET"])
def course_dose_preview(request: StaffRequest, course_id: str) -> HttpResponse:
    """The HTMX fragment: what the typed dose (or target date) would do, before anything is saved."""
    course = access_course(request.user, course_id)
    tomorrow = practice_today(course.patient.practice) + timedelta(days=1)
    return render(request, "web/visit/dose_preview.html", {"plan": _plan(course, request.GET, tomorrow)})


def _plan(course: Course, data: Any, tomorrow: date) -> dose_planning.DosePlan:
    preview = DosePreviewForm(data)
    preview.is_valid()
    values = preview.cleaned_data
    line = values.get("dose_product") or "conventional"
    mg_per_day = values.get("dose_mg_per_day")
    strength = values.get("dose_strength_mg")
    if values.get("dose_decision") == "continue":  # the current dose, in its stored strength
        strength = dose_planning.continued_strength(course, tomorrow - timedelta(days=1), mg_per_day, line)
    return dose_planning.plan_dose(
        course,
        starts_on=values.get("dose_starts_on") or tomorrow,
        product_line=line,
        mg_per_day=mg_per_day,
        completion_date=values.get("dose_completion_date"),
        days_supply=values.get("days_supply") or dose_planning.DEFAULT_DAYS_SUPPLY,
        strength_mg=strength,
    )


@write_view(Capability.RECORD_OBSERVATIONS)
def course_ipledge_entry(request: StaffRequest, course_id: str) -> HttpResponse:
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    form = IpledgeEntryForm(request.POST or None, initial={"date": today})  # which step: staff choose

    def save(data: dict[str, Any]) -> HttpResponse:
        entry = record_ipledge_entry(
            actor=request.user,
            course=course,
            kind=data["kind"],
            day=data["date"],
            confirmation_number=data["confirmation_number"],
        )
        messages.success(request, f"Recorded: {entry.get_kind_display()} on {entry.date}.")
        return course_page(course)

    context = {"course": course, "title": "Record an iPLEDGE step", "button": "Save"}
    return form_page(request, form, "web/visit/small_form.html", context, save)


@write_view(Capability.RECORD_OBSERVATIONS)
def course_dispense(request: StaffRequest, course_id: str) -> HttpResponse:
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    segment = dose_planning.current_segment(course, today)
    form = DispenseForm(request.POST or None, initial={"date": today})  # the supply dispensed: as typed

    def save(data: dict[str, Any]) -> HttpResponse:
        fields = dict(data)
        dispense = record_dispense(
            actor=request.user,
            course=course,
            day=fields.pop("date"),
            mg_per_day=segment.mg_per_day if segment else None,
            product=segment.product if segment else "",
            **fields,
        )
        messages.success(request, f"Pick-up recorded: {dispense.days_supply}-day supply on {dispense.date}.")
        return course_page(course)

    context = {"course": course, "title": "Record a pick-up", "button": "Save the pick-up"}
    return form_page(request, form, "web/visit/small_form.html", context, save)


@write_view(Capability.PRESCRIBE)
def course_acknowledge(request: StaffRequest, course_id: str, code: str, alert_date: date) -> HttpResponse:
    """Acknowledge one of the course's open alerts (the core's banner links here)."""
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    banner = visit_queries.visit_page(course)["banner"]
    item = next((i for i in banner if i["code"] == code and i["date"] == alert_date and i["open"]), None)
    if item is None or not item["acknowledgeable"]:
        raise RecordNotFound("No such open alert.")
    form = AcknowledgeForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        acknowledge_alert(
            actor=request.user,
            course=course,
            code=code,
            alert_date=alert_date,
            reason=data["reason"],
            day=today,
        )
        messages.success(request, f"Alert acknowledged: {item['label']} ({item['detail']}).")
        return course_page(course)

    context = {"course": course, "item": item}
    return form_page(request, form, "web/visit/acknowledge_form.html", context, save)


@write_view(Capability.PRESCRIBE)
def course_follow_up(request: StaffRequest, course_id: str) -> HttpResponse:
    """Record a follow-up step of a positive pregnancy test as done (IPL-PT-POSITIVE)."""
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    pending = [
        (step, label)
        for step, label in PregnancyFollowUpStep.choices
        if not course.pregnancy_follow_ups.filter(step=step).exists()
    ]
    form = FollowUpForm(request.POST or None, pending=pending, initial={"date": today})

    def save(data: dict[str, Any]) -> HttpResponse:
        record_pregnancy_follow_up(
            actor=request.user, course=course, step=data["step"], day=data["date"], note=data["note"]
        )
        messages.success(request, f"Recorded: {dict(PregnancyFollowUpStep.choices)[data['step']]}.")
        return course_page(course)

    context = {"course": course, "title": "Positive pregnancy test: follow-up", "button": "Record"}
    return form_page(request, form, "web/visit/small_form.html", context, save)


# ------------------------------------------------------------------------- holds and missed doses, previewed


@write_view(Capability.PRESCRIBE)
def course_hold(request: StaffRequest, course_id: str) -> HttpResponse:
    """A hold entered on the page, with the projected completion recalculated live before saving."""
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    form = HoldForm(request.POST or None, initial={"start": today})  # the last day and why: the prescriber's

    def save(data: dict[str, Any]) -> HttpResponse:
        hold = record_interruption(actor=request.user, course=course, **data)
        messages.success(request, f"Hold recorded: no dosing from {hold.start} to {hold.end}.")
        return course_page(course)

    return _days_off_page(request, course, today, form, save, "Record a hold", "Save the hold")


@write_view(Capability.RECORD_OBSERVATIONS)
def course_missed_dose(request: StaffRequest, course_id: str) -> HttpResponse:
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    form = MissedDoseForm(request.POST or None)  # which day was missed: the person says

    def save(data: dict[str, Any]) -> HttpResponse:
        missed = record_missed_dose(actor=request.user, course=course, day=data["date"])
        messages.success(request, f"Missed dose recorded: {missed.date}.")
        return course_page(course)

    return _days_off_page(request, course, today, form, save, "Record a missed dose", "Save the missed dose")


def _days_off_page(
    request: StaffRequest, course: Course, today: date, form: Any, save: Any, title: str, button: str
) -> HttpResponse:
    data = form.data if form.is_bound else form.initial
    context = {
        "course": course,
        "title": title,
        "button": button,
        "preview_url": reverse("course_days_off_preview", args=[course.uuid]),
        "banner": course_banner(course, today),
        "plan": _days_off_plan(course, data, today),
    }
    return form_page(request, form, "web/visit/days_off_form.html", context, save)


@require_http_methods(["GET"])
def course_days_off_preview(request: StaffRequest, course_id: str) -> HttpResponse:
    """The HTMX fragment: the projected completion with the typed hold or missed dose, nothing saved."""
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    plan = _days_off_plan(course, request.GET, today)
    return render(request, "web/visit/days_off_preview.html", {"plan": plan})


def _days_off_plan(course: Course, data: Any, today: date) -> dose_planning.DaysOffPlan:
    preview = DaysOffPreviewForm(data)
    preview.is_valid()
    values = preview.cleaned_data
    start = values.get("date") or values.get("start")
    end = values.get("date") or values.get("end")
    return dose_planning.plan_days_off(course, start=start, end=end, today=today)
