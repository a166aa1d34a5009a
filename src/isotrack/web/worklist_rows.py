"""The worklist's rows as HTML, written here rather than in the template: fifty rows of twenty values each,
through the template language's lookups, filters and ``{% url %}``, cost more than the rest of the page
(bench/load.py). The markup is the one ``web/worklist/lines.html`` had; every value is escaped.

What a row shows follows from the stored line alone (``clinic.worklist.WorklistLine``): no decision here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from html import escape

from django.urls import reverse
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.safestring import SafeString, mark_safe

from isotrack.clinic.worklist import WorklistAlert, WorklistLine

_ROW = """      <tr class="{css}" data-course="{course}" data-step="{step_code}" data-deadline="{deadline}" \
data-tier="{tier}" data-phase="{phase}">
        <td data-label="Patient"><a href="{url}">{patient_name}</a>
          <small class="muted">MRN {mrn}{ipledge_id}</small></td>
        <td data-label="Category · phase">{category_label}<br><small class="muted">{phase_label}</small></td>
        <td data-label="Next step"><span title="{step_title}">{step_label}</span>
          {badges}</td>
        <td data-label="Who">{actor_label}</td>
        <td data-label="Deadline"><span class="countdown">{countdown}</span>{deadline_shown}</td>
        <td data-label="Prescriber">{prescriber}</td>
      </tr>"""
_BADGE = '<span class="badge {css}" data-alert="{code}" data-open="{open}" title="{title}">{text}</span>'
_ANY_COURSE = uuid.UUID(int=0)


def rows(lines: Iterable[WorklistLine]) -> list[SafeString]:
    """Each line's ``<tr>``, in order."""
    placeholder = str(_ANY_COURSE)
    pattern = reverse("course", args=[_ANY_COURSE])  # the course page's URL, reversed once for the page
    return [_row(line, lambda course: pattern.replace(placeholder, course)) for line in lines]


def _row(line: WorklistLine, course_url: Callable[[str], str]) -> SafeString:
    course = str(line.course_uuid)
    rule = f" · rule {line.rule_id}" if line.rule_id else ""
    badges = "".join(
        _badge(alert, first=n == 0, critical=line.tier < 4) for n, alert in enumerate(line.alerts)
    )
    deadline = line.deadline
    return mark_safe(  # noqa: S308 -- every value below is escaped
        _ROW.format(
            css=_urgency(line),
            course=escape(course),
            step_code=escape(line.step_code),
            deadline=deadline.isoformat() if deadline else "",
            tier=line.tier,
            phase=escape(line.phase),
            url=escape(course_url(course)),
            patient_name=escape(line.patient_name),
            mrn=escape(line.mrn),
            ipledge_id=f" · iPLEDGE {escape(line.ipledge_id)}" if line.ipledge_id else "",
            category_label=escape(line.category_label),
            phase_label=escape(line.phase_label),
            step_title=escape(f"{line.rule_set_title} ({line.rule_set_id}){rule}"),
            step_label=escape(line.step_label),
            badges=f'<span class="badges">{badges}</span>' if badges else "",
            actor_label=escape(line.actor_label),
            countdown=escape(line.countdown),
            deadline_shown=f'<br><small class="muted">{_weekday_and_date(deadline)}</small>'
            if deadline
            else "",
            prescriber=escape(line.prescriber),
        )
    )


def _urgency(line: WorklistLine) -> str:
    """The row's class: a critical alert, a hold, overdue, due within two days, or none."""
    if line.tier < 4:
        return "is-critical"
    if line.tier == 4:
        return "is-held"
    if line.overdue:
        return "is-overdue"
    return "is-urgent" if line.urgent else ""


def _badge(alert: WorklistAlert, *, first: bool, critical: bool) -> str:
    """An alert as a badge: open (the first of a critical line in red), or acknowledged with a tick."""
    acknowledged = "" if alert.open else " · acknowledged"
    return _BADGE.format(
        css=("is-critical" if first and critical else "is-warning") if alert.open else "is-acknowledged",
        code=escape(alert.code),
        open="true" if alert.open else "false",
        title=escape(f"{alert.detail} ({alert.date.isoformat()}) · rule {alert.rule_id}{acknowledged}"),
        text=escape(alert.label if alert.open else f"{alert.label} ✓"),
    )


def _weekday_and_date(day: dt.date) -> str:
    """As the template filter ``date:"D Y-m-d"`` writes it: "Tue 2026-12-01"."""
    return f"{WEEKDAYS_ABBR[day.weekday()]} {day.isoformat()}"
