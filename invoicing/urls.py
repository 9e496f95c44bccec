from django.urls import path

from invoicing import views

app_name = "invoicing"

urlpatterns = [
    path("", views.list_view, name="list"),
]
