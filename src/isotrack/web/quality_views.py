"""The practice's quality report (issue 16) as pages: the dashboard, the courses behind a figure, the two CSV
downloads and the printable monthly report.

Every figure is ``clinic.quality``'s (the core's measures of the courses' kept outcomes); this module only
chooses the period, lays the figures out and draws the charts as inline SVG (geometry only: scaling figures
to pixels, as the course page's dose chart does). A request reads the practice's outcomes once
(``quality.outcomes``) and computes every group, chart and month of the trend from them: no query per course.

Who may read it: the members who answer for the practice's care and its compliance, i.e. whoever may
prescribe, manage the practice or read its audit (prescribers, the practice's administrators, its auditors);
not the front desk or the nurses, whose work it measures without being theirs to review.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from isotrack.clinic import quality
from isotrack.clinic.access import Capability, StaffRequest, can, practice_of
from isotrack.clinic.errors import NotPermitted
from isotrack.clinic.models import Course, Practice, StaffUser
from isotrack.clinic.queries import practice_today
from isotrack.web.forms import DateInput, TextField

READERS = (Capability.PRESCRIBE, Capability.MANAGE_PRACTICE, Capability.READ_AUDIT)
DEFAULT_DAYS = quality.DEFAULT_DAYS  # the dashboard's period when none is chosen (the nightly job's too)
EARLIEST = quality.EARLIEST
PAGE_SIZE = 100  # courses behind a figure shown per page (computed in memory from the kept outcomes)
# The splits as the address names them (``quality.SPLITS`` holds "age band", with a space).
SPLITS = {"practice": "practice", "prescriber": "prescriber", "category": "category", "age_band": "age band"}
SPLIT_CHOICES = [
    ("practice", "Practice"),
    ("prescriber", "Prescriber"),
    ("category", "iPLEDGE category"),
    ("age_band", "Age band"),
]


def may_read(user: StaffUser) -> bool:
    return any(can(user, capability) for capability in READERS)


def _require_reader(user: StaffUser) -> Practice:
    if not may_read(user):
        role = user.get_role_display()
        raise NotPermitted(f"Your role ({role}) may not read the practice's quality report.")
    return practice_of(user)


# ------------------------------------------------------------------------------------------------ the period


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    month: str = ""  # YYYY-MM when a month was chosen
    to_date: bool = False  # a month still running: measured through today

    @property
    def query(self) -> dict[str, str]:
        """The address's words for the period (the links keep it)."""
        if self.month:
            return {"month": self.month}
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def default_period(today: date) -> Period:
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today)


def _month(text: str, today: date) -> Period:
    """A month's period, or a ValidationError in words (``quality.month_to_date``)."""
    if len(text) > 20:
        raise forms.ValidationError("Give a month as YYYY-MM.")
    try:
        start, end, last = quality.month_to_date(text, today)
    except ValueError as error:
        raise forms.ValidationError(f"{str(error)[:1].upper()}{str(error)[1:]}.") from None
    if start < EARLIEST:
        raise forms.ValidationError(f"The report starts in {EARLIEST.year} at the earliest.")
    return Period(start, end, text, end < last)


