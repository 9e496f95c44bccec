"""renewed_term_end: a termed subscription's end after the renewals that cover a target date."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.rating.periods import cycle_date, renewed_term_end


@pytest.mark.parametrize(
    "term_end, months, target, expected",
    [
        # Already covered, up to and including its last day: unchanged.
        (date(2026, 12, 31), 12, date(2026, 6, 1), date(2026, 12, 31)),
        (date(2026, 12, 31), 12, date(2026, 12, 31), date(2026, 12, 31)),
        # One renewal, then as many as the target needs.
        (date(2026, 12, 31), 12, date(2027, 1, 1), date(2027, 12, 31)),
        (date(2026, 12, 31), 12, date(2029, 3, 1), date(2029, 12, 31)),
        (date(2026, 1, 31), 3, date(2026, 8, 15), date(2026, 10, 31)),
        (date(2026, 3, 14), 1, date(2026, 3, 15), date(2026, 4, 14)),
        # Month ends: a term starting on the 1st ends on the last day of a month.
        (date(2026, 4, 30), 1, date(2026, 5, 1), date(2026, 5, 31)),
        (date(2026, 1, 31), 1, date(2026, 2, 1), date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 1), date(2028, 2, 29)),
        (date(2026, 2, 28), 1, date(2026, 3, 1), date(2026, 3, 31)),
        # A term starting on the 31st: February's term ends on the 27th, like the period grid,
        # and the next one starts on the 28th and ends on March 30 (not drifting to the 27th).
        (date(2026, 1, 30), 1, date(2026, 2, 10), date(2026, 2, 27)),
        (date(2026, 1, 30), 1, date(2026, 3, 15), date(2026, 3, 30)),
        # February 29: an annual term from March 1 ends on February 29 of a leap year, one from
        # February 29 ends the day before February 28 of the next (the clamped 29th).
        (date(2027, 2, 28), 12, date(2027, 3, 1), date(2028, 2, 29)),
        (date(2028, 2, 28), 12, date(2028, 3, 1), date(2029, 2, 27)),
        (date(2028, 2, 28), 12, date(2030, 6, 1), date(2031, 2, 27)),
    ],
)
def test_renews_by_whole_terms_until_the_target_is_covered(term_end, months, target, expected):
    renewed = renewed_term_end(term_end=term_end, renewal_term_months=months, target_date=target)
    assert renewed == expected


def test_the_term_start_keeps_a_clamped_day_from_drifting_across_runs():
    # Began January 31, renewed monthly in an earlier run to February 27.
    began = date(2026, 1, 31)
    after_february = date(2026, 2, 27)
    assert renewed_term_end(
        term_end=after_february, renewal_term_months=1, target_date=date(2026, 3, 20)
    ) == date(2026, 3, 27)  # without the start, February 28 looks like a term on the 28th
    assert renewed_term_end(
        term_end=after_february,
        renewal_term_months=1,
        target_date=date(2026, 3, 20),
        term_start=began,
    ) == date(2026, 3, 30)


def test_a_term_start_on_another_day_does_not_move_an_irregular_term():
    # A first term of January 15 – March 31 renews from April 1, on the 1st.
    assert renewed_term_end(
        term_end=date(2026, 3, 31),
        renewal_term_months=1,
        target_date=date(2026, 4, 2),
        term_start=date(2026, 1, 15),
    ) == date(2026, 4, 30)


@pytest.mark.parametrize("months", [0, -12])
def test_a_renewal_term_of_no_months_is_refused(months):
    with pytest.raises(ValueError, match=f"{months} months"):
        renewed_term_end(
            term_end=date(2026, 1, 31), renewal_term_months=months, target_date=date(2026, 3, 1)
        )


def month_index(day: date) -> int:
    return day.year * 12 + day.month


@settings(max_examples=500, deadline=None)
@given(
    term_start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    first_term=st.integers(min_value=1, max_value=36),
    months=st.sampled_from([1, 2, 3, 6, 12, 24, 36]),
    targets=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=4),
)
def test_renewed_terms_are_whole_contiguous_terms_and_renewing_in_steps_changes_nothing(
    term_start, first_term, months, targets
):
    def boundary(k: int) -> date:  # the term grid of the subscription, from its start
        index = term_start.year * 12 + term_start.month - 1 + k
        return cycle_date(index // 12, index % 12 + 1, term_start.day)

    term_end = boundary(first_term) - timedelta(days=1)
    steps = sorted(term_start + timedelta(days=offset) for offset in targets)
    stepped = term_end
    for target in steps:
        stepped = renewed_term_end(
            term_end=stepped, renewal_term_months=months, target_date=target, term_start=term_start
        )
        assert stepped >= target
    at_once = renewed_term_end(
        term_end=term_end, renewal_term_months=months, target_date=steps[-1], term_start=term_start
    )
    assert stepped == at_once
    if at_once == term_end:
        assert term_end >= steps[-1]
        return
    # A whole number of renewals, each on the subscription's grid, and not one too many.
    months_renewed = month_index(at_once + timedelta(days=1)) - month_index(
        term_end + timedelta(days=1)
    )
    assert months_renewed % months == 0
    assert at_once == boundary(first_term + months_renewed) - timedelta(days=1)
    assert boundary(first_term + months_renewed - months) - timedelta(days=1) < steps[-1]
