"""Reads for bill runs: which accounts a run bills, and what each bill run page shows."""

from decimal import Decimal

from django.db.models import Count, F, QuerySet, Sum

from accounts.models import Account
from billruns.amounts import add_amounts
from billruns.models import BillRun, BillRunChunk, BillRunEvent, BillRunFailure, RunCounters
from billruns.terms import RunTerms
from invoicing.models import BillingDocument
from invoicing.selectors import CurrencyTotals

# The statuses a long transition passes through; a run leaving one backwards has stopped.
IN_PROGRESS = (BillRun.Status.POST_IN_PROGRESS, BillRun.Status.CANCEL_IN_PROGRESS)


def accounts_in_scope(terms: RunTerms) -> QuerySet[Account]:
    """Active accounts a run with these terms bills (Draft and Canceled ones never are)."""
    accounts = Account.objects.billable()
    if terms.retry_of is not None:
        accounts = accounts.filter(
            id__in=BillRunFailure.objects.filter(bill_run=terms.retry_of).values("account_id")
        )
    if terms.single:
        return accounts.filter(pk=terms.account.pk if terms.account else None)
    if terms.batches:
        accounts = accounts.filter(batch__in=terms.batches)
    day, last_day = terms.bill_cycle_day, terms.bill_cycle_day_to
    if day is not None and last_day not in (None, day):
        accounts = accounts.filter(bill_cycle_day__range=(day, last_day))
    elif day is not None:
        accounts = accounts.filter(bill_cycle_day=day)
    return accounts


def run_scope(run: BillRun) -> QuerySet[Account]:
    return accounts_in_scope(RunTerms.of_run(run))


# -- pages -------------------------------------------------------------------------------------

LIST_FIELDS = [
    "number",
    "name",
    "run_type",
    "target_type",
    "account__number",
    "batches",
    "bill_cycle_day",
    "invoice_date",
    "target_date",
    "status",
    "number_of_accounts",
    "number_of_invoices",
    "number_of_credit_memos",
    "number_of_failures",
    "bill_cycle_day_to",
    "created_at",
    "created_by__username",
    "retry_of_id",
    "retry_of__number",
]
TAB_FILTERS = {
    "invoices": BillingDocument.Kind.INVOICE,
    "credit-memos": BillingDocument.Kind.CREDIT_MEMO,
}


def bill_run_list() -> QuerySet[BillRun]:
    """The columns of the bill runs list; filters and sort come from billruns.filters."""
    return BillRun.objects.select_related("account", "created_by", "retry_of").only(*LIST_FIELDS)


def bill_run_totals(runs: QuerySet[BillRun]) -> list[CurrencyTotals]:
    """The invoice and credit memo amounts of these runs per currency (in currency order),
    added up in Python from each run's amounts_by_currency: never an SQL SUM of money
    (DESIGN §3). One query, reading that one column of each run, streamed. Runs are few (a
    run a day for thirty years is 11,000; adding that many takes milliseconds), so every
    matching run is read; if a list ever held hundreds of thousands, it would want the totals
    kept per day instead."""
    per_currency: dict[str, dict[str, Decimal]] = {}
    amounts_of_runs = runs.order_by().values_list("amounts_by_currency", flat=True)
    for amounts in amounts_of_runs.iterator(chunk_size=2000):
        add_amounts(per_currency, amounts)
    return [
        CurrencyTotals(
            currency=currency,
            invoice_amount=totals["invoice"],
            credit_memo_amount=totals["credit_memo"],
        )
        for currency, totals in sorted(per_currency.items())
    ]


def amount_rows(amounts_by_currency: dict) -> list[tuple[str, str, str]]:
    """(currency, invoiced, credited) for a run's or a preview's Amounts table."""
    return [
        (currency, amounts.get("invoice", "0"), amounts.get("credit_memo", "0"))
        for currency, amounts in amounts_by_currency.items()
    ]


def run_created_with(idempotency_key: str) -> BillRun | None:
    """The run a form (or an API call) already created with this key, if any."""
    return BillRun.objects.filter(idempotency_key=idempotency_key).first()


