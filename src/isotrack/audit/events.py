"""Every code an audit row's ``action`` holds, in one enumeration.

The codes are stored in the trail and read by the audit page and by compliance officers: a value is never
renamed, only added. Every write names its code from here (``audit.trail.record`` takes an ``EventCode``).
"""

from __future__ import annotations

from enum import StrEnum


class EventCode(StrEnum):
    # the patient (clinic.actions.patients)
    PATIENT_REGISTER = "patient.register"
    PATIENT_CATEGORY = "patient.category"
    PATIENT_CONTACT = "patient.contact"
    WEIGHT_RECORD = "weight.record"
    WEIGHT_CHANGE = "weight.change"
    CONTRACEPTION_RECORD = "contraception.record"
    CONTRACEPTION_END = "contraception.end"
    MEDICATION_RECORD = "medication.record"  # another medicine or supplement the patient takes (MED-*)
    MEDICATION_END = "medication.end"
    CHECK_IN_REVIEW = "check_in.review"  # a clinician confirmed a check-in's answers (they became records)

    # the course and its dosing (clinic.actions.courses, clinic.actions.dosing)
    COURSE_START = "course.start"
    COURSE_ACTIVATE = "course.activate"
    COURSE_END = "course.end"
    COURSE_STOP = "course.stop"
    DOSE_PRESCRIBE = "dose.prescribe"
    DOSE_CHANGE = "dose.change"
    INTERRUPTION_RECORD = "interruption.record"
    MISSED_DOSE_RECORD = "missed_dose.record"

    # observations, visits, iPLEDGE and pick-ups (clinic.actions.observations, .visits, .ipledge)
    PREGNANCY_TEST_RECORD = "pregnancy_test.record"
    LAB_RECORD = "lab.record"
    MOOD_SCREEN_RECORD = "mood_screen.record"
    SIDE_EFFECT_RECORD = "side_effect.record"
    VISIT_RECORD = "visit.record"
    DISPENSE_RECORD = "dispense.record"
    IPLEDGE_ENROLLMENT = "ipledge.enrollment"
    IPLEDGE_PRESCRIBER_CONFIRMATION = "ipledge.prescriber_confirmation"
    IPLEDGE_PATIENT_ATTESTATION = "ipledge.patient_attestation"

    # alerts (clinic.actions.alerts)
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    PREGNANCY_FOLLOW_UP_RECORD = "pregnancy_follow_up.record"

    # voiding and correcting a record, per kind of record (clinic.actions.corrections.KINDS)
    WEIGHT_VOID = "weight.void"
    WEIGHT_CORRECT = "weight.correct"
    CONTRACEPTION_VOID = "contraception.void"
    CONTRACEPTION_CORRECT = "contraception.correct"
    LAB_VOID = "lab.void"
    LAB_CORRECT = "lab.correct"
    PREGNANCY_TEST_VOID = "pregnancy-test.void"
    PREGNANCY_TEST_CORRECT = "pregnancy-test.correct"
    MOOD_SCREEN_VOID = "mood-screen.void"
    MOOD_SCREEN_CORRECT = "mood-screen.correct"
    SIDE_EFFECT_VOID = "side-effect.void"
    SIDE_EFFECT_CORRECT = "side-effect.correct"
    VISIT_VOID = "visit.void"
    VISIT_CORRECT = "visit.correct"
    DOSE_VOID = "dose.void"
    DOSE_CORRECT = "dose.correct"
    HOLD_VOID = "hold.void"
    HOLD_CORRECT = "hold.correct"
    MISSED_DOSE_VOID = "missed-dose.void"
    MISSED_DOSE_CORRECT = "missed-dose.correct"
    PICK_UP_VOID = "pick-up.void"
    PICK_UP_CORRECT = "pick-up.correct"
    IPLEDGE_VOID = "ipledge.void"
    IPLEDGE_CORRECT = "ipledge.correct"
    MEDICATION_VOID = "medication.void"
    MEDICATION_CORRECT = "medication.correct"

    # calendar feeds (notify.actions) and API tokens (api.tokens)
    FEED_TOKEN_CREATE = "feed_token.create"
    FEED_TOKEN_ROTATE = "feed_token.rotate"
    FEED_TOKEN_REVOKE = "feed_token.revoke"
    API_TOKEN_CREATE = "api_token.create"
    API_TOKEN_REVOKE = "api_token.revoke"
    CDS_CLIENT_ADD = "cds_client.add"  # an EHR allowed to sign its CDS Hooks calls (api.cds_clients)
    CDS_CLIENT_REVOKE = "cds_client.revoke"

    # the practice and its staff (clinic.actions.practices, clinic.actions.staff)
    PRACTICE_CREATE = "practice.create"
    PRACTICE_SETTINGS_CHANGE = "practice.settings"
    PRACTICE_IMPORT = "practice.import"  # the practice's current patients and courses from a file
    HANDOUT_TEXT_CHANGE = "handout.text_change"  # the practice's own texts of the patient handout (handouts)
    STAFF_CREATE = "staff.create"
    STAFF_INVITE = "staff.invite"
    STAFF_CHANGE = "staff.change"
    STAFF_DEACTIVATE = "staff.deactivate"
    STAFF_REACTIVATE = "staff.reactivate"
    STAFF_PRESCRIBING = "staff.prescribing"  # a prescriber's own settings
    STAFF_PASSWORD_LINK = "staff.password_link"  # an administrator sent a new link that sets the password

    # a member's second factor (clinic.actions.two_factor)
    TWO_FACTOR_ENROLL = "two_factor.enroll"
    TWO_FACTOR_RECOVERY_CODES = "two_factor.recovery_codes"
    TWO_FACTOR_REMOVE = "two_factor.remove"

    @classmethod
    def ipledge(cls, kind: str) -> EventCode:
        """The code of an iPLEDGE entry of this kind ("enrollment" -> ``IPLEDGE_ENROLLMENT``)."""
        return cls(f"ipledge.{kind}")

    @classmethod
    def void(cls, kind: str) -> EventCode:
        """The code of voiding a record of this kind (``corrections.Kind.code``: "lab" -> ``LAB_VOID``)."""
        return cls(f"{kind}.void")

    @classmethod
    def correct(cls, kind: str) -> EventCode:
        """The code of correcting a record of this kind ("lab" -> ``LAB_CORRECT``)."""
        return cls(f"{kind}.correct")


# A void or a correction: the row it names no longer counts (the audit page strikes it through).
VOIDS_AND_CORRECTIONS = frozenset(code for code in EventCode if code.endswith((".void", ".correct")))
