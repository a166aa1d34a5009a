"""Building blocks of the iPLEDGE dispense rules, shared by the dated rule-set modules.

Each function checks one requirement of the spec's blocking table and returns a ``Blocking`` (code, the
reference rule id, one sentence for a nurse) or None. A rule-set module decides which blocks apply; a change
of the rules is a new module, so these functions keep their meaning once released (add a new one rather than
change one).

Decisions where the spec is silent (a compliance officer's reading):

- A *qualifying test* is chosen by purpose and result only (spec definition); its setting is judged separately
  (PREGNANCY_TEST_SETTING), so a home test that is not acceptable still counts as "the" test of the month and
  the answer names the setting as the one thing to fix.
- PREGNANCY_TEST_SETTING (spec clarification "home screening") judges the tests the dispense relies on: the
  qualifying test, and for a first dispense the screening tests that satisfy the 19-day rule; it blocks when
  every one of those is a home test. An extra home test besides a valid office or lab screening does not
  block; with no confirmation test yet, it blocks when every negative screening test was at home.
- An expired window leaves only WINDOW_EXPIRED (spec clarification): once the qualifying test's window has
  ended, the test is judged for nothing else (``judged_on_test``); a new test is needed and will be judged.
- CONFIRMATION_TOO_EARLY needs a confirmation test to judge; with none, PREGNANCY_TEST_MISSING says what is
  missing. With a confirmation test and no screening test before it, both SCREENING_TEST_MISSING and
  CONFIRMATION_TOO_EARLY are unmet (the table's conditions read literally).
- CONTRACEPTION_LEAD_IN is judged against the qualifying confirmation test; without one it is not raised.
- PATIENT_ATTESTATION_MISSING is judged from the latest prescriber confirmation in range: a re-entered
  confirmation needs a new attestation. An attestation dated the same day as the confirmation counts.
- The screening, confirmation, contraception, lockout, prescriber and attestation requirements concern
  patients who can get pregnant only (reference.md sections 1.3-1.5), whatever the category of a stray test.
- A positive pregnancy test stops the course for either category (spec phase ``stopped``).
- "The window the last dispense used" is the latest qualifying test (or 2021 counseling visit) dated after the
  dispense before it and whose window contains the dispense's date; a dispense outside every window used none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from isotrack.core.course import (
    ABSTINENCE,
    PRIMARY_METHODS,
    SECONDARY_METHODS,
    ContraceptionUse,
    CourseFile,
    PregnancyTest,
    PrescriberConfirmation,
)
from isotrack.core.history import History
from isotrack.core.weights import BLOCKS_FILL, SETTLED

DAY = dt.timedelta(days=1)
TEST_WINDOW_DAYS = 7  # IPL-WIN-7: the collection date is day 1, the last day is day 7
COUNSELING_WINDOW_DAYS = 30  # IPL-WIN-30: the counseling visit is day 1, the last day is day 30
LOCKOUT_DAYS = 19  # IPL-LOCK-19
SCREENING_TO_CONFIRMATION_DAYS = 19  # IPL-PT-CONFIRM
CONTRACEPTION_LEAD_IN_DAYS = 30  # IPL-CON-LEAD

# Rule ids. The ones marked "proposed" have no id in reference.md; they name the section they come from.
IPL_ENROLL = "IPL-ENROLL"  # proposed: reference.md 1.3 "registered in iPLEDGE by the prescriber"
IPL_PT_POSITIVE = "IPL-PT-POSITIVE"  # proposed: reference.md 1.5 "a positive test: stop the drug at once"
IPL_COURSE_END = "IPL-COURSE-END"  # proposed: reference.md 1.7 "after the last dose"


@dataclass(frozen=True, slots=True)
class Window:
    """A dispense window, both days inclusive."""

    opens: dt.date
    closes: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.opens <= day <= self.closes


@dataclass(frozen=True, slots=True)
class Blocking:
    code: str
    rule_id: str
    explanation: str

    @property
    def weight(self) -> str:
        """``core.weights``: a reason the fill cannot be dispensed."""
        return BLOCKS_FILL


@dataclass(frozen=True, slots=True)
class DispenseAssessment:
    rule_set: str
    window: Window | None
    blocking: tuple[Blocking, ...]

    @property
    def allowed(self) -> bool:
        """Spec: true exactly when nothing blocks."""
        return not self.blocking

    @property
    def weight(self) -> str:
        """``core.weights``: BLOCKS_FILL while something blocks, else SETTLED."""
        return BLOCKS_FILL if self.blocking else SETTLED


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One dated rule set. ``in_force_from`` None means the date is the practice's policy
    (``policy.ipledge_2026_effective``)."""

    id: str
    title: str
    in_force_from: dt.date | None
    assess_dispense: Callable[[CourseFile, History], DispenseAssessment]
    short_title: str  # what a practice's setting calls it: "iPLEDGE 2021"
    # Patients who cannot get pregnant need a monthly counseling visit (IPL-COUNSEL-MONTH); when False,
    # counseling is documented at enrollment only (IPL-2026-CNGP).
    monthly_counseling: bool
    # A missed first window locks the confirmation test out for 19 days (IPL-LOCK-19).
    first_window_lockout: bool


