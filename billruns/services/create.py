"""Create a bill run: validate its terms, save it Pending, queue it once the save commits."""

from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from billruns import terms as run_terms
from billruns.errors import BillRunError
from billruns.models import BillRun
from billruns.selectors import accounts_in_scope, run_created_with
from billruns.services.lifecycle import TRANSITIONS, Action, record
from billruns.terms import RunTerms


def create_bill_run(
    *,
    terms: RunTerms,
    acting_user,
    run_type: str = BillRun.RunType.AD_HOC,
    schedule=None,
    idempotency_key: str | None = None,
    allow_empty_scope: bool = False,
    enqueue: bool = True,
) -> BillRun:
    """A Pending run with these terms; creating twice with one idempotency key returns the
    first run. Raises BillRunError (one sentence) for terms no run can have or an empty scope.
    """
    if idempotency_key:
        run_terms.check_text(idempotency_key, what="The idempotency key")
        existing = run_created_with(idempotency_key)
        if existing is not None:
            return existing
    terms.validate()
    if not allow_empty_scope and not accounts_in_scope(terms).exists():
        raise BillRunError(run_terms.EMPTY_SCOPE)
    with transaction.atomic():
        run = BillRun(
            **terms.model_fields(),
            run_type=run_type,
            schedule=schedule,
            idempotency_key=idempotency_key or None,
            created_by=acting_user,
            updated_by=acting_user,
        )
        try:
            with transaction.atomic():
                run.save()
        except IntegrityError:
            # Another request created the run with this key between our check and insert.
            if idempotency_key and (existing := run_created_with(idempotency_key)):
                return existing
            raise
        record(
            run,
            from_status="",
            to_status=TRANSITIONS[Action.CREATE].target,
            actor=acting_user,
            message="Created",
        )
        if enqueue:
            transaction.on_commit(lambda: async_task("billruns.tasks.start_bill_run", run.pk))
    # Only the run this call saved says so (a repeat returns the first run without it): the
    # API answers 201 for it and 200 for a repeat, racing repeats included.
    run.just_created = True
    return run
