from django.core.management.base import BaseCommand, CommandError

from billruns import services
from billruns.management.commands._common import find_run, find_user


class Command(BaseCommand):
    help = "Cancel a Pending, Completed or Error bill run: its documents are voided and rebillable."

    def add_arguments(self, parser):
        parser.add_argument("number", help="The run's number, e.g. BR-00000001.")
        parser.add_argument("--user", metavar="USERNAME")

    def handle(self, *args, **options):
        run = find_run(options["number"])
        try:
            run = services.cancel_bill_run(run=run, acting_user=find_user(options["user"]))
        except services.BillRunError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{run.number} {run.status}.")
