"""The admin: every page opens, viewers only look, and billed history stays read-only."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.shortcuts import resolve_url
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Amendment, Charge, UsageRecord
from billruns.models import (
    BillingPreviewChunk,
    BillingPreviewFailure,
    BillingPreviewRun,
    BillRun,
    BillRunChunk,
    BillRunEvent,
    BillRunFailure,
    BillRunSchedule,
)
from invoicing.models import BillingDocument
from tests.factories import (
    BillingDocumentFactory,
    BillRunFactory,
    DocumentLineFactory,
    SubscriptionFactory,
    UsageRecordFactory,
)

pytestmark = pytest.mark.django_db

APPS = ("core", "accounts", "invoicing", "billruns")
REGISTERED = sorted(
    (
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in APPS
    ),
    key=lambda item: item[0]._meta.label,
)
every_admin = pytest.mark.parametrize(
    "model, model_admin", REGISTERED, ids=[model._meta.label for model, _ in REGISTERED]
)
SAVE_BUTTON = b'name="_save"'


def build_one_of_everything(owner):
    """One row of every model, tied together as a bill run would tie them."""
    run = BillRunFactory(name="February run", number_of_failures=1)
    line = DocumentLineFactory(document__bill_run=run)
    invoice = line.document
    invoice.number = f"INV9{invoice.pk:07d}"
    invoice.save(update_fields=["number"])
    account = invoice.account
    BillingDocumentFactory(
        kind=BillingDocument.Kind.CREDIT_MEMO,
        number=f"CM9{invoice.pk:07d}",
        account=account,
        bill_run=run,
    )
    usage = UsageRecordFactory(charge__subscription__account=account)
    Amendment.objects.create(
        subscription=usage.charge.subscription,
        charge=usage.charge,
        kind=Amendment.Kind.REMOVE_CHARGE,
        effective_date=dt.date(2026, 3, 1),
        at=timezone.now(),
        details={"effective_end": [None, "2026-02-28"]},
    )
    BillRunChunk.objects.create(
        bill_run=run, sequence=1, first_account_id=account.pk, last_account_id=account.pk
    )
    BillRunFailure.objects.create(
        bill_run=run, account=account, error_code="RatingError", message="Bad tiers"
    )
    BillRunEvent.objects.create(
        bill_run=run, bill_run_number=run.number, to_status="Pending", at=timezone.now()
    )
    preview = BillingPreviewRun.objects.create(
        name="February preview",
        invoice_date=dt.date(2026, 2, 1),
        target_date=dt.date(2026, 2, 1),
        created_by=owner,
    )
    BillingPreviewChunk.objects.create(
        preview=preview, sequence=0, first_account_id=account.pk, last_account_id=account.pk
    )
    BillingPreviewFailure.objects.create(
        preview=preview, account=account, error_code="invalid_tiers", message="Bad tiers"
    )
    BillRunSchedule.objects.create(
        name="Monthly run",
        frequency=BillRunSchedule.Frequency.MONTHLY,
        day_of_month=1,
        run_time=dt.time(6),
        starts_on=dt.date(2026, 1, 1),
        owner=owner,
    )


@pytest.fixture
def everything(admin_user):
    build_one_of_everything(admin_user)


def existing(model):
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"build_one_of_everything() makes no {model._meta.label}"
    return obj


def url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def request_by(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def post_back(response, **changes):
    """What a browser would post back from an admin change page, with some fields changed."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value not in (None, False):
                data[form.add_prefix(name)] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    data.update(changes)
    return data


# Every registered admin, for a superuser.


@every_admin
def test_the_changelist_opens(admin_client, everything, model, model_admin):
    assert admin_client.get(url(model, "changelist")).status_code == 200


@every_admin
def test_the_change_page_opens(admin_client, everything, model, model_admin):
    obj = existing(model)
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@every_admin
def test_the_add_page_opens_where_adding_is_allowed(
    admin_client, admin_user, everything, model, model_admin
):
    expected = 200 if model_admin.has_add_permission(request_by(admin_user)) else 403
    assert admin_client.get(url(model, "add")).status_code == expected


