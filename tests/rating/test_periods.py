from datetime import date

import pytest

from invoicing.rating.periods import Period, PeriodGrid
from invoicing.rating.terms import BillingPeriod


def grid(period, bcd, start):
    return PeriodGrid.for_charge(billing_period=period, bill_cycle_day=bcd, effective_start=start)


def first_periods(g, since, n):
    periods = g.periods_from(since)
    return [next(periods) for _ in range(n)]


def test_day_31_falls_on_the_last_day_of_shorter_months():
    g = grid(BillingPeriod.MONTH, 31, date(2026, 1, 31))
    assert first_periods(g, date(2026, 1, 31), 3) == [
        Period(date(2026, 1, 31), date(2026, 2, 27)),
        Period(date(2026, 2, 28), date(2026, 3, 30)),
        Period(date(2026, 3, 31), date(2026, 4, 29)),
    ]


def test_day_31_in_a_leap_year():
    g = grid(BillingPeriod.MONTH, 31, date(2028, 1, 31))
    assert first_periods(g, date(2028, 1, 31), 2) == [
        Period(date(2028, 1, 31), date(2028, 2, 28)),
        Period(date(2028, 2, 29), date(2028, 3, 30)),
    ]


def test_a_start_before_the_cycle_day_lies_in_the_period_before_the_anchor():
    g = grid(BillingPeriod.MONTH, 15, date(2026, 3, 1))
    assert g.anchor == date(2026, 3, 15)
    assert first_periods(g, date(2026, 3, 1), 2) == [
        Period(date(2026, 2, 15), date(2026, 3, 14)),
        Period(date(2026, 3, 15), date(2026, 4, 14)),
    ]


@pytest.mark.parametrize(
    "period, expected_end",
    [
        (BillingPeriod.MONTH, date(2026, 4, 30)),
        (BillingPeriod.QUARTER, date(2026, 6, 30)),
        (BillingPeriod.SEMI_ANNUAL, date(2026, 9, 30)),
        (BillingPeriod.ANNUAL, date(2027, 3, 31)),
    ],
)
def test_month_based_periods_step_by_months_from_the_cycle_day(period, expected_end):
    g = grid(period, 1, date(2026, 4, 1))
    assert next(g.periods_from(date(2026, 4, 1))) == Period(date(2026, 4, 1), expected_end)


def test_weeks_start_on_the_charge_start_whatever_the_cycle_day():
    g = grid(BillingPeriod.WEEK, 15, date(2026, 3, 4))
    assert first_periods(g, date(2026, 3, 12), 2) == [
        Period(date(2026, 3, 11), date(2026, 3, 17)),
        Period(date(2026, 3, 18), date(2026, 3, 24)),
    ]


@pytest.mark.parametrize("bcd", [1, 15, 28, 29, 30, 31])
@pytest.mark.parametrize("period", list(BillingPeriod))
def test_periods_tile_time_without_gap_or_overlap(bcd, period):
    g = grid(period, bcd, date(2025, 11, 17))
    periods = first_periods(g, date(2025, 6, 1), 40)
    assert periods[0].start <= date(2025, 6, 1) <= periods[0].end
    for before, after in zip(periods, periods[1:], strict=False):
        assert (after.start - before.end).days == 1
        assert g.period(g.index_of(after.start)) == after
