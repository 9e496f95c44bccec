"""Billing periods aligned to the account's bill cycle day.

A charge's periods form a grid. For month-based periods (Month, Quarter, SemiAnnual, Annual) the
grid's anchor is the first cycle date on or after the charge's effective start, and every grid
point steps N months from it; a cycle date is the bill cycle day clamped to the month's length
(day 31 gives Jan 31, Feb 28, Mar 31, Apr 30). Week periods are 7 days from the effective start.
A period runs from one grid point to the day before the next, so with day 31 the periods are
Jan 31–Feb 27, Feb 28–Mar 30, Mar 31–Apr 29.

Dates before the anchor fall in the grid period before it: with bill cycle day 15 and a monthly
charge starting March 1, the first piece is March 1–14 inside the full period February 15–March 14.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import NamedTuple

from invoicing.rating.terms import MONTHS_PER_PERIOD, BillingPeriod

ONE_DAY = timedelta(days=1)


class Period(NamedTuple):
    """A span of days. A named tuple, not a dataclass: the bill run makes one for every line,
    and a tuple is made and compared several times faster."""

    start: date
    end: date  # inclusive, as on an invoice line

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def cycle_date(year: int, month: int, bill_cycle_day: int) -> date:
    """The cycle date of a month: the bill cycle day, or the month's last day if shorter."""
    return date(year, month, min(bill_cycle_day, calendar.monthrange(year, month)[1]))


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


@cache
def _cycle_date_at(month_index: int, bill_cycle_day: int) -> date:
    """Cached: a run asks for the same few hundred (month, day) pairs millions of times."""
    year, month0 = divmod(month_index, 12)
    return cycle_date(year, month0 + 1, bill_cycle_day)


@dataclass(frozen=True)
class PeriodGrid:
    """The periods of one charge: `period_containing(day)` and the periods after it."""

    billing_period: BillingPeriod
    bill_cycle_day: int
    anchor: date
    # Derived once: the anchor's month index and months per period (0 for weeks).
    _anchor_month: int = field(init=False, repr=False, compare=False)
    _months: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_anchor_month", _month_index(self.anchor))
        object.__setattr__(self, "_months", MONTHS_PER_PERIOD.get(self.billing_period, 0))

    @classmethod
    def for_charge(
        cls, *, billing_period: BillingPeriod, bill_cycle_day: int, effective_start: date
    ) -> "PeriodGrid":
        if billing_period == BillingPeriod.WEEK:
            return cls(billing_period, bill_cycle_day, effective_start)
        anchor = cycle_date(effective_start.year, effective_start.month, bill_cycle_day)
        if anchor < effective_start:
            anchor = _cycle_date_at(_month_index(effective_start) + 1, bill_cycle_day)
        return cls(billing_period, bill_cycle_day, anchor)

    def point(self, k: int) -> date:
        """The k-th grid point (k may be negative): the start of the k-th period."""
        if not self._months:  # weeks
            return self.anchor + timedelta(days=7 * k)
        return _cycle_date_at(self._anchor_month + k * self._months, self.bill_cycle_day)

    def index_of(self, day: date) -> int:
        """The k whose period [point(k), point(k+1) - 1] contains `day`."""
        if not self._months:  # weeks
            return (day - self.anchor).days // 7
        k = (day.year * 12 + day.month - 1 - self._anchor_month) // self._months
        # Clamped cycle dates can put `day` one period off the month arithmetic's guess.
        while self.point(k) > day:
            k -= 1
        while self.point(k + 1) <= day:
            k += 1
        return k

    def period(self, k: int) -> Period:
        return Period(self.point(k), self.point(k + 1) - ONE_DAY)

    def pieces(self, days: Period) -> Iterator[tuple[Period, Period]]:
        """`days` cut at the grid's points: each piece with the full period that contains it."""
        k = self.index_of(days.start)
        start = days.start
        while start <= days.end:
            period = self.period(k)
            piece = Period(start, min(period.end, days.end))
            yield piece, period
            start = period.end + ONE_DAY
            k += 1

    def periods_from(self, day: date) -> Iterator[Period]:
        """The period containing `day`, then every later one (endless)."""
        k = self.index_of(day)
        start = self.point(k)
        while True:
            k += 1
            following = self.point(k)
            yield Period(start, following - ONE_DAY)
            start = following


def renewed_term_end(
    *,
    term_end: date,
    renewal_term_months: int,
    target_date: date,
    term_start: date | None = None,
) -> date:
    """The term end after as many renewals of `renewal_term_months` as cover `target_date`.

    `term_end` itself when it already covers the target date. Renewed terms follow each other
    without a gap: each starts the day after the previous one ends and lasts whole months, on a
    grid like the billing periods' (a day 29–31 falls on the last day of shorter months, and the
    grid keeps its day instead of drifting to the 28th after February).

    The grid's day is the day of the month of the day after `term_end`, unless that day is the
    clamped form of `term_start`'s day (a term that began on January 31 and was renewed to
    February 27): then `term_start`'s day, so that renewing in several runs gives the same
    term end as renewing once.
    """
    if renewal_term_months < 1:
        raise ValueError(f"A renewal term of {renewal_term_months} months cannot renew a term.")
    if term_end >= target_date:
        return term_end
    start = term_end + ONE_DAY
    day = start.day
    if term_start is not None and cycle_date(start.year, start.month, term_start.day) == start:
        day = term_start.day
    first = _month_index(start)

    def end_after(renewals: int) -> date:
        return _cycle_date_at(first + renewals * renewal_term_months, day) - ONE_DAY

    # Terms ending in a month before the target's cannot cover it: start from the first that
    # might, then step (at most twice) to the first that does.
    months_to_target = _month_index(target_date) - first
    renewals = max(1, -(-months_to_target // renewal_term_months))
    while end_after(renewals) < target_date:
        renewals += 1
    return end_after(renewals)
