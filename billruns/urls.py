from django.urls import path

from billruns import views

app_name = "billruns"

urlpatterns = [
    path("", views.list_view, name="list"),
]
