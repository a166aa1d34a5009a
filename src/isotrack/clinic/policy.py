"""The practice's policy as the core takes it (the ⚙ conventions of reference.md, per practice)."""

from __future__ import annotations

from isotrack.clinic.models import Course, Practice
from isotrack.core import course as facts


def policy_of(practice: Practice, course: Course | None = None) -> facts.Policy:
    target = course.target_mg_per_kg if course is not None else practice.target_mg_per_kg
    return facts.Policy(
        target_mg_per_kg=float(target),
        weight_basis=practice.weight_basis,
        home_testing_permitted=practice.home_testing_permitted,
        ld_equivalence_factor=float(practice.ld_equivalence_factor),
        ipledge_2026_effective=practice.ipledge_2026_effective,
        triglycerides_high_mg_dl=float(practice.triglycerides_high_mg_dl),
        triglycerides_critical_mg_dl=float(practice.triglycerides_critical_mg_dl),
        liver_uln_u_per_l=float(practice.liver_enzyme_default_uln),
        liver_uln_multiple=float(practice.liver_enzyme_uln_multiple),
        labs_peak_days=practice.peak_labs_after_days,
    )
