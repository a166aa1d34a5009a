"""The worklist's stored lines stay right: after every kind of write, as days pass, when the practice's policy
or the engine changes, when lines are missing, and when a write lands while a line is being judged. Each time
every line of the worklist is compared with the core's judgment of the course's full records on that day."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from isotrack import core
from isotrack.audit import chain
from isotrack.clinic import worklist_entries
from isotrack.clinic.actions.courses import end_course, start_course
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_lab_result, record_pregnancy_test
from isotrack.clinic.actions.patients import end_contraception, set_patient_category
from isotrack.clinic.actions.visits import record_visit
from isotrack.clinic.models import NOT_JUDGED, Course, CourseStatus, WorklistEntry
from isotrack.clinic.records import course_facts
from isotrack.clinic.worklist import RECENTLY_ENDED_DAYS, WorklistFilters, worklist
from isotrack.demo.generator import MAIN_SITUATIONS, DemoPractice, build_demo
from tests.conftest import reread

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
    return reread(built)


def shown(demo: DemoPractice, today: dt.date) -> dict[object, tuple[object, ...]]:
    """Every line of the worklist on ``today``, as staff see it."""
    found = worklist(demo.staff["nurse"], WorklistFilters(), today=today)
    assert found.first_page and found.last_page
    return {
        line.course_uuid: (
            line.phase,
            line.rule_set_id,
            line.step_code,
            line.step_status,
            line.deadline,
            line.countdown,
            line.days_left,
            line.actor_label,
            line.rule_id,
            line.tier,
            tuple((a.code, a.date, a.open) for a in line.alerts),
            line.dispense_allowed,
        )  # fmt: skip
        for line in found.lines
    }


def judged_afresh(demo: DemoPractice, today: dt.date) -> dict[object, tuple[object, ...]]:
    """What the core says of every course listed on ``today``, judged from the course's full records."""
    recently = today - RECENTLY_ENDED_DAYS * DAY
    courses = Course.objects.filter(patient__practice=demo.practice)
    lines = {}
    for course in courses:
        listed = course.status in (CourseStatus.DRAFT, CourseStatus.ACTIVE, CourseStatus.REVOKED) or (
            course.status == CourseStatus.COMPLETED and course.end is not None and course.end >= recently
        )
        evaluation = core.evaluate(course_facts(course), today)
        found = core.next_step(course_facts(course), today)
        if not listed or (found.step is None and found.phase not in ("qualifying", "active")):
            continue
        step = found.step
        lines[course.uuid] = (
            found.phase,
            found.rule_set_id,
            step.code if step else "",
            step.status if step else "done",
            step.deadline if step else None,
            found.countdown,
            found.days_left,
            core.ACTOR_LABELS[step.actor] if step else "",
            step.rule_id if step else "",
            found.tier,
            tuple((f.alert.code, f.alert.date, f.open) for f in evaluation.findings),
            evaluation.dispense.allowed,
        )
    return lines


def test_the_lines_stay_right_as_the_days_pass(demo):
    # Every day for two weeks (the lines kept between their change dates), then every third day: windows
    # close, tests fall due, the post-course test comes and goes.
    for offset in (*range(15), *range(17, 70, 3)):
        day = TODAY + offset * DAY
        assert shown(demo, day) == judged_afresh(demo, day), day


def test_a_read_judges_only_the_lines_out_of_date(demo):
    practice = demo.practice
    courses = Course.objects.filter(patient__practice=practice)
    assert worklist_entries.refresh(practice, TODAY) == courses.count()  # the first read after the upgrade
    assert worklist_entries.refresh(practice, TODAY) == 0  # the same day, nothing written
    course = first(demo, "treatment_month_2")
    record_visit(actor=demo.staff["nurse"], course=course, day=TODAY)
    assert worklist_entries.refresh(practice, TODAY) == course.patient.courses.count()
    # A new day: only the lines whose change date came, each judged again.
    due = WorklistEntry.objects.filter(practice=practice, changes_on__lte=TODAY + DAY).count()
    assert 0 < due < courses.count()
    assert worklist_entries.refresh(practice, TODAY + DAY) == due
    assert worklist_entries.refresh(practice, TODAY + DAY) == 0


