"""A run's outward events (DESIGN §10 webhooks): `billRun.completed`, `billRun.error`,
`billRun.posted`. The transition table names which transition announces which event
(`Transition.event`); billruns knows no listener: the api app connects its webhook sender when
it starts. Listeners are called after the transition commits, never inside its lock, and a
failing listener never changes the run."""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)
COMPLETED, ERROR, POSTED = "billRun.completed", "billRun.error", "billRun.posted"
EVENTS = (COMPLETED, ERROR, POSTED)

Listener = Callable[[str, int], None]
_listeners: list[Listener] = []


def connect(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def announce(event: str, run_id: int) -> None:
    """Tell every listener once the current transaction commits."""
    if event and _listeners:
        transaction.on_commit(lambda: _tell(event, run_id))


def _tell(event: str, run_id: int) -> None:
    for listener in _listeners:
        try:
            listener(event, run_id)
        except Exception:
            logger.exception("Listener %r failed on %s of bill run %s", listener, event, run_id)
