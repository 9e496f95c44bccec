"""Currency minor units and the project's one rounding rule."""

from decimal import Decimal
from fractions import Fraction
from functools import cache

from babel.numbers import get_currency_precision, list_currencies


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str) -> bool:
    return code in known_currencies()


@cache
def minor_unit_exponent(currency: str) -> Decimal:
    """Decimal("0.01") for USD, Decimal("1") for JPY, Decimal("0.001") for BHD."""
    if not is_known_currency(currency):
        raise ValueError(f"Unknown currency {currency!r}: use an ISO 4217 code such as USD.")
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_amount(value: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit: the one rounding rule of the project."""
    return round_fraction(Fraction(value), currency)


def round_fraction(value: Fraction, currency: str) -> Decimal:
    """Round an exact amount half-up (away from zero on a tie) to the currency's minor unit."""
    places = -minor_unit_exponent(currency).as_tuple().exponent
    scale = 10**places
    units, remainder = divmod(abs(value.numerator) * scale, value.denominator)
    if 2 * remainder >= value.denominator:
        units += 1
    sign = -1 if value < 0 else 1
    return Decimal(sign * units).scaleb(-places)
