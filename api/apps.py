from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self):
        from api import (
            schema,  # noqa: F401 (registers the bearer token's OpenAPI scheme)
            webhooks,
        )
        from billruns import events

        events.connect(webhooks.on_run_event)
