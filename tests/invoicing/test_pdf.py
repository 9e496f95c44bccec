"""The document PDF: download, content, one query for the lines, and the emails that carry it."""

import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billruns import emails
from billruns.models import BillRun
from invoicing import pdf
from invoicing.models import BillingDocument
from invoicing.pdf import render_document_html, render_document_pdf
from invoicing.selectors import document_detail
from tests.factories import (
    BillingDocumentFactory,
    BillRunFactory,
    ChargeFactory,
    DocumentLineFactory,
    UserFactory,
    create_bill_run,
)

pytestmark = pytest.mark.django_db

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext (poppler-utils) is not installed, so the PDF's text cannot be read",
)


def pdf_text(data: bytes) -> str:
    result = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return result.stdout.decode()


@pytest.fixture
def invoice():
    line = DocumentLineFactory(
        document__number="INV00000001",
        document__amount=Decimal("1234.50"),
        document__account__name="Acme Widgets",
        document__account__bill_to_name="Acme Accounts Payable",
        document__account__bill_to_email="ap@acme.example",
        description="Platform fee",
        unit_price=Decimal("1234.50"),
        amount=Decimal("1234.50"),
    )
    return line.document


def test_the_pdf_downloads_as_an_attachment_named_after_the_document(client, operator, invoice):
    client.force_login(operator)
    response = client.get(reverse("invoicing:pdf", args=[invoice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV00000001.pdf"'
    assert response.content.startswith(b"%PDF")


def test_a_billing_viewer_may_download_the_pdf_but_a_stranger_may_not(client, viewer, invoice):
    url = reverse("invoicing:pdf", args=[invoice.pk])
    client.force_login(viewer)
    assert client.get(url).status_code == 200
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403


@needs_pdftotext
def test_the_pdf_shows_the_number_bill_to_lines_and_formatted_total(invoice):
    text = pdf_text(render_document_pdf(invoice))
    for expected in [
        "Invoice",
        "INV00000001",
        "Acme Accounts Payable",
        "ap@acme.example",
        invoice.account.number,
        "Platform fee",
        "2026-02-01 – 2026-02-28",
        "$1,234.50",
        "2026-03-03",  # due date
    ]:
        assert expected in text, expected


@needs_pdftotext
def test_a_draft_pdf_says_draft_and_a_posted_one_does_not(invoice):
    assert "DRAFT" in pdf_text(render_document_pdf(invoice))
    invoice.status = BillingDocument.Status.POSTED
    invoice.posted_at = timezone.now()
    assert "DRAFT" not in pdf_text(render_document_pdf(invoice))


@needs_pdftotext
def test_a_canceled_pdf_says_canceled(invoice):
    invoice.status = BillingDocument.Status.CANCELED
    assert "CANCELED" in pdf_text(render_document_pdf(invoice))


@needs_pdftotext
def test_a_credit_memo_pdf_is_titled_and_totalled_as_a_credit():
    memo = DocumentLineFactory(
        document__number="CM00000001",
        document__kind=BillingDocument.Kind.CREDIT_MEMO,
        document__amount=Decimal("1235"),
        document__account__currency="JPY",
        description="Goodwill credit",
        amount=Decimal("1235"),
    ).document
    text = pdf_text(render_document_pdf(memo))
    assert "Credit memo" in text
    assert "CM00000001" in text
    assert "Total credit" in text
    assert "¥1,235" in text and "¥1,235.00" not in text


@needs_pdftotext
def test_the_issuer_name_comes_from_the_settings(invoice, settings):
    settings.BILLCYCLE_ISSUER_NAME = "Northwind Billing GmbH"
    assert "Northwind Billing GmbH" in pdf_text(render_document_pdf(invoice))


def test_the_issuer_name_defaults_to_billcycle(invoice, settings):
    if hasattr(settings, "BILLCYCLE_ISSUER_NAME"):
        del settings.BILLCYCLE_ISSUER_NAME
    assert ">Billcycle<" in render_document_html(invoice)


def test_the_pdf_template_loads_nothing_from_outside():
    document = BillingDocumentFactory.build(number="INV00000001", amount=Decimal("1.00"))
    html = render_document_html(document, lines=[])
    assert not re.search(r"""\b(src|href)\s*=|url\(|@import""", html)


def test_the_lines_are_read_in_one_query_in_the_order_they_were_written(
    invoice, django_assert_num_queries
):
    for n in range(30):
        DocumentLineFactory(
            document=invoice,
            charge=invoice.lines.first().charge,
            description=f"Usage {n:02d}",
            service_start=dt.date(2025, 1, 1) + dt.timedelta(days=n),
            service_end=dt.date(2025, 1, 1) + dt.timedelta(days=n),
            amount=Decimal("0.10"),
        )
    document = document_detail().get(pk=invoice.pk)
    with django_assert_num_queries(1):
        html = render_document_html(document)
    # Id order, not service dates: the 2026 line was written first.
    assert html.index("Platform fee") < html.index("Usage 00") < html.index("Usage 29")


def test_lines_given_by_the_caller_cost_no_query(invoice, django_assert_num_queries):
    document = document_detail().get(pk=invoice.pk)
    lines = list(document.lines.all())
    with django_assert_num_queries(0):
        assert render_document_pdf(document, lines=lines).startswith(b"%PDF")


# -- emails ----------------------------------------------------------------------------------


def test_a_posted_run_with_auto_email_sends_each_document_with_its_pdf(
    mailoutbox, django_capture_on_commit_callbacks
):
    creator = UserFactory(username="olivia", email="olivia@example.com")
    ChargeFactory(name="Platform fee", subscription__account__bill_to_email="ap@one.example")
    ChargeFactory(name="Support plan", subscription__account__bill_to_email="ap@two.example")
    with django_capture_on_commit_callbacks(execute=True):
        run = create_bill_run(
            acting_user=creator,
            invoice_date=dt.date(2026, 2, 1),
            target_date=dt.date(2026, 2, 1),
            auto_post=True,
            auto_email=True,
        )
    run.refresh_from_db()
    assert run.status == BillRun.Status.POSTED
    sent = sorted((m for m in mailoutbox if m.to != [creator.email]), key=lambda m: m.to)
    assert [m.to for m in sent] == [["ap@one.example"], ["ap@two.example"]]
    for message in sent:
        document = BillingDocument.objects.get(account__bill_to_email=message.to[0])
        [(filename, content, mimetype)] = message.attachments
        assert filename == f"{document.number}.pdf"
        assert mimetype == "application/pdf"
        assert content.startswith(b"%PDF")
        assert document.emailed_at is not None


def posted_run_with_documents(count: int) -> BillRun:
    run = BillRunFactory(status=BillRun.Status.POSTED, auto_email=True)
    for n in range(count):
        line = DocumentLineFactory(
            document__bill_run=run,
            document__number=f"INV{run.pk:03d}{n:05d}",
            document__status=BillingDocument.Status.POSTED,
            document__posted_at=timezone.now(),
        )
        DocumentLineFactory(
            document=line.document,
            charge=line.charge,
            service_start=dt.date(2026, 3, 1),
            service_end=dt.date(2026, 3, 31),
        )
    return run


def test_emailing_a_batch_reads_all_its_lines_in_one_query(
    mailoutbox, django_assert_max_num_queries
):
    # The run's documents and the batch's lines: two queries for 2 or 6 documents. Then one
    # claim per document, made just before it is sent, so that two tasks never send it twice
    # (tests/billruns/test_run_emails_twice.py): no line is read per document.
    small, big = posted_run_with_documents(2), posted_run_with_documents(6)
    with django_assert_max_num_queries(2 + 2):
        assert emails.send_run_documents(small) == 2
    with django_assert_max_num_queries(2 + 6):
        assert emails.send_run_documents(big) == 6
    assert all(len(m.attachments) == 1 for m in mailoutbox)


def test_a_document_whose_pdf_fails_is_not_sent_and_the_others_are(mailoutbox, monkeypatch, caplog):
    run = posted_run_with_documents(3)
    first, broken, last = run.documents.order_by("id")
    real = pdf.render_document_pdf

    def render(document, *, lines=None):
        if document.pk == broken.pk:
            raise RuntimeError("font missing")
        return real(document, lines=lines)

    monkeypatch.setattr(emails, "render_document_pdf", render)
    assert emails.send_run_documents(run) == 2
    emailed = set(run.documents.filter(emailed_at__isnull=False).values_list("number", flat=True))
    assert emailed == {first.number, last.number}
    assert f"Could not render the PDF of {broken.number}" in caplog.text
