"""The practice audit, for its administrators and auditors: every change and every look, newest first,
filtered, a page at a time; the same rows whole as CSV (clinic.audit_log)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from isotrack.clinic import audit_log
from isotrack.clinic.access import Capability, StaffRequest, practice_of, require
from isotrack.web.forms import PracticeAuditForm

CSV_COLUMNS = ["at", "kind", "what", "code", "who", "patient_mrn", "through", "detail"]


@require_GET
def practice_audit(request: StaffRequest) -> HttpResponse | StreamingHttpResponse:
    require(request.user, Capability.READ_AUDIT)
    practice = practice_of(request.user)
    form = PracticeAuditForm(request.GET or None, practice=practice, kinds=audit_log.KINDS)
    if request.GET and not form.is_valid():
        context = {"form": form, "rows": [], "next_key": None, "query": ""}
        return render(request, "web/practice_audit.html", context, status=422)
    filters = _filters(form)
    query = request.GET.copy()
    query.pop("before", None)
    if request.GET.get("format") == "csv":
        return _csv(practice, filters)
    rows, next_key = audit_log.page(practice, filters, request.GET.get("before"))
    query.pop("format", None)
    context = {"form": form, "rows": rows, "next_key": next_key, "query": query.urlencode()}
    return render(request, "web/practice_audit.html", context)


def _filters(form: PracticeAuditForm) -> audit_log.Filters:
    if not form.is_bound:
        return audit_log.Filters()
    data = form.cleaned_data
    return audit_log.Filters(
        person=form.members.get(data.get("person") or ""),
        patient=data.get("mrn"),
        kind=data.get("kind") or "all",
        since=data.get("since"),
        until=data.get("until"),
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula is quoted (CSV injection)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(practice: Any, filters: audit_log.Filters) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    zone = ZoneInfo(practice.time_zone)  # streamed after the view returns: the practice's zone, named

    def lines() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for row in audit_log.every_row(practice, filters):
            yield writer.writerow(
                _cell(value)
                for value in (
                    timezone.localtime(row.at, zone).isoformat(),
                    row.kind,
                    row.label,
                    row.code,
                    row.actor,
                    row.patient_mrn,
                    row.channel_label if row.kind == "look" else "",
                    row.detail,
                )
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate(timezone=zone).isoformat()
    response["Content-Disposition"] = f'attachment; filename="isotrack-audit-{stamp}.csv"'
    return response
