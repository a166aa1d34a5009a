"""The one-screen monthly visit through its page: defaults, errors beside their fields, all or nothing."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.urls import reverse

from isotrack.clinic.actions.ipledge import record_dispense
from isotrack.clinic.actions.observations import record_pregnancy_test
from isotrack.clinic.actions.patients import set_patient_category
from isotrack.clinic.models import DoseSegment, LabResult, MoodScreen, PregnancyTest, Visit, Weight


def visit_url(course):
    return reverse("course_visit", kwargs={"course_id": course.uuid})


def routine_post(client, course, **changes):
    """What the browser posts for a routine visit: the page's defaults plus the few fields staff fill."""
    form = client.get(visit_url(course)).context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if value is None or value is False:
            continue
        data[name] = value.isoformat() if isinstance(value, date) else value
    data |= {
        "weight_value": "62",
        "pregnancy_test_result": "negative",
        "pregnancy_test_setting": "office",
        "mood_instrument": "phq2",
        "contraception_confirmed": "on",
        "mood_score": "0",
        "ipledge_confirmed": "on",
        "ipledge_confirmation_number": "C-1",
    }
    data["pregnancy_test_specimen_date"] = data["date"]
    data |= changes
    return client.post(visit_url(course), {k: v for k, v in data.items() if v is not None})


def test_the_visit_page_pre_selects_bookkeeping_only_never_a_result_or_a_confirmation(
    client, nurse, course, methods
):
    record_dispense(actor=nurse, course=course, day=date(2026, 6, 1), days_supply=30)
    client.force_login(nurse)
    response = client.get(visit_url(course))
    assert response.status_code == 200
    form = response.context["form"]
    defaults = {name: form[name].value() for name in form.fields}
    assert defaults["pregnancy_test_purpose"] == "monthly"  # the test the course is at (the core's)
    for decided_by_a_person in (
        "pregnancy_test_result",
        "pregnancy_test_setting",
        "pregnancy_test_specimen_date",
        "pregnancy_test_verified_by",
        "contraception_confirmed",
        "mood_instrument",
        "mood_score",
        "ipledge_confirmed",
        "dose_change_reason",
    ):
        assert defaults[decided_by_a_person] in (None, "", False), decided_by_a_person
    assert defaults["date"] == response.context["today"]
    assert (defaults["days_supply"], defaults["dose_decision"]) == (30, "continue")
    page = response.content.decode()
    assert "Copper IUD" in page and "Male condom" in page
    assert "Prescription to send" in page and "30 × 40 mg capsules" in page


def test_before_the_first_fill_the_test_is_the_screening_then_the_confirmation(
    client, nurse, course, methods
):
    client.force_login(nurse)
    assert client.get(visit_url(course)).context["form"]["pregnancy_test_purpose"].value() == "screening"
    record_pregnancy_test(
        actor=nurse,
        course=course,
        purpose="screening",
        setting="office",
        specimen_date=date(2026, 5, 1),
        result="negative",
    )
    assert client.get(visit_url(course)).context["form"]["pregnancy_test_purpose"].value() == "confirmation"


def test_a_routine_visit_saves_every_record_and_lands_on_the_course(client, nurse, course, methods):
    client.force_login(nurse)
    response = routine_post(client, course)
    assert response.status_code == 302
    assert response["Location"] == reverse("course", args=[course.uuid])
    assert Visit.objects.filter(course=course).count() == 1
    test = PregnancyTest.objects.get(course=course)
    assert (test.result, test.setting, test.verified_by) == ("negative", "office", None)
    assert MoodScreen.objects.filter(course=course).count() == 1
    assert Weight.objects.filter(patient=course.patient).count() == 1


def test_a_bad_lab_value_shows_beside_its_field_and_saves_nothing(client, nurse, course, methods):
    client.force_login(nurse)
    response = routine_post(client, course, lab_0_test="triglycerides", lab_0_value="-3", lab_0_unit="mg/dL")
    assert response.status_code == 422
    assert 'id="id_lab_0_value-error"' in response.content.decode()
    assert not Visit.objects.exists() and not LabResult.objects.exists() and not Weight.objects.exists()


def test_a_half_filled_lab_row_shows_what_is_missing(client, nurse, course, methods):
    client.force_login(nurse)
    response = routine_post(client, course, lab_1_test="alt")
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_lab_1_value-error"' in page and 'id="id_lab_1_unit-error"' in page
    assert not Visit.objects.exists()


def test_an_impossible_weight_in_pounds_shows_beside_the_weight(client, nurse, course, methods):
    client.force_login(nurse)
    response = routine_post(client, course, weight_value="900", weight_unit="lb")
    assert response.status_code == 422
    assert 'id="id_weight_value-error"' in response.content.decode()
    assert not Visit.objects.exists()


