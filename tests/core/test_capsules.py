"""Capsule plans: fewest capsules, two doses as even as possible, 1-30 day fills, impossible doses named."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isotrack.core import capsule_plan
from isotrack.core.dose import CAPSULE_STRENGTHS_MG

PLANS = [
    # (mg/day, product, first dose, second dose)
    (40, "conventional", (40,), ()),
    (60, "conventional", (30,), (30,)),
    (50, "conventional", (30,), (20,)),
    (70, "conventional", (40,), (30,)),
    (80, "conventional", (40,), (40,)),
    (120, "conventional", (40, 40), (40,)),  # fewest capsules first, then the most even split
    (10, "conventional", (10,), ()),
    (25, "absorica", (25,), ()),
    (75, "absorica", (40,), (35,)),
    (64, "micronized", (32,), (32,)),
    (40, "micronized", (20,), (20,)),
    (36, "micronized", (20,), (16,)),
]


@pytest.mark.parametrize(("mg", "product", "first", "second"), PLANS)
def test_it_plans_the_fewest_capsules_split_evenly(
    mg: int, product: str, first: tuple[int, ...], second: tuple[int, ...]
) -> None:
    plan = capsule_plan(mg, product)
    assert plan.possible
    assert (sum(plan.first_dose_mg), sum(plan.second_dose_mg)) == (sum(first), sum(second))
    assert len(plan.first_dose_mg) + len(plan.second_dose_mg) == len(first) + len(second)


def test_it_counts_the_capsules_of_a_30_day_fill() -> None:
    assert capsule_plan(70, "conventional").fill(30) == {30: 30, 40: 30}
    assert capsule_plan(60, "conventional").fill(7) == {30: 14}


@pytest.mark.parametrize("days", [0, 31, -1])
def test_it_refuses_a_fill_beyond_30_days(days: int) -> None:
    with pytest.raises(ValueError, match="IPL-SUPPLY"):
        capsule_plan(40, "conventional").fill(days)


@pytest.mark.parametrize(
    ("mg", "product", "lower", "higher"),
    [
        (45, "conventional", 40, 50),
        (22.5, "conventional", 20, 30),
        (15, "absorica", 10, 20),
        (12, "micronized", 8, 16),
    ],
)
def test_it_reports_an_impossible_dose_instead_of_rounding(
    mg: float, product: str, lower: int, higher: int
) -> None:
    plan = capsule_plan(mg, product)
    assert not plan.possible
    assert plan.problem is not None and "not a sum of the available capsule strengths" in plan.problem
    assert (plan.nearest_lower_mg, plan.nearest_higher_mg) == (lower, higher)
    with pytest.raises(ValueError):
        plan.fill(30)


def test_it_uses_the_strengths_given() -> None:
    plan = capsule_plan(30, "conventional", strengths=[10, 20, 40])  # Amnesteem has no 30 mg capsule
    assert plan.capsules_per_day == {10: 1, 20: 1}


@pytest.mark.parametrize("mg", [0, -10, 5000])
def test_it_rejects_a_dose_out_of_range(mg: float) -> None:
    with pytest.raises(ValueError):
        capsule_plan(mg, "conventional")


def brute_force_fewest(mg: int, strengths: tuple[int, ...]) -> int | None:
    for count in range(1, 12):
        if any(sum(c) == mg for c in itertools.combinations_with_replacement(strengths, count)):
            return count
    return None


@given(st.sampled_from(sorted(CAPSULE_STRENGTHS_MG)), st.integers(1, 200))
def test_a_capsule_plan_sums_to_the_dose_with_the_fewest_capsules(product: str, mg: int) -> None:
    strengths = CAPSULE_STRENGTHS_MG[product]
    plan = capsule_plan(mg, product)
    fewest = brute_force_fewest(mg, strengths)
    assert plan.possible == (fewest is not None)
    if plan.possible:
        assert sum(plan.first_dose_mg) + sum(plan.second_dose_mg) == mg
        assert len(plan.first_dose_mg) + len(plan.second_dose_mg) == fewest
        assert sum(plan.first_dose_mg) >= sum(plan.second_dose_mg)
        assert sum(plan.fill(30).values()) == 30 * fewest