class PeriodForm(forms.Form):
    """The period of a report page (a GET form): a month, or a first and a last day; neither: the last 30
    days. A wrong one is refused beside its field and the default period is shown meanwhile."""

    month = TextField(
        label="Month",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM", "inputmode": "numeric"}),
    )
    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To", required=False, widget=DateInput)
    split = forms.ChoiceField(label="Show by", required=False, choices=SPLIT_CHOICES)

    def __init__(self, data: Any, *, today: date) -> None:
        super().__init__(data)
        self.today = today

    def clean_month(self) -> Period | None:
        text = self.cleaned_data["month"].strip()
        return _month(text, self.today) if text else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if cleaned.get("month") and (start or end):
            self.add_error("month", "Choose a month or a first and last day, not both.")
            return cleaned
        if start and not end and "end" not in self.errors:
            self.add_error("end", "Give the last day too.")
        elif end and not start and "start" not in self.errors:
            self.add_error("start", "Give the first day too.")
        if start and start < EARLIEST:
            self.add_error("start", f"The report starts in {EARLIEST.year} at the earliest.")
        if end and end > self.today:
            self.add_error("end", f"The period cannot end after today ({self.today.isoformat()}).")
        elif start and end and start > end:
            self.add_error("end", "The last day comes before the first.")
        return cleaned

    def period(self) -> Period:
        """The chosen period when every field is right; the default period otherwise."""
        default = default_period(self.today)
        if not self.is_bound or not self.is_valid():
            return default
        data = self.cleaned_data
        if data.get("month"):
            return data["month"]
        if data.get("start") and data.get("end"):
            return Period(data["start"], data["end"])
        return default

    def chosen_split(self) -> str:
        """The chosen split (``SPLITS``' key; the practice's when none or a wrong one)."""
        chosen = self.cleaned_data.get("split") if self.is_bound and hasattr(self, "cleaned_data") else ""
        return chosen if chosen in SPLITS and "split" not in self.errors else "practice"


# --------------------------------------------------------------------------------------------- the dashboard


@require_GET
def dashboard(request: StaffRequest) -> HttpResponse:
    practice = _require_reader(request.user)
    today = practice_today(practice)
    form = PeriodForm(request.GET or None, today=today)
    bad = form.is_bound and not form.is_valid()
    period, split = form.period(), form.chosen_split()
    figures = quality.dashboard_figures(practice, period.start, period.end)  # kept, or computed and kept
    then = quality.recorded_figures(
        practice, period.start, period.end
    )  # an ended period's: kept once computed
    whole = figures.groups[0]
    shown = [g for g in figures.groups if g.split == SPLITS[split]]
    sections = [
        _section(section, shown, period, split) for section in quality.layout(shown or [whole], whole, then)
    ]
    context = {
        "form": form,
        "period": period,
        "period_query": urlencode(period.query),
        "today": today,
        "split": split,
        "split_links": [
            {"key": key, "label": label, "href": "?" + urlencode({**period.query, "split": key})}
            for key, label in SPLIT_CHOICES
        ],
        "groups": shown,
        "courses_in_report": whole.course_count,
        "computed_at": figures.computed_at,
        "as_recorded": then is not None,
        "time_zone": practice.time_zone,
        "sections": sections,
        "trend": _trend(figures.months, figures.trend),
        "comparisons": _comparisons(whole),
        "print_month": period.month or _last_whole_month(today),
        "disclaimer": quality.DISCLAIMER,
    }
    return render(request, "web/quality/dashboard.html", context, status=422 if bad else 200)


def _last_whole_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _section(
    section: quality.Section, shown: Sequence[quality.GroupFigures], period: Period, split: str
) -> dict:
    """A section of the dashboard: its figures (each cell with the link to its courses when it counts any)
    and its charts."""
    figures = []
    for figure in section.figures:
        entries = [_figure(entry, period, split) for entry in figure.entries]
        figures.append({**_figure(figure, period, split), "entries": entries})
    return {
        "key": section.key,
        "title": section.title,
        "figures": figures,
        "charts": _section_charts(section, [g.name for g in shown] or ["practice"]),
    }


def _figure(figure: quality.Figure, period: Period, split: str) -> dict:
    cells = []
    for cell in figure.cells:
        href = ""
        if figure.countable and cell.value:
            query = {**period.query, "measure": figure.measure}
            if split != "practice":
                query.update(split=split, group=cell.group)
            href = reverse("quality_courses") + "?" + urlencode(query)
        cells.append(
            {
                "group": cell.group,
                "value": cell.value,
                "href": href,
                "corrected": cell.corrected,
                "then": cell.then,
            }
        )
    return {
        "measure": figure.measure,
        "label": figure.label,
        "definition": figure.definition,
        "cells": cells,
    }


# ------------------------------------------------------------------------------------------------ the charts

CHART_WIDTH = 440
LABEL_W = 140  # the group names' column (when several groups are shown)
VALUE_W = 48  # room for the value after the longest bar


