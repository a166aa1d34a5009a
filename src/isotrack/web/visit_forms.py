"""Forms of the monthly visit, the dose change and enrollment. They parse and check what staff typed (a row
half filled, a missing reason); the actions decide and write. Field names are the actions' error fields
(``weight_value``, ``lab_0_value``...), so an error lands beside the field it is about."""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms

from isotrack.clinic import plausible as plausibility
from isotrack.clinic.actions.visits import (
    VisitAcknowledgment,
    VisitContraception,
    VisitDoseChange,
    VisitLab,
    VisitMedicines,
    VisitMoodScreen,
    VisitNewMedicine,
    VisitPregnancyTest,
    VisitSideEffect,
    VisitWeight,
)
from isotrack.clinic.dose_planning import (
    DEFAULT_DAYS_SUPPLY,
    PRODUCT_LINE_CHOICES,
    PRODUCT_LINES,
    capsule_strengths,
    stored_product,
)
from isotrack.clinic.models import (
    VISIT_NOTE_LENGTH,
    ContraceptionMethodCode,
    DoseChangeReason,
    IpledgeEntryKind,
    LabTest,
    LabUnit,
    MoodInstrument,
    PatientCategory,
    Severity,
    SideEffectAction,
    StaffUser,
    TestPurpose,
    TestResult,
    TestSetting,
    WeightUnit,
)
from isotrack.web.forms import DateInput, PatientForm, TextField, report_implausible

# The fields a visit needs when the dose changes (the note is optional: the action asks for it with "other").
CHANGE_FIELDS = ("dose_mg_per_day", "dose_product", "dose_starts_on", "dose_change_reason")
SIDE_EFFECT_ROWS = 2
LAB_ROWS = 3
MEDICINE_ROWS = 2
NO_TEST = "not_done"
LAB_TESTS = [c for c in LabTest.choices if c[0] != LabTest.OTHER]
LAB_UNITS = [c for c in LabUnit.choices if c[0] != LabUnit.OTHER]
ALL_STRENGTHS = sorted({mg for line in PRODUCT_LINES for mg in capsule_strengths(line)})


def _blank(choices: list[tuple[str, str]], label: str = "—") -> list[tuple[str, str]]:
    return [("", label), *choices]


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class WeightFields(forms.Form):
    weight_value = forms.DecimalField(
        label="Weight", max_digits=6, decimal_places=2, min_value=Decimal(1), required=False
    )
    weight_unit = forms.ChoiceField(label="Unit", choices=WeightUnit.choices, initial=WeightUnit.KG)

    def weight(self) -> VisitWeight | None:
        value = self.cleaned_data.get("weight_value")
        return VisitWeight(value, self.cleaned_data["weight_unit"]) if value is not None else None


