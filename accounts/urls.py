from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("autocomplete/", views.autocomplete_view, name="autocomplete"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("import/", views.import_view, name="import"),
    path("import/template/<slug:kind>.csv", views.import_template_view, name="import_template"),
]
