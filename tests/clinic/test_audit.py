from __future__ import annotations

import pytest
from django.urls import reverse

from isotrack.audit.events import VOIDS_AND_CORRECTIONS, EventCode
from isotrack.audit.models import AuditEvent
from isotrack.clinic.actions import corrections
from isotrack.clinic.models import IpledgeEntryKind


def test_it_refuses_to_change_an_audit_row_through_the_app(weight):
    event = AuditEvent.objects.get(action=EventCode.WEIGHT_RECORD)
    event.action = "forged"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    with pytest.raises(RuntimeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(RuntimeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == EventCode.WEIGHT_RECORD


def test_every_code_a_write_can_name_is_in_the_enumeration_and_fits_the_column():
    """The codes built from a kind (an iPLEDGE step, a kind of correction) are members, not new strings."""
    for kind in IpledgeEntryKind.values:
        assert EventCode.ipledge(kind) in EventCode
    for code in corrections.KINDS:
        assert {EventCode.void(code), EventCode.correct(code)} <= VOIDS_AND_CORRECTIONS
    width = AuditEvent._meta.get_field("action").max_length
    assert all(len(code) <= width for code in EventCode)
    with pytest.raises(ValueError):
        EventCode.void("not-a-kind")


@pytest.mark.django_db
def test_the_audit_page_strikes_through_the_voided_record_not_its_void(client, nurse, weight):
    corrections.void_record(
        actor=nurse, kind=corrections.KINDS["weight"], item=weight, reason="wrong patient"
    )
    client.force_login(nurse)
    page = client.get(reverse("patient_audit", args=[weight.patient.uuid])).content.decode()
    assert f"<del>{EventCode.WEIGHT_RECORD}</del>" in page
    assert f"<del>{EventCode.WEIGHT_VOID}</del>" not in page
    assert str(EventCode.WEIGHT_VOID) in page
