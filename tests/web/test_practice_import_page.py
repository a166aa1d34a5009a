"""The Import page: the administrator uploads the practice's current patients, sees every course as it would
be created (or every row's problems), and imports exactly the file previewed, once; in a real browser too."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions.patients import register_patient
from isotrack.clinic.imports.practice import COLUMN_NAMES
from isotrack.clinic.models import Course, Patient, PendingImport, Role
from tests.clinic.test_practice_import import THIRTY, csv_of
from tests.conftest import PASSWORD, TODAY, make_staff
from tests.web.conftest import screenshot

URL = "/practice/import/"


@pytest.fixture
def admin_client(practice, prescriber):
    client = Client()
    client.force_login(make_staff(practice, "manager", Role.PRACTICE_ADMIN))
    return client


def upload(client: Client, content: str):
    return client.post(URL, {"file": SimpleUploadedFile("current.csv", content.encode(), "text/csv")})


@pytest.mark.django_db
def test_the_page_offers_the_template_and_explains_its_columns(admin_client):
    page = admin_client.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "The template's columns" in text and "<code>pregnancy_tests</code>" in text
    template = admin_client.get(reverse("practice_import_template"))
    assert template["Content-Type"].startswith("text/csv")
    assert template.content.decode().splitlines() == [",".join(COLUMN_NAMES)]


@pytest.mark.django_db
def test_an_upload_is_previewed_then_imported_once(admin_client):
    content = csv_of([p.cells() for p in THIRTY])
    preview = upload(admin_client, content)
    assert preview.status_code == 200
    text = preview.content.decode()
    assert 'data-testid="course-count">30<' in text and "Import these 30 courses" in text
    assert "IMP-0030" in text and Patient.objects.count() == 0
    pending = preview.context["pending"]
    assert bytes(pending.content) == content.encode()  # kept on the server: the browser sends back its id
    form = {"submission_key": "import-once", "pending": str(pending.uuid)}
    done = admin_client.post(URL, form)
    assert done.status_code == 302 and done["Location"] == reverse("patients")
    assert Course.objects.filter(patient__practice__staff__username="manager").count() == 30
    again = admin_client.post(URL, form)  # the back button, then Import again
    assert again.status_code == 302 and Patient.objects.count() == 30
    assert AuditEvent.objects.filter(action=EventCode.PRACTICE_IMPORT).count() == 1
    assert not PendingImport.objects.exists()


@pytest.mark.django_db
def test_only_the_member_who_previewed_imports_the_preview_and_only_once(admin_client, practice):
    pending = upload(admin_client, csv_of([p.cells() for p in THIRTY[:2]])).context["pending"]
    other = Client()
    other.force_login(make_staff(practice, "manager2", Role.PRACTICE_ADMIN))
    refused = other.post(URL, {"pending": str(pending.uuid)}, follow=True)
    assert (
        "imported already, replaced by a later preview or has expired" in refused.content.decode()
        and Patient.objects.count() == 0
    )
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert "has expired" in admin_client.post(URL, {"pending": bad}, follow=True).content.decode()
    assert admin_client.post(URL, {"pending": str(pending.uuid)}).status_code == 302
    assert Patient.objects.count() == 2
    second = admin_client.post(URL, {"pending": str(pending.uuid)}, follow=True)  # a new form key
    assert "imported already" in second.content.decode() and Patient.objects.count() == 2


@pytest.mark.django_db
def test_a_preview_that_no_longer_imports_says_why_and_may_be_sent_again(admin_client, prescriber):
    pending = upload(admin_client, csv_of([p.cells() for p in THIRTY[:2]])).context["pending"]
    register_patient(  # meanwhile, someone registers a patient with the file's first MRN
        actor=prescriber,
        mrn="IMP-0001",
        given_name="Other",
        family_name="Person",
        birth_date=date(2001, 1, 1),
    )
    form = {"submission_key": "import-twice", "pending": str(pending.uuid)}
    refused = admin_client.post(URL, form, follow=True)
    text = refused.content.decode()
    assert (
        "Nothing imported: row 2 (MRN IMP-0001), mrn: Another patient of the practice has this MRN." in text
    )
    assert "this MRN.." not in text and Patient.objects.count() == 1
    again = admin_client.post(URL, form, follow=True)  # the form's key was not used up by the refusal
    assert "This form was already saved" not in again.content.decode()
    assert "Nothing imported" in again.content.decode()


@pytest.mark.django_db
def test_a_file_with_a_course_starting_after_today_lists_that_row_and_creates_nothing(admin_client):
    rows = [p.cells() for p in THIRTY]
    start = TODAY.replace(day=TODAY.day + 5).isoformat()
    rows[16] |= {"start": start, "doses": f"{start} 40"}
    rows[20]["weights"] = "someday 60 kg"
    page = upload(admin_client, csv_of(rows))
    assert page.status_code == 422
    problems = page.context["report"].problems
    assert [(p.row, p.column) for p in problems] == [(18, "start"), (22, "weights")]
    text = page.content.decode()
    assert "Nothing imported: 2 problems to correct" in text and "Import these" not in text
    assert "correct the rows listed above" in text  # beside the file field
    assert Patient.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK, Role.AUDITOR])
def test_only_an_administrator_imports(client, practice, role):
    client.force_login(make_staff(practice, f"member-{role}", role))
    assert client.get(URL).status_code == 403
    assert client.get(reverse("practice_import_template")).status_code == 403
    assert upload(client, csv_of([THIRTY[0].cells()])).status_code == 403
    assert Patient.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_administrator_imports_the_practice_in_a_browser(
    browser, page, live_server, practice, prescriber, tmp_path
):
    make_staff(practice, "manager", Role.PRACTICE_ADMIN)
    good, bad = tmp_path / "current.csv", tmp_path / "with-a-mistake.csv"
    good.write_text(csv_of([p.cells() for p in THIRTY]))
    rows = [p.cells() for p in THIRTY]
    rows[16] |= {"start": "2027-01-04", "doses": "2027-01-04 40"}
    bad.write_text(csv_of(rows))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()

    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Preview the import").click()
    problems = page.get_by_test_id("problem")
    assert problems.count() == 1 and problems.first.inner_text().split("\t")[:3] == [
        "18",
        "IMP-0017",
        "start",
    ]
    screenshot(page, "practice-import-problems")

    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Preview the import").click()
    assert page.get_by_test_id("course-count").inner_text() == "30"
    screenshot(page, "practice-import-preview")
    assert Patient.objects.count() == 0
    page.get_by_role("button", name="Import these 30 courses").click()
    assert "Imported 30 courses" in page.locator("main").inner_text()
    assert Course.objects.filter(patient__practice=practice).count() == 30
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    worklist = page.locator("main").inner_text()
    assert "30 courses" in worklist and "MRN IMP-0001" in worklist and "MRN IMP-0030" in worklist
    screenshot(page, "practice-import-worklist")


@pytest.mark.django_db
def test_the_preview_shows_each_courses_alerts(admin_client):
    patient = THIRTY[1]
    day = patient.start - timedelta(days=10)
    cells = patient.cells() | {"labs": f"{day} triglycerides 910 mg/dL; {day} alt 22 U/L"}
    preview = upload(admin_client, csv_of([cells]))
    [course] = preview.context["report"].courses
    assert course.alerts == (core.ALERT_ACTIONS["TRIGLYCERIDES_CRITICAL"].label,)
    text = preview.content.decode()
    assert course.alerts[0] in text and "Import this course" in text


@pytest.mark.django_db
def test_a_preview_is_forgotten_after_a_day(admin_client):
    pending = upload(admin_client, csv_of([THIRTY[0].cells()])).context["pending"]
    PendingImport.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert admin_client.get(URL).status_code == 200
    assert not PendingImport.objects.exists()  # the patients' data it held is gone
