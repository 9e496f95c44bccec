from django.apps import AppConfig


class BillrunsConfig(AppConfig):
    verbose_name = "Bill runs"
    name = "billruns"
    default_auto_field = "django.db.models.BigAutoField"
