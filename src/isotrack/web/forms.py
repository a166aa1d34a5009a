"""Forms parse and check what staff typed; the actions decide and write. No clinical rules here."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.db import models

from isotrack.clinic import plausible as plausibility
from isotrack.clinic.access import practice_id_of
from isotrack.clinic.actions.corrections import Kind
from isotrack.clinic.actions.patients import weight_in_kg
from isotrack.clinic.actions.practice_settings import SETTINGS
from isotrack.clinic.actions.practices import time_zones
from isotrack.clinic.dose_planning import PRODUCT_LINE_CHOICES, capsule_strengths
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.inputs import BadInput, refuse_control_characters
from isotrack.clinic.models import (
    AdministrativeGender,
    MedicationClass,
    Patient,
    PatientCategory,
    Practice,
    Role,
    StaffUser,
    WeightUnit,
)

GENDER_HELP = "For registration and records sent to other systems; not the iPLEDGE category."


def gender_field() -> forms.ChoiceField:
    """The administrative gender, chosen by staff: no choice made for them (a blank first, required)."""
    return forms.ChoiceField(
        label="Gender (administrative)",
        choices=[("", "Choose"), *AdministrativeGender.choices],
        help_text=GENDER_HELP,
        error_messages={"required": "Choose the gender (Unknown when the patient has not said)."},
    )


def no_control_characters(value: str) -> None:
    """Text a person types holds no control character (NUL, escape, bell…); tab and line breaks are text."""
    try:
        refuse_control_characters(value, "This text")
    except BadInput as error:
        raise forms.ValidationError(f"{error.message}.", code="control") from None


class TextField(forms.CharField):
    """Every text field of the pages: Django's CharField that also refuses control characters beside the
    field (clinic.inputs), as the API and the imports do."""

    default_validators = [no_control_characters]


class DateInput(forms.DateInput):
    input_type = "date"


class PhoneInput(forms.TextInput):
    input_type = "tel"


def report_implausible(
    form: forms.Form,
    data: dict[str, Any],
    today: date | None,
    dated: Mapping[str, str],
    birth: date | None = None,
) -> None:
    """The core's plausibility problems of what was typed (core.plausibility), beside their fields and in the
    same round as the form's other errors. The action checks them again, word for word: the API and the
    imports meet the same rules. ``dated``: field -> what it is ("A visit")."""
    if today is None:
        return
    for name, what in dated.items():
        day = data.get(name)
        if isinstance(day, date) and name not in form.errors:
            problem = plausibility.not_after_today(day, today, what) or (
                plausibility.not_before_birth(day, birth, what) if birth else None
            )
            if problem:
                form.add_error(name, problem)
    value, unit = data.get("weight_value"), data.get("weight_unit")
    if value is not None and unit and "weight_value" not in form.errors:
        try:
            weight_in_kg(value, unit)
        except InvalidInput as error:
            form.add_error("weight_value", error.message)
    mg = data.get("dose_mg_per_day")
    too_much = plausibility.mg_per_day(float(mg)) if mg is not None else None
    if too_much and "dose_mg_per_day" not in form.errors:
        form.add_error("dose_mg_per_day", too_much)


class PatientForm(forms.Form):
    mrn = TextField(label="MRN", max_length=40)
    given_name = TextField(label="Given name", max_length=100)
    family_name = TextField(label="Family name", max_length=100)
    birth_date = forms.DateField(label="Birth date", widget=DateInput)
    gender = gender_field()
    category = forms.ChoiceField(
        label="iPLEDGE category",
        choices=[("", "To be assigned by a prescriber"), *PatientCategory.choices],
        required=False,
        help_text="Assigned by the prescriber from the patient's history; never from sex or gender.",
    )
    ipledge_id = TextField(label="iPLEDGE ID", max_length=20, required=False)
    email = forms.EmailField(label="Email for reminders", required=False)
    phone = TextField(label="Phone", max_length=30, required=False)
    reminders_consent = forms.BooleanField(label="Patient agrees to reminders", required=False)

    def __init__(
        self, *args: Any, assigns_category: bool = False, today: date | None = None, **kwargs: Any
    ) -> None:
        """Only a prescriber sees the category (IPL-CAT); anyone else registers the patient without it."""
        super().__init__(*args, **kwargs)
        self.today = today
        if not assigns_category:
            del self.fields["category"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns; its stub says it may be None
        birth = data.get("birth_date")
        problem = plausibility.birth_date(birth, self.today) if self.today and birth else None
        if problem and "birth_date" not in self.errors:
            self.add_error("birth_date", problem)
        return data


class ContactForm(forms.Form):
    """The patient's contact details, consent to reminders and administrative gender, shown as they are."""

    gender = gender_field()
    email = forms.EmailField(label="Email for reminders", required=False)
    phone = TextField(label="Phone", max_length=30, required=False)
    reminders_consent = forms.BooleanField(
        label="Patient agrees to reminders",
        required=False,
        help_text="Reminders of tests and pick-up windows go by email, only with this consent.",
    )


