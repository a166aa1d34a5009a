"""axe-core (4.12, injected by axe-playwright-python) finds no serious or critical violation on any page of
the demo practice, as a prescriber sees them: every page the URL map has (the record pages on a course with
alerts, a lab, a weight), the login page and the API tokens page."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from isotrack.clinic.actions.patients import record_medication
from isotrack.clinic.models import LabResult
from isotrack.demo.generator import MAIN_SITUATIONS, build_demo
from tests.web.test_access import answered_check_in, page_patterns, url_of
from tests.web.test_alerts_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)

SEVERE = ("serious", "critical")


@pytest.fixture
def demo():
    return build_demo(patients=len(MAIN_SITUATIONS))


def severe_violations(page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {v['nodes'][0]['target']}"
        for v in found
        if v["impact"] in SEVERE
    ]


def test_no_page_has_a_serious_or_critical_accessibility_violation(page, live_server, demo):
    (course,) = demo.courses["liver_enzymes_high"]
    lab = LabResult.objects.filter(course=course).first()
    alert = "LIVER_ENZYMES_HIGH"
    medication = record_medication(
        actor=demo.staff["nurse"], patient=course.patient, name="doxycycline", start=course.start
    )
    records = {
        "member_id": demo.staff["nurse"].uuid,
        "patient_id": course.patient.uuid,
        "medication_id": medication.uuid,
        "check_in_id": answered_check_in(course).uuid,
        "course_id": course.uuid,
        "kind": "lab",
        "record_id": lab.uuid,
        "code": alert,
        "alert_date": lab.effective_date,
    }
    urls = ["/login/"]
    urls += [  # the import's template and the quality report's CSVs are downloads, not pages
        url_of(p, records)
        for p in page_patterns()
        if "preview" not in p.name and "revoke" not in p.name and not p.name.endswith(("_template", "_csv"))
    ]
    urls += ["/tokens/", "/password/change/"]
    staff_pages = [url for url in urls if url.startswith(("/staff/", "/practice/"))]  # the administrator's
    problems = {}
    page.goto(f"{live_server.url}/login/")
    problems["/login/"] = severe_violations(page)
    log_in(page, live_server, "doctor")
    checked = 0
    for url in urls[1:]:
        response = page.goto(f"{live_server.url}{url}")
        if response is None or response.status not in (200, 422):
            continue
        checked += 1
        found = severe_violations(page)
        if found:
            problems[url] = found
    page.context.clear_cookies()
    log_in(page, live_server, "manager")
    for url in staff_pages:
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None and response.status == 200, url
        problems[url] = severe_violations(page)
        checked += 1
    assert checked >= 20 and len(staff_pages) >= 4
    assert not {url: found for url, found in problems.items() if found}
