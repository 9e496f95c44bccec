"""Credit back (DESIGN §5): what was billed after a charge's last billable day is credited."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from invoicing.rating.engine import BilledLine, LineDraft
from invoicing.rating.terms import DocumentKind
from tests.rating.test_engine import charge, one_time_charge, rate, usage, usage_charge
from tests.rating.test_properties import signed_lines


def billed(id, start, end, amount, *, quantity="1", unit_price=None, **fields) -> BilledLine:
    return BilledLine(
        id=id,
        service_start=start,
        service_end=end,
        quantity=Decimal(quantity),
        unit_price=Decimal(amount) if unit_price is None else Decimal(unit_price),
        amount=Decimal(amount),
        **fields,
    )


def lines_of(result):
    """(charge, first day, last day, amount) of each line, signed as rated (a credit memo turns
    its lines' signs)."""
    return [
        (line.charge_id, line.service_start, line.service_end, line.amount)
        for line in signed_lines(result)
    ]


def credits_of(result):
    """(credited line, first day, last day, amount) of each credit line, signed as rated."""
    return [
        (line.credits, line.service_start, line.service_end, line.amount)
        for line in signed_lines(result)
        if line.credits is not None
    ]


APRIL = billed(501, date(2026, 4, 1), date(2026, 4, 30), "100.00")


def test_the_april_example_credits_the_second_half_of_april():
    # $100 a month in advance, bill cycle day 1, April billed, canceled from April 16.
    canceled = charge(
        effective_end=date(2026, 4, 15),
        canceled_on=date(2026, 4, 16),
        charged_through=date(2026, 4, 30),
        billed_lines=(APRIL,),
    )
    result = rate(canceled, target=date(2026, 5, 1))
    assert signed_lines(result) == [
        LineDraft(
            charge_id=1,
            subscription_id=10,
            charge_type="Recurring",
            description="Credit: Platform, 2026-04-16 – 2026-04-30, 15/30 days",
            service_start=date(2026, 4, 16),
            service_end=date(2026, 4, 30),
            quantity=Decimal("1"),
            unit_price=Decimal("100.00"),
            amount=Decimal("-50.00"),
            credits=501,
        ),
    ]
    assert result.document.kind == DocumentKind.CREDIT_MEMO
    assert result.document.amount == Decimal("50.00")
    assert result.charged_through == {1: date(2026, 4, 15)}


@pytest.mark.parametrize(
    "fields, line, last, expected",
    [
        # Annual, $1,200 billed for 2026, canceled from April 1: 275 of 365 days.
        (
            {"billing_period": "Annual", "price": Decimal("1200.00")},
            billed(1, date(2026, 1, 1), date(2026, 12, 31), "1200.00"),
            date(2026, 3, 31),
            (date(2026, 4, 1), date(2026, 12, 31), Decimal("-904.11"), "275/365"),
        ),
        # Quarterly, $300 for April–June (91 days), canceled from May 16: 46 days.
        (
            {"billing_period": "Quarter", "price": Decimal("300.00")},
            billed(1, date(2026, 4, 1), date(2026, 6, 30), "300.00"),
            date(2026, 5, 15),
            (date(2026, 5, 16), date(2026, 6, 30), Decimal("-151.65"), "46/91"),
        ),
        # Weekly from Monday January 5: the week of April 6–12, canceled from April 10.
        (
            {
                "billing_period": "Week",
                "price": Decimal("70.00"),
                "effective_start": date(2026, 1, 5),
            },
            billed(1, date(2026, 4, 6), date(2026, 4, 12), "70.00"),
            date(2026, 4, 9),
            (date(2026, 4, 10), date(2026, 4, 12), Decimal("-30.00"), "3/7"),
        ),
        # Bill cycle day 15: the period March 15–April 14 (31 days), ended on March 31.
        (
            {"effective_start": date(2026, 3, 15)},
            billed(1, date(2026, 3, 15), date(2026, 4, 14), "100.00"),
            date(2026, 3, 31),
            (date(2026, 4, 1), date(2026, 4, 14), Decimal("-45.16"), "14/31"),
        ),
    ],
    ids=["Annual", "Quarter", "Week", "bill cycle day 15"],
)
def test_credits_prorate_over_the_full_period_of_the_charges_grid(fields, line, last, expected):
    bcd = 15 if fields.get("effective_start") == date(2026, 3, 15) else 1
    ended = charge(
        **fields, effective_end=last, charged_through=line.service_end, billed_lines=(line,)
    )
    result = rate(ended, bcd=bcd, target=date(2027, 1, 1))
    first, end, amount, days = expected
    assert credits_of(result) == [(1, first, end, amount)]
    assert result.document.lines[0].description.endswith(f", {days} days")
    assert result.charged_through == {1: last}


def test_billing_several_periods_in_advance_then_canceling_credits_each():
    months = (
        billed(11, date(2026, 4, 1), date(2026, 4, 30), "100.00"),
        billed(12, date(2026, 5, 1), date(2026, 5, 31), "100.00"),
        billed(13, date(2026, 6, 1), date(2026, 6, 30), "100.00"),
    )
    canceled = charge(
        canceled_on=date(2026, 4, 16), charged_through=date(2026, 6, 30), billed_lines=months
    )
    result = rate(canceled, target=date(2026, 4, 16))
    assert credits_of(result) == [
        (11, date(2026, 4, 16), date(2026, 4, 30), Decimal("-50.00")),
        (12, date(2026, 5, 1), date(2026, 5, 31), Decimal("-100.00")),
        (13, date(2026, 6, 1), date(2026, 6, 30), Decimal("-100.00")),
    ]
    assert [line.description for line in result.document.lines][1:] == [
        "Credit: Platform, 2026-05-01 – 2026-05-31, 31/31 days",
        "Credit: Platform, 2026-06-01 – 2026-06-30, 30/30 days",
    ]
    assert result.document.amount == Decimal("250.00")


def test_a_cancellation_before_the_start_credits_everything_and_clears_the_cursor():
    future = charge(
        effective_start=date(2026, 5, 1),
        canceled_on=date(2026, 4, 20),
        charged_through=date(2026, 5, 31),
        billed_lines=(billed(7, date(2026, 5, 1), date(2026, 5, 31), "100.00"),),
    )
    result = rate(future, target=date(2026, 4, 30))
    assert credits_of(result) == [(7, date(2026, 5, 1), date(2026, 5, 31), Decimal("-100.00"))]
    assert result.charged_through == {1: None}


def test_a_cancellation_dated_after_the_target_date_waits_for_a_run_that_reaches_it():
    canceled = charge(
        canceled_on=date(2026, 4, 16), charged_through=date(2026, 4, 30), billed_lines=(APRIL,)
    )
    early = rate(canceled, target=date(2026, 4, 15))
    assert (early.document, early.charged_through) == (None, {})
    assert credits_of(rate(canceled, target=date(2026, 4, 16))) == [
        (501, date(2026, 4, 16), date(2026, 4, 30), Decimal("-50.00"))
    ]


def test_a_charge_billed_exactly_through_its_last_billable_day_does_nothing():
    done = charge(
        canceled_on=date(2026, 5, 1), charged_through=date(2026, 4, 30), billed_lines=(APRIL,)
    )
    result = rate(done, target=date(2026, 12, 31))
    assert (result.document, result.charged_through) == (None, {})


CANCELED_DAYS = (date(2026, 4, 16), date(2026, 4, 30))


@pytest.mark.parametrize(
    "line, expected",
    [
        # Untouched: the prorated half.
        (APRIL, Decimal("-50.00")),
        # Already credited in part (for other days): only what is left.
        (replace(APRIL, credited=Decimal("-70.00")), Decimal("-30.00")),
        # Credited in full: nothing left, no line.
        (replace(APRIL, credited=Decimal("-100.00")), None),
        # A line billed for less than the proration would credit (a discount, a rounding).
        (replace(APRIL, amount=Decimal("40.00")), Decimal("-40.00")),
        # An empty line, or a free one.
        (replace(APRIL, amount=Decimal("0.00")), None),
    ],
)
def test_a_credit_never_exceeds_what_its_line_has_left_to_credit(line, expected):
    canceled = charge(
        canceled_on=date(2026, 4, 16), charged_through=date(2026, 4, 30), billed_lines=(line,)
    )
    result = rate(canceled, target=date(2026, 5, 1))
    credits = [] if result.document is None else credits_of(result)
    assert credits == ([] if expected is None else [(501, *CANCELED_DAYS, expected)])
    assert result.charged_through == {1: date(2026, 4, 15)}  # moved back all the same


def test_a_second_cancellation_credits_only_the_days_still_billed():
    # April 16–30 was credited (-50.00) and the cursor moved back to April 15; now the end moves
    # to April 10.
    once = replace(APRIL, credited=Decimal("-50.00"), credited_from=date(2026, 4, 16))
    earlier = charge(
        effective_end=date(2026, 4, 10), charged_through=date(2026, 4, 15), billed_lines=(once,)
    )
    result = rate(earlier, target=date(2026, 5, 1))
    assert credits_of(result) == [(501, date(2026, 4, 11), date(2026, 4, 15), Decimal("-16.67"))]


def test_days_credited_then_billed_again_are_not_credited_twice():
    # April billed, credited from April 16, billed again from April 16 (the end was lifted), and
    # now ended on April 20: only the second line has days after April 20 still billed.
    first = replace(APRIL, credited=Decimal("-50.00"), credited_from=date(2026, 4, 16))
    again = billed(502, date(2026, 4, 16), date(2026, 4, 30), "50.00")
    ended = charge(
        effective_end=date(2026, 4, 20),
        charged_through=date(2026, 4, 30),
        billed_lines=(first, again),
    )
    assert credits_of(rate(ended, target=date(2026, 5, 1))) == [
        (502, date(2026, 4, 21), date(2026, 4, 30), Decimal("-33.33"))
    ]


def test_a_billed_line_spanning_two_periods_is_credited_period_by_period():
    two_months = billed(501, date(2026, 4, 1), date(2026, 5, 31), "200.00")
    canceled = charge(
        canceled_on=date(2026, 4, 16), charged_through=date(2026, 5, 31), billed_lines=(two_months,)
    )
    result = rate(canceled, target=date(2026, 5, 1))
    assert credits_of(result) == [(501, date(2026, 4, 16), date(2026, 5, 31), Decimal("-150.00"))]
    assert result.document.lines[0].description == (
        "Credit: Platform, 2026-04-16 – 2026-05-31, 15/30 + 31/31 days"
    )


def test_a_quantity_change_credits_the_old_terms_and_bills_the_successor_at_the_new_ones():
    # 3 seats at $10 billed for April; from April 16 there are 5, as a successor charge.
    old = charge(
        charge_model="PerUnit",
        price=Decimal("10.00"),
        quantity=Decimal("3"),
        effective_end=date(2026, 4, 15),
        charged_through=date(2026, 4, 30),
        billed_lines=(billed(501, date(2026, 4, 1), date(2026, 4, 30), "30.00", quantity="3",
                             unit_price="10.00"),),
    )  # fmt: skip
    successor = replace(
        old,
        id=2,
        number="C00000002",
        quantity=Decimal("5"),
        effective_start=date(2026, 4, 16),
        effective_end=None,
        charged_through=None,
        billed_lines=(),
    )
    result = rate(old, successor, target=date(2026, 5, 1))
    assert lines_of(result) == [
        (1, date(2026, 4, 16), date(2026, 4, 30), Decimal("-15.00")),
        (2, date(2026, 4, 16), date(2026, 4, 30), Decimal("25.00")),
        (2, date(2026, 5, 1), date(2026, 5, 31), Decimal("50.00")),
    ]
    assert (result.document.lines[0].quantity, result.document.lines[0].unit_price) == (
        Decimal("3"),
        Decimal("10.00"),
    )
    assert result.charged_through == {1: date(2026, 4, 15), 2: date(2026, 5, 31)}


def test_a_change_before_anything_was_billed_needs_no_credit():
    old = charge(effective_start=date(2026, 4, 1), effective_end=date(2026, 4, 15))
    successor = charge(id=2, price=Decimal("200.00"), effective_start=date(2026, 4, 16))
    result = rate(old, successor, target=date(2026, 4, 16))
    assert lines_of(result) == [
        (1, date(2026, 4, 1), date(2026, 4, 15), Decimal("50.00")),
        (2, date(2026, 4, 16), date(2026, 4, 30), Decimal("100.00")),
    ]
    assert all(line.credits is None for line in result.document.lines)


@pytest.mark.parametrize(
    "currency, price, canceled_on, expected",
    [
        # 14/30 of the month: 466.67 yen, 4.667 dollars, 4.6667 dinars.
        ("JPY", "1000", date(2026, 4, 17), Decimal("-467")),
        ("USD", "10.00", date(2026, 4, 17), Decimal("-4.67")),
        ("BHD", "10.000", date(2026, 4, 17), Decimal("-4.667")),
        # 15/30 of 15 yen is 7.5: half-up rounds away from zero.
        ("JPY", "15", date(2026, 4, 16), Decimal("-8")),
        ("BHD", "0.015", date(2026, 4, 16), Decimal("-0.008")),
    ],
)
def test_credits_round_half_up_to_the_currency_minor_unit(currency, price, canceled_on, expected):
    canceled = charge(
        price=Decimal(price),
        canceled_on=canceled_on,
        charged_through=date(2026, 4, 30),
        billed_lines=(billed(501, date(2026, 4, 1), date(2026, 4, 30), price),),
    )
    result = rate(canceled, currency=currency, target=date(2026, 5, 1))
    assert [credit[3] for credit in credits_of(result)] == [expected]
    assert result.document.amount == -expected


def test_an_in_arrears_charge_ending_after_what_it_billed_needs_no_credit():
    # Billed in arrears through March; canceled from April 16: April 1–15 is still to bill.
    arrears = charge(
        billing_timing="InArrears", canceled_on=date(2026, 4, 16), charged_through=date(2026, 3, 31)
    )
    result = rate(arrears, target=date(2026, 4, 30))
    assert lines_of(result) == [(1, date(2026, 4, 1), date(2026, 4, 15), Decimal("50.00"))]
    assert all(line.credits is None for line in result.document.lines)
    assert result.charged_through == {1: date(2026, 4, 15)}


def test_a_negative_price_charges_credit_has_the_opposite_sign():
    discount = charge(
        name="Discount",
        price=Decimal("-100.00"),
        canceled_on=date(2026, 4, 16),
        charged_through=date(2026, 4, 30),
        billed_lines=(replace(APRIL, amount=Decimal("-100.00"), unit_price=Decimal("-100.00")),),
    )
    result = rate(discount, target=date(2026, 5, 1))
    assert credits_of(result) == [(501, date(2026, 4, 16), date(2026, 4, 30), Decimal("50.00"))]
    assert result.document.kind == DocumentKind.INVOICE


def test_credits_and_new_charges_share_one_document_by_its_total():
    canceled = charge(
        canceled_on=date(2026, 4, 16), charged_through=date(2026, 4, 30), billed_lines=(APRIL,)
    )
    other = charge(id=2, name="Support", price=Decimal("30.00"), charged_through=date(2026, 4, 30))
    result = rate(canceled, other, target=date(2026, 5, 1))
    assert lines_of(result) == [
        (1, date(2026, 4, 16), date(2026, 4, 30), Decimal("-50.00")),
        (2, date(2026, 5, 1), date(2026, 5, 31), Decimal("30.00")),
    ]
    assert (result.document.kind, result.document.amount) == (
        DocumentKind.CREDIT_MEMO,
        Decimal("20.00"),
    )
    # On a credit memo, lines carry the opposite sign: the credit becomes positive.
    assert result.document.lines[0].amount == Decimal("50.00")


def test_a_run_without_recurring_charges_leaves_credits_for_a_later_run():
    canceled = charge(
        canceled_on=date(2026, 4, 16), charged_through=date(2026, 4, 30), billed_lines=(APRIL,)
    )
    result = rate(canceled, target=date(2026, 5, 1), types={"OneTime", "Usage"})
    assert (result.document, result.charged_through) == (None, {})


def test_usage_and_one_time_charges_are_never_credited_back():
    metered = usage_charge(
        canceled_on=date(2026, 4, 16),
        charged_through=date(2026, 4, 30),
        billed_lines=(billed(601, date(2026, 4, 1), date(2026, 4, 30), "5.00"),),
    )
    setup = one_time_charge(
        id=3,
        effective_start=date(2026, 4, 20),
        canceled_on=date(2026, 4, 16),
        charged_through=date(2026, 4, 20),
        billed_lines=(billed(602, date(2026, 4, 20), date(2026, 4, 20), "100.00"),),
    )
    result = rate(
        metered, setup, usage=[usage(1, date(2026, 4, 10), "3")], target=date(2026, 5, 31)
    )
    assert result.document is None
    assert result.charged_through == {}
    assert result.late_usage_ids == (1,)  # its period was billed; it is not billed twice
