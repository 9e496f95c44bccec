"""Writes of accounts data shared by the demo seed and the CSV import."""

from collections.abc import Sequence

from django.db import transaction

from accounts.models import Account, Charge, Subscription, UsageRecord


def accounts_bulk_create(
    *,
    accounts: Sequence[Account],
    subscriptions: Sequence[Subscription],
    charges: Sequence[Charge],
    usage: Sequence[UsageRecord] = (),
    using: str,
) -> None:
    """Number and insert new accounts with their subscriptions, charges and usage, in bulk.

    Objects refer to each other through the related objects (`charge.subscription = sub`), not
    ids: bulk_create returns primary keys (SQLite >= 3.35, PostgreSQL), which the next model's
    foreign keys pick up. Numbers are reserved in the transaction that writes the rows, one
    sequence statement per model, so a failed write gives its numbers back.
    """
    with transaction.atomic(using=using):
        for model, rows in (
            (Account, accounts),
            (Subscription, subscriptions),
            (Charge, charges),
        ):
            model.assign_numbers(rows, using=using)
            model.objects.using(using).bulk_create(rows)
        UsageRecord.objects.using(using).bulk_create(usage)