def test_a_new_days_first_read_takes_the_lines_judged_for_it_without_reading_facts(demo, monkeypatch):
    practice, nurse = demo.practice, demo.staff["nurse"]
    all_out_of_date()
    worklist_entries.refresh(practice, TODAY)  # each line judged with the line that follows it
    lines = WorklistEntry.objects.filter(practice=practice)
    day = min(lines.filter(listed=True).values_list("changes_on", flat=True))  # the first that changes
    due = set(lines.filter(changes_on__lte=day).values_list("course__patient", flat=True))
    written = lines.exclude(course__patient__in=due).filter(listed=True).first().course
    record_visit(actor=nurse, course=written, day=TODAY)  # a write: those lines are judged from their facts
    read: list[int] = []
    facts_by_course = worklist_entries.facts_by_course

    def spied(course_ids: list[int]) -> dict[int, core.CourseFile]:
        read.extend(course_ids)
        return facts_by_course(course_ids)

    monkeypatch.setattr(worklist_entries, "facts_by_course", spied)
    assert shown(demo, day) == judged_afresh(demo, day)
    assert sorted(read) == sorted(c.pk for c in written.patient.courses.all())
    taken = lines.filter(course__patient__in=due)
    assert taken.count() == taken.filter(judged_on=day, following="").count() > 0  # none follows it yet


def test_every_stored_line_holds_until_its_change_date(demo):
    """Each line judged on TODAY is the core's judgment on every day before its stamped change date."""
    worklist_entries.refresh(demo.practice, TODAY)
    entries = {e.course_id: e for e in WorklistEntry.objects.filter(practice=demo.practice, listed=True)}
    assert entries
    for course in Course.objects.filter(id__in=entries):
        entry, course_file = entries[course.id], course_facts(course)
        held = core.answer(core.next_step(course_file, TODAY))
        day = TODAY + DAY
        while day < entry.changes_on:
            assert core.answer(core.next_step(course_file, day)) == held, (course.id, day)
            day += DAY


def first(demo: DemoPractice, situation: str) -> Course:
    return demo.courses[situation][0]


WRITES = {
    "a new monthly test": lambda demo, nurse: record_pregnancy_test(
        actor=nurse, course=first(demo, "window_missed"), purpose="monthly", setting="lab",
        specimen_date=TODAY, result="negative",
    ),
    "the prescriber's entry": lambda demo, nurse: record_ipledge_entry(
        actor=demo.staff["doctor"], course=first(demo, "awaiting_prescriber_confirmation"),
        kind="prescriber_confirmation", day=TODAY,
    ),
    "the patient's answers": lambda demo, nurse: record_ipledge_entry(
        actor=nurse, course=first(demo, "awaiting_patient_attestation"), kind="patient_attestation", day=TODAY
    ),
    "a fill": lambda demo, nurse: record_dispense(
        actor=nurse, course=first(demo, "window_closing_today"), day=TODAY, days_supply=30
    ),
    "a lab result": lambda demo, nurse: record_lab_result(
        actor=nurse, course=first(demo, "baseline_labs_missing"), test="triglycerides", effective_date=TODAY,
        value=Decimal(120), unit="mg/dL",
    ),
    "a method stopped": lambda demo, nurse: end_contraception(
        actor=nurse, contraception=first(demo, "treatment_month_3").patient.contraception.first(), end=TODAY
    ),
    "a category changed": lambda demo, nurse: set_patient_category(
        actor=demo.staff["doctor"], patient=first(demo, "awaiting_prescriber_confirmation").patient,
        category="cannot_get_pregnant", reason="Entered wrongly at registration.",
    ),
    "a course ended": lambda demo, nurse: end_course(
        actor=demo.staff["doctor"], course=first(demo, "treatment_month_4"), end=TODAY
    ),
    "a positive test": lambda demo, nurse: record_pregnancy_test(
        actor=nurse, course=first(demo, "treatment_month_5"), purpose="monthly", setting="lab",
        specimen_date=TODAY, result="positive",
    ),
}  # fmt: skip


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_kind_of_write_brings_the_line_up_to_date(demo, write):
    shown(demo, TODAY)  # every line judged and stored
    generations = dict(WorklistEntry.objects.values_list("course_id", "generation"))
    written = WRITES[write](demo, demo.staff["nurse"])
    patient = written if not hasattr(written, "patient") else written.patient
    if isinstance(written, Course) or hasattr(written, "course"):
        patient = (written if isinstance(written, Course) else written.course).patient
    # The write made the lines of the patient's courses out of date, and only those.
    after = dict(WorklistEntry.objects.values_list("course_id", "generation"))
    bumped = {course_id for course_id in after if after[course_id] != generations.get(course_id)}
    assert bumped == set(Course.objects.filter(patient=patient).values_list("id", flat=True))
    assert shown(demo, TODAY) == judged_afresh(demo, TODAY)


def test_a_new_course_gets_its_line(demo):
    shown(demo, TODAY)
    patient = first(demo, "completed").patient
    course = start_course(
        actor=demo.staff["doctor"], patient=patient, prescriber=demo.staff["doctor"], start=TODAY + 40 * DAY,
        mg_per_day=Decimal(40), product="conventional",
    )  # fmt: skip
    lines = shown(demo, TODAY)
    assert course.uuid in lines and lines == judged_afresh(demo, TODAY)


