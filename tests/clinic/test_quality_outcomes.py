"""The quality report's kept outcomes (``QualityOutcome``, isotrack.clinic.quality): a course is replayed only
when its records, the engine or the practice's policy changed, or when a period ends after the day its
outcome serves; a replay that races a write is labelled so that it is replayed again. Synthetic data only."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.clinic import quality
from isotrack.clinic.actions.base import record_practice_event
from isotrack.clinic.actions.corrections import KINDS, void_record
from isotrack.clinic.actions.courses import end_course
from isotrack.clinic.actions.ipledge import record_dispense
from isotrack.clinic.actions.observations import record_pregnancy_test
from isotrack.clinic.actions.patients import (
    change_weight,
    end_contraception,
    record_weight,
    set_patient_category,
)
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
    QualityFigures,
    QualityOutcome,
    Role,
    Weight,
)
from isotrack.clinic.records import facts_by_course
from isotrack.clinic.worklist_entries import mark_stale
from tests.conftest import clinic_clock, make_staff

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


def test_as_recorded_then_an_edit_in_place_reads_as_it_stood(
    practice, prescriber, nurse, filled, weight, methods
):
    """What is edited in place (a weight, a method's end, the course's end and status, the patient's
    category, the practice's settings) reads, as recorded then, with the values it had then: the audit rows
    of the later edits hold them (issue 16, item 5)."""
    end_contraception(actor=nurse, contraception=methods[0], end=date(2026, 6, 15))
    change_weight(
        actor=nurse, weight=weight, effective_date=date(2026, 5, 21), value=Decimal("90.0"), unit="kg"
    )
    end_course(
        actor=prescriber, course=filled, end=date(2026, 6, 20), stopped=True, stop_reason="side_effects"
    )
    set_patient_category(actor=prescriber, patient=filled.patient, category="cannot_get_pregnant", reason="x")
    change_settings(
        actor=make_staff(practice, "admin", Role.PRACTICE_ADMIN), changes={"target_mg_per_kg": 150}
    )
    july = datetime(2026, 7, 1, 12, tzinfo=UTC)  # the records were entered in May; every edit came later
    Course.objects.filter(pk=filled.pk).update(created_at=july - timedelta(days=40))
    for model in (Dispense, IpledgeEntry, DoseSegment, Weight, Contraception):
        model.all_objects.update(recorded_at=july - timedelta(days=30))

    cutoff = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
    then = facts_by_course([filled.pk], recorded_by=cutoff)[filled.pk]
    now = facts_by_course([filled.pk])[filled.pk]
    assert [(w.date, w.kg) for w in then.weights] == [(date(2026, 5, 20), 62)]
    assert [(w.date, w.kg) for w in now.weights] == [(date(2026, 5, 21), 90)]
    assert [use.end for use in then.contraception] == [None, None]
    assert [use.end for use in now.contraception] == [date(2026, 6, 15), None]
    assert (then.course.end, then.patient.category) == (None, "can_get_pregnant")
    assert (now.course.end, now.patient.category) == (date(2026, 6, 20), "cannot_get_pregnant")
    assert then.policy.target_mg_per_kg == float(Practice._meta.get_field("target_mg_per_kg").default)
    assert now.policy.target_mg_per_kg == 150

    (stood,) = quality.outcomes_as_recorded(practice, date(2026, 6, 30))
    (today,) = quality.outcomes(practice, date(2026, 6, 30))
    assert (stood.outcome.closed_as, stood.outcome.stop_reason, stood.outcome.end) == (None, None, None)
    assert (today.outcome.closed_as, today.outcome.stop_reason) == ("stopped", "side_effects")


def test_a_figure_changed_after_its_period_ended_shows_beside_it_as_recorded_then(
    practice, prescriber, filled, replays
):
    """A record entered after a period ended changes the figure of today, and the pages show the figure as
    recorded at the period's end beside it: kept once computed; none for a period still running or one that
    ended before the practice began keeping its records in isotrack (issue 16, item 5)."""
    late = record_pregnancy_test(
        actor=prescriber,
        course=filled,
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 6, 25),
        result="positive",
    )
    zone = ZoneInfo(practice.time_zone)
    end = timezone.now().astimezone(zone).date()  # the period ends the day the course was entered...
    cutoff = datetime.combine(end, time.max, tzinfo=zone)
    PregnancyTest.all_objects.filter(pk=late.pk).update(
        recorded_at=cutoff + timedelta(hours=1)
    )  # ...not the test
    start = date(2026, 6, 1)
    assert quality.recorded_figures(practice, start, end) is None, "the clinic's today: not ended yet"
    with clinic_clock(cutoff + timedelta(days=10)):
        then = quality.recorded_figures(practice, start, end)
        assert then is not None
        replayed = replays.call_count
        assert quality.recorded_figures(practice, start, end) == then and replays.call_count == replayed, (
            "kept"
        )
        before_isotrack = quality.recorded_figures(practice, date(2026, 6, 1), end - timedelta(days=1))
        report = quality.monthly_report(practice, start, end, end)
    assert before_isotrack is None, "the history before the practice's first record was entered afterwards"
    figures = {f.measure: f for section in report["pages"][0].sections for f in section.figures}
    assert figures["safety.positive_tests"].cells[0] == ("practice", quality.PRACTICE_GROUP, 1, True, 0)
    assert figures["courses.started"].cells[0].corrected is False
    html = render_to_string("web/quality/report.html", report)
    assert re.search(r'data-measure="safety.positive_tests">\s*<th[^>]*>[^<]*</th>\s*<td class="num">1<small '
                     r'class="q-then" data-then="0">then 0</small>', html)  # fmt: skip


def test_the_nightly_job_computes_the_last_month_as_recorded_at_its_end(practice, filled):
    """The printed report's "then" of the last whole month is computed ahead of the first print."""
    zone = ZoneInfo(practice.time_zone)
    month = timezone.now().astimezone(zone).date().replace(day=1)  # the practice began in it
    following = (month + timedelta(days=32)).replace(day=1)
    with clinic_clock(datetime.combine(following, time(3), tzinfo=zone)):
        quality.refresh_figures(practice, following)
    kept = QualityFigures.objects.get(as_recorded=True)
    assert (kept.start, kept.end) == (month, following - DAY)
    assert QualityFigures.objects.filter(as_recorded=False).count() == 1, "and the last 30 days' figures"


def test_the_dashboard_shows_a_figure_changed_since_its_period_ended_beside_it(practice, prescriber, filled):
    record_pregnancy_test(
        actor=prescriber,
        course=filled,
        purpose="monthly",
        setting="lab",
        specimen_date=date(2026, 6, 25),
        result="positive",
    )
    zone = ZoneInfo(practice.time_zone)
    end = timezone.now().astimezone(zone).date()
    cutoff = datetime.combine(end, time.max, tzinfo=zone)
    PregnancyTest.all_objects.update(recorded_at=cutoff + timedelta(hours=1))  # entered after the period
    client = Client()
    client.force_login(prescriber)
    with clinic_clock(cutoff + timedelta(days=3)):
        page = client.get("/quality/", {"start": "2026-06-01", "end": end.isoformat()}).content.decode()
    row = re.search(r'<tr data-measure="safety.positive_tests">.*?</tr>', page, re.S)
    assert (
        row is not None
        and 'data-value="1"' in row.group()
        and 'data-then="0"' in row.group()
        and ">then 0</small>" in row.group()
    )
    assert "the figure as recorded at its end is beside it" in page


def test_as_recorded_then_a_days_weights_keep_their_order_when_one_was_moved_since(practice, nurse, filled):
    """Two weights of one day: the core takes the later entered as the day's; moving the first one to another
    day afterwards does not change which one it was then."""
    first = record_weight(
        actor=nurse, patient=filled.patient, effective_date=date(2026, 5, 20), value=Decimal(62), unit="kg"
    )
    record_weight(
        actor=nurse, patient=filled.patient, effective_date=date(2026, 5, 20), value=Decimal(70), unit="kg"
    )
    Weight.all_objects.update(recorded_at=datetime(2026, 5, 21, tzinfo=UTC))
    change_weight(actor=nurse, weight=first, effective_date=date(2026, 5, 25), value=Decimal(62), unit="kg")
    then = facts_by_course([filled.pk], recorded_by=datetime(2026, 6, 30, tzinfo=UTC))[filled.pk]
    assert [(w.date, w.kg) for w in then.weights] == [(date(2026, 5, 20), 62), (date(2026, 5, 20), 70)]


def test_an_entry_of_then_that_is_no_more_shows_as_zero_beside_its_then(practice):
    empty = core.measures_of([], date(2026, 6, 1), date(2026, 6, 30))
    stopped = dataclasses.replace(empty.courses, stopped=1, stop_reasons=(("side_effects", 1),))
    then = quality.GroupFigures("practice", "practice", dataclasses.replace(empty, courses=stopped), 1)
    now = quality.GroupFigures("practice", "practice", empty, 1)
    figures = {f.measure: f for s in quality.layout([now], now, [then]) for f in s.figures}
    (entry,) = figures["courses.stop_reasons"].entries
    assert entry.measure == "courses.stop_reasons.side_effects"
    assert entry.cells[0] == ("practice", "practice", 0, True, 1)


def test_when_the_practices_records_began_for_a_periods_then(practice, prescriber, filled):
    """The first record of a patient, or the latest import of the practice's spreadsheets if later; the
    report of a month printed on its last day says nothing of it."""
    first = quality.began(practice)
    assert first is not None and first >= timezone.now() - timedelta(minutes=5)
    admin = make_staff(practice, "admin", Role.PRACTICE_ADMIN)
    with transaction.atomic():
        record_practice_event(
            actor=admin, action=EventCode.PRACTICE_IMPORT, instance=practice, after={"rows": 1}
        )
    assert quality.began(practice) > first
    zone = ZoneInfo(practice.time_zone)
    today = timezone.now().astimezone(zone).date()
    last = (today.replace(day=1) + timedelta(days=32)).replace(day=1) - DAY
    with clinic_clock(datetime.combine(last, time(12), tzinfo=zone)):
        report = quality.monthly_report(practice, today.replace(day=1), last, last)
    assert report["began"] is None and report["as_recorded"] is False
    with clinic_clock(datetime.combine(last + DAY, time(12), tzinfo=zone)):
        before = quality.monthly_report(practice, date(2026, 6, 1), date(2026, 6, 30), date(2026, 6, 30))
    assert before["began"] == quality.began(practice) and before["as_recorded"] is False
