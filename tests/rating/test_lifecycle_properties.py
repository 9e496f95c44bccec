"""Properties of the subscription lifecycle on the rating side: ends, credits and renewals."""

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.rating.engine import AccountInput
from tests.rating.test_properties import charges, currencies, days, rate, signed_lines

offsets = st.none() | st.integers(min_value=-30, max_value=900)


@settings(max_examples=300, deadline=None)
@given(
    charge=charges(),
    currency=currencies,
    bcd=st.integers(min_value=1, max_value=31),
    term=offsets,
    cancel=offsets,
    target=days,
)
def test_a_term_end_or_cancellation_bills_as_an_end_on_the_last_billable_day(
    charge, currency, bcd, term, cancel, target
):
    start = charge.effective_start
    stopped = replace(
        charge,
        term_end=None if term is None else start + timedelta(days=term),
        canceled_on=None if cancel is None else start + timedelta(days=cancel),
    )
    last = stopped.last_billable_day
    if last is not None and last < start:
        # Ended before it started: the equivalent charge cannot exist, and nothing is billed.
        account = AccountInput(id=1, currency=currency, bill_cycle_day=bcd, charges=[stopped])
        assert rate(account, target).document is None
        return
    ended = replace(charge, effective_end=last)
    results = [
        rate(AccountInput(id=1, currency=currency, bill_cycle_day=bcd, charges=[c]), target)
        for c in (stopped, ended)
    ]
    assert signed_lines(results[0]) == signed_lines(results[1])
    assert results[0].charged_through == results[1].charged_through
