"""The nightly command's worker processes judge what one process judges, and an error in one stops the
command: transactional tests (the workers read only what is committed), apart from the module whose demo is
built once inside a transaction."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from django.core.management import call_command
from django.db import connection

from isotrack.clinic import worklist_entries
from isotrack.clinic.models import NOT_JUDGED, PlanEntry, WorklistEntry
from isotrack.clinic.plan_entries import PLAN_COLUMNS
from isotrack.demo.generator import MAIN_SITUATIONS, build_demo
from tests.clinic.test_worklist_entries import DAY, TODAY, all_out_of_date, judged_afresh, shown


def stored(practices: list[object]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every stored line (what a judgment writes, by course) and every stored plan row of the practices."""
    lines = WorklistEntry.objects.filter(practice__in=practices).order_by("course_id")
    plans = PlanEntry.objects.filter(practice__in=practices)
    plans = plans.order_by("course_id", "kind_order", "number", "date")
    return (
        list(lines.values_list("course_id", *worklist_entries.JUDGED_FIELDS, *worklist_entries.PLAN_FIELDS)),
        list(plans.values_list(*PLAN_COLUMNS)),
    )


@pytest.mark.django_db(transaction=True)  # the worker processes read only what is committed
def test_the_nightly_command_judges_in_several_processes_what_one_process_judges(monkeypatch, tmp_path):
    demo = build_demo(patients=len(MAIN_SITUATIONS), today=TODAY)
    practices = [demo.practice, demo.pinned_practice]
    monkeypatch.setattr(worklist_entries, "CHUNK", 3)  # a small practice in several chunks
    judge, pids = worklist_entries._judge, tmp_path / "pids"

    def logged(chunk: list[dict[str, object]], today: dt.date, *, follow: bool = False) -> None:
        with pids.open("a") as log:
            log.write(f"{os.getpid()}\n")
        judge(chunk, today, follow=follow)

    monkeypatch.setattr(worklist_entries, "_judge", logged)
    days = (TODAY, TODAY + DAY, TODAY + 9 * DAY)  # the floating events moved on the nights in between
    all_out_of_date()
    for day in days:
        call_command("refresh_worklist", "--today", day.isoformat(), "--workers", "2", stdout=io.StringIO())
        demo.staff["nurse"].practice.refresh_from_db()  # as each request reads it
        assert shown(demo, day) == judged_afresh(demo, day)
    in_several = stored(practices)
    judged_by = [int(pid) for pid in pids.read_text().split()]
    if connection.vendor == "postgresql":  # the chunks by worker processes (a lone chunk here)
        assert len(set(judged_by) - {os.getpid()}) > 1
    else:  # SQLite takes one writer at a time: the chunks judged here, one after another
        assert set(judged_by) == {os.getpid()}

    all_out_of_date()
    for day in days:
        call_command("refresh_worklist", "--today", day.isoformat(), "--workers", "1", stdout=io.StringIO())
    assert stored(practices) == in_several
    assert in_several[1]  # the plans are compared too


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_worker_process_stops_the_nightly_command(monkeypatch):
    demo = build_demo(patients=len(MAIN_SITUATIONS), today=TODAY)
    monkeypatch.setattr(worklist_entries, "CHUNK", 3)

    def broken(chunk: list[dict[str, object]], today: dt.date, *, follow: bool = False) -> None:
        raise RuntimeError("the engine failed")

    monkeypatch.setattr(worklist_entries, "_judge", broken)
    all_out_of_date()
    with pytest.raises(RuntimeError, match="the engine failed"):
        call_command("refresh_worklist", "--today", TODAY.isoformat(), "--workers", "2")
    assert not WorklistEntry.objects.filter(practice=demo.practice).exclude(changes_on=NOT_JUDGED).exists()
