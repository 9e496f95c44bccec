"""Export URLs, included in billruns/urls.py under the "billruns" namespace."""

from django.urls import path

from billruns import export_views

urlpatterns = [
    path("export/", export_views.export_bill_runs, name="export"),
    path("<int:pk>/documents.csv", export_views.export_run_documents, name="export_documents"),
]
