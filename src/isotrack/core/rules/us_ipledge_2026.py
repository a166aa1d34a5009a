"""Rule set ``us-ipledge-2026``: the iPLEDGE modification approved 2026-02-09 (reference.md section 1.1); the
date it takes effect is the practice's ``policy.ipledge_2026_effective`` (⚙ default 2026-11-15).

Released: do not change what this module decides; a later modification is a new module.

Differences from ``us-ipledge-2021``:
- the confirmation test may be done in any medical setting (office, clinic or laboratory), never at home
  (IPL-PT-SETTING);
- no 19-day lockout after a missed first window: a new test opens a new window at once (IPL-LOCK-19 removed);
- cannot get pregnant: counseling is documented at enrollment only; no monthly counseling and no window
  (IPL-2026-CNGP).
"""

from __future__ import annotations

from isotrack.core.course import CourseFile
from isotrack.core.history import History
from isotrack.core.rules import ipledge
from isotrack.core.rules.ipledge import DispenseAssessment, RuleSet

ID = "us-ipledge-2026"
CONFIRMATION_SETTINGS = ("lab", "office")  # IPL-PT-SETTING (2026): any medical setting


def assess_dispense(course_file: CourseFile, history: History) -> DispenseAssessment:
    common = ipledge.present(
        ipledge.course_closed(course_file, history),
        ipledge.not_enrolled(history),
        ipledge.pregnancy_test_positive(history),
    )
    if course_file.patient.category == "cannot_get_pregnant":
        return DispenseAssessment(ID, None, common)  # IPL-2026-CNGP: no counseling window

    test = ipledge.qualifying_test(history)
    window = ipledge.test_window(test) if test else ipledge.window_used_by_last_dispense(history)
    confirmation = ipledge.prescriber_confirmation(history, test)
    expired = ipledge.test_window_expired(history, test)
    if history.last_dispense is None:
        screens = ipledge.screening_tests(history, test)
        first_dispense = ipledge.judged_on_test(
            expired,
            ipledge.pre_treatment_setting(screens, test, CONFIRMATION_SETTINGS),
            ipledge.screening_test_missing(screens, test),
            ipledge.confirmation_too_early(screens, test),
            ipledge.contraception_lead_in(course_file, test),
        )
    else:
        first_dispense = ipledge.judged_on_test(expired, ipledge.monthly_test_setting(course_file, test))
    found = ipledge.present(
        ipledge.pregnancy_test_missing(history, test),
        expired,
        ipledge.contraception_insufficient(course_file, history),
        ipledge.prescriber_confirmation_missing(confirmation),
        ipledge.patient_attestation_missing(history, confirmation),
    )
    return DispenseAssessment(ID, window, common + found + first_dispense)


RULE_SET = RuleSet(
    id=ID,
    title="iPLEDGE REMS as modified 2026 (approved 2026-02-09)",
    in_force_from=None,
    assess_dispense=assess_dispense,
    short_title="iPLEDGE 2026",
    monthly_counseling=False,
    first_window_lockout=False,
)
