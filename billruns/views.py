"""The operator's bill run pages. Every write goes through billruns.services; a refused
transition comes back as the service's own message."""

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billruns import leases, selectors, services
from billruns.filters import BillRunFilter
from billruns.forms import BillRunForm
from billruns.models import BillingPreviewRun, BillRun
from billruns.review import selectors as review
from billruns.review.forms import ReviewThresholdForm
from billruns.services.lifecycle import TRANSITIONS, Action
from billruns.terms import RunTerms
from core.errors import DomainError
from core.paging import paginate
from core.views import action_view
from invoicing.models import BillingDocument

# Statuses during which the run changes by itself: its page polls for progress.
LIVE_STATUSES = {
    BillRun.Status.PENDING,
    BillRun.Status.PROCESSING,
    BillRun.Status.POST_IN_PROGRESS,
    BillRun.Status.CANCEL_IN_PROGRESS,
}
POLL_SECONDS = 2
# A run Pending this long most likely has no worker to pick it up.
WORKER_HINT_AFTER = dt.timedelta(seconds=30)
# Both document tabs share one template.
TAB_TEMPLATES = {"invoices": "documents", "credit-memos": "documents"}
TABS = {
    "invoices": "Invoices",
    "credit-memos": "Credit Memos",
    "failed": "Failed Accounts or Subscriptions",
    "history": "History",
}
# Shown once a run's documents are all written and none is voided (review.REVIEW_STATUSES).
REVIEW_TAB = {"review": "Review"}


@require_GET
@permission_required("billruns.view_billrun", raise_exception=True)
def list_view(request):
    filterset = BillRunFilter(request.GET, queryset=selectors.bill_run_list())
    page = paginate(request, filterset.qs)
    return render(
        request,
        "billruns/billrun_list.html",
        {
            "filter": filterset,
            "page_obj": page,
            "filtered": filterset.is_filtering,
            "totals": selectors.bill_run_totals(filterset.qs) if page.paginator.count else [],
        },
    )


@never_cache  # Back must not bring the form back with a key already used
@permission_required("billruns.add_billrun", raise_exception=True)
def create_view(request):
    if request.method == "POST":
        form = BillRunForm(request.POST)
        key = request.POST.get("idempotency_key")
        earlier = selectors.run_created_with(key) if key else None
        if earlier is not None:
            messages.info(request, f"{earlier.number} was already created from this form.")
            return redirect(earlier)
        if form.is_valid():
            try:
                run = services.create_bill_run(
                    terms=form.run_terms(),
                    acting_user=request.user,
                    idempotency_key=form.cleaned_data["idempotency_key"] or None,
                )
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{run.number} created.")
                return redirect(run)
    else:
        form = BillRunForm(initial=_initial_terms(request))
    return render(request, "billruns/billrun_form.html", {"form": form})


def _initial_terms(request) -> dict:
    """The new run form's first values: an account (from its page), or the terms of a preview
    (its *Create this bill run*)."""
    preview_id = request.GET.get("from_preview", "")
    preview = (
        BillingPreviewRun.objects.select_related("account").filter(pk=preview_id).first()
        if preview_id.isdigit()
        else None
    )
    if preview is None:
        return {"account": request.GET.get("account", "")}
    single = preview.account_id is not None
    return {
        "scope": BillRunForm.SCOPE_ACCOUNT if single else BillRunForm.SCOPE_BATCHES,
        "account": preview.account.number if single else "",
        "batches": preview.batches,
        "bill_cycle_day": preview.bill_cycle_day,
        "charge_types": preview.charge_types,
        "invoice_date": preview.invoice_date,
        "target_date": preview.target_date,
        "name": preview.name,
    }


@require_GET
@permission_required("billruns.add_billrun", raise_exception=True)
def scope_count_view(request):
    """How many accounts the scope typed so far selects (htmx fragment of the new run form)."""
    form = BillRunForm(request.GET)
    form.is_valid()  # only the scope fields are read, each as far as it parses
    single = request.GET.get("scope") == BillRunForm.SCOPE_ACCOUNT
    context = {"single": single}
    if single:
        # The form's own reading of what was typed (a number, or a unique name) and its refusal.
        account = form.cleaned_data.get("account")
        typed = request.GET.get("account", "").strip()
        problem = " ".join(form.errors.get("account", [])) if typed else ""
        context.update(account=account, problem=problem, count=1 if account else 0)
    else:
        batches = form.cleaned_data.get("batches") or []
        day = form.cleaned_data.get("bill_cycle_day")
        scope = RunTerms(batches=batches, bill_cycle_day=day)
        context["count"] = selectors.accounts_in_scope(scope).count()
    return render(request, "billruns/includes/scope_count.html", context)


