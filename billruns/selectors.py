"""Reads for bill runs: which accounts a run bills."""

from django.db.models import QuerySet

from accounts.models import Account
from billruns.models import BillRun, BillRunFailure, TargetType


def accounts_in_scope(
    *,
    target_type: str,
    account_id: int | None,
    batches: list[str],
    bill_cycle_day: int | None,
    retry_of_id: int | None = None,
    bill_cycle_day_to: int | None = None,
) -> QuerySet[Account]:
    """Active accounts a run with these terms bills (Draft and Canceled ones never are)."""
    accounts = Account.objects.billable()
    if retry_of_id is not None:
        accounts = accounts.filter(
            id__in=BillRunFailure.objects.filter(bill_run_id=retry_of_id).values("account_id")
        )
    if target_type == TargetType.SINGLE_ACCOUNT:
        return accounts.filter(pk=account_id)
    if batches:
        accounts = accounts.filter(batch__in=batches)
    if bill_cycle_day is not None and bill_cycle_day_to not in (None, bill_cycle_day):
        accounts = accounts.filter(bill_cycle_day__range=(bill_cycle_day, bill_cycle_day_to))
    elif bill_cycle_day is not None:
        accounts = accounts.filter(bill_cycle_day=bill_cycle_day)
    return accounts


def run_scope(run: BillRun) -> QuerySet[Account]:
    return accounts_in_scope(
        target_type=run.target_type,
        account_id=run.account_id,
        batches=run.batches,
        bill_cycle_day=run.bill_cycle_day,
        retry_of_id=run.retry_of_id,
        bill_cycle_day_to=run.bill_cycle_day_to,
    )
