"""The preview pages: an operator previews from the new run form, reads the totals and the
failures, downloads the CSV, cancels, and creates the run with the preview's terms."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Charge
from billruns.models import BillingPreviewRun, BillRun
from billruns.preview import services as previews
from billruns.terms import RunTerms
from invoicing.models import BillingDocument
from tests.billruns.test_pages import form_data, messages_of
from tests.factories import ChargeFactory, failing_charge

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)
NEW = reverse("billruns:preview_create")


def preview_from_form(client, django_capture_on_commit_callbacks, **overrides):
    """Post the form (the preview is rated when its save commits), then follow to its page."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(NEW, form_data(**overrides))
    assert response.status_code == 302
    page = client.get(response["Location"])
    page.redirect_chain = [(response["Location"], 302)]
    return page


def test_the_run_form_s_preview_shows_what_the_run_would_bill_and_writes_nothing(
    logged_in, django_capture_on_commit_callbacks
):
    ChargeFactory(subscription__account__batch="Batch1", price=Decimal("100.00"))
    failing_charge(batch="Batch1")
    form = logged_in.get(reverse("billruns:create"))
    assert 'formaction="/bill-runs/previews/new/"' in form.content.decode()
    response = preview_from_form(logged_in, django_capture_on_commit_callbacks)
    preview = BillingPreviewRun.objects.get()
    assert response.redirect_chain[-1][0] == preview.get_absolute_url()
    page = response.content.decode()
    assert preview.status == "Completed"
    assert messages_of(response) == [f"{preview.number} is previewing what this run would bill."]
    assert "$200.00" in page  # January and February in advance
    assert 'data-stat="failures">1<' in page and "invalid_tiers" in page
    assert not BillingDocument.objects.exists() and not BillRun.objects.exists()
    assert not Charge.objects.filter(charged_through__isnull=False).exists()
    download = logged_in.get(reverse("billruns:preview_csv", args=[preview.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="{preview.number}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [(r["amount"], r["documentType"]) for r in rows] == [
        ("100.00", "Invoice"),
        ("100.00", "Invoice"),
    ]
    assert 'id="previews-link"' in logged_in.get(reverse("billruns:list")).content.decode()
    listing = logged_in.get(reverse("billruns:preview_list")).content.decode()
    assert preview.number in listing and "Batch1 · all bill cycle days" in listing


def test_create_this_bill_run_opens_the_form_with_the_preview_s_terms(logged_in):
    charge = ChargeFactory(subscription__account__batch="Batch4")
    preview = previews.create_preview(
        terms=RunTerms(
            invoice_date=FEB1,
            target_date=dt.date(2026, 2, 15),
            batches=["Batch4"],
            bill_cycle_day=charge.account.bill_cycle_day,
            charge_types=["Recurring"],
            name="Feb",
        ),
        acting_user=None,
        enqueue=False,
    )
    BillingPreviewRun.objects.filter(pk=preview.pk).update(status="Completed")
    page = logged_in.get(preview.get_absolute_url()).content.decode()
    assert f'href="/bill-runs/new/?from_preview={preview.pk}"' in page
    form = logged_in.get(reverse("billruns:create"), {"from_preview": preview.pk}).context["form"]
    assert form.initial["batches"] == ["Batch4"]
    assert form.initial["target_date"] == dt.date(2026, 2, 15)
    assert form.initial["charge_types"] == ["Recurring"]
    assert form.initial["name"] == "Feb"
    assert logged_in.get(reverse("billruns:create"), {"from_preview": "x"}).status_code == 200


def test_a_bad_form_comes_back_with_its_errors_and_no_preview(logged_in):
    ChargeFactory(subscription__account__batch="Batch1")
    response = logged_in.post(NEW, form_data(target_date="", preview_only="1"))
    assert response.status_code == 200
    assert "A target date is required" in response.content.decode()
    assert response.context["preview_only"]
    response = logged_in.post(NEW, form_data(batches=["Batch9"]))
    assert "No active account matches this scope" in response.content.decode()
    assert not BillingPreviewRun.objects.exists()


def test_a_running_preview_polls_and_can_be_canceled(logged_in):
    ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    page = logged_in.get(preview.get_absolute_url()).content.decode()
    assert 'id="preview-progress"' in page and "Download CSV" not in page
    fragment = logged_in.get(reverse("billruns:preview_progress", args=[preview.pk]))
    assert "Waiting for a worker" in fragment.content.decode()
    refused = logged_in.get(reverse("billruns:preview_csv", args=[preview.pk]), follow=True)
    assert messages_of(refused) == [f"{preview.number} has no result to download yet."]
    response = logged_in.post(reverse("billruns:preview_cancel", args=[preview.pk]), follow=True)
    assert messages_of(response) == [f"{preview.number} canceled."]
    preview.refresh_from_db()
    assert preview.status == "Canceled"
    done = logged_in.get(reverse("billruns:preview_progress", args=[preview.pk]))
    assert (done.status_code, done["HX-Refresh"]) == (204, "true")
    again = logged_in.post(reverse("billruns:preview_cancel", args=[preview.pk]), follow=True)
    assert "only a running preview is canceled" in messages_of(again)[0]


def test_a_viewer_reads_previews_but_cannot_make_or_cancel_one(client, viewer):
    ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    client.force_login(viewer)
    assert client.get(preview.get_absolute_url()).status_code == 200
    assert client.get(reverse("billruns:preview_list")).status_code == 200
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data()).status_code == 403
    assert client.post(reverse("billruns:preview_cancel", args=[preview.pk])).status_code == 403
    assert "Cancel preview" not in client.get(preview.get_absolute_url()).content.decode()


def test_the_admin_lists_previews(admin_client):
    ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    assert preview.number in admin_client.get("/admin/billruns/billingpreviewrun/").content.decode()
    page = admin_client.get(f"/admin/billruns/billingpreviewrun/{preview.pk}/change/")
    assert page.status_code == 200 and "All batches · all bill cycle days" in page.content.decode()
