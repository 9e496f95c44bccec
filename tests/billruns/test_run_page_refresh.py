"""The run's page while the run changes by itself: the progress fragment it polls brings the
header (status badge, buttons) and the counts along, so the page never offers a button the
run has moved past."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from billruns.models import BillRun, BillRunChunk
from tests.factories import BillingDocumentFactory, BillRunFactory

pytestmark = pytest.mark.django_db


def progress(client, run, shown: str):
    url = reverse("billruns:progress", args=[run.pk])
    return client.get(url, {"shown": shown}).content.decode()


def shown_key(page: str) -> str:
    """The header the page shows, as its progress fragment tells the server."""
    return re.search(r'progress/\?shown=([^"]*)"', page).group(1).replace("%2E", ".")


def test_the_header_comes_again_once_a_pending_run_starts_billing(logged_in):
    run = BillRunFactory(status="Pending")
    page = logged_in.get(run.get_absolute_url()).content.decode()
    assert "Cancel run" in page and "Terminate" not in page.split('id="run-actions"')[1][:2000]

    BillRun.objects.filter(pk=run.pk).update(
        status="Processing", executed_at=timezone.now(), chunks_total=4
    )
    fragment = progress(logged_in, run, shown_key(page))
    header = fragment.split('id="run-header" hx-swap-oob="true"')[1]
    assert 'data-status="Processing"' in header
    assert 'data-bs-target="#confirm-terminate"' in header
    assert "Cancel run" not in header


def test_the_header_is_not_sent_again_while_it_has_not_changed(logged_in):
    run = BillRunFactory(status="Processing", executed_at=timezone.now(), chunks_total=4)
    page = logged_in.get(run.get_absolute_url()).content.decode()
    fragment = progress(logged_in, run, shown_key(page))
    assert 'id="run-progress"' in fragment
    assert 'id="run-header"' not in fragment  # an open confirmation is never swapped away


def test_a_processing_run_counts_what_its_done_chunks_billed(logged_in):
    run = BillRunFactory(
        status="Processing", executed_at=timezone.now(), chunks_total=2, chunks_done=1
    )
    for sequence, status in ((1, "Done"), (2, "Running")):
        BillRunChunk.objects.create(
            bill_run=run,
            sequence=sequence,
            first_account_id=sequence,
            last_account_id=sequence,
            status=status,
            number_of_accounts=900,
            number_of_invoices=880,
            number_of_credit_memos=20,
        )
    fragment = progress(logged_in, run, "")
    summary = fragment.split('id="run-summary" hx-swap-oob="true"')[1]
    stats = dict(re.findall(r'data-stat="([\w-]+)">([^<]*)<', summary))
    assert (stats["accounts"], stats["invoices"], stats["credit-memos"]) == ("900", "880", "20")
    assert "1 of 2 chunks done, 900 accounts billed" in fragment


def test_a_live_run_page_holds_the_confirmation_of_every_button_the_user_may_press(
    logged_in, client, viewer
):
    run = BillRunFactory(status="Pending")
    page = logged_in.get(run.get_absolute_url()).content.decode()
    # Terminate is not offered yet, but its confirmation is there for when it is.
    assert 'id="confirm-terminate"' in page and 'data-bs-target="#confirm-terminate"' not in page
    client.force_login(viewer)
    assert 'id="confirm-' not in client.get(run.get_absolute_url()).content.decode()


# -- the rest of the run's page ------------------------------------------------------------------


def test_the_invoices_tab_lists_invoices_by_number(logged_in):
    run = BillRunFactory(status="Completed")
    for number in ("INV00000003", "INV00000001", "INV00000002"):  # written in this order
        BillingDocumentFactory(bill_run=run, number=number)
    html = logged_in.get(run.get_absolute_url()).content.decode()
    assert re.findall(r">(INV\d+)<", html) == ["INV00000001", "INV00000002", "INV00000003"]


def test_the_amounts_table_has_side_padding(logged_in):
    run = BillRunFactory(
        status="Completed", amounts_by_currency={"USD": {"invoice": "10.00", "credit_memo": "0"}}
    )
    html = logged_in.get(run.get_absolute_url()).content.decode()
    table = html.split('id="run-amounts"')[1].split("</table>")[0]
    assert '<td class="ps-3">USD</td>' in table and 'class="num pe-3"' in table


def test_a_processing_run_counts_the_accounts_of_a_chunk_that_failed_too(logged_in):
    """A chunk that failed for good is done (chunks_done counts it) and its accounts are in the
    run's counts once it completes (run_statistics adds every chunk): the live counts agree."""
    from billruns.services.finalize import run_statistics

    run = BillRunFactory(
        status="Processing", executed_at=timezone.now(), chunks_total=3, chunks_done=2
    )
    for sequence, status, accounts, failures in ((1, "Done", 900, 0), (2, "Failed", 100, 100)):
        BillRunChunk.objects.create(
            bill_run=run,
            sequence=sequence,
            first_account_id=sequence,
            last_account_id=sequence,
            status=status,
            number_of_accounts=accounts,
            number_of_invoices=accounts - failures,
            number_of_failures=failures,
        )
    fragment = progress(logged_in, run, "")
    summary = fragment.split('id="run-summary" hx-swap-oob="true"')[1]
    stats = dict(re.findall(r'data-stat="([\w-]+)">([^<]*)<', summary))
    assert run_statistics(run.pk)["number_of_accounts"] == 1000
    assert stats["accounts"] == "1,000"  # what the run will say for these two chunks


def test_a_poll_while_a_run_bills_does_not_count_its_documents(logged_in):
    """The page polls every few seconds while a run of a million accounts writes its
    documents: the counts come from its done chunks, never from a count over the documents."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run = BillRunFactory(status="Processing", executed_at=timezone.now(), chunks_total=4)
    with CaptureQueriesContext(connection) as queries:
        progress(logged_in, run, "")
    assert not [q["sql"] for q in queries if "invoicing_billingdocument" in q["sql"]]
