"""Reads for the account pages. Each costs a fixed number of queries, however big the account."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from accounts.models import Account, Amendment, Charge, Subscription, UsageRecord

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
AMENDMENTS_PER_PAGE = 20
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
    subscriptions: Page  # each with .charge_count, .can_amend and .shown_charges
    charge_count: int
    pending_usage: Page
    amendments: Page  # newest first, each with .summary
    documents: list  # invoicing.BillingDocument: the most recent RECENT_DOCUMENTS
    more_documents: bool
    failures: list  # billruns.BillRunFailure: the most recent RECENT_FAILURES
    more_failures: bool


def account_detail(
    *,
    account: Account,
    today: dt.date,
    subscriptions_page: str | None = None,
    usage_page: str | None = None,
    history_page: str | None = None,
) -> AccountDetail:
    """Everything the account page shows. Page numbers come as typed in the URL: junk or out of
    range gives the nearest real page. `today` tells which charges have ended."""
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
        subscription.can_amend = subscription.status == Subscription.Status.ACTIVE
        subscription.shown_charges = charges_by_subscription.get(subscription.pk, [])
        for charge in subscription.shown_charges:
            # What the page offers; the services still decide (a date before the start, …).
            charge.can_remove = (
                subscription.can_amend
                and not charge.has_successor
                and (charge.effective_end is None or charge.effective_end >= today)
            )
            charge.can_change = (
                charge.can_remove and charge.charge_type != Charge.ChargeType.ONE_TIME
            )
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
    amendments = Paginator(
        Amendment.objects.filter(subscription__account=account)
        .select_related("subscription", "charge", "actor")
        .only(
            "kind",
            "effective_date",
            "at",
            "details",
            "subscription__number",
            "charge__number",
            "actor__username",
        )
        .order_by("-at", "-id"),
        AMENDMENTS_PER_PAGE,
    ).get_page(history_page)
    page_amendments = list(amendments.object_list) if amendments.paginator.count else []
    for amendment in page_amendments:
        amendment.summary = describe_amendment(amendment.kind, amendment.details)
    amendments.object_list = page_amendments
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
        amendments=amendments,
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
            position=Window(RowNumber(), partition_by=[F("subscription_id")], order_by="number"),
            has_successor=Exists(Charge.objects.filter(replaces=OuterRef("pk"))),
        )
        .filter(position__lte=CHARGES_PER_SUBSCRIPTION)
        .order_by("subscription_id", "number")
    )
    grouped = defaultdict(list)
    for charge in charges:
        grouped[charge.subscription_id].append(charge)
    return grouped


def subscriptions() -> QuerySet[Subscription]:
    """Subscriptions with their account, for the amendment pages."""
    return Subscription.objects.select_related("account")


def charges() -> QuerySet[Charge]:
    """Charges with their subscription and account, for the amendment pages."""
    return Charge.objects.select_related("subscription", "account")


def subscription_charges(*, subscription: Subscription) -> list[Charge]:
    """The first charges of a subscription, as its account page shows them."""
    return list(subscription.charges.order_by("number")[:CHARGES_PER_SUBSCRIPTION])


# -- what the next bill run does after an amendment -------------------------------------------


@dataclass(frozen=True)
class Credit:
    """Billed days of a charge that the next bill run credits back (DESIGN §5 credit back)."""

    charge: Charge
    start: dt.date
    end: dt.date


def credits_after(*, charges: Iterable[Charge], first_day: dt.date) -> list[Credit]:
    """The credits the next bill run writes once `charges` stop serving on `first_day`: the days
    from their new last billable day + 1 (not before their start) to `charged_through`, for the
    charges billed beyond it. Usage and one-time charges are never credited back."""
    credits = []
    for charge in charges:
        if charge.charge_type != Charge.ChargeType.RECURRING or charge.charged_through is None:
            continue
        last_day = first_day - dt.timedelta(days=1)
        if charge.effective_end is not None:
            last_day = min(last_day, charge.effective_end)
        start = max(last_day + dt.timedelta(days=1), charge.effective_start)
        if charge.charged_through >= start:
            credits.append(Credit(charge=charge, start=start, end=charge.charged_through))
    return credits


def cancellation_credits(*, subscription: Subscription, cancel_date: dt.date) -> list[Credit]:
    """What the next bill run credits back when `subscription` is canceled from `cancel_date`,
    in one query over its billed recurring charges."""
    billed = subscription.charges.filter(
        charge_type=Charge.ChargeType.RECURRING, charged_through__isnull=False
    ).order_by("number")
    return credits_after(charges=billed, first_day=cancel_date)


# -- the amendment history --------------------------------------------------------------------


def describe_amendment(kind: str, details: dict) -> str:
    """An amendment's details as a sentence an operator reads at a glance:
    "price 30 → 35; successor C00000012"."""
    if not isinstance(details, dict):
        return ""
    if kind == Amendment.Kind.CANCEL:
        ended = details.get("charges_ended") or []
        return f"ended {', '.join(ended)}" if ended else "no charge was running"
    if kind == Amendment.Kind.ADD_CHARGE:
        parts = [
            f"{key} {details[key]}" for key in ("price", "quantity") if details.get(key) is not None
        ]
        if details.get("tiers"):
            parts.insert(0, _shown("tiers", details["tiers"]))
        name = details.get("name", "")
        return f"{name}: {', '.join(parts)}" if name and parts else name or ", ".join(parts)
    parts = []
    for key, value in details.items():
        label = key.replace("_", " ")
        if isinstance(value, list) and len(value) == 2 and key != "charges_ended":
            before, after = value
            parts.append(f"{label} {_shown(key, before)} → {_shown(key, after)}")
        elif isinstance(value, list):
            parts.append(f"{label} {', '.join(str(item) for item in value)}")
        else:
            parts.append(f"{label} {_shown(key, value)}")
    return "; ".join(parts)


def _shown(key: str, value) -> str:
    if key == "tiers" and isinstance(value, list):
        return f"{len(value)} tier{'' if len(value) == 1 else 's'}"
    if value is None:
        return "open" if key.endswith("end") else "none"
    return str(value)


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


# How many same-named accounts an ambiguous typed name lists.
NAMED_SHOWN = 5


def accounts_typed(text: str) -> list[Account]:
    """What an account field typed by hand means, when no suggestion was picked: the account
    with that number, else the accounts named exactly that (any case), the Active ones when
    there are any (only they can be billed). More than one is ambiguous; at most
    NAMED_SHOWN + 1 are read. The name is compared without an index (as the suggestions'
    part-of-the-name search is), once per form sent."""
    text = text.strip()
    if not text:
        return []
    by_number = Account.objects.filter(number=text.upper()).only("number", "name", "status")
    if found := list(by_number):
        return found
    named = Account.objects.filter(name__iexact=text).only("number", "name", "status")
    named = named.order_by("number")
    return list(named.billable()[: NAMED_SHOWN + 1]) or list(named[: NAMED_SHOWN + 1])


def account_links(numbers: list[str]) -> list[tuple[str, str]]:
    """(number, page URL) of these accounts, in the order given: one query."""
    ids = dict(Account.objects.filter(number__in=numbers).values_list("number", "pk"))
    return [
        (number, reverse("accounts:detail", args=[ids[number]]))
        for number in numbers
        if number in ids
    ]
