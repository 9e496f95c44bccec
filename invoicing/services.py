"""Every write to one billing document: post it, set it back to Draft (DESIGN §4).

A document may belong to a bill run, whose status decides whether it may be posted alone and
which changes when it is unposted. Runs live in the app above this one, so this module never
imports them: the billruns app connects a `RunGate` at start-up (`connect_run_gate`) and the
services here call it inside their transaction.
"""

import datetime as dt
from typing import Protocol

from django.db import transaction
from django.utils import timezone

from core.errors import IllegalTransition
from invoicing.models import BillingDocument


class RunGate(Protocol):
    def allows_posting(self, document: BillingDocument) -> bool:
        """Whether the document's run lets it be posted alone (for the page's button)."""

    def before_post(self, document: BillingDocument) -> None:
        """Lock the document's run and raise IllegalTransition if it may not be posted alone."""

    def after_post(self, document: BillingDocument, *, actor, now: dt.datetime) -> None:
        """Record the posting in the run's History."""

    def before_unpost(self, document: BillingDocument) -> None:
        """Lock the document's run and raise IllegalTransition while the run is being posted
        or canceled."""

    def after_unpost(self, document: BillingDocument, *, actor, now: dt.datetime) -> None:
        """Record it, and take a Posted run back to Completed."""


_run_gate: RunGate | None = None


def connect_run_gate(gate: RunGate) -> None:
    global _run_gate
    _run_gate = gate


def can_post(document: BillingDocument) -> bool:
    """Whether the page offers Post: a Draft, outside a run or in a run that allows it."""
    if document.status != BillingDocument.Status.DRAFT:
        return False
    return document.bill_run_id is None or _run_gate is None or _run_gate.allows_posting(document)


def can_unpost(document: BillingDocument) -> bool:
    """Whether the page offers Set back to Draft."""
    return document.status == BillingDocument.Status.POSTED


def post_document(*, document: BillingDocument, acting_user, now=None) -> BillingDocument:
    """Draft → Posted."""
    now = now or timezone.now()
    with transaction.atomic():
        in_run = document.bill_run_id is not None and _run_gate is not None
        if in_run:
            _run_gate.before_post(document)
        updated = BillingDocument.objects.filter(
            pk=document.pk, status=BillingDocument.Status.DRAFT
        ).update(
            status=BillingDocument.Status.POSTED,
            posted_at=now,
            posted_by=acting_user,
            updated_at=now,
        )
        if updated and in_run:
            _run_gate.after_post(document, actor=acting_user, now=now)
    if not updated:
        document.refresh_from_db(fields=["status"])
        raise IllegalTransition(
            f"{document} is {document.get_status_display()}: only Draft documents can be posted."
        )
    document.refresh_from_db()
    return document


def unpost_document(*, document: BillingDocument, acting_user, now=None) -> BillingDocument:
    """Posted → Draft; a Posted run that loses a posted document returns to Completed."""
    now = now or timezone.now()
    with transaction.atomic():
        in_run = document.bill_run_id is not None and _run_gate is not None
        if in_run:
            _run_gate.before_unpost(document)
        updated = BillingDocument.objects.filter(
            pk=document.pk, status=BillingDocument.Status.POSTED
        ).update(
            status=BillingDocument.Status.DRAFT, posted_at=None, posted_by=None, updated_at=now
        )
        if not updated:
            document.refresh_from_db(fields=["status"])
            raise IllegalTransition(
                f"{document} is {document.get_status_display()}: only Posted documents can be "
                "set back to Draft."
            )
        if in_run:
            _run_gate.after_unpost(document, actor=acting_user, now=now)
    document.refresh_from_db()
    return document
