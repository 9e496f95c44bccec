"""Properties that must hold for any charge, any cycle day and any pair of target dates."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import minor_unit_exponent
from invoicing.rating.engine import AccountInput, ChargeInput, UsageInput, rate_account
from invoicing.rating.terms import DocumentKind

ALL = {"OneTime", "Recurring", "Usage"}
TIERS = [
    {"up_to": 10, "unit_price": "1.5", "flat_price": "2"},
    {"up_to": None, "unit_price": "0.75", "flat_price": "0"},
]
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
currencies = st.sampled_from(["USD", "JPY", "BHD", "EUR"])
prices = st.decimals(min_value=-5000, max_value=5000, places=2, allow_nan=False)


@st.composite
def charges(draw):
    charge_type = draw(st.sampled_from(["OneTime", "Recurring", "Usage"]))
    start = draw(days)
    end = draw(st.none() | st.integers(min_value=0, max_value=800))
    model = draw(
        st.sampled_from(["PerUnit", "Tiered", "Volume"])
        if charge_type == "Usage"
        else st.sampled_from(["FlatFee", "PerUnit", "Tiered", "Volume"])
    )
    tiered = model in ("Tiered", "Volume")
    return ChargeInput(
        id=1,
        number="C1",
        subscription_id=1,
        name="Charge",
        charge_type=charge_type,
        charge_model=model,
        price=abs(draw(prices)) if tiered else draw(prices),
        quantity=Decimal(draw(st.integers(min_value=0, max_value=40))),
        tiers=TIERS if tiered else [],
        billing_period=""
        if charge_type == "OneTime"
        else draw(st.sampled_from(["Week", "Month", "Quarter", "SemiAnnual", "Annual"])),
        billing_timing="InArrears"
        if charge_type == "Usage"
        else draw(st.sampled_from(["InAdvance", "InArrears"])),
        effective_start=start,
        effective_end=None if end is None else start + timedelta(days=end),
    )


@st.composite
def scenarios(draw):
    charge = draw(charges())
    usage = []
    if charge.charge_type == "Usage":
        last = charge.effective_end or charge.effective_start + timedelta(days=900)
        span = (last - charge.effective_start).days
        for index in range(draw(st.integers(min_value=0, max_value=12))):
            offset = draw(st.integers(min_value=0, max_value=span))
            usage.append(
                UsageInput(
                    id=index + 1,
                    charge_id=1,
                    quantity=Decimal(draw(st.integers(min_value=0, max_value=30))),
                    usage_date=charge.effective_start + timedelta(days=offset),
                )
            )
    account = AccountInput(
        id=1,
        currency=draw(currencies),
        bill_cycle_day=draw(st.integers(min_value=1, max_value=31)),
        charges=[charge],
        usage=usage,
    )
    first, second = sorted([draw(days), draw(days)])
    return account, first, second


def rate(account, target):
    return rate_account(account, target_date=target, charge_types=ALL)


def signed_lines(result):
    """The lines as rated, before a credit memo turned their signs."""
    if result.document is None:
        return []
    sign = -1 if result.document.kind == DocumentKind.CREDIT_MEMO else 1
    return [
        line._replace(amount=sign * line.amount, unit_price=sign * line.unit_price)
        for line in result.document.lines
    ]


def after(account, result):
    """The account as the bill run leaves it: cursors advanced, billed usage gone."""
    billed = set(result.usage_line_index)
    charges = [
        replace(c, charged_through=result.charged_through.get(c.id, c.charged_through))
        for c in account.charges
    ]
    return replace(account, charges=charges, usage=[u for u in account.usage if u.id not in billed])


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_billing_in_two_steps_equals_billing_at_once(scenario):
    account, first, second = scenario
    step_one = rate(account, first)
    step_two = rate(after(account, step_one), second)
    at_once = rate(account, second)
    assert signed_lines(step_one) + signed_lines(step_two) == signed_lines(at_once)
    assert {**step_one.charged_through, **step_two.charged_through} == at_once.charged_through


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_amounts_are_whole_minor_units_and_lines_never_overlap(scenario):
    account, _, target = scenario
    result = rate(account, target)
    if result.document is None:
        return
    exponent = minor_unit_exponent(account.currency)
    for line in result.document.lines:
        assert line.amount == line.amount.quantize(exponent)
        assert line.service_start <= line.service_end
    assert result.document.amount >= 0
    lines = result.document.lines
    for before, nxt in zip(lines, lines[1:], strict=False):
        assert nxt.service_start > before.service_end
        if account.charges[0].charge_type == "Recurring":
            assert nxt.service_start == before.service_end + timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    charge=charges().filter(lambda c: c.charge_type == "Recurring"),
    currency=currencies,
    bcd=st.integers(min_value=1, max_value=31),
    cut=st.integers(min_value=0, max_value=400),
)
def test_the_prorated_pieces_of_a_period_add_up_to_the_whole(charge, currency, bcd, cut):
    whole = replace(charge, effective_end=None, billing_timing="InAdvance")
    account = AccountInput(id=1, currency=currency, bill_cycle_day=bcd, charges=[whole])
    horizon = whole.effective_start + timedelta(days=800)
    full = signed_lines(rate(account, horizon))
    # End the charge on some day, bill, then reopen it and bill the rest.
    ended = replace(whole, effective_end=whole.effective_start + timedelta(days=cut))
    first = rate(replace(account, charges=[ended]), horizon)
    reopened = replace(whole, charged_through=first.charged_through[1])
    rest = rate(replace(account, charges=[reopened]), horizon)
    pieces = signed_lines(first) + signed_lines(rest)
    unit = minor_unit_exponent(currency)
    by_period = {}
    for line in full:
        by_period[line.service_start] = (line, [])
    starts = sorted(by_period)
    for piece in pieces:
        owner = max(s for s in starts if s <= piece.service_start)
        by_period[owner][1].append(piece)
    for line, parts in by_period.values():
        assert parts and parts[-1].service_end == line.service_end
        total = sum((p.amount for p in parts), Decimal(0))
        assert abs(total - line.amount) <= unit * len(parts)