def test_unconfirmed_contraception_is_refused_and_nothing_saved(client, nurse, course, methods):
    client.force_login(nurse)
    data = {"contraception_confirmed": ""}
    response = routine_post(client, course, **data)
    assert response.status_code == 422
    assert not Visit.objects.exists()


def test_a_nurse_sees_the_dose_read_only(client, nurse, course, methods):
    client.force_login(nurse)
    page = client.get(visit_url(course)).content.decode()
    assert "Only a prescriber changes the dose" in page
    assert 'name="dose_decision"' not in page and 'name="dose_reason"' not in page
    assert 'name="dose_change_reason"' not in page


def test_a_crafted_dose_change_by_a_nurse_is_refused_with_403_and_saves_nothing(
    client, nurse, course, methods
):
    client.force_login(nurse)
    response = routine_post(
        client,
        course,
        dose_decision="change",
        dose_mg_per_day="60",
        dose_product="conventional",
        dose_starts_on="2026-07-02",
        dose_change_reason="planned",
        dose_reason="crafted",
    )
    assert response.status_code == 403
    assert not Visit.objects.exists()
    assert DoseSegment.objects.filter(course=course).count() == 1


def test_a_prescriber_changes_the_dose_at_the_visit(client, prescriber, course, methods):
    client.force_login(prescriber)
    response = routine_post(
        client,
        course,
        dose_decision="change",
        dose_mg_per_day="60",
        dose_product="conventional",
        dose_starts_on="2026-12-01",
        dose_change_reason="lab_result",
        dose_reason="triglycerides 560",
    )
    assert response.status_code == 302
    segment = DoseSegment.objects.get(course=course, starts_on=date(2026, 12, 1))
    assert (segment.change_reason, segment.reason) == ("lab_result", "triglycerides 560")


def test_a_prescriber_is_offered_the_reasons_as_radio_buttons_none_chosen(
    client, prescriber, course, methods
):
    client.force_login(prescriber)
    response = client.get(visit_url(course))
    assert response.context["form"]["dose_change_reason"].value() in (None, "")
    page = response.content.decode()
    buttons = re.findall(r'<input type="radio" name="dose_change_reason"[^>]*>', page)
    assert len(buttons) == 5 and not any("checked" in b for b in buttons)
    assert "Why does the dose change?" in page and "A change of weight" in page


def test_a_dose_change_without_a_reason_is_refused_beside_the_reason(client, prescriber, course, methods):
    client.force_login(prescriber)
    response = routine_post(client, course, dose_decision="change", dose_mg_per_day="60", dose_reason="x")
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_dose_change_reason-error"' in page and "Choose why the dose changes." in page
    assert not Visit.objects.exists()


def test_an_unknown_reason_or_another_reason_without_a_note_is_refused_beside_its_field(
    client, prescriber, course, methods
):
    client.force_login(prescriber)
    change = {"dose_decision": "change", "dose_mg_per_day": "60", "dose_starts_on": "2026-12-01"}
    response = routine_post(client, course, **change, dose_change_reason="bored")
    assert response.status_code == 422
    assert 'id="id_dose_change_reason-error"' in response.content.decode()
    response = routine_post(client, course, **change, dose_change_reason="other", dose_reason="")
    assert response.status_code == 422
    assert 'id="id_dose_reason-error"' in response.content.decode()
    assert "Say what the other reason for the dose change is." in response.content.decode()
    assert not Visit.objects.exists()
    assert DoseSegment.objects.filter(course=course).count() == 1


def test_a_patient_who_cannot_get_pregnant_sees_no_pregnancy_test_or_contraception(
    client, prescriber, nurse, course
):
    set_patient_category(
        actor=prescriber, patient=course.patient, category="cannot_get_pregnant", reason="documented"
    )
    client.force_login(nurse)
    page = client.get(visit_url(course)).content.decode()
    assert "Pregnancy test" not in page and "pregnancy_test_result" not in page
    assert "contraception_confirmed" not in page
    response = routine_post(client, course)
    assert response.status_code == 302
    assert not PregnancyTest.objects.exists()


def test_an_outsider_gets_404_and_an_auditor_403(client, outsider, auditor, course):
    client.force_login(outsider)
    assert client.get(visit_url(course)).status_code == 404
    client.force_login(auditor)
    assert client.get(visit_url(course)).status_code == 403
    assert client.post(visit_url(course), {"mood_score": "1"}).status_code == 403
    assert not Visit.objects.exists()


def test_a_pick_up_over_thirty_days_is_refused_beside_the_days_supply(client, nurse, course):
    client.force_login(nurse)
    url = reverse("course_dispense", kwargs={"course_id": course.uuid})
    response = client.post(url, {"date": "2026-06-01", "days_supply": "31"})
    assert response.status_code == 422
    assert 'id="id_days_supply-error"' in response.content.decode()
    assert not course.dispenses.exists()
    response = client.post(url, {"date": "2026-06-01", "days_supply": "30", "rma": "RMA-9"})
    assert response.status_code == 302
    dispense = course.dispenses.get()
    assert (dispense.rma, dispense.mg_per_day, dispense.product) == ("RMA-9", 40, "conventional")


