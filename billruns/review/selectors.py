"""The variance review's reads (DESIGN §11): which documents of a run an operator should look at
before posting, and why. The rules (docs/decisions.md, "Variance review (issue 16)"):

A document of the run (either kind, not Canceled) is flagged for one or more reasons:

- CHANGE: its amount moved by more than the run's `review_threshold_percent` against the
  account's previous document in the same currency. Previous = the newest non-canceled
  document of the same account and currency that is not the run's own and comes before it by
  (document date, id): from an earlier run or made outside any run. A credit memo counts as its
  amount negated, so an invoice of 100.00 followed by a credit memo of 50.00 moved by -150 %.
  Change % = (this - previous) / |previous| x 100; from a previous 0.00 any other amount is a
  change (its % is None), 0.00 again is not.
- FIRST: no previous document in this currency (a new account, or one that changed currency:
  it is not compared across currencies) and an amount (either kind) above the currency's
  first-document amount (setting BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS).
- MANY_LINES: more lines than the run's 99th percentile of line counts (linearly interpolated)
  and at least three times its median: a handful of documents far longer than the run's usual.

What does not change once a run is Completed is prepared once per run, not per page
(billruns/review/models.py, services.prepare_review): each document's previous one, signed
amounts, change % and line count as a ReviewEntry row, and the run's line-count histogram. The
flags are conditions on those rows that indexes answer, so a page reads only the flagged
entries: three queries (the prepared review, which holds the histogram; the page's entries with
the counts of each flag as window aggregates; the page's documents and their previous ones),
whatever the run's size. The flags are decided in SQL so that the counts, the page and the
export agree; the threshold and the first-document amounts are applied when the page is read,
so changing them needs no new preparation.
"""

import math
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import reduce

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, Window
from django.utils import timezone
from django.utils.functional import cached_property

from billruns.models import BillRun
from billruns.review import services
from billruns.review.models import ReviewEntry, ReviewPreparation
from billruns.review.services import REVIEW_STATUSES  # noqa: F401 (the review's runs, for pages)
from core.errors import DomainError
from core.money import round_amount, stored_amount
from core.paging import PER_PAGE
from invoicing.models import BillingDocument

CHANGE = "Change above threshold"
FIRST = "First document above amount"
MANY_LINES = "Many lines"

# MANY_LINES: above this quantile of the run's line counts, and at least FACTOR x its median.
LINES_QUANTILE = Fraction(99, 100)
LINES_MEDIAN_FACTOR = 3
# FIRST, for a currency the setting leaves out: above this many times the run's average
# document in that currency.
FIRST_AVERAGE_FACTOR = 5

# Sort keys (the `o` parameter, as every list's; "-key" descending) → the ordering columns.
SORTS = {
    "account": "account__number",
    "amount": "amount",
    "change": "change_percent",
    "previous": "previous_amount",
}
DEFAULT_SORT = "account"

# A stored change % is a multiple of 0.001 (rounded away from zero, ReviewEntry) and the
# threshold of 0.01, so "above the threshold" is "above it by more than half of 0.001": a margin
# that SQLite's float comparison cannot get wrong.
CHANGE_MARGIN = Decimal("0.0005")
PERCENT_PLACES = Decimal("0.1")
# A condition no document meets, that still compiles to SQL (an empty `pk__in` would not, inside
# an aggregate's filter).
NOTHING = Q(pk__isnull=True)


