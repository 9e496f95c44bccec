from billruns import services
from billruns.management.commands._common import RunTransitionCommand
from billruns.models import BillRun
from billruns.services.lifecycle import Action, allowed_statuses


class Command(RunTransitionCommand):
    help = f"Post a {allowed_statuses(Action.POST)} bill run: all its documents become final."

    finished_status = BillRun.Status.POSTED

    def transition(self, *, run, acting_user):
        return services.post_bill_run(run=run, acting_user=acting_user)
