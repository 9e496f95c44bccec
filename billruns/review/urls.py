"""The Review tab's requests, under /bill-runs/ in the "review" namespace."""

from django.urls import path

from billruns.review import views

app_name = "review"

urlpatterns = [
    path("<int:pk>/review/threshold/", views.threshold_view, name="threshold"),
    path("<int:pk>/review/export/", views.export_view, name="export"),
    path("<int:pk>/review/preparing/", views.preparing_view, name="preparing"),
]
