"""Every write to a bill run, one module per step of its life (DESIGN §4):

- lifecycle: the transition table, `can()`, `move()` (status + History), refusals;
- create: validate the run's terms and save it Pending;
- plan: Pending → Processing, the scope cut into chunks (execution.py bills them);
- finalize: statistics, Completed or Error, the email, auto-post;
- post: Completed → PostInProgress → Posted;
- cancel: → CancelInProgress → Canceled, with the roll back;
- terminate, delete, retry, email: the operator's other actions;
- documents: what a run says when one of its documents is posted or unposted.
"""

from billruns.errors import BillRunError, IllegalTransition
from billruns.services.cancel import cancel_bill_run, finish_cancel
from billruns.services.create import create_bill_run
from billruns.services.delete import delete_bill_run
from billruns.services.email import email_bill_run
from billruns.services.finalize import finalize_bill_run
from billruns.services.lifecycle import available_actions
from billruns.services.plan import start_bill_run
from billruns.services.post import finish_posting, post_bill_run
from billruns.services.retry import retry_failed_accounts
from billruns.services.terminate import terminate_bill_run

__all__ = [
    "BillRunError",
    "IllegalTransition",
    "available_actions",
    "cancel_bill_run",
    "create_bill_run",
    "delete_bill_run",
    "email_bill_run",
    "finalize_bill_run",
    "finish_cancel",
    "finish_posting",
    "post_bill_run",
    "retry_failed_accounts",
    "start_bill_run",
    "terminate_bill_run",
]