def test_courses_without_a_line_get_one_from_the_nightly_command_or_an_upgrade(demo):
    shown(demo, TODAY)
    WorklistEntry.objects.all().delete()  # courses written by hand, outside the actions
    call_command("refresh_worklist", "--today", TODAY.isoformat(), stdout=io.StringIO())
    assert shown(demo, TODAY) == judged_afresh(demo, TODAY)
    WorklistEntry.objects.all().delete()
    demo.practice.worklist_basis = "an older engine"  # the first read after an upgrade
    assert shown(demo, TODAY) == judged_afresh(demo, TODAY)


def test_a_change_of_the_practice_rules_or_of_the_engine_judges_every_line_again(demo, monkeypatch):
    courses = Course.objects.filter(patient__practice=demo.practice)
    worklist_entries.refresh(demo.practice, TODAY)
    practice = demo.practice
    practice.rules = "us-ipledge-2021"  # no page changes it yet: an administrator's change in the database
    practice.save(update_fields=["rules"])
    lines = shown(demo, TODAY)
    assert lines == judged_afresh(demo, TODAY)
    assert {line[1] for line in lines.values()} == {"us-ipledge-2021"}
    monkeypatch.setattr(worklist_entries, "engine_digest", lambda: "an upgraded engine")
    assert worklist_entries.refresh(practice, TODAY) == courses.count()
    assert worklist_entries.refresh(practice, TODAY) == 0  # checked once per practice, not per line


def test_a_write_that_lands_while_a_line_is_judged_is_never_missed(demo, monkeypatch):
    """A line judged from facts read before a concurrent write must not count as current: the write's
    generation bump makes it out of date, and it is judged again."""
    course = first(demo, "window_missed")
    shown(demo, TODAY)
    record_visit(actor=demo.staff["nurse"], course=course, day=TODAY)  # the line is out of date
    judge = worklist_entries.judge_courses
    calls = []

    def judge_then_a_write_lands(course_ids, today, plans):
        lines = list(judge(course_ids, today, plans))  # judged from the facts read now
        if not calls:  # another process records the new test before these lines are stored
            WRITES["a new monthly test"](demo, demo.staff["nurse"])
        calls.append(course_ids)
        return lines

    monkeypatch.setattr(worklist_entries, "judge_courses", judge_then_a_write_lands)
    lines = shown(demo, TODAY)
    assert len(calls) == 2  # judged again in the same read
    assert lines == judged_afresh(demo, TODAY)
    assert lines[course.uuid][2] != "MONTHLY_TEST"


def test_the_nightly_command_judges_the_day_so_the_first_page_load_need_not(demo):
    out = io.StringIO()
    call_command("refresh_worklist", "--today", TODAY.isoformat(), stdout=out)
    listed = sum(
        Course.objects.filter(patient__practice=practice, status__in=("draft", "active")).count()
        for practice in (demo.practice, demo.pinned_practice)
    )
    first, replayed, *heads = out.getvalue().splitlines()
    judged = int(first.split()[1])
    assert judged >= listed and first.endswith("in 2 practice(s)")
    # The quality report's outcomes of every course (none kept yet), replayed ahead of the day's first report.
    courses = Course.objects.filter(patient__practice__in=(demo.practice, demo.pinned_practice))
    assert (
        replayed
        == f"replayed {courses.exclude(status='entered-in-error').count()} course(s) for the quality report"
    )
    assert heads == [f"audit head {head}" for head in chain.heads()] and len(heads) == 2  # the log keeps them
    assert "Sam" not in out.getvalue() and "@" not in out.getvalue()  # counts and seals only, no patient data
    demo.practice.refresh_from_db()  # as each request reads it
    assert worklist_entries.refresh(demo.practice, TODAY) == 0
    again = io.StringIO()
    call_command("refresh_worklist", "--today", TODAY.isoformat(), stdout=again)
    assert again.getvalue().startswith("judged 0 ")
    assert again.getvalue().splitlines()[1] == "replayed 0 course(s) for the quality report"
    assert shown(demo, TODAY) == judged_afresh(demo, TODAY)


def test_the_nightly_command_refuses_a_bad_day_with_exit_2():
    with pytest.raises(CommandError) as error:
        call_command("refresh_worklist", "--today", "2026-13-01")
    assert error.value.returncode == 2 and "--today" in str(error.value)


def test_the_nightly_command_refuses_a_bad_number_of_workers_with_exit_2():
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(CommandError) as error:
            call_command("refresh_worklist", "--workers", bad)
        assert error.value.returncode == 2
        assert str(error.value) == f"--workers: {bad} is not a whole number of processes from 1"


def all_out_of_date() -> None:
    WorklistEntry.objects.update(changes_on=NOT_JUDGED, plan_changes_on=NOT_JUDGED)
