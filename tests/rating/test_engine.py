"""The rating rules, table by table, with Zuora's documented examples. No database."""

from datetime import date
from decimal import Decimal

import pytest

from invoicing.rating.engine import (
    MAX_LINES_PER_DOCUMENT,
    AccountInput,
    ChargeInput,
    RatingError,
    UsageInput,
    rate_account,
)
from invoicing.rating.terms import DocumentKind

ALL = {"OneTime", "Recurring", "Usage"}
TIERS = [
    {"up_to": 100, "unit_price": "0.10", "flat_price": "0"},
    {"up_to": 1000, "unit_price": "0.08", "flat_price": "5"},
    {"up_to": None, "unit_price": "0.05", "flat_price": "0"},
]


def charge(**fields) -> ChargeInput:
    values = {
        "id": 1,
        "number": "C00000001",
        "subscription_id": 10,
        "name": "Platform",
        "charge_type": "Recurring",
        "charge_model": "FlatFee",
        "price": Decimal("100.00"),
        "quantity": Decimal("1"),
        "tiers": [],
        "billing_period": "Month",
        "billing_timing": "InAdvance",
        "effective_start": date(2026, 1, 1),
    }
    values.update(fields)
    return ChargeInput(**values)


def usage_charge(**fields) -> ChargeInput:
    values = {
        "id": 2,
        "number": "C00000002",
        "name": "Storage",
        "charge_type": "Usage",
        "charge_model": "PerUnit",
        "price": Decimal("0.25"),
        "billing_timing": "InArrears",
    }
    values.update(fields)
    return charge(**values)


def one_time_charge(**fields) -> ChargeInput:
    return charge(charge_type="OneTime", billing_period="", **fields)


def rate(*charges, target, bcd=1, currency="USD", usage=(), types=ALL):
    account = AccountInput(
        id=7, currency=currency, bill_cycle_day=bcd, charges=list(charges), usage=list(usage)
    )
    return rate_account(account, target_date=target, charge_types=types)


def lines_of(result):
    return [(line.service_start, line.service_end, line.amount) for line in result.document.lines]


def test_billing_in_advance_bills_april_in_march():
    result = rate(charge(charged_through=date(2026, 3, 31)), target=date(2026, 4, 30))
    assert lines_of(result) == [(date(2026, 4, 1), date(2026, 4, 30), Decimal("100.00"))]
    assert result.charged_through == {1: date(2026, 4, 30)}


def test_bill_cycle_day_15_prorates_a_march_1_start_then_bills_full_periods():
    result = rate(charge(effective_start=date(2026, 3, 1)), bcd=15, target=date(2026, 3, 15))
    # March 1–14 over February 15–March 14 (28 days): 14/28 of 100.00.
    assert lines_of(result) == [
        (date(2026, 3, 1), date(2026, 3, 14), Decimal("50.00")),
        (date(2026, 3, 15), date(2026, 4, 14), Decimal("100.00")),
    ]
    assert result.document.lines[0].description == "Platform (prorated 14/28 days)"


def test_a_quarterly_charge_in_arrears_with_target_july_1_bills_april_to_june():
    quarterly = charge(
        billing_period="Quarter",
        billing_timing="InArrears",
        price=Decimal("300.00"),
        effective_start=date(2026, 4, 1),
    )
    assert lines_of(rate(quarterly, target=date(2026, 7, 1))) == [
        (date(2026, 4, 1), date(2026, 6, 30), Decimal("300.00"))
    ]
    assert rate(quarterly, target=date(2026, 6, 29)).document is None


def test_in_arrears_bills_a_period_on_its_last_day():
    monthly = charge(billing_timing="InArrears", effective_start=date(2026, 4, 1))
    assert lines_of(rate(monthly, target=date(2026, 4, 30))) == [
        (date(2026, 4, 1), date(2026, 4, 30), Decimal("100.00"))
    ]


def test_bill_cycle_day_31_across_february():
    result = rate(charge(effective_start=date(2026, 1, 31)), bcd=31, target=date(2026, 3, 31))
    assert lines_of(result) == [
        (date(2026, 1, 31), date(2026, 2, 27), Decimal("100.00")),
        (date(2026, 2, 28), date(2026, 3, 30), Decimal("100.00")),
        (date(2026, 3, 31), date(2026, 4, 29), Decimal("100.00")),
    ]


