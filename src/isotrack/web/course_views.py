"""The course page and its print view: check access, read the course as the core decides it, render; and the
prescriber's form that ends or stops the course (``clinic.actions.courses.end_course``).

The dose chart is drawn here as inline SVG: only geometry (scaling the core's figures to pixels), no clinical
logic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from isotrack.clinic import queries, timeline
from isotrack.clinic.access import Capability, StaffRequest, access_course, can, practice_of
from isotrack.clinic.actions.courses import end_course
from isotrack.clinic.models import Course, CourseStatus, StopReason
from isotrack.web.forms import DateInput, TextField
from isotrack.web.views import form_page, write_view

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
    # The prescriber's form to end or stop a running course. Not while a positive pregnancy test has stopped
    # it in the engine: its follow-up steps stop the course (IPL-PREG-STOP), and the page offers those.
    shows_form = template == "web/course/page.html" and context["can_prescribe"] and _running(course)
    if shows_form and context["cycle"].phase != "stopped":
        context["end_form"] = EndCourseForm(initial={"end": context["today"]})
        context["buttons"] = BUTTONS
    return render(request, template, context)


# ------------------------------------------------------------------------------------ ending or stopping


END, STOP = "end", "stop"  # the two buttons of the form (its ``outcome``)
BUTTONS = {END: "End the course (last day of dosing)", STOP: "Stop the course early"}


def _running(course: Course) -> bool:
    return course.end is None and course.status in (CourseStatus.DRAFT, CourseStatus.ACTIVE)


class EndCourseForm(forms.Form):
    """The last day of dosing and how the course ends: as planned (``END``), or stopped early (``STOP``) for
    one of ``StopReason``, none chosen for the prescriber. Which one is the button pressed (``outcome``), not
    a field: a form posted with neither button saves nothing."""

    end = forms.DateField(
        label="Last day of dosing",
        widget=DateInput,
        help_text="The last day the patient takes a dose (today unless you change it).",
    )
    stop_reason = forms.ChoiceField(
        label="Why is the course stopped early? (only for stopping)",
        choices=StopReason.choices,
        widget=forms.RadioSelect,
        required=False,  # required for stopping only: checked in clean(), beside the field
    )
    note = TextField(
        label="Note (optional)",
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the audit trail, e.g. what was discussed with the patient.",
    )

    def __init__(self, *args: Any, outcome: str = "", ended: Course | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcome = outcome
        self.ended = ended  # the course, when it has already ended: nothing to end

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.ended is not None:
            status = self.ended.get_status_display().lower()
            raise forms.ValidationError(f"This course has already ended ({status}): nothing was saved.")
        if self.outcome not in BUTTONS:
            raise forms.ValidationError(
                f"Press “{BUTTONS[END]}” or “{BUTTONS[STOP]}”: nothing was saved.", code="outcome"
            )
        reason = cleaned.get("stop_reason")
        if self.outcome == STOP and not reason and "stop_reason" not in self.errors:
            self.add_error("stop_reason", "Choose why the course is stopped early.")
        if self.outcome == END and reason:
            self.add_error(
                "stop_reason",
                f"A course that ends as planned has no reason for stopping: the reason is cleared. Press "
                f"“{BUTTONS[END]}” again, or choose a reason and press “{BUTTONS[STOP]}”.",
            )
            # shown again with no reason chosen, as the message says
            shown = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
            shown.pop("stop_reason", None)
            self.data = shown
        return cleaned


@write_view(Capability.PRESCRIBE)  # the action's own capability: only prescribers end or stop a course
def course_end(request: StaffRequest, course_id: str) -> HttpResponse:
    """End the course (its last day of dosing) or stop it early with a reason: the course page's form, and
    this page when it comes back with errors."""
    course = access_course(request.user, course_id)
    today = queries.practice_today(course.patient.practice)
    form = EndCourseForm(
        request.POST or None,
        initial={"end": today},
        outcome=request.POST.get("outcome", ""),
        ended=None if _running(course) else course,
    )

    def save(data: dict[str, Any]) -> HttpResponse:
        stopped = form.outcome == STOP
        ended = end_course(
            actor=request.user,
            course=course,
            end=data["end"],
            reason=data["note"],
            stopped=stopped,
            stop_reason=data["stop_reason"] if stopped else "",
        )
        if stopped:
            why = ended.get_stop_reason_display().lower()
            messages.success(request, f"Course stopped early ({why}): last day of dosing {ended.end}.")
        else:
            messages.success(request, f"Course ended: last day of dosing {ended.end}.")
        return redirect("course", course_id=course.uuid)

    context = {"course": course, "buttons": BUTTONS, "running": _running(course)}
    return form_page(request, form, "web/course/end_page.html", context, save)


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
