"""The patient's handout of a visit (isotrack.handouts): the one-page sheet of a course, in English or
Spanish, for any member of the practice who can read the course; and the administrator's page of the
practice's own texts, per language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods

from isotrack.clinic import queries
from isotrack.clinic.access import Capability, StaffRequest, access_course, can, practice_of
from isotrack.handouts import sheet, wording
from isotrack.handouts.actions import change_handout_texts
from isotrack.handouts.models import MAX_TEXT, HandoutLanguage
from isotrack.web.forms import TextField
from isotrack.web.views import form_page, write_view

LANGUAGE_NAMES = dict(HandoutLanguage.choices)  # each language in its own words: English, Español
# The sections whose built-in text changes with the course (wording.built_in_text): what the page tells.
OTHER_BUILT_IN = {
    wording.EXPECT_MONTH_1.key: "Before the patient's first fill, the built-in text says instead that the "
    "treatment starts on the day they pick up the medicine. Your own text replaces both.",
    wording.EXPECT_AFTER.key: "Once no date is left to keep, the built-in text leaves out “Keep the dates on "
    "this page.” Your own text replaces both.",
}


@require_http_methods(["GET"])
def course_handout(request: StaffRequest, course_id: str) -> HttpResponse:
    """``?lang=es`` for Spanish; any other value (or none) gives English, never an error."""
    course = access_course(request.user, course_id)
    language = sheet.language_of(request.GET.get("lang"))
    today = queries.practice_today(practice_of(request.user))
    with translation.override(language):
        context = sheet.handout(course, today, language)
        if context["phase"] == "stopped":  # IPL-PT-POSITIVE: the prescriber counsels the patient instead
            messages.info(
                request,
                "No patient handout for a course stopped by a positive pregnancy test: the prescriber "
                "counsels the patient (IPL-PT-POSITIVE).",
            )
            return redirect("course", course_id=course.uuid)
        context.update(
            course=course,
            languages=LANGUAGE_NAMES,
            can_edit=can(request.user, Capability.MANAGE_PRACTICE),
        )
        response = render(request, "web/handout/sheet.html", context)
    response["Content-Language"] = language
    return response


class SectionTextField(TextField):
    """A section's text, its line breaks as "\\n" before it is measured: a browser sends each as "\\r\\n",
    which would count twice against MAX_TEXT (the action keeps the text with "\\n")."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        return text.replace("\r\n", "\n").replace("\r", "\n")


class HandoutTextsForm(forms.Form):
    """One text per section of the handout, in one language; blank keeps the built-in text (shown below each
    field, in that language)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for section in wording.SECTIONS:
            where = " (only for patients who can get pregnant)" if section.can_get_pregnant_only else ""
            self.fields[section.key] = SectionTextField(
                label=f"{section.title}{where}",
                help_text=OTHER_BUILT_IN.get(section.key, ""),
                required=False,
                max_length=MAX_TEXT,
                strip=False,  # the action keeps the lines as typed, trailing spaces aside
                widget=forms.Textarea(attrs={"rows": 3}),
            )


@write_view(Capability.MANAGE_PRACTICE)
def handout_texts(request: StaffRequest) -> HttpResponse:
    """The practice's own texts of the handout in one language (``?lang=es``): a section's text replaces the
    built-in one for that language only."""
    language = sheet.language_of(request.GET.get("lang"))
    practice = practice_of(request.user)
    form = HandoutTextsForm(request.POST or None, initial=sheet.own_texts(practice, language))
    with translation.override(language):
        built_in = {section.key: str(section.default) for section in wording.SECTIONS}
        too_long = sheet.fullest(practice, language) > sheet.ONE_PAGE

    def save(data: dict[str, Any]) -> HttpResponse:
        changed = change_handout_texts(actor=request.user, language=language, texts=data)
        name = LANGUAGE_NAMES[language]
        if changed:
            titles = ", ".join(str(wording.BY_KEY[key].title).lower() for key in changed)
            messages.success(request, f"Handout texts saved ({name}): {titles}.")
        else:
            messages.info(request, f"Nothing changed in the handout texts ({name}).")
        return redirect(f"{reverse('handout_texts')}?lang={language}")

    context = {
        "language": language,
        "language_name": LANGUAGE_NAMES[language],
        "languages": LANGUAGE_NAMES,
        "fields": [(form[key], built_in[key]) for key in built_in],
        "too_long": too_long,
    }
    return form_page(request, form, "web/handout/texts.html", context, save)
