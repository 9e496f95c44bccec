from billruns import services
from billruns.management.commands._common import RunTransitionCommand


class Command(RunTransitionCommand):
    help = "Cancel a Pending, Completed or Error bill run: its documents are voided and rebillable."

    def transition(self, *, run, acting_user):
        return services.cancel_bill_run(run=run, acting_user=acting_user)
