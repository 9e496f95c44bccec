from django.urls import path

from invoicing import views

app_name = "invoicing"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/pdf/", views.pdf_view, name="pdf"),
    path("<int:pk>/pdf/status/", views.pdf_status_view, name="pdf_status"),
    path("<int:pk>/post/", views.post_view, name="post"),
    path("<int:pk>/unpost/", views.unpost_view, name="unpost"),
]