def test_window(test: PregnancyTest) -> Window:
    return Window(test.date, test.date + (TEST_WINDOW_DAYS - 1) * DAY)  # IPL-WIN-7


def counseling_window(visit: PrescriberConfirmation) -> Window:
    return Window(visit.date, visit.date + (COUNSELING_WINDOW_DAYS - 1) * DAY)  # IPL-WIN-30


# --- both categories ----------------------------------------------------------------------------------------


def course_closed(course_file: CourseFile, history: History) -> Blocking | None:
    positives = history.positive_tests
    if positives:
        return Blocking(
            "COURSE_CLOSED",
            IPL_PT_POSITIVE,
            f"The course was stopped by the positive pregnancy test of {positives[0].date}, so no "
            "prescription "
            f"can be filled ({IPL_PT_POSITIVE}).",
        )
    end = course_file.course.end
    if end is not None and end < history.day:
        return Blocking(
            "COURSE_CLOSED",
            IPL_COURSE_END,
            f"The course ended on {end}, so no further prescription can be filled ({IPL_COURSE_END}).",
        )
    return None


def not_enrolled(history: History) -> Blocking | None:
    if history.enrollments:
        return None
    return Blocking(
        "NOT_ENROLLED", IPL_ENROLL, f"The patient is not registered in iPLEDGE yet ({IPL_ENROLL})."
    )


def pregnancy_test_positive(history: History) -> Blocking | None:
    positives = history.positive_tests
    if not positives:
        return None
    return Blocking(
        "PREGNANCY_TEST_POSITIVE",
        IPL_PT_POSITIVE,
        f"The pregnancy test of {positives[-1].date} is positive: the drug must be stopped at once "
        f"({IPL_PT_POSITIVE}).",
    )


# --- patients who can get pregnant --------------------------------------------------------------------------


def qualifying_test(history: History) -> PregnancyTest | None:
    """The latest negative test after the last dispense: purpose ``confirmation`` for a first dispense, else
    ``monthly`` (spec "qualifying test")."""
    purpose = "confirmation" if history.last_dispense is None else "monthly"
    found = None
    for test in history.pregnancy_tests:
        if test.purpose == purpose and test.result == "negative" and history.after_last_dispense(test.date):
            found = test
    return found


def window_used_by_last_dispense(history: History) -> Window | None:
    """The 7-day window that the last dispense was filled in (None if it used none)."""
    last = history.last_dispense
    if last is None:
        return None
    previous = [d.date for d in history.dispenses if d.date < last.date]
    after = previous[-1] if previous else None
    purpose = "monthly" if after is not None else "confirmation"
    found = None
    for test in history.pregnancy_tests:
        if (
            test.purpose == purpose
            and test.result == "negative"
            and (after is None or test.date > after)
            and test_window(test).contains(last.date)
        ):
            found = test
    return test_window(found) if found else None


