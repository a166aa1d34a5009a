"""The access log and the practice audit page: every look at a patient's record writes one sealed row (who,
when, which patient, through what); the administrator and the auditor read changes and looks together,
filtered, a page at a time, and as CSV."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from isotrack.audit import chain
from isotrack.audit.models import AccessEvent
from isotrack.audit.trail import record_access
from isotrack.clinic import audit_log
from isotrack.clinic.actions import corrections
from isotrack.clinic.actions.patients import record_weight
from isotrack.clinic.models import Role
from isotrack.notify.actions import create_feed_token
from tests.api.conftest import TokenClient, token_for
from tests.conftest import TODAY, make_staff

pytestmark = pytest.mark.django_db
AUDIT = reverse("practice_audit")


@pytest.fixture
def admin(practice):
    return make_staff(practice, "admin", Role.PRACTICE_ADMIN)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_nurses_course_page_then_everything_by_token_are_two_looks_on_the_audit_page_and_its_csv(
    nurse, prescriber, course, admin, auditor
):
    before = AccessEvent.objects.count()
    assert logged_in(nurse).get(reverse("course", args=[course.uuid])).status_code == 200
    api = TokenClient(token_for(prescriber))
    assert api.get(f"/fhir/R4/Patient/{course.patient.uuid}/$everything").status_code == 200
    looks = list(AccessEvent.objects.order_by("id")[before:])
    assert [(look.actor, look.patient, look.channel, look.view) for look in looks] == [
        (nurse, course.patient, "page", "course"),
        (prescriber, course.patient, "fhir", "fhir_everything"),
    ]
    assert looks[1].detail == "API token test"
    for reader in (admin, auditor):
        page = logged_in(reader).get(AUDIT, {"kind": "looks", "mrn": course.patient.mrn})
        rows = page.context["rows"]
        assert [(row.label, row.actor, row.channel_label) for row in rows] == [
            ("FHIR Patient $everything", prescriber.display_name, "FHIR"),
            ("Course page", nurse.display_name, "page"),
        ]
        text = page.content.decode()
        assert "FHIR Patient $everything" in text and "Course page" in text
        exported = csv_rows(logged_in(reader).get(AUDIT, {"mrn": course.patient.mrn, "format": "csv"}))
        looked = [row for row in exported if row["kind"] == "look"]
        assert [(row["what"], row["who"], row["through"], row["patient_mrn"]) for row in looked[-2:]] == [
            ("FHIR Patient $everything", prescriber.display_name, "FHIR", course.patient.mrn),
            ("Course page", nurse.display_name, "page", course.patient.mrn),
        ]
        assert {row["what"] for row in exported if row["kind"] == "change"} >= {"Course started"}
    code = io.StringIO()
    call_command("verify_audit", stdout=code)
    assert "access:" in code.getvalue()  # the looks are a sealed chain of their own


def test_a_look_that_fails_or_a_write_is_not_a_look_and_a_list_is_one(nurse, course, other_practice):
    client = logged_in(nurse)
    before = AccessEvent.objects.count()
    assert client.get(reverse("patient", args=["00000000-0000-4000-8000-000000000000"])).status_code == 404
    assert client.get(reverse("two_factor")).status_code == 200  # an account page: no patient data
    assert AccessEvent.objects.count() == before
    assert client.get(reverse("patients")).status_code == 200
    listed = AccessEvent.objects.order_by("id").last()
    assert (listed.patient, listed.view, listed.channel) == (None, "patients", "page")
    assert client.get(reverse("course_print", args=[course.uuid])).status_code == 200
    printed = AccessEvent.objects.order_by("id").last()
    assert (printed.patient, printed.channel) == (course.patient, "print")


def test_a_feed_fetched_by_its_token_is_a_look_by_the_member_who_made_it(nurse, patient):
    issued = create_feed_token(actor=nurse, scope="patient", patient=patient)
    assert Client().get(reverse("calendar_feed", args=[issued.secret])).status_code == 200
    look = AccessEvent.objects.order_by("id").last()
    assert (look.actor, look.patient, look.channel) == (nurse, patient, "feed")
    assert look.detail == f"patient feed {issued.feed.uuid}" and issued.secret not in look.detail


def test_the_filters_select_by_person_patient_kind_and_day(nurse, prescriber, course, auditor):
    logged_in(nurse).get(reverse("course", args=[course.uuid]))
    reader = logged_in(auditor)
    by_nurse = reader.get(AUDIT, {"person": str(nurse.uuid)}).context["rows"]
    assert by_nurse and {row.actor for row in by_nurse} == {nurse.display_name}
    changes = reader.get(AUDIT, {"kind": "changes"}).context["rows"]
    assert changes and {row.kind for row in changes} == {"change"}
    tomorrow = (TODAY + timedelta(days=400)).isoformat()
    assert reader.get(AUDIT, {"since": tomorrow}).context["rows"] == []
    for bad, field in (
        ({"mrn": "NO-SUCH-MRN"}, "mrn"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "until"),
        ({"since": "2026-13-01"}, "since"),
        ({"person": "someone-else"}, "person"),
        ({"kind": "everything"}, "kind"),
    ):
        answer = reader.get(AUDIT, bad)
        assert answer.status_code == 422 and field in answer.context["form"].errors, bad


def test_only_the_administrator_and_the_auditor_read_the_practice_audit(nurse, prescriber, front_desk):
    for member in (nurse, prescriber, front_desk):
        assert logged_in(member).get(AUDIT).status_code == 403
    assert Client().get(AUDIT).status_code == 302  # to the login


@pytest.mark.parametrize("kind", ["all", "looks", "changes"])
def test_the_pages_together_are_every_row_once_newest_first(nurse, course, auditor, kind):
    """Changes and looks interleaved (ids of the two tables overlap): following "Older" from the first page
    shows every row of the kind exactly once, in time order, whatever the page size."""
    client = logged_in(nurse)
    for day in range(1, 12):
        client.get(reverse("course", args=[course.uuid]))
        record_weight(
            actor=nurse, patient=course.patient, effective_date=TODAY - timedelta(days=day), value=Decimal(60)
        )
    reader, shown, before = logged_in(auditor), [], ""
    with mock.patch.object(audit_log, "PAGE_SIZE", 7):
        for _ in range(20):
            page = reader.get(AUDIT, {"kind": kind, "person": str(nurse.uuid), "before": before})
            shown += page.context["rows"]
            before = page.context["next_key"]
            if not before:
                break
    # (the nurse's rows: the auditor's own pages are looks too, newer than the first page)
    filters = audit_log.Filters(kind=kind, person=nurse)
    everything = list(audit_log.every_row(course.patient.practice, filters))
    assert [row.key for row in shown] == [row.key for row in everything] and len(shown) > 7
    assert len({row.key for row in shown}) == len(shown)
    assert [row.at for row in shown] == sorted((row.at for row in shown), reverse=True)
    expected_kinds = {"all": {"change", "look"}, "looks": {"look"}, "changes": {"change"}}[kind]
    assert {row.kind for row in shown} == expected_kinds
    assert reader.get(AUDIT, {"before": "not-a-key"}).status_code == 200  # the first page


def test_a_weight_read_through_the_api_is_a_look_at_its_patient(nurse, weight):
    assert TokenClient(token_for(nurse)).get(f"/api/v1/weights/{weight.uuid}").status_code == 200
    look = AccessEvent.objects.order_by("id").last()
    assert (look.patient, look.channel) == (weight.patient, "api")


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_a_cell_that_starts_like_a_formula_is_text_in_the_csv(nurse, weight, auditor, start):
    reason = f"{start}HYPERLINK(1)"
    corrections.void_record(actor=nurse, kind=corrections.KINDS["weight"], item=weight, reason=reason)
    exported = csv_rows(logged_in(auditor).get(AUDIT, {"format": "csv", "kind": "changes"}))
    assert f"'{reason}" in {row["detail"] for row in exported}


def test_an_access_row_is_sealed_and_append_only(nurse, course):
    logged_in(nurse).get(reverse("course", args=[course.uuid]))
    look = AccessEvent.objects.order_by("id").last()
    values = {name: getattr(look, name) for name in chain.ACCESS.sealed}
    assert chain.seal(values, sealed=chain.ACCESS.sealed) == look.hash
    with pytest.raises(RuntimeError):
        look.save()
    with pytest.raises(RuntimeError):
        AccessEvent.objects.all().delete()


def _taken_meanwhile(other):
    """``chain.seal`` as it is, except that the first time it is called another writer's look goes in first:
    the place the writer read as the chain's end is taken between its read and its insert."""
    real_seal, fired = chain.seal, []

    def seal(*args, **kwargs):
        if not fired:
            fired.append(True)
            record_access(actor=other, channel="api", view="patients")
        return real_seal(*args, **kwargs)

    return mock.patch.object(chain, "seal", seal)