@dataclass(frozen=True)
class ReviewRules:
    """What flags a document of one run: its threshold, the first-document amounts, and the
    line count from which a document has many lines (None: the run has no documents)."""

    threshold_percent: Decimal
    first_document_amounts: Mapping[str, Decimal]
    many_lines_from: int | None
    # The run's median and 99th percentile of line counts, to two decimals (what the tab says).
    median_lines: Decimal | None = None
    top_lines: Decimal | None = None

    # The currencies whose amount comes from the run itself (FIRST_AVERAGE_FACTOR x its
    # average document), not from the setting.
    derived: frozenset[str] = frozenset()

    @property
    def first_document_amounts_text(self) -> str:
        """The amounts as the tab says them: "1,000 of that currency (JPY 100,000)", or
        "5 x this run's average document in its currency (USD 1,234.5)"."""
        amounts = dict(self.first_document_amounts)
        others = amounts.pop("*", None)

        def listed(currencies) -> str:
            return ", ".join(
                f"{currency} {amounts[currency]:,f}" for currency in sorted(currencies)
            )

        set_amounts = listed(set(amounts) - self.derived)
        parts = []
        if others is not None:
            parts.append(
                f"{others:,f} of that currency{f' ({set_amounts})' if set_amounts else ''}"
            )
        elif set_amounts:
            parts.append(set_amounts)
        if self.derived:
            parts.append(
                f"{FIRST_AVERAGE_FACTOR} × this run's average document in its currency "
                f"({listed(self.derived)})"
            )
        return "; ".join(parts) or "no amount"


@dataclass(frozen=True)
class ReviewRow:
    """One flagged document and the previous one it is compared with (None for a first).
    Amounts are signed: a credit memo's is negative."""

    document: BillingDocument
    previous: BillingDocument | None
    lines: int
    reasons: tuple[str, ...]

    @property
    def account(self):
        return self.document.account

    @property
    def amount(self) -> Decimal:
        return signed_amount(self.document)

    @property
    def previous_amount(self) -> Decimal | None:
        return signed_amount(self.previous) if self.previous is not None else None

    @property
    def change_percent(self) -> Decimal | None:
        """(this - previous) / |previous| x 100, to one decimal, from the exact amounts; None
        for a first document or a previous 0.00."""
        previous = self.previous_amount
        if not previous:
            return None
        change = (self.amount - previous) * 100 / abs(previous)
        return change.quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ReviewCounts:
    flagged: int = 0
    change: int = 0
    first: int = 0
    many_lines: int = 0

    def by_reason(self) -> list[tuple[str, int]]:
        return [(CHANGE, self.change), (FIRST, self.first), (MANY_LINES, self.many_lines)]


@dataclass(frozen=True)
class ReviewPage:
    rules: ReviewRules | None  # None while the review is being prepared
    counts: ReviewCounts
    page: Page  # of ReviewRow
    sort: str
    preparation: ReviewPreparation

    @property
    def preparing(self) -> bool:
        return not self.preparation.is_ready


def signed_amount(document: BillingDocument) -> Decimal:
    """The document's amount as the review compares it: a credit memo's negated."""
    amount = stored_amount(document.amount, document.currency)
    return -amount if document.is_credit_memo else amount


def first_document_amounts() -> dict[str, Decimal]:
    """Currency → the amount above which its first document is flagged, "*" for every currency
    not named (setting BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS)."""
    amounts = settings.BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS
    return {currency: Decimal(str(amount)) for currency, amount in amounts.items()}


def average_document_amounts(run: BillRun, preparation: ReviewPreparation) -> dict[str, Decimal]:
    """FIRST_AVERAGE_FACTOR x the run's average document amount, for each of its currencies
    the setting leaves out (none when it has "*"): a run's first documents are compared with
    what the run usually bills in that currency, so a ¥28,058,074 invoice among ordinary ones
    stands out and a run of new accounts is not flagged whole. Totals from the run's exact
    amounts (never an SQL SUM), counts from its prepared review."""
    configured = settings.BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS
    if "*" in configured:
        return {}
    derived = {}
    for currency, documents in (preparation.documents_by_currency or {}).items():
        totals = run.amounts_by_currency.get(currency)
        if currency in configured or not documents or not totals:
            continue
        total = sum(Decimal(totals.get(kind, "0")) for kind in ("invoice", "credit_memo"))
        derived[currency] = round_amount(total / documents * FIRST_AVERAGE_FACTOR, currency)
    return derived


# -- the prepared review -----------------------------------------------------------------------


class ReviewNotReady(DomainError):
    """A read of a review that is still being prepared (a view asks prepared_review first)."""


