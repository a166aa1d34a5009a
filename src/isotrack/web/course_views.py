"""The course page and its print view: check access, read the course as the core decides it, render.

The dose chart is drawn here as inline SVG: only geometry (scaling the core's figures to pixels), no clinical
logic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from isotrack.clinic import queries, timeline
from isotrack.clinic.access import Capability, StaffRequest, access_course, can, practice_of

CHART_WIDTH, CHART_HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 16, 36


@require_http_methods(["GET"])
def course_detail(request: StaffRequest, course_id: str) -> HttpResponse:
    return _course(request, course_id, "web/course/page.html")


@require_http_methods(["GET"])
def course_print(request: StaffRequest, course_id: str) -> HttpResponse:
    return _course(request, course_id, "web/course/print.html")


def _course(request: StaffRequest, course_id: str, template: str) -> HttpResponse:
    course = access_course(request.user, course_id)
    context = queries.course_page(course, queries.practice_today(practice_of(request.user)))
    dose = context["dose"]
    context["can_record"] = can(request.user, Capability.RECORD_OBSERVATIONS)
    context["can_prescribe"] = can(request.user, Capability.PRESCRIBE)
    context["timeline"] = timeline.course_timeline(context["course"], request.user)
    context["chart"] = dose_chart(
        context["dose_curve"], dose.target_mg_per_kg, context["today"], dose.projected_completion_date
    )
    return render(request, template, context)


def dose_chart(
    curve: list[tuple[dt.date, float, float]],
    target: float,
    today: dt.date,
    projected: dt.date | None,
) -> dict[str, Any] | None:
    """Pixel geometry of the cumulative mg/kg curve, the target line and the projection to completion."""
    if not curve:
        return None
    first, last = curve[0][0], curve[-1][0]
    end = max(d for d in (last, today, projected or last) if d is not None)
    span = max(1, (end - first).days)
    top_value = max(target * 1.1, max(value for _, value, _ in curve))
    plot_w, plot_h = CHART_WIDTH - LEFT - RIGHT, CHART_HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return round(LEFT + plot_w * (day - first).days / span, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top_value), 1)

    points = " ".join(f"{x(day)},{y(value)}" for day, value, _ in curve)
    chart: dict[str, Any] = {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": LEFT,
        "right": CHART_WIDTH - RIGHT,
        "top": TOP,
        "bottom": CHART_HEIGHT - BOTTOM,
        "points": points,
        "target_y": y(target),
        "target": target,
        "last_x": x(last),
        "last_y": y(curve[-1][1]),
        "today_x": x(min(today, end)),
        "ticks": [
            {"y": y(value), "label": f"{value:g}"}
            for value in (0, round(target / 2), target)
            if value <= top_value
        ],
        "start_label": first.isoformat(),
        "end_label": end.isoformat(),
        "label_y": CHART_HEIGHT - BOTTOM + 18,
    }
    if projected is not None and projected > last:
        chart["projected_x"], chart["projected_label"] = x(projected), projected.isoformat()
    return chart
