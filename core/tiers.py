"""Price tiers of Tiered and Volume charges, parsed from their stored JSON form.

Stored form: a list of {"up_to": int or null, "unit_price": str, "flat_price": str}. Prices are
strings (or integers) because JSON numbers decode to floats, and money is never a float. Tiers are
contiguous by construction: each starts right after the previous tier's `up_to`; the last tier
is open (`up_to` null).
"""

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache


class InvalidTiers(ValueError):
    """The tiers cannot be rated; the message tells an operator what to fix."""


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # inclusive upper bound of units; None for the open last tier
    unit_price: Decimal
    flat_price: Decimal


def _decimal(value: object, *, where: str) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidTiers(f'{where} must be written as a string such as "0.10", not {value!r}.')
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidTiers(f"{where} is not a number: {value!r}.") from None
        if not result.is_finite():
            raise InvalidTiers(f"{where} is not a finite number: {value!r}.")
        return result
    raise InvalidTiers(f"{where} is missing or not a number: {value!r}.")


def parse_tiers(raw: object) -> tuple[Tier, ...]:
    """Validate stored tiers and return them as Decimals, or raise InvalidTiers."""
    if not isinstance(raw, list) or not raw:
        raise InvalidTiers("Tiers must be a non-empty list.")
    tiers: list[Tier] = []
    previous: Decimal = Decimal(0)
    for index, item in enumerate(raw, start=1):
        where = f"Tier {index}"
        if not isinstance(item, dict):
            raise InvalidTiers(f"{where} must be an object with up_to, unit_price, flat_price.")
        unknown = set(item) - {"up_to", "unit_price", "flat_price"}
        if unknown:
            raise InvalidTiers(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        up_to_raw = item.get("up_to")
        up_to = None if up_to_raw is None else _decimal(up_to_raw, where=f"{where} up_to")
        unit_price = _decimal(item.get("unit_price", "0"), where=f"{where} unit_price")
        flat_price = _decimal(item.get("flat_price", "0"), where=f"{where} flat_price")
        if unit_price < 0 or flat_price < 0:
            raise InvalidTiers(f"{where} has a negative price; tier prices must be 0 or more.")
        last = index == len(raw)
        if up_to is None and not last:
            raise InvalidTiers(f"{where} is open (up_to null) but is not the last tier.")
        if up_to is not None:
            if last:
                raise InvalidTiers("The last tier must be open: set its up_to to null.")
            if up_to <= previous:
                raise InvalidTiers(
                    f"{where} up_to ({up_to}) must be greater than the previous bound "
                    f"({previous}): tiers must be sorted."
                )
            previous = up_to
        tiers.append(Tier(up_to=up_to, unit_price=unit_price, flat_price=flat_price))
    return tuple(tiers)


@lru_cache(maxsize=4096)
def parse_stored_tiers(text: str) -> tuple[Tier, ...]:
    """`parse_tiers` of tiers as stored (JSON text), remembered: a run rates the same few
    price plans for thousands of charges. Invalid tiers raise every time (nothing is kept)."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise InvalidTiers("Tiers are not valid JSON.") from None
    return parse_tiers(raw)
