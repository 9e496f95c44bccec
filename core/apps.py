from django.apps import AppConfig


class CoreConfig(AppConfig):
    verbose_name = "Shared"
    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import checks  # noqa: F401  (registers the deploy checks)
