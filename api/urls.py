"""/api/v1/: the REST API of DESIGN §10, its OpenAPI schema and its offline documentation."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import billruns, customers, documents, previews, usage, webhook_views
from api.views import not_found

app_name = "api"

urlpatterns = [
    path("bill-runs", billruns.BillRunListView.as_view(), name="bill_runs"),
    path("bill-runs/<str:key>", billruns.BillRunDetailView.as_view(), name="bill_run"),
    path("bill-runs/<str:key>/post", billruns.BillRunPostView.as_view(), name="bill_run_post"),
    path(
        "bill-runs/<str:key>/cancel", billruns.BillRunCancelView.as_view(), name="bill_run_cancel"
    ),
    path(
        "bill-runs/<str:key>/emails", billruns.BillRunEmailsView.as_view(), name="bill_run_emails"
    ),
    path(
        "bill-runs/<str:key>/failures",
        billruns.BillRunFailuresView.as_view(),
        name="bill_run_failures",
    ),
    path("billing-preview-runs", previews.PreviewListView.as_view(), name="previews"),
    path("billing-preview-runs/<str:key>", previews.PreviewDetailView.as_view(), name="preview"),
    path(
        "billing-preview-runs/<str:key>/cancel",
        previews.PreviewCancelView.as_view(),
        name="preview_cancel",
    ),
    path(
        "billing-preview-runs/<str:key>/result",
        previews.PreviewResultView.as_view(),
        name="preview_result",
    ),
    path(
        "billing-preview-runs/<str:key>/failures",
        previews.PreviewFailuresView.as_view(),
        name="preview_failures",
    ),
    path("accounts", customers.AccountListView.as_view(), name="accounts"),
    path("accounts/<str:key>", customers.AccountDetailView.as_view(), name="account"),
    path("subscriptions", customers.SubscriptionListView.as_view(), name="subscriptions"),
    path(
        "subscriptions/<str:key>", customers.SubscriptionDetailView.as_view(), name="subscription"
    ),
    path(
        "subscriptions/<str:key>/cancel",
        customers.SubscriptionCancelView.as_view(),
        name="subscription_cancel",
    ),
    path(
        "subscriptions/<str:key>/charges",
        customers.SubscriptionChargesView.as_view(),
        name="subscription_charges",
    ),
    path("charges/<str:key>", customers.ChargeDetailView.as_view(), name="charge"),
    path("charges/<str:key>/change", customers.ChargeChangeView.as_view(), name="charge_change"),
    path("charges/<str:key>/remove", customers.ChargeRemoveView.as_view(), name="charge_remove"),
    path("usage", usage.UsageView.as_view(), name="usage"),
    path("invoices", documents.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<str:key>", documents.InvoiceDetailView.as_view(), name="invoice"),
    path("invoices/<str:key>/pdf", documents.InvoicePdfView.as_view(), name="invoice_pdf"),
    path("credit-memos", documents.CreditMemoListView.as_view(), name="credit_memos"),
    path("credit-memos/<str:key>", documents.CreditMemoDetailView.as_view(), name="credit_memo"),
    path(
        "credit-memos/<str:key>/pdf",
        documents.CreditMemoPdfView.as_view(),
        name="credit_memo_pdf",
    ),
    path("webhooks", webhook_views.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<str:key>", webhook_views.WebhookDetailView.as_view(), name="webhook"),
    path(
        "webhooks/<str:key>/deliveries",
        webhook_views.WebhookDeliveriesView.as_view(),
        name="webhook_deliveries",
    ),
    path(
        "webhook-deliveries/<str:key>/replay",
        webhook_views.WebhookReplayView.as_view(),
        name="webhook_replay",
    ),
    # The schema and its documentation page describe the API, hold no data, and are public.
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path(
        "docs/",
        # Its script is a second request (?script) and its styles are static files, so the
        # page works under the site's Content-Security-Policy as it is.
        login_not_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", template_name="api/swagger_ui.html"
            )
        ),
        name="docs",
    ),
    re_path(r"^.*$", not_found, name="not_found"),
]
