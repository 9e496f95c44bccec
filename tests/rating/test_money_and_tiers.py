import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import round_amount, round_share
from core.tiers import InvalidTiers, Tier, parse_tiers


@pytest.mark.parametrize(
    "value, currency, expected",
    [
        ("10.005", "USD", "10.01"),
        ("10.004", "USD", "10.00"),
        ("-10.005", "USD", "-10.01"),
        ("1234.5", "JPY", "1235"),
        ("1234.49", "JPY", "1234"),
        ("1.0005", "BHD", "1.001"),
        ("2.125", "EUR", "2.13"),
    ],
)
def test_amounts_round_half_up_to_the_currency_minor_unit(value, currency, expected):
    assert str(round_amount(Decimal(value), currency)) == expected


def test_an_unknown_currency_cannot_be_rounded():
    with pytest.raises(ValueError, match="Unknown currency 'XYZ'"):
        round_amount(Decimal("1"), "XYZ")


def test_tiers_parse_to_decimals():
    tiers = parse_tiers(
        [
            {"up_to": 100, "unit_price": "0.10", "flat_price": "5"},
            {"up_to": None, "unit_price": "0.05"},
        ]
    )
    assert tiers == (
        Tier(up_to=Decimal(100), unit_price=Decimal("0.10"), flat_price=Decimal(5)),
        Tier(up_to=None, unit_price=Decimal("0.05"), flat_price=Decimal(0)),
    )


@pytest.mark.parametrize(
    "raw, message",
    [
        ([], "non-empty list"),
        ("100", "non-empty list"),
        ([{"up_to": 100, "unit_price": "1"}], "last tier must be open"),
        ([{"up_to": None, "unit_price": "1"}, {"up_to": None}], "is not the last tier"),
        (
            [{"up_to": 100, "unit_price": "1"}, {"up_to": 50}, {"up_to": None}],
            "tiers must be sorted",
        ),
        ([{"up_to": None, "unit_price": "-1"}], "negative price"),
        ([{"up_to": None, "unit_price": 0.1}], "not 0.1"),
        ([{"up_to": None, "unit_price": "abc"}], "is not a number"),
        ([{"up_to": None, "unit_price": "1", "price": "2"}], "unknown keys: price"),
        ([{"up_to": 0, "unit_price": "1"}, {"up_to": None}], "must be greater"),
    ],
)
def test_malformed_tiers_are_refused_with_a_reason(raw, message):
    with pytest.raises(InvalidTiers, match=message):
        parse_tiers(raw)


# The fast paths (issue 14) round exactly as the definition does: the exact value, half-up
# (away from zero on a tie) to the minor unit. The oracle is written out here, independently.
PLACES = {"USD": 2, "JPY": 0, "BHD": 3, "EUR": 2}
_amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=6, allow_nan=False
)


def half_up(value: Fraction, currency: str) -> str:
    scaled = abs(value) * 10 ** PLACES[currency]
    units = math.floor(scaled + Fraction(1, 2))
    return str(Decimal(units if value >= 0 else -units).scaleb(-PLACES[currency]))


@given(value=_amounts, currency=st.sampled_from(sorted(PLACES)))
def test_rounding_a_decimal_is_rounding_its_exact_value(value, currency):
    assert str(round_amount(value, currency)) == half_up(Fraction(value), currency)


@given(
    value=_amounts,
    days=st.integers(min_value=1, max_value=366),
    extra=st.integers(min_value=0, max_value=366),
    currency=st.sampled_from(sorted(PLACES)),
)
def test_a_prorated_share_is_rounded_from_its_exact_value(value, days, extra, currency):
    exact = Fraction(value) * Fraction(days, days + extra)
    assert str(round_share(value, days, days + extra, currency)) == half_up(exact, currency)