def pregnancy_test_missing(history: History, test: PregnancyTest | None) -> Blocking | None:
    if test is not None:
        return None
    last = history.last_dispense
    if last is None:
        return Blocking(
            "PREGNANCY_TEST_MISSING",
            "IPL-PT-CONFIRM",
            "There is no negative confirmation pregnancy test yet (IPL-PT-CONFIRM).",
        )
    return Blocking(
        "PREGNANCY_TEST_MISSING",
        "IPL-PT-MONTH",
        f"There is no negative monthly pregnancy test since the last dispense on {last.date} (IPL-PT-MONTH).",
    )


def test_window_expired(history: History, test: PregnancyTest | None) -> Blocking | None:
    if test is None:
        return None
    window = test_window(test)
    if window.closes >= history.day:
        return None
    return Blocking(
        "WINDOW_EXPIRED",
        "IPL-WIN-7",
        f"The 7-day window of the pregnancy test of {test.date} closed on {window.closes}: a new test is "
        "needed "
        "(IPL-WIN-7).",
    )


def screening_tests(history: History, test: PregnancyTest | None) -> list[PregnancyTest]:
    """Negative screening tests dated before the confirmation test (with none yet: all of them)."""
    return [
        t
        for t in history.pregnancy_tests
        if t.purpose == "screening" and t.result == "negative" and (test is None or t.date < test.date)
    ]


def screening_in_time(screens: Iterable[PregnancyTest], test: PregnancyTest) -> list[PregnancyTest]:
    """IPL-PT-CONFIRM: the screening tests dated at least 19 days before the confirmation test."""
    return [s for s in screens if (test.date - s.date).days >= SCREENING_TO_CONFIRMATION_DAYS]


def screening_test_missing(screens: Sequence[PregnancyTest], test: PregnancyTest | None) -> Blocking | None:
    if screens:
        return None
    before = f" before the confirmation test of {test.date}" if test else " yet"
    return Blocking(
        "SCREENING_TEST_MISSING",
        "IPL-PT-SCREEN",
        f"There is no negative screening pregnancy test{before} (IPL-PT-SCREEN).",
    )


def confirmation_too_early(screens: Sequence[PregnancyTest], test: PregnancyTest | None) -> Blocking | None:
    if test is None or screening_in_time(screens, test):
        return None
    return Blocking(
        "CONFIRMATION_TOO_EARLY",
        "IPL-PT-CONFIRM",
        f"The confirmation test of {test.date} was not taken at least 19 days after a negative screening "
        "test "
        "(IPL-PT-CONFIRM).",
    )


def pre_treatment_setting(
    screens: Sequence[PregnancyTest], test: PregnancyTest | None, confirmation_settings: Iterable[str]
) -> Blocking | None:
    """IPL-PT-SETTING: pre-treatment tests are never home tests; the confirmation test's settings
    depend on the rule set."""
    relied_on = screening_in_time(screens, test) if test else list(screens)
    if relied_on and all(s.setting == "home" for s in relied_on):
        return Blocking(
            "PREGNANCY_TEST_SETTING",
            "IPL-PT-SETTING",
            "The screening pregnancy test was a home test; pre-treatment tests must be done in a medical "
            "setting "
            "(IPL-PT-SETTING).",
        )
    allowed = tuple(confirmation_settings)
    if test is not None and test.setting not in allowed:
        where = "a laboratory" if allowed == ("lab",) else "a medical setting (office, clinic or laboratory)"
        return Blocking(
            "PREGNANCY_TEST_SETTING",
            "IPL-PT-SETTING",
            f"The confirmation pregnancy test of {test.date} was done at {_setting_words(test.setting)}; it "
            "must "
            f"be done in {where} (IPL-PT-SETTING).",
        )
    return None


def monthly_test_setting(course_file: CourseFile, test: PregnancyTest | None) -> Blocking | None:
    """IPL-PT-MONTH: a monthly home test counts only where the prescriber permits home testing and a staff
    member verified it."""
    if test is None or test.setting != "home":
        return None
    if not course_file.policy.home_testing_permitted:
        reason = "home testing is not permitted by the prescriber"
    elif not test.verified_by:
        reason = "no staff member verified it"
    else:
        return None
    return Blocking(
        "PREGNANCY_TEST_SETTING",
        "IPL-PT-MONTH",
        f"The monthly pregnancy test of {test.date} was a home test and {reason}: it does not count "
        "(IPL-PT-MONTH).",
    )


