from django.apps import AppConfig


class BillrunsConfig(AppConfig):
    verbose_name = "Bill runs"
    name = "billruns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billruns.services.documents import DocumentsOfRuns
        from invoicing import services as document_services

        # Posting or unposting one document asks its run (invoicing never imports billruns).
        document_services.connect_run_gate(DocumentsOfRuns())
