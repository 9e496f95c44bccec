"""Read one range of a run's accounts and rate them, writing nothing: the first half of a bill
run's chunk (billruns.execution writes what it returns) and the whole of a billing preview's
(billruns.preview.execution keeps CSV rows of it). One code path, so a preview bills exactly
what the run will (DESIGN §11).

A constant number of queries, whatever the range's size: the accounts, their open charges, the
charges' subscriptions, the lines to credit back (only when a charge owes some) and the
pending usage.
"""

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import F, TextField
from django.db.models.functions import Cast

from accounts.models import Charge, Subscription, UsageRecord
from billruns import changes
from billruns.selectors import accounts_in_scope
from billruns.terms import RunTerms
from invoicing.rating.engine import (
    AccountInput,
    AccountRating,
    ChargeInput,
    RatingError,
    UsageInput,
    rate_account,
)

# A charge as the chunk reads it: ChargeInput's fields in its order (account_id aside), then
# its subscription's. Read positionally: a chunk reads thousands.
CHARGE_FIELDS = (
    "id", "number", "subscription_id", "account_id", "name", "charge_type", "charge_model",
    "price", "quantity", "tiers_text", "billing_period", "billing_timing", "effective_start",
    "effective_end", "charged_through",
)  # fmt: skip
# What the engine needs of a charge's subscription: its term (and renewal) and cancellation;
# and its number, for a preview's rows.
SUBSCRIPTION_FIELDS = (
    "term_start", "term_end", "auto_renew", "renewal_term_months", "canceled_on", "number",
)  # fmt: skip
ACCOUNT_ID_AT = CHARGE_FIELDS.index("account_id")
SUBSCRIPTION_ID_AT = CHARGE_FIELDS.index("subscription_id")
SUBSCRIPTION_AT = len(CHARGE_FIELDS)
TERM_END_AT = SUBSCRIPTION_AT + SUBSCRIPTION_FIELDS.index("term_end")
AUTO_RENEW_AT = SUBSCRIPTION_AT + SUBSCRIPTION_FIELDS.index("auto_renew")
CANCELED_ON_AT = SUBSCRIPTION_AT + SUBSCRIPTION_FIELDS.index("canceled_on")
SUBSCRIPTION_NUMBER_AT = SUBSCRIPTION_AT + SUBSCRIPTION_FIELDS.index("number")


class Split:
    """Seconds a chunk spent in each phase, lap by lap (printed by bench_bill_run)."""

    PHASES = ("read", "rate", "build", "write", "commit")

    def __init__(self):
        self.seconds = dict.fromkeys(self.PHASES, 0.0)
        self._at = time.perf_counter()

    def lap(self, phase: str) -> None:
        """The time since the last lap was spent in `phase`."""
        now = time.perf_counter()
        self.seconds[phase] += now - self._at
        self._at = now


@dataclass
class RatedChunk:
    """A chunk's accounts as read and rated, before anything is written."""

    accounts: list[dict]  # id, number, currency, bill_cycle_day, payment_term_days; id order
    charges: dict[int, ChargeInput]  # every charge read, by id (its cursor as read)
    subscription_numbers: dict[int, str]
    ratings: list[AccountRating]  # of the accounts rated without error
    failures: list[tuple[int, RatingError]]  # (account id, why), the accounts a run would skip
    renewals: list[changes.Renewal]  # of the rated accounts' subscriptions


def rate_chunk(
    terms: RunTerms, account_range: tuple[int, int], *, lock: bool, split: Split
) -> RatedChunk:
    """Read one range of a run's accounts, their open charges (with the lines to credit back
    and their subscriptions' renewals) and pending usage, and rate them in memory: the one code
    path of a bill run's chunk and of a billing preview's (DESIGN §11). Writes nothing.

    `lock` (a bill run) locks the accounts in id order so that two runs never bill one account
    at once; a preview reads without locks and never blocks a run.
    """
    accounts = _read_accounts(terms, account_range, lock=lock)
    ids = [account["id"] for account in accounts]
    read = _read_charges(terms, ids)
    usage = _read_usage(terms, ids)
    split.lap("read")
    ratings: list[AccountRating] = []
    failures: list[tuple[int, RatingError]] = []
    for account in accounts:
        try:
            ratings.append(
                rate_account(
                    AccountInput(
                        id=account["id"],
                        currency=account["currency"],
                        bill_cycle_day=account["bill_cycle_day"],
                        charges=read.by_account.get(account["id"], ()),
                        usage=usage.get(account["id"], ()),
                    ),
                    target_date=terms.target_date,
                    charge_types=terms.charge_types,
                )
            )
        except RatingError as error:
            failures.append((account["id"], error))
    split.lap("rate")
    rated = {rating.account_id for rating in ratings}
    return RatedChunk(
        accounts=accounts,
        charges={
            charge.id: charge
            for account_charges in read.by_account.values()
            for charge in account_charges
        },
        subscription_numbers=read.subscription_numbers,
        ratings=ratings,
        failures=failures,
        renewals=[
            renewal
            for renewal in read.renewals.values()
            if read.accounts_of[renewal.subscription_id] in rated
        ],
    )


