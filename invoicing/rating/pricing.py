"""What a quantity costs under each charge model, in exact arithmetic (rounded later, once)."""

from decimal import Decimal
from fractions import Fraction

from core.tiers import Tier
from invoicing.rating.terms import ChargeModel


def tiered_amount(tiers: tuple[Tier, ...], quantity: Decimal) -> Fraction:
    """Graduated: each unit at its own tier's price, plus the flat price of every tier reached.

    The first tier is always reached (so its flat price is a minimum charge); a later tier is
    reached once the quantity passes the previous tier's bound.
    """
    total = Fraction(0)
    lower = Decimal(0)
    for index, tier in enumerate(tiers):
        if index > 0 and quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        units = max(upper - lower, Decimal(0))
        total += Fraction(units) * Fraction(tier.unit_price) + Fraction(tier.flat_price)
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


def volume_amount(tiers: tuple[Tier, ...], quantity: Decimal) -> Fraction:
    """Volume: every unit at the price of the tier the total falls in, plus its flat price."""
    tier = volume_tier(tiers, quantity)
    return Fraction(quantity) * Fraction(tier.unit_price) + Fraction(tier.flat_price)


def amount_for(
    *, model: ChargeModel, price: Decimal, quantity: Decimal, tiers: tuple[Tier, ...]
) -> Fraction:
    """The full-period (or one-time) amount before proration and rounding."""
    if model == ChargeModel.FLAT_FEE:
        return Fraction(price)
    if model == ChargeModel.PER_UNIT:
        return Fraction(price) * Fraction(quantity)
    if model == ChargeModel.TIERED:
        return tiered_amount(tiers, quantity)
    if model == ChargeModel.VOLUME:
        return volume_amount(tiers, quantity)
    raise ValueError(f"Unknown charge model {model!r}.")
