"""The variance review's one write: a run's threshold."""

import logging
from decimal import Decimal

from billruns.errors import BillRunError
from billruns.models import BillRun

logger = logging.getLogger(__name__)

MAX_THRESHOLD = Decimal("99999.99")


def set_review_threshold(*, run: BillRun, percent: Decimal, acting_user) -> Decimal:
    """Set the percentage above which the Review tab flags a change; returns the one it
    replaced. Any status may have one: it decides nothing about billing.

    Only the field is written: `updated_by` names who resumes a stopped posting or cancel, and
    `updated_at` is what the watchdog reads, so a threshold must move neither.
    """
    if not Decimal(0) <= percent <= MAX_THRESHOLD:
        raise BillRunError(f"The review threshold is a percentage from 0 to {MAX_THRESHOLD}.")
    previous = run.review_threshold_percent
    BillRun.objects.filter(pk=run.pk).update(review_threshold_percent=percent)
    run.review_threshold_percent = percent
    logger.info(
        "Review threshold of %s: %s %% → %s %% by %s",
        run.number,
        previous,
        percent,
        getattr(acting_user, "username", None) or "the system",
    )
    return previous