def test_an_ipledge_step_is_recorded_in_its_order_and_refused_before_the_step_it_rests_on(
    client, nurse, course
):
    client.force_login(nurse)
    url = reverse("course_ipledge_entry", kwargs={"course_id": course.uuid})
    response = client.post(url, {"kind": "patient_attestation", "date": "2026-06-01"})
    assert response.status_code == 422  # IPL-PATIENT-QUIZ: the prescriber's confirmation comes first
    assert response.context["form"].errors["kind"][0].startswith("“Prescriber confirms the test")
    response = client.post(url, {"kind": "prescriber_confirmation", "date": "2026-06-01"})
    assert response.status_code == 422  # IPL-PRESCRIBER-CONFIRM: the cycle's negative test comes first
    assert response.context["form"].errors["kind"][0].startswith("“Screening pregnancy test")
    record_pregnancy_test(
        actor=nurse,
        course=course,
        purpose="screening",
        setting="office",
        specimen_date=date(2026, 6, 1),
        result="negative",
    )
    response = client.post(url, {"kind": "prescriber_confirmation", "date": "2026-06-01"})
    assert response.status_code == 302
    assert [e.kind for e in course.ipledge_entries.all()] == ["enrollment", "prescriber_confirmation"]
    response = client.post(url, {"kind": "something_else", "date": "2026-06-01"})
    assert response.status_code == 422 and 'id="id_kind-error"' in response.content.decode()


def test_a_nurse_saves_a_routine_visit_from_the_page_without_the_prescriber_dose_choice(
    client, nurse, course, methods
):
    """A nurse's page has no dose decision (only a prescriber changes a dose): what it posts must save."""
    client.force_login(nurse)
    page = client.get(visit_url(course)).content.decode()
    assert 'name="dose_decision"' not in page
    response = routine_post(client, course, dose_decision=None)
    assert response.status_code == 302
    visit = Visit.objects.get(course=course)
    assert visit.prescription_days_supply == 30 and visit.prescription_mg_per_day == Decimal(40)


def test_a_visit_without_a_chosen_test_result_is_refused_with_every_error_beside_its_field(
    client, nurse, course, methods
):
    client.force_login(nurse)
    response = routine_post(
        client, course, pregnancy_test_result="", mood_instrument="", pregnancy_test_setting=""
    )
    assert response.status_code == 422
    page = response.content.decode()
    for field in ("pregnancy_test_result", "mood_instrument"):
        assert f'id="id_{field}-error"' in page, field
    assert "Nothing was saved: 2 fields to correct" in page
    assert not Visit.objects.exists() and not PregnancyTest.objects.exists()


def test_a_result_needs_its_setting_and_specimen_date_and_a_home_test_its_verifier(
    client, nurse, course, methods
):
    client.force_login(nurse)
    response = routine_post(client, course, pregnancy_test_setting="", pregnancy_test_specimen_date="")
    page = response.content.decode()
    assert response.status_code == 422
    assert (
        'id="id_pregnancy_test_setting-error"' in page
        and 'id="id_pregnancy_test_specimen_date-error"' in page
    )
    response = routine_post(client, course, pregnancy_test_setting="home")
    assert response.status_code == 422
    assert "Who verified the home test" in response.content.decode()
    assert not PregnancyTest.objects.exists()
    assert (
        routine_post(  # no test, so no prescriber confirmation either (IPL-PRESCRIBER-CONFIRM)
            client,
            course,
            pregnancy_test_result="not_done",
            pregnancy_test_setting="",
            ipledge_confirmed="",
            ipledge_confirmation_number="",
        ).status_code
        == 302
    )
    assert not PregnancyTest.objects.exists() and Visit.objects.count() == 1


def test_the_small_forms_pre_select_no_step_and_no_supply(client, nurse, course):
    client.force_login(nurse)
    ipledge = client.get(reverse("course_ipledge_entry", kwargs={"course_id": course.uuid})).context["form"]
    assert ipledge["kind"].value() in (None, "") and ipledge["date"].value() is not None
    dispense = client.get(reverse("course_dispense", kwargs={"course_id": course.uuid})).context["form"]
    assert dispense["days_supply"].value() is None and dispense["date"].value() is not None


def test_a_phq9_score_below_its_item_9_is_refused_beside_item_9(client, nurse, course, methods):
    client.force_login(nurse)
    response = routine_post(client, course, mood_instrument="phq9", mood_score="0", mood_item9="2")
    assert response.status_code == 422
    assert "cannot be below its item 9" in " ".join(response.context["form"].errors["mood_item9"])
    assert not Visit.objects.exists() and not MoodScreen.objects.exists()
