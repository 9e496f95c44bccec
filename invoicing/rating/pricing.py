"""What a quantity costs under each charge model, exactly (rounded later, once).

Prices, quantities and tier bounds are Decimals; sums and products of them are exact in
`core.money.EXACT`, so amounts stay Decimals (a Fraction is needed only to prorate by days).
"""

from decimal import Decimal

from core.money import EXACT
from core.tiers import Tier
from invoicing.rating.terms import ChargeModel

ZERO = Decimal(0)
add = EXACT.add
multiply = EXACT.multiply


def tiered_amount(tiers: tuple[Tier, ...], quantity: Decimal) -> Decimal:
    """Graduated: each unit at its own tier's price, plus the flat price of every tier reached.

    The first tier is always reached (so its flat price is a minimum charge); a later tier is
    reached once the quantity passes the previous tier's bound.
    """
    total = ZERO
    lower = ZERO
    for index, tier in enumerate(tiers):
        if index > 0 and quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        units = max(EXACT.subtract(upper, lower), ZERO)
        total = add(add(total, multiply(units, tier.unit_price)), tier.flat_price)
        if tier.up_to is None:
            break
        lower = tier.up_to
    return total


def volume_tier(tiers: tuple[Tier, ...], quantity: Decimal) -> Tier:
    """The tier the whole quantity falls in."""
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return tier
    raise AssertionError("parse_tiers guarantees an open last tier")


def volume_amount(tiers: tuple[Tier, ...], quantity: Decimal) -> Decimal:
    """Volume: every unit at the price of the tier the total falls in, plus its flat price."""
    tier = volume_tier(tiers, quantity)
    return add(multiply(quantity, tier.unit_price), tier.flat_price)


def amount_for(
    *, model: ChargeModel, price: Decimal, quantity: Decimal, tiers: tuple[Tier, ...]
) -> Decimal:
    """The full-period (or one-time) amount before proration and rounding, exact."""
    if model == ChargeModel.FLAT_FEE:
        return price
    if model == ChargeModel.PER_UNIT:
        return multiply(price, quantity)
    if model == ChargeModel.TIERED:
        return tiered_amount(tiers, quantity)
    if model == ChargeModel.VOLUME:
        return volume_amount(tiers, quantity)
    raise ValueError(f"Unknown charge model {model!r}.")
