"""The iPLEDGE steps of a course, in the order iPLEDGE enforces them, and the pick-ups they allow."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from isotrack import core
from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability
from isotrack.clinic.actions.base import (
    action,
    check_course,
    create,
    dated,
    plausible,
)
from isotrack.clinic.actions.courses import activate_course
from isotrack.clinic.models import (
    Course,
    Dispense,
    IpledgeEntry,
    StaffUser,
)
from isotrack.clinic.records import course_facts


@action
def record_ipledge_entry(
    *,
    actor: StaffUser,
    course: Course,
    kind: str,
    day: date,
    confirmation_number: str = "",
    in_order: bool = True,
) -> IpledgeEntry:
    """An iPLEDGE step done. Out of order (``core.entry_out_of_order``) it is refused, naming the step that
    comes first; ``in_order=False`` is for importing a course's history, whose order the engine judges."""
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    dated(course.patient, day, "date", "An iPLEDGE entry")
    if in_order:
        plausible(core.entry_out_of_order(course_facts(course), kind, day), "kind")
    item = IpledgeEntry(course=course, kind=kind, date=day, confirmation_number=confirmation_number)
    return create(actor, item, patient=course.patient, code=EventCode.ipledge(kind))


@action
def record_dispense(
    *,
    actor: StaffUser,
    course: Course,
    day: date,
    days_supply: int,
    quantity: int | None = None,
    mg_per_day: Decimal | None = None,
    product: str = "",
    pharmacy: str = "",
    rma: str = "",
) -> Dispense:
    check_course(actor, course, Capability.RECORD_OBSERVATIONS)
    dated(course.patient, day, "date", "A pick-up")
    item = Dispense(
        course=course,
        date=day,
        days_supply=days_supply,
        quantity=quantity,
        mg_per_day=mg_per_day,
        product=product,
        pharmacy=pharmacy,
        rma=rma,
    )
    dispense = create(actor, item, patient=course.patient, code=EventCode.DISPENSE_RECORD)
    activate_course(actor=actor, course=course)
    return dispense
