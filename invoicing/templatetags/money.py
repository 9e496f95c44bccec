"""The one way money is shown: babel's format for the currency (JPY ¥1,235, BHD 1.001)."""

from decimal import Decimal

from babel.numbers import format_currency
from django import template
from django.conf import settings

from invoicing.rating.money import round_amount

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    value = round_amount(Decimal(str(amount)), currency)
    return format_currency(value, currency, locale=getattr(settings, "MONEY_LOCALE", "en_US"))
