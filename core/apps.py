from django.apps import AppConfig


class CoreConfig(AppConfig):
    verbose_name = "Shared"
    name = "core"
    default_auto_field = "django.db.models.BigAutoField"
