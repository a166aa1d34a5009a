"""The patient's check-in before a monthly visit (issue 17, item 2): phone-sized pages with no login,
reached by the one-time link of the visit's reminder (``clinic.actions.check_ins``).

1. ``check_in``: the patient's birth date (five wrong ones lock the link). A right one marks this browser's
   session as opened for this check-in only.
2. ``check_in_questions``: PHQ-2, the common side effects with their severity, the methods in use and missed
   pills, new medicines; when the PHQ-2 calls for it (the core's rule, through the clinic), a second page asks
   the PHQ-9's other seven questions. The answers of the first page wait on the check-in meanwhile.
3. The answers are sent once. Thoughts of self-harm (item 9 above 0) show the crisis line (988) at once, put
   the course first on the worklist (in the same transaction) and queue a notice to the prescriber that names
   no patient.

Nothing here is a record: the clinician confirms or corrects the answers at the visit."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from isotrack.clinic.access import Capability, StaffRequest, access_check_in
from isotrack.clinic.actions import check_ins
from isotrack.clinic.actions.check_ins import SYMPTOMS, CheckInAnswers, Medicine
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import CheckIn, ContraceptionMethodCode, Severity
from isotrack.clinic.queries import practice_today
from isotrack.notify.reminders import self_harm_notice, send_now
from isotrack.web.forms import DateInput, TextField
from isotrack.web.views import form_page, write_view

OPENED = "check_in_opened"  # the session's key: the check-ins this browser opened with the birth date

PHQ_STEM = "Over the last 2 weeks, how often have you been bothered by:"
PHQ_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety "
    "or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
)
PHQ_ANSWERS = [
    ("0", "Not at all"),
    ("1", "Several days"),
    ("2", "More than half the days"),
    ("3", "Nearly every day"),
]
SEVERITY_ANSWERS = [("none", "Not at all"), ("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")]
METHOD_CHOICES = [
    (code, label.removesuffix(" (does not count)")) for code, label in ContraceptionMethodCode.choices
]
MEDICINE_ROWS = 3


def _radios(label: str, choices: list[tuple[str, str]]) -> forms.ChoiceField:
    """A question answered by one of ``choices``, none chosen beforehand."""
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose one answer."},
    )


class BirthDateForm(forms.Form):
    birth_date = forms.DateField(
        label="Your date of birth", widget=DateInput, error_messages={"required": "Enter your date of birth."}
    )


class QuestionsForm(forms.Form):
    """The first page: the PHQ-2, the side effects, contraception, new medicines."""

    def __init__(self, *args: Any, today: date, birth: date | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today, self.birth = today, birth
        for n in (1, 2):
            self.fields[f"phq{n}"] = _radios(PHQ_ITEMS[n - 1], PHQ_ANSWERS)
        for key, words in SYMPTOMS.items():
            self.fields[f"symptom_{key}"] = _radios(words, SEVERITY_ANSWERS)
        self.fields["methods"] = forms.MultipleChoiceField(
            label="Birth control you are using now (leave empty if none)",
            choices=METHOD_CHOICES,
            widget=forms.CheckboxSelectMultiple,
            required=False,
        )
        self.fields["missed_pills"] = forms.IntegerField(
            label="If you take a pill: how many did you miss since your last visit?",
            min_value=0,
            max_value=check_ins.MISSED_PILLS_AT_MOST,
            required=False,
        )
        for n in range(MEDICINE_ROWS):
            self.fields[f"medicine_{n}"] = forms.CharField(
                label=f"New medicine or supplement {n + 1} (name)", max_length=200, required=False
            )
            self.fields[f"medicine_{n}_start"] = forms.DateField(
                label="Started on (if you know)", widget=DateInput, required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for n in range(MEDICINE_ROWS):
            start = cleaned.get(f"medicine_{n}_start")
            problem = start and check_ins.medicine_start_problem(start, self.birth, self.today)
            if problem:
                self.add_error(f"medicine_{n}_start", problem)
        return cleaned

    def draft(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "phq": [int(data["phq1"]), int(data["phq2"])],
            "symptoms": {key: data[f"symptom_{key}"] for key in SYMPTOMS},
            "methods": list(data["methods"]),
            "missed_pills": data["missed_pills"],
            "medicines": [
                [
                    data[f"medicine_{n}"].strip(),
                    (data[f"medicine_{n}_start"] or "") and str(data[f"medicine_{n}_start"]),
                ]
                for n in range(MEDICINE_ROWS)
                if data[f"medicine_{n}"].strip()
            ],
        }


class MoreMoodForm(forms.Form):
    """The second page: the PHQ-9's questions 3 to 9."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(3, 10):
            self.fields[f"phq{n}"] = _radios(PHQ_ITEMS[n - 1], PHQ_ANSWERS)


