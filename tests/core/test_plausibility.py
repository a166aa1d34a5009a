"""core.plausibility: the limits of a clinic's records, as a table."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isotrack.core import plausibility

TODAY = dt.date(2026, 12, 1)
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("problem", "refused"),
    [
        (plausibility.not_after_today(TODAY, TODAY, "A visit"), False),
        (plausibility.not_after_today(TODAY + DAY, TODAY, "A visit"), True),
        (plausibility.not_before_birth(dt.date(2004, 3, 1), dt.date(2004, 3, 1), "A weight"), False),
        (plausibility.not_before_birth(dt.date(2004, 2, 29), dt.date(2004, 3, 1), "A weight"), True),
        (plausibility.not_before_birth(dt.date(1990, 1, 1), None, "A weight"), False),
        (plausibility.course_start(TODAY - 730 * DAY, TODAY), False),
        (plausibility.course_start(TODAY - 731 * DAY, TODAY), True),
        (plausibility.course_start(TODAY + 366 * DAY, TODAY), False),
        (plausibility.course_start(TODAY + 367 * DAY, TODAY), True),
        (plausibility.course_start_warning(TODAY - 183 * DAY, TODAY), False),
        (plausibility.course_start_warning(TODAY - 184 * DAY, TODAY), True),
        (plausibility.birth_date(TODAY, TODAY), False),
        (plausibility.birth_date(TODAY + DAY, TODAY), True),
        (plausibility.birth_date(dt.date(1899, 12, 31), TODAY), True),
        (plausibility.mg_per_day(1), False),
        (plausibility.mg_per_day(300), False),
        (plausibility.mg_per_day(0.5), True),
        (plausibility.mg_per_day(300.1), True),
        (plausibility.weight_kg(20), False),
        (plausibility.weight_kg(19.99), True),
        (plausibility.weight_kg(300.01), True),
        (plausibility.lab_result("triglycerides", 6.0, "mmol/L"), False),
        (plausibility.lab_result("triglycerides", 99999, "mg/dL"), True),
        (plausibility.lab_result("triglycerides", 140, "U/L"), True),
        (plausibility.lab_result("alt", 20, "mg/dL"), True),
        (plausibility.lab_result("alt", 0, "U/L"), True),
        (plausibility.lab_result("ferritin", 99999, "ng/mL"), False),  # kept, not judged
    ],
)
def test_each_limit_refuses_exactly_past_it(problem, refused) -> None:
    assert (problem is not None) is refused
    if problem is not None:
        assert problem.endswith(".")  # one sentence


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_a_dose_is_refused_exactly_outside_1_to_300_mg(mg: float) -> None:
    assert (plausibility.mg_per_day(mg) is None) == (1 <= mg <= 300)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_a_clinical_date_is_refused_exactly_after_today(day: dt.date) -> None:
    assert (plausibility.not_after_today(day, TODAY, "A result") is None) == (day <= TODAY)


@given(
    st.sampled_from(["triglycerides", "alt", "ast", "total_cholesterol"]),
    st.floats(min_value=-10, max_value=100_000, allow_nan=False),
    st.sampled_from(["mg/dL", "mmol/L", "U/L"]),
)
def test_a_lab_result_is_refused_for_its_unit_first_then_for_its_value(
    test: str, value: float, unit: str
) -> None:
    unit_problem = plausibility.lab_unit(test, unit)
    assert plausibility.lab_result(test, value, unit) == (
        unit_problem or plausibility.lab_value(test, value, unit)
    )
    if unit_problem is not None:
        assert plausibility.lab_value(test, value, unit) is None and "is not a unit of" in unit_problem


@given(score=st.integers(0, 27), item9=st.one_of(st.none(), st.integers(0, 3)))
def test_a_phq9_is_refused_exactly_when_its_score_is_below_its_item_9(score: int, item9: int | None) -> None:
    problem = plausibility.phq9_item9(score, item9)
    assert (problem is not None) == (item9 is not None and score < item9)
    if problem:
        assert f"score of {score}" in problem and f"({item9})" in problem


@given(
    day=st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)),
    visit=st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)),
)
def test_a_medicine_day_is_refused_exactly_after_the_visit(day: dt.date, visit: dt.date) -> None:
    problem = plausibility.not_after_visit(day, visit, "A medicine's first day")
    assert (problem is not None) == (day > visit)
    if problem:
        assert problem.startswith("A medicine's first day cannot be after the visit") and str(day) in problem
