"""Forms parse and check what staff typed; the actions decide and write. No clinical rules here."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from isotrack.clinic.models import PatientCategory, WeightUnit


class DateInput(forms.DateInput):
    input_type = "date"


class PatientForm(forms.Form):
    mrn = forms.CharField(label="MRN", max_length=40)
    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    birth_date = forms.DateField(label="Birth date", widget=DateInput)
    category = forms.ChoiceField(
        label="iPLEDGE category",
        choices=PatientCategory.choices,
        help_text="Set by the prescriber from the patient's history; never from sex or gender.",
    )
    ipledge_id = forms.CharField(label="iPLEDGE ID", max_length=20, required=False)
    email = forms.EmailField(label="Email for reminders", required=False)
    phone = forms.CharField(label="Phone", max_length=30, required=False)
    reminders_consent = forms.BooleanField(label="Patient agrees to reminders", required=False)


class CategoryForm(forms.Form):
    category = forms.ChoiceField(label="iPLEDGE category", choices=PatientCategory.choices)
    reason = forms.CharField(label="Reason for the change", max_length=200)


class WeightForm(forms.Form):
    effective_date = forms.DateField(label="Date weighed", widget=DateInput)
    value = forms.DecimalField(label="Weight", max_digits=6, decimal_places=2, min_value=Decimal("1"))
    unit = forms.ChoiceField(label="Unit", choices=WeightUnit.choices, initial=WeightUnit.KG)
    reason = forms.CharField(label="Reason for the correction", max_length=200, required=False)
