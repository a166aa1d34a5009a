"""What the handout says of the practice and of the course's moment: the practice's phone number in the call
section, in both languages; month 1 before the first fill (the treatment starts at the pick-up); a course
whose dosing is over, with dates still to keep or none; and the administrator's texts typed with a browser's
line breaks, measured as the handout keeps them."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import translation

from isotrack.clinic.actions.courses import end_course
from isotrack.clinic.actions.practice_settings import change_settings
from isotrack.clinic.models import Practice, Role
from isotrack.demo.generator import build_demo
from isotrack.handouts import sheet, wording
from isotrack.handouts.actions import change_handout_texts
from isotrack.handouts.models import MAX_TEXT, HandoutText
from tests.conftest import TODAY, make_staff
from tests.web.test_handout_pages import CGP, CNGP, DAY, dates_of, pregnancy_test, treated, visible
from tests.web.test_handout_pages import sheet as printed

pytestmark = pytest.mark.django_db

PHONE = "(555) 010-0199 x12"  # 555-01xx: a fictional number


@pytest.fixture
def admin(practice):
    return make_staff(practice, "manager", Role.PRACTICE_ADMIN)


def section(body: str, key: str) -> str:
    """The words of one section of the sheet (a <section>), its heading and tags removed."""
    found = re.search(rf'data-section="{key}">(.*?)</section>', body, re.S)
    assert found, key
    text = re.sub(r"<h2[^>]*>.*?</h2>", " ", found.group(1), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


# --------------------------------------------------------------------------------------- the practice's phone


def test_the_practices_phone_is_in_the_call_section_in_both_languages(client, admin, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0201", first_fill=TODAY - 40 * DAY, fills=2)
    client.force_login(nurse)
    english, spanish = printed(client, course, "en"), printed(client, course, "es")
    assert "555" not in visible(english) and "555" not in visible(spanish)  # none given: today's text
    assert section(english, "warning_signs").endswith("(Suicide & Crisis Lifeline) now, at any hour.")

    change_settings(actor=admin, changes={"phone": PHONE})
    english, spanish = printed(client, course, "en"), printed(client, course, "es")
    assert section(english, "warning_signs").endswith(f"Call the clinic: {PHONE}")
    assert section(spanish, "warning_signs").endswith(f"Llame al consultorio: {PHONE}")
    assert "Call the clinic" not in visible(spanish)
    assert visible(english).count(PHONE) == visible(spanish).count(PHONE) == 1


def test_the_phone_follows_the_practices_own_text_of_the_call_section(client, admin, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0202", first_fill=TODAY - 40 * DAY, fills=2, category=CNGP)
    change_settings(actor=admin, changes={"phone": "555-0100"})
    change_handout_texts(
        actor=admin, language="es", texts={"warning_signs": "Tiene un dolor de cabeza fuerte."}
    )
    client.force_login(nurse)
    spanish = section(printed(client, course, "es"), "warning_signs")
    assert spanish == "Tiene un dolor de cabeza fuerte. Llame al consultorio: 555-0100"


def test_the_fullest_handout_counts_the_phone(admin, practice):
    with translation.override("es"):
        without = sheet.fullest(practice, "es")
        change_settings(actor=admin, changes={"phone": PHONE})
        practice.refresh_from_db()
        assert sheet.fullest(practice, "es") == without + len(f"Llame al consultorio: {PHONE}")


def test_the_demo_practices_have_a_fictional_phone_number():
    demo = build_demo(patients=0)
    assert (demo.practice.phone, demo.pinned_practice.phone) == ("555-0100", "555-0101")
    for practice in (demo.practice, demo.pinned_practice):
        Practice.objects.get(pk=practice.pk).full_clean()


# -------------------------------------------------------------------------------------- before the first fill


def test_before_the_first_fill_month_1_says_the_treatment_starts_at_the_pick_up(
    client, prescriber, nurse, patient, methods, course
):
    pregnancy_test(nurse, course, "screening", TODAY - 5 * DAY)
    client.force_login(nurse)
    english, spanish = printed(client, course, "en"), printed(client, course, "es")
    assert 'data-section="expect_month_1"' in english and "Month 1 of your treatment" in english
    words = section(english, "expect_month_1")
    assert "Your treatment starts on the day you pick up your medicine." in words
    assert "From that day on, take it the way your doctor prescribed it." in words
    assert "every day" not in words and "the way it was prescribed" not in words
    words = section(spanish, "expect_month_1")
    assert "Su tratamiento empieza el día en que recoge su medicamento en la farmacia." in words
    assert "Desde ese día, tómelo como se lo recetó su médico." in words
    assert "todos los días" not in words


def test_after_the_first_fill_month_1_says_to_take_it_every_day(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0203", first_fill=TODAY - 5 * DAY, fills=1)
    client.force_login(nurse)
    english, spanish = printed(client, course, "en"), printed(client, course, "es")
    assert "Month 1 of your treatment" in english
    assert "Take your medicine every day, the way it was prescribed." in section(english, "expect_month_1")
    assert "starts on the day you pick up" not in english
    assert "Tome su medicamento todos los días" in section(spanish, "expect_month_1")


def test_the_practices_own_month_1_text_is_shown_before_the_first_fill_too(
    client, admin, nurse, patient, methods, course
):
    change_handout_texts(actor=admin, language="en", texts={"expect_month_1": "Our own month 1."})
    client.force_login(nurse)
    assert section(printed(client, course, "en"), "expect_month_1") == "Our own month 1."


# ---------------------------------------------------------------------------------------- after the treatment


def test_a_course_ended_with_its_tests_still_to_come_keeps_their_dates(client, prescriber, nurse):
    course = treated(prescriber, nurse, mrn="H-0204", first_fill=TODAY - 70 * DAY, fills=2)
    pregnancy_test(nurse, course, "end_of_course", TODAY - 11 * DAY)
    end_course(actor=prescriber, course=course, end=TODAY - 10 * DAY)
    client.force_login(nurse)
    body = printed(client, course, "en")
    assert dates_of(body) == {
        "PREGNANCY_TEST_POST_COURSE": "2026-12-21",
        "CONTRACEPTION_UNTIL": "2026-12-21",
        "NO_BLOOD_DONATION_UNTIL": "2026-12-21",
    }
    assert "Keep the dates on this page." in section(body, "expect_after")
    assert "No more dates" not in body and "No dates yet" not in body
    assert 'data-section="pregnancy"' in body, "two methods through 30 days after the last dose"


@pytest.mark.parametrize("tested", [True, False])
def test_a_completed_course_with_nothing_left_says_so(client, prescriber, nurse, tested):
    """Can get pregnant, both tests after the end done; or cannot get pregnant, 30 days after the end gone."""
    category = CGP if tested else CNGP
    course = treated(
        prescriber, nurse, mrn="H-0205", first_fill=TODAY - 150 * DAY, fills=3, category=category
    )
    end = TODAY - 60 * DAY
    if tested:
        pregnancy_test(nurse, course, "end_of_course", end - DAY)
        pregnancy_test(nurse, course, "post_course", end + 31 * DAY)
    end_course(actor=prescriber, course=course, end=end)
    client.force_login(nurse)
    english, spanish = printed(client, course, "en"), printed(client, course, "es")
    assert 'data-phase="completed"' in english and not dates_of(english)
    assert 'data-section="pregnancy"' not in english, "the 30 days after the last dose have passed"
    words = visible(english)
    assert "No more dates to keep for this course." in words
    assert "No dates yet" not in words and "next dates at your visit" not in words
    assert section(english, "expect_after") == (
        "Your treatment has ended. The dryness goes away within a few weeks. "
        "Your skin can keep getting better for months."
    )
    assert "No hay más fechas importantes para este tratamiento." in visible(spanish)
    assert "Todavía no hay fechas" not in visible(spanish) and "Guarde las fechas" not in visible(spanish)


# ---------------------------------------------------------------------------------- the administrator's texts


def test_a_text_at_the_limit_typed_with_a_browsers_line_breaks_is_saved_with_newlines(client, admin):
    lines = ["Keep your skin out of the sun and moisturize morning and night."] * 18
    typed = "\r\n".join(lines)
    wanted = "\n".join(lines)
    extra = MAX_TEXT - len(wanted)
    typed, wanted = typed + "x" * extra, wanted + "x" * extra  # exactly MAX_TEXT once each break is "\n"
    assert len(wanted) == MAX_TEXT and len(typed) == MAX_TEXT + 17
    form = {key: "" for key in wording.BY_KEY}
    client.force_login(admin)
    response = client.post(f"{reverse('handout_texts')}?lang=en", {**form, "avoid": typed})
    assert response.status_code == 302, response.content.decode()
    assert HandoutText.objects.get(section="avoid").text == wanted
    lone_returns = client.post(
        f"{reverse('handout_texts')}?lang=es", {**form, "avoid": typed.replace("\n", "")}
    )
    assert lone_returns.status_code == 302
    assert HandoutText.objects.get(section="avoid", language="es").text == wanted
    too_long = client.post(f"{reverse('handout_texts')}?lang=en", {**form, "care_lips": wanted + "\r\nx"})
    assert too_long.status_code == 422 and 'id="id_care_lips-error"' in too_long.content.decode()
    assert not HandoutText.objects.filter(section="care_lips").exists()


def test_the_texts_page_tells_which_built_in_texts_change_with_the_course(client, admin):
    client.force_login(admin)
    page = client.get(reverse("handout_texts"), {"lang": "es"}).content.decode()
    assert "Before the patient&#x27;s first fill, the built-in text says instead" in page
    assert "Once no date is left to keep" in page


@pytest.mark.parametrize("typed", ["1234567xxxx", "x5550100", "555-0100 x", "call 555 0100"])
def test_a_phone_with_letters_other_than_an_extension_is_refused(admin, typed):
    from django.core.exceptions import ValidationError

    from isotrack.clinic.models import phone_number

    with pytest.raises(ValidationError):
        phone_number(typed)
    phone_number("555 0100 ext. 4")  # an extension, written out
