"""Reads for the Documents pages and the PDF: a fixed number of queries whatever the data size."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connections
from django.db.models import BigIntegerField, Count, F, QuerySet, Sum
from django.db.models.functions import Cast, Round

from core.money import stored_amount
from invoicing.models import AMOUNT, BillingDocument, DocumentLine

LIST_FIELDS = (
    "number",
    "kind",
    "status",
    "currency",
    "document_date",
    "due_date",
    "amount",
    "account__number",
    "account__name",
    "bill_run__number",
)
LINE_FIELDS = (
    "document_id",
    "charge_type",
    "description",
    "service_start",
    "service_end",
    "quantity",
    "unit_price",
    "amount",
)


def document_list():
    return BillingDocument.objects.select_related("account", "bill_run").only(*LIST_FIELDS)


def document_detail():
    return BillingDocument.objects.select_related("account", "bill_run", "posted_by")


def document_lines(*, document_ids):
    """Lines in id order: the order the bill run wrote them, and the order the
    (document_id) index already holds them in, so no sort is needed. A credit line brings the
    number of the document that billed the line it credits, in the same query."""
    return (
        DocumentLine.objects.filter(document_id__in=document_ids)
        .select_related("credits__document")
        .only(*LINE_FIELDS, "credits__document__number")
        .order_by("document_id", "id")
    )


def document_page_lines(*, document: BillingDocument):
    """A document's lines for its page, each with its charge's and subscription's numbers."""
    return (
        document_lines(document_ids=[document.pk])
        .select_related("charge", "subscription")
        .only(*LINE_FIELDS, "credits__document__number", "charge__number", "subscription__number")
    )


@dataclass(frozen=True)
class CurrencyTotals:
    """One currency's line of a list's totals. Amounts of different currencies are never
    added together, so a list shows one line per currency."""

    currency: str
    invoice_amount: Decimal
    credit_memo_amount: Decimal
    # How many documents of each kind, when the totals count documents (None: not counted).
    invoices: int | None = None
    credit_memos: int | None = None

    @property
    def counted(self) -> bool:
        return self.invoices is not None


# An amount's decimal places: SQLite adds its thousandths as integers (_amount_sums).
PLACES = AMOUNT["decimal_places"]


def _amount_sums(using: str) -> dict:
    """The aggregates that add up `amount` exactly on this database.

    PostgreSQL adds numerics exactly. SQLite keeps decimals as floats and adds them as floats:
    the total drifts (DESIGN §3), past 15 significant digits it loses the cents whatever the
    rounding, and Django reads an aggregate back without quantizing it. Integers SQLite adds
    exactly, so there each amount is split into its whole units and its thousandths (amounts
    have 3 decimal places), each part added as an integer: exact up to 9.2 × 10^18 units."""
    if connections[using].vendor != "sqlite":
        return {"total": Sum("amount")}
    whole = Cast("amount", BigIntegerField())  # truncates toward zero
    return {
        "whole": Sum(whole),
        "thousandths": Sum(Cast(Round((F("amount") - whole) * 10**PLACES), BigIntegerField())),
    }


def _summed_amount(row: dict) -> Decimal:
    if "total" in row:
        return Decimal(row["total"])
    return Decimal(row["whole"]) + Decimal(row["thousandths"]).scaleb(-PLACES)


def document_totals(documents: QuerySet[BillingDocument]) -> list[CurrencyTotals]:
    """How many documents of each kind these are and their amounts, per currency (in currency
    order): one grouped query, exact on SQLite and PostgreSQL alike, at any number of
    documents. Each total shows in its currency's minor unit, as each amount does."""
    rows = (
        documents.order_by()  # the list's sort would join the GROUP BY
        .values("currency", "kind")
        .annotate(n=Count("id"), **_amount_sums(documents.db))
    )
    counts: dict[tuple[str, str], int] = {}
    amounts: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row["currency"], row["kind"])
        counts[key] = row["n"]
        amounts[key] = stored_amount(_summed_amount(row), row["currency"])
    invoice, credit_memo = BillingDocument.Kind.INVOICE, BillingDocument.Kind.CREDIT_MEMO
    return [
        CurrencyTotals(
            currency=currency,
            invoice_amount=amounts.get((currency, invoice), Decimal(0)),
            credit_memo_amount=amounts.get((currency, credit_memo), Decimal(0)),
            invoices=counts.get((currency, invoice), 0),
            credit_memos=counts.get((currency, credit_memo), 0),
        )
        for currency in sorted({currency for currency, _ in counts})
    ]
