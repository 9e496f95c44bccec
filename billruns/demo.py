"""A believable past for the demo (`manage.py seed_demo_history`, run by `make demo`): monthly
bill runs for the months before `as_of`, posted as an operator would, an ad hoc run canceled,
and last month's run Completed with failed accounts, waiting for review.

Everything is written by the real services (create, start, bill each chunk, post, cancel) at
the dates the story tells, with the clock moved there (time-machine): documents, numbers,
History entries, charged-through cursors and usage statuses are exactly what those runs would
have left. The failures come from a mistake the story makes first: three tiered usage charges
get tiers that do not ascend (as a hand edit in an old import could leave them), so the run
fails those accounts with `invalid_tiers`; the tiers are put right afterwards, so *Retry failed
accounts* bills them. Only the demo does this; `seed_demo_accounts` (the benchmarks' seed) is
untouched.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Account, Charge, UsageRecord
from billruns import execution, services
from billruns.models import BillRun
from billruns.terms import RunTerms

# Tiers whose limits go down: refused by every form and import, and by the rating engine.
BROKEN_TIERS = [
    {"up_to": "1000", "unit_price": "0.05", "flat_price": "0"},
    {"up_to": "500", "unit_price": "0.04", "flat_price": "0"},
    {"up_to": None, "unit_price": "0.03", "flat_price": "0"},
]


def month_start(day: dt.date, back: int) -> dt.date:
    years, month = divmod(day.month - 1 - back, 12)
    return dt.date(day.year + years, month + 1, 1)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@dataclass(frozen=True)
class Step:
    run: BillRun
    story: str


class History:
    """The story's steps, each at its own time; `on_step` hears of every run when it is done."""

    def __init__(self, *, operator, on_step: Callable[[Step], None] | None = None):
        try:
            import time_machine
        except ImportError:
            raise RuntimeError(
                "The demo history needs time-machine (pip install -e '.[dev]')."
            ) from None
        self.travel = time_machine.travel
        self.operator = operator
        self.on_step = on_step or (lambda step: None)

    def bill(self, terms: RunTerms, *, at: dt.datetime) -> BillRun:
        """Create the run and bill it here, chunk by chunk, as `create_bill_run --wait` does."""
        with self.travel(at, tick=True):
            run = services.create_bill_run(terms=terms, acting_user=self.operator, enqueue=False)
            services.start_bill_run(run_id=run.pk, enqueue=False)
            for chunk_id in run.chunks.order_by("sequence").values_list("id", flat=True):
                execution.bill_chunk(chunk_id=chunk_id)
        run.refresh_from_db()
        return run

    def post(self, run: BillRun, *, at: dt.datetime) -> BillRun:
        with self.travel(at, tick=True):
            return services.post_bill_run(run=run, acting_user=self.operator)

    def cancel(self, run: BillRun, *, at: dt.datetime) -> BillRun:
        with self.travel(at, tick=True):
            return services.cancel_bill_run(run=run, acting_user=self.operator)

    def done(self, run: BillRun, story: str) -> None:
        run.refresh_from_db()
        self.on_step(Step(run, story))


def _break_tiers(target_date: dt.date, how_many: int) -> dict[int, list]:
    """Give `how_many` tiered usage charges with usage to bill by `target_date` broken tiers;
    returns their tiers as they were, to put back."""
    due = UsageRecord.objects.filter(
        charge=OuterRef("pk"),
        status=UsageRecord.Status.PENDING,
        usage_date__lte=target_date,
    )
    charges = (
        Charge.objects.filter(
            charge_model=Charge.ChargeModel.TIERED,
            account__status=Account.Status.ACTIVE,
        )
        .filter(Exists(due))
        .order_by("id")
    )
    # One charge per account: each is one failed account.
    chosen: dict[int, tuple[int, list]] = {}
    for charge_id, account_id, tiers in charges.values_list("id", "account_id", "tiers"):
        chosen.setdefault(account_id, (charge_id, tiers))
        if len(chosen) == how_many:
            break
    originals = dict(chosen.values())
    Charge.objects.filter(pk__in=originals).update(tiers=BROKEN_TIERS)
    return originals


def seed_demo_history(
    *, as_of: dt.date, operator, months: int = 6, on_step: Callable[[Step], None] | None = None
) -> list[BillRun]:
    """Monthly runs on the first of each of the `months` months before `as_of`'s month (all
    posted the next morning but the last), an ad hoc run canceled the same hour it was made,
    and the last month's run left Completed with three failed accounts."""
    if months < 3:
        raise ValueError("months must be at least 3.")
    history = History(operator=operator, on_step=on_step)
    runs = []
    canceled_in = months - 2  # a month in the middle of the story
    for back in range(months, 0, -1):
        first = month_start(as_of, back)
        terms = RunTerms(
            invoice_date=first, target_date=first, name=f"Monthly billing {first:%B %Y}"
        )
        last = back == 1
        originals = _break_tiers(first, 3) if last else {}
        run = history.bill(terms, at=_at(first, 6))
        for charge_id, tiers in originals.items():  # the pricing team puts them right
            Charge.objects.filter(pk=charge_id).update(tiers=tiers)
        if last:
            history.done(run, "left for review, with failed accounts to retry")
            runs.append(run)
            break
        history.post(run, at=_at(first + dt.timedelta(days=1), 10))
        history.done(run, "posted the next morning")
        runs.append(run)
        if back == canceled_in:
            mid = first.replace(day=15)
            extra = history.bill(
                RunTerms(
                    invoice_date=mid,
                    target_date=mid,
                    batches=("Batch7",),
                    name="Batch 7 mid-month (made by mistake)",
                ),
                at=_at(mid, 11),
            )
            history.cancel(extra, at=_at(mid, 11, 20))
            history.done(extra, "canceled: Batch 7 bills with the monthly run")
            runs.append(extra)
    return runs
