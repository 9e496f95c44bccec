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

Cost, whatever the run's size: a page is three queries (the run's line-count histogram; the
page's ids with the counts of each flag as window aggregates over the flagged documents; the
page's documents and their previous ones). Each of the first two walks the run's documents once
through the (bill_run, kind, status) index with, per document, one probe of the lines' document
index and one of the documents' (account, document_date) index for the previous document. The
flags are decided in SQL so that the counts, the page and the export agree; on SQLite amounts are
floats there, so the one comparison that could tie (a change of exactly the threshold) is made
with a margin below the smallest difference two stored amounts can make.
"""

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Abs, Cast, Coalesce, NullIf
from django.utils.functional import cached_property

from billruns.models import BillRun
from core.money import stored_amount
from core.paging import PER_PAGE
from invoicing.models import AMOUNT, BillingDocument, DocumentLine

# The runs whose documents are all written and not voided: the review is of these.
REVIEW_STATUSES = frozenset(
    {BillRun.Status.COMPLETED, BillRun.Status.POST_IN_PROGRESS, BillRun.Status.POSTED}
)

CHANGE = "Change above threshold"
FIRST = "First document above amount"
MANY_LINES = "Many lines"

# MANY_LINES: above this quantile of the run's line counts, and at least FACTOR x its median.
LINES_QUANTILE = Fraction(99, 100)
LINES_MEDIAN_FACTOR = 3

# Sort keys (the `o` parameter, as every list's; "-key" descending) → the ordering columns.
SORTS = {
    "account": "account__number",
    "amount": "signed_amount",
    "change": "change_percent",
    "previous": "previous_signed_amount",
}
DEFAULT_SORT = "account"

# Stored amounts have at most 3 decimals and the threshold 2, so |this - previous| x 100 -
# threshold x |previous| is a multiple of 0.00001: "> 0" is "> half of that", which SQLite's
# float arithmetic cannot get wrong for amounts below a hundred million.
CHANGE_MARGIN = Decimal("0.000005")
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

    @property
    def first_document_amounts_text(self) -> str:
        """The amounts as the tab says them: "1,000 of that currency (JPY 100,000)"."""
        amounts = dict(self.first_document_amounts)
        others = amounts.pop("*", None)
        named = ", ".join(f"{currency} {amount:,f}" for currency, amount in sorted(amounts.items()))
        if others is None:
            return f"{named or 'no amount'} (other currencies: never)"
        return f"{others:,f} of that currency{f' ({named})' if named else ''}"


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
    rules: ReviewRules
    counts: ReviewCounts
    page: Page  # of ReviewRow
    sort: str


def signed_amount(document: BillingDocument) -> Decimal:
    """The document's amount as the review compares it: a credit memo's negated."""
    amount = stored_amount(document.amount, document.currency)
    return -amount if document.is_credit_memo else amount


def first_document_amounts() -> dict[str, Decimal]:
    """Currency → the amount above which its first document is flagged, "*" for every currency
    not named (setting BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS; a currency neither named nor
    covered by "*" is never flagged as a first document)."""
    amounts = settings.BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS
    return {currency: Decimal(str(amount)) for currency, amount in amounts.items()}


# -- the rules ---------------------------------------------------------------------------------


def _run_documents(run: BillRun) -> QuerySet[BillingDocument]:
    return BillingDocument.objects.filter(bill_run=run).exclude(
        status=BillingDocument.Status.CANCELED
    )


def _line_count() -> Coalesce:
    """The document's number of lines: one probe of the lines' document index."""
    lines = (
        DocumentLine.objects.filter(document=OuterRef("pk"))
        .order_by()
        .values("document")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(lines, output_field=IntegerField()), Value(0))


def line_count_histogram(run: BillRun) -> dict[int, int]:
    """Line count → how many of the run's documents have that many lines: one query, and a
    short answer whatever the run's size."""
    rows = (
        _run_documents(run)
        .annotate(line_count=_line_count())
        .values("line_count")
        .annotate(documents=Count("pk"))
        .order_by()
        .values_list("line_count", "documents")
    )
    return dict(rows)


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