def _setting_words(setting: str) -> str:
    return {"home": "home", "office": "the office", "lab": "a laboratory"}.get(setting, setting)


# Contraception cover (IPL-CON-2): two different methods used together, at least one of them primary (the
# other primary or secondary), or abstinence. The spec corrected the earlier reading "one primary and one
# secondary" (clarification "two methods, at least one primary"; iPLEDGE patient consent: "At least one of my
# two forms of birth control must be a primary method"): a misreading of the rule, not a change of the rules,
# so the released rule sets use the corrected cover through this one function.
_ONGOING = dt.date.max.toordinal()
_Range = tuple[int, int]


def _merged(ranges: Iterable[_Range]) -> list[_Range]:
    merged: list[_Range] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def covered_ranges(uses: Iterable[ContraceptionUse]) -> list[_Range]:
    """The ordinal ranges of days covered (IPL-CON-2): two different counted methods in use, at least one
    primary; or abstinence. The same method entered twice counts once; a progestin-only pill counts for
    nothing."""
    by_method: dict[str, list[_Range]] = {}
    abstinence: list[_Range] = []
    for use in uses:
        span = (use.start.toordinal(), use.end.toordinal() if use.end else _ONGOING)
        if use.method == ABSTINENCE:
            abstinence.append(span)
        elif use.method in PRIMARY_METHODS or use.method in SECONDARY_METHODS:
            by_method.setdefault(use.method, []).append(span)
    # A sweep over the days where the number of primary and secondary methods in use changes.
    changes: dict[int, list[int]] = {}
    for method, spans in by_method.items():
        primary = method in PRIMARY_METHODS
        for start, end in _merged(spans):
            for at, step in ((start, 1), (end + 1, -1)):
                counts = changes.setdefault(at, [0, 0])
                counts[0 if primary else 1] += step
    covered: list[_Range] = []
    primaries = secondaries = 0
    opened: int | None = None
    for at in sorted(changes):
        primaries += changes[at][0]
        secondaries += changes[at][1]
        now = primaries >= 1 and primaries + secondaries >= 2
        if now and opened is None:
            opened = at
        elif not now and opened is not None:
            covered.append((opened, at - 1))
            opened = None
    return _merged([*covered, *abstinence])


def first_uncovered_day(uses: Iterable[ContraceptionUse], first: dt.date, last: dt.date) -> dt.date | None:
    at = first.toordinal()
    for start, end in covered_ranges(uses):
        if start > at:
            break
        if end >= at:
            at = end + 1
    return dt.date.fromordinal(at) if at <= last.toordinal() else None


def contraception_insufficient(course_file: CourseFile, history: History) -> Blocking | None:
    day = history.day
    if first_uncovered_day(course_file.contraception, day, day) is None:
        return None
    return Blocking(
        "CONTRACEPTION_INSUFFICIENT",
        "IPL-CON-2",
        f"On {day} the patient does not use two contraception methods together, at least one of them "
        "primary, nor abstinence (IPL-CON-2).",
    )


def contraception_lead_in(course_file: CourseFile, test: PregnancyTest | None) -> Blocking | None:
    """IPL-CON-LEAD: every day from 30 days before the confirmation test through its date is covered."""
    if test is None:
        return None
    gap = first_uncovered_day(
        course_file.contraception, test.date - CONTRACEPTION_LEAD_IN_DAYS * DAY, test.date
    )
    if gap is None:
        return None
    return Blocking(
        "CONTRACEPTION_LEAD_IN",
        "IPL-CON-LEAD",
        f"Two contraception methods (or abstinence) were not used every day for 30 days before the "
        f"confirmation test of {test.date}: {gap} is not covered (IPL-CON-LEAD).",
    )


