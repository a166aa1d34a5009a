"""The dashboard's kept figures (``QualityFigures``, isotrack.clinic.quality.dashboard_figures): computed once
per practice and period and shown again while nothing they were computed from changed (the courses'
records, the engine and the policy, the prescribers' names); computed again otherwise; the same figures as a
fresh computation; a look at kept figures costs the same few queries whatever the practice's size.
Synthetic data only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from isotrack import core
from isotrack.clinic import quality
from isotrack.clinic.actions.courses import end_course, start_course
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.actions.practice_settings import change_settings
from isotrack.clinic.models import QualityFigures, Role
from tests.conftest import make_staff

START, END = date(2026, 6, 1), date(2026, 7, 31)


@pytest.fixture
def sums():
    """Counts the core's sums of outcomes (``core.measures_of``) while letting each run."""
    with mock.patch.object(core, "measures_of", wraps=core.measures_of) as counted:
        yield counted


def add_courses(practice, prescriber, count: int, first: int = 0) -> list:
    found = []
    for n in range(first, first + count):
        patient = register_patient(
            actor=prescriber,
            mrn=f"QF-{n}",
            given_name="Synthetic",
            family_name=f"Figures{n}",
            birth_date=date(1990 + n % 20, 1, 1),
            category="cannot_get_pregnant",
        )
        course = start_course(
            actor=prescriber,
            patient=patient,
            prescriber=prescriber,
            start=date(2026, 6, 1),
            mg_per_day=Decimal(40),
            product="conventional",
        )
        record_ipledge_entry(actor=prescriber, course=course, kind="enrollment", day=date(2026, 5, 20))
        record_dispense(actor=prescriber, course=course, day=date(2026, 6, 1), days_supply=30)
        found.append(course)
    return found


def fresh(practice, start: date = START, end: date = END) -> tuple[list, list]:
    """The figures computed without anything kept: each group's (split, name, measures, courses) and the
    trend's measures."""
    measured = quality.outcomes(practice, end)
    found = quality.groups(practice, start, end, measured)
    return (
        [(g.split, g.name, g.measures, len(g.courses)) for g in found],
        quality.trend_of(measured, quality.trend_periods(end)),
    )


def shown(figures: quality.Figures) -> tuple[list, list]:
    return [(g.split, g.name, g.measures, g.course_count) for g in figures.groups], figures.trend


def test_kept_figures_are_shown_again_without_summing_and_equal_a_fresh_computation(
    practice, prescriber, sums
):
    add_courses(practice, prescriber, 3)
    first = quality.dashboard_figures(practice, START, END)
    summed = sums.call_count
    assert summed > 1 and QualityFigures.objects.count() == 1
    again = quality.dashboard_figures(practice, START, END)
    assert sums.call_count == summed, "nothing changed: the kept figures served"
    assert shown(again) == shown(first) == fresh(practice)
    assert again.groups[0].measures.courses.started == 3 and len(again.trend) == quality.TREND_MONTHS


def test_a_write_to_a_course_computes_the_figures_again(practice, prescriber, sums):
    (course, *_) = add_courses(practice, prescriber, 2)
    quality.dashboard_figures(practice, START, END)
    summed = sums.call_count
    end_course(actor=prescriber, course=course, end=date(2026, 7, 20), stopped=True, stop_reason="other")
    after = quality.dashboard_figures(practice, START, END)
    assert sums.call_count > summed
    assert after.groups[0].measures.courses.stopped == 1
    assert shown(after) == fresh(practice)


def test_a_new_course_computes_the_figures_again(practice, prescriber):
    add_courses(practice, prescriber, 1)
    assert quality.dashboard_figures(practice, START, END).groups[0].course_count == 1
    add_courses(practice, prescriber, 1, first=1)
    assert quality.dashboard_figures(practice, START, END).groups[0].course_count == 2


def test_a_change_of_the_practices_policy_computes_the_figures_again(practice, prescriber, sums):
    add_courses(practice, prescriber, 1)
    quality.dashboard_figures(practice, START, END)
    summed = sums.call_count
    change_settings(
        actor=make_staff(practice, "manager", Role.PRACTICE_ADMIN), changes={"target_mg_per_kg": 130}
    )
    practice.refresh_from_db()
    quality.dashboard_figures(practice, START, END)
    assert sums.call_count > summed


def test_a_prescriber_renamed_shows_under_the_new_name(practice, prescriber):
    add_courses(practice, prescriber, 1)
    before = quality.dashboard_figures(practice, START, END)
    assert [g.name for g in before.groups if g.split == "prescriber"] == [prescriber.display_name]
    prescriber.last_name = "Renamed"
    prescriber.save()
    after = quality.dashboard_figures(practice, START, END)
    assert [g.name for g in after.groups if g.split == "prescriber"] == [prescriber.display_name]
    assert "Renamed" in prescriber.display_name