def human_duration(span: dt.timedelta) -> str:
    """546 ms, 12 s, 3 min 20 s, 2 h 5 min: the unit an operator reads at a glance."""
    ms = int(span.total_seconds() * 1000)
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _progress(run: BillRun, now: dt.datetime, *, counts, documents: dict[str, int]) -> dict:
    """Chunks done, accounts billed so far and a naive ETA from the pace of the done chunks;
    documents posted, or chunks rolled back, while a posting or a cancel goes on."""
    done = run.chunks_done
    total = run.chunks_total
    if run.status == BillRun.Status.POST_IN_PROGRESS:
        # A stopped cancel's canceled documents are never posted.
        documents = {s: n for s, n in documents.items() if s != BillingDocument.Status.CANCELED}
        done, total = documents.get(BillingDocument.Status.POSTED, 0), sum(documents.values())
    elif run.status == BillRun.Status.CANCEL_IN_PROGRESS:
        done = selectors.chunks_rolled_back(run)
    percent = int(done * 100 / total) if total else 0
    accounts = 0
    eta = None
    if run.status == BillRun.Status.PROCESSING:
        accounts = counts["number_of_accounts"]
        if run.executed_at and done and done < total:
            elapsed = now - run.executed_at
            eta = human_duration(elapsed / done * (total - done))
    return {
        "percent": percent,
        "chunks_done": done,
        "chunks_total": total,
        "accounts_so_far": accounts,
        "eta": eta,
        "waiting_for_worker": run.status == BillRun.Status.PENDING
        and now - run.created_at > WORKER_HINT_AFTER,
        "poll_seconds": POLL_SECONDS,
        # A posting or cancel whose worker died: it resumes by itself, or when asked again.
        "unattended": run.status in selectors.IN_PROGRESS
        and leases.unattended(run.lease_until, run.updated_at, now),
    }


BILLING = (BillRun.Status.PENDING, BillRun.Status.PROCESSING)
# The buttons of the run's page, each with its confirmation.
BUTTONS = (Action.POST, Action.RETRY, Action.TERMINATE, Action.CANCEL, Action.DELETE)


def _run_state(run: BillRun, user, now: dt.datetime) -> dict:
    """What the run's header and counts show, on the page and in each progress fragment.

    While the run changes by itself its buttons change with it (Pending offers Cancel,
    Processing Terminate): the page then holds the confirmation of every button the user may
    press, and the header is sent again whenever `header_key` (status, alert, buttons) moves."""
    counts = selectors.run_counts(run)
    if run.status in BILLING:
        # Nothing is posted or canceled while a run bills: its documents are the drafts its
        # done chunks wrote with their counts, so a poll needs no count over the documents.
        written = counts["number_of_invoices"] + counts["number_of_credit_memos"]
        document_counts = {BillingDocument.Status.DRAFT: written} if written else {}
    else:
        document_counts = selectors.document_counts(run)
    documents_total = sum(document_counts.values())
    posted = document_counts.get(BillingDocument.Status.POSTED, 0)
    actions = services.available_actions(run, user=user, documents=document_counts)
    live = run.status in LIVE_STATUSES
    shown = [action for action, on in actions.items() if on]
    state = {
        "run": run,
        "actions": actions,
        "live": live,
        "modals": (
            {a.value: user.has_perm(TRANSITIONS[a].permission) for a in BUTTONS}
            if live
            else actions
        ),
        "header_key": f"{run.status}.{run.number_of_failures}.{'.'.join(shown)}",
        "counts": counts,
        "percent_posted": int(posted * 100 / documents_total) if documents_total else None,
        "documents_total": documents_total,
        "duration": (
            human_duration(dt.timedelta(milliseconds=run.total_time_ms))
            if run.total_time_ms is not None
            else None
        ),
    }
    if live:
        state["progress"] = _progress(run, now, counts=state["counts"], documents=document_counts)
    return state


