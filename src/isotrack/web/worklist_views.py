"""The worklist page: parse the filters, read the practice's worklist, render (the lines alone for HTMX)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from isotrack.clinic import queries
from isotrack.clinic import worklist as clinic_worklist
from isotrack.clinic.access import Capability, StaffRequest, can
from isotrack.clinic.models import PatientCategory
from isotrack.web import worklist_rows

PHASE_CHOICES = (("qualifying", "Qualifying"), ("active", "Active"), ("post_course", "After the last dose"))


def _filters(query: dict[str, str]) -> clinic_worklist.WorklistFilters:
    return clinic_worklist.WorklistFilters(
        prescriber=query.get("prescriber", "").strip(),
        category=query.get("category", "").strip(),
        phase=query.get("phase", "").strip(),
        step=query.get("step", "").strip(),
        q=query.get("q", "")[:100],
        after=query.get("after", "")[:40],
        before=query.get("before", "")[:40],
        last=query.get("last", "") == "1",
    )


@require_http_methods(["GET"])
def worklist(request: StaffRequest) -> HttpResponse:
    filters = _filters(request.GET.dict())
    found = clinic_worklist.worklist(request.user, filters)
    kept = {
        name: value
        for name, value in (
            ("prescriber", filters.prescriber),
            ("category", filters.category),
            ("phase", filters.phase),
            ("step", filters.step),
            ("q", filters.q),
        )
        if value
    }
    context = {
        "worklist": found,
        "rows": worklist_rows.rows(found.lines),
        "filters": filters,
        "categories": PatientCategory.choices,
        "phases": PHASE_CHOICES,
        "query": urlencode(kept),
        "amp": "&" if kept else "",  # between the filters and a page's key in the page links
    }
    partial = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "worklist"
    template = "web/worklist/lines.html" if partial else "web/worklist/page.html"
    if not partial:
        context["awaiting"], context["awaiting_count"] = queries.awaiting_category(request.user)
        context["can_prescribe"] = can(request.user, Capability.PRESCRIBE)
    return render(request, template, context)
