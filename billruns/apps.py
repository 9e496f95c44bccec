from django.apps import AppConfig


class BillrunsConfig(AppConfig):
    verbose_name = "Bill runs"
    name = "billruns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django_q.signals import post_spawn

        from billruns.recovery import start_watchdog
        from billruns.services.documents import DocumentsOfRuns
        from invoicing import services as document_services

        # Posting or unposting one document asks its run (invoicing never imports billruns).
        document_services.connect_run_gate(DocumentsOfRuns())
        # Every qcluster worker process watches for work whose worker died (DESIGN §6).
        post_spawn.connect(start_watchdog, dispatch_uid="billcycle-watchdog")
