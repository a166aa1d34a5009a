"""Enrollment in two screens, one transaction each: (1) register the patient, (2) the prescriber assigns the
category, opens the course with its target, product and first dose, and records the iPLEDGE enrollment; then
the course page shows the qualifying checklist."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from isotrack.clinic import visit_queries
from isotrack.clinic.access import Capability, StaffRequest, access_patient, can, practice_of
from isotrack.clinic.actions.enrollment import enroll_in_course
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Role
from isotrack.clinic.queries import practice_today
from isotrack.web.views import _form_with_error, save_once, write_view
from isotrack.web.visit_forms import EnrollCourseForm, EnrollPatientForm
from isotrack.web.visit_views import course_page


@write_view(Capability.REGISTER_PATIENTS)
def enroll(request: StaffRequest) -> HttpResponse:
    form = EnrollPatientForm(
        request.POST or None,
        assigns_category=can(request.user, Capability.PRESCRIBE),
        today=practice_today(practice_of(request.user)),
    )
    if request.method == "POST" and form.is_valid():

        def save() -> HttpResponse:
            patient = register_patient(actor=request.user, **form.cleaned_data)
            messages.success(request, f"Patient registered: MRN {patient.mrn}.")
            if can(request.user, Capability.PRESCRIBE):
                return redirect("enroll_course", patient_id=patient.uuid)
            return redirect("patient", patient_id=patient.uuid)

        try:
            return save_once(request, save)
        except InvalidInput as error:
            _form_with_error(form, error)
    return render(request, "web/enroll/patient_step.html", {"form": form}, status=422 if form.errors else 200)


DOSE_FIELDS = {"mg_per_day": "dose_mg_per_day", "product": "dose_product", "strength_mg": "dose_strength_mg"}


@write_view(Capability.PRESCRIBE)
def enroll_course(request: StaffRequest, patient_id: str) -> HttpResponse:
    patient = access_patient(request.user, patient_id)
    practice = patient.practice
    today = practice_today(practice)
    needs_weight = not patient.weights.exists()
    form = EnrollCourseForm(
        request.POST or None,
        initial={
            "category": patient.category,
            "prescriber": request.user.pk if request.user.role == Role.PRESCRIBER else None,
            "start": today,
            "dose_product": request.user.default_product_line or "conventional",
            "enrollment_date": today,
        },
        prescribers=visit_queries.prescribers_of(practice),
        needs_weight=needs_weight,
        today=today,
        birth=patient.birth_date,
        practice_target=practice.target_mg_per_kg,
    )
    if request.method == "POST" and form.is_valid():

        def save() -> HttpResponse:
            course = enroll_in_course(actor=request.user, patient=patient, **form.enrollment())
            messages.success(request, "Enrolled: the course and its first dose are saved.")
            warning = visit_queries.start_warning(course)
            if warning:
                messages.warning(request, warning)
            return course_page(course)

        try:
            return save_once(request, save)
        except InvalidInput as error:
            # the action names its own arguments; the form's dose fields are prefixed
            field = DOSE_FIELDS.get(error.field or "", error.field)
            _form_with_error(form, InvalidInput(error.message, field=field))
    return render(
        request,
        "web/enroll/course_step.html",
        {"form": form, "patient": patient, "needs_weight": needs_weight},
        status=422 if form.errors else 200,
    )
