"""The demo generator: deterministic, complete (every situation a clinic meets), audited, and synthetic."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F

from isotrack.audit.events import EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import (
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    Interruption,
    IpledgeEntry,
    LabResult,
    MissedDose,
    MoodScreen,
    Patient,
    Practice,
    PregnancyTest,
    Role,
    RulesChoice,
    SideEffect,
    StaffUser,
    Visit,
    Weight,
)
from isotrack.demo import generator
from isotrack.demo.generator import (
    DEMO_PASSWORD,
    FAMILY_NAMES,
    GIVEN_NAMES,
    MAIN_PRACTICE_NAME,
    MAIN_SITUATIONS,
    PINNED_PRACTICE_NAME,
    PINNED_SITUATIONS,
    build_demo,
)

TODAY = date(2026, 11, 25)  # after the 2026 rules took effect (2026-11-15)
PRIMARY = {
    "tubal_sterilization",
    "partner_vasectomy",
    "iud_copper",
    "iud_hormonal",
    "combined_pill",
    "patch",
    "implant",
    "injection",
    "vaginal_ring",
}
SECONDARY = {"male_condom", "diaphragm_spermicide", "cervical_cap_spermicide", "sponge_spermicide"}
RECORD_MODELS = (
    Patient,
    Course,
    DoseSegment,
    Interruption,
    MissedDose,
    PregnancyTest,
    IpledgeEntry,
    Dispense,
    LabResult,
    Visit,
    MoodScreen,
    SideEffect,
    Weight,
    Contraception,
)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """One default demo for the module's read-only tests, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        result = build_demo(today=TODAY)
        yield result
        transaction.set_rollback(True)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def courses(result: generator.DemoPractice, key: str) -> list[Course]:
    return result.courses[key]


def digest() -> str:
    """A stable fingerprint of everything the demo wrote (no UUIDs or timestamps)."""
    rows = []
    for patient in Patient.objects.order_by("practice__name", "mrn"):
        rows.append(
            [
                patient.mrn,
                patient.given_name,
                patient.family_name,
                patient.birth_date,
                patient.category,
                patient.ipledge_id,
                patient.email,
                patient.phone,
            ]
        )
        rows.append(
            list(patient.weights.values_list("effective_date", "kg", "entered_value", "entered_unit"))
        )
        rows.append(list(patient.contraception.values_list("method", "start", "end")))
        for course in patient.courses.order_by("start"):
            rows.append([course.start, course.end, course.status, course.prescriber.username])
            for related, fields in (
                ("dose_segments", ("starts_on", "mg_per_day", "product", "brand", "reason")),
                ("pregnancy_tests", ("specimen_date", "purpose", "setting", "result")),
                ("ipledge_entries", ("date", "kind", "recorded_by__username")),
                ("dispenses", ("date", "days_supply", "quantity", "mg_per_day", "product", "rma")),
                ("lab_results", ("effective_date", "test", "value", "unit")),
                ("visits", ("date",)),
                ("mood_screens", ("date", "instrument", "score", "item9")),
                ("side_effects", ("onset", "term", "action")),
                ("interruptions", ("start", "end", "reason")),
                ("missed_doses", ("date",)),
            ):
                rows.append(list(getattr(course, related).order_by(*fields).values_list(*fields)))
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


def built_digest(**kwargs) -> str:
    with transaction.atomic():
        build_demo(**kwargs)
        fingerprint = digest()
        transaction.set_rollback(True)
    return fingerprint


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# ------------------------------------------------------------ tests that build their own demo
# They come first: the shared demo (`built`) lives from its first use to the end of the module.


@pytest.mark.django_db
def test_it_is_deterministic_for_a_seed_and_a_day():
    assert built_digest(patients=25, seed=7, today=TODAY) == built_digest(patients=25, seed=7, today=TODAY)


@pytest.mark.django_db
def test_the_history_is_deterministic_too():
    patients = len(MAIN_SITUATIONS) + 14  # the most recent month's history and a few of the month before
    assert built_digest(patients=patients, seed=2, today=TODAY) == built_digest(
        patients=patients, seed=2, today=TODAY
    )


@pytest.mark.django_db
def test_another_seed_or_another_day_gives_other_data():
    fingerprint = built_digest(patients=10, seed=7, today=TODAY)
    assert built_digest(patients=10, seed=8, today=TODAY) != fingerprint
    assert built_digest(patients=10, seed=7, today=TODAY + days(1)) != fingerprint


