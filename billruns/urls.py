from django.urls import path

from billruns import views
from billruns.preview import views as previews

app_name = "billruns"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="create"),
    path("new/scope-count/", views.scope_count_view, name="scope_count"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/progress/", views.progress_view, name="progress"),
    path("<int:pk>/post/", views.post_view, name="post"),
    path("<int:pk>/cancel/", views.cancel_view, name="cancel"),
    path("<int:pk>/terminate/", views.terminate_view, name="terminate"),
    path("<int:pk>/delete/", views.delete_view, name="delete"),
    path("<int:pk>/retry/", views.retry_view, name="retry"),
    # Billing preview runs (DESIGN §11).
    path("previews/", previews.list_view, name="preview_list"),
    path("previews/new/", previews.create_view, name="preview_create"),
    path("previews/<int:pk>/", previews.detail_view, name="preview_detail"),
    path("previews/<int:pk>/progress/", previews.progress_view, name="preview_progress"),
    path("previews/<int:pk>/csv/", previews.csv_view, name="preview_csv"),
    path("previews/<int:pk>/cancel/", previews.cancel_view, name="preview_cancel"),
]

# Exports of the list (honouring its filters) and of one run's documents.
from billruns.exports.urls import urlpatterns as export_patterns  # noqa: E402

urlpatterns += export_patterns
