"""Currency minor units and the project's one rounding rule."""

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal
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


# Sums and products of Decimals in this context are exact, whatever their size (its precision
# is unlimited), and its quantize rounds half-up: money arithmetic without Fraction's cost.
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, rounding=ROUND_HALF_UP)


def round_amount(value: Decimal, currency: str) -> Decimal:
    """Half-up (away from zero on a tie) to the currency's minor unit: the one rounding rule
    of the project, for an exact Decimal. Never a negative zero."""
    rounded = EXACT.quantize(value, minor_unit_exponent(currency))
    return rounded if rounded else rounded.copy_abs()


def stored_amount(value, currency: str) -> Decimal:
    """A stored amount (or a stored total) as its currency shows it: SQLite hands decimals back
    as floats, so round to the minor unit; an unknown currency code keeps the stored digits
    rather than fail an export or an API answer."""
    amount = Decimal(str(value))
    try:
        return round_amount(amount, currency)
    except ValueError:
        return amount


def round_share(value: Decimal, numerator: int, denominator: int, currency: str) -> Decimal:
    """`value` × `numerator` / `denominator` (days of a period), exactly, then rounded as
    `round_amount` does: integer arithmetic, without building a Fraction (a run prorates
    thousands of lines)."""
    top, bottom = value.as_integer_ratio()
    return _round_ratio(top * numerator, bottom * denominator, currency)


@cache
def minor_unit_places(currency: str) -> int:
    """2 for USD, 0 for JPY, 3 for BHD."""
    return -minor_unit_exponent(currency).as_tuple().exponent


def _round_ratio(numerator: int, denominator: int, currency: str) -> Decimal:
    """numerator / denominator (denominator > 0) rounded half-up, away from zero on a tie."""
    places = minor_unit_places(currency)
    units, remainder = divmod(abs(numerator) * 10**places, denominator)
    if 2 * remainder >= denominator:
        units += 1
    return Decimal(-units if numerator < 0 else units).scaleb(-places)
