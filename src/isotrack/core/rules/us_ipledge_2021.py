"""Rule set ``us-ipledge-2021``: iPLEDGE as modified on 2021-12-13 (reference.md section 1.1).

Released: do not change what this module decides. A later modification is a new module (see
``us_ipledge_2026``), so that any past day can be replayed with the rules of that day.

- can get pregnant: screening and confirmation tests before the first dispense (IPL-PT-SCREEN,
  IPL-PT-CONFIRM), the confirmation test in a CLIA-certified laboratory (IPL-PT-SETTING), a monthly test
  (IPL-PT-MONTH), a 7-day window (IPL-WIN-7), the 19-day lockout after a missed first window (IPL-LOCK-19),
  contraception (IPL-CON-2, IPL-CON-LEAD), prescriber confirmation and patient quiz (IPL-PRESCRIBER-CONFIRM,
  IPL-PATIENT-QUIZ).
- cannot get pregnant: a monthly counseling visit (IPL-COUNSEL-MONTH) opening a 30-day window (IPL-WIN-30).
"""

from __future__ import annotations

import datetime as dt

from isotrack.core.course import CourseFile
from isotrack.core.history import History
from isotrack.core.rules import ipledge
from isotrack.core.rules.ipledge import DispenseAssessment, RuleSet

ID = "us-ipledge-2021"
CONFIRMATION_SETTINGS = ("lab",)  # IPL-PT-SETTING (2021): a CLIA-certified laboratory


def assess_dispense(course_file: CourseFile, history: History) -> DispenseAssessment:
    common = ipledge.present(
        ipledge.course_closed(course_file, history),
        ipledge.not_enrolled(history),
        ipledge.pregnancy_test_positive(history),
    )
    if course_file.patient.category == "cannot_get_pregnant":
        visit = ipledge.counseling_visit(history)
        window = (
            ipledge.counseling_window(visit)
            if visit
            else ipledge.counseling_window_used_by_last_dispense(history)
        )
        found = ipledge.present(
            ipledge.counseling_missing(history, visit), ipledge.counseling_window_expired(history, visit)
        )
        return DispenseAssessment(ID, window, common + found)

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
            ipledge.lockout_19_day(history, test),  # IPL-LOCK-19: 2021 only
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
    title="iPLEDGE REMS as modified 2021-12-13",
    in_force_from=dt.date(2021, 12, 13),
    assess_dispense=assess_dispense,
    short_title="iPLEDGE 2021",
    monthly_counseling=True,
    first_window_lockout=True,
)
