"""The demo's random draws and date arithmetic: cheap enough for the per-account hot loop.

Every draw takes the account's own `rand` (a bound `random.Random().random`), never the global
generator, so an account's rows depend only on the seed and its index.
"""

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate


class Pick:
    """A weighted choice that costs one `random()` call (random.choices is ~30x slower)."""

    def __init__(self, weighted: Sequence[tuple[object, int]]):
        self.values = [value for value, _ in weighted]
        self.cumulative = list(accumulate(weight for _, weight in weighted))
        self.total = self.cumulative[-1]

    def __call__(self, rand: Callable[[], float]):
        return self.values[bisect_right(self.cumulative, rand() * self.total)]


def below(rand: Callable[[], float], n: int) -> int:
    """0 <= result < n, uniformly; cheaper than randrange in the hot loop."""
    return int(rand() * n)


# --- Dates ----------------------------------------------------------------------------------
def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _month_day(year: int, month: int, day: int) -> dt.date:
    """`day` of a month, clamped to its last day (bill cycle day 31 in April is the 30th)."""
    return dt.date(year, month, min(day, _days_in_month(year, month)))


def add_months(day: dt.date, months: int, *, on: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return _month_day(year, month + 1, on)


def between(rand, first: dt.date, last: dt.date) -> dt.date:
    """A uniformly random date in [first, last]."""
    return dt.date.fromordinal(
        first.toordinal() + below(rand, last.toordinal() - first.toordinal() + 1)
    )


DAY = dt.timedelta(days=1)
