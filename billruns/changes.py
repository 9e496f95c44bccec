"""What a chunk reads and writes for customers' changes (DESIGN §5 credit back, §9 renewal).

Both cost a constant number of queries per chunk, and none when nothing changed: the billed
lines of the charges that ran past their last billable day (and the credits they already have),
and the renewal of the auto-renew subscriptions whose term the run's target date passes. A run's
cancel undoes its renewals here too.
"""

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from accounts.models import Amendment, Subscription
from billruns.models import BillRun
from core.bulk import BulkWriter
from invoicing.models import BillingDocument, DocumentLine
from invoicing.rating.engine import BilledLine, ChargeInput
from invoicing.rating.periods import renewed_term_end


@dataclasses.dataclass(frozen=True)
class Renewal:
    subscription_id: int
    term_end: dt.date  # as read
    renewed_to: dt.date


def renewals(rows, *, target_date: dt.date) -> dict[int, Renewal]:
    """The renewal of each auto-renew subscription among the charges' rows whose term the
    target date passes. `rows` are dicts with subscription_id, term_start, term_end,
    auto_renew and renewal_term_months."""
    found: dict[int, Renewal] = {}
    for row in rows:
        term_end = row["term_end"]
        if not row["auto_renew"] or term_end is None or term_end >= target_date:
            continue
        if row["subscription_id"] not in found:
            found[row["subscription_id"]] = Renewal(
                row["subscription_id"],
                term_end,
                renewed_term_end(
                    term_end=term_end,
                    renewal_term_months=row["renewal_term_months"],
                    target_date=target_date,
                    term_start=row["term_start"],
                ),
            )
    return found


def with_billed_lines(charges: list[ChargeInput]) -> list[ChargeInput]:
    """The charges, those billed past their last billable day with the lines to credit back.

    Two queries, only when such a charge is there: their charge lines that end after the last
    billable day, and the credit lines already crediting those (money added up in Python).
    """
    owing = {
        charge.id: last
        for charge in charges
        if charge.charged_through is not None
        and (last := charge.last_billable_day) is not None
        and charge.charged_through > last
    }
    if not owing:
        return charges
    billed = [
        row
        for row in DocumentLine.objects.filter(
            charge_id__in=owing, canceled=False, credits__isnull=True
        )
        .order_by()
        .values_list(
            "id",
            "charge_id",
            "service_start",
            "service_end",
            "quantity",
            "unit_price",
            "amount",
            "document__kind",
        )
        if row[3] > owing[row[1]]
    ]
    credited: dict[int, Decimal] = defaultdict(Decimal)
    credited_from: dict[int, dt.date] = {}
    credits = DocumentLine.objects.filter(
        credits_id__in=[row[0] for row in billed], canceled=False
    ).values_list("credits_id", "amount", "service_start", "document__kind")
    for line_id, amount, start, kind in credits.order_by():
        credited[line_id] += _natural(amount, kind)
        credited_from[line_id] = min(start, credited_from.get(line_id, start))
    lines: dict[int, list[BilledLine]] = defaultdict(list)
    for line_id, charge_id, start, end, quantity, unit_price, amount, kind in billed:
        sign = -1 if kind == BillingDocument.Kind.CREDIT_MEMO else 1
        lines[charge_id].append(
            BilledLine(
                id=line_id,
                service_start=start,
                service_end=end,
                quantity=quantity,
                unit_price=unit_price * sign,
                amount=amount * sign,
                credited=credited[line_id],
                credited_from=credited_from.get(line_id),
            )
        )
    return [
        dataclasses.replace(charge, billed_lines=tuple(lines[charge.id]))
        if charge.id in lines
        else charge
        for charge in charges
    ]


def _natural(amount: Decimal, kind: str) -> Decimal:
    """A line's amount in its charge's own sign: a credit memo shows its lines turned."""
    return -amount if kind == BillingDocument.Kind.CREDIT_MEMO else amount


def write_renewals(
    run: BillRun, found: list[Renewal], *, writer: BulkWriter, now: dt.datetime
) -> bool:
    """Extend the terms (compare-and-set on the term end read) and write a Renew amendment for
    each; False when a term moved meanwhile (the chunk then rolls back and reads again)."""
    if not found:
        return True
    moves = [(r.subscription_id, r.term_end, r.renewed_to) for r in found]
    if writer.move_cursor(Subscription, "term_end", moves, kind="date") != len(moves):
        return False
    # The one bulk writer: one statement however many renewals (bulk_create splits by SQLite's
    # 999 parameters, and a chunk's query count must not grow with its size).
    writer.insert(
        Amendment,
        ("subscription_id", "kind", "effective_date", "at", "details"),
        [
            (
                r.subscription_id,
                Amendment.Kind.RENEW.value,
                r.term_end + dt.timedelta(days=1),
                now,
                # The run is named so that canceling it can undo the renewal.
                json.dumps(
                    {
                        "term_end": [r.term_end.isoformat(), r.renewed_to.isoformat()],
                        "bill_run": run.number,
                    }
                ),
            )
            for r in found
        ],
    )
    return True


def roll_back_renewals(run: BillRun, *, account_range: tuple[int, int] | None = None) -> int:
    """Undo the renewals a run made (its cancel), of one account range or all: each term goes
    back to where the run found it, if it still stands where the run left it; the Renew
    amendments go."""
    amendments = Amendment.objects.filter(kind=Amendment.Kind.RENEW, details__bill_run=run.number)
    if account_range is not None:
        first, last = account_range
        amendments = amendments.filter(
            subscription__account_id__gte=first, subscription__account_id__lte=last
        )
    moves = [
        (subscription_id, dt.date.fromisoformat(new), dt.date.fromisoformat(old))
        for subscription_id, (old, new) in amendments.values_list(
            "subscription_id", "details__term_end"
        )
    ]
    moved = BulkWriter().move_cursor(Subscription, "term_end", moves, kind="date")
    amendments.delete()
    return moved
