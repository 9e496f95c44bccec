"""A charge's last billable day: its own end, the subscription's term end and its cancellation."""

from datetime import date
from decimal import Decimal

import pytest

from invoicing.rating.engine import RatingError
from tests.rating.test_engine import charge, lines_of, one_time_charge, rate, usage, usage_charge


@pytest.mark.parametrize(
    "effective_end, term_end, canceled_on, expected",
    [
        (None, None, None, None),
        (date(2026, 5, 31), None, None, date(2026, 5, 31)),
        (None, date(2026, 12, 31), None, date(2026, 12, 31)),
        (None, None, date(2026, 4, 16), date(2026, 4, 15)),
        (date(2026, 5, 31), date(2026, 4, 30), None, date(2026, 4, 30)),
        (date(2026, 4, 30), date(2026, 5, 31), None, date(2026, 4, 30)),
        (date(2026, 5, 31), date(2026, 12, 31), date(2026, 4, 16), date(2026, 4, 15)),
        (date(2026, 4, 10), date(2026, 12, 31), date(2026, 4, 16), date(2026, 4, 10)),
        # Canceled from the day after the term's last day: both say the same day.
        (None, date(2026, 4, 15), date(2026, 4, 16), date(2026, 4, 15)),
    ],
)
def test_the_last_billable_day_is_the_earliest_end(effective_end, term_end, canceled_on, expected):
    ending = charge(effective_end=effective_end, term_end=term_end, canceled_on=canceled_on)
    assert ending.last_billable_day == expected


@pytest.mark.parametrize(
    "ends, expected_lines",
    [
        (
            {"term_end": date(2026, 2, 14)},
            [
                (date(2026, 1, 1), date(2026, 1, 31), Decimal("100.00")),
                (date(2026, 2, 1), date(2026, 2, 14), Decimal("50.00")),  # 14/28
            ],
        ),
        (
            {"canceled_on": date(2026, 2, 15)},
            [
                (date(2026, 1, 1), date(2026, 1, 31), Decimal("100.00")),
                (date(2026, 2, 1), date(2026, 2, 14), Decimal("50.00")),
            ],
        ),
        (
            {"term_end": date(2026, 3, 31), "effective_end": date(2026, 2, 14)},
            [
                (date(2026, 1, 1), date(2026, 1, 31), Decimal("100.00")),
                (date(2026, 2, 1), date(2026, 2, 14), Decimal("50.00")),
            ],
        ),
    ],
)
def test_a_term_end_or_cancellation_stops_recurring_billing_with_a_prorated_last_piece(
    ends, expected_lines
):
    result = rate(charge(**ends), target=date(2026, 6, 30))
    assert lines_of(result) == expected_lines
    assert result.charged_through == {1: date(2026, 2, 14)}


def test_a_term_end_without_renewal_stops_a_charge_billed_in_arrears_too():
    monthly = charge(billing_timing="InArrears", term_end=date(2026, 2, 14))
    assert lines_of(rate(monthly, target=date(2026, 2, 13))) == [
        (date(2026, 1, 1), date(2026, 1, 31), Decimal("100.00")),
    ]
    # The cut piece falls due on the term's last day, not at the end of its period.
    assert lines_of(rate(monthly, target=date(2026, 2, 14)))[-1] == (
        date(2026, 2, 1),
        date(2026, 2, 14),
        Decimal("50.00"),
    )


def test_a_charge_billed_through_its_last_billable_day_bills_nothing_more():
    done = charge(term_end=date(2026, 2, 14), charged_through=date(2026, 2, 14))
    result = rate(done, target=date(2027, 1, 1))
    assert result.document is None
    assert result.charged_through == {}


@pytest.mark.parametrize(
    "make",
    [charge, one_time_charge],
    ids=["Recurring", "OneTime"],
)
def test_a_charge_starting_on_or_after_the_cancellation_never_bills(make):
    late = make(effective_start=date(2026, 5, 1), canceled_on=date(2026, 5, 1))
    result = rate(late, target=date(2026, 12, 31))
    assert result.document is None
    assert result.charged_through == {}


def test_a_one_time_charge_dated_after_the_term_end_never_bills():
    setup = one_time_charge(effective_start=date(2027, 1, 5), term_end=date(2026, 12, 31))
    assert rate(setup, target=date(2027, 2, 1)).document is None


def test_a_one_time_charge_on_the_last_billable_day_still_bills():
    setup = one_time_charge(effective_start=date(2026, 4, 15), canceled_on=date(2026, 4, 16))
    assert lines_of(rate(setup, target=date(2026, 4, 30))) == [
        (date(2026, 4, 15), date(2026, 4, 15), Decimal("100.00")),
    ]


def test_usage_periods_are_cut_at_the_last_billable_day():
    metered = usage_charge(canceled_on=date(2026, 2, 15))
    records = [usage(1, date(2026, 1, 20), "8"), usage(2, date(2026, 2, 10), "4")]
    result = rate(metered, usage=records, target=date(2026, 2, 14))
    assert lines_of(result) == [
        (date(2026, 1, 1), date(2026, 1, 31), Decimal("2.00")),
        (date(2026, 2, 1), date(2026, 2, 14), Decimal("1.00")),
    ]
    assert result.charged_through == {2: date(2026, 2, 14)}


def test_usage_after_the_last_billable_day_is_refused_like_usage_after_the_charge_end():
    metered = usage_charge(term_end=date(2026, 2, 14))
    with pytest.raises(RatingError) as error:
        rate(metered, usage=[usage(1, date(2026, 2, 20), "1")], target=date(2026, 3, 1))
    assert error.value.code == "usage_outside_charge"
    assert "2026-01-01 to 2026-02-14" in error.value.message