def lockout_19_day(history: History, test: PregnancyTest | None) -> Blocking | None:
    """IPL-LOCK-19 (first dispense): after a missed first window, the next qualifying test must come at least
    19 days after the test that opened the missed window."""
    if test is None:
        return None
    missed = [
        t
        for t in history.pregnancy_tests
        if t.purpose == "confirmation"
        and t.result == "negative"
        and t.date < test.date
        and test_window(t).closes < test.date
    ]
    if not missed:
        return None
    latest = missed[-1]
    if (test.date - latest.date).days >= LOCKOUT_DAYS:
        return None
    earliest = latest.date + LOCKOUT_DAYS * DAY
    return Blocking(
        "LOCKOUT_19_DAY",
        "IPL-LOCK-19",
        f"The window of the first prescription (test of {latest.date}) was missed: the new confirmation "
        "test must "
        f"be collected on or after {earliest}, 19 days later (IPL-LOCK-19).",
    )


def prescriber_confirmation(history: History, test: PregnancyTest | None) -> PrescriberConfirmation | None:
    """The latest prescriber confirmation dated from the qualifying test's date through the day, provided the
    test is still in its window (spec PRESCRIBER_CONFIRMATION_MISSING)."""
    if test is None or not test_window(test).contains(history.day):
        return None
    found = None
    for confirmation in history.prescriber_confirmations:
        if confirmation.date >= test.date:
            found = confirmation
    return found


def prescriber_confirmation_missing(confirmation: PrescriberConfirmation | None) -> Blocking | None:
    if confirmation is not None:
        return None
    return Blocking(
        "PRESCRIBER_CONFIRMATION_MISSING",
        "IPL-PRESCRIBER-CONFIRM",
        "The prescriber has not confirmed this month's pregnancy test, counseling and contraception methods "
        "in "
        "iPLEDGE since the qualifying test (IPL-PRESCRIBER-CONFIRM).",
    )


def patient_attestation_missing(
    history: History, confirmation: PrescriberConfirmation | None
) -> Blocking | None:
    if confirmation is not None and any(a.date >= confirmation.date for a in history.attestations):
        return None
    return Blocking(
        "PATIENT_ATTESTATION_MISSING",
        "IPL-PATIENT-QUIZ",
        "The patient has not answered this month's comprehension questions (IPL-PATIENT-QUIZ).",
    )


# --- patients who cannot get pregnant, 2021 rules -----------------------------------------------------------


def counseling_visit(history: History) -> PrescriberConfirmation | None:
    """IPL-COUNSEL-MONTH: the latest counseling visit (prescriber confirmation) after the last dispense."""
    found = None
    for visit in history.prescriber_confirmations:
        if history.after_last_dispense(visit.date):
            found = visit
    return found


def counseling_window_used_by_last_dispense(history: History) -> Window | None:
    last = history.last_dispense
    if last is None:
        return None
    previous = [d.date for d in history.dispenses if d.date < last.date]
    after = previous[-1] if previous else None
    found = None
    for visit in history.prescriber_confirmations:
        if (after is None or visit.date > after) and counseling_window(visit).contains(last.date):
            found = visit
    return counseling_window(found) if found else None


def counseling_missing(history: History, visit: PrescriberConfirmation | None) -> Blocking | None:
    if visit is not None:
        return None
    since = f" since the last dispense on {history.last_dispense.date}" if history.last_dispense else ""
    return Blocking(
        "COUNSELING_MISSING",
        "IPL-COUNSEL-MONTH",
        f"There is no monthly counseling visit documented{since} (IPL-COUNSEL-MONTH).",
    )


def counseling_window_expired(history: History, visit: PrescriberConfirmation | None) -> Blocking | None:
    if visit is None:
        return None
    window = counseling_window(visit)
    if window.closes >= history.day:
        return None
    return Blocking(
        "WINDOW_EXPIRED",
        "IPL-WIN-30",
        f"The 30-day window of the counseling visit of {visit.date} closed on {window.closes}: a new "
        "counseling "
        "visit is needed (IPL-WIN-30).",
    )


def judged_on_test(expired: Blocking | None, *found: Blocking | None) -> tuple[Blocking, ...]:
    """The requirements judged on the qualifying test, unless its window has ended (spec clarification "an
    expired window leaves only WINDOW_EXPIRED"): then none of them, since a new test is needed."""
    return () if expired is not None else present(*found)


def present(*found: Blocking | None) -> tuple[Blocking, ...]:
    return tuple(b for b in found if b is not None)
