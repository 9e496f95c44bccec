"""Stop a Processing run where it is: no further chunk is billed, the documents written stay."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from billruns.models import BillRun
from billruns.services.finalize import elapsed_ms, notify_finished, run_statistics
from billruns.services.lifecycle import Action, can, move, refuse


def terminate_bill_run(*, run: BillRun, acting_user, now: dt.datetime | None = None) -> BillRun:
    """Processing → Completed now.

    The run's row is locked first: a chunk that commits before is in the statistics, and one
    that tries after finds the run no longer Processing and rolls itself back.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = BillRun.objects.select_for_update().get(pk=run.pk)
        if not can(locked, Action.TERMINATE):
            raise refuse(run, Action.TERMINATE)
        stats = run_statistics(run.pk)
        stats.pop("failed_chunks")
        move(
            run,
            Action.TERMINATE,
            actor=acting_user,
            now=now,
            message="Terminated",
            completed_at=now,
            updated_by=acting_user,
            total_time_ms=elapsed_ms(locked, now),
            **stats,
        )
        transaction.on_commit(lambda: notify_finished(run.pk))
    run.refresh_from_db()
    return run
