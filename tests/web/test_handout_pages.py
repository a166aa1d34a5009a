"""The patient's handout of a course (/courses/<id>/handout/): who may print it, in which language, what it
says of the course (the month of treatment and the dates the engine gives, the pick-up deadline the course
page shows) and what it never says (a family name, an MRN, a result, a pregnancy line for a patient who cannot
get pregnant); the other pages keep their English and their ISO dates."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from isotrack.audit.models import AccessEvent
from isotrack.clinic.actions.courses import start_course
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_lab_result, record_pregnancy_test
from isotrack.clinic.actions.patients import record_contraception, record_weight, register_patient
from isotrack.clinic.models import Course
from isotrack.handouts import wording
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
CGP, CNGP = "can_get_pregnant", "cannot_get_pregnant"


def treated(
    prescriber,
    nurse,
    *,
    mrn: str,
    first_fill: dt.date,
    fills: int = 1,
    category: str = CGP,
    next_test: dt.date | None = None,
) -> Course:
    """A course of Maya Quintero (synthetic) with ``fills`` monthly fills 30 days apart from ``first_fill``,
    each with its iPLEDGE steps; ``next_test``: a negative monthly test for the next fill, collected then."""
    can = category == CGP
    patient = register_patient(
        actor=prescriber,
        mrn=mrn,
        given_name="Maya",
        family_name="Quintero",
        birth_date=dt.date(2004, 3, 1),
        category=category,
        ipledge_id=f"99{mrn[-4:]}0000",
    )
    record_weight(actor=nurse, patient=patient, effective_date=first_fill - 40 * DAY, value=Decimal(60))
    if can:
        for method in ("iud_copper", "male_condom"):
            record_contraception(actor=nurse, patient=patient, method=method, start=first_fill - 60 * DAY)
    course = start_course(
        actor=prescriber,
        patient=patient,
        prescriber=prescriber,
        start=first_fill + DAY,
        mg_per_day=Decimal(40),
        product="conventional",
    )
    record_ipledge_entry(actor=prescriber, course=course, kind="enrollment", day=first_fill - 30 * DAY)
    if can:
        pregnancy_test(nurse, course, "screening", first_fill - 25 * DAY)
    for n in range(fills):
        day = first_fill + 30 * n * DAY
        cycle(
            prescriber,
            nurse,
            course,
            day - (0 if n == 0 else 1) * DAY,
            "confirmation" if n == 0 else "monthly",
        )
        record_dispense(actor=nurse, course=course, day=day, days_supply=30)
    if next_test is not None:
        cycle(prescriber, nurse, course, next_test, "monthly")
    return course


def pregnancy_test(nurse, course: Course, purpose: str, day: dt.date) -> None:
    setting = "lab" if purpose == "confirmation" else "office"
    record_pregnancy_test(
        actor=nurse, course=course, purpose=purpose, setting=setting, specimen_date=day, result="negative"
    )


def cycle(prescriber, nurse, course: Course, day: dt.date, purpose: str) -> None:
    """The iPLEDGE steps of one fill on ``day``: the test and the patient's questions (can get pregnant), the
    prescriber's confirmation (or counseling)."""
    if course.patient.category == CGP:
        pregnancy_test(nurse, course, purpose, day)
    record_ipledge_entry(actor=prescriber, course=course, kind="prescriber_confirmation", day=day)
    if course.patient.category == CGP:
        record_ipledge_entry(actor=nurse, course=course, kind="patient_attestation", day=day)


def sheet(client, course: Course, lang: str | None = None) -> str:
    url = reverse("course_handout", args=[course.uuid])
    response = client.get(url, {"lang": lang} if lang is not None else {})
    assert response.status_code == 200
    return response.content.decode()


def visible(body: str) -> str:
    """The words of the sheet itself (the staff's toolbar aside), tags removed."""
    article = body.split('data-testid="handout"', 1)[1].split("</article>")[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article.split(">", 1)[1]))


def dates_of(body: str) -> dict[str, str]:
    return dict(re.findall(r'data-date-code="([A-Z_]+)" data-date="([0-9-]+)"', body))


