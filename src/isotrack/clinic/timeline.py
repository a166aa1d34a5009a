"""A course's timeline: every record of the course and of its patient, newest first, voided ones included
(struck through on the page, with who voided them, when and why). What each record says in words is written
here once (``words``), for the timeline, the correction pages and their "saved" messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from isotrack import core
from isotrack.clinic.access import can
from isotrack.clinic.actions import corrections
from isotrack.clinic.dose_planning import product_words
from isotrack.clinic.models import (
    AlertAcknowledgment,
    Contraception,
    Course,
    Dispense,
    DoseSegment,
    Interruption,
    IpledgeEntry,
    LabResult,
    MissedDose,
    MoodScreen,
    OtherMedication,
    PregnancyFollowUp,
    PregnancyTest,
    SideEffect,
    StaffUser,
    Visit,
    Weight,
)
from isotrack.clinic.queries import visit_summary


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def words(item: Any) -> str:
    """One record in the clinic's words."""
    match item:
        case IpledgeEntry():
            number = f" (confirmation {item.confirmation_number})" if item.confirmation_number else ""
            return f"{item.get_kind_display()}{number}"
        case PregnancyTest():
            verified = (
                f", verified by {item.verified_by.display_name}" if item.verified_by is not None else ""
            )
            return (
                f"{item.get_purpose_display()}, {item.get_setting_display().lower()}: "
                f"{item.get_result_display().lower()}{verified}"
            )
        case Dispense():
            mg = f", {item.mg_per_day} mg/day" if item.mg_per_day is not None else ""
            mg += f", {product_words(item.product)}" if item.product else ""
            rma = f", RMA {item.rma}" if item.rma else ""
            return f"{item.days_supply}-day supply{mg}{rma}"
        case DoseSegment():
            strength = f", {item.strength_mg} mg capsules" if item.strength_mg else ""
            dose = f"{item.mg_per_day} mg/day, {product_words(item.product, item.brand)}{strength}"
            if item.change_reason:  # why, then the note: "..., for side effects: dry lips"
                label = item.get_change_reason_display()
                note = f": {item.reason}" if item.reason else ""
                return f"{dose}, for {label[:1].lower()}{label[1:]}{note}"
            return f"{dose} ({item.reason})" if item.reason else dose
        case Interruption():
            return f"no dosing {_day(item.start)} to {_day(item.end)} {item.reason}".strip()
        case MissedDose():
            return "one day not taken"
        case Visit():
            return visit_summary(item)
        case LabResult():
            return f"{item.get_test_display()} {item.value} {item.unit}"
        case MoodScreen():
            item9 = f" (item 9: {item.item9})" if item.item9 is not None else ""
            return f"{item.get_instrument_display()} score {item.score}{item9}"
        case SideEffect():
            resolved = f", resolved {_day(item.resolved_on)}" if item.resolved_on else ""
            return f"{item.term} ({item.get_severity_display().lower()}){resolved}"
        case Weight():
            typed = (
                f" (entered {item.entered_value} {item.entered_unit})" if item.entered_unit != "kg" else ""
            )
            return f"{item.kg} kg{typed}"
        case Contraception():
            until = f" until {_day(item.end)}" if item.end else ""
            return f"{item.get_method_display()} from {_day(item.start)}{until}"
        case OtherMedication():
            until = f" until {_day(item.end)}" if item.end else ""
            kind = (
                f" ({item.get_medication_class_display().lower()})"
                if item.medication_class != "other"
                else ""
            )
            return f"{item.name}{kind} from {_day(item.start)}{until}"
        case AlertAcknowledgment():
            action = core.ALERT_ACTIONS.get(item.alert_code)
            label = action.label if action else item.alert_code
            return f"{label} of {_day(item.alert_date)} by {item.recorded_by.display_name}: {item.reason}"
        case PregnancyFollowUp():
            note = f" ({item.note})" if item.note else ""
            return f"{item.get_step_display()}{note}"
    raise TypeError(f"no words for {type(item).__name__}")


def date_of(item: Any) -> date:
    for name in ("date", "effective_date", "specimen_date", "starts_on", "start", "onset"):
        value = getattr(item, name, None)
        if isinstance(value, date):
            return value
    raise TypeError(f"no date for {type(item).__name__}")


@dataclass(frozen=True)
class Row:
    date: date
    label: str
    text: str
    item: Any = None
    kind: str = ""  # the correction kind's code, when the record can be corrected or voided
    can_change: bool = False  # the viewer may correct or void it (their role writes this kind)

    @property
    def voided(self) -> bool:
        return self.item is not None and self.item.voided_at is not None


def course_timeline(course: Course, viewer: StaffUser) -> list[Row]:
    """Every record of the course and its patient, voided ones included, newest first (a fixed number of
    queries, each by the course's or the patient's key)."""
    rows: list[Row] = []
    for kind in corrections.KINDS.values():
        owner = {"patient_id": course.patient_id} if kind.on_patient else {"course_id": course.pk}
        allowed = can(viewer, kind.capability)
        for item in kind.model.all_objects.filter(**owner).select_related(*_related(kind)):
            rows.append(
                Row(
                    date_of(item),
                    kind.label,
                    words(item),
                    item,
                    kind.code,
                    allowed and item.voided_at is None,
                )
            )
    others: list[Any] = [
        *AlertAcknowledgment.objects.filter(course=course).select_related("recorded_by"),
        *PregnancyFollowUp.objects.filter(course=course),
    ]
    for item in others:
        label = "Alert acknowledged" if isinstance(item, AlertAcknowledgment) else "Pregnancy follow-up"
        rows.append(Row(date_of(item), label, words(item), item))
    if course.end:
        rows.append(Row(course.end, "Course", f"last day of dosing ({course.get_status_display().lower()})"))
    rows.sort(key=lambda row: (row.date, row.item.pk if row.item is not None else 0), reverse=True)
    return rows


def _related(kind: corrections.Kind) -> tuple[str, ...]:
    related = ["voided_by", "replaced_by"]
    if kind.model is PregnancyTest:
        related.append("verified_by")
    return tuple(related)