def _section_charts(section: quality.Section, names: list[str]) -> list[dict]:
    """The section's counts as horizontal bars (one bar per group shown), each tuple's entries as bars of
    their own (another unit: days, windows), and the spread of a statistic (min, quartiles, median, max)."""
    charts: list[dict] = []
    counts = [f for f in section.figures if f.countable and f.cells]
    if counts:
        charts.append(bar_chart(f"{section.key}-counts", f"{section.title}: the counts", counts, names))
    for figure in section.figures:
        if figure.entries:
            charts.append(bar_chart(f"{figure.measure}-entries", figure.label, list(figure.entries), names))
    spread = spread_chart(section, names)
    if spread is not None:
        charts.append(spread)
    return charts


def bar_chart(key: str, title: str, figures: Sequence[quality.Figure], names: list[str]) -> dict:
    """Pixel geometry of horizontal bars: each figure's label on a line, then one bar per group (the group's
    name before it when there are several), its value after it; one scale for the whole chart."""
    several = len(names) > 1
    left = LABEL_W if several else 8
    width = CHART_WIDTH - left - VALUE_W
    top_value = max([c.value or 0 for f in figures for c in f.cells] + [1])
    rows, y = [], 6
    for figure in figures:
        bars = []
        label_y = y + 12
        y += 18
        for cell in figure.cells:
            value = cell.value or 0
            length = round(width * value / top_value, 1)
            bars.append(
                {
                    "y": y,
                    "text_y": y + 10,
                    "length": length,
                    "value_x": round(left + length + 5, 1),
                    "value": cell.value if cell.value is not None else "—",
                    "group": _short(cell.group, 19),
                }
            )
            y += 16
        rows.append({"label": figure.label, "label_y": label_y, "bars": bars})
        y += 6
    summary = "; ".join(
        f"{figure.label}: "
        + ", ".join(
            f"{cell.group} {cell.value if cell.value is not None else 'none'}" if several else str(cell.value)
            for cell in figure.cells
        )
        for figure in figures
    )
    return {
        "kind": "bars",
        "id": _slug(key),
        "title": title,
        "desc": summary + ".",
        "width": CHART_WIDTH,
        "height": y + 4,
        "left": left,
        "several": several,
        "rows": rows,
    }


SPREAD = ("min_", "p25_", "median_", "p75_", "max_")


def spread_chart(section: quality.Section, names: list[str]) -> dict | None:
    """A statistic's spread per group (the range min-max, the box p25-p75 and the median), when the section
    has the five of one measure (``min_days`` ... ``max_days``): the first fill's days."""
    by_suffix: dict[str, dict[str, quality.Figure]] = {}
    for figure in section.figures:
        name = figure.measure.rsplit(".", 1)[-1]
        for prefix in SPREAD:
            if name.startswith(prefix):
                by_suffix.setdefault(name[len(prefix) :], {})[prefix] = figure
    for suffix, found in by_suffix.items():
        if len(found) < len(SPREAD):
            continue
        values: list[list[float] | None] = []
        for i in range(len(names)):
            row = [found[p].cells[i].value for p in SPREAD]
            values.append([float(v) for v in row if v is not None] if None not in row else None)
        known = [v for v in values if v is not None]
        if not known:
            return None
        several = len(names) > 1
        left = LABEL_W if several else 44
        width = CHART_WIDTH - left - 24
        top_value = max(max(v) for v in known) or 1.0
        unit = suffix.replace("_", " ").strip() or "value"

        def x(value: float, left: int = left, width: int = width, top_value: float = top_value) -> float:
            return round(left + width * value / top_value, 1)

        rows: list[dict[str, Any]] = []
        y = 8
        for name, five in zip(names, values, strict=True):
            if five is not None:
                low, p25, mid, p75, high = five
                rows.append(
                    {
                        "group": _short(name, 19),
                        "y": y,
                        "mid_y": y + 9,
                        "min_x": x(low),
                        "max_x": x(high),
                        "p25_x": x(p25),
                        "box_w": round(x(p75) - x(p25), 1),
                        "median_x": x(mid),
                        "text": f"median {mid:g}, {p25:g}-{p75:g} (quartiles), {low:g}-{high:g} (range)",
                    }
                )
            else:
                rows.append({"group": _short(name, 19), "y": y, "mid_y": y + 9, "none": True})
            y += 30
        axis_y = y
        ticks = [{"x": x(v), "label": f"{v:g}"} for v in sorted({0, round(top_value / 2), top_value})]
        label = quality.label_of(found["median_"].measure)
        return {
            "kind": "spread",
            "id": _slug(f"{section.key}-{suffix}-spread"),
            "title": f"Spread of the {unit}: {label.lower()}, quartiles and range",
            "desc": "; ".join(
                f"{r['group']}: {r['text']}" if "text" in r else f"{r['group']}: none" for r in rows
            )
            + ".",
            "width": CHART_WIDTH,
            "height": axis_y + 22,
            "left": left,
            "right": left + width,
            "axis_y": axis_y,
            "tick_y": axis_y + 14,
            "ticks": ticks,
            "several": several,
            "rows": rows,
            "unit": unit,
        }
    return None


