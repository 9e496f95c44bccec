"""Export URLs, included in billruns/urls.py under the "billruns" namespace."""

from django.urls import path

from billruns.exports import views

urlpatterns = [
    path("export/", views.export_bill_runs, name="export"),
    path("<int:pk>/documents.csv", views.export_run_documents, name="export_documents"),
]
