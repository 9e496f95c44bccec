"""Reads for the account pages. Each costs a fixed number of queries, however big the account."""

from collections import defaultdict
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from accounts.models import Account, Charge, Subscription, UsageRecord

LIST_COLUMNS = (
    "number",
    "name",
    "status",
    "batch",
    "bill_cycle_day",
    "currency",
    "bill_to_email",
)
SUBSCRIPTIONS_PER_PAGE = 50
# A subscription rarely has more than a few charges; past this many the page points to the admin
# rather than growing without bound (50 subscriptions × 20 charges at most).
CHARGES_PER_SUBSCRIPTION = 20
USAGE_PER_PAGE = 50
RECENT_DOCUMENTS = 20
RECENT_FAILURES = 10
OPTIONS_LIMIT = 20


def account_list(*, queryset: QuerySet[Account] | None = None) -> QuerySet[Account]:
    """The columns of the accounts list; ordering and filters come from accounts.filters."""
    queryset = Account.objects.all() if queryset is None else queryset
    return queryset.only(*LIST_COLUMNS)


def any_account() -> bool:
    return Account.objects.exists()


@dataclass(frozen=True)
class AccountDetail:
    account: Account
    subscriptions: Page  # each with .charge_count and .shown_charges
    charge_count: int
    pending_usage: Page
    documents: list  # invoicing.BillingDocument: the most recent RECENT_DOCUMENTS
    more_documents: bool
    failures: list  # billruns.BillRunFailure: the most recent RECENT_FAILURES
    more_failures: bool


def account_detail(
    *, account: Account, subscriptions_page: str | None = None, usage_page: str | None = None
) -> AccountDetail:
    """Everything the account page shows. Page numbers come as typed in the URL: junk or out of
    range gives the nearest real page."""
    subscriptions = Paginator(
        Subscription.objects.filter(account=account)
        .annotate(charge_count=Count("charges"))
        .order_by("number", "id"),
        SUBSCRIPTIONS_PER_PAGE,
    ).get_page(subscriptions_page)
    page_subscriptions = list(subscriptions.object_list)
    charges_by_subscription = _charges_of(
        account=account, subscription_ids=[sub.pk for sub in page_subscriptions]
    )
    for subscription in page_subscriptions:
        subscription.shown_charges = charges_by_subscription.get(subscription.pk, [])
    subscriptions.object_list = page_subscriptions

    pending_usage = Paginator(
        UsageRecord.objects.filter(account=account, status=UsageRecord.Status.PENDING)
        # Late: dated in a period the charge has already billed, which no run bills again.
        .annotate(late=Q(usage_date__lte=F("charge__charged_through")))
        .select_related("charge")
        .only("usage_date", "quantity", "source", "charge__number", "charge__name", "charge__uom")
        .order_by("-usage_date", "-id"),
        USAGE_PER_PAGE,
    ).get_page(usage_page)
    documents = list(
        # Documents and failures belong to the apps above this one: they are reached through
        # the reverse relations their foreign keys define, never imported (DESIGN §2).
        account.documents.all()
        .only("account", "kind", "number", "document_date", "amount", "currency", "status")
        .order_by("-document_date", "-id")[: RECENT_DOCUMENTS + 1]
    )
    failures = list(
        account.bill_run_failures.all()
        .select_related("bill_run")
        .only("account", "error_code", "message", "created_at", "bill_run__number")
        .order_by("-id")[: RECENT_FAILURES + 1]
    )
    return AccountDetail(
        account=account,
        subscriptions=subscriptions,
        charge_count=Charge.objects.filter(account=account).count(),
        pending_usage=pending_usage,
        # One row past the limit tells whether there are older ones, without a count.
        documents=documents[:RECENT_DOCUMENTS],
        more_documents=len(documents) > RECENT_DOCUMENTS,
        failures=failures[:RECENT_FAILURES],
        more_failures=len(failures) > RECENT_FAILURES,
    )


def _charges_of(*, account: Account, subscription_ids: list[int]) -> dict[int, list[Charge]]:
    """The first charges of each subscription, in one query, grouped by subscription."""
    if not subscription_ids:
        return {}
    charges = (
        Charge.objects.filter(account=account, subscription_id__in=subscription_ids)
        .annotate(
            position=Window(RowNumber(), partition_by=[F("subscription_id")], order_by="number")
        )
        .filter(position__lte=CHARGES_PER_SUBSCRIPTION)
        .order_by("subscription_id", "number")
    )
    grouped = defaultdict(list)
    for charge in charges:
        grouped[charge.subscription_id].append(charge)
    return grouped


def account_options(*, query: str) -> list[Account]:
    """Active accounts for the bill run form's account field: number prefix or part of the name.

    One query; nothing for an empty query (the field asks once something is typed).
    """
    query = query.strip()
    if not query:
        return []
    return list(
        Account.objects.billable()
        .filter(Q(number__startswith=query.upper()) | Q(name__icontains=query))
        .only("number", "name", "currency")
        .order_by("number")[:OPTIONS_LIMIT]
    )