def _answers(draft: dict[str, Any], more: list[int]) -> CheckInAnswers:
    return CheckInAnswers(
        phq=(*draft["phq"], *more),
        symptoms=dict(draft["symptoms"]),
        methods=tuple(draft["methods"]),
        missed_pills=draft["missed_pills"],
        medicines=tuple(
            Medicine(name, date.fromisoformat(start) if start else None) for name, start in draft["medicines"]
        ),
    )


def _closed(request: HttpRequest, check_in: CheckIn | None, state: str) -> HttpResponse:
    """A link that opens nothing: unknown, expired, locked or already answered (no patient named)."""
    status = 404 if check_in is None else 410
    return render(
        request, "web/check_in/closed.html", {"state": state if check_in else "unknown"}, status=status
    )


def _opened(request: HttpRequest, check_in: CheckIn) -> bool:
    return str(check_in.uuid) in request.session.get(OPENED, [])


@login_not_required
@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, secret: str) -> HttpResponse:
    """The link's page: the birth date that opens the check-in."""
    found = check_ins.check_in_of(secret)
    state = check_ins.state_of(found) if found else "unknown"
    if found is None or state != "open":
        return _closed(request, found, state)
    if _opened(request, found):
        return redirect("check_in_questions", secret=secret)
    form = BirthDateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = check_ins.open_check_in(check_in=found, birth_date=form.cleaned_data["birth_date"])
        if outcome == "open":
            request.session.cycle_key()  # a new session key once the birth date opened it
            request.session[OPENED] = [*request.session.get(OPENED, []), str(found.uuid)]
            return redirect("check_in_questions", secret=secret)
        if outcome != "wrong":
            return _closed(request, found, outcome)
        found.refresh_from_db()
        left = check_ins.CHECK_IN_TRIES - found.failed_tries
        form.add_error(
            "birth_date",
            f"This date does not match the clinic's record. {left} more {'try' if left == 1 else 'tries'} "
            "before the link closes.",
        )
    context = {"form": form, "practice": found.course.patient.practice, "visit_date": found.visit_date}
    return render(request, "web/check_in/birth_date.html", context, status=422 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def check_in_questions(request: HttpRequest, secret: str) -> HttpResponse:
    """The questions (two pages when the PHQ-2 calls for the PHQ-9), then the answers sent once."""
    found = check_ins.check_in_of(secret)
    state = check_ins.state_of(found) if found else "unknown"
    if found is None or state != "open":
        return _closed(request, found, state)
    if not _opened(request, found):
        return redirect("check_in", secret=secret)
    draft = found.draft
    practice = found.course.patient.practice
    context: dict[str, Any] = {"practice": practice, "stem": PHQ_STEM}
    if draft is None:
        form: forms.Form = QuestionsForm(
            request.POST or None, today=practice_today(practice), birth=found.course.patient.birth_date
        )
        if request.method == "POST" and form.is_valid():
            draft = form.draft()  # type: ignore[attr-defined]
            if check_ins.phq9_called_for(draft["phq"]):
                try:
                    check_ins.save_draft(check_in=found, draft=draft)
                except InvalidInput:
                    return _closed(request, found, check_ins.state_of(found))
                return redirect("check_in_questions", secret=secret)
            return _send(request, found, draft, [])
        return render(
            request,
            "web/check_in/questions.html",
            {**context, "form": form},
            status=422 if form.errors else 200,
        )
    form = MoreMoodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _send(request, found, draft, [int(form.cleaned_data[f"phq{n}"]) for n in range(3, 10)])
    return render(
        request, "web/check_in/more_mood.html", {**context, "form": form}, status=422 if form.errors else 200
    )


def _send(request: HttpRequest, found: CheckIn, draft: dict[str, Any], more: list[int]) -> HttpResponse:
    try:
        sent = check_ins.submit_check_in(check_in=found, answers=_answers(draft, more))
    except InvalidInput:
        return _closed(request, found, check_ins.state_of(found))
    notified = False
    if sent.self_harm_reported:
        notices = self_harm_notice(sent)
        for notice in notices:
            send_now(notice)  # at once (a failure: the next send-reminders run)
        notified = bool(notices)
    context = {
        "practice": found.course.patient.practice,
        "crisis": sent.self_harm_reported,
        "notified": notified,
    }
    return render(request, "web/check_in/thanks.html", context)


# --- the clinician's review (item 3): the answers beside the visit's fields, confirmed group by group ------


class ReviewForm(forms.Form):
    """Which groups are confirmed with the patient and, beside each reported record, what the clinician
    corrects before it is recorded (every correction field starts empty: blank records it as reported)."""

    confirmed = forms.MultipleChoiceField(
        label="Confirmed with the patient",
        choices=[
            ("mood", "The mood questions (a mood screen)"),
            ("symptoms", "The side effects"),
            ("medicines", "The new medicines"),
        ],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What you do not tick stays the patient's report: it is not recorded.",
    )

    def __init__(self, *args: Any, reported: dict[str, list[dict[str, Any]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reported = reported
        as_reported = "As reported"
        for screen in reported["mood"][:1]:
            nine = screen["instrument"] == "phq9"
            self.fields["mood_score"] = forms.IntegerField(
                label=f"Corrected {'PHQ-9' if nine else 'PHQ-2'} score",
                min_value=0,
                max_value=27 if nine else 6,
                required=False,
                help_text=f"Reported: {screen['score']}. Blank: as reported.",
            )
            if nine:
                self.fields["mood_item9"] = forms.IntegerField(
                    label="Corrected item 9 (thoughts of self-harm)",
                    min_value=0,
                    max_value=3,
                    required=False,
                    help_text=f"Reported: {screen['item9']}. Blank: as reported."
                    + (
                        " Corrected, the patient's report of thoughts of self-harm stays open until a"
                        " prescriber acknowledges it."
                        if screen["item9"]
                        else ""
                    ),
                )
        for index, effect in enumerate(reported["symptoms"]):
            self.fields[f"symptom_{index}_severity"] = forms.ChoiceField(
                label=f"{effect['term'].capitalize()}: corrected severity",
                choices=[("", as_reported), *Severity.choices],
                required=False,
                help_text=f"Reported: {effect['severity']}.",
            )
            self.fields[f"symptom_{index}_leave_out"] = forms.BooleanField(
                label=f"Leave out {effect['term']} (not confirmed)", required=False
            )
        for index, medicine in enumerate(reported["medicines"]):
            self.fields[f"medicine_{index}_name"] = TextField(
                label=f"{medicine['name']}: corrected name",
                max_length=100,
                required=False,
                help_text="Blank: as reported.",
            )
            self.fields[f"medicine_{index}_start"] = forms.DateField(
                label=f"{medicine['name']}: corrected first day",
                widget=DateInput,
                required=False,
                help_text=f"Reported: {medicine['start']}. Blank: as reported.",
            )
            self.fields[f"medicine_{index}_leave_out"] = forms.BooleanField(
                label=f"Leave out {medicine['name']} (not confirmed)", required=False
            )

    @property
    def sections(self) -> list[dict[str, Any]]:
        """Each group's section of the page: its title, its "confirmed" tick box and its correction fields."""
        boxes = {str(box.data["value"]): box for box in self["confirmed"]}
        fields = self.group_fields
        return [
            {"group": group, "title": title, "box": boxes[group], "fields": fields[group]}
            for group, title in (
                ("mood", "Mood"),
                ("symptoms", "Side effects"),
                ("medicines", "New medicines"),
            )
        ]

    @property
    def group_fields(self) -> dict[str, list[Any]]:
        """Each group's correction fields, in the order of its reported records."""
        return {
            group: [self[name] for name in self.fields if name.startswith(f"{prefix}_")]
            for group, prefix in check_ins.FIELD_PREFIX.items()
        }

    def corrections(self) -> list[check_ins.Correction]:
        """The corrections typed, as the action takes them (a blank field corrects nothing)."""
        data = self.cleaned_data
        found: list[check_ins.Correction] = []
        if "mood_score" in self.fields:
            values = {k: data[f"mood_{k}"] for k in ("score", "item9") if data.get(f"mood_{k}") is not None}
            if values:
                found.append(check_ins.Correction("mood", 0, values))
        for group, prefix in (("symptoms", "symptom"), ("medicines", "medicine")):
            for index in range(len(self.reported[group])):
                values = {
                    name: data[f"{prefix}_{index}_{name}"]
                    for name in check_ins.CORRECTABLE[group]
                    if data.get(f"{prefix}_{index}_{name}") not in (None, "")
                }
                leave_out = bool(data.get(f"{prefix}_{index}_leave_out"))
                if values or leave_out:
                    found.append(check_ins.Correction(group, index, values, leave_out))
        return found

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for group, prefix in (("symptoms", "symptom"), ("medicines", "medicine")):
            for index in range(len(self.reported[group])):
                typed = [
                    name
                    for name in check_ins.CORRECTABLE[group]
                    if data.get(f"{prefix}_{index}_{name}") not in (None, "")
                ]
                if typed and data.get(f"{prefix}_{index}_leave_out"):
                    self.add_error(f"{prefix}_{index}_leave_out", "Correct it or leave it out, not both.")
        return data


def reported_context(check_in: CheckIn | None) -> dict[str, Any]:
    """The answers of a check-in awaiting review, as the visit form and the review page show them."""
    if check_in is None:
        return {"check_in": None}
    answers = check_in.answers or {}
    methods = dict(METHOD_CHOICES)
    return {
        "check_in": check_in,
        "reported": check_ins.reported_records(check_in),
        "reported_methods": [methods.get(code, code) for code in answers.get("methods", [])],
        "reported_missed_pills": answers.get("missed_pills"),
    }


@write_view(Capability.RECORD_OBSERVATIONS)
def check_in_review(request: StaffRequest, check_in_id: str) -> HttpResponse:
    """A check-in's answers, each group confirmed as a record (the patient its source) or left a report."""
    found = access_check_in(request.user, check_in_id)
    course = found.course

    def save(data: dict[str, Any]) -> HttpResponse:
        corrections = form.corrections()
        check_ins.review_check_in(
            actor=request.user, check_in=found, confirmed=data["confirmed"], corrections=corrections
        )
        confirmed = ", ".join(data["confirmed"]) or "nothing"
        corrected = f" ({len(corrections)} corrected or left out)" if corrections else ""
        messages.success(
            request,
            f"Check-in reviewed: confirmed {confirmed}{corrected}; the rest stays the patient's report.",
        )
        return redirect("course", course_id=course.uuid)

    if found.submitted_at is None or found.reviewed_at is not None:
        messages.info(request, "This check-in has no answers awaiting review.")
        return redirect("course", course_id=course.uuid)
    context = {"course": course, "patient": course.patient, **reported_context(found)}
    form = ReviewForm(request.POST or None, reported=context["reported"])
    return form_page(request, form, "web/check_in/review.html", context, save)
