"""Every form page, for every role that may open it, posted exactly as it renders (no field added, nothing
typed): the form saves or shows its errors, never a server error, and never an error about a field the page
did not show. What staff could submit by pressing Save at once is what is tried."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from isotrack.clinic.actions.observations import record_lab_result
from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.models import Role
from tests.conftest import make_staff
from tests.web.test_access import answered_check_in, page_patterns, url_of

# The forms each role opens on a course with a lab and a weight (an auditor opens none).
FORMS_SEEN = {
    Role.PRESCRIBER: 15,
    Role.NURSE: 10,
    Role.FRONT_DESK: 3,
    Role.PRACTICE_ADMIN: 3,
    Role.AUDITOR: 0,
}
ROLES = list(FORMS_SEEN)


class Forms(HTMLParser):
    """The POST forms of a page as a browser would submit them untouched: (action, fields); and each form's
    rendered fields' names (``names``: a radio group with none chosen is rendered, though not posted)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self.names: list[set[str]] = []
        self._select: str | None = None
        self._selected: str | None = None
        self._first: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append((a.get("action") or "", []))
            self.names.append(set())
        if not self.forms or "name" not in a and tag in ("input", "select", "textarea"):
            return
        if tag in ("input", "select", "textarea") and "disabled" not in a:
            self.names[-1].add(a["name"])
        fields = self.forms[-1][1] if self.forms else []
        if tag == "input" and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields.append((a["name"], a.get("value") or "on"))
            elif kind not in ("submit", "button", "reset"):  # a file input untouched posts no file
                fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select, self._selected, self._first = a["name"], None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first is None:
                self._first = value
            if "selected" in a:
                self._selected = value
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self.forms:
            chosen = self._selected if self._selected is not None else self._first
            if chosen is not None:
                self.forms[-1][1].append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self.forms:
            self.forms[-1][1].append((self._textarea, self._text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data


@pytest.fixture
def records(patient, weight, course, nurse):
    lab = record_lab_result(
        actor=nurse, course=course, test="triglycerides", effective_date=course.start, value=120, unit="mg/dL"
    )
    medication = record_medication(actor=nurse, patient=patient, name="doxycycline", start=course.start)
    return {
        "member_id": nurse.uuid,
        "patient_id": patient.uuid,
        "medication_id": medication.uuid,
        "course_id": course.uuid,
        "check_in_id": answered_check_in(course).uuid,
        "kind": "lab",
        "record_id": lab.uuid,
        "code": "TRIGLYCERIDES_CRITICAL",
        "alert_date": course.start,
    }


def form_pages(records):
    return [url_of(p, records) for p in page_patterns() if hasattr(p.callback, "writes")]


@pytest.mark.parametrize("role", ROLES)
def test_every_form_posted_as_rendered_saves_or_shows_errors_beside_rendered_fields(
    client, role, practice, records, methods
):
    user = make_staff(practice, f"walker-{role}", role)
    client.force_login(user)
    walked = 0
    for url in form_pages(records):
        page = client.get(url)
        assert page.status_code in (200, 302, 403, 404), (url, page.status_code)
        if page.status_code != 200:
            continue
        parser = Forms()
        parser.feed(page.content.decode())
        for (action, fields), rendered in zip(parser.forms, parser.names, strict=True):
            if action and action.startswith(reverse("logout")):
                continue
            target = action or url
            response = client.post(target, dict(_merged(fields)))
            walked += 1
            assert response.status_code in (200, 302, 422), (target, response.status_code)
            if response.status_code == 422:
                shown = rendered
                form = response.context["form"]
                for field in form.errors:
                    assert field == "__all__" or field in shown, (target, field, form.errors[field])
    assert walked >= FORMS_SEEN[role]


def _merged(fields):
    """Repeated names (a multiple choice) as lists, the way a browser posts them."""
    merged: dict[str, list[str]] = {}
    for name, value in fields:
        merged.setdefault(name, []).append(value)
    return {name: values if len(values) > 1 else values[0] for name, values in merged.items()}
