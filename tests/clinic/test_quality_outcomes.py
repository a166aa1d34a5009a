"""The quality report's kept outcomes (``QualityOutcome``, isotrack.clinic.quality): a course is replayed only
when its records, the engine or the practice's policy changed, or when a period ends after the day its
outcome serves; a replay that races a write is labelled so that it is replayed again. Synthetic data only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest

from isotrack import core
from isotrack.clinic import quality
from isotrack.clinic.actions.corrections import KINDS, void_record
from isotrack.clinic.actions.ipledge import record_dispense
from isotrack.clinic.actions.observations import record_pregnancy_test
from isotrack.clinic.actions.practice_settings import change_settings
from isotrack.clinic.actions.visits import record_visit
from isotrack.clinic.models import (
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    IpledgeEntry,
    Practice,
    PregnancyTest,
    QualityOutcome,
    Role,
    Weight,
)
from isotrack.clinic.worklist_entries import mark_stale
from tests.conftest import make_staff

END = date(2026, 7, 31)
DAY = timedelta(days=1)


@pytest.fixture
def replays():
    """Counts the core's replays (``core.course_outcome``) while letting each run."""
    with mock.patch.object(core, "course_outcome", wraps=core.course_outcome) as counted:
        yield counted


@pytest.fixture
def filled(prescriber, course):
    record_dispense(actor=prescriber, course=course, day=date(2026, 6, 1), days_supply=30)
    return course


def test_a_kept_outcome_is_summed_again_without_a_replay(practice, filled, replays):
    first = quality.outcomes(practice, END)
    assert replays.call_count == 1 and QualityOutcome.objects.count() == 1
    second = quality.outcomes(practice, END)
    assert replays.call_count == 1, "nothing changed: the kept outcome served"
    assert [m.outcome for m in second] == [m.outcome for m in first]


def test_a_write_to_the_patients_records_replays_the_course(practice, prescriber, filled, replays):
    quality.outcomes(practice, END)
    record_visit(actor=prescriber, course=filled, day=date(2026, 6, 20))
    quality.outcomes(practice, END)
    assert replays.call_count == 2


def test_a_change_of_the_practices_policy_replays_every_course(practice, prescriber, filled, replays):
    quality.outcomes(practice, END)
    manager = make_staff(practice, "manager", Role.PRACTICE_ADMIN)
    change_settings(actor=manager, changes={"target_mg_per_kg": 130})
    practice.refresh_from_db()
    quality.outcomes(practice, END)
    assert replays.call_count == 2, "the basis (engine and policy) changed"


def test_a_period_after_the_day_served_replays_only_when_the_replay_could_have_changed(
    practice, filled, replays
):
    (measured,) = quality.outcomes(practice, END, today=END)
    outcome = measured.outcome
    assert outcome.through == END and outcome.changes_on is not None and outcome.changes_on > END
    quality.outcomes(practice, outcome.changes_on - DAY)
    assert replays.call_count == 1, "the last answer holds up to the day before its change"
    quality.outcomes(practice, outcome.changes_on)
    assert replays.call_count == 2


def test_a_replay_that_races_a_write_is_replayed_again(practice, filled, replays):
    """The generation is read with the course, before the facts: a write landing between them leaves the
    kept outcome labelled with the older generation, so the next read replays it."""
    courses = quality.report_courses(practice, END)
    mark_stale(filled.patient_id)  # a write lands after the courses (and their generations) were read
    quality.replay(practice, courses, quality.basis(practice), END)
    kept = QualityOutcome.objects.get(course=filled)
    assert kept.generation < Course.objects.get(pk=filled.pk).worklist_entry.generation
    quality.outcomes(practice, END)
    assert replays.call_count == 2


def test_a_replay_that_races_a_change_of_settings_is_not_kept(practice, filled):
    """The basis is read from the practice as the request found it; the facts read the practice's row again.
    When the settings changed in between, the replay is right for the new policy but is not kept under the
    old basis (it would be served after the settings changed back)."""
    as_found = Practice.objects.get(pk=practice.pk)
    manager = make_staff(practice, "manager", Role.PRACTICE_ADMIN)
    change_settings(actor=manager, changes={"target_mg_per_kg": 100})
    courses = quality.report_courses(as_found, END)
    (replayed,) = quality.replay(as_found, courses, quality.basis(as_found), END).values()
    assert replayed.first_fill.filled_on == date(2026, 6, 1)
    assert not QualityOutcome.objects.exists()


def test_an_outcome_kept_in_another_shape_is_replayed(practice, filled, replays):
    quality.outcomes(practice, END)
    QualityOutcome.objects.update(outcome={"format": 0})
    (measured,) = quality.outcomes(practice, END)
    assert replays.call_count == 2 and measured.outcome.first_fill.filled_on == date(2026, 6, 1)


def test_the_nightly_job_replays_what_the_day_would_and_nothing_else(practice, filled, replays):
    assert quality.refresh_outcomes(practice, END) == 1
    assert quality.refresh_outcomes(practice, END) == 0
    quality.outcomes(practice, END)
    assert replays.call_count == 1


def test_another_practices_courses_are_never_read(practice, other_practice, filled, outsider):
    assert quality.outcomes(other_practice, END) == []
    assert {m.course.pk for m in quality.outcomes(practice, END)} == {filled.pk}


def test_as_recorded_then_a_later_entry_or_correction_is_not_a_rewrite(practice, prescriber, filled):
    """The month as its records stood at its end (issue 16, item 5): a test entered after the month and a
    void made after it leave the month's figures as they were then; the figures of today show them."""
    record_pregnancy_test(
        actor=prescriber,
        course=filled,
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 6, 25),
        result="positive",
    )
    late = record_pregnancy_test(
        actor=prescriber,
        course=filled,
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 6, 28),
        result="positive",
    )
    july = datetime(2026, 7, 1, 12, tzinfo=UTC)  # everything above was entered in June but the late test
    Course.objects.filter(pk=filled.pk).update(created_at=july - timedelta(days=40))
    for model in (Dispense, PregnancyTest, IpledgeEntry, DoseSegment, Weight, Contraception):
        model.all_objects.update(recorded_at=july - timedelta(days=30))
    PregnancyTest.all_objects.filter(pk=late.pk).update(recorded_at=july + timedelta(days=3))
    first = PregnancyTest.objects.get(specimen_date=date(2026, 6, 25))
    void_record(actor=prescriber, kind=KINDS["pregnancy-test"], item=first, reason="wrong patient's result")
    PregnancyTest.all_objects.filter(pk=first.pk).update(voided_at=july + timedelta(days=5))

    (then,) = quality.outcomes_as_recorded(practice, date(2026, 6, 30))
    (now,) = quality.outcomes(practice, date(2026, 6, 30))
    assert then.outcome.positive_tests == (date(2026, 6, 25),), "as recorded by June 30: not yet voided"
    assert now.outcome.positive_tests == (date(2026, 6, 28),), "today: the late test; the first one voided"
    assert then.outcome.first_fill == now.outcome.first_fill, "what was recorded in time is the same"
    assert quality.outcomes_as_recorded(practice, date(2026, 5, 15)) == [], "created on 2026-05-22"
