from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("autocomplete/", views.autocomplete_view, name="autocomplete"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path(
        "<int:pk>/subscriptions/<int:subscription_pk>/cancel/",
        views.cancel_subscription_view,
        name="cancel_subscription",
    ),
    path(
        "<int:pk>/subscriptions/<int:subscription_pk>/add-charge/",
        views.add_charge_view,
        name="add_charge",
    ),
    path(
        "<int:pk>/charges/<int:charge_pk>/change/", views.change_charge_view, name="change_charge"
    ),
    path(
        "<int:pk>/charges/<int:charge_pk>/remove/", views.remove_charge_view, name="remove_charge"
    ),
    path("import/", views.import_view, name="import"),
    path("import/template/<slug:kind>.csv", views.import_template_view, name="import_template"),
]
