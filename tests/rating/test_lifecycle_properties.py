"""Properties of the subscription lifecycle on the rating side: ends, credits and renewals."""

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.money import minor_unit_exponent
from invoicing.rating.engine import AccountInput, BilledLine
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


def billed_lines(result, *, after: date) -> tuple[BilledLine, ...]:
    """The lines of a result as the adapter passes them back: those ending after `after`."""
    return tuple(
        BilledLine(
            id=index,
            service_start=line.service_start,
            service_end=line.service_end,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        for index, line in enumerate(signed_lines(result), start=1)
        if line.service_end > after
    )


def total(result) -> Decimal:
    return sum((line.amount for line in signed_lines(result)), Decimal(0))


@st.composite
def billed_then_canceled(draw):
    """An open recurring charge billed up to some day, then canceled from a day it billed."""
    charge = replace(
        draw(charges().filter(lambda c: c.charge_type == "Recurring")), effective_end=None
    )
    account = AccountInput(
        id=1,
        currency=draw(currencies),
        bill_cycle_day=draw(st.integers(min_value=1, max_value=31)),
        charges=[charge],
    )
    horizon = charge.effective_start + timedelta(days=draw(st.integers(0, 800)))
    billed = rate(account, horizon)
    assume(billed.document is not None)
    through = billed.charged_through[1]
    canceled_on = charge.effective_start + timedelta(
        days=draw(st.integers(-40, (through - charge.effective_start).days))
    )
    return account, billed, canceled_on, max(horizon, canceled_on)


def credit(account, billed, canceled_on, target):
    charge = account.charges[0]
    canceled = replace(
        charge,
        canceled_on=canceled_on,
        charged_through=billed.charged_through[1],
        billed_lines=billed_lines(billed, after=canceled_on - timedelta(days=1)),
    )
    return rate(replace(account, charges=[canceled]), target)


@settings(max_examples=300, deadline=None)
@given(billed_then_canceled())
def test_billing_then_crediting_then_billing_again_bills_each_day_once(scenario):
    account, billed, canceled_on, target = scenario
    credited = credit(account, billed, canceled_on, target)
    assert all(line.credits is not None for line in signed_lines(credited))
    # The cancellation is withdrawn (its end lifted): billing resumes from the moved cursor.
    resumed = replace(account.charges[0], charged_through=credited.charged_through[1])
    again = rate(replace(account, charges=[resumed]), target)
    at_once = rate(account, target)
    assert total(billed) + total(credited) + total(again) == total(at_once)
    assert again.charged_through == at_once.charged_through
    # Every day is billed once net: credited days were billed, and billed again only after.
    for line in signed_lines(credited):
        assert line.service_start >= canceled_on
        assert line.service_end <= billed.charged_through[1]
    if again.document is not None:
        assert signed_lines(again)[0].service_start == max(
            canceled_on, account.charges[0].effective_start
        )


@settings(max_examples=300, deadline=None)
@given(billed_then_canceled())
def test_a_cancellation_after_billing_nets_to_billing_with_the_end_known(scenario):
    account, billed, canceled_on, target = scenario
    credited = credit(account, billed, canceled_on, target)
    known = replace(account.charges[0], canceled_on=canceled_on)
    upfront = rate(replace(account, charges=[known]), target)
    # Only the period cut by the cancellation is rounded twice (billed whole, credited in part).
    unit = minor_unit_exponent(account.currency)
    assert abs(total(billed) + total(credited) - total(upfront)) <= unit
    start = account.charges[0].effective_start
    last = canceled_on - timedelta(days=1)
    assert credited.charged_through == {1: last if last >= start else None}


@settings(max_examples=300, deadline=None)
@given(
    scenario=billed_then_canceled(),
    credited_shares=st.lists(st.fractions(min_value=0, max_value=1), min_size=1, max_size=6),
)
def test_a_credit_never_exceeds_what_its_line_has_left(scenario, credited_shares):
    account, billed, canceled_on, target = scenario
    charge = account.charges[0]
    exponent = minor_unit_exponent(account.currency)
    lines = []
    for line, share in zip(
        billed_lines(billed, after=canceled_on - timedelta(days=1)),
        itertools.cycle(credited_shares),
        strict=False,
    ):
        already = (line.amount * Decimal(share.numerator) / Decimal(share.denominator)).quantize(
            exponent
        )
        lines.append(replace(line, credited=-already))
    canceled = replace(
        charge,
        canceled_on=canceled_on,
        charged_through=billed.charged_through[1],
        billed_lines=tuple(lines),
    )
    result = rate(replace(account, charges=[canceled]), target)
    by_id = {line.id: line for line in lines}
    for credit_line in signed_lines(result):
        line = by_id[credit_line.credits]
        left = line.amount + line.credited
        assert left != 0
        assert credit_line.amount * left <= 0  # the opposite sign, or zero
        assert abs(credit_line.amount) <= abs(left)
        assert line.service_start <= credit_line.service_start <= credit_line.service_end
        assert credit_line.service_end <= line.service_end
