"""Which medication is isotretinoin (``core.products``): by RxNorm code, by the ingredient's name, by brand,
in any case and spacing; the brand tells the product line; nothing else is taken for it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isotrack.core.products import BRANDS, CLINICAL_DRUGS, RXNORM, Coding, recognise


@pytest.mark.parametrize(
    ("codings", "texts", "by", "product", "mg"),
    [
        ([Coding(RXNORM, "6064")], ["isotretinoin 20 MG"], "RxNorm 6064", None, 20.0),
        ([Coding(RXNORM, "197845")], [], "RxNorm 197845", "conventional", 40),
        (
            [Coding(RXNORM, "1547561", "isotretinoin 25 MG Oral Capsule")],
            [],
            "RxNorm 1547561",
            "conventional",
            25,
        ),
        ([Coding(RXNORM, "999", "Absorica LD 32 MG Oral Capsule")], [], "Absorica LD", "micronized", 32.0),
        ([], ["ABSORICA 35 mg capsule"], "Absorica", "conventional", 35.0),
        ([], ["absorica  ld 8mg"], "Absorica LD", "micronized", 8.0),
        ([], ["Claravis 40 MG Oral Capsule [Claravis]"], "Claravis", "conventional", 40.0),
        ([], ["ISOtretinoin 10 mg"], "isotretinoin", None, 10.0),
        ([], ["Zenatane"], "Zenatane", "conventional", None),
        ([Coding("http://snomed.info/sct", "6064", "Myorisan 30 MG")], [], "Myorisan", "conventional", 30.0),
        ([], ["ISOTRETINOIN40MG CAP"], "isotretinoin", None, 40.0),  # run together, as some catalogues write
        ([], ["isotretinoin_40mg"], "isotretinoin", None, 40.0),
        ([], ["Isotretinoinum 20 mg"], "isotretinoin", None, 20.0),
        ([], ["Claravis40mg"], "Claravis", "conventional", 40.0),
        ([], ["AMNESTEEM 40MG"], "Amnesteem", "conventional", 40.0),
        ([], ["AbsoricaLD 32mg"], "Absorica LD", "micronized", 32.0),
        ([], ["Absorica-LD 16 mg"], "Absorica LD", "micronized", 16.0),
        ([], ["Absorica L.D. 24 mg"], "Absorica LD", "micronized", 24.0),
        ([], ["Absorica_LD"], "Absorica LD", "micronized", None),
    ],
)
def test_an_order_is_isotretinoin_by_code_ingredient_or_brand(codings, texts, by, product, mg):
    found = recognise(codings, texts)
    assert found is not None and (found.by, found.product, found.strength_mg) == (by, product, mg)


@pytest.mark.parametrize(
    ("codings", "texts"),
    [
        ([Coding("http://snomed.info/sct", "6064")], []),  # the number under another system
        ([Coding(RXNORM, "10753", "tretinoin")], ["Tretinoin 0.025 % Topical Cream"]),
        ([], ["Acitretin 25 MG Oral Capsule"]),
        ([], ["Absoricant"]),  # a word that starts like a brand
        ([], [None, ""]),
    ],
)
def test_nothing_else_is_taken_for_isotretinoin(codings, texts):
    assert recognise(codings, texts) is None


@given(
    st.sampled_from(BRANDS),
    st.sampled_from([str.lower, str.upper, str.title, lambda name: name]),
    st.text(alphabet=" ,;()[]-_0123456789", max_size=8),
    st.text(alphabet=" ,;()[]-_0123456789", max_size=8),
)
def test_a_brand_in_any_case_against_any_punctuation_or_digit_names_its_product_line(
    brand, case, before, after
):
    name, product = brand
    found = recognise([], [f"{before}{case(name)}{after}"])  # nothing between: "Claravis40mg", "(ZENATANE)"
    assert found is not None and (found.by, found.product) == (name, product)


@given(st.sampled_from(sorted(CLINICAL_DRUGS)))
def test_every_clinical_drug_names_its_strength(code):
    found = recognise([Coding(RXNORM, code)])
    assert found is not None and found.strength_mg == CLINICAL_DRUGS[code]
