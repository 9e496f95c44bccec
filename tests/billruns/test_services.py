"""Every transition of DESIGN §4, and every refusal, as an operator would meet them."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Charge, UsageRecord
from billruns import services
from billruns.models import BillRun, BillRunEvent
from billruns.services import BillRunError, IllegalTransition
from invoicing import services as document_services
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import (
    AccountFactory,
    ChargeFactory,
    UsageRecordFactory,
    UserFactory,
    create_bill_run,
)

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)


def statuses(run):
    return list(run.events.order_by("at", "id").values_list("to_status", flat=True))


def test_posting_makes_every_document_final(run_now, user):
    ChargeFactory()
    ChargeFactory(price=Decimal("-300"))
    run = run_now()
    run = services.post_bill_run(run=run, acting_user=user)
    assert run.status == BillRun.Status.POSTED and run.posted_by == user
    assert set(BillingDocument.objects.values_list("status", flat=True)) == {"Posted"}
    assert statuses(run)[-2:] == ["PostInProgress", "Posted"]


def test_only_a_completed_run_can_be_posted(run_now, user):
    ChargeFactory()
    run = run_now()
    services.post_bill_run(run=run, acting_user=user)
    with pytest.raises(
        IllegalTransition, match="is Posted: only Completed or Post in progress runs can be posted"
    ):
        services.post_bill_run(run=run, acting_user=user)


def test_unposting_a_document_returns_its_posted_run_to_completed(run_now, user):
    ChargeFactory()
    run = services.post_bill_run(run=run_now(), acting_user=user)
    document = BillingDocument.objects.get()
    document_services.unpost_document(document=document, acting_user=user)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    # Posting again finishes the rest.
    assert services.post_bill_run(run=run, acting_user=user).status == BillRun.Status.POSTED


def test_canceling_rolls_charges_and_usage_back_so_they_bill_again(run_now, user):
    recurring = ChargeFactory(
        effective_start=dt.date(2025, 12, 1), charged_through=dt.date(2025, 12, 31)
    )
    usage = UsageRecordFactory(usage_date=dt.date(2026, 1, 10))
    one_time = ChargeFactory(charge_type="OneTime", billing_period="", price=Decimal("9"))
    run = run_now()
    run = services.cancel_bill_run(run=run, acting_user=user)
    assert run.status == BillRun.Status.CANCELED and run.canceled_by == user
    recurring.refresh_from_db()
    one_time.refresh_from_db()
    usage.refresh_from_db()
    assert recurring.charged_through == dt.date(2025, 12, 31)
    assert one_time.charged_through is None
    assert (usage.status, usage.line) == (UsageRecord.Status.PENDING, None)
    assert set(BillingDocument.objects.values_list("status", flat=True)) == {"Canceled"}
    assert set(DocumentLine.objects.values_list("canceled", flat=True)) == {True}
    again = run_now()
    assert again.number_of_invoices == 3

    def billed(bill_run):
        return sorted(
            DocumentLine.objects.filter(document__bill_run=bill_run).values_list(
                "charge_id", "service_start", "service_end", "quantity", "amount"
            )
        )

    assert billed(again) == billed(run)  # the new run bills them again, identically


def test_a_run_with_posted_documents_cannot_be_canceled(run_now, user):
    ChargeFactory()
    ChargeFactory()  # a second document stays Draft, so the run stays Completed
    run = run_now()
    document_services.post_document(document=BillingDocument.objects.first(), acting_user=user)
    with pytest.raises(IllegalTransition, match="has posted documents"):
        services.cancel_bill_run(run=run, acting_user=user)


def test_a_cancel_under_a_later_run_of_the_same_charges_gives_the_run_back_saying_why(
    run_now, user, logged_in
):
    charge = ChargeFactory()
    first = run_now(target_date=dt.date(2026, 1, 1))
    later = run_now(target_date=dt.date(2026, 2, 1))
    reason = (
        f"INV00000002 of {later.number} bills or credits charge {charge.number} after "
        f"{first.number}: cancel {later.number} first."
    )
    with pytest.raises(IllegalTransition, match=reason):
        services.cancel_bill_run(run=first, acting_user=user)
    first.refresh_from_db()
    assert (first.status, first.lease_until) == ("Completed", None)  # never stuck in progress
    last = first.events.order_by("-at", "-id").first()
    assert (last.from_status, last.to_status, last.message) == (
        "CancelInProgress",
        "Completed",
        f"Cancel stopped: {reason}",
    )
    # Nothing of it was canceled, and its page says why.
    assert set(first.documents.values_list("status", flat=True)) == {"Draft"}
    page = logged_in.get(first.get_absolute_url()).content.decode()
    assert f"Cancel stopped: {reason}" in page
    # Once the later run is canceled, so can this one be.
    services.cancel_bill_run(run=later, acting_user=user)
    assert services.cancel_bill_run(run=first, acting_user=user).status == "Canceled"
    charge.refresh_from_db()
    assert charge.charged_through is None


def test_a_pending_run_can_be_canceled_and_then_never_starts(
    django_capture_on_commit_callbacks, user
):
    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = create_bill_run(acting_user=user, invoice_date=FEB1, target_date=FEB1)
    services.cancel_bill_run(run=run, acting_user=user)
    for callback in queued:
        callback()
    run.refresh_from_db()
    assert run.status == BillRun.Status.CANCELED
    assert not BillingDocument.objects.exists()


def test_terminating_keeps_written_documents_and_completes_the_run(
    django_capture_on_commit_callbacks, user, settings, mailoutbox
):
    from billruns.execution import bill_chunk

    settings.BILLCYCLE_CHUNK_SIZE = 1
    ChargeFactory()
    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=False):
        run = create_bill_run(acting_user=user, invoice_date=FEB1, target_date=FEB1)
        services.start_bill_run(run_id=run.pk)
    first, second = run.chunks.order_by("sequence")
    bill_chunk(chunk_id=first.pk)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.terminate_bill_run(run=run, acting_user=user)
    assert bill_chunk(chunk_id=second.pk) is None
    assert (run.status, run.number_of_invoices) == (BillRun.Status.COMPLETED, 1)
    assert BillingDocument.objects.count() == 1
    assert mailoutbox[0].subject == f"Bill run {run.number} completed"
    with pytest.raises(IllegalTransition, match="only Processing runs can be terminated"):
        services.terminate_bill_run(run=run, acting_user=user)


def test_a_chunk_racing_a_termination_undoes_its_own_work(
    django_capture_on_commit_callbacks, user, monkeypatch
):
    from billruns import execution

    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=False):
        run = create_bill_run(acting_user=user, invoice_date=FEB1, target_date=FEB1)
        services.start_bill_run(run_id=run.pk)
    chunk = run.chunks.get()
    services.terminate_bill_run(run=run, acting_user=user)
    # The chunk was claimed just before the run was terminated.
    monkeypatch.setattr(execution, "claim_chunk", lambda chunk_id, now: True)
    assert execution.bill_chunk(chunk_id=chunk.pk) is None
    assert not BillingDocument.objects.exists()
    assert not Charge.objects.filter(charged_through__isnull=False).exists()


def test_deleting_a_canceled_run_keeps_its_audit_trail(run_now, user):
    ChargeFactory()
    run = services.cancel_bill_run(run=run_now(), acting_user=user)
    number = run.number
    services.delete_bill_run(run=run, acting_user=user)
    assert not BillRun.objects.exists() and not BillingDocument.objects.exists()
    trail = BillRunEvent.objects.filter(bill_run_number=number).order_by("at", "id")
    assert list(trail.values_list("to_status", flat=True))[-1] == "Deleted"
    assert trail.last().actor == user


def test_a_completed_run_cannot_be_deleted(run_now, user):
    ChargeFactory()
    with pytest.raises(IllegalTransition, match="only Canceled or Error runs can be deleted"):
        services.delete_bill_run(run=run_now(), acting_user=user)


def test_retrying_bills_only_the_failed_accounts(run_now, user, django_capture_on_commit_callbacks):
    ChargeFactory()
    bad = ChargeFactory(charge_model="Volume", tiers=[{"up_to": 5, "unit_price": "1"}])
    run = run_now()
    assert run.number_of_failures == 1
    Charge.objects.filter(pk=bad.pk).update(tiers=[{"up_to": None, "unit_price": "1"}])
    with django_capture_on_commit_callbacks(execute=True):
        retry = services.retry_failed_accounts(run=run, acting_user=user)
    retry.refresh_from_db()
    assert retry.retry_of == run and retry.target_date == run.target_date
    assert (retry.number_of_accounts, retry.number_of_invoices) == (1, 1)
    assert BillingDocument.objects.get(bill_run=retry).account_id == bad.account_id


def test_an_idempotency_key_returns_the_first_run(run_now):
    ChargeFactory()
    first = run_now(idempotency_key="nightly-2026-02-01")
    again = run_now(idempotency_key="nightly-2026-02-01")
    assert again.pk == first.pk and BillRun.objects.count() == 1


@pytest.mark.parametrize(
    "terms, message",
    [
        ({"target_date": None}, "A target date is required"),
        ({"charge_types": ["Fee"]}, "Unknown charge type 'Fee'"),
        ({"batches": ["Batch99"]}, "Unknown batch 'Batch99'"),
        ({"bill_cycle_day": 32}, "not between 1 and 31"),
        ({"target_type": "SingleAccount"}, "needs its account"),
        ({"batches": ["Batch2"]}, "No active account matches this scope"),
        ({"target_date": dt.date(2040, 1, 1)}, "more than 10 years ahead"),
    ],
)
def test_bad_terms_are_refused_with_a_reason(user, terms, message):
    ChargeFactory()
    values = {"acting_user": user, "invoice_date": FEB1, "target_date": FEB1, **terms}
    with pytest.raises(BillRunError, match=message):
        create_bill_run(**values)
    assert not BillRun.objects.exists()


def test_a_draft_account_cannot_be_billed_alone(user):
    account = AccountFactory(status="Draft")
    with pytest.raises(BillRunError, match="is Draft: only Active accounts are billed"):
        create_bill_run(
            acting_user=user,
            invoice_date=FEB1,
            target_date=FEB1,
            target_type="SingleAccount",
            account=account,
        )


def test_auto_post_and_auto_email_send_documents_after_posting(run_now, mailoutbox):
    ChargeFactory(subscription__account__bill_to_email="ap@customer.example")
    ChargeFactory(price=Decimal("0"), subscription__account__bill_to_email="zero@customer.example")
    run = run_now(auto_post=True, auto_email=True, no_email_for_zero_amount=True)
    run.refresh_from_db()
    assert run.status == BillRun.Status.POSTED
    documents = [m for m in mailoutbox if m.to != ["olivia@example.com"]]
    assert [m.to for m in documents] == [["ap@customer.example"]]
    assert "$200.00" in documents[0].body
    emailed = BillingDocument.objects.filter(emailed_at__isnull=False)
    assert [d.account.bill_to_email for d in emailed] == ["ap@customer.example"]


def test_the_scheduler_owner_is_told_not_the_creator(run_now, mailoutbox):
    from billruns.models import BillRunSchedule

    owner = UserFactory(email="owner@example.com")
    schedule = BillRunSchedule.objects.create(
        name="Nightly", frequency="Daily", run_time=dt.time(2), starts_on=FEB1, owner=owner
    )
    ChargeFactory()
    run_now(acting_user=None, schedule=schedule, run_type="Scheduled")
    assert [m.to for m in mailoutbox] == [["owner@example.com"]]


def test_a_run_that_cannot_write_any_chunk_ends_in_error_and_tells_its_creator(
    run_now, monkeypatch, mailoutbox
):
    from billruns import execution

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(execution, "_write_documents", broken)
    ChargeFactory()
    run = run_now()
    assert run.status == BillRun.Status.ERROR
    assert run.error_message == "No chunk could be written; see the chunks' error messages."
    chunk = run.chunks.get()
    assert (chunk.status, chunk.attempts) == ("Failed", 3)
    assert "RuntimeError: disk full" in chunk.error_message
    assert [m.subject for m in mailoutbox] == [f"Bill run {run.number} ended in error"]
    assert "No chunk could be written" in mailoutbox[0].body
    assert not BillingDocument.objects.exists()
    # Its accounts are on the Failed tab, so they can be retried.
    failure = run.failures.get()
    assert failure.error_code == "chunk_failed" and run.number_of_failures == 1


def test_canceling_restores_the_cursor_of_a_charge_billed_before_with_a_gap(run_now, user):
    usage = UsageRecordFactory(usage_date=dt.date(2026, 1, 10))
    run_now(target_date=dt.date(2026, 2, 1))
    UsageRecordFactory(charge=usage.charge, usage_date=dt.date(2026, 3, 5))  # none in February
    later = run_now(target_date=dt.date(2026, 4, 1))
    usage.charge.refresh_from_db()
    assert usage.charge.charged_through == dt.date(2026, 3, 31)
    services.cancel_bill_run(run=later, acting_user=user)
    usage.charge.refresh_from_db()
    # Back to where the first run left it, so late February usage can still be billed.
    assert usage.charge.charged_through == dt.date(2026, 1, 31)
