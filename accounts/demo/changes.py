"""Price and quantity changes: some customers' plans got dearer, some changed their seat count.

For about 4 % of the subscriptions that are active and started before `as_of`, the plan charge
changes price (+5 to +15 %) on a day after its start, up to `as_of`; for half of those with
additional users, the number of users changes too, on a day of its own. Each change is what
`accounts.services.change_charge` writes (`build_successor`): the charge ends the day before and
a successor with `replaces` set and the new terms starts that day. `accounts_bulk_create` writes
successors after their predecessors, and their ChangeCharge amendments (actor none, `at` the
time of writing, as for any change recorded now).
"""

import datetime as dt
from decimal import Decimal

from accounts.demo.catalog import Currency
from accounts.demo.draws import DAY, below, between
from accounts.models import Charge, Subscription
from accounts.services import build_successor

CHANGE_SHARE = 0.04
USERS_CHANGE_SHARE = 0.5


def add_changes(
    part, rand, *, plans: list[tuple[Charge, Charge | None]], currency: Currency, as_of: dt.date
) -> None:
    """Change some of an account's subscriptions, given as (plan charge, users charge or None)."""
    for plan, users in plans:
        subscription = plan.subscription
        if subscription.status != Subscription.Status.ACTIVE or plan.effective_start >= as_of:
            continue  # a canceled subscription does not change; one not started has no past
        if rand() >= CHANGE_SHARE:
            continue
        price = currency.raised(plan.price, 5 + below(rand, 11))
        day = _day_after_start(rand, plan, as_of)
        part.charges.append(build_successor(plan, effective_date=day, price=price))
        if users is not None and rand() < USERS_CHANGE_SHARE:
            count = int(users.quantity)
            step = 1 + below(rand, max(1, count // 4))
            # Mostly more users; some customers shrink, never to none.
            quantity = count - step if count > step and rand() < 0.25 else count + step
            day = _day_after_start(rand, users, as_of)
            successor = build_successor(users, effective_date=day, quantity=Decimal(quantity))
            part.charges.append(successor)


def _day_after_start(rand, charge: Charge, as_of: dt.date) -> dt.date:
    # Never the first day: change_charge edits a charge in place from its start.
    return between(rand, charge.effective_start + DAY, as_of)
