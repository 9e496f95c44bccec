"""Leases (DESIGN §6): a worker's claim on a chunk, a posting or a cancel lasts
BILLCYCLE_LEASE_SECONDS and is renewed while the worker works. A claim whose lease lapsed
belongs to a dead worker: the watchdog (billruns/recovery.py) or the next one who asks takes
it over, within about a lease, instead of the fixed 15 minutes this replaced."""

import datetime as dt
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.db.models import Q

logger = logging.getLogger(__name__)


def length() -> dt.timedelta:
    return dt.timedelta(seconds=settings.BILLCYCLE_LEASE_SECONDS)


def until(now: dt.datetime) -> dt.datetime:
    """The end of a lease taken or renewed at `now`."""
    return now + length()


def renewal_interval() -> float:
    """A lease is renewed a third of the way through: two renewals may fail before it lapses."""
    return settings.BILLCYCLE_LEASE_SECONDS / 3


class Heartbeat:
    """Renew a lease from a background thread while the caller works in its own transaction.

    `renew()` runs every `renewal_interval()` seconds on the thread's own database connection
    and returns False once the claim is no longer ours, which ends the heartbeat. A renewal
    that fails (a lost connection, SQLite busy with the caller's own write) is logged and tried
    again at the next beat; the lease leaves room for two.
    """

    def __init__(self, renew: Callable[[], bool], *, name: str):
        self._renew = renew
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {name}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        # Not waited for long: a beat stuck behind a lock ends by itself, and a late renewal
        # of a claim already finished changes nothing (it is conditional on the claim).
        self._thread.join(timeout=1)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(renewal_interval()):
                try:
                    if not self._renew():
                        return
                except Exception:
                    logger.warning("%s: renewal failed", self._thread.name, exc_info=True)
                    connections.close_all()  # a broken connection is opened afresh next beat
        finally:
            connections.close_all()


def unattended(lease_until: dt.datetime | None, touched: dt.datetime, now: dt.datetime) -> bool:
    """Whether work claimed at `touched` has no live worker: its lease lapsed, or nobody took
    it within a lease (its queued task was lost). The watchdog's test, and the page's for
    offering to resume."""
    if lease_until is None:
        return touched < now - length()
    return lease_until < now


def unattended_q(now: dt.datetime) -> Q:
    """`unattended` as a query condition on a model with lease_until and updated_at."""
    return Q(lease_until__isnull=True, updated_at__lt=now - length()) | Q(lease_until__lt=now)


class LeaseLost(Exception):
    """Our lease lapsed and someone else holds the work now; stop without writing more."""


class RunLease:
    """A worker's hold on one long transition of a run (a posting, a cancel): taken when no one
    holds it or its lease lapsed, renewed with every batch (each its own transaction, so no
    heartbeat thread is needed), its end time the token that every renewal compares."""

    def __init__(self, model, pk: int):
        self._rows = model.objects.filter(pk=pk)
        self.token: dt.datetime | None = None

    def take(self, now: dt.datetime, **still) -> bool:
        """Hold the run if no live lease does and it is `still` as given (its status); False
        when another worker is at it or it has moved on."""
        token = until(now)
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        if not self._rows.filter(free, **still).update(lease_until=token):
            return False
        self.token = token
        return True

    def renew(self, now: dt.datetime, **fields) -> None:
        """Extend the lease (and set `fields`, e.g. a progress mark, in the same statement);
        LeaseLost if it lapsed and was taken meanwhile."""
        token = until(now)
        if not self._rows.filter(lease_until=self.token).update(
            lease_until=token, updated_at=now, **fields
        ):
            raise LeaseLost
        self.token = token

    def held(self):
        """The condition that we still hold it, for the final move (which clears the lease)."""
        return Q(lease_until=self.token)
