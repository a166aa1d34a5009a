"""The print view of every demo course fits one US Letter sheet (Chromium's own PDF of the page, print media):
the checklist stays a table in print, whatever the width."""

from __future__ import annotations

import re

import pytest

from isotrack.demo.generator import MAIN_SITUATIONS, build_demo
from tests.web.conftest import screenshot
from tests.web.test_alerts_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def pages_of(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_every_course_summary_prints_on_one_letter_page(page, live_server):
    demo = build_demo(patients=len(MAIN_SITUATIONS))
    log_in(page, live_server, "doctor")
    courses = [
        course
        for courses in demo.courses.values()
        for course in courses
        if course.patient.practice_id == demo.practice.pk
    ]
    sheets = {}
    for course in courses:
        page.goto(f"{live_server.url}/courses/{course.uuid}/print/")
        sheets[str(course.uuid)] = pages_of(page.pdf(format="Letter"))
    assert len(sheets) == len(MAIN_SITUATIONS)
    assert set(sheets.values()) == {1}, {uuid: n for uuid, n in sheets.items() if n != 1}
    (worst,) = demo.courses["self_harm_risk"]  # two alerts and a full checklist
    page.goto(f"{live_server.url}/courses/{worst.uuid}/print/")
    page.emulate_media(media="print")
    screenshot(page, "print-self-harm")
