from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    verbose_name = "Billing documents"
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"