def run_or_none(pk: int) -> BillRun | None:
    """The run, or None once it is deleted (the progress fragment polls it)."""
    return BillRun.objects.filter(pk=pk).first()


def bill_run_detail() -> QuerySet[BillRun]:
    """A run with every user and link its page names, in one query."""
    return BillRun.objects.select_related(
        "account", "created_by", "updated_by", "posted_by", "canceled_by", "schedule", "retry_of"
    )


def document_counts(run: BillRun) -> dict[str, int]:
    """Documents of the run per status, in one grouped query on the (bill_run, kind, status)
    index."""
    rows = (
        BillingDocument.objects.filter(bill_run=run)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def stopped_transition(run: BillRun) -> BillRunEvent | None:
    """The run's last History row if it says a posting or a cancel stopped and gave the run
    back (its message is the reason the run's page shows); else None."""
    last = BillRunEvent.objects.filter(bill_run=run).order_by("-at", "-id").first()
    returned = last is not None and last.from_status in IN_PROGRESS and last.to_status in (
        BillRun.Status.COMPLETED, BillRun.Status.ERROR, BillRun.Status.PENDING
    )  # fmt: skip
    return last if returned else None


def chunks_rolled_back(run: BillRun) -> int:
    """How many of a cancel's chunks are rolled back (its progress)."""
    if run.rolled_back_through is None:
        return 0
    return run.chunks.filter(last_account_id__lte=run.rolled_back_through).count()


def recent_retries(run: BillRun) -> list[BillRun]:
    return list(run.retries.only("number", "status", "retry_of_id")[:5])


def run_counts(run: BillRun) -> dict[str, int]:
    """The run's counts by name (`number_of_invoices`, …). A Processing run writes its own
    when it completes: until then, its done chunks' counts added up (one query). A chunk that
    failed for good is done too (`chunks_done` counts it): its accounts are counted, as
    failures, as they are once the run completes (finalize.run_statistics)."""
    if run.status != BillRun.Status.PROCESSING:
        return {name: getattr(run, name) for name in RunCounters.COUNTS}
    finished = (BillRunChunk.Status.DONE, BillRunChunk.Status.FAILED)
    done = BillRunChunk.objects.filter(bill_run=run, status__in=finished)
    sums = done.aggregate(**{name: Sum(name) for name in RunCounters.COUNTS})
    return {name: sums[name] or 0 for name in RunCounters.COUNTS}


def tab_rows(run: BillRun, tab: str) -> QuerySet:
    """The rows of one tab of the run's page: invoices, credit memos, failures or History."""
    if tab in TAB_FILTERS:
        return (
            BillingDocument.objects.filter(bill_run=run, kind=TAB_FILTERS[tab])
            .select_related("account")
            .only(
                "number",
                "kind",
                "status",
                "amount",
                "currency",
                "document_date",
                "due_date",
                "account__number",
                "account__name",
            )
            # By number, as an operator looks them up (numbers follow no order of creation
            # across chunks); an unnumbered document last.
            .order_by(F("number").asc(nulls_last=True), "id")
        )
    if tab == "failed":
        return (
            BillRunFailure.objects.filter(bill_run=run)
            .select_related("account", "subscription", "charge")
            .only(
                "error_code",
                "message",
                "created_at",
                "account__number",
                "account__name",
                "subscription__number",
                "charge__number",
                "charge__name",
            )
            .order_by("account_id", "id")
        )
    return BillRunEvent.objects.filter(bill_run=run).select_related("actor").order_by("-at", "-id")


def home_page() -> dict:
    """The home page's figures in two queries whatever the data size: one grouped count, one
    short list."""
    by_status = dict(Account.objects.values_list("status").annotate(n=Count("id")).order_by())
    recent_runs = list(
        BillRun.objects.select_related("created_by").only(
            "number",
            "name",
            "status",
            "target_date",
            "created_at",
            "number_of_failures",
            "amounts_by_currency",
            "created_by__username",
        )[:5]
    )
    return {
        "accounts_total": sum(by_status.values()),
        "accounts_active": by_status.get(Account.Status.ACTIVE, 0),
        "accounts_by_status": [
            (status.label, by_status.get(status.value, 0)) for status in Account.Status
        ],
        "recent_runs": recent_runs,
    }