def prepared_review(run: BillRun) -> ReviewPreparation:
    """The run's review preparation: one query when it is ready and still true. Missing, stale
    or stuck, it is asked for (services.request_review: queued, so usually Preparing when this
    returns; ready already where tasks run inline)."""
    preparation = ReviewPreparation.objects.with_staleness().filter(bill_run=run).first()
    if services.needs_preparing(preparation, timezone.now()):
        preparation = services.request_review(run=run)
    return preparation


def _ready(run: BillRun, preparation: ReviewPreparation | None) -> ReviewPreparation:
    preparation = preparation or prepared_review(run)
    if not preparation.is_ready:
        raise ReviewNotReady(f"The review of {run.number} is being prepared.")
    return preparation


# -- the rules ---------------------------------------------------------------------------------


def quantile(histogram: Mapping[int, int], q: Fraction) -> Fraction | None:
    """The q-quantile of the values a histogram counts, interpolated linearly between the two
    values around rank (n - 1) x q (numpy's default), exactly; None when it counts nothing."""
    n = sum(histogram.values())
    if not n:
        return None
    rank = (n - 1) * q
    low = math.floor(rank)
    below, above = _value_at(histogram, low), _value_at(histogram, min(low + 1, n - 1))
    return below + (rank - low) * (above - below)


def _value_at(histogram: Mapping[int, int], index: int) -> int:
    """The index-th smallest value (from 0) a histogram counts."""
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if index < seen:
            return value
    raise IndexError(index)


def many_lines_from(histogram: Mapping[int, int]) -> int | None:
    """The fewest lines that are above the 99th percentile and at least 3 x the median; None
    when there are no documents."""
    median, top = quantile(histogram, Fraction(1, 2)), quantile(histogram, LINES_QUANTILE)
    if median is None or top is None:
        return None
    return max(math.floor(top) + 1, math.ceil(LINES_MEDIAN_FACTOR * median))


def review_rules(run: BillRun, preparation: ReviewPreparation | None = None) -> ReviewRules:
    """The run's rules: its threshold, the setting's amounts, its line-count statistics (from
    the prepared histogram; ReviewNotReady while it is being prepared)."""
    ready = _ready(run, preparation)
    histogram = ready.histogram
    derived = average_document_amounts(run, ready)
    return ReviewRules(
        threshold_percent=run.review_threshold_percent,
        first_document_amounts=first_document_amounts() | derived,
        derived=frozenset(derived),
        many_lines_from=many_lines_from(histogram),
        median_lines=_two_places(quantile(histogram, Fraction(1, 2))),
        top_lines=_two_places(quantile(histogram, LINES_QUANTILE)),
    )


