"""The access log and the practice audit page: every look at a patient's record writes one sealed row (who,
when, which patient, through what); the administrator and the auditor read changes and looks together,
filtered, a page at a time, and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from isotrack.audit import chain
from isotrack.audit.models import AccessEvent
from isotrack.clinic import audit_log
from isotrack.clinic.actions import corrections
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


def test_the_list_pages_by_key_newest_first_without_a_row_twice(nurse, course, auditor):
    client = logged_in(nurse)
    for _ in range(audit_log.PAGE_SIZE + 5):
        client.get(reverse("course", args=[course.uuid]))
    reader = logged_in(auditor)
    first = reader.get(AUDIT, {"kind": "looks"})
    assert len(first.context["rows"]) == audit_log.PAGE_SIZE and first.context["next_key"]
    second = reader.get(AUDIT, {"kind": "looks", "before": first.context["next_key"]})
    shown = [row.key for row in first.context["rows"] + second.context["rows"]]
    assert len(shown) == len(set(shown)) and [row.at for row in second.context["rows"]] == sorted(
        (row.at for row in second.context["rows"]), reverse=True
    )
    assert second.context["rows"][0].at <= first.context["rows"][-1].at
    assert reader.get(AUDIT, {"before": "not-a-key"}).status_code == 200  # the first page


def test_a_cell_that_starts_like_a_formula_is_text_in_the_csv(nurse, weight, auditor):
    corrections.void_record(
        actor=nurse, kind=corrections.KINDS["weight"], item=weight, reason="=HYPERLINK(1)"
    )
    exported = csv_rows(logged_in(auditor).get(AUDIT, {"format": "csv", "kind": "changes"}))
    assert "'=HYPERLINK(1)" in {row["detail"] for row in exported}


def test_an_access_row_is_sealed_and_append_only(nurse, course):
    logged_in(nurse).get(reverse("course", args=[course.uuid]))
    look = AccessEvent.objects.order_by("id").last()
    values = {name: getattr(look, name) for name in chain.ACCESS.sealed}
    assert chain.seal(values, sealed=chain.ACCESS.sealed) == look.hash
    with pytest.raises(RuntimeError):
        look.save()
    with pytest.raises(RuntimeError):
        AccessEvent.objects.all().delete()