@pytest.mark.django_db
def test_adding_patients_leaves_the_first_ones_unchanged():
    def first_patients(count: int) -> list[tuple]:
        with transaction.atomic():
            build_demo(patients=count, seed=3, today=TODAY)
            rows = list(
                Patient.objects.filter(mrn__lte="DEMO-000005")
                .order_by("mrn")
                .values_list("mrn", "given_name", "family_name", "birth_date", "ipledge_id")
            )
            transaction.set_rollback(True)
        return rows

    assert first_patients(5) == first_patients(8)


@pytest.mark.django_db
def test_every_situation_appears_once_there_are_as_many_patients_as_situations():
    with transaction.atomic():
        result = build_demo(patients=len(MAIN_SITUATIONS), today=TODAY)
        assert set(result.situations) == {s.key for s in MAIN_SITUATIONS + PINNED_SITUATIONS}
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_it_rolls_everything_back_when_a_step_fails(monkeypatch):
    def broken(**kwargs):
        raise InvalidInput("broken on purpose")

    monkeypatch.setattr(generator, "record_mood_screen", broken)
    with pytest.raises(InvalidInput):
        build_demo(patients=5, today=TODAY)
    assert not Practice.objects.exists()
    assert not StaffUser.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_the_command_prints_counts_and_logins_but_no_patient_names():
    out = io.StringIO()
    call_command("demo", "--patients", "5", "--today", "2026-11-25", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    assert DEMO_PASSWORD in text
    assert "doctor" in text and "lakeside.nurse" in text and PINNED_PRACTICE_NAME in text
    for family in Patient.objects.values_list("family_name", flat=True):
        assert family not in text
    assert not re.search(r"DEMO-\d{6}", text)


@pytest.mark.django_db
def test_if_empty_does_nothing_the_second_time():
    call_command("demo", "--patients", "3", "--today", "2026-11-25", "--if-empty", stdout=io.StringIO())
    before = (Patient.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()
    call_command("demo", "--patients", "3", "--if-empty", "--url", "http://127.0.0.1:8001/", stdout=out)
    assert (Patient.objects.count(), AuditEvent.objects.count()) == before
    assert "nothing created" in out.getvalue()
    assert "doctor" in out.getvalue()
    assert "Demo logins at http://127.0.0.1:8001/" in out.getvalue()  # as `make run PORT=8001` serves


@pytest.mark.django_db
def test_it_refuses_to_run_twice_without_if_empty():
    call_command("demo", "--patients", "3", "--today", "2026-11-25", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exist"):
        call_command("demo", "--patients", "3", stdout=io.StringIO())


@pytest.mark.django_db
def test_it_rejects_a_day_that_does_not_exist():
    with pytest.raises(CommandError, match="2026-02-30"):
        call_command("demo", "--today", "2026-02-30", stdout=io.StringIO())


# ------------------------------------------------------------------------ the shared demo: the whole


@pytest.mark.django_db
def test_it_creates_both_practices_with_their_rules(built):
    main = Practice.objects.get(name=MAIN_PRACTICE_NAME)
    pinned = Practice.objects.get(name=PINNED_PRACTICE_NAME)
    assert (main.rules, main.ipledge_2026_effective, main.home_testing_permitted) == (
        RulesChoice.AUTO,
        date(2026, 11, 15),
        False,
    )
    assert pinned.rules == RulesChoice.US_IPLEDGE_2021
    assert main.patients.count() == 60 + 1  # and one awaiting its category (IPL-CAT)
    assert pinned.patients.count() == len(PINNED_SITUATIONS)


@pytest.mark.django_db
def test_it_creates_the_staff_of_every_role_with_the_demo_password(built):
    roles = list(StaffUser.objects.filter(practice=built.practice).values_list("role", flat=True))
    assert sorted(roles) == sorted(
        [Role.PRESCRIBER] * 3 + [Role.NURSE] * 2 + [Role.FRONT_DESK, Role.PRACTICE_ADMIN, Role.AUDITOR]
    )
    pinned_roles = StaffUser.objects.filter(practice=built.pinned_practice).values_list("role", flat=True)
    assert sorted(pinned_roles) == [Role.NURSE, Role.PRESCRIBER]
    credentials = set(StaffUser.objects.filter(role=Role.PRESCRIBER).values_list("credentials", flat=True))
    assert {"MD", "PA-C", "NP"} <= credentials
    doctor = StaffUser.objects.get(username="doctor")
    assert doctor.check_password(DEMO_PASSWORD)
    assert doctor.password.startswith("argon2")


@pytest.mark.django_db
def test_every_record_has_an_audit_row(built):
    audited = set(AuditEvent.objects.values_list("object_uuid", flat=True))
    for model in RECORD_MODELS:
        created = set(model.objects.values_list("uuid", flat=True))
        assert created, model.__name__
        assert created <= audited, model.__name__


@pytest.mark.django_db
def test_it_writes_each_step_as_the_staff_member_who_does_it(built):
    events = AuditEvent.objects.filter(practice=built.practice)
    by_action = dict(events.values_list("action", "actor__role").distinct())
    assert by_action[EventCode.COURSE_START] == Role.PRESCRIBER
    assert by_action[EventCode.DOSE_CHANGE] == Role.PRESCRIBER
    assert by_action[EventCode.COURSE_END] == Role.PRESCRIBER
    assert by_action[EventCode.INTERRUPTION_RECORD] == Role.PRESCRIBER
    assert by_action[EventCode.IPLEDGE_PRESCRIBER_CONFIRMATION] == Role.PRESCRIBER
    assert by_action[EventCode.DISPENSE_RECORD] == Role.NURSE
    assert by_action[EventCode.PREGNANCY_TEST_RECORD] == Role.NURSE
    assert by_action[EventCode.IPLEDGE_PATIENT_ATTESTATION] == Role.NURSE
    assert by_action[EventCode.PATIENT_REGISTER] == Role.FRONT_DESK


# ------------------------------------------------------------------------------------------- synthetic data


@pytest.mark.django_db
def test_names_come_from_the_module_lists(built):
    for given, family in Patient.objects.values_list("given_name", "family_name"):
        assert given in GIVEN_NAMES
        assert family in FAMILY_NAMES


@pytest.mark.django_db
def test_identifiers_and_contacts_are_obviously_fake(built):
    for mrn, ipledge_id, email, phone in Patient.objects.values_list("mrn", "ipledge_id", "email", "phone"):
        assert re.fullmatch(r"DEMO-\d{6}", mrn)
        assert re.fullmatch(r"99\d{8}", ipledge_id)
        assert email.endswith("@example.org")
        assert phone.startswith("555-01")


@pytest.mark.django_db
def test_patients_are_14_to_45_years_old(built):
    ages = [age_on(birth, TODAY) for birth in Patient.objects.values_list("birth_date", flat=True)]
    assert min(ages) >= 14
    assert max(ages) <= 45


@pytest.mark.django_db
def test_about_a_third_of_the_patients_cannot_get_pregnant(built):
    categories = list(Patient.objects.values_list("category", flat=True))
    share = categories.count("cannot_get_pregnant") / len(categories)
    assert 0.25 <= share <= 0.45


@pytest.mark.django_db
def test_patients_who_cannot_get_pregnant_have_no_pregnancy_tests_or_contraception(built):
    assert not PregnancyTest.objects.filter(course__patient__category="cannot_get_pregnant").exists()
    assert not Contraception.objects.filter(patient__category="cannot_get_pregnant").exists()


# ------------------------------------------------------------------------------------ iPLEDGE consistency


@pytest.mark.django_db
def test_every_fill_has_its_qualifying_steps_within_seven_days(built):
    for dispense in Dispense.objects.filter(course__patient__category="can_get_pregnant"):
        course = dispense.course
        earlier = course.dispenses.filter(date__lt=dispense.date).exists()
        test = course.pregnancy_tests.filter(
            purpose="monthly" if earlier else "confirmation",
            result="negative",
            specimen_date__range=(dispense.date - days(6), dispense.date),  # IPL-WIN-7
        ).latest("specimen_date")
        if not earlier and course.patient.practice.rules == RulesChoice.US_IPLEDGE_2021:
            assert test.setting == "lab"
        confirmed = course.ipledge_entries.filter(
            kind="prescriber_confirmation", date__range=(test.specimen_date, dispense.date)
        ).earliest("date")
        assert course.ipledge_entries.filter(
            kind="patient_attestation", date__range=(confirmed.date, dispense.date)
        ).exists()
        assert dispense.days_supply == 30


@pytest.mark.django_db
def test_first_fills_follow_the_screening_test_and_the_contraception_lead_in(built):
    for test in PregnancyTest.objects.filter(purpose="confirmation").select_related("course__patient"):
        course = test.course
        screening = course.pregnancy_tests.get(purpose="screening")
        assert (test.specimen_date - screening.specimen_date).days >= 19  # IPL-PT-CONFIRM
        methods = {
            m.method for m in course.patient.contraception.all() if (test.specimen_date - m.start).days >= 30
        }  # IPL-CON-LEAD
        assert "abstinence" in methods or (methods & PRIMARY and methods & SECONDARY)


@pytest.mark.django_db
def test_it_creates_a_qualifying_course_with_the_lead_in_running(built):
    for course in courses(built, "qualifying"):
        assert course.status == "draft"
        assert course.start > TODAY
        assert course.pregnancy_tests.filter(purpose="screening").exists()
        assert not course.pregnancy_tests.filter(purpose="confirmation").exists()
        assert course.ipledge_entries.filter(kind="enrollment").exists()
        started = min(course.patient.contraception.values_list("start", flat=True))
        assert (TODAY - started).days < 30


@pytest.mark.django_db
def test_it_creates_courses_ready_for_the_first_fill(built):
    ready = courses(built, "ready_for_first_fill")
    assert {course.patient.category for course in ready} == {"can_get_pregnant", "cannot_get_pregnant"}
    for course in ready:
        assert not course.dispenses.exists()
        assert course.start > TODAY
        assert course.lab_results.filter(test="triglycerides", effective_date__lte=TODAY).exists()
        if course.patient.category == "can_get_pregnant":
            test = course.pregnancy_tests.get(purpose="confirmation")
            assert TODAY - days(6) <= test.specimen_date <= TODAY
            assert course.ipledge_entries.filter(kind="patient_attestation", date__lte=TODAY).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("month", range(1, 7))
def test_it_creates_each_month_of_treatment(built, month):
    for course in courses(built, f"treatment_month_{month}"):
        assert course.dispenses.count() == month
        assert course.status == "active"
        last = course.dispenses.latest("date")
        assert TODAY - days(30) < last.date < TODAY
        first = course.dispenses.earliest("date")
        assert course.start == first.date + days(1)


@pytest.mark.django_db
def test_it_raises_the_dose_after_the_first_month(built):
    for course in courses(built, "treatment_month_3"):
        doses = list(course.dose_segments.values_list("starts_on", "mg_per_day"))
        assert len(doses) == 2
        assert doses[1][0] == course.start + days(30)
        assert doses[1][1] > doses[0][1]


@pytest.mark.django_db
def test_it_creates_a_window_closing_today(built):
    for course in courses(built, "window_closing_today"):
        test = course.pregnancy_tests.get(purpose="monthly", specimen_date=TODAY - days(6))
        assert not course.dispenses.filter(date__gte=test.specimen_date).exists()
        assert course.ipledge_entries.filter(
            kind="patient_attestation", date__gte=test.specimen_date
        ).exists()


@pytest.mark.django_db
def test_it_creates_a_missed_window(built):
    for course in courses(built, "window_missed"):
        test = course.pregnancy_tests.latest("specimen_date")
        assert test.specimen_date < TODAY - days(6)
        assert not course.dispenses.filter(date__gte=test.specimen_date).exists()


@pytest.mark.django_db
def test_it_creates_cycles_waiting_for_the_patient_and_for_the_prescriber(built):
    for course in courses(built, "awaiting_patient_attestation"):
        test = course.pregnancy_tests.latest("specimen_date")
        kinds = set(
            course.ipledge_entries.filter(date__gte=test.specimen_date).values_list("kind", flat=True)
        )
        assert kinds == {"prescriber_confirmation"}
    for course in courses(built, "awaiting_prescriber_confirmation"):
        test = course.pregnancy_tests.latest("specimen_date")
        assert test.specimen_date == TODAY - days(1)
        assert not course.ipledge_entries.filter(date__gte=test.specimen_date).exists()


@pytest.mark.django_db
def test_it_creates_a_positive_pregnancy_test_that_stops_the_course_with_its_report_pending(built):
    for course in courses(built, "pregnancy_test_positive"):
        positive = course.pregnancy_tests.get(result="positive")
        assert course.end == positive.specimen_date
        assert not course.dispenses.filter(date__gte=positive.specimen_date).exists()
        assert set(course.pregnancy_follow_ups.values_list("step", flat=True)) == {"stop", "refer"}


@pytest.mark.django_db
def test_it_creates_post_course_and_completed_courses(built):
    for course in courses(built, "post_course"):
        assert course.end == TODAY - days(10)
        assert course.pregnancy_tests.filter(purpose="end_of_course").exists()
        assert not course.pregnancy_tests.filter(purpose="post_course").exists()
    completed = courses(built, "completed")
    assert {course.patient.category for course in completed} == {"can_get_pregnant", "cannot_get_pregnant"}
    for course in completed:
        assert course.end == TODAY - days(60)
        assert course.status == "completed"
        if course.patient.category == "can_get_pregnant":
            post = course.pregnancy_tests.get(purpose="post_course")
            assert post.specimen_date >= course.end + days(30)
            assert course.pregnancy_tests.get(purpose="end_of_course").specimen_date >= course.end - days(7)


# --------------------------------------------------------------------------------------------------- dose


@pytest.mark.django_db
def test_it_creates_conventional_and_micronized_dispenses(built):
    assert Dispense.objects.filter(product="conventional").exists()
    micronized = Dispense.objects.filter(product="micronized")
    assert micronized.exists()
    assert {int(mg) for mg in micronized.values_list("mg_per_day", flat=True)} <= {16, 24, 32, 40, 48, 56, 64}


@pytest.mark.django_db
def test_doses_are_sensible_for_the_starting_weight(built):
    weightless = {c.pk for c in courses(built, "history_completed_without_weight")}
    assert {c.pk for c in Course.objects.filter(patient__weights__isnull=True)} == weightless
    for course in Course.objects.select_related("patient").exclude(pk__in=weightless):
        baseline = course.patient.weights.earliest("effective_date").kg
        for segment in course.dose_segments.all():
            assert segment.starts_on >= course.start
            per_kg = segment.mg_per_day / baseline
            limit = Decimal("0.8") if segment.product == "micronized" else Decimal(1)
            assert Decimal("0.3") <= per_kg <= limit, (segment.mg_per_day, baseline)


@pytest.mark.django_db
def test_it_creates_a_dose_reduction_for_dry_lips(built):
    for course in courses(built, "dry_lips_dose_reduced"):
        effect = course.side_effects.get(action="dose_reduced")
        assert "dry lips" in effect.term
        increase, reduction = course.dose_segments.order_by("starts_on")[1:3]
        assert "dry lips" in reduction.reason
        assert (increase.change_reason, reduction.change_reason) == ("planned", "side_effects")
        assert reduction.starts_on > effect.onset
        assert reduction.mg_per_day < increase.mg_per_day


@pytest.mark.django_db
def test_every_demo_dose_change_says_why_and_each_reduction_for_a_result_or_side_effect(built):
    """Every dose change but a course's first dose has a code; the reductions after high triglycerides are for
    an abnormal lab result, the dry lips ones for side effects."""
    changes = DoseSegment.objects.exclude(starts_on=F("course__start"))
    assert changes.exists() and not changes.filter(change_reason="").exists()
    assert not DoseSegment.objects.filter(starts_on=F("course__start")).exclude(change_reason="").exists()
    for course in courses(built, "triglycerides_high"):
        reduction = course.dose_segments.order_by("starts_on")[2]
        assert (reduction.change_reason, "triglycerides" in reduction.reason) == ("lab_result", True)
    reasons = set(changes.values_list("change_reason", flat=True))
    assert {"planned", "side_effects", "lab_result"} <= reasons


@pytest.mark.django_db
def test_it_creates_a_hold_and_missed_doses(built):
    for course in courses(built, "hold_and_missed_doses"):
        hold = course.interruptions.get()
        assert (hold.end - hold.start).days == 6
        missed = list(course.missed_doses.values_list("date", flat=True))
        assert len(missed) == 3
        assert not any(hold.start <= day <= hold.end for day in missed)


# ----------------------------------------------------------------------------------- labs, mood, weight


@pytest.mark.django_db
def test_it_creates_baseline_labs_before_the_first_fill_for_almost_all(built):
    dispensed = Course.objects.filter(dispenses__isnull=False).distinct()
    without = [
        c
        for c in dispensed
        if not c.lab_results.filter(test="alt", effective_date__lte=c.dispenses.earliest("date").date)
    ]
    missing = courses(built, "baseline_labs_missing") + courses(built, "history_baseline_labs_missing")
    assert {c.pk for c in without} == {c.pk for c in missing}
    assert len(without) <= 0.08 * dispensed.count()  # one in each month of the history, one today


@pytest.mark.django_db
def test_it_creates_peak_dose_labs_around_day_60(built):
    for course in courses(built, "treatment_month_4"):
        first = course.dispenses.earliest("date").date
        assert course.lab_results.filter(
            test="triglycerides", effective_date__range=(first + days(50), first + days(65))
        ).exists()


@pytest.mark.django_db
def test_it_creates_high_and_critical_triglycerides(built):
    values = [
        course.lab_results.filter(test="triglycerides").latest("effective_date").value
        for course in courses(built, "triglycerides_high")
    ]
    assert all(500 <= value < 800 for value in values)
    for course in courses(built, "triglycerides_critical"):
        latest = course.lab_results.filter(test="triglycerides").latest("effective_date")
        assert latest.value >= 800
        hold = course.interruptions.get()
        assert hold.start > latest.effective_date


@pytest.mark.django_db
def test_it_creates_a_liver_enzyme_above_three_times_the_upper_limit(built):
    for course in courses(built, "liver_enzymes_high"):
        alt = course.lab_results.filter(test="alt").latest("effective_date")
        assert alt.value > 3 * alt.uln


@pytest.mark.django_db
def test_it_creates_positive_mood_screens_and_self_harm_only_where_the_situation_says(built):
    for course in courses(built, "mood_screen_positive"):
        latest = course.mood_screens.filter(instrument="phq9").latest("date")
        assert latest.score >= 10 and latest.item9 == 0
    self_harm = courses(built, "self_harm_risk")
    assert self_harm and len(built.incidents["self_harm"]) == 3  # one in each month of the history
    assert MoodScreen.objects.filter(item9__gt=0).count() == len(self_harm) + 3


@pytest.mark.django_db
def test_it_creates_weights_in_lb_and_a_weight_change_of_ten_percent(built):
    assert Weight.objects.filter(entered_unit="lb").exists()
    for course in courses(built, "weight_changed"):
        weights = course.patient.weights.order_by("effective_date")
        assert weights.last().kg >= weights.first().kg * Decimal("1.1")


@pytest.mark.django_db
def test_it_uses_abstinence_and_primary_with_secondary_methods(built):
    methods = set(Contraception.objects.values_list("method", flat=True))
    assert "abstinence" in methods
    assert methods & PRIMARY
    assert methods & SECONDARY


# ------------------------------------------------------------------------------------ the 2021 practice


@pytest.mark.django_db
def test_the_pinned_practice_shows_the_19_day_lockout(built):
    (course,) = courses(built, "lockout_19_day")
    missed, latest = course.pregnancy_tests.filter(purpose="confirmation").order_by("specimen_date")
    assert not course.dispenses.exists()
    assert latest.specimen_date - missed.specimen_date < days(19)  # IPL-LOCK-19
    assert latest.specimen_date >= TODAY - days(6)


@pytest.mark.django_db
def test_the_pinned_practice_counsels_patients_who_cannot_get_pregnant_every_month(built):
    for course in Course.objects.filter(
        patient__practice=built.pinned_practice, patient__category="cannot_get_pregnant"
    ):
        for dispense in course.dispenses.all():  # IPL-COUNSEL-MONTH, IPL-WIN-30
            assert course.ipledge_entries.filter(
                kind="prescriber_confirmation", date__range=(dispense.date - days(29), dispense.date)
            ).exists()
    (expired,) = courses(built, "counseling_window_expired")
    visit = expired.ipledge_entries.filter(kind="prescriber_confirmation").latest("date")
    assert visit.date + days(29) < TODAY
    (due,) = courses(built, "counseling_due")
    last = due.dispenses.latest("date")
    assert not due.ipledge_entries.filter(date__gt=last.date).exists()


@pytest.mark.django_db
def test_the_main_practice_counsels_monthly_only_while_the_2021_rules_apply(built):
    effective = built.practice.ipledge_2026_effective
    entries = IpledgeEntry.objects.filter(
        course__patient__practice=built.practice,
        course__patient__category="cannot_get_pregnant",
        kind="prescriber_confirmation",
    )
    assert entries.exists()
    assert not entries.filter(date__gte=effective).exists()


# ------------------------------------------------------------------------------------- with the core engine


@pytest.mark.django_db
def test_the_core_engine_sees_the_situations_it_was_built_for(built):
    from isotrack.clinic.records import course_facts
    from isotrack.core import evaluate

    def answer(key: str) -> dict:
        return evaluate(course_facts(courses(built, key)[0]), TODAY).to_dict()

    assert answer("window_closing_today")["dispense"]["allowed"] is True
    assert answer("window_closing_today")["dispense"]["window"]["closes"] == TODAY.isoformat()
    assert "WINDOW_EXPIRED" in answer("window_missed")["dispense"]["blocking"]
    assert answer("awaiting_patient_attestation")["dispense"]["blocking"] == ["PATIENT_ATTESTATION_MISSING"]
    assert answer("pregnancy_test_positive")["phase"] == "stopped"
    assert answer("post_course")["phase"] == "post_course"
    assert answer("completed")["phase"] == "completed"
    assert answer("lockout_19_day")["dispense"]["blocking"] == ["LOCKOUT_19_DAY"]
    assert answer("counseling_due")["dispense"]["blocking"] == ["COUNSELING_MISSING"]
    alerts = {
        key: {a["code"] for a in answer(key)["alerts"]}
        for key in (
            "triglycerides_high",
            "triglycerides_critical",
            "liver_enzymes_high",
            "mood_screen_positive",
            "self_harm_risk",
            "weight_changed",
            "baseline_labs_missing",
        )
    }
    assert alerts == {
        "triglycerides_high": {"TRIGLYCERIDES_HIGH"},
        "triglycerides_critical": {"TRIGLYCERIDES_CRITICAL"},
        "liver_enzymes_high": {"LIVER_ENZYMES_HIGH"},
        "mood_screen_positive": {"MOOD_SCREEN_POSITIVE"},
        "self_harm_risk": {"MOOD_SCREEN_POSITIVE", "SELF_HARM_RISK"},
        "weight_changed": {"WEIGHT_CHANGED"},
        "baseline_labs_missing": {"BASELINE_LABS_MISSING"},
    }
    for key in ("ready_for_first_fill", "counseling_window_open"):
        for course in courses(built, key):
            assert evaluate(course_facts(course), TODAY).to_dict()["dispense"]["allowed"] is True, key


@pytest.mark.django_db
def test_the_course_stopped_by_a_positive_test_is_marked_stopped_not_completed(built):
    (course,) = courses(built, "pregnancy_test_positive")[:1]
    course.refresh_from_db()
    assert course.status == "revoked"
    assert course.end is not None
    assert course.stop_reason == "positive_test"


# ------------------------------------------------------------------------------------------------ the history
# The three calendar months before TODAY (2026-11-25): August, September and October 2026, all under the 2021
# rules (the main practice takes the 2026 rules on 2026-11-15).

HISTORY_MONTHS = ("2026-08", "2026-09", "2026-10")
HISTORY_KEYS = {
    "history_completed_target",
    "history_completed_120",
    "history_completed_without_weight",
    "history_positive_before_first_fill",
    "history_positive_follow_up_open",
    "history_stopped_side_effects",
    "history_stopped_patient_choice",
    "history_lost_to_follow_up",
    "history_first_fill_delayed",
    "history_baseline_labs_missing",
    "history_enrollment_dated_late",
}


@pytest.mark.django_db
def test_the_default_demo_holds_three_months_of_history(built):
    for key in HISTORY_KEYS:
        assert len(courses(built, key)) == 3, key
    (below,) = courses(built, "history_completed_below_120")
    assert below.status == "completed"
    for incident, found in built.incidents.items():
        assert len(found) == 3, incident  # each recent month got its own
    assert set(built.incidents) == {
        "replaced", "lost_test", "lost_prescriber", "lost_patient", "lost_pick_up", "peak_late",
        "peak_not_done", "triglycerides_high_then_critical", "liver_unacknowledged", "routine_labs",
        "self_harm",
    }  # fmt: skip
    assert not Dispense.objects.filter(date__gt=TODAY).exists()


@pytest.mark.django_db
def test_history_courses_end_in_their_month_with_their_reason(built):
    for key, status, reason in (
        ("history_completed_target", "completed", ""),
        ("history_completed_120", "completed", ""),
        ("history_completed_without_weight", "completed", ""),
        ("history_positive_follow_up_open", "revoked", "positive_test"),
        ("history_stopped_side_effects", "revoked", "side_effects"),
        ("history_stopped_patient_choice", "revoked", "patient_choice"),
        ("history_lost_to_follow_up", "revoked", "lost_to_follow_up"),
    ):
        months = sorted(course.end.strftime("%Y-%m") for course in courses(built, key))
        assert months == list(HISTORY_MONTHS), key
        for course in courses(built, key):
            assert (course.status, course.stop_reason) == (status, reason), key
    positive_first = courses(built, "history_positive_before_first_fill")
    months = sorted(
        c.pregnancy_tests.get(result="positive").specimen_date.strftime("%Y-%m") for c in positive_first
    )
    assert months == list(HISTORY_MONTHS)
    for course in positive_first:  # stopped before a first dose: no last day of dosing
        assert (course.status, course.end, course.stop_reason) == ("revoked", None, "positive_test")
        assert not course.dispenses.exists()
        assert course.pregnancy_tests.get(result="positive").purpose == "confirmation"
        assert set(course.pregnancy_follow_ups.values_list("step", flat=True)) == {"stop", "refer", "report"}
    for course in courses(built, "history_positive_follow_up_open"):
        positive = course.pregnancy_tests.get(result="positive").specimen_date
        report = course.pregnancy_follow_ups.get(step="report").date
        assert report.month != positive.month  # reported only the next month
    for key in (
        "history_first_fill_delayed",
        "history_baseline_labs_missing",
        "history_enrollment_dated_late",
    ):
        months = sorted(c.dispenses.earliest("date").date.strftime("%Y-%m") for c in courses(built, key))
        assert months == list(HISTORY_MONTHS), key
    for course in courses(built, "history_enrollment_dated_late"):
        enrolled = course.ipledge_entries.get(kind="enrollment").date
        assert enrolled > course.dispenses.earliest("date").date


@pytest.mark.django_db
def test_a_first_fill_delayed_under_the_2021_rules_waited_through_the_lockout(built):
    from isotrack.clinic.records import course_facts
    from isotrack.core import evaluate

    for course in courses(built, "history_first_fill_delayed"):
        first, locked, last = course.pregnancy_tests.filter(purpose="confirmation").order_by("specimen_date")
        assert (locked.specimen_date - first.specimen_date).days < 19  # IPL-LOCK-19
        assert (last.specimen_date - locked.specimen_date).days >= 19
        answer = evaluate(course_facts(course), locked.specimen_date)
        assert answer.rule_set.id == "us-ipledge-2021"
        assert "LOCKOUT_19_DAY" in answer.to_dict()["dispense"]["blocking"]


@pytest.mark.django_db
def test_every_quality_figure_of_the_last_three_months_is_non_zero(built):
    """Issue 16's acceptance: over the demo's recent months every measure shows a value. Each month's report
    (the practice as a whole) has every figure above zero, and the entries the history is built for."""
    wanted = {
        "first_fill.waited.lockout",
        "first_fill.waited.missed_window",
        "windows.missing.PREGNANCY_TEST_SETTING",
        "windows.missing.PRESCRIBER_CONFIRMATION_MISSING",
        "windows.missing.PATIENT_ATTESTATION_MISSING",
        "windows.missing.PICK_UP",
        "courses.stop_reasons.positive_test",
        "courses.stop_reasons.side_effects",
        "courses.stop_reasons.patient_choice",
        "courses.stop_reasons.lost_to_follow_up",
        "safety.critical_labs.TRIGLYCERIDES_CRITICAL",
        "monitoring.alerts_raised.TRIGLYCERIDES_HIGH",
        "monitoring.alerts_raised.SELF_HARM_RISK",
    }
    for month in HISTORY_MONTHS:
        out = io.StringIO()
        call_command("report", "--month", month, "--practice", str(built.practice.uuid), stdout=out)
        rows = [
            row
            for row in csv.DictReader(io.StringIO(out.getvalue()))
            if row["group"] == "practice" and row.get("split", "practice") == "practice"
        ]
        values = {row["measure"]: row["value"] for row in rows}
        figures = {measure for measure in values if measure.count(".") == 1}  # not a list's entries
        assert len(figures) >= 25
        zero = sorted(m for m in figures | wanted if values.get(m, "") in ("", "0", "0.0"))
        assert not zero, (month, zero)