def _two_places(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"))


# -- the flagged documents ----------------------------------------------------------------------


def _flag_terms(rules: ReviewRules) -> dict[str, list[Q]]:
    """Each reason as the terms of an OR on a run's ReviewEntry rows, each term a range of one
    index once the run is added (the two signs of a change, and of an amount, are two ranges:
    a credit memo's are negative)."""

    def above(amount: Decimal) -> Q:
        return Q(amount__gt=amount) | Q(amount__lt=-amount)

    threshold = rules.threshold_percent + CHANGE_MARGIN
    named = dict(rules.first_document_amounts)
    fallback = named.pop("*", None)
    first = [
        Q(previous_amount__isnull=True, currency=currency) & above(amount)
        for currency, amount in named.items()
    ]
    if fallback is not None:
        first.append(Q(previous_amount__isnull=True) & ~Q(currency__in=named) & above(fallback))
    many = rules.many_lines_from
    return {
        CHANGE: [
            Q(change_percent__gt=threshold),
            Q(change_percent__lt=-threshold),
            Q(previous_amount=0) & ~Q(amount=0),  # from zero: no %, always a change
        ],
        FIRST: first,
        MANY_LINES: [Q(line_count__gte=many)] if many is not None else [],
    }


def _flags(rules: ReviewRules) -> dict[str, Q]:
    """Each reason as one condition on an entry (of the run already chosen)."""
    return {
        reason: reduce(operator.or_, terms) if terms else NOTHING
        for reason, terms in _flag_terms(rules).items()
    }


def _flagged(run: BillRun, rules: ReviewRules) -> Q:
    """The run's flagged entries, read as one index range per term of _flag_terms: on
    PostgreSQL an OR of the terms (a BitmapOr, then one visit of each flagged row); on SQLite
    the ids of a UNION ALL of the ranges, as SQLite plans an OR of ranges as one range each only
    while it has no statistics (after an ANALYZE it reads the whole table, every reviewed run's
    entries, instead)."""
    terms = [Q(term, bill_run=run) for terms in _flag_terms(rules).values() for term in terms]
    if connection.vendor == "postgresql":
        return reduce(operator.or_, terms)
    ranges = [ReviewEntry.objects.filter(term).values("pk") for term in terms]
    return Q(pk__in=ranges[0].union(*ranges[1:], all=True))


def flagged_documents(run: BillRun, rules: ReviewRules, *, sort: str = DEFAULT_SORT):
    """The run's flagged entries in the order `sort` names (account, amount, change,
    previous; "-" first for descending; nulls last either way; ties by document id in the same
    direction), each with `is_<reason>` booleans."""
    flags = _flags(rules)
    key = sort.lstrip("-")
    column = SORTS.get(key, SORTS[DEFAULT_SORT])
    descending = sort.startswith("-") and key in SORTS
    # Nulls last as a sort key of its own rather than NULLS LAST, so that no index gives the
    # order: PostgreSQL 15 would walk the run's whole (bill_run, change_percent) index for
    # `change`, expecting the LIMIT to stop it early, but the window counts need every flagged
    # row first (measured at 1,000,000 accounts: 0.9 s instead of 0.1 s).
    nulls_last = ExpressionWrapper(Q(**{f"{column}__isnull": True}), output_field=BooleanField())
    if descending:
        ordering = [nulls_last.asc(), F(column).desc(), F("document_id").desc()]
    else:
        ordering = [nulls_last.asc(), F(column).asc(), F("document_id").asc()]
    return (
        ReviewEntry.objects.filter(_flagged(run, rules))
        .annotate(
            is_change=ExpressionWrapper(flags[CHANGE], output_field=BooleanField()),
            is_first=ExpressionWrapper(flags[FIRST], output_field=BooleanField()),
            is_many_lines=ExpressionWrapper(flags[MANY_LINES], output_field=BooleanField()),
        )
        .order_by(*ordering)
    )


def normalised_sort(sort: str | None) -> str:
    """The `o` parameter if it names a sort key, else the default."""
    sort = sort or ""
    return sort if sort.lstrip("-") in SORTS else DEFAULT_SORT


# -- a page --------------------------------------------------------------------------------------

PAGE_FIELDS = (
    "number",
    "kind",
    "status",
    "amount",
    "currency",
    "document_date",
    "account__number",
    "account__name",
)


class _CountedPaginator(Paginator):
    """A paginator told its count (the page's query counted the flagged documents)."""

    def __init__(self, count: int, per_page: int):
        super().__init__([], per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _page_query(run: BillRun, rules: ReviewRules, sort: str, number: int, per_page: int):
    """One page of flagged entries, each row also carrying the counts of every flag (window
    aggregates over all the flagged entries): one query, reading only the flagged entries."""
    flags = _flags(rules)
    start = (number - 1) * per_page
    rows = (
        flagged_documents(run, rules, sort=sort)
        .annotate(
            flagged_total=Window(Count("pk")),
            change_total=Window(Count("pk", filter=flags[CHANGE])),
            first_total=Window(Count("pk", filter=flags[FIRST])),
            many_lines_total=Window(Count("pk", filter=flags[MANY_LINES])),
        )
        .values_list(
            *ROW_FIELDS, "flagged_total", "change_total", "first_total", "many_lines_total"
        )
    )
    return list(rows[start : start + per_page])


def review_page(
    run: BillRun, *, page=None, sort: str | None = None, per_page: int = PER_PAGE
) -> ReviewPage:
    """One page of the run's flagged documents with the counts of each flag, in three
    queries whatever the run's size (the prepared review, the page, its documents; two more for
    a page past the end, which shows the last page as every list does). While the review is
    being prepared, an empty page that says so (its tab polls until it is ready)."""
    sort = normalised_sort(sort)
    preparation = prepared_review(run)
    if not preparation.is_ready:
        return preparing_page(preparation, sort=sort, per_page=per_page)
    rules = review_rules(run, preparation)
    number = _page_number(page)
    rows = _page_query(run, rules, sort, number, per_page)
    if not rows and number > 1:
        total = flagged_documents(run, rules).count()
        number = max(1, math.ceil(total / per_page))
        rows = _page_query(run, rules, sort, number, per_page)
    counts = ReviewCounts(*rows[0][len(ROW_FIELDS) :]) if rows else ReviewCounts()
    page_rows = list(_rows([row[: len(ROW_FIELDS)] for row in rows]))
    paginator = _CountedPaginator(counts.flagged, per_page)
    return ReviewPage(
        rules=rules,
        counts=counts,
        page=Page(page_rows, number, paginator),
        sort=sort,
        preparation=preparation,
    )


def preparing_page(
    preparation: ReviewPreparation, *, sort: str | None = None, per_page: int = PER_PAGE
) -> ReviewPage:
    """The tab of a review being prepared: no rules, no rows."""
    empty = Page([], 1, _CountedPaginator(0, per_page))
    return ReviewPage(
        rules=None,
        counts=ReviewCounts(),
        page=empty,
        sort=normalised_sort(sort),
        preparation=preparation,
    )


# The entry's columns a row is made of (then its documents, read by id).
ROW_FIELDS = ("document_id", "previous_id", "line_count", "is_change", "is_first", "is_many_lines")


def _rows(entries: list[tuple]) -> Iterator[ReviewRow]:
    """The review's rows of these entries (ROW_FIELDS): one query for their documents and
    the previous ones."""
    documents = _documents_by_id(id_ for row in entries for id_ in row[:2] if id_ is not None)
    for pk, previous_id, lines, is_change, is_first, is_many_lines in entries:
        yield ReviewRow(
            document=documents[pk],
            previous=documents.get(previous_id),
            lines=lines,
            reasons=_reasons(is_change, is_first, is_many_lines),
        )


def _documents_by_id(ids) -> dict[int, BillingDocument]:
    ids = set(ids)
    if not ids:
        return {}
    documents = BillingDocument.objects.filter(pk__in=ids).select_related("account")
    return {document.pk: document for document in documents.only(*PAGE_FIELDS)}


def _reasons(is_change: bool, is_first: bool, is_many_lines: bool) -> tuple[str, ...]:
    flags = ((CHANGE, is_change), (FIRST, is_first), (MANY_LINES, is_many_lines))
    return tuple(reason for reason, on in flags if on)


# -- every flagged document (the export) --------------------------------------------------------

EXPORT_CHUNK = 2000


def review_rows(
    run: BillRun, *, sort: str | None = None, preparation: ReviewPreparation | None = None
) -> Iterator[ReviewRow]:
    """Every flagged document of the run in the tab's order, read EXPORT_CHUNK at a time: one
    query for the prepared review (none when given), one for the flagged entries, then one
    per chunk for the documents. ReviewNotReady while the review is being prepared: a view
    asks prepared_review first, as a stream cannot change its status once it has begun."""
    rules = review_rules(run, preparation)
    entries = flagged_documents(run, rules, sort=normalised_sort(sort)).values_list(*ROW_FIELDS)
    chunk: list[tuple] = []
    for row in entries.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(row)
        if len(chunk) == EXPORT_CHUNK:
            yield from _rows(chunk)
            chunk = []
    yield from _rows(chunk)