def strength_field() -> forms.TypedChoiceField:
    """The capsule strength of a dose: optional, nothing chosen for the prescriber (the action checks it
    against the product line and the dose, as the core says)."""
    return forms.TypedChoiceField(
        label="Capsule strength",
        choices=[("", "Not stated"), *((str(mg), f"{mg} mg") for mg in ALL_STRENGTHS)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="When the dose is taken in capsules of one strength; sent on as the RxNorm clinical drug.",
    )


class DoseFields(forms.Form):
    """The dose a prescriber proposes (also read by the live preview)."""

    # Its limits are the core's (core.plausibility, checked by the action): one message wherever it comes in.
    dose_mg_per_day = forms.DecimalField(label="New dose (mg/day)", max_digits=5, decimal_places=1)
    dose_product = forms.ChoiceField(label="Product", choices=PRODUCT_LINE_CHOICES)
    dose_strength_mg = strength_field()
    dose_starts_on = forms.DateField(label="Starting on", widget=DateInput)
    # Why: one of the codes the quality report counts reductions by, none chosen for the prescriber.
    dose_change_reason = forms.ChoiceField(
        label="Why does the dose change?",
        choices=DoseChangeReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose why the dose changes."},
    )
    dose_reason = TextField(
        label="Note on the change",  # the visit has its own "Note"
        max_length=200,
        required=False,
        help_text="Kept in the audit trail; needed for another reason, to say which.",
    )

    def dose_change(self) -> VisitDoseChange:
        data = self.cleaned_data
        product, brand = stored_product(data["dose_product"])
        return VisitDoseChange(
            mg_per_day=data["dose_mg_per_day"],
            product=product,
            brand=brand,
            change_reason=data["dose_change_reason"],
            reason=data["dose_reason"],
            starts_on=data["dose_starts_on"],
            strength_mg=data.get("dose_strength_mg"),
        )


class DoseChangeForm(DoseFields):
    dose_mg_per_day = forms.DecimalField(
        label="New dose (mg/day)", max_digits=5, decimal_places=1, required=False
    )
    dose_completion_date = forms.DateField(
        label="Or: finish by (target completion date)",
        widget=DateInput,
        required=False,
        help_text="Leave the dose empty to see the dose this date needs.",
    )
    days_supply = forms.IntegerField(
        label="Days supply", min_value=1, max_value=30, initial=DEFAULT_DAYS_SUPPLY, required=False
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns; its stub says it may be None
        if data.get("dose_mg_per_day") is None and "dose_mg_per_day" not in self.errors:
            self.add_error("dose_mg_per_day", "Type the new daily dose.")
        return data


class DosePreviewForm(forms.Form):
    """What the live preview reads; never saved, so nothing is required. A visit that continues the current
    dose (``dose_decision``) previews it in its stored capsule strength, whatever the strength field says."""

    dose_decision = forms.ChoiceField(
        choices=[("continue", "continue"), ("change", "change")], required=False
    )
    dose_mg_per_day = forms.DecimalField(max_digits=5, decimal_places=1, required=False)
    dose_product = forms.ChoiceField(choices=PRODUCT_LINE_CHOICES, required=False)
    dose_strength_mg = strength_field()
    dose_starts_on = forms.DateField(required=False)
    dose_completion_date = forms.DateField(required=False)
    days_supply = forms.IntegerField(min_value=1, max_value=30, required=False)


class MonthlyVisitForm(WeightFields, DoseFields):
    date = forms.DateField(label="Visit date", widget=DateInput)

    # Nothing here is pre-selected but the test the course is at (the core's): the result, the setting, the
    # specimen date and who verified a home test are what a person saw and chooses.
    pregnancy_test_purpose = forms.ChoiceField(label="Purpose", choices=TestPurpose.choices)
    pregnancy_test_result = forms.ChoiceField(
        label="Result",
        choices=[("", "Choose the result"), *TestResult.choices, (NO_TEST, "No test at this visit")],
        error_messages={"required": "Choose the result, or “No test at this visit”."},
    )
    pregnancy_test_setting = forms.ChoiceField(
        label="Setting",
        choices=_blank(TestSetting.choices),
        required=False,
        help_text="Needed with a result.",
    )
    pregnancy_test_specimen_date = forms.DateField(
        label="Specimen collected on", widget=DateInput, required=False, help_text="Needed with a result."
    )
    pregnancy_test_verified_by = StaffChoiceField(
        label="Verified by",
        queryset=StaffUser.objects.none(),
        required=False,
        help_text="Who verified a home test (IPL-PT-MONTH).",
    )

    contraception_confirmed = forms.BooleanField(label="Patient confirms these methods", required=False)
    contraception_stopped = forms.MultipleChoiceField(
        label="Stopped", required=False, widget=forms.CheckboxSelectMultiple
    )
    contraception_new_0 = forms.ChoiceField(
        label="Started: method", choices=_blank(ContraceptionMethodCode.choices), required=False
    )
    contraception_new_1 = forms.ChoiceField(
        label="Started: second method", choices=_blank(ContraceptionMethodCode.choices), required=False
    )
    contraception_start = forms.DateField(label="Started on", widget=DateInput, required=False)

    medication_stopped = forms.MultipleChoiceField(
        label="Stopped", required=False, widget=forms.CheckboxSelectMultiple
    )
    medication_stopped_on = forms.DateField(
        label="Last day taken (of those stopped)",
        widget=DateInput,
        required=False,
        help_text="A tetracycline taken on the visit's day still holds its prescription (MED-TETRA).",
    )

    mood_instrument = forms.ChoiceField(label="Instrument", choices=_blank(MoodInstrument.choices))
    mood_score = forms.IntegerField(label="Score", min_value=0, max_value=27)
    mood_item9 = forms.IntegerField(
        label="PHQ-9 item 9 (thoughts of self-harm)", min_value=0, max_value=3, required=False
    )

    ipledge_confirmed = forms.BooleanField(label="Confirmed in iPLEDGE at this visit", required=False)
    ipledge_confirmation_number = TextField(label="Confirmation number", max_length=40, required=False)

    dose_decision = forms.ChoiceField(
        label="Dose decision",
        choices=[("continue", "Continue the current dose"), ("change", "Change the dose")],
        initial="continue",
        required=False,  # only a prescriber's page shows it; left out, the visit continues the current dose
        widget=forms.RadioSelect,
    )
    days_supply = forms.IntegerField(
        label="Days supply", min_value=1, max_value=30, initial=DEFAULT_DAYS_SUPPLY
    )  # IPL-SUPPLY
    note = TextField(
        label="Note", required=False, max_length=VISIT_NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Asked only when a visit of the same day is already on record: a second one is saved on purpose, not by a
    # resubmitted form (those are caught by the form's one-time key anyway).
    confirm_second_visit = forms.BooleanField(label="Record a second visit on this day", required=False)

    def __init__(
        self,
        *args: Any,
        category: str,
        staff: Any,
        methods_in_use: Any,
        current_product: str,
        medications_in_use: Any = (),
        to_acknowledge: list[dict[str, Any]] | None = None,
        today: dt.date | None = None,  # (``date`` is a field of this form)
        birth: dt.date | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today, self.birth = today, birth
        self.can_get_pregnant = category == PatientCategory.CAN_GET_PREGNANT
        # A prescriber acknowledges, at the visit, the open alerts that keep a prescription from being
        # proposed (ALERT-URGENCY); the core's banner says which.
        self.to_acknowledge = list(to_acknowledge or [])
        for index, item in enumerate(self.to_acknowledge):
            self.fields[f"acknowledge_{index}"] = forms.BooleanField(
                label=f"I have reviewed it: {item['label']} ({item['detail']})", required=False
            )
            self.fields[f"acknowledge_{index}_reason"] = TextField(
                label="What was decided", max_length=300, required=False
            )
        self.methods_in_use = list(methods_in_use)
        cast(StaffChoiceField, self.fields["pregnancy_test_verified_by"]).queryset = staff
        cast(forms.MultipleChoiceField, self.fields["contraception_stopped"]).choices = [
            (str(m.uuid), m.get_method_display()) for m in self.methods_in_use
        ]
        for index in range(SIDE_EFFECT_ROWS):
            self.fields[f"side_effect_{index}_term"] = TextField(
                label=f"Side effect {index + 1}", max_length=100, required=False
            )
            self.fields[f"side_effect_{index}_severity"] = forms.ChoiceField(
                label=f"Severity of side effect {index + 1}", choices=_blank(Severity.choices), required=False
            )
            self.fields[f"side_effect_{index}_action_taken"] = forms.ChoiceField(
                label=f"Action for side effect {index + 1}", choices=SideEffectAction.choices, required=False
            )
        self.medications_in_use = list(medications_in_use)
        cast(forms.MultipleChoiceField, self.fields["medication_stopped"]).choices = [
            (str(m.uuid), m.name) for m in self.medications_in_use
        ]
        for index in range(MEDICINE_ROWS):
            self.fields[f"medication_new_{index}_name"] = TextField(
                label=f"New medicine or supplement {index + 1}", max_length=100, required=False
            )
            self.fields[f"medication_new_{index}_start"] = forms.DateField(
                label=f"First day of new medicine {index + 1}", widget=DateInput, required=False
            )
        for index in range(LAB_ROWS):
            self.fields[f"lab_{index}_test"] = forms.ChoiceField(
                label=f"Lab {index + 1} test", choices=_blank(LAB_TESTS), required=False
            )
            self.fields[f"lab_{index}_value"] = forms.DecimalField(
                label=f"Lab {index + 1} value", max_digits=8, decimal_places=2, required=False
            )
            self.fields[f"lab_{index}_unit"] = forms.ChoiceField(
                label=f"Lab {index + 1} unit", choices=_blank(LAB_UNITS), required=False
            )
        if not self.can_get_pregnant:
            for name in [n for n in self.fields if n.startswith(("pregnancy_test_", "contraception_"))]:
                del self.fields[name]
        self.fields["dose_product"].initial = current_product
        # The dose fields matter only when the dose changes (checked in clean).
        for name in CHANGE_FIELDS:
            self.fields[name].required = False

    def rows(self, prefix: str, count: int, names: tuple[str, ...]) -> list[list[Any]]:
        return [[self[f"{prefix}_{i}_{name}"] for name in names] for i in range(count)]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns; its stub says it may be None
        if data.get("dose_decision") == "change":
            for name in CHANGE_FIELDS:
                if data.get(name) in (None, "") and name not in self.errors:
                    message = "Choose why the dose changes." if name == "dose_change_reason" else None
                    self.add_error(name, message or "Needed to change the dose.")
        for index in range(SIDE_EFFECT_ROWS):
            if data.get(f"side_effect_{index}_term") and not data.get(f"side_effect_{index}_severity"):
                self.add_error(f"side_effect_{index}_severity", "Choose the severity.")
        visit_day = data.get("date")
        for index in range(MEDICINE_ROWS):
            name, start = f"medication_new_{index}_name", f"medication_new_{index}_start"
            if data.get(name) and not data.get(start) and start not in self.errors:
                self.add_error(start, "When did the patient start it?")
            if data.get(start) and not data.get(name) and name not in self.errors:
                self.add_error(name, "Name the medicine or supplement.")
            if data.get(start) and visit_day and start not in self.errors:
                problem = plausibility.not_after_visit(data[start], visit_day, "A medicine's first day")
                if problem:
                    self.add_error(start, problem)
        last_day = data.get("medication_stopped_on")
        if data.get("medication_stopped") and not last_day and "medication_stopped_on" not in self.errors:
            self.add_error("medication_stopped_on", "Say the last day the patient took it.")
        if last_day and not data.get("medication_stopped") and "medication_stopped" not in self.errors:
            self.add_error("medication_stopped", "Tick the medicines the patient stopped.")
        if last_day and visit_day and "medication_stopped_on" not in self.errors:
            problem = plausibility.not_after_visit(last_day, visit_day, "A medicine's last day")
            if problem:
                self.add_error("medication_stopped_on", problem)
        for index in range(LAB_ROWS):
            parts = [f"lab_{index}_{name}" for name in ("test", "value", "unit")]
            filled = [name for name in parts if data.get(name) not in (None, "")]
            if filled and len(filled) < len(parts):
                for name in parts:
                    if name not in filled and name not in self.errors:
                        self.add_error(name, "Needed for this result.")
        if self.can_get_pregnant and data.get("pregnancy_test_result") in TestResult.values:
            for name in ("pregnancy_test_setting", "pregnancy_test_specimen_date"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "Needed for the test result.")
            home = data.get("pregnancy_test_setting") == TestSetting.HOME
            if home and not data.get("pregnancy_test_verified_by"):
                self.add_error("pregnancy_test_verified_by", "Who verified the home test (IPL-PT-MONTH)?")
        if data.get("mood_instrument") == MoodInstrument.PHQ2 and data.get("mood_item9") is not None:
            self.add_error("mood_item9", "Item 9 belongs to the PHQ-9 only.")
        elif data.get("mood_score") is not None and "mood_item9" not in self.errors:
            problem = plausibility.phq9_item9(data["mood_score"], data.get("mood_item9"))
            if problem:
                self.add_error("mood_item9", problem)
        if data.get("ipledge_confirmation_number") and not data.get("ipledge_confirmed"):
            self.add_error("ipledge_confirmed", "Tick this to record the confirmation.")
        for index in range(len(self.to_acknowledge)):
            ticked, reason = data.get(f"acknowledge_{index}"), (data.get(f"acknowledge_{index}_reason") or "")
            if ticked and not reason.strip():
                self.add_error(f"acknowledge_{index}_reason", "Say what was decided about this alert.")
            elif reason.strip() and not ticked:
                self.add_error(f"acknowledge_{index}", "Tick this to acknowledge the alert.")
        dated = (
            {"date": "A visit", "pregnancy_test_specimen_date": "A specimen"}
            | {f"medication_new_{index}_start": "A medicine's first day" for index in range(MEDICINE_ROWS)}
            | {"medication_stopped_on": "A medicine's last day"}
        )
        report_implausible(self, data, self.today, dated, self.birth)
        for index in range(LAB_ROWS):
            test, value, unit = (data.get(f"lab_{index}_{name}") for name in ("test", "value", "unit"))
            if not (test and unit and value is not None):
                continue
            for field, problem in (
                (f"lab_{index}_unit", plausibility.lab_unit(test, unit)),
                (f"lab_{index}_value", plausibility.lab_value(test, float(value), unit)),
            ):
                if problem and field not in self.errors:
                    self.add_error(field, problem)
        return data

    # --- the parts of the action ---------------------------------------------------------------------

    def _pregnancy_test(self) -> VisitPregnancyTest | None:
        data = self.cleaned_data
        if not self.can_get_pregnant or data["pregnancy_test_result"] == NO_TEST:
            return None
        return VisitPregnancyTest(
            purpose=data["pregnancy_test_purpose"],
            setting=data["pregnancy_test_setting"],
            specimen_date=data["pregnancy_test_specimen_date"],
            result=data["pregnancy_test_result"],
            verified_by=data["pregnancy_test_verified_by"],
        )

    def _contraception(self) -> VisitContraception | None:
        if not self.can_get_pregnant:
            return None
        data = self.cleaned_data
        stopped = set(data["contraception_stopped"])
        return VisitContraception(
            confirmed=data["contraception_confirmed"],
            stopped=tuple(m for m in self.methods_in_use if str(m.uuid) in stopped),
            started=tuple(m for m in (data["contraception_new_0"], data["contraception_new_1"]) if m),
            start=data["contraception_start"],
        )

    def _medicines(self) -> VisitMedicines:
        data = self.cleaned_data
        stopped = set(data["medication_stopped"])
        return VisitMedicines(
            stopped=tuple(m for m in self.medications_in_use if str(m.uuid) in stopped),
            last_day=data["medication_stopped_on"] if stopped else None,
            started=tuple(
                VisitNewMedicine(data[f"medication_new_{i}_name"], data[f"medication_new_{i}_start"])
                for i in range(MEDICINE_ROWS)
                if data[f"medication_new_{i}_name"]
            ),
        )

    def medicine_rows(self) -> list[list[Any]]:
        return self.rows("medication_new", MEDICINE_ROWS, ("name", "start"))

    def _mood_screen(self) -> VisitMoodScreen:
        data = self.cleaned_data
        return VisitMoodScreen(data["mood_instrument"], data["mood_score"], data["mood_item9"])

    def _side_effects(self) -> tuple[VisitSideEffect, ...]:
        data = self.cleaned_data
        return tuple(
            VisitSideEffect(
                term=data[f"side_effect_{i}_term"],
                severity=data[f"side_effect_{i}_severity"],
                action_taken=data[f"side_effect_{i}_action_taken"] or "none",
            )
            for i in range(SIDE_EFFECT_ROWS)
            if data[f"side_effect_{i}_term"]
        )

    def _labs(self) -> tuple[VisitLab, ...]:
        data = self.cleaned_data
        return tuple(
            VisitLab(data[f"lab_{i}_test"], data[f"lab_{i}_value"], data[f"lab_{i}_unit"])
            for i in range(LAB_ROWS)
            if data[f"lab_{i}_test"]
        )

    def _acknowledgments(self) -> tuple[VisitAcknowledgment, ...]:
        data = self.cleaned_data
        return tuple(
            VisitAcknowledgment(
                code=item["code"], alert_date=item["date"], reason=data[f"acknowledge_{index}_reason"]
            )
            for index, item in enumerate(self.to_acknowledge)
            if data.get(f"acknowledge_{index}")
        )

    def acknowledgment_rows(self) -> list[tuple[Any, Any, dict[str, Any]]]:
        """(tick box, reason, banner item) of each alert to acknowledge."""
        return [
            (self[f"acknowledge_{i}"], self[f"acknowledge_{i}_reason"], item)
            for i, item in enumerate(self.to_acknowledge)
        ]

    def _prescriber_confirmation(self) -> str | None:
        data = self.cleaned_data
        return data["ipledge_confirmation_number"] if data["ipledge_confirmed"] else None

    def visit(self) -> dict[str, Any]:
        """The keyword arguments of record_monthly_visit."""
        data = self.cleaned_data
        return {
            "day": data["date"],
            "note": data["note"],
            "weight": self.weight(),
            "pregnancy_test": self._pregnancy_test(),
            "contraception": self._contraception(),
            "mood_screen": self._mood_screen(),
            "side_effects": self._side_effects(),
            "labs": self._labs(),
            "prescriber_confirmation": self._prescriber_confirmation(),
            "dose_change": self.dose_change() if data["dose_decision"] == "change" else None,
            "days_supply": data["days_supply"],
            "acknowledgments": self._acknowledgments(),
            "medicines": self._medicines(),
        }


def visit_initial(
    today: date, mg_per_day: Any, test_purpose: str | None, product_line: str
) -> dict[str, Any]:
    """Defaults of a monthly visit, bookkeeping only: today's date, the test the core says the course is at,
    the current dose and product continued, a 30-day supply. No result, setting, specimen date, verifier,
    instrument or confirmation: a person chooses each."""
    return {
        "date": today,
        "pregnancy_test_purpose": test_purpose or "",
        "dose_product": product_line,
        "contraception_start": today,
        "dose_decision": "continue",
        "dose_mg_per_day": mg_per_day,
        "dose_starts_on": today + timedelta(days=1),
        "days_supply": DEFAULT_DAYS_SUPPLY,
    }


class EnrollPatientForm(PatientForm):
    """Step 1 of enrollment: the patient (the registration form)."""


class EnrollCourseForm(WeightFields):
    """Step 2: the prescriber's category, the course and its first dose, the iPLEDGE enrollment."""

    category = forms.ChoiceField(
        label="iPLEDGE category",
        choices=[("", "Choose the category"), *PatientCategory.choices],
        help_text="Assigned by the prescriber from the patient's history; never from sex or gender.",
    )
    prescriber = StaffChoiceField(label="Prescriber", queryset=StaffUser.objects.none())
    start = forms.DateField(label="First dosing day", widget=DateInput, help_text="Planned; it can move.")
    target_mg_per_kg = forms.DecimalField(
        label="Own target (mg/kg)",
        max_digits=5,
        decimal_places=1,
        min_value=50,
        max_value=300,
        required=False,
    )
    dose_product = forms.ChoiceField(label="Product", choices=PRODUCT_LINE_CHOICES)
    dose_mg_per_day = forms.DecimalField(label="First dose (mg/day)", max_digits=5, decimal_places=1)
    dose_strength_mg = strength_field()
    enrollment_date = forms.DateField(label="Enrolled in iPLEDGE on", widget=DateInput)
    confirmation_number = TextField(label="iPLEDGE confirmation number", max_length=40, required=False)

    def __init__(
        self,
        *args: Any,
        prescribers: Any,
        needs_weight: bool,
        today: date | None = None,
        birth: date | None = None,
        practice_target: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today, self.birth = today, birth
        if practice_target is not None:
            self.fields[
                "target_mg_per_kg"
            ].help_text = (
                f"Empty: the practice's target, {practice_target:f} mg/kg today, which its settings change."
            )
        cast(StaffChoiceField, self.fields["prescriber"]).queryset = prescribers
        self.fields["weight_value"].label = "Starting weight"
        self.fields["weight_value"].required = needs_weight
        if needs_weight:
            self.fields["weight_value"].help_text = "Needed for mg/kg and the projected completion date."

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns; its stub says it may be None
        report_implausible(self, data, self.today, {"enrollment_date": "The iPLEDGE enrollment"}, self.birth)
        start = data.get("start")
        problem = (
            plausibility.first_dosing_day(start, self.today, self.birth) if start and self.today else None
        )
        if problem and "start" not in self.errors:
            self.add_error("start", problem)
        return data

    def enrollment(self) -> dict[str, Any]:
        """The keyword arguments of enroll_in_course (but the actor and the patient)."""
        data = self.cleaned_data
        product, brand = stored_product(data["dose_product"])
        return {
            "prescriber": data["prescriber"],
            "category": data["category"],
            "start": data["start"],
            "mg_per_day": data["dose_mg_per_day"],
            "product": product,
            "brand": brand,
            "strength_mg": data.get("dose_strength_mg"),
            "target_mg_per_kg": data["target_mg_per_kg"],
            "enrollment_date": data["enrollment_date"],
            "confirmation_number": data["confirmation_number"],
            "weight": self.weight(),
        }


class IpledgeEntryForm(forms.Form):
    kind = forms.ChoiceField(label="Step done in iPLEDGE", choices=_blank(IpledgeEntryKind.choices, "Choose"))
    date = forms.DateField(label="Date", widget=DateInput)
    confirmation_number = TextField(label="Confirmation number", max_length=40, required=False)


class DispenseForm(forms.Form):
    date = forms.DateField(label="Picked up on", widget=DateInput)
    days_supply = forms.IntegerField(label="Days supply", min_value=1, max_value=30)  # IPL-SUPPLY
    quantity = forms.IntegerField(label="Capsules", min_value=1, required=False)
    pharmacy = TextField(label="Pharmacy", max_length=120, required=False)
    rma = TextField(label="RMA (authorization) number", max_length=40, required=False)


class AcknowledgeForm(forms.Form):
    """A prescriber acknowledges an alert (ALERT-URGENCY), saying what was decided."""

    reason = TextField(
        label="What was decided",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: held for two weeks, recheck ordered; or: assessed, safe to continue.",
    )


class FollowUpForm(forms.Form):
    """A follow-up step of a positive pregnancy test done (IPL-PT-POSITIVE)."""

    step = forms.ChoiceField(label="Step done")
    date = forms.DateField(label="Done on", widget=DateInput)
    note = TextField(label="Note", max_length=300, required=False)

    def __init__(self, *args: Any, pending: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["step"]).choices = _blank(pending, "Choose the step")


class HoldForm(forms.Form):
    """A hold: the prescriber's days without dosing (the preview reads the same fields)."""

    start = forms.DateField(label="First day without dosing", widget=DateInput)
    end = forms.DateField(label="Last day without dosing", widget=DateInput)
    reason = TextField(label="Why the drug is held", max_length=200)


class MissedDoseForm(forms.Form):
    date = forms.DateField(
        label="Day the dose was not taken", widget=DateInput, help_text="One form per day missed."
    )


class DaysOffPreviewForm(forms.Form):
    """What the live preview reads; never saved, so nothing is required."""

    start = forms.DateField(required=False)
    end = forms.DateField(required=False)
    date = forms.DateField(required=False)