def english_sentences() -> list[str]:
    with translation.override("en"):
        texts = [str(section.default) for section in wording.SECTIONS]
        texts += [str(words) for words in wording.DATE_WORDS.values()]
        texts += [str(wording.DISCLAIMER), str(wording.EXPECT_HEADING), str(wording.DATES_HEADING)]
    return [s.strip() for text in texts for s in re.split(r"(?<=[.:?])\s+|\n", text) if len(s.strip()) > 12]


# ------------------------------------------------------------------------------------ who, and which language


def test_the_handout_needs_a_login(client, course):
    response = client.get(reverse("course_handout", args=[course.uuid]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_outsider_gets_404_exactly_as_for_a_missing_course(client, outsider, course):
    client.force_login(outsider)
    theirs = client.get(reverse("course_handout", args=[course.uuid]), {"lang": "es"})
    missing = client.get(reverse("course_handout", args=["00000000-0000-4000-8000-000000000000"]))
    assert theirs.status_code == missing.status_code == 404
    assert b"Maya" not in theirs.content and b"No such course." in theirs.content


def test_a_nurse_the_front_desk_and_an_auditor_print_the_handout_of_a_course_they_read(
    client, prescriber, nurse, front_desk, auditor
):
    course = treated(prescriber, nurse, mrn="H-0001", first_fill=TODAY - 40 * DAY, fills=2)
    for member in (nurse, front_desk, auditor, prescriber):
        client.force_login(member)
        body = sheet(client, course, "es")
        assert 'data-language="es"' in body and "Mes 2 de su tratamiento" in body, member.role
        assert "Edit the practice's texts" not in body  # the administrator's page only


@pytest.mark.parametrize("asked", ["fr", "", "xx-YY", "<script>", "en-US"])
def test_an_unknown_language_gives_the_english_handout_not_an_error(client, nurse, course, asked):
    client.force_login(nurse)
    body = sheet(client, course, asked)
    assert '<html lang="en">' in body and 'data-language="en"' in body
    assert "Month 1 of your treatment" in body and "<script>" not in body.split("<body", 1)[1]


def test_printing_the_handout_is_a_look_at_the_patients_record_through_print(client, nurse, course):
    client.force_login(nurse)
    sheet(client, course, "es")
    look = AccessEvent.objects.order_by("id").last()
    assert (look.patient, look.actor, look.channel, look.view) == (
        course.patient,
        nurse,
        "print",
        "course_handout",
    )


def test_spanish_is_asked_for_by_its_code_in_any_case(client, nurse, course):
    client.force_login(nurse)
    for asked in ("es", "ES", "es-MX", "es_US"):
        assert '<html lang="es">' in sheet(client, course, asked), asked
    response = client.get(reverse("course_handout", args=[course.uuid]), {"lang": "es"})
    assert response["Content-Language"] == "es"


def test_the_course_page_links_to_the_handout_in_both_languages(client, nurse, course):
    client.force_login(nurse)
    body = client.get(reverse("course", args=[course.uuid])).content.decode()
    url = reverse("course_handout", args=[course.uuid])
    assert f'href="{url}?lang=en"' in body and f'href="{url}?lang=es"' in body
    assert re.search(r"Patient handout \(<a [^>]+>English</a> · <a [^>]+>Español</a>\)", body)


# ------------------------------------------------------------------------------------ what it says


def test_the_spanish_handout_is_all_spanish_with_its_dates_written_out(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0002", first_fill=TODAY - 40 * DAY, fills=2)
    client.force_login(nurse)
    body = sheet(client, course, "es")
    words = visible(body)
    assert "Mes 2 de su tratamiento" in words and "Para Maya" in words
    assert "Impreso el martes, 1 de diciembre de 2026" in words
    # the next fill of 2026-11-21's supply: 2026-12-21, with the monthly test due the same day (IPL-PT-MONTH)
    assert dates_of(body)["NEXT_DISPENSE"] == "2026-12-21"
    assert "Su próximo surtido lunes, 21 de diciembre de 2026" in words
    assert "Último día para su prueba de embarazo mensual lunes, 21 de diciembre de 2026" in words
    assert "bálsamo labial" in words and "lágrimas artificiales" in words and "protector solar" in words
    assert "988" in words and "no reemplaza" in words
    for sentence in english_sentences():
        assert sentence not in words, sentence
    assert "December" not in words and "2026-12" not in words


def test_the_english_handout_writes_its_dates_in_words_too(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0003", first_fill=TODAY - 40 * DAY, fills=2)
    client.force_login(nurse)
    words = visible(sheet(client, course, "en"))
    assert "Month 2 of your treatment" in words and "For Maya" in words
    assert "Printed on Tuesday, December 1, 2026" in words
    assert "Your next fill Monday, December 21, 2026" in words
    assert "does not replace, the advice of your doctor" in words


def test_it_names_the_patient_by_given_name_only_and_no_result_drug_or_method(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0004", first_fill=TODAY - 40 * DAY, fills=2)
    client.force_login(nurse)
    for lang in ("en", "es"):
        words = visible(sheet(client, course, lang)).lower()
        for never in (
            "quintero",
            "h-0004",
            "99000",
            "2004",
            "isotretinoin",
            "absorica",
            "claravis",
            "negative",
            "negativ",
            "positive",
            "positiv",
            "iud",
            "condom",
            "40 mg",
            "mg/kg",
        ):
            assert never not in words, (lang, never)


def test_the_month_of_treatment_moves_on_when_the_next_fills_test_may_be_collected(client, prescriber, nurse):
    # the supply of the second fill runs out on TODAY + 5: its monthly test may be collected from TODAY - 1
    course = treated(prescriber, nurse, mrn="H-0005", first_fill=TODAY - 55 * DAY, fills=2)
    client.force_login(nurse)
    assert "Month 3 of your treatment" in sheet(client, course)
    assert 'data-section="expect_later"' in sheet(client, course)


def test_the_pick_up_deadline_is_the_last_day_of_the_window_the_course_page_shows(client, prescriber, nurse):
    course = treated(
        prescriber, nurse, mrn="H-0006", first_fill=TODAY - 27 * DAY, fills=1, next_test=TODAY - DAY
    )
    client.force_login(nurse)
    page = client.get(reverse("course", args=[course.uuid])).content.decode()
    shown = re.search(r"Window: [0-9-]+ to ([0-9-]+) \(last day\)", page)
    assert shown is not None
    body = sheet(client, course, "en")
    assert dates_of(body)["PICK_UP_BY"] == shown.group(1) == (TODAY + 5 * DAY).isoformat()  # IPL-WIN-7
    assert "Last day to pick up your prescription Sunday, December 6, 2026" in visible(body)


def test_a_patient_who_cannot_get_pregnant_gets_no_pregnancy_line(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0007", first_fill=TODAY - 40 * DAY, fills=2, category=CNGP)
    client.force_login(nurse)
    for lang, words in (("en", ("pregnan", "birth control", "period")), ("es", ("embaraz", "anticoncep"))):
        body = sheet(client, course, lang)
        assert 'data-section="pregnancy"' not in body
        assert not {code for code in dates_of(body) if code in wording.PREGNANCY_DATES}
        assert "NEXT_DISPENSE" in dates_of(body)
        text = visible(body).lower()
        for word in words:
            assert word not in text, (lang, word)


def test_a_patient_who_can_get_pregnant_gets_the_pregnancy_section(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0008", first_fill=TODAY - 40 * DAY, fills=2)
    client.force_login(nurse)
    body = sheet(client, course, "es")
    assert 'data-section="pregnancy"' in body and "Cómo evitar el embarazo" in body


def test_before_the_first_fill_it_is_month_1_and_the_confirmation_test_has_its_first_day(
    client, prescriber, nurse, patient, methods, course
):
    pregnancy_test(nurse, course, "screening", TODAY - 5 * DAY)  # IPL-PT-CONFIRM: confirmation 19 days later
    client.force_login(nurse)
    body = sheet(client, course)
    assert "Month 1 of your treatment" in body and 'data-section="expect_month_1"' in body
    assert dates_of(body)["CONFIRMATION_TEST_FROM"] == (TODAY + 14 * DAY).isoformat()


def test_after_the_last_dose_it_speaks_of_the_time_after_treatment_and_its_tests(client, prescriber, nurse):
    from isotrack.clinic.actions.courses import end_course

    course = treated(prescriber, nurse, mrn="H-0009", first_fill=TODAY - 70 * DAY, fills=2)
    end_course(actor=prescriber, course=course, end=TODAY - 10 * DAY, reason="", stopped=False)
    client.force_login(nurse)
    body = sheet(client, course, "en")
    assert "After your treatment" in body and 'data-section="expect_after"' in body
    dates = dates_of(body)
    assert dates["PREGNANCY_TEST_POST_COURSE"] == dates["NO_BLOOD_DONATION_UNTIL"] == "2026-12-21"
    assert dates["PREGNANCY_TEST_END_OF_COURSE"] == "2026-11-21"  # past and not done: as soon as possible
    assert "As soon as possible (it was due Saturday, November 21, 2026)" in visible(body)


# ---------------------------------------------------------------------------------- the rest stays as it was


def test_the_other_pages_keep_english_and_iso_dates_after_a_spanish_handout(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0010", first_fill=TODAY - 40 * DAY, fills=2)
    client.force_login(nurse)
    sheet(client, course, "es")
    page = client.get(reverse("course", args=[course.uuid]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "2026-12-21" in page and "diciembre" not in page and '<html lang="en">' in page
    assert translation.get_language() == "en-us"
    url = reverse("weight_new", args=[course.patient.uuid])
    response = client.post(url, {"unit": "kg"}, HTTP_ACCEPT_LANGUAGE="es")  # Django's own words stay English
    assert response.status_code == 422 and "This field is required." in response.content.decode()


def test_a_course_stopped_by_a_positive_test_has_no_handout(client, prescriber, nurse):
    """IPL-PT-POSITIVE: the prescriber counsels the patient; a sheet telling them to keep preventing
    pregnancy would be wrong. The course page offers none and the address says why."""
    course = treated(prescriber, nurse, mrn="H-0101", first_fill=TODAY - 27 * DAY, fills=1)
    record_pregnancy_test(
        actor=nurse,
        course=course,
        purpose="monthly",
        setting="lab",
        specimen_date=TODAY - DAY,
        result="positive",
    )
    client.force_login(nurse)
    refused = client.get(reverse("course_handout", args=[course.uuid]), {"lang": "es"}, follow=True)
    assert refused.redirect_chain[-1][0] == reverse("course", args=[course.uuid])
    page = refused.content.decode()
    assert "No patient handout for a course stopped by a positive pregnancy test" in page
    assert reverse("course_handout", args=[course.uuid]) not in page


def test_while_the_drug_is_held_there_is_no_fill_or_pick_up_date_but_a_pause(client, prescriber, nurse):
    course = treated(
        prescriber, nurse, mrn="H-0102", first_fill=TODAY - 27 * DAY, fills=1, next_test=TODAY - DAY
    )
    record_lab_result(
        actor=nurse, course=course, test="triglycerides", effective_date=TODAY - DAY, value=Decimal(900),
        unit="mg/dL",
    )  # fmt: skip
    client.force_login(nurse)
    body = sheet(client, course, "en")
    assert "PICK_UP_BY" not in dates_of(body) and "NEXT_DISPENSE" not in dates_of(body), "no fill to expect"
    assert "pause your medicine for now" in visible(body) and "triglycerides" not in body.lower()
    assert "deje de tomar su medicamento por ahora" in visible(sheet(client, course, "es"))


def test_everyone_is_told_not_to_breastfeed_and_the_title_names_no_one(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0103", first_fill=TODAY - 27 * DAY, fills=1, category=CNGP)
    client.force_login(nurse)
    english, spanish = sheet(client, course, "en"), sheet(client, course, "es")
    assert "Do not breastfeed during treatment and for 30 days after your last dose." in visible(english)
    assert "No dé pecho durante el tratamiento" in visible(spanish)
    title = re.search(r"<title>(.*?)</title>", english, re.S)
    assert title is not None and "Maya" not in title.group(1) and "isotrack" not in title.group(1)