@require_GET
@permission_required("billruns.view_billrun", raise_exception=True)
def detail_view(request, pk):
    run = get_object_or_404(selectors.bill_run_detail(), pk=pk)
    tabs = TABS | REVIEW_TAB if run.status in review.REVIEW_STATUSES else TABS
    tab = request.GET.get("tab") if request.GET.get("tab") in tabs else "invoices"
    context = {
        **_run_state(run, request.user, timezone.now()),
        "tab": tab,
        "tabs": tabs,
        "amounts": selectors.amount_rows(run.amounts_by_currency),
        "retries": selectors.recent_retries(run),
        "stopped": selectors.stopped_transition(run),
    }
    if tab == "review":
        page = review.review_page(run, page=request.GET.get("page"), sort=request.GET.get("o"))
        context["review"] = page
        context["tab_page"] = page.page
        context["threshold_form"] = ReviewThresholdForm(
            initial={"threshold_percent": run.review_threshold_percent}
        )
    else:
        context["tab_page"] = paginate(request, selectors.tab_rows(run, tab))
    context["tab_template"] = f"billruns/includes/tab_{TAB_TEMPLATES.get(tab, tab)}.html"
    return render(request, "billruns/billrun_detail.html", context)


@require_GET
@permission_required("billruns.view_billrun", raise_exception=True)
def progress_view(request, pk):
    """The fragment the detail page polls: the progress bar, the counts and, when its status
    or buttons changed since the page showed them (`shown`), the header. Once the run
    settles, reload the page so its amounts and tabs show the result."""
    run = selectors.run_or_none(pk)
    if run is None or run.status not in LIVE_STATUSES:
        response = HttpResponse(status=204)
        if run is None:  # deleted meanwhile
            response["HX-Redirect"] = reverse("billruns:list")
        else:
            response["HX-Refresh"] = "true"
        return response
    state = _run_state(run, request.user, timezone.now())
    state["header_changed"] = request.GET.get("shown") != state["header_key"]
    return render(request, "billruns/includes/live.html", state)


def _transition_view(
    action: Action,
    act: Callable[[BillRun, object], object],
    done: str | Callable[[BillRun], str],
):
    """One of the run page's buttons: the service's result as a message (`done`, or what it says
    for the result), then the run's page (or the new run a retry made, or the list once the run
    is deleted). The permission it needs is the transition table's."""

    def report(run: BillRun, result: BillRun | None):
        new = result.number if result is not None else ""
        text = done(result) if callable(done) else done
        return text.format(number=run.number, new=new), result or "billruns:list"

    return action_view(
        model=BillRun, permission=TRANSITIONS[action].permission, act=act, done=report
    )


def _posted(run: BillRun) -> str:
    """What Post says: a worker is posting the documents, or, with no Draft left to wait for,
    the run is Posted already (DESIGN §4: with no documents at all, there was nothing to post)."""
    if run.status != BillRun.Status.POSTED:
        return "{number} is being posted: its documents become final."
    counts = selectors.document_counts(run)
    counts.pop(BillingDocument.Status.CANCELED, None)
    if not sum(counts.values()):
        return "{number} has no documents: there was nothing to post, and it is now Posted."
    return "{number} is Posted: all its documents are final."


post_view = _transition_view(
    Action.POST,
    lambda run, user: services.post_bill_run(run=run, acting_user=user, background=True),
    _posted,
)
cancel_view = _transition_view(
    Action.CANCEL,
    lambda run, user: services.cancel_bill_run(run=run, acting_user=user, background=True),
    "{number} is being canceled: its documents are voided and its charges can be billed again.",
)
terminate_view = _transition_view(
    Action.TERMINATE,
    lambda run, user: services.terminate_bill_run(run=run, acting_user=user),
    "{number} terminated: the documents already written stay.",
)
delete_view = _transition_view(
    Action.DELETE,
    lambda run, user: services.delete_bill_run(run=run, acting_user=user),
    "{number} deleted; its History is kept in the audit trail.",
)
retry_view = _transition_view(
    Action.RETRY,
    lambda run, user: services.retry_failed_accounts(run=run, acting_user=user),
    "{new} created to retry the failed accounts of {number}.",
)
