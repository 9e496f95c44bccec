from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import pages as api_pages
from billing_project import views

admin.site.site_header = "Billcycle administration"
admin.site.site_title = "Billcycle admin"
admin.site.index_title = "Data maintenance"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("bill-runs/", include("billruns.urls")),
    path("bill-runs/", include("billruns.review.urls")),  # the Review tab's form and export
    path("schedules/", include("billruns.schedules.urls")),
    path("documents/", include("invoicing.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("api.urls")),
    path("api-tokens/", api_pages.tokens_view, name="api_tokens"),
    path("api-tokens/<int:pk>/revoke/", api_pages.revoke_view, name="api_token_revoke"),
    path("webhooks/", api_pages.webhooks_view, name="webhooks"),
    path("webhooks/<int:pk>/", api_pages.webhook_detail_view, name="webhook_detail"),
    path("webhooks/<int:pk>/toggle/", api_pages.webhook_toggle_view, name="webhook_toggle"),
    path("webhooks/<int:pk>/delete/", api_pages.webhook_delete_view, name="webhook_delete"),
    path(
        "webhooks/deliveries/<int:pk>/replay/",
        api_pages.webhook_replay_view,
        name="webhook_replay",
    ),
    path("admin/", admin.site.urls),
]