TREND_W, TREND_H = 560, 200
T_LEFT, T_RIGHT, T_TOP, T_BOTTOM = 40, 12, 16, 34


def _trend(months: list[tuple[date, date]], measures: list[Any]) -> dict:
    """The month-by-month table and two charts: lost windows (bars) and median days to the first fill (a
    line; a month with no first fill leaves a gap)."""
    rows = []
    for (start, end), m in zip(months, measures, strict=True):
        rows.append(
            {
                "month": start.strftime("%b %Y"),
                "short": start.strftime("%b"),
                "to_date": end < quality.month_period(start.strftime("%Y-%m"))[1],
                "end": end,
                "query": urlencode({"month": start.strftime("%Y-%m")}),
                "lost": m.windows.lost,
                "closed": m.windows.closed,
                "fills": m.first_fill.count,
                "median": m.first_fill.median_days,
            }
        )
    plot_w, plot_h = TREND_W - T_LEFT - T_RIGHT, TREND_H - T_TOP - T_BOTTOM
    step = plot_w / len(rows)

    def chart(key: str, values: list[float | None], title: str, unit: str) -> dict:
        top_value = max([v for v in values if v is not None] + [1])
        top_value = _nice(top_value)
        points = []
        for i, (row, value) in enumerate(zip(rows, values, strict=True)):
            cx = round(T_LEFT + step * (i + 0.5), 1)
            top = None if value is None else round(T_TOP + plot_h * (1 - value / top_value), 1)
            points.append(
                {
                    "x": cx,
                    "bar_x": round(cx - step * 0.3, 1),
                    "bar_w": round(step * 0.6, 1),
                    "y": top,
                    "h": None if top is None else round(T_TOP + plot_h - top, 1),
                    "label": row["short"],
                    "value": value,
                }
            )
        segments: list[str] = []
        current: list[str] = []
        for point in points:  # the line is broken where a month has no value
            if point["y"] is None:
                if len(current) > 1:
                    segments.append(" ".join(current))
                current = []
            else:
                current.append(f"{point['x']},{point['y']}")
        if len(current) > 1:
            segments.append(" ".join(current))
        described = ", ".join(
            f"{row['month']} {'none' if v is None else f'{v:g}'}" for row, v in zip(rows, values, strict=True)
        )
        return {
            "id": key,
            "title": title,
            "desc": f"{unit} by month: {described}.",
            "width": TREND_W,
            "height": TREND_H,
            "left": T_LEFT,
            "right": TREND_W - T_RIGHT,
            "top": T_TOP,
            "bottom": T_TOP + plot_h,
            "label_y": T_TOP + plot_h + 16,
            "year_y": T_TOP + plot_h + 30,
            "points": points,
            "segments": segments,
            "ticks": [
                {"y": round(T_TOP + plot_h * (1 - v / top_value), 1), "label": f"{v:g}"}
                for v in (0, top_value / 2, top_value)
                if v == int(v) or any(isinstance(x, float) for x in values)  # counts: whole ticks only
            ],
            "first_year": rows[0]["month"][-4:],
            "last_year": rows[-1]["month"][-4:],
        }

    return {
        "rows": rows,
        "lost": chart(
            "trend-lost", [r["lost"] for r in rows], "Windows lost, month by month", "Lost windows"
        ),
        "median": chart(
            "trend-median",
            [r["median"] for r in rows],
            "Median days from enrollment to the first fill, month by month",
            "Median days",
        ),
    }


