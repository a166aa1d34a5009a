"""Bringing a practice's current patients and courses (clinic.imports.practice), for its administrators: the
template, the upload, a preview of every course and every row's problems, then the import of exactly the file
previewed (kept on the server meanwhile), all or nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from isotrack.clinic.access import Capability, StaffRequest, require
from isotrack.clinic.errors import RecordNotFound
from isotrack.clinic.imports.practice import (
    COLUMNS,
    MAX_BYTES,
    MAX_RECORDS,
    MAX_ROWS,
    PracticeFileRejected,
    forget_expired_previews,
    import_pending,
    import_practice,
    keep_for_import,
    template_csv,
)
from isotrack.web.forms import PracticeImportForm
from isotrack.web.views import save_once, write_view


@write_view(Capability.IMPORT_RECORDS)
def practice_import(request: StaffRequest) -> HttpResponse:
    """GET: the template and the upload. POST a file: its preview (nothing imported; a file without problems
    is kept for its import). POST ``pending``: the import of the file previewed."""
    if request.method == "POST" and "pending" in request.POST:
        try:
            return save_once(request, lambda: _import(request, request.POST["pending"]))
        except (PracticeFileRejected, RecordNotFound) as refused:
            messages.error(request, refused.message)
            return redirect("practice_import")
    forget_expired_previews()
    form = PracticeImportForm(request.POST or None, request.FILES or None)
    report, pending = None, None
    if request.method == "POST" and form.is_valid():
        content = form.cleaned_data["file"].read(MAX_BYTES + 1)
        report = import_practice(actor=request.user, content=content, confirm=False)
        if report.problems:
            form.add_error(
                "file", "Nothing can be imported yet: correct the rows listed above and upload again."
            )
        else:
            pending = keep_for_import(actor=request.user, content=content, report=report)
    context: dict[str, Any] = {"form": form, "report": report, "pending": pending, "columns": COLUMNS}
    context |= {"max_rows": MAX_ROWS, "max_records": f"{MAX_RECORDS:,}"}
    return render(request, "web/practice_import.html", context, status=422 if form.errors else 200)


def _import(request: StaffRequest, pending_id: str) -> HttpResponse:
    """The write: raises (nothing written, the form's key unused) when the file no longer imports."""
    report = import_pending(actor=request.user, pending_id=pending_id)
    count = len(report.courses)
    words = "1 course: it is" if count == 1 else f"{count} courses: they are"
    messages.success(request, f"Imported {words} on the worklist and the calendar now.")
    return redirect("patients")


@require_http_methods(["GET"])
def practice_import_template(request: StaffRequest) -> HttpResponse:
    require(request.user, Capability.IMPORT_RECORDS)
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="isotrack-practice-import.csv"'
    return response