@pytest.mark.parametrize(
    "currency, price, expected",
    [
        ("JPY", Decimal("1000"), Decimal("467")),  # 14/30 of 1000 = 466.67 → 467 yen
        ("USD", Decimal("10.00"), Decimal("4.67")),
        ("BHD", Decimal("10.000"), Decimal("4.667")),
    ],
)
def test_proration_rounds_half_up_to_the_currency_minor_unit(currency, price, expected):
    # April has 30 days; a charge ending April 14 bills 14 of them.
    prorated = charge(
        price=price, effective_start=date(2026, 4, 1), effective_end=date(2026, 4, 14)
    )
    result = rate(prorated, currency=currency, target=date(2026, 4, 30))
    assert lines_of(result) == [(date(2026, 4, 1), date(2026, 4, 14), expected)]
    assert result.document.amount == expected


def test_a_mid_period_end_is_prorated_and_stops_billing():
    ending = charge(effective_start=date(2026, 1, 1), effective_end=date(2026, 2, 14))
    result = rate(ending, target=date(2026, 6, 30))
    assert lines_of(result) == [
        (date(2026, 1, 1), date(2026, 1, 31), Decimal("100.00")),
        (date(2026, 2, 1), date(2026, 2, 14), Decimal("50.00")),  # 14/28
    ]
    assert result.charged_through == {1: date(2026, 2, 14)}
    again = rate(
        charge(effective_end=date(2026, 2, 14), charged_through=date(2026, 2, 14)),
        target=date(2026, 6, 30),
    )
    assert again.document is None


def test_per_unit_recurring_multiplies_price_and_quantity():
    seats = charge(charge_model="PerUnit", price=Decimal("12.50"), quantity=Decimal("3"))
    result = rate(seats, target=date(2026, 1, 1))
    line = result.document.lines[0]
    assert (line.quantity, line.unit_price, line.amount) == (
        Decimal("3"),
        Decimal("12.50"),
        Decimal("37.50"),
    )


def test_one_time_charges_bill_once_on_or_after_their_start():
    setup = one_time_charge(price=Decimal("250"), effective_start=date(2026, 2, 10))
    assert rate(setup, target=date(2026, 2, 9)).document is None
    result = rate(setup, target=date(2026, 2, 10))
    assert lines_of(result) == [(date(2026, 2, 10), date(2026, 2, 10), Decimal("250.00"))]
    assert result.charged_through == {1: date(2026, 2, 10)}
    billed = one_time_charge(charged_through=date(2026, 2, 10))
    assert rate(billed, target=date(2027, 1, 1)).document is None


def test_excluded_charge_types_are_left_alone():
    result = rate(
        charge(),
        one_time_charge(id=3, price=Decimal("5")),
        target=date(2026, 1, 1),
        types={"OneTime"},
    )
    assert [line.charge_id for line in result.document.lines] == [3]
    assert result.charged_through == {3: date(2026, 1, 1)}


def usage(id, day, quantity, charge_id=2):
    return UsageInput(id=id, charge_id=charge_id, quantity=Decimal(quantity), usage_date=day)


def test_usage_is_summed_per_ended_period_and_remembers_its_records():
    records = [
        usage(1, date(2026, 1, 5), "10"),
        usage(2, date(2026, 1, 20), "30"),
        usage(3, date(2026, 2, 3), "8"),
        usage(4, date(2026, 3, 1), "99"),  # March has not ended on the target date
    ]
    result = rate(usage_charge(), usage=records, target=date(2026, 3, 1))
    assert lines_of(result) == [
        (date(2026, 1, 1), date(2026, 1, 31), Decimal("10.00")),
        (date(2026, 2, 1), date(2026, 2, 28), Decimal("2.00")),
    ]
    assert result.usage_line_index == {1: 0, 2: 0, 3: 1}
    assert [line.quantity for line in result.document.lines] == [Decimal("40"), Decimal("8")]
    assert result.charged_through == {2: date(2026, 2, 28)}


def test_tiered_and_volume_price_the_same_usage_differently():
    records = [usage(1, date(2026, 1, 10), "1500")]
    tiered = rate(
        usage_charge(charge_model="Tiered", tiers=TIERS), usage=records, target=date(2026, 2, 1)
    )
    volume = rate(
        usage_charge(charge_model="Volume", tiers=TIERS), usage=records, target=date(2026, 2, 1)
    )
    # Graduated: 100 × 0.10 + 900 × 0.08 + 5 + 500 × 0.05 = 10 + 72 + 5 + 25.
    assert tiered.document.amount == Decimal("112.00")
    # Volume: all 1,500 units in the open tier: 1,500 × 0.05.
    assert volume.document.amount == Decimal("75.00")
    assert volume.document.lines[0].unit_price == Decimal("0.05")
    assert tiered.document.lines[0].unit_price == Decimal("0.074667")