def _nice(value: float) -> float:
    """A round top for an axis: 1, 2, 5 or 10 times a power of ten at or above ``value``."""
    power = 1.0
    while power * 10 < value:
        power *= 10
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return factor * power
    return 10 * power


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _slug(text: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in text.lower())


# ----------------------------------------------------------------------------------------------- comparisons


def _comparisons(whole: quality.GroupFigures) -> list[dict]:
    """The published figures beside the practice's own share of the period, in words."""
    rows = []
    for item in quality.compared(whole.measures):
        if not item.measured:
            practice = "Not measured by isotrack"
        elif item.share is None:
            practice = "Nothing to count in the period"
        else:
            practice = f"{item.share * 100:.1f} % ({item.numerator} of {item.denominator})"
        rows.append({**item._asdict(), "practice": practice})
    return rows


# -------------------------------------------------------------------------------------------- courses behind


class BehindForm(PeriodForm):
    """Which figure's courses: the measure's key, and the split's group when not the practice's."""

    measure = TextField(label="Figure", required=False, max_length=120)
    group = TextField(label="Group", required=False, max_length=300)
    page = forms.IntegerField(label="Page", required=False, min_value=1, max_value=100_000)

    def clean_measure(self) -> str:
        measure = self.cleaned_data["measure"].strip()
        if not measure:
            raise forms.ValidationError("Choose a figure of the report (its count links here).")
        if not quality.is_count(measure):
            raise forms.ValidationError(f"{measure} is not a count of the report: no courses are behind it.")
        return measure


