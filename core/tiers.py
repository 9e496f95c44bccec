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


# What a tier's number may hold: the integer digits of a charge's price and quantity columns.
INTEGER_DIGITS = 14
LARGEST = Decimal(10) ** INTEGER_DIGITS
# A price plan of a hundred tiers takes about 6,000 characters.
MAX_TEXT_LENGTH = 20_000


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # inclusive upper bound of units; None for the open last tier
    unit_price: Decimal
    flat_price: Decimal


def _decimal(value: object, *, where: str) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidTiers(f'{where} must be written as a string such as "0.10", not {value!r}.')
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidTiers(f"{where} is not a number: {value!r}.") from None
        if not result.is_finite():
            raise InvalidTiers(f"{where} is not a finite number: {value!r}.")
    else:
        raise InvalidTiers(f"{where} is missing or not a number: {value!r}.")
    if abs(result) >= LARGEST:
        raise InvalidTiers(
            f"{where} is too large: at most {INTEGER_DIGITS} digits before the decimal point."
        )
    return result


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


def load_tiers(text: str) -> object:
    """Tiers typed or imported as JSON text, not yet validated (`parse_tiers` does): numbers
    with a fraction stay strings ("0.10"), never floats. Raises InvalidTiers, with the reason, for
    text that JSON cannot read, also text nested or numbers long enough to exhaust the reader."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidTiers(f"Tiers are too long: at most {MAX_TEXT_LENGTH:,} characters.")
    try:
        return json.loads(text, parse_float=str)
    except json.JSONDecodeError as error:
        raise InvalidTiers(f"Not valid JSON ({error.msg} at character {error.pos + 1}).") from None
    except RecursionError:
        raise InvalidTiers("Not valid tiers: the JSON is nested too deeply.") from None
    except ValueError:  # an integer of thousands of digits (Python's int conversion limit)
        raise InvalidTiers(
            f"Not valid tiers: a number has more than {INTEGER_DIGITS} digits before the "
            "decimal point."
        ) from None


@lru_cache(maxsize=4096)
def parse_stored_tiers(text: str) -> tuple[Tier, ...]:
    """`parse_tiers` of tiers as stored (JSON text), remembered: a run rates the same few
    price plans for thousands of charges. Invalid tiers raise every time (nothing is kept)."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidTiers("Tiers are not valid JSON.") from None
    return parse_tiers(raw)
