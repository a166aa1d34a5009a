"""The calendar's stored plans stay right: read on the days after they were judged, after every kind of write,
for courses the worklist does not list, when a course leaves the calendar, and when a write lands while a plan
is being judged. Each time every stored event, read with its status of the day, is compared with the core's
calendar of every course on the practice's calendar, computed afresh from the full records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from isotrack import core
from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic import worklist_entries
from isotrack.clinic.actions import visits
from isotrack.clinic.models import NOT_JUDGED, Course, CourseStatus, PlanEntry, WorklistEntry
from isotrack.demo.generator import MAIN_SITUATIONS, DemoPractice, build_demo
from tests.clinic.test_worklist_entries import WRITES, first

TODAY = dt.date(2026, 11, 25)
DAY = dt.timedelta(days=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """One demo for the module, rolled back at its end; each test's writes are rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_demo(patients=len(MAIN_SITUATIONS), today=TODAY)
        transaction.set_rollback(True)


@pytest.fixture
def demo(built, db) -> DemoPractice:
    return built


def stored(demo: DemoPractice, day: dt.date) -> set[tuple[object, core.PlannedEvent]]:
    """Every stored event of the practice as the calendar reads it on ``day`` (after the read's refresh)."""
    today = clinic_calendar.refresh(demo.practice, day)
    page = clinic_calendar.events_between(demo.practice, today, dt.date.min, dt.date.max, size=100_000)
    assert page.last_page
    return {(entry.course_uuid, entry.event) for entry in page.entries}


def planned_afresh(demo: DemoPractice, day: dt.date) -> set[tuple[object, core.PlannedEvent]]:
    """What the core plans on ``day`` for every course on the practice's calendar, from the full records."""
    return {(e.course.uuid, e.event) for e in clinic_calendar.practice_entries(demo.practice, day)}


def test_the_stored_plans_read_on_the_days_after_are_the_cores_calendar(demo):
    # Every day for two weeks (plans kept between their change dates), then every ninth day for half a
    # year: windows close, tests fall due, projected fills move, completed courses leave the calendar.
    for offset in (*range(15), *range(20, 190, 9)):
        day = TODAY + offset * DAY
        assert stored(demo, day) == planned_afresh(demo, day), day


def test_a_plan_is_judged_again_only_on_its_own_change_date_and_its_floating_events_move(demo):
    practice = demo.practice
    stored(demo, TODAY)
    assert worklist_entries.refresh(practice, TODAY, lines=False, plans=True) == 0  # the same day: none
    ids = set(PlanEntry.objects.values_list("id", flat=True))
    stored(demo, TODAY)
    assert set(PlanEntry.objects.values_list("id", flat=True)) == ids  # nothing rewritten
    # The calendar's reads judged the plans, not the worklist's lines; the worklist's reads judge no plan.
    lines = WorklistEntry.objects.filter(practice=practice)
    assert lines.filter(changes_on=NOT_JUDGED).count() == lines.count()
    assert worklist_entries.refresh(practice, TODAY) == lines.count()
    assert set(PlanEntry.objects.values_list("id", flat=True)) == ids
    # A new day: only the courses whose plan's change date came get a new plan.
    due = set(lines.filter(plan_changes_on__lte=TODAY + DAY).values_list("course_id", flat=True))
    kept = set(PlanEntry.objects.exclude(course_id__in=due).values_list("id", flat=True))
    assert stored(demo, TODAY + DAY) == planned_afresh(demo, TODAY + DAY)
    assert kept <= set(PlanEntry.objects.values_list("id", flat=True))
    assert 0 < len(due) < Course.objects.filter(patient__practice=practice).count()
    # A plan with events placed from the day (a screening test still to do, a late fill's projected
    # cycles) is not judged again on the next day: its floating events are moved to it, the rows kept.
    floating = PlanEntry.objects.filter(placed_on__isnull=False)
    assert set(floating.values_list("placed_on", flat=True)) == {TODAY + DAY}
    holding = lines.filter(
        course_id__in=floating.values("course_id"), plan_changes_on__gt=TODAY + 2 * DAY
    ).values_list("course_id", flat=True)
    assert holding.exists()
    rows = floating.filter(course_id__in=list(holding))
    before = {row["id"]: row for row in rows.values("id", "date", "earliest", "latest")}
    assert stored(demo, TODAY + 2 * DAY) == planned_afresh(demo, TODAY + 2 * DAY)
    after = {row["id"]: row for row in rows.values("id", "date", "earliest", "latest", "placed_on")}
    assert after.keys() == before.keys()
    for key, row in after.items():
        assert row["placed_on"] == TODAY + 2 * DAY
        assert [row[name] for name in ("date", "earliest", "latest")] == [
            before[key][name] + DAY for name in ("date", "earliest", "latest")
        ]


