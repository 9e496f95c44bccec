from billruns import services
from billruns.management.commands._common import RunTransitionCommand
from billruns.models import BillRun
from billruns.services.lifecycle import Action, allowed_statuses


class Command(RunTransitionCommand):
    help = (
        f"Cancel a {allowed_statuses(Action.CANCEL)} bill run: its documents are voided and "
        "rebillable."
    )

    finished_status = BillRun.Status.CANCELED

    def transition(self, *, run, acting_user):
        return services.cancel_bill_run(run=run, acting_user=acting_user)