class CategoryForm(forms.Form):
    category = forms.ChoiceField(
        label="iPLEDGE category", choices=[("", "Choose the category"), *PatientCategory.choices]
    )
    reason = TextField(
        label="Reason for the change",
        max_length=200,
        required=False,
        help_text="Needed when the category changes; not for the first assignment.",
    )


class WeightForm(forms.Form):
    effective_date = forms.DateField(label="Date weighed", widget=DateInput)
    value = forms.DecimalField(label="Weight", max_digits=6, decimal_places=2, min_value=Decimal("1"))
    unit = forms.ChoiceField(label="Unit", choices=WeightUnit.choices, initial=WeightUnit.KG)


BY_THE_TABLE = ""


class MedicationForm(forms.Form):
    """Another medicine or supplement the patient takes (MED-TETRA, MED-VITA, MED-INDUCER). Its class is
    isotrack's table's for the name or the RxNorm code unless a clinician chooses one."""

    name = TextField(label="Medicine or supplement", max_length=200)
    rxnorm = TextField(
        label="RxNorm ingredient code (optional)",
        max_length=20,
        required=False,
        help_text="When the EHR or the label gives it; isotrack knows a medicine by its name too.",
    )
    start = forms.DateField(label="Taken since", widget=DateInput)
    end = forms.DateField(label="Last day taken (empty: still taken)", widget=DateInput, required=False)
    medication_class = forms.ChoiceField(
        label="Class",
        required=False,
        choices=[(BY_THE_TABLE, "As isotrack's table classes the name"), *MedicationClass.choices],
        help_text="Tetracyclines, vitamin A supplements and enzyme inducers are checked against the course.",
    )

    def clean_medication_class(self) -> str | None:
        return self.cleaned_data["medication_class"] or None


class MedicationEndForm(forms.Form):
    end = forms.DateField(label="Last day taken", widget=DateInput)


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
    "strength_mg": "Capsule strength (mg; empty: not stated)",
    "reason": "Reason",
    "days_supply": "Days supply",
    "quantity": "Capsules",
    "rma": "RMA number",
    "kind": "iPLEDGE step",
    "confirmation_number": "Confirmation number",
}


