"""Retry the failed accounts of a run: a new ad hoc run for them, with the same dates and
options, that records which run it retries."""

import dataclasses

from billruns.errors import BillRunError
from billruns.models import BillRun
from billruns.services.create import create_bill_run
from billruns.services.lifecycle import Action, can, refuse
from billruns.terms import RunTerms, TargetType


def retry_failed_accounts(*, run: BillRun, acting_user) -> BillRun:
    if not can(run, Action.RETRY):
        raise refuse(run, Action.RETRY)
    if not run.failures.exists():
        raise BillRunError(f"{run.number} has no failed accounts to retry.")
    running = run.retries.filter(
        status__in=[BillRun.Status.PENDING, BillRun.Status.PROCESSING]
    ).first()
    if running is not None:
        raise BillRunError(
            f"{running.number} is already retrying the failed accounts of {run.number}."
        )
    terms = dataclasses.replace(
        RunTerms.of_run(run),
        target_type=TargetType.MULTIPLE_ACCOUNTS,
        account=None,
        batches=(),
        bill_cycle_day=None,
        bill_cycle_day_to=None,
        retry_of=run,
        name=f"Retry of {run.number}",
    )
    return create_bill_run(
        terms=terms,
        acting_user=acting_user,
        # A double click retries once; a retry after the last one finished is a new run.
        idempotency_key=f"retry-{run.pk}-{run.retries.count()}",
    )
