"""A course file becomes stored records: every record through its action, all in one transaction, or nothing
(``isotrack import-course``). Exporting, evaluating the export and re-importing it give the same answer
(tests/clinic/test_records.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from isotrack import core
from isotrack.clinic.actions.courses import end_course, start_course
from isotrack.clinic.actions.dosing import change_dose, record_interruption, record_missed_dose
from isotrack.clinic.actions.ipledge import record_dispense, record_ipledge_entry
from isotrack.clinic.actions.observations import record_lab_result, record_mood_screen, record_pregnancy_test
from isotrack.clinic.actions.patients import record_contraception, record_medication, record_weight
from isotrack.clinic.actions.visits import record_visit
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Course, Patient, Practice, Role, StaffUser, StopReason
from isotrack.clinic.records import policy_of
from isotrack.core import course as facts


def _policy_must_match(practice: Practice, policy: facts.Policy) -> None:
    practice_policy = policy_of(practice)
    for name in ("weight_basis", "home_testing_permitted", "ld_equivalence_factor", "ipledge_2026_effective"):
        if getattr(policy, name) != getattr(practice_policy, name):
            raise InvalidInput(
                f"policy.{name}: the file says {getattr(policy, name)}, the practice uses "
                f"{getattr(practice_policy, name)}; change the practice's policy or the file",
                field=f"policy.{name}",
            )


def _staff(practice: Practice, username: str, where: str) -> StaffUser:
    user = StaffUser.objects.filter(practice=practice, username=username).first()
    if user is None:
        raise InvalidInput(f"{where}: no staff member {username!r} in this practice", field=where)
    return user


class _At:
    """Names the course-file entry an action's refusal is about: ``events[3].date``, ``doses[1]``."""

    def __init__(self, path: str, fields: dict[str, str] | None = None) -> None:
        self.path, self.fields = path, fields or {}

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if isinstance(error, InvalidInput):
            where = self.fields.get(error.field or "", self.path)
            raise InvalidInput(error.message, field=where) from error


FROM_FILE = "from the file"


def import_course(
    *,
    actor: StaffUser,
    patient: Patient,
    course_file: facts.CourseFile,
    prescriber: StaffUser | None = None,
    target_mg_per_kg: Decimal | None | str = FROM_FILE,
) -> Course:
    """Create a course (and the patient's weights and contraception it needs) from a course file: every record
    through its action, all in one transaction, or nothing. A refusal names the file's entry it is about as
    its field (``events[3]``, ``doses[1]``, ``course.start``). The course's dose target is the file's
    ``policy.target_mg_per_kg`` unless ``target_mg_per_kg`` is given (None: it follows the practice's)."""
    practice = patient.practice
    prescriber = prescriber or (actor if actor.role == Role.PRESCRIBER else None)
    if prescriber is None:
        raise InvalidInput("--prescriber: name the course's prescriber", field="prescriber")
    if course_file.patient.category != patient.category:
        raise InvalidInput(
            f"patient.category: the file says {course_file.patient.category}, the patient is "
            f"{patient.category}",
            field="patient.category",
        )
    if course_file.rules not in ("auto", practice.rules) or (
        practice.rules != "auto" and course_file.rules == "auto"
    ):
        raise InvalidInput(
            f"rules: the file says {course_file.rules}, the practice uses {practice.rules}", field="rules"
        )
    _policy_must_match(practice, course_file.policy)
    doses = sorted(course_file.doses, key=lambda s: s.start)
    if doses and doses[0].start != course_file.course.start:
        raise InvalidInput("doses[0].from: the first dose must start on course.start", field="doses[0]")
    if target_mg_per_kg == FROM_FILE:
        target_mg_per_kg = Decimal(str(course_file.policy.target_mg_per_kg))
    earliest = f"doses[{course_file.doses.index(doses[0])}]" if doses else "doses[0]"  # the first by date
    first = {
        "mg_per_day": earliest,
        "product": earliest,
        "prescriber": "prescriber",
        "category": "patient.category",
        "target_mg_per_kg": "target_mg_per_kg",
    }
    with transaction.atomic():
        with _At("course.start", first):
            course = start_course(
                actor=actor,
                patient=patient,
                prescriber=prescriber,
                start=course_file.course.start,
                mg_per_day=Decimal(str(doses[0].mg_per_day)) if doses else None,
                product=doses[0].product if doses else "conventional",
                target_mg_per_kg=target_mg_per_kg if isinstance(target_mg_per_kg, Decimal) else None,
            )
        for segment in doses[1:]:
            with _At(f"doses[{course_file.doses.index(segment)}]"):
                change_dose(
                    actor=actor,
                    course=course,
                    starts_on=segment.start,
                    mg_per_day=Decimal(str(segment.mg_per_day)),
                    product=segment.product,
                    change_reason=segment.reason,  # the file's code; none (None): left blank, not recorded
                    reason="imported from a course file",
                )
        known_weights = {(w.effective_date, w.kg) for w in patient.weights.all()}
        for index, weight in enumerate(course_file.weights):
            kg = Decimal(str(weight.kg)).quantize(Decimal("0.01"))
            if (weight.date, kg) not in known_weights:
                with _At(f"weights[{index}]"):
                    record_weight(actor=actor, patient=patient, effective_date=weight.date, value=kg)
        known_methods = {(c.method, c.start, c.end) for c in patient.contraception.all()}
        for index, use in enumerate(course_file.contraception):
            if (use.method, use.start, use.end) not in known_methods:
                with _At(f"contraception[{index}]"):
                    record_contraception(
                        actor=actor, patient=patient, method=use.method, start=use.start, end=use.end
                    )
        known_medicines = {
            (m.name, m.medication_class, m.start, m.end) for m in patient.other_medications.all()
        }
        for index, medicine in enumerate(course_file.medications):
            if (
                medicine.name,
                medicine.medication_class,
                medicine.start,
                medicine.end,
            ) not in known_medicines:
                with _At(f"medications[{index}]"):
                    record_medication(
                        actor=actor,
                        patient=patient,
                        name=medicine.name,
                        medication_class=medicine.medication_class,
                        start=medicine.start,
                        end=medicine.end,
                    )
        for index, hold in enumerate(course_file.interruptions):
            with _At(f"interruptions[{index}]"):
                record_interruption(
                    actor=actor, course=course, start=hold.start, end=hold.end, reason=hold.reason or ""
                )
        for index, day in enumerate(course_file.missed_doses):
            with _At(f"missed_doses[{index}]"):
                record_missed_dose(actor=actor, course=course, day=day)
        for index, event in enumerate(course_file.events):
            with _At(f"events[{index}]"):
                _import_event(actor, course, event, f"events[{index}]")
        if course_file.course.end is not None:
            stopped = stopped_by_positive_test(course_file, course_file.course.end)
            with _At("course.end", {"stop_reason": "course.end"}):
                end_course(
                    actor=actor,
                    course=course,
                    end=course_file.course.end,
                    reason="imported from a course file",
                    stopped=stopped,
                    stop_reason=StopReason.POSITIVE_TEST if stopped else "",
                )
        return course