class VoidForm(forms.Form):
    correction_reason = TextField(
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
        if isinstance(db_field, models.CharField | models.TextField) and not db_field.choices:
            kwargs["form_class"] = TextField  # control characters refused beside the field, as everywhere
        return db_field.formfield(**kwargs)

    labels = {name: CORRECTION_LABELS[name] for name in kind.fields if name in CORRECTION_LABELS}
    base = forms.models.modelform_factory(
        kind.model, fields=kind.fields, formfield_callback=field_for, labels=labels
    )
    reason = TextField(label=REASON_LABEL["correct"], max_length=200)
    form_class = type(f"{kind.model.__name__}Correction", (base,), {"correction_reason": reason})
    form = form_class(data, instance=copy.copy(item))  # the form's checks must not touch the record itself
    if "verified_by" in form.fields:
        practice_id = practice_id_of(user)
        staff = StaffUser.objects.filter(practice_id=practice_id, is_active=True).order_by("last_name")
        form.fields["verified_by"].queryset = staff
    return form


class InviteForm(forms.Form):
    """A new member of staff (clinic.actions.staff.invite_staff). No role is chosen for the administrator."""

    email = forms.EmailField(label="Email (their login)", max_length=254)
    first_name = TextField(label="First name", max_length=150)
    last_name = TextField(label="Last name", max_length=150)
    credentials = TextField(label="Credentials", max_length=40, required=False, help_text="MD, PA-C, RN…")
    role = forms.ChoiceField(label="Role", choices=[("", "Choose a role"), *Role.choices])
    npi = TextField(
        label="NPI",
        max_length=10,
        required=False,
        help_text="A prescriber's National Provider Identifier: ten digits.",
    )


class StaffForm(forms.Form):
    """A member's role and NPI (clinic.actions.staff.change_staff), shown as they are."""

    role = forms.ChoiceField(label="Role", choices=Role.choices)
    npi = TextField(
        label="NPI", max_length=10, required=False, help_text="A prescriber's National Provider Identifier."
    )


class CodeForm(forms.Form):
    """A second factor's code: the authenticator's six digits or, at login, one of the recovery codes."""

    code = TextField(
        label="Code",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
    )


_SETTING_LABELS = {
    "name": "Practice name",
    "phone": "Phone number",
    "time_zone": "Time zone",
    "rules": "iPLEDGE rule set",
    "ipledge_2026_effective": "The 2026 rule set takes effect on",
    "target_mg_per_kg": "Cumulative dose target (mg/kg)",
    "weight_basis": "Weight the mg/kg is computed with",
    "home_testing_permitted": "Home pregnancy tests permitted",
    "ld_equivalence_factor": "Micronized (Absorica LD) equivalence factor",
    "triglycerides_high_mg_dl": "Triglycerides: high from (mg/dL)",
    "triglycerides_critical_mg_dl": "Triglycerides: critical from (mg/dL)",
    "liver_enzyme_uln_multiple": "Liver enzymes: alert from this multiple of the upper limit",
    "liver_enzyme_default_uln": "Liver enzymes: upper limit of normal when the lab gives none (U/L)",
    "peak_labs_after_days": "Peak-dose labs: days after the first fill",
    "two_factor": "Two-factor authentication",
    "mrn_aliases": "Other names of this practice's MRNs",
}
_SETTING_HELP = {
    "phone": "Printed on the patient handout (“Call the clinic”), in English and Spanish. Digits, spaces, "
    "+ - ( ) . and x before an extension.",
    "rules": "The rule set in force on each day (reference §1.1), or one pinned.",
    "target_mg_per_kg": "DOSE-TARGET: for every course without a target of its own.",
    "ld_equivalence_factor": "DOSE-LD: micronized mg count as this many conventional mg.",
    "home_testing_permitted": "IPL-PT-MONTH: the monthly test may be a verified home test.",
    "two_factor": "Who must give an authenticator's code after the password (from their next login).",
    "mrn_aliases": "One per line, only names under which the numbers are the MRNs recorded in isotrack: the "
    "EHR's MRN system (a URI or OID) and the assigning authority your labs "
    "write in PID-3.4. Identifiers of these are read as this practice's MRNs by lab feeds, CDS Hooks and "
    "FHIR searches. Leave empty if unsure.",
}


class LinesField(forms.CharField):
    """A list of short texts, one per line (blank lines left out)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value)
        return [line.strip() for line in str(text or "").splitlines() if line.strip()]


class PracticeSettingsForm(forms.Form):
    """The practice's settings (clinic.actions.practice_settings), shown as they are. A plain form of the
    model's fields: the model's own checks (ranges, thresholds in order) are the action's, which names the
    field it refuses."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = forms.fields_for_model(
            Practice,
            fields=[name for name in SETTINGS if name not in ("time_zone", "mrn_aliases")],
            labels=_SETTING_LABELS,
            help_texts=_SETTING_HELP,
            widgets={"ipledge_2026_effective": DateInput, "phone": PhoneInput},
        )
        fields["time_zone"] = forms.ChoiceField(
            label=_SETTING_LABELS["time_zone"], choices=[(zone, zone) for zone in time_zones()]
        )
        fields["mrn_aliases"] = LinesField(
            label=_SETTING_LABELS["mrn_aliases"], help_text=_SETTING_HELP["mrn_aliases"], required=False
        )
        self.fields = {name: fields[name] for name in SETTINGS}

    @staticmethod
    def label_of(name: str) -> str:
        return _SETTING_LABELS[name]