@every_admin
def test_the_search_opens_and_finds_by_number(admin_client, everything, model, model_admin):
    obj = existing(model)
    term = getattr(obj, "number", None) or "1"
    response = admin_client.get(url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    if "number" in model_admin.search_fields:
        assert term in response.content.decode()


@every_admin
def test_the_changelist_runs_as_many_queries_for_two_rows_as_for_one(
    admin_client, admin_user, everything, model, model_admin
):
    changelist = url(model, "changelist")
    admin_client.get(changelist)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(changelist)
    build_one_of_everything(admin_user)
    with CaptureQueriesContext(connection) as two:
        response = admin_client.get(changelist)
    assert response.context["cl"].result_count >= 2
    assert len(two) == len(one), [query["sql"] for query in two.captured_queries]


@every_admin
def test_an_anonymous_visitor_is_sent_to_log_in(client, everything, model, model_admin):
    obj = existing(model)
    for page in (url(model, "changelist"), url(model, "change", obj.pk)):
        response = client.get(page)
        assert response.status_code == 302
        # LoginRequiredMiddleware answers before the admin does: the site's login page, which
        # returns to the admin page afterwards.
        assert response["Location"] == f"{resolve_url(settings.LOGIN_URL)}?next={page}"


@every_admin
def test_no_delete_action_where_deleting_is_not_allowed(admin_user, model, model_admin):
    request = request_by(admin_user)
    if not model_admin.has_delete_permission(request):
        assert "delete_selected" not in model_admin.get_actions(request)


# A Billing Viewer.


@every_admin
def test_a_viewer_sees_lists_and_pages_without_a_save_button(
    client, viewer, everything, model, model_admin
):
    client.force_login(viewer)
    changelist = client.get(url(model, "changelist"))
    assert changelist.status_code == 200
    assert url(model, "add").encode() not in changelist.content
    page = client.get(url(model, "change", existing(model).pk))
    assert page.status_code == 200
    assert SAVE_BUTTON not in page.content


@every_admin
def test_a_viewer_cannot_change_add_or_delete(client, viewer, everything, model, model_admin):
    client.force_login(viewer)
    obj = existing(model)
    assert client.post(url(model, "change", obj.pk), {}).status_code == 403
    assert client.get(url(model, "add")).status_code == 403
    assert client.get(url(model, "delete", obj.pk)).status_code == 403
    assert client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_a_viewer_holds_no_write_permission(viewer):
    perms = Permission.objects.filter(content_type__app_label__in=APPS).select_related(
        "content_type"
    )
    writes = [p for p in perms if not p.codename.startswith("view_")]
    assert {p.codename.split("_")[0] for p in writes} == {
        "add",
        "change",
        "delete",
        "post",
        "cancel",
        "terminate",
    }
    held = [
        p.codename for p in writes if viewer.has_perm(f"{p.content_type.app_label}.{p.codename}")
    ]
    assert held == []


# Read-only rules.


@pytest.mark.parametrize("model_name", ["billingdocument", "invoice"])
def test_a_posted_document_is_read_only_for_a_superuser(admin_client, model_name):
    document = BillingDocumentFactory(
        number="INV00000007", status=BillingDocument.Status.POSTED, posted_at=timezone.now()
    )
    page = reverse(f"admin:invoicing_{model_name}_change", args=[document.pk])
    response = admin_client.get(page)
    assert response.status_code == 200
    assert SAVE_BUTTON not in response.content
    response = admin_client.post(page, {"due_date": "2026-04-30"})
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.due_date == dt.date(2026, 3, 3)


def test_a_draft_document_changes_only_its_due_date(admin_client):
    document = DocumentLineFactory().document
    page = url(BillingDocument, "change", document.pk)
    response = admin_client.get(page)
    assert SAVE_BUTTON in response.content
    assert list(response.context["adminform"].form.fields) == ["due_date"]
    data = post_back(response, due_date="2026-04-30", amount="1.00", status="Posted")
    assert admin_client.post(page, data).status_code == 302
    document.refresh_from_db()
    assert document.due_date == dt.date(2026, 4, 30)
    assert document.amount == Decimal("100.00")
    assert document.status == BillingDocument.Status.DRAFT


def test_a_due_date_before_the_invoice_date_is_refused_on_the_page(admin_client):
    document = BillingDocumentFactory()
    page = url(BillingDocument, "change", document.pk)
    data = post_back(admin_client.get(page), due_date="2026-01-31")
    response = admin_client.post(page, data)
    assert response.status_code == 200
    assert "The due date cannot be before the invoice date." in response.content.decode()
    document.refresh_from_db()
    assert document.due_date == dt.date(2026, 3, 3)


def test_a_completed_run_is_read_only_for_a_superuser(admin_client):
    run = BillRunFactory(name="January", status=BillRun.Status.COMPLETED)
    page = url(BillRun, "change", run.pk)
    response = admin_client.get(page)
    assert response.status_code == 200
    assert SAVE_BUTTON not in response.content
    assert admin_client.post(page, {"name": "Renamed"}).status_code == 403
    run.refresh_from_db()
    assert run.name == "January"


def test_a_superuser_renames_a_pending_run_and_nothing_else(admin_client, admin_user):
    run = BillRunFactory(name="January")
    BillRunEvent.objects.create(
        bill_run=run, bill_run_number=run.number, to_status="Pending", at=timezone.now()
    )
    page = url(BillRun, "change", run.pk)
    response = admin_client.get(page)
    assert list(response.context["adminform"].form.fields) == ["name"]
    data = post_back(response, name="January, second try", status="Posted")
    assert admin_client.post(page, data).status_code == 302
    run.refresh_from_db()
    assert run.name == "January, second try"
    assert run.status == BillRun.Status.PENDING
    assert run.updated_by == admin_user


def test_the_number_is_optional_on_add_and_fixed_on_change(admin_client):
    subscription = SubscriptionFactory()
    add_form = admin_client.get(url(Charge, "add")).context["adminform"].form
    assert not add_form.fields["number"].required
    assert "account" not in add_form.fields
    page = admin_client.get(url(type(subscription), "change", subscription.pk))
    change_form = page.context["adminform"].form
    assert "number" not in change_form.fields
    assert "account" not in change_form.fields


def test_adding_a_charge_takes_its_account_from_the_subscription(admin_client):
    subscription = SubscriptionFactory()
    data = {
        "subscription": subscription.pk,
        "name": "Support",
        "charge_type": "Recurring",
        "charge_model": "FlatFee",
        "price": "25",
        "quantity": "1",
        "tiers": "[]",
        "billing_period": "Month",
        "billing_timing": "InAdvance",
        "effective_start": "2026-01-01",
    }
    assert admin_client.post(url(Charge, "add"), data).status_code == 302
    charge = Charge.objects.get(name="Support")
    assert charge.account_id == subscription.account_id
    assert charge.number.startswith("C")


def test_tiers_are_validated_on_the_charge_page(admin_client):
    charge = UsageRecordFactory().charge
    page = url(Charge, "change", charge.pk)
    data = post_back(
        admin_client.get(page),
        charge_model="Tiered",
        tiers='[{"up_to": 10, "unit_price": "0.10", "flat_price": "0"}]',
    )
    response = admin_client.post(page, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tiers"]


def test_billed_usage_is_read_only(admin_client):
    line = DocumentLineFactory()
    usage = UsageRecordFactory(
        charge=line.charge, status=UsageRecord.Status.BILLED, line=line, quantity=Decimal("3")
    )
    page = url(UsageRecord, "change", usage.pk)
    assert SAVE_BUTTON not in admin_client.get(page).content
    assert admin_client.post(page, {"quantity": "4"}).status_code == 403
    assert admin_client.get(url(UsageRecord, "delete", usage.pk)).status_code == 403


def test_a_run_with_failures_carries_an_alert_mark(admin_client):
    BillRunFactory(name="Failing", number_of_failures=3)
    BillRunFactory(name="Clean")
    content = admin_client.get(url(BillRun, "changelist")).content.decode()
    assert content.count("\u26a0") == 1
