from billruns import services
from billruns.management.commands._common import RunTransitionCommand


class Command(RunTransitionCommand):
    help = "Post a Completed bill run: all its documents become final."

    def transition(self, *, run, acting_user):
        return services.post_bill_run(run=run, acting_user=acting_user)