def test_usage_late_for_an_already_billed_period_is_left_pending():
    result = rate(
        usage_charge(charged_through=date(2026, 1, 31)),
        usage=[usage(1, date(2026, 1, 20), "5"), usage(2, date(2026, 2, 2), "4")],
        target=date(2026, 2, 28),
    )
    assert result.late_usage_ids == (1,)
    assert result.usage_line_index == {2: 0}


def test_a_net_negative_account_gets_a_credit_memo_with_positive_amounts():
    result = rate(
        charge(price=Decimal("30.00")),
        charge(id=3, name="Goodwill credit", price=Decimal("-50.00")),
        target=date(2026, 1, 1),
    )
    document = result.document
    assert document.kind == DocumentKind.CREDIT_MEMO
    assert document.amount == Decimal("20.00")
    assert [line.amount for line in document.lines] == [Decimal("-30.00"), Decimal("50.00")]


def test_a_zero_total_is_still_an_invoice():
    result = rate(
        charge(price=Decimal("50.00")),
        charge(id=3, price=Decimal("-50.00")),
        target=date(2026, 1, 1),
    )
    assert result.document.kind == DocumentKind.INVOICE
    assert result.document.amount == Decimal("0.00")


def test_nothing_due_gives_no_document():
    assert rate(charge(effective_start=date(2026, 5, 1)), target=date(2026, 4, 30)).document is None


@pytest.mark.parametrize(
    "account_change, charges, usage_records, code",
    [
        ({"currency": "XYZ"}, [charge()], [], "currency_unknown"),
        ({"bcd": 32}, [charge()], [], "invalid_bill_cycle_day"),
        (
            {},
            [usage_charge(charge_model="Tiered", tiers=[{"up_to": 5}])],
            [usage(1, date(2026, 1, 2), "1")],
            "invalid_tiers",
        ),
        ({}, [charge(billing_period="Fortnight")], [], "invalid_charge"),
        (
            {},
            [usage_charge(effective_start=date(2026, 2, 1))],
            [usage(1, date(2026, 1, 2), "1")],
            "usage_outside_charge",
        ),
    ],
)
def test_an_account_that_cannot_be_rated_raises_a_coded_error(
    account_change, charges, usage_records, code
):
    with pytest.raises(RatingError) as error:
        rate(*charges, usage=usage_records, target=date(2026, 3, 1), **account_change)
    assert error.value.code == code
    assert str(error.value)


def test_invalid_tiers_name_the_charge_and_its_subscription():
    bad = usage_charge(charge_model="Volume", tiers=[{"up_to": 10, "unit_price": "1"}])
    with pytest.raises(RatingError) as error:
        rate(bad, usage=[usage(1, date(2026, 1, 2), "1")], target=date(2026, 3, 1))
    assert (error.value.charge_id, error.value.subscription_id) == (2, 10)
    assert "C00000002 has invalid tiers: The last tier must be open" in error.value.message


def test_more_than_20000_lines_is_an_error_for_the_account():
    weekly = charge(billing_period="Week", effective_start=date(1600, 1, 1))
    with pytest.raises(RatingError) as error:
        rate(weekly, target=date(2026, 1, 1))
    assert error.value.code == "too_many_lines"
    assert f"{MAX_LINES_PER_DOCUMENT:,}" in error.value.message


def test_exactly_20000_lines_still_fit():
    weekly = charge(billing_period="Week", effective_start=date(2000, 1, 3))
    target = date(2000, 1, 3).fromordinal(date(2000, 1, 3).toordinal() + 7 * 19_999)
    assert len(rate(weekly, target=target).document.lines) == MAX_LINES_PER_DOCUMENT


def test_usage_after_an_extended_end_bills_from_where_billing_stopped():
    # Billed January 1–15 while the charge ended on the 15th; the end was then removed.
    extended = usage_charge(charged_through=date(2026, 1, 15))
    result = rate(extended, usage=[usage(1, date(2026, 1, 20), "4")], target=date(2026, 2, 1))
    assert lines_of(result) == [(date(2026, 1, 16), date(2026, 1, 31), Decimal("1.00"))]
