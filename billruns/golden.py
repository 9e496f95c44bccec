"""Every line two bill runs write over the demo data, in a form that survives a rewrite of the
engine: the guard that a speed-up changes no line and no amount (issue 14).

`lines()` seeds demo accounts into an empty database, bills them, amends some (cancellations
and price changes dated inside the billed period: credit back), bills again, and returns every
line by natural keys (account, document kind and number, charge, dates, quantity, unit price,
amount, description, the line it credits), never by ids. `tests/billruns/test_golden.py`
compares them with `tests/billruns/golden/demo_lines.csv.gz`, written by the code before the
speed-up; `GOLDEN_WRITE=1 pytest tests/billruns/test_golden.py` rewrites it after a deliberate
change of what is billed (say why in the commit).
"""

import datetime as dt
from decimal import Decimal

from accounts.demo import seed_demo_accounts
from accounts.models import Charge, Subscription
from accounts.services import cancel_subscription, change_charge
from billruns import execution, services
from billruns.models import BillRun
from billruns.terms import RunTerms
from invoicing.models import DocumentLine

ACCOUNTS = 300
SEED = 14
FIRST_RUN = dt.date(2026, 6, 1)
SECOND_RUN = dt.date(2026, 7, 1)
HEADER = (
    "run", "account", "kind", "number", "charge", "charge_type", "service_start",
    "service_end", "quantity", "unit_price", "amount", "description", "credits",
)  # fmt: skip


def lines() -> list[tuple[str, ...]]:
    """Seed, bill, amend, bill again; every line as strings."""
    seed_demo_accounts(count=ACCOUNTS, seed=SEED, as_of=FIRST_RUN)
    bill(RunTerms(invoice_date=FIRST_RUN, target_date=FIRST_RUN, name="golden 1"))
    _amend()
    bill(RunTerms(invoice_date=SECOND_RUN, target_date=SECOND_RUN, name="golden 2"))
    rows = DocumentLine.objects.order_by(
        "document__bill_run__number", "document__account__number", "charge__number",
        "service_start", "credits__service_start", "amount",
    ).values_list(
        "document__bill_run__number", "document__account__number", "document__kind",
        "document__number", "charge__number", "charge_type", "service_start", "service_end",
        "quantity", "unit_price", "amount", "description", "credits__service_start",
    )  # fmt: skip
    return [tuple("" if value is None else str(value) for value in row) for row in rows]


def bill(terms: RunTerms) -> BillRun:
    """Plan the run in chunks of 50 and bill them here, with the workers' own code."""
    run = services.create_bill_run(terms=terms, acting_user=None, enqueue=False)
    services.start_bill_run(run_id=run.pk, enqueue=False, chunk_size=50)
    for chunk_id in run.chunks.order_by("sequence").values_list("id", flat=True):
        execution.bill_chunk(chunk_id=chunk_id)
    run.refresh_from_db()
    if run.status != BillRun.Status.COMPLETED:
        raise AssertionError(f"{run.number} ended {run.status}: {run.error_message}")
    return run


def _amend() -> None:
    """Every 7th active subscription canceled on May 20; every 5th recurring charge of the rest
    repriced +10 % from May 10: both inside periods the first run billed in advance."""
    subscriptions = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE, term_start__lt=dt.date(2026, 5, 20)
    ).order_by("number")
    canceled = set()
    for subscription in list(subscriptions)[::7]:
        if subscription.term_end is None or subscription.term_end > dt.date(2026, 5, 20):
            cancel_subscription(subscription=subscription, cancel_date=dt.date(2026, 5, 20))
            canceled.add(subscription.pk)
    charges = (
        Charge.objects.filter(
            charge_type=Charge.ChargeType.RECURRING,
            charge_model__in=(Charge.ChargeModel.FLAT_FEE, Charge.ChargeModel.PER_UNIT),
            effective_start__lt=dt.date(2026, 5, 10),
            effective_end__isnull=True,
            charged_through__gte=dt.date(2026, 5, 10),
        )
        .exclude(subscription__in=canceled)
        .order_by("number")
    )
    for charge in list(charges)[::5]:
        price = (charge.price * Decimal("1.1")).quantize(Decimal("0.01"))
        change_charge(charge=charge, effective_date=dt.date(2026, 5, 10), price=price)
