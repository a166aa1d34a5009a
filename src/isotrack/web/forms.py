"""Forms parse and check what staff typed; the actions decide and write. No clinical rules here."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django import forms
from django.db import models

from isotrack.clinic.corrections import Kind
from isotrack.clinic.models import PatientCategory, StaffUser, WeightUnit


class DateInput(forms.DateInput):
    input_type = "date"


class PatientForm(forms.Form):
    mrn = forms.CharField(label="MRN", max_length=40)
    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    birth_date = forms.DateField(label="Birth date", widget=DateInput)
    category = forms.ChoiceField(
        label="iPLEDGE category",
        choices=[("", "To be assigned by a prescriber"), *PatientCategory.choices],
        required=False,
        help_text="Assigned by the prescriber from the patient's history; never from sex or gender.",
    )
    ipledge_id = forms.CharField(label="iPLEDGE ID", max_length=20, required=False)
    email = forms.EmailField(label="Email for reminders", required=False)
    phone = forms.CharField(label="Phone", max_length=30, required=False)
    reminders_consent = forms.BooleanField(label="Patient agrees to reminders", required=False)

    def __init__(self, *args: Any, assigns_category: bool = False, **kwargs: Any) -> None:
        """Only a prescriber sees the category (IPL-CAT); anyone else registers the patient without it."""
        super().__init__(*args, **kwargs)
        if not assigns_category:
            del self.fields["category"]


class CategoryForm(forms.Form):
    category = forms.ChoiceField(
        label="iPLEDGE category", choices=[("", "Choose the category"), *PatientCategory.choices]
    )
    reason = forms.CharField(
        label="Reason for the change",
        max_length=200,
        required=False,
        help_text="Needed when the category changes; not for the first assignment.",
    )


class WeightForm(forms.Form):
    effective_date = forms.DateField(label="Date weighed", widget=DateInput)
    value = forms.DecimalField(label="Weight", max_digits=6, decimal_places=2, min_value=Decimal("1"))
    unit = forms.ChoiceField(label="Unit", choices=WeightUnit.choices, initial=WeightUnit.KG)


REASON_LABEL = {"correct": "Why is it corrected?", "void": "Why is it voided?"}

# The corrections' fields in the words of the forms that record them (the models' names are for the database).
CORRECTION_LABELS = {
    "effective_date": "Date",
    "entered_value": "Weight",
    "entered_unit": "Unit",
    "start": "First day",
    "end": "Last day",
    "uln": "Upper limit of normal (ALT, AST)",
    "specimen_date": "Specimen date",
    "verified_by": "Verified by (home test)",
    "verification_note": "How the home test was verified",
    "item9": "Item 9 score (PHQ-9)",
    "resolved_on": "Resolved on",
    "action": "Action taken",
    "starts_on": "First day of this dose",
    "mg_per_day": "Dose (mg/day)",
    "reason": "Reason",
    "days_supply": "Days supply",
    "quantity": "Capsules",
    "rma": "RMA number",
    "kind": "iPLEDGE step",
    "confirmation_number": "Confirmation number",
}


class VoidForm(forms.Form):
    correction_reason = forms.CharField(
        label=REASON_LABEL["void"],
        max_length=200,
        help_text="Kept with the record and in the audit trail, e.g. “entered on the wrong patient”.",
    )


def correction_form(kind: Kind, item: Any, user: StaffUser, data: Any = None) -> forms.ModelForm[Any]:
    """The fields a correction of ``kind`` may change, showing the record as it was entered, and the reason.
    The model's own checks (ranges, date order) run on the form; the action runs every other rule."""

    def field_for(db_field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
        if isinstance(db_field, models.DateField):
            kwargs["widget"] = DateInput
        return db_field.formfield(**kwargs)

    labels = {name: CORRECTION_LABELS[name] for name in kind.fields if name in CORRECTION_LABELS}
    base = forms.models.modelform_factory(
        kind.model, fields=kind.fields, formfield_callback=field_for, labels=labels
    )
    reason = forms.CharField(label=REASON_LABEL["correct"], max_length=200)
    form_class = type(f"{kind.model.__name__}Correction", (base,), {"correction_reason": reason})
    form = form_class(data, instance=copy.copy(item))  # the form's checks must not touch the record itself
    if "verified_by" in form.fields:
        staff = StaffUser.objects.filter(practice_id=user.practice_id, is_active=True).order_by("last_name")
        form.fields["verified_by"].queryset = staff
    return form
