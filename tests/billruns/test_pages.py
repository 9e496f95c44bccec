"""The operator's bill run pages: what an operator sees and what each button does."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from billruns import services
from billruns.models import BillRun, BillRunChunk, BillRunEvent
from invoicing import services as document_services
from invoicing.models import BillingDocument
from tests.factories import (
    AccountFactory,
    BillingDocumentFactory,
    BillRunFactory,
    ChargeFactory,
    UsageRecordFactory,
    failing_charge,
)

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)
TODAY = dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC)
LIST = reverse("billruns:list")
NEW = reverse("billruns:create")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def form_data(**overrides):
    data = {
        "scope": "batches",
        "batches": ["Batch1"],
        "bill_cycle_day": "",
        "invoice_date": "2026-02-01",
        "target_date": "2026-02-01",
        "charge_types": ["OneTime", "Recurring", "Usage"],
        "name": "February",
        "idempotency_key": "key-1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# -- list --------------------------------------------------------------------------------------


def test_the_list_shows_each_run_with_an_alert_icon_for_failures(logged_in):
    BillRunFactory(name="Clean", status="Completed", number_of_invoices=12, number_of_accounts=12)
    BillRunFactory(name="Bumpy", status="Completed", number_of_failures=3, number_of_accounts=5)
    html = logged_in.get(LIST).content.decode()
    assert "Clean" in html and "Bumpy" in html
    assert html.count('class="bi bi-exclamation-triangle-fill') == 1
    assert 'title="3 failed accounts"' in html
    assert html.count("All batches · all bill cycle days") == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "Error"}, {"Broken"}),
        ({"run_type": "Scheduled"}, {"Nightly"}),
        ({"has_failures": "true"}, {"Bumpy"}),
        ({"has_failures": "false"}, {"Broken", "Nightly"}),
        ({"q": "bump"}, {"Bumpy"}),
        ({"target_after": "2026-03-01"}, {"Nightly"}),
        ({"target_before": "2026-02-15"}, {"Broken", "Bumpy"}),
        ({"created_after": "2026-01-20", "created_before": "2026-01-20"}, {"Bumpy"}),
    ],
)
def test_filters_narrow_the_list(logged_in, query, expected):
    with time_machine.travel(dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC), tick=False):
        BillRunFactory(name="Broken", status="Error", target_date=FEB1)
    with time_machine.travel(dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC), tick=False):
        BillRunFactory(name="Bumpy", status="Completed", number_of_failures=1, target_date=FEB1)
    with time_machine.travel(dt.datetime(2026, 1, 30, 12, tzinfo=dt.UTC), tick=False):
        BillRunFactory(
            name="Nightly",
            run_type="Scheduled",
            status="Completed",
            target_date=dt.date(2026, 3, 1),
        )
    response = logged_in.get(LIST, query)
    assert {run.name for run in response.context["page_obj"]} == expected


def test_searching_by_number_finds_that_run(logged_in):
    runs = BillRunFactory.create_batch(3)
    response = logged_in.get(LIST, {"q": runs[1].number.lower()})
    assert [run.pk for run in response.context["page_obj"]] == [runs[1].pk]


def test_columns_sort_both_ways(logged_in):
    for n in (5, 50, 7):
        BillRunFactory(name=f"R{n}", number_of_accounts=n)
    up = logged_in.get(LIST, {"o": "number_of_accounts"}).context["page_obj"]
    down = logged_in.get(LIST, {"o": "-number_of_accounts"}).context["page_obj"]
    assert [r.number_of_accounts for r in up] == [5, 7, 50]
    assert [r.number_of_accounts for r in down] == [50, 7, 5]


def test_the_empty_list_says_what_to_do_next(logged_in, client, viewer):
    assert "Create one to bill a batch" in logged_in.get(LIST).content.decode()
    assert (
        "No bill run matches these filters"
        in logged_in.get(LIST, {"status": "Posted"}).content.decode()
    )
    client.force_login(viewer)
    html = client.get(LIST).content.decode()
    assert "Runs appear here once a billing operator creates them" in html
    assert "New bill run" not in html


def test_the_list_costs_the_same_queries_for_3_or_60_runs(logged_in, django_assert_max_num_queries):
    account = AccountFactory()
    BillRunFactory.create_batch(2)
    BillRunFactory(target_type="SingleAccount", account=account)
    with django_assert_max_num_queries(8):
        logged_in.get(LIST)
    BillRunFactory.create_batch(30, number_of_failures=2)
    BillRunFactory.create_batch(27, target_type="SingleAccount", account=account)
    with django_assert_max_num_queries(8):
        response = logged_in.get(LIST)
    assert len(response.context["page_obj"]) == 50


# -- new run -----------------------------------------------------------------------------------


@time_machine.travel(TODAY, tick=False)
def test_the_form_starts_with_today_and_every_charge_type(logged_in):
    form = logged_in.get(NEW).context["form"]
    assert form.initial["invoice_date"] == FEB1
    assert form.initial["charge_types"] == ["OneTime", "Recurring", "Usage"]
    assert form.initial["idempotency_key"]


@time_machine.travel(TODAY, tick=False)
def test_creating_a_run_for_two_batches_bills_them(
    logged_in, operator, django_capture_on_commit_callbacks
):
    ChargeFactory(subscription__account__batch="Batch1")
    ChargeFactory(subscription__account__batch="Batch2")
    ChargeFactory(subscription__account__batch="Batch3")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(NEW, form_data(batches=["Batch1", "Batch2"]), follow=True)
    run = BillRun.objects.get()
    assert response.redirect_chain[-1][0] == run.get_absolute_url()
    assert messages_of(response) == [f"{run.number} created."]
    assert (run.batches, run.name, run.created_by) == (["Batch1", "Batch2"], "February", operator)
    assert (run.status, run.number_of_invoices) == ("Completed", 2)


@time_machine.travel(TODAY, tick=False)
def test_a_resent_form_creates_one_run(logged_in, django_capture_on_commit_callbacks):
    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(NEW, form_data())
        logged_in.post(NEW, form_data())
    assert BillRun.objects.count() == 1


@time_machine.travel(TODAY, tick=False)
def test_a_single_account_run_takes_the_account_number(logged_in):
    account = ChargeFactory().account
    logged_in.post(NEW, form_data(scope="account", account=account.number.lower(), batches=None))
    run = BillRun.objects.get()
    assert (run.target_type, run.account, run.batches) == ("SingleAccount", account, [])


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"target_date": ""}, "target_date", "A target date is required"),
        ({"target_date": "2026-02-30"}, "target_date", "Enter a valid date."),
        ({"invoice_date": ""}, "invoice_date", "This field is required."),
        ({"charge_types": None}, "charge_types", "Include at least one charge type."),
        ({"charge_types": ["Rental"]}, "charge_types", "Select a valid choice."),
        ({"scope": "account", "account": ""}, "account", "Choose the account to bill."),
        ({"scope": "account", "account": "A404"}, "account", "No account has the number A404."),
        ({"scope": "account", "account": "DRAFT"}, "account", "only Active accounts are billed"),
        ({"batches": ["Batch51"]}, "batches", "Select a valid choice."),
        ({"bill_cycle_day": "32"}, "bill_cycle_day", "Select a valid choice."),
        ({"target_date": "2027-02-02"}, "target_date", "more than a year ahead"),
        ({"scope": "everything"}, "scope", "Select a valid choice."),
    ],
)
@time_machine.travel(TODAY, tick=False)
def test_every_bad_field_is_reported_in_place_and_nothing_is_created(
    logged_in, overrides, field, message
):
    ChargeFactory()
    draft = AccountFactory(status=Account.Status.DRAFT)
    if overrides.get("account") == "DRAFT":
        overrides["account"] = draft.number
    response = logged_in.post(NEW, form_data(**overrides))
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    assert message.split(":")[0] in response.content.decode().replace("&#x27;", "'")
    assert not BillRun.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_a_target_date_over_a_year_ahead_needs_a_confirmation(
    logged_in, django_capture_on_commit_callbacks
):
    ChargeFactory()
    response = logged_in.post(NEW, form_data(target_date="2027-06-01"))
    assert 'id="far-target-confirmation"' in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(NEW, form_data(target_date="2027-06-01", confirm_far_target_date="on"))
    assert BillRun.objects.get().target_date == dt.date(2027, 6, 1)


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"batches": ["Batch9"]},
            "No active account matches this scope: there is nothing to bill.",
        ),
        # A target date beyond ten years is refused on its field (tests/billruns/test_bad_input).
    ],
)
def test_a_refusal_of_the_service_is_shown_above_the_form(logged_in, overrides, message):
    ChargeFactory()
    response = logged_in.post(NEW, form_data(**overrides))
    assert response.context["form"].non_field_errors() == [message]
    assert message in response.content.decode()
    assert not BillRun.objects.exists()


def test_the_scope_summary_counts_the_active_accounts_selected(logged_in):
    for batch, day in [("Batch1", 1), ("Batch1", 5), ("Batch2", 5), ("Batch3", 5)]:
        AccountFactory(batch=batch, bill_cycle_day=day)
    AccountFactory(batch="Batch1", status=Account.Status.CANCELED)
    count = reverse("billruns:scope_count")

    def said(query):
        html = logged_in.get(count, query).content.decode()
        return re.sub(r"<[^>]+>", "", html).strip()

    assert said({"scope": "batches"}).startswith("4 active accounts in this scope")
    assert said({"scope": "batches", "batches": ["Batch1", "Batch2"]}).startswith("3 active")
    assert said({"scope": "batches", "batches": ["Batch1"], "bill_cycle_day": "5"}).startswith(
        "1 active account in this scope"
    )
    assert said({"scope": "batches", "batches": ["Batch9"]}).startswith("0 accounts")
    first = Account.objects.order_by("id").first()
    assert f"Bills {first.number}" in said({"scope": "account", "account": first.number})
    # The form's own sentence, said as the number is typed.
    assert "No account has the number A9." in said({"scope": "account", "account": "a9"})


def test_a_viewer_cannot_open_or_post_the_new_run_form(client, viewer):
    client.force_login(viewer)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data()).status_code == 403
    assert not BillRun.objects.exists()


# -- detail ------------------------------------------------------------------------------------


@pytest.fixture
def completed_run(run_now):
    ChargeFactory(price=Decimal("1234.50"))
    ChargeFactory(subscription__account__currency="JPY", price=Decimal("5000"))
    failing_charge()
    return run_now()


def test_the_detail_shows_counts_amounts_per_currency_and_settings(logged_in, completed_run):
    response = logged_in.get(completed_run.get_absolute_url())
    html = response.content.decode()
    assert completed_run.number in html
    stats = dict(re.findall(r'data-stat="([\w-]+)">([^<]*)<', html))
    assert stats == {
        "accounts": "3",
        "invoices": "2",
        "zero-amount": "0",
        "credit-memos": "0",
        "posted": "0%",
        "duration": stats["duration"],
    }
    assert re.fullmatch(r"\d+ (ms|s)", stats["duration"])
    assert "$2,469.00" in html  # January and February of 1,234.50
    assert "¥10,000" in html
    assert "1 account could not be billed" in html
    assert "All batches · all bill cycle days" in html


def test_the_tabs_list_invoices_failures_and_history(logged_in, completed_run):
    url = completed_run.get_absolute_url()
    invoices = logged_in.get(url).context["tab_page"]
    assert {d.kind for d in invoices} == {"Invoice"} and len(invoices) == 2
    assert len(logged_in.get(url, {"tab": "credit-memos"}).context["tab_page"]) == 0
    failed = logged_in.get(url, {"tab": "failed"})
    assert [f.error_code for f in failed.context["tab_page"]] == ["invalid_tiers"]
    assert "Retry failed accounts" in failed.content.decode()
    history = logged_in.get(url, {"tab": "history"})
    assert [e.to_status for e in history.context["tab_page"]] == [
        "Completed",
        "Processing",
        "Pending",
    ]  # newest first
    assert "olivia" in history.content.decode()


def test_a_credit_memo_run_lists_its_credit_memos(logged_in, run_now):
    ChargeFactory(price=Decimal("-40.00"), charge_type="OneTime", billing_period="")
    run = run_now()
    page = logged_in.get(run.get_absolute_url(), {"tab": "credit-memos"}).context["tab_page"]
    assert [(d.kind, d.amount) for d in page] == [("CreditMemo", Decimal("40.00"))]


@pytest.mark.parametrize(
    ("status", "posted_document", "shown"),
    [
        ("Pending", False, {"cancel"}),
        ("Processing", False, {"terminate"}),
        ("Completed", False, {"post", "cancel"}),
        ("Completed", True, {"post"}),
        ("Error", False, {"cancel", "delete"}),
        ("Posted", False, set()),
        ("Canceled", False, {"delete"}),
        ("PostInProgress", False, set()),
    ],
)
def test_actions_show_only_when_the_status_allows(logged_in, status, posted_document, shown):
    run = BillRunFactory(status=status)
    if posted_document:
        BillingDocumentFactory(bill_run=run, status="Posted", posted_at=timezone.now())
    response = logged_in.get(run.get_absolute_url())
    assert {name for name, on in response.context["actions"].items() if on} == shown
    html = response.content.decode()
    for name in ("post", "cancel", "terminate", "delete", "retry"):
        assert (f'data-bs-target="#confirm-{name}"' in html) == (name in shown)


def test_a_viewer_sees_no_action_buttons(client, viewer, completed_run):
    client.force_login(viewer)
    response = client.get(completed_run.get_absolute_url())
    assert not any(response.context["actions"].values())
    assert 'id="confirm-' not in response.content.decode()


def test_the_detail_costs_the_same_queries_whatever_the_run_size(
    logged_in, run_now, django_assert_max_num_queries
):
    ChargeFactory()
    failing_charge()
    small = run_now()
    for _ in range(30):
        ChargeFactory()
        failing_charge()
    big = run_now()
    assert big.number_of_invoices == 30
    for tab in ("invoices", "failed", "history"):
        for run in (small, big):
            with django_assert_max_num_queries(10):
                logged_in.get(run.get_absolute_url(), {"tab": tab})


# -- progress ----------------------------------------------------------------------------------


def test_a_processing_run_shows_its_progress_and_an_eta(logged_in):
    started = timezone.now() - dt.timedelta(seconds=60)
    run = BillRunFactory(status="Processing", executed_at=started, chunks_total=4, chunks_done=1)
    BillRunChunk.objects.create(
        bill_run=run,
        sequence=1,
        first_account_id=1,
        last_account_id=1000,
        status="Done",
        number_of_accounts=1000,
    )
    page = logged_in.get(run.get_absolute_url()).content.decode()
    assert 'id="run-progress"' in page and "every 2s" in page
    fragment = logged_in.get(reverse("billruns:progress", args=[run.pk])).content.decode()
    assert "1 of 4 chunks done, 1,000 accounts billed" in fragment
    assert 'aria-valuenow="25"' in fragment
    assert re.search(r"About 3 min( \d+ s)? left", fragment)


def test_a_run_pending_for_a_while_asks_whether_a_worker_runs(logged_in):
    with time_machine.travel(timezone.now() - dt.timedelta(minutes=5)):
        run = BillRunFactory(status="Pending")
    fragment = logged_in.get(reverse("billruns:progress", args=[run.pk])).content.decode()
    assert "Waiting for a worker" in fragment and "qcluster" in fragment


def test_a_settled_run_tells_the_page_to_reload(logged_in):
    run = BillRunFactory(status="Completed")
    response = logged_in.get(reverse("billruns:progress", args=[run.pk]))
    assert (response.status_code, response["HX-Refresh"]) == (204, "true")
    assert 'id="run-progress"' not in logged_in.get(run.get_absolute_url()).content.decode()


# -- transitions -------------------------------------------------------------------------------


def act(client, run, action):
    return client.post(reverse(f"billruns:{action}", args=[run.pk]), follow=True)


def test_posting_claims_the_run_then_a_worker_posts_it(
    logged_in, completed_run, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = act(logged_in, completed_run, "post")
    completed_run.refresh_from_db()
    assert completed_run.status == "PostInProgress"  # the request only claims it
    assert messages_of(response) == [
        f"{completed_run.number} is being posted: its documents become final."
    ]
    assert 'id="run-progress"' in response.content.decode()
    for callback in queued:
        callback()
    completed_run.refresh_from_db()
    assert (completed_run.status, completed_run.posted_by) == ("Posted", operator)
    assert "100%" in logged_in.get(completed_run.get_absolute_url()).content.decode()


def test_a_posting_whose_task_was_lost_is_resumed_by_the_watchdog_within_a_minute(
    completed_run, operator, time_machine, django_capture_on_commit_callbacks
):
    from billruns.tasks import recover

    time_machine.move_to(timezone.now(), tick=False)
    with django_capture_on_commit_callbacks(execute=False):  # the worker's task is lost
        services.post_bill_run(run=completed_run, acting_user=operator, background=True)
    assert "0 postings or cancels resumed" in recover()
    time_machine.shift(dt.timedelta(seconds=31))
    assert "1 postings or cancels resumed" in recover()
    completed_run.refresh_from_db()
    assert completed_run.status == "Posted"
    # Its documents are posted by the operator who asked, not by nobody.
    assert set(completed_run.documents.values_list("posted_by", flat=True)) == {operator.pk}


def test_a_document_of_a_run_not_completed_cannot_be_posted_alone(operator):
    run = BillRunFactory(status="Processing")
    document = BillingDocumentFactory(bill_run=run)
    with pytest.raises(services.IllegalTransition, match="only from a Completed run"):
        document_services.post_document(document=document, acting_user=operator)


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [
        ("post", "Pending", "is Pending: only Completed or Post in progress runs can be posted."),
        (
            "cancel",
            "Processing",
            "is Processing: only Pending, Completed, Error or Cancel in progress runs can be canceled.",
        ),
        ("terminate", "Completed", "is Completed: only Processing runs can be terminated."),
        ("delete", "Completed", "is Completed: only Canceled or Error runs can be deleted."),
        ("retry", "Completed", "has no failed accounts to retry."),
        ("post", "Posted", "is Posted: only Completed or Post in progress runs can be posted."),
        ("post", "Error", "is Error: only Completed or Post in progress runs can be posted."),
        ("post", "Canceled", "is Canceled: only Completed or Post in progress runs can be posted."),
        (
            "cancel",
            "Posted",
            "is Posted: only Pending, Completed, Error or Cancel in progress runs can be canceled.",
        ),
        (
            "cancel",
            "Canceled",
            "is Canceled: only Pending, Completed, Error or Cancel in progress runs can be canceled.",
        ),
        (
            "cancel",
            "PostInProgress",
            "is Post in progress: only Pending, Completed, Error or Cancel in progress runs can be canceled.",
        ),
        ("terminate", "Pending", "is Pending: only Processing runs can be terminated."),
        ("delete", "Posted", "is Posted: only Canceled or Error runs can be deleted."),
    ],
)
def test_a_refused_transition_shows_the_reason(logged_in, action, status, message):
    run = BillRunFactory(status=status)
    response = act(logged_in, run, action)
    assert response.redirect_chain[-1][0] == run.get_absolute_url()
    assert messages_of(response) == [f"{run.number} {message}"]
    run.refresh_from_db()
    assert run.status == status


def test_an_error_run_with_draft_documents_cannot_be_deleted(logged_in):
    run = BillRunFactory(status="Error")
    BillingDocumentFactory(bill_run=run)
    response = act(logged_in, run, "delete")
    assert messages_of(response) == [
        f"{run.number} still has documents that are not canceled: cancel it first."
    ]
    assert BillRun.objects.filter(pk=run.pk).exists()


def test_retrying_needs_a_finished_run(logged_in):
    run = BillRunFactory(status="Processing", number_of_failures=2)
    response = act(logged_in, run, "retry")
    assert messages_of(response) == [
        f"{run.number} is Processing: only Completed, Error or Posted runs can be retried."
    ]


def test_a_double_click_on_retry_makes_one_run(
    logged_in, completed_run, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        act(logged_in, completed_run, "retry")
        response = act(logged_in, completed_run, "retry")
    retry = BillRun.objects.get(retry_of=completed_run)
    assert messages_of(response) == [
        f"{retry.number} is already retrying the failed accounts of {completed_run.number}."
    ]


@time_machine.travel(TODAY, tick=False)
def test_a_form_sent_again_after_back_says_the_run_exists(
    logged_in, django_capture_on_commit_callbacks
):
    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(NEW, form_data())
    response = logged_in.post(NEW, form_data(target_date="2026-01-15"), follow=True)
    run = BillRun.objects.get()
    assert messages_of(response)[-1] == f"{run.number} was already created from this form."
    assert run.target_date == FEB1
    assert "no-store" in logged_in.get(NEW)["Cache-Control"]


def test_the_progress_of_a_deleted_run_sends_the_page_to_the_list(logged_in):
    response = logged_in.get(reverse("billruns:progress", args=[999]))
    assert (response.status_code, response["HX-Redirect"]) == (204, LIST)


def test_a_run_with_a_posted_document_cannot_be_canceled(logged_in, completed_run, operator):
    document = BillingDocument.objects.filter(bill_run=completed_run).first()
    document_services.post_document(document=document, acting_user=operator)
    response = act(logged_in, completed_run, "cancel")
    assert messages_of(response) == [
        f"{completed_run.number} has posted documents: set them back to Draft before canceling."
    ]


def test_canceling_then_deleting_removes_the_run_and_keeps_its_history(
    logged_in, completed_run, django_capture_on_commit_callbacks
):
    number = completed_run.number
    with django_capture_on_commit_callbacks(execute=True):
        response = act(logged_in, completed_run, "cancel")
    assert messages_of(response)[0].startswith(f"{number} is being canceled")
    completed_run.refresh_from_db()
    assert completed_run.status == "Canceled"
    response = act(logged_in, completed_run, "delete")
    assert response.redirect_chain[-1][0] == LIST
    assert messages_of(response) == [f"{number} deleted; its History is kept in the audit trail."]
    assert not BillRun.objects.filter(number=number).exists()
    assert BillRunEvent.objects.filter(bill_run_number=number, to_status="Deleted").exists()


def test_terminating_a_processing_run_completes_it(logged_in):
    run = BillRunFactory(status="Processing", executed_at=timezone.now(), chunks_total=2)
    response = act(logged_in, run, "terminate")
    run.refresh_from_db()
    assert run.status == "Completed"
    assert messages_of(response) == [
        f"{run.number} terminated: the documents already written stay."
    ]


def test_retrying_failed_accounts_opens_the_new_run(
    logged_in, completed_run, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = act(logged_in, completed_run, "retry")
    retry = BillRun.objects.get(retry_of=completed_run)
    assert response.redirect_chain[-1][0] == retry.get_absolute_url()
    assert messages_of(response) == [
        f"{retry.number} created to retry the failed accounts of {completed_run.number}."
    ]
    assert (retry.number_of_accounts, retry.number_of_failures) == (1, 1)


@pytest.mark.parametrize("action", ["post", "cancel", "terminate", "delete", "retry"])
def test_a_viewer_is_refused_every_transition(client, viewer, action):
    run = BillRunFactory(status="Completed", number_of_failures=1)
    client.force_login(viewer)
    assert client.post(reverse(f"billruns:{action}", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == "Completed"


def test_transitions_take_post_only(logged_in, completed_run):
    response = logged_in.get(reverse("billruns:post", args=[completed_run.pk]))
    assert response.status_code == 405


def test_usage_of_a_period_already_billed_is_reported_late_on_the_run_and_the_account(
    run_now, logged_in
):
    usage = UsageRecordFactory(
        usage_date=dt.date(2026, 1, 10), charge__charged_through=dt.date(2026, 1, 31)
    )
    run = run_now()
    usage.refresh_from_db()
    assert (usage.status, run.number_of_late_usage) == ("Pending", 1)
    run_page = logged_in.get(run.get_absolute_url()).content.decode()
    assert "1 usage record arrived for periods already billed and stays Pending" in run_page
    account_page = logged_in.get(usage.account.get_absolute_url()).content.decode()
    assert ">Late</span>" in account_page


def test_usage_not_yet_billed_is_not_late(run_now, logged_in):
    usage = UsageRecordFactory(usage_date=dt.date(2026, 2, 10))
    run = run_now()
    assert run.number_of_late_usage == 0
    assert 'id="late-usage"' not in logged_in.get(run.get_absolute_url()).content.decode()
    assert ">Late</span>" not in logged_in.get(usage.account.get_absolute_url()).content.decode()