@require_GET
def courses_behind(request: StaffRequest) -> HttpResponse:
    practice = _require_reader(request.user)
    today = practice_today(practice)
    form = BehindForm(request.GET, today=today)
    valid = form.is_valid()
    period, split = form.period(), form.chosen_split()
    context: dict[str, Any] = {
        "form": form,
        "period": period,
        "split": split,
        "rows": [],
        "today": today,
        "page_size": PAGE_SIZE,
        "disclaimer": quality.DISCLAIMER,
    }
    if not valid:
        return render(request, "web/quality/courses.html", context, status=422)
    measure = form.cleaned_data["measure"]
    measured = quality.outcomes(practice, period.end)
    found = quality.groups(practice, period.start, period.end, measured)
    group = found[0]
    if split != "practice":
        name = form.cleaned_data.get("group") or ""
        matches = [g for g in found if g.split == SPLITS[split] and g.name == name]
        if not matches:
            form.add_error("group", f"No {dict(SPLIT_CHOICES)[split].lower()} named {name!r} in the period.")
            return render(request, "web/quality/courses.html", context, status=422)
        group = matches[0]
    behind = quality.courses_behind(group.courses, measure, period.start, period.end)
    pages = max(1, -(-len(behind) // PAGE_SIZE))
    number = min(form.cleaned_data.get("page") or 1, pages)
    shown = behind[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    patients = {
        c.pk: c.patient
        for c in Course.objects.filter(pk__in=[m.course.pk for m in shown]).select_related("patient")
    }
    splits = quality.course_splits(found)
    rows = []
    for m in shown:
        part = quality.course_figures(m.outcome, period.start, period.end).get(measure)
        rows.append(
            {
                "course": m.course,
                "patient": patients.get(m.course.pk),
                "prescriber": splits[m.course.pk].get("prescriber", ""),
                "category": splits[m.course.pk].get("category", ""),
                "age_band": splits[m.course.pk].get("age band", ""),
                "part": part,
            }
        )
    total = quality.measure_rows(group.split, group.name, group.measures)
    figure = next((row.value for row in total if row.measure == measure), 0)
    base = {**period.query, "measure": measure}
    if split != "practice":
        base.update(split=split, group=group.name)
    context.update(
        measure=measure,
        label=quality.label_of(measure),
        definition=quality.definition_of(measure),
        group=group,
        figure=figure,
        count=len(behind),
        rows=rows,
        page=number,
        pages=pages,
        previous="?" + urlencode({**base, "page": number - 1}) if number > 1 else "",
        next="?" + urlencode({**base, "page": number + 1}) if number < pages else "",
        back=reverse("quality") + "?" + urlencode({**period.query, "split": split}),
    )
    return render(request, "web/quality/courses.html", context)


# -------------------------------------------------------------------------------------------------- the CSVs


def _csv_period(request: StaffRequest) -> tuple[Practice, Period, HttpResponse | None]:
    practice = _require_reader(request.user)
    form = PeriodForm(request.GET or None, today=practice_today(practice))
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(str(m) for m in e)}" for name, e in form.errors.items())
        refused = render(request, "web/error.html", {"error": f"Nothing downloaded: {errors}"}, status=422)
        return practice, form.period(), refused
    return practice, form.period(), None


def _csv_response(rows: Sequence[Sequence[Any]], name: str, period: Period) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"isotrack-quality-{name}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def measures_csv(request: StaffRequest) -> HttpResponse:
    """Every group's figures of the period, the rows and header of `isotrack report`; with ``as_recorded=1``,
    its ``--as-recorded`` column too (each figure as the records stood at the period's end)."""
    practice, period, refused = _csv_period(request)
    if refused is not None:
        return refused
    as_recorded = request.GET.get("as_recorded") == "1"
    rows = quality.measures_table(practice, period.start, period.end, as_recorded=as_recorded)
    return _csv_response(rows, "measures-as-recorded" if as_recorded else "measures", period)


@require_GET
def courses_csv(request: StaffRequest) -> HttpResponse:
    """One row per course with a figure of the period that is not zero: its public id, its prescriber,
    category and age band, then its part of each count (the practice's counts' keys, in the rows' order).
    No patient's name or MRN."""
    practice, period, refused = _csv_period(request)
    if refused is not None:
        return refused
    measured = quality.outcomes(practice, period.end)
    found = quality.groups(practice, period.start, period.end, measured)
    keys = quality.figure_keys(found[0].measures)
    splits = quality.course_splits(found)
    rows: list[Sequence[Any]] = [("course", "prescriber", "category", "age band", *keys)]
    for m in measured:
        figures = quality.course_figures(m.outcome, period.start, period.end)
        if not any(figures.values()):
            continue
        of = splits.get(m.course.pk, {})
        rows.append(
            (
                str(m.course.uuid),
                quality.csv_cell(of.get("prescriber", "")),
                of.get("category", ""),
                of.get("age band", ""),
                *(figures.get(key, 0) for key in keys),
            )
        )
    return _csv_response(rows, "courses", period)


# ---------------------------------------------------------------------------------------------- the printout


class PrintForm(forms.Form):
    month = TextField(
        label="Month",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM", "inputmode": "numeric"}),
    )

    def __init__(self, data: Any, *, today: date) -> None:
        super().__init__(data)
        self.today = today

    def clean_month(self) -> Period | None:
        text = self.cleaned_data["month"].strip()
        return _month(text, self.today) if text else None


@require_GET
def report_print(request: StaffRequest) -> HttpResponse:
    """The printable monthly report (``quality.monthly_report``), the month chosen or the last whole one;
    `isotrack report --format html` writes the same report (its stylesheet inline instead of linked)."""
    practice = _require_reader(request.user)
    today = practice_today(practice)
    form = PrintForm(request.GET or None, today=today)
    bad = form.is_bound and not form.is_valid()
    month = form.cleaned_data.get("month") if not bad and form.is_bound else None
    if month is None:
        month = _month(_last_whole_month(today), today)
    start, end, last = quality.month_to_date(month.month, today)
    context = quality.monthly_report(practice, start, end, last)
    context.update(page=True, form=form, dashboard_query=urlencode({"month": month.month}))
    return render(request, "web/quality/report.html", context, status=422 if bad else 200)
