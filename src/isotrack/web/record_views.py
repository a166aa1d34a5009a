"""Correcting and voiding a record (``clinic.actions.corrections``): one pair of pages for every kind of
record."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from isotrack.clinic import timeline
from isotrack.clinic.access import Capability, StaffRequest, require
from isotrack.clinic.actions import corrections
from isotrack.web.forms import VoidForm, correction_form
from isotrack.web.views import form_page, write_view


def _back(kind: corrections.Kind, item: Any) -> str:
    """Where the record is shown: its course page, or the patient's page for weights and contraception."""
    if kind.on_patient:
        return reverse("patient", args=[item.patient.uuid])
    return reverse("course", args=[item.course.uuid])


def _context(kind: corrections.Kind, item: Any, doing: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "item": item,
        "patient": kind.patient_of(item),
        "words": timeline.words(item),
        "day": timeline.date_of(item),
        "doing": doing,
        "back": _back(kind, item),
    }


@write_view(Capability.REGISTER_PATIENTS)  # the least a writer holds; the kind's own role is checked next
def record_correct(request: StaffRequest, kind: str, record_id: str) -> HttpResponse:
    found = corrections.kind_of(kind)
    require(request.user, found.capability)
    item = corrections.find(request.user, found, record_id)
    form = correction_form(found, item, request.user, request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        values = dict(data)
        reason = values.pop("correction_reason")
        replacement = corrections.correct_record(
            actor=request.user, kind=found, item=item, values=values, reason=reason
        )
        messages.success(request, f"{found.label} corrected: now {timeline.words(replacement)}.")
        return redirect(_back(found, item))

    return form_page(request, form, "web/record_form.html", _context(found, item, "Correct"), save)


@write_view(Capability.REGISTER_PATIENTS)
def record_void(request: StaffRequest, kind: str, record_id: str) -> HttpResponse:
    found = corrections.kind_of(kind)
    require(request.user, found.capability)
    item = corrections.find(request.user, found, record_id)
    form = VoidForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        corrections.void_record(actor=request.user, kind=found, item=item, reason=data["correction_reason"])
        messages.success(request, f"{found.label} voided: {timeline.words(item)}. It no longer counts.")
        return redirect(_back(found, item))

    return form_page(request, form, "web/record_form.html", _context(found, item, "Void"), save)
