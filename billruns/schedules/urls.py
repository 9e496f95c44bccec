from django.urls import path

from billruns.schedules import views

app_name = "schedules"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="create"),
    path("preview/", views.preview_view, name="preview"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/edit/", views.edit_view, name="edit"),
    path("<int:pk>/pause/", views.pause_view, name="pause"),
    path("<int:pk>/resume/", views.resume_view, name="resume"),
    path("<int:pk>/delete/", views.delete_view, name="delete"),
]
