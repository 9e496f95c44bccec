"""/api/v1/: the REST API of DESIGN §10, its OpenAPI schema and its offline documentation."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import billruns
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
    # The schema and its documentation page describe the API, hold no data, and are public.
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path(
        "docs/",
        login_not_required(SpectacularSwaggerView.as_view(url_name="api:schema")),
        name="docs",
    ),
    re_path(r"^.*$", not_found, name="not_found"),
]
