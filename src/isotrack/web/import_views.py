"""Bringing a practice's current patients and courses (clinic.imports.practice), for its administrators: the
template, the upload, a preview of every course and every row's problems, then the import of exactly the file
previewed, all or nothing."""

from __future__ import annotations

import base64
import binascii
import hashlib

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from isotrack.clinic.access import Capability, StaffRequest, require
from isotrack.clinic.imports.practice import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    PracticeFileRejected,
    import_practice,
    template_csv,
)
from isotrack.web.forms import PracticeImportForm
from isotrack.web.views import save_once, write_view


@write_view(Capability.IMPORT_RECORDS)
def practice_import(request: StaffRequest) -> HttpResponse:
    """GET: the template and the upload. POST a file: its preview (nothing kept). POST ``confirm`` with the
    previewed content: the import, if the content is still the one previewed (its SHA-256)."""
    if request.method == "POST" and "confirm" in request.POST:
        try:  # the file's bytes as uploaded (base64: a browser would turn its line ends into CRLF)
            content = base64.b64decode(request.POST.get("content", ""), validate=True)
        except binascii.Error:
            content = b""
        if hashlib.sha256(content).hexdigest() != request.POST["confirm"]:
            messages.error(
                request, "The file changed after its preview: nothing was imported. Upload it again."
            )
            return redirect("practice_import")
        return save_once(request, lambda: _import(request, content))
    form = PracticeImportForm(request.POST or None, request.FILES or None)
    report, encoded = None, ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        raw = upload.read(MAX_BYTES + 1)
        report = import_practice(actor=request.user, content=raw, confirm=False)
        encoded = base64.b64encode(raw).decode() if not report.problems else ""
        if report.problems:
            form.add_error(
                "file", "Nothing can be imported yet: correct the rows listed above and upload again."
            )
    context = {
        "form": form,
        "report": report,
        "content": encoded,
        "columns": COLUMNS,
        "max_rows": MAX_ROWS,
    }
    return render(request, "web/practice_import.html", context, status=422 if form.errors else 200)


def _import(request: StaffRequest, content: bytes) -> HttpResponse:
    try:
        report = import_practice(actor=request.user, content=content, confirm=True)
    except (
        PracticeFileRejected
    ) as rejected:  # the practice changed since the preview (an MRN taken meanwhile)
        messages.error(request, rejected.message)
        return redirect("practice_import")
    messages.success(
        request,
        f"Imported {len(report.courses)} course{'s' if len(report.courses) != 1 else ''}: they are on the "
        "worklist and the calendar now.",
    )
    return redirect("patients")


@require_http_methods(["GET"])
def practice_import_template(request: StaffRequest) -> HttpResponse:
    require(request.user, Capability.IMPORT_RECORDS)
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="isotrack-practice-import.csv"'
    return response