def _read_accounts(terms: RunTerms, account_range: tuple[int, int], *, lock: bool) -> list[dict]:
    """The range's accounts in the run's scope, in id order; locked (FOR UPDATE) for a run, so
    that two runs never bill one account at once.

    SQLite ignores FOR UPDATE: its IMMEDIATE transactions already serialise writers.
    """
    accounts = accounts_in_scope(terms).filter(id__range=account_range)
    if lock and connection.features.has_select_for_update:
        accounts = accounts.select_for_update(of=("self",))
    return list(
        accounts.order_by("id").values(
            "id", "number", "currency", "bill_cycle_day", "payment_term_days"
        )
    )


class ChargesRead(NamedTuple):
    by_account: dict[int, list[ChargeInput]]
    renewals: dict[int, changes.Renewal]
    accounts_of: dict[int, int]  # subscription id → account id
    subscription_numbers: dict[int, str]


def _read_charges(terms: RunTerms, account_ids: list[int]) -> ChargesRead:
    """Open charges of the included types, with their subscription's term (renewed where the
    run's target date passes it) and cancellation, and the lines to credit back where they
    billed past their last billable day. Also the renewals, each subscription's account and
    number. Fully billed charges are skipped in SQL."""
    charge_rows = list(
        Charge.objects.filter(account_id__in=account_ids, charge_type__in=terms.charge_types)
        .exclude(charge_type=Charge.ChargeType.ONE_TIME, charged_through__isnull=False)
        .exclude(
            effective_end__isnull=False,
            charged_through__isnull=False,
            charged_through=F("effective_end"),
        )
        .exclude(effective_start__gt=terms.target_date)
        # Tiers as stored, not decoded: the engine parses each distinct price plan once.
        .annotate(tiers_text=Cast("tiers", TextField()))
        .order_by()
        .values_list(*CHARGE_FIELDS)
    )
    # The subscriptions by their primary keys, in a second query rather than a join: PostgreSQL
    # misjudges how many charges 1,000 account ids match (n_distinct of a million accounts,
    # from a sample) and joined them to a parallel scan of every subscription, 0.3 to 1.3 s a
    # chunk at a million accounts and growing with the table (docs/benchmarks.md).
    subscriptions = {
        row[0]: row[1:]
        for row in Subscription.objects.filter(
            id__in={row[SUBSCRIPTION_ID_AT] for row in charge_rows}
        )
        .order_by()
        .values_list("id", *SUBSCRIPTION_FIELDS)
    }
    # A subscription deleted between the two reads (the admin) takes its charges with it.
    rows = [
        (*row, *found)
        for row in charge_rows
        if (found := subscriptions.get(row[SUBSCRIPTION_ID_AT])) is not None
    ]
    target_date = terms.target_date
    renewals = changes.renewals(
        (
            dict(zip(SUBSCRIPTION_FIELDS, row[SUBSCRIPTION_AT:], strict=True))
            | {"subscription_id": row[SUBSCRIPTION_ID_AT]}
            for row in rows
            if row[AUTO_RENEW_AT]
            and row[TERM_END_AT] is not None
            and row[TERM_END_AT] < target_date
        ),
        target_date=target_date,
    )
    accounts_of = {row[SUBSCRIPTION_ID_AT]: row[ACCOUNT_ID_AT] for row in rows}
    charges = changes.with_billed_lines(
        [
            ChargeInput(
                *row[:ACCOUNT_ID_AT],
                *row[ACCOUNT_ID_AT + 1 : SUBSCRIPTION_AT],
                term_end=renewal.renewed_to
                if (renewal := renewals.get(row[SUBSCRIPTION_ID_AT]))
                else row[TERM_END_AT],
                canceled_on=row[CANCELED_ON_AT],
            )
            for row in rows
        ]
    )
    by_account: dict[int, list[ChargeInput]] = defaultdict(list)
    for charge in charges:
        by_account[accounts_of[charge.subscription_id]].append(charge)
    numbers = {row[SUBSCRIPTION_ID_AT]: row[SUBSCRIPTION_NUMBER_AT] for row in rows}
    return ChargesRead(by_account, renewals, accounts_of, numbers)


def _read_usage(terms: RunTerms, account_ids: list[int]) -> dict[int, list[UsageInput]]:
    if Charge.ChargeType.USAGE not in terms.charge_types:
        return {}
    rows = (
        UsageRecord.objects.filter(
            account_id__in=account_ids,
            status=UsageRecord.Status.PENDING,
            usage_date__lte=terms.target_date,
        )
        .order_by()
        .values_list("id", "account_id", "charge_id", "quantity", "usage_date")
    )
    by_account: dict[int, list[UsageInput]] = defaultdict(list)
    for usage_id, account_id, charge_id, quantity, usage_date in rows:
        by_account[account_id].append(UsageInput(usage_id, charge_id, quantity, usage_date))
    return by_account