def test_each_period_is_kept_apart(practice, prescriber):
    add_courses(practice, prescriber, 2)
    june = quality.dashboard_figures(practice, START, date(2026, 6, 30))
    july = quality.dashboard_figures(practice, date(2026, 7, 1), END)
    assert QualityFigures.objects.count() == 2
    assert june.groups[0].measures.courses.started == 2 and july.groups[0].measures.courses.started == 0
    assert shown(quality.dashboard_figures(practice, START, date(2026, 6, 30))) == shown(june)


def test_figures_kept_in_another_shape_are_computed_again(practice, prescriber, sums):
    add_courses(practice, prescriber, 1)
    first = quality.dashboard_figures(practice, START, END)
    summed = sums.call_count
    QualityFigures.objects.update(figures={"format": 0})
    again = quality.dashboard_figures(practice, START, END)
    assert sums.call_count > summed and shown(again) == shown(first)
    assert QualityFigures.objects.get().figures["format"] == quality.FIGURES_FORMAT


def test_figures_computed_while_a_write_lands_are_not_kept_and_the_next_look_shows_the_write(
    practice, prescriber, sums
):
    """The fingerprint is read before the outcomes and again after the figures: a write landing between them
    leaves nothing kept, so the next look computes them again (and keeps them)."""
    (course, *_) = add_courses(practice, prescriber, 1)
    real = quality.outcomes

    def outcomes_after_a_write(*args, **kwargs):
        end_course(actor=prescriber, course=course, end=date(2026, 7, 20), stopped=True, stop_reason="other")
        return real(*args, **kwargs)

    with mock.patch.object(quality, "outcomes", side_effect=outcomes_after_a_write):
        quality.dashboard_figures(practice, START, END)
    assert not QualityFigures.objects.exists()
    again = quality.dashboard_figures(practice, START, END)
    assert again.groups[0].measures.courses.stopped == 1
    assert QualityFigures.objects.get().fingerprint == quality.fingerprint(practice)
    summed = sums.call_count
    quality.dashboard_figures(practice, START, END)
    assert sums.call_count == summed


def test_figures_computed_while_the_settings_change_and_change_back_are_not_kept(practice, prescriber):
    """Settings changed while the figures are computed (the replays then follow the new policy) and changed
    back later must not bring back figures of the passing settings: they are shown once, not kept."""
    add_courses(practice, prescriber, 1)
    manager = make_staff(practice, "manager", Role.PRACTICE_ADMIN)
    real = quality.outcomes

    def outcomes_while_the_settings_change(*args, **kwargs):
        change_settings(actor=manager, changes={"target_mg_per_kg": 60})
        return real(*args, **kwargs)

    with mock.patch.object(quality, "outcomes", side_effect=outcomes_while_the_settings_change):
        quality.dashboard_figures(practice, START, END)
    assert not QualityFigures.objects.exists()
    change_settings(actor=manager, changes={"target_mg_per_kg": 150})
    practice.refresh_from_db()
    assert shown(quality.dashboard_figures(practice, START, END)) == fresh(practice)


def test_the_practice_keeps_the_figures_of_its_newest_periods_only(practice, prescriber):
    add_courses(practice, prescriber, 1)
    with mock.patch.object(quality, "KEEP_PERIODS", 3):
        for day in range(1, 6):
            quality.dashboard_figures(practice, START, date(2026, 7, day))
    kept = sorted(QualityFigures.objects.values_list("end", flat=True))
    assert kept == [date(2026, 7, 3), date(2026, 7, 4), date(2026, 7, 5)]


def test_a_look_at_kept_figures_costs_the_same_queries_whatever_the_practices_size(practice, prescriber):
    add_courses(practice, prescriber, 2)
    quality.dashboard_figures(practice, START, END)
    with CaptureQueriesContext(connection) as small:
        quality.dashboard_figures(practice, START, END)
    add_courses(practice, prescriber, 8, first=2)
    quality.dashboard_figures(practice, START, END)
    with CaptureQueriesContext(connection) as large:
        figures = quality.dashboard_figures(practice, START, END)
    assert figures.groups[0].course_count == 10
    assert len(large) == len(small) <= 5, [q["sql"] for q in large.captured_queries]


def test_the_nightly_job_computes_the_default_period_and_forgets_old_figures(practice, prescriber, sums):
    add_courses(practice, prescriber, 1)
    today = date(2026, 12, 1)
    quality.dashboard_figures(practice, START, END)
    QualityFigures.objects.update(computed_at=datetime(2026, 1, 1, tzinfo=UTC))
    quality.refresh_figures(practice, today)
    (kept,) = QualityFigures.objects.all()
    assert (kept.start, kept.end) == (today - timedelta(days=quality.DEFAULT_DAYS - 1), today)
    summed = sums.call_count
    quality.dashboard_figures(practice, kept.start, kept.end)
    assert sums.call_count == summed, "the day's first look reads the figures the night computed"