@pytest.mark.parametrize("patients", [1, 3])
def test_a_look_whose_place_was_taken_meanwhile_goes_in_after_it_whole_and_the_chain_holds(
    nurse, prescriber, patient, patients
):
    seen = [patient.pk] * patients
    record_access(actor=nurse, channel="page", view="worklist")
    with _taken_meanwhile(prescriber):
        record_access(actor=nurse, channel="page", view="course", patients=seen)
    rows = list(AccessEvent.objects.filter(practice=nurse.practice).order_by("seq"))
    assert [row.seq for row in rows] == list(range(1, patients + 3))
    assert [row.actor_id for row in rows] == [nurse.pk, prescriber.pk] + [nurse.pk] * patients
    assert [row.patient_id for row in rows[2:]] == seen  # the look whole, after the other writer's
    verdict = chain.verify()
    assert verdict.intact, verdict.breaks


@pytest.mark.django_db(transaction=True)
def test_looks_written_at_the_same_moment_each_take_their_own_place_in_one_chain(nurse, prescriber, patient):
    """Eight readers at once, twenty-five looks each (one or two patients): every look is logged once, in one
    unbroken chain, none lost and none refused."""
    start, failures = threading.Barrier(8), []

    def read(actor, count) -> None:
        start.wait()
        try:
            for _ in range(25):
                record_access(actor=actor, channel="api", view="patient", patients=[patient.pk] * count)
        except Exception as error:  # noqa: BLE001 - shown by the assertion below
            failures.append(repr(error))
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=read, args=(who, 1 + n % 2)) for n, who in enumerate([nurse, prescriber] * 4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    seqs = list(
        AccessEvent.objects.filter(practice=nurse.practice).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 4 * 25 * 1 + 4 * 25 * 2 + 1))
    verdict = chain.verify()
    assert verdict.intact, verdict.breaks
