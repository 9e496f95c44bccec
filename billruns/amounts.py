"""A run's money per currency, as RunCounters.amounts_by_currency keeps it: {"USD": {"invoice":
"12.34", "credit_memo": "0.00"}, …}. Amounts of different currencies are never added together,
and money is added in Decimal, never by an SQL SUM (DESIGN §3)."""

from decimal import Decimal


def no_amounts() -> dict[str, Decimal]:
    """One currency's totals before anything is added (DESIGN's invoice and credit memo amounts)."""
    return {"invoice": Decimal(0), "credit_memo": Decimal(0)}


def amounts_json(per_currency: dict[str, dict[str, Decimal]]) -> dict:
    """{"USD": {"invoice": "12.34", "credit_memo": "0.00"}, …}: exact decimals as strings."""
    return {
        currency: {kind: str(amount) for kind, amount in totals.items()}
        for currency, totals in sorted(per_currency.items())
    }


def add_amounts(per_currency: dict[str, dict[str, Decimal]], amounts: dict | None) -> None:
    """Add one amounts_by_currency ({"USD": {"invoice": "12.34", …}}) into running totals, in
    Decimal (never an SQL SUM of money)."""
    for currency, kinds in (amounts or {}).items():
        totals = per_currency.setdefault(currency, no_amounts())
        for kind, amount in kinds.items():
            totals[kind] += Decimal(amount or 0)
