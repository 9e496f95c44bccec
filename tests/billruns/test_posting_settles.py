"""A run's status follows its documents (DESIGN §4): the last Draft of a Completed run posted on
its own makes the run Posted; posting a run with no documents makes it Posted, and its page says
there was nothing to post."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from billruns import services
from billruns.models import BillRun
from invoicing import services as document_services
from invoicing.models import BillingDocument
from tests.factories import AccountFactory, BillingDocumentFactory, BillRunFactory, ChargeFactory

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def history(run) -> list[tuple[str, str, str]]:
    return list(run.events.order_by("at", "id").values_list("from_status", "to_status", "message"))


@pytest.fixture
def run_of_two(run_now):
    """A Completed run with two Draft invoices: 1,234.50 and 99.00 USD."""
    ChargeFactory(price=Decimal("1234.50"), effective_start=FEB1)
    ChargeFactory(price=Decimal("99.00"), effective_start=FEB1)
    run = run_now()
    assert run.status == BillRun.Status.COMPLETED
    first, second = BillingDocument.objects.filter(bill_run=run).order_by("amount")
    assert (first.amount, second.amount) == (Decimal("99.00"), Decimal("1234.50"))
    return run, first, second


def test_posting_the_last_draft_on_its_own_makes_the_run_posted(run_of_two, user, operator):
    run, first, second = run_of_two
    document_services.post_document(document=first, acting_user=user)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED  # one draft left
    document_services.post_document(document=second, acting_user=operator)
    run.refresh_from_db()
    assert (run.status, run.posted_by, run.updated_by) == ("Posted", operator, operator)
    assert run.posted_at is not None
    assert history(run)[-2:] == [
        ("Completed", "Completed", f"{first} posted"),
        (
            "Completed",
            "Posted",
            f"{second} posted: the run's last draft, so every document is final",
        ),
    ]


def test_a_run_posted_document_by_document_can_be_reopened_and_posted_again(run_of_two, user):
    run, first, second = run_of_two
    for document in (first, second):
        document_services.post_document(document=document, acting_user=user)
    document_services.unpost_document(document=first, acting_user=user)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    document_services.post_document(document=first, acting_user=user)
    run.refresh_from_db()
    assert run.status == BillRun.Status.POSTED


def test_the_last_draft_of_an_auto_email_run_emails_its_documents(
    run_now, user, mailoutbox, django_capture_on_commit_callbacks
):
    ChargeFactory(
        price=Decimal("12.51"),
        effective_start=FEB1,
        subscription__account__bill_to_email="ap@acme.example",
    )
    run = run_now(auto_email=True)
    document = BillingDocument.objects.get(bill_run=run)
    with django_capture_on_commit_callbacks(execute=True):
        document_services.post_document(document=document, acting_user=user)
    # The run's creator had the completion email; the customer gets the posted invoice.
    assert [message.to for message in mailoutbox if message.to != [user.email]] == [
        ["ap@acme.example"]
    ]


def test_the_document_page_says_the_run_is_posted_with_its_last_draft(logged_in, run_of_two):
    run, first, second = run_of_two
    response = logged_in.post(reverse("invoicing:post", args=[first.pk]), follow=True)
    assert messages_of(response) == [f"{first} posted."]
    response = logged_in.post(reverse("invoicing:post", args=[second.pk]), follow=True)
    assert messages_of(response) == [
        f"{second} posted: it was the last draft of {run.number}, which is now Posted."
    ]
    page = logged_in.get(run.get_absolute_url()).content.decode()
    assert 'data-bs-target="#confirm-post"' not in page  # no Post button left
    assert "Posted" in page


def test_a_completed_run_whose_documents_are_all_posted_posts_at_once(logged_in, operator):
    """Runs left Completed with every document posted (before the rule above) settle with one
    Post: there is nothing left for a worker to do."""
    run = BillRunFactory(status=BillRun.Status.COMPLETED)
    BillingDocumentFactory(
        bill_run=run, account=AccountFactory(), status="Posted", posted_at=run.created_at
    )
    response = logged_in.post(reverse("billruns:post", args=[run.pk]), follow=True)
    assert messages_of(response) == [f"{run.number} is Posted: all its documents are final."]
    run.refresh_from_db()
    assert (run.status, run.posted_by) == ("Posted", operator)


def test_posting_a_run_with_no_documents_says_there_was_nothing_to_post(logged_in, run_now):
    ChargeFactory(effective_start=dt.date(2026, 3, 1))  # nothing to bill by February 1
    run = run_now()
    assert (run.status, run.number_of_invoices, run.number_of_credit_memos) == ("Completed", 0, 0)
    before = logged_in.get(run.get_absolute_url()).content.decode()
    assert "This run wrote no documents: posting it marks it Posted, with nothing to post." in (
        before
    )
    response = logged_in.post(reverse("billruns:post", args=[run.pk]), follow=True)
    assert messages_of(response) == [
        f"{run.number} has no documents: there was nothing to post, and it is now Posted."
    ]
    assert "This run wrote no documents: posting it had nothing to post." in (
        response.content.decode()
    )
    run.refresh_from_db()
    assert run.status == BillRun.Status.POSTED
    assert history(run)[-1] == (
        "PostInProgress",
        "Posted",
        "The run has no documents: there was nothing to post.",
    )


def test_posting_a_run_with_documents_says_nothing_of_the_kind(run_now, user):
    ChargeFactory(price=Decimal("12.51"), effective_start=FEB1)
    run = services.post_bill_run(run=run_now(), acting_user=user)
    assert history(run)[-1] == ("PostInProgress", "Posted", "")
