"""The practice's settings, for its administrators: its name, its phone number (printed on the patient
handout) and time zone, the rule-set choice and the 2026 effective date, the dose target, the weight basis,
home testing, the micronized equivalence, the protocol thresholds the engine accepts (``policy`` of the
course-evaluation contract), who must use two-factor authentication, and the other names of the practice's
MRNs (``clinic.identifiers``: the EHR's MRN system, the labs' assigning authority).

A change is previewed before it is saved (``preview_settings``): every course on the worklist is judged
with the settings as they are and as they would be, and the courses whose next step or projected completion
date would change are counted and named. Saving (``change_settings``) is one transaction with its audit row
(the values before and after). It applies at once: the worklist's stored lines and the calendar's plans were
judged with the practice's policy, whose fingerprint (``worklist_entries.basis``) no longer matches, so the
next read judges them again; the course pages and the feeds judge from the practice as it is.

A course without a target of its own follows the practice's (``records.target_of``).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any

from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability, practice_id_of, require
from isotrack.clinic.actions.base import action, record_practice_event, validate
from isotrack.clinic.actions.practices import time_zones
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.identifiers import clean_mrn_aliases
from isotrack.clinic.models import Course, Practice, StaffUser, WorklistEntry
from isotrack.clinic.queries import judged_in_words, practice_today
from isotrack.clinic.records import facts_by_course, under_settings

SETTINGS = (
    "name",
    "phone",
    "time_zone",
    "rules",
    "ipledge_2026_effective",
    "target_mg_per_kg",
    "weight_basis",
    "home_testing_permitted",
    "ld_equivalence_factor",
    "triglycerides_high_mg_dl",
    "triglycerides_critical_mg_dl",
    "liver_enzyme_uln_multiple",
    "liver_enzyme_default_uln",
    "peak_labs_after_days",
    "two_factor",
    "mrn_aliases",
)
CHUNK = 500  # courses judged per read of their facts
UNJUDGED = frozenset({"name", "phone", "two_factor", "mrn_aliases"})  # settings the engine never reads
EXAMPLES = 20  # courses named in a preview


@dataclasses.dataclass(frozen=True)
class CourseChange:
    """One course whose next step or projected completion would change."""

    course_uuid: Any
    patient_name: str
    step_before: str
    step_after: str
    completion_before: dt.date | None
    completion_after: dt.date | None


@dataclasses.dataclass(frozen=True)
class SettingsPreview:
    changed: dict[str, tuple[Any, Any]]  # setting -> (as it is, as it would be)
    courses: int  # courses on the worklist, judged both ways
    steps_changed: int  # whose next step (what, its status or its deadline) would change
    completions_changed: int  # whose projected completion date would change
    examples: list[CourseChange]  # the first EXAMPLES of them


def practice_for_settings(actor: StaffUser) -> Practice:
    require(actor, Capability.MANAGE_PRACTICE)
    return Practice.objects.get(pk=practice_id_of(actor))


def _proposed(practice: Practice, changes: dict[str, Any]) -> tuple[Practice, dict[str, tuple[Any, Any]]]:
    """The practice as the changes would leave it (unsaved, validated) and what they change."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise InvalidInput(f"Not a setting: {', '.join(sorted(unknown))}.")
    if "mrn_aliases" in changes:
        changes = {**changes, "mrn_aliases": clean_mrn_aliases(changes["mrn_aliases"])}
    zone = changes.get("time_zone")
    if zone is not None and zone not in time_zones():
        raise InvalidInput(f"{zone} is not a time zone of the tz database.", field="time_zone")
    proposed = copy.copy(practice)
    for name, value in changes.items():
        setattr(proposed, name, value)
    proposed.phone = " ".join(str(proposed.phone).split())
    validate(proposed, exclude=["worklist_basis"])
    proposed.name = " ".join(str(proposed.name).split())
    if Practice.objects.filter(name__iexact=proposed.name).exclude(pk=practice.pk).exists():
        raise InvalidInput(f"A practice named {proposed.name!r} exists already.", field="name")
    changed = {
        name: (getattr(practice, name), getattr(proposed, name))
        for name in SETTINGS
        if str(getattr(practice, name)) != str(getattr(proposed, name))
    }
    return proposed, changed


def preview_settings(*, actor: StaffUser, changes: dict[str, Any]) -> SettingsPreview:
    """What the changes would alter, judged by the core on every course on the worklist; nothing is saved.
    Refuses what saving would refuse (InvalidInput beside its field)."""
    practice = practice_for_settings(actor)
    proposed, changed = _proposed(practice, changes)
    course_ids = list(
        WorklistEntry.objects.filter(practice_id=practice.pk, listed=True)
        .order_by("course_id")
        .values_list("course_id", flat=True)
    )
    counts = {"steps": 0, "completions": 0}
    examples: list[CourseChange] = []
    if set(changed) - UNJUDGED:  # a name, a phone, two-factor or the MRN's other names change no judgment
        before_day, after_day = practice_today(practice), practice_today(proposed)
        for start in range(0, len(course_ids), CHUNK):
            for change in _changes(course_ids[start : start + CHUNK], proposed, before_day, after_day):
                counts["steps"] += change.step_before != change.step_after
                counts["completions"] += change.completion_before != change.completion_after
                if len(examples) < EXAMPLES:
                    examples.append(change)
    return SettingsPreview(
        changed=changed,
        courses=len(course_ids),
        steps_changed=counts["steps"],
        completions_changed=counts["completions"],
        examples=examples,
    )


def _changes(
    course_ids: list[int], proposed: Practice, before_day: dt.date, after_day: dt.date
) -> list[CourseChange]:
    """The courses of one chunk whose next step or projected completion differ under ``proposed``."""
    shown = {
        row[0]: row[1:]
        for row in Course.objects.filter(id__in=course_ids).values_list(
            "id", "uuid", "target_mg_per_kg", "patient__family_name", "patient__given_name"
        )
    }
    found = []
    now = facts_by_course(course_ids)
    then = under_settings(now, proposed, {course_id: row[1] for course_id, row in shown.items()})
    for course_id, course_file in now.items():
        course_uuid, _, family, given = shown[course_id]
        before = judged_in_words(course_file, before_day)
        after = judged_in_words(then[course_id], after_day)
        if before != after:
            found.append(
                CourseChange(course_uuid, f"{family}, {given}", before[0], after[0], before[1], after[1])
            )
    return found


@action
def change_settings(*, actor: StaffUser, changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Saves the changes, audited with the values before and after; returns what changed."""
    require(actor, Capability.MANAGE_PRACTICE)
    practice = Practice.objects.select_for_update().get(pk=practice_id_of(actor))
    proposed, changed = _proposed(practice, changes)
    if changed:
        proposed.save(update_fields=list(changed))
        record_practice_event(
            actor=actor,
            action=EventCode.PRACTICE_SETTINGS_CHANGE,
            instance=proposed,
            before={name: _plain(before) for name, (before, _) in changed.items()},
            after={name: _plain(after) for name, (_, after) in changed.items()},
        )
    return changed


def _plain(value: Any) -> Any:
    """A setting as the audit trail keeps it (JSON)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, list):  # the MRN's other names
        return [_plain(item) for item in value]
    return str(value)