def review_rules(run: BillRun) -> ReviewRules:
    """The run's rules: its threshold, the setting's amounts, its line-count statistics (one
    query)."""
    histogram = line_count_histogram(run)
    return ReviewRules(
        threshold_percent=run.review_threshold_percent,
        first_document_amounts=first_document_amounts(),
        many_lines_from=many_lines_from(histogram),
        median_lines=_two_places(quantile(histogram, Fraction(1, 2))),
        top_lines=_two_places(quantile(histogram, LINES_QUANTILE)),
    )


def _two_places(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"))


# -- the flagged documents ----------------------------------------------------------------------


def _signed() -> Case:
    """The amount, negated for a credit memo, in SQL."""
    return Case(
        When(kind=BillingDocument.Kind.CREDIT_MEMO, then=-F("amount")),
        default=F("amount"),
        output_field=DecimalField(**AMOUNT),
    )


def previous_documents(run: BillRun) -> QuerySet[BillingDocument]:
    """The documents an (outer) document of `run` is compared with, the previous one first:
    same account and currency, not Canceled, not the run's own, before it by (document_date,
    id). The `document_date <= …` bound lets the (account, document_date) index start at the
    outer document's date and walk back to the first that qualifies."""
    return (
        BillingDocument.objects.filter(
            account=OuterRef("account"),
            currency=OuterRef("currency"),
            document_date__lte=OuterRef("document_date"),
        )
        .filter(Q(document_date__lt=OuterRef("document_date")) | Q(pk__lt=OuterRef("pk")))
        .exclude(status=BillingDocument.Status.CANCELED)
        .exclude(bill_run=run)
        .order_by("-document_date", "-pk")
    )


def _previous(run: BillRun, expression, output_field) -> Subquery:
    """One figure of the previous document (NULL when there is none), in one index probe."""
    figure = previous_documents(run).annotate(figure=expression).values("figure")[:1]
    return Subquery(figure, output_field=output_field)


def _as_float(expression):
    return Cast(expression, FloatField())


def _documents(run: BillRun, rules: ReviewRules) -> QuerySet[BillingDocument]:
    """The run's documents (not Canceled) with the review's figures as aliases: computed only
    where a filter, an order or an annotation names them.

    - signed_amount; line_count;
    - change_excess: |this - previous| x 100 - threshold x |previous|, positive when the
      change is above the threshold, NULL without a previous document (computed inside the
      previous document's subquery: one probe);
    - previous_signed_amount, change_percent (a float, NULL from 0.00): for sorting only; the
      page shows the exact figures computed from the Decimals.
    """
    threshold = Value(
        rules.threshold_percent, output_field=DecimalField(max_digits=7, decimal_places=2)
    )
    previous = _signed()
    this = OuterRef("signed_amount")
    excess = Abs(this - previous) * Value(100) - threshold * Abs(previous)
    change = ExpressionWrapper(
        (_as_float(this) - _as_float(previous))
        * Value(100.0)
        / NullIf(Abs(_as_float(previous)), Value(0.0)),
        output_field=FloatField(),
    )
    return (
        _run_documents(run)
        .alias(signed_amount=_signed(), line_count=_line_count())
        .alias(
            change_excess=_previous(run, excess, DecimalField(max_digits=30, decimal_places=6)),
            previous_signed_amount=_previous(run, previous, DecimalField(**AMOUNT)),
            change_percent=_previous(run, change, FloatField()),
        )
    )


def _flags(rules: ReviewRules) -> dict[str, Q]:
    """Each reason as a condition on _documents' aliases. Cheap tests come first (SQL stops
    at the first false term), so a document below its first-document amount costs no probe for
    FIRST."""
    named = dict(rules.first_document_amounts)
    fallback = named.pop("*", None)
    above = NOTHING
    if fallback is not None:
        above = Q(amount__gt=fallback) & ~Q(currency__in=list(named))
    for currency, amount in named.items():
        above |= Q(currency=currency, amount__gt=amount)
    many = rules.many_lines_from
    return {
        CHANGE: Q(change_excess__gt=CHANGE_MARGIN),
        FIRST: above & Q(change_excess__isnull=True),
        MANY_LINES: Q(line_count__gte=many) if many is not None else NOTHING,
    }


def flagged_documents(run: BillRun, rules: ReviewRules, *, sort: str = DEFAULT_SORT):
    """The run's flagged documents in the order `sort` names (account, amount, change,
    previous; "-" first for descending; nulls last either way; ties by id in the same
    direction), each with `is_<reason>` booleans and its previous document's id."""
    flags = _flags(rules)
    key = sort.lstrip("-")
    column = SORTS.get(key, SORTS[DEFAULT_SORT])
    descending = sort.startswith("-") and key in SORTS
    if descending:
        ordering = [F(column).desc(nulls_last=True), F("pk").desc()]
    else:
        ordering = [F(column).asc(nulls_last=True), F("pk").asc()]
    return (
        _documents(run, rules)
        .filter(flags[CHANGE] | flags[FIRST] | flags[MANY_LINES])
        .annotate(
            previous_id=_previous(run, F("pk"), IntegerField()),
            number_of_lines=F("line_count"),
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
    """One page of flagged ids, each row also carrying the counts of every flag (window
    aggregates over all the flagged documents): one query, one walk of the run's documents."""
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
            "pk",
            "previous_id",
            "number_of_lines",
            "is_change",
            "is_first",
            "is_many_lines",
            "flagged_total",
            "change_total",
            "first_total",
            "many_lines_total",
        )
    )
    return list(rows[start : start + per_page])


def review_page(
    run: BillRun, *, page=None, sort: str | None = None, per_page: int = PER_PAGE
) -> ReviewPage:
    """One page of the run's flagged documents with the counts of each flag, in three
    queries whatever the run's size (four or five for a page past the end, which shows the
    last page as every list does)."""
    rules = review_rules(run)
    sort = normalised_sort(sort)
    number = _page_number(page)
    rows = _page_query(run, rules, sort, number, per_page)
    if not rows and number > 1:
        total = flagged_documents(run, rules).count()
        number = max(1, math.ceil(total / per_page))
        rows = _page_query(run, rules, sort, number, per_page)
    counts = ReviewCounts(*rows[0][6:]) if rows else ReviewCounts()
    documents = _documents_by_id(id_ for row in rows for id_ in row[:2] if id_ is not None)
    page_rows = [
        ReviewRow(
            document=documents[pk],
            previous=documents.get(previous_id),
            lines=lines,
            reasons=_reasons(is_change, is_first, is_many_lines),
        )
        for pk, previous_id, lines, is_change, is_first, is_many_lines, *_ in rows
    ]
    paginator = _CountedPaginator(counts.flagged, per_page)
    return ReviewPage(
        rules=rules, counts=counts, page=Page(page_rows, number, paginator), sort=sort
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


def review_rows(run: BillRun, *, sort: str | None = None) -> Iterator[ReviewRow]:
    """Every flagged document of the run in the tab's order, read EXPORT_CHUNK at a time: one
    query for the rules, one for the flagged ids, then one per chunk for the documents."""
    rules = review_rules(run)
    rows = flagged_documents(run, rules, sort=normalised_sort(sort)).values_list(
        "pk", "previous_id", "number_of_lines", "is_change", "is_first", "is_many_lines"
    )
    chunk: list[tuple] = []
    for row in rows.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(row)
        if len(chunk) == EXPORT_CHUNK:
            yield from _chunk_rows(chunk)
            chunk = []
    yield from _chunk_rows(chunk)


def _chunk_rows(chunk: list[tuple]) -> Iterator[ReviewRow]:
    documents = _documents_by_id(id_ for row in chunk for id_ in row[:2] if id_ is not None)
    for pk, previous_id, lines, is_change, is_first, is_many_lines in chunk:
        yield ReviewRow(
            document=documents[pk],
            previous=documents.get(previous_id),
            lines=lines,
            reasons=_reasons(is_change, is_first, is_many_lines),
        )