class PrescribingForm(forms.Form):
    """A prescriber's own settings (clinic.actions.staff.change_prescribing), shown as they are: the product
    line new courses start with, and the capsule strengths the local pharmacies stock, by line."""

    default_product_line = forms.ChoiceField(
        label="Product a new course starts with",
        choices=[("", "No default (conventional is offered)"), *PRODUCT_LINE_CHOICES],
        required=False,
    )

    def __init__(self, *args: Any, stocked: dict[str, list[int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for line, label in PRODUCT_LINE_CHOICES:
            every = capsule_strengths(line)
            self.fields[line] = forms.TypedMultipleChoiceField(
                label=f"{label} capsules stocked (mg)",
                choices=[(strength, f"{strength} mg") for strength in every],
                coerce=int,
                widget=forms.CheckboxSelectMultiple,
                initial=stocked.get(line) or list(every),
                error_messages={"required": "Choose at least one strength the pharmacies stock."},
            )

    def stocked(self) -> dict[str, list[int]]:
        return {line: self.cleaned_data[line] for line, _ in PRODUCT_LINE_CHOICES}


class PracticeImportForm(forms.Form):
    """A practice's current patients and courses, as a CSV file of the template (clinic.imports.practice)."""

    file = forms.FileField(
        label="CSV file",
        help_text="One row per course, in the template's columns, saved from the spreadsheet as CSV (UTF-8).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class PracticeAuditForm(forms.Form):
    """The practice audit's filters (a GET form): who, which patient (by MRN), which kind of row, from and
    to which day. Each is optional; a wrong one is refused beside its field."""

    person = forms.ChoiceField(label="Who", required=False)
    mrn = TextField(label="Patient MRN", required=False, max_length=40)
    kind = forms.ChoiceField(label="Kind", required=False, choices=[])
    since = forms.DateField(label="From", required=False, widget=DateInput)
    until = forms.DateField(label="To", required=False, widget=DateInput)

    def __init__(self, data: Any, *, practice: Practice, kinds: Mapping[str, str]) -> None:
        super().__init__(data)
        self.practice = practice
        members = StaffUser.objects.filter(practice=practice).order_by("last_name", "first_name", "username")
        self.members = {str(member.uuid): member for member in members}
        person = self.fields["person"]
        assert isinstance(person, forms.ChoiceField)
        person.choices = [("", "Anyone"), *((key, m.display_name) for key, m in self.members.items())]
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = list(kinds.items())

    def clean_mrn(self) -> Any:
        mrn = self.cleaned_data["mrn"].strip()
        if not mrn:
            return None
        patient = Patient.objects.filter(practice=self.practice, mrn__iexact=mrn).first()
        if patient is None:
            raise forms.ValidationError("No patient of the practice has this MRN.")
        return patient

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The last day comes before the first.")
        return cleaned