def test_every_kind_of_write_makes_the_plan_stale_and_the_next_read_judges_it(demo):
    nurse = demo.staff["nurse"]
    assert stored(demo, TODAY) == planned_afresh(demo, TODAY)
    for name in sorted(WRITES):
        before = set(PlanEntry.objects.values_list("id", "course_id"))
        written = WRITES[name](demo, nurse)
        patient = written.patient if hasattr(written, "patient") else written
        if isinstance(written, Course) or hasattr(written, "course"):
            patient = (written if isinstance(written, Course) else written.course).patient
        stale = WorklistEntry.objects.filter(
            course__patient=patient, changes_on=NOT_JUDGED, plan_changes_on=NOT_JUDGED
        )
        assert stale.exists(), name  # the write marked the patient's lines and their plans out of date
        assert set(PlanEntry.objects.values_list("id", "course_id")) == before, name  # not yet judged
        assert stored(demo, TODAY) == planned_afresh(demo, TODAY), name


def test_a_course_the_worklist_does_not_list_is_planned_with_its_own_change_date(demo):
    # A completed course without a last day of dosing (written outside the actions): the worklist does not
    # list it, the calendar shows it.
    course = first(demo, "treatment_month_3")
    Course.objects.filter(pk=course.pk).update(status=CourseStatus.COMPLETED, end=None)
    worklist_entries.mark_stale(course.patient_id)
    assert stored(demo, TODAY) == planned_afresh(demo, TODAY)
    worklist_entries.refresh(demo.practice, TODAY)
    line = WorklistEntry.objects.get(course=course)
    assert not line.listed and line.plan_changes_on < worklist_entries.NEVER
    assert PlanEntry.objects.filter(course=course).exists()
    day = line.plan_changes_on
    assert stored(demo, day) == planned_afresh(demo, day)


def test_a_course_leaves_the_calendar_on_its_day_and_a_stopped_one_stays_while_its_follow_up_is_pending(demo):
    completed = first(demo, "completed")
    stopped = first(demo, "pregnancy_test_positive")
    leaves = completed.end + (clinic_calendar.KEEP_ENDED_COURSES_DAYS + 1) * DAY
    stored(demo, TODAY)
    assert WorklistEntry.objects.get(course=completed).plan_changes_on <= leaves
    on_the_day_before = {uuid for uuid, _ in stored(demo, leaves - DAY)}
    assert completed.uuid in on_the_day_before
    later = stored(demo, leaves)
    assert completed.uuid not in {uuid for uuid, _ in later} and later == planned_afresh(demo, leaves)
    long_after = TODAY + 200 * DAY
    assert stopped.uuid in {uuid for uuid, _ in stored(demo, long_after)}
    assert stored(demo, long_after) == planned_afresh(demo, long_after)


def test_a_write_that_lands_while_a_plan_is_judged_leaves_no_plan_of_the_old_facts(demo, monkeypatch):
    course = first(demo, "window_missed")
    stored(demo, TODAY)
    visits.record_visit(actor=demo.staff["nurse"], course=course, day=TODAY)  # its line is out of date
    judge = worklist_entries.judge_courses
    calls = []

    def judge_then_a_write_lands(course_ids, today, plans):
        lines = list(judge(course_ids, today, plans))  # judged from the facts read now
        if not calls:  # another process records the new test before these lines and plans are stored
            WRITES["a new monthly test"](demo, demo.staff["nurse"])
        calls.append(course_ids)
        return lines

    monkeypatch.setattr(worklist_entries, "judge_courses", judge_then_a_write_lands)
    assert stored(demo, TODAY) == planned_afresh(demo, TODAY)
    assert len(calls) == 2  # judged again in the same read
    test = PlanEntry.objects.get(course=course, kind="pregnancy_test", number=course.dispenses.count() + 1)
    assert test.status == "done" and test.done_on == TODAY
