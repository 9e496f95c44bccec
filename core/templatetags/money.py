"""The one way money is shown: babel's format for the currency (JPY ¥1,235, BHD 1.001)."""

from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from django import template
from django.conf import settings

from core.money import minor_unit_exponent, round_amount

register = template.Library()


def _locale() -> str:
    return settings.MONEY_LOCALE


@register.filter
def money(amount, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    value = round_amount(Decimal(str(amount)), currency)
    return format_currency(value, currency, locale=_locale())


@register.filter
def unit_price(price, currency: str) -> str:
    """A unit price keeps the digits it was rated with (up to 6), and at least the currency's
    minor unit: $0.0025 per call must not read as $0.00."""
    if price is None or price == "":
        return ""
    value = Decimal(str(price)).normalize()
    minor = minor_unit_exponent(currency)
    if value.as_tuple().exponent > minor.as_tuple().exponent:
        value = value.quantize(minor)
    return format_currency(value, currency, locale=_locale(), decimal_quantization=False)


@register.filter
def quantity(value) -> str:
    """A quantity without the stored trailing zeros: 1, 2.5, 1,024."""
    if value is None or value == "":
        return ""
    return format_decimal(
        Decimal(str(value)).normalize(), locale=_locale(), decimal_quantization=False
    )