def stopped_by_positive_test(course_file: facts.CourseFile, end: date) -> bool:
    """Whether the file's course ended stopped, and why, as far as a course file can say.

    A course file has no field for a stop reason (spec/course-evaluation.md; the parser ignores unknown keys,
    so a ``stop_reason`` someone added to a file never reaches here), and its only way of saying a course was
    stopped is a positive pregnancy test on or before its last day of dosing, which the engine answers with
    phase ``stopped``. So an imported course is recorded as stopped with reason ``positive_test`` exactly
    when the engine says so on its last day; every other course with an end is recorded as completed, as
    the file shows it. No reason is invented: recording such a course as stopped for "other" would move a
    course the clinic may well have completed into the report's stopped courses, under a reason nobody gave.
    A course stopped for another reason is recorded as stopped on its page after the import."""
    return core.standing(course_file, end).phase == "stopped"


def _import_event(actor: StaffUser, course: Course, event: facts.Event, where: str) -> None:
    practice = course.patient.practice
    if isinstance(event, facts.Enrollment | facts.PrescriberConfirmation | facts.PatientAttestation):
        record_ipledge_entry(
            actor=actor, course=course, kind=event.kind, day=event.date, in_order=False
        )  # a course file's history as it happened: the engine judges its order
    elif isinstance(event, facts.PregnancyTest):
        verifier = _staff(practice, event.verified_by, f"{where}.verified_by") if event.verified_by else None
        record_pregnancy_test(
            actor=actor,
            course=course,
            purpose=event.purpose,
            setting=event.setting,
            specimen_date=event.date,
            result=event.result,
            verified_by=verifier,
        )
    elif isinstance(event, facts.Dispense):
        record_dispense(
            actor=actor,
            course=course,
            day=event.date,
            days_supply=event.days_supply,
            mg_per_day=Decimal(str(event.mg_per_day)) if event.mg_per_day is not None else None,
            product=event.product or "",
            rma=event.rma or "",
        )
    elif isinstance(event, facts.Visit):
        record_visit(actor=actor, course=course, day=event.date)
    elif isinstance(event, facts.LabResult):
        test = (
            event.test if event.test in {"triglycerides", "cholesterol", "hdl", "ldl", "alt", "ast"} else None
        )
        if test is None:
            return  # the spec keeps and ignores other tests; the clinic stores only the evaluated ones
        record_lab_result(
            actor=actor,
            course=course,
            test=test,
            effective_date=event.date,
            value=Decimal(str(event.value)),
            unit=event.unit,
            uln=Decimal(str(event.uln)) if event.uln is not None else None,
        )
    elif isinstance(event, facts.MoodScreen):
        record_mood_screen(
            actor=actor,
            course=course,
            day=event.date,
            instrument=event.instrument,
            score=event.score,
            item9=event.item9,
        )
