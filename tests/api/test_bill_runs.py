"""/api/v1/bill-runs through DRF's client with real tokens: every endpoint and every refusal."""

import datetime as dt
from decimal import Decimal

import pytest

from billruns.models import BillRun
from invoicing.models import BillingDocument
from tests.factories import AccountFactory, ChargeFactory, failing_charge

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/bill-runs"
FEB1 = "2026-02-01"


@pytest.fixture
def billed(operator_api, django_capture_on_commit_callbacks):
    """POST a run and let it bill inline, as a worker would: the answer and the run."""

    def create(body=None, **headers):
        body = {"targetDate": FEB1, "invoiceDate": FEB1, **(body or {})}
        with django_capture_on_commit_callbacks(execute=True):
            response = operator_api.post(RUNS, body, format="json", headers=headers)
        return response

    return create


def reasons(response) -> list[str]:
    body = response.json()
    assert body["success"] is False
    return [reason["message"] for reason in body["reasons"]]


def test_creating_a_run_bills_it_and_answers_in_zuoras_words(billed):
    ChargeFactory(price=Decimal("100.00"), subscription__account__batch="Batch1")
    ChargeFactory(price=Decimal("7.00"), subscription__account__batch="Batch2")
    response = billed(
        {
            "name": "February",
            "batches": ["Batch1"],
            "billCycleDay": "1",
            "chargeTypeToExclude": ["Usage"],
            "autoPost": False,
            "noEmailForZeroAmountInvoice": True,
        }
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["success"] is True
    assert body["billRunNumber"].startswith("BR-")
    assert body["name"] == "February"
    assert body["status"] == "Pending"  # as it was answered; the run went on after commit
    assert body["batches"] == ["Batch1"]
    assert body["billCycleDay"] == "1"
    assert body["chargeTypeToExclude"] == ["Usage"]
    assert body["noEmailForZeroAmountInvoice"] is True
    assert body["createdBy"] == "operator"
    run = BillRun.objects.get(pk=body["id"])
    assert run.status == BillRun.Status.COMPLETED
    assert run.charge_types == ["OneTime", "Recurring"]
    assert run.number_of_invoices == 1
    assert run.invoice_amount == Decimal("200.00")  # January and February, in advance


def test_a_run_is_read_by_id_or_number_with_its_statistics(billed, operator_api):
    ChargeFactory(price=Decimal("100.00"))
    created = billed().json()
    by_number = operator_api.get(f"{RUNS}/{created['billRunNumber']}").json()
    by_id = operator_api.get(f"{RUNS}/{created['id']}").json()
    assert by_number == by_id
    assert by_id["status"] == "Completed"
    assert by_id["numberOfAccounts"] == 1
    assert by_id["numberOfInvoices"] == 1
    assert by_id["numberOfCreditMemos"] == 0
    assert by_id["numberOfFailures"] == 0
    assert by_id["amountsByCurrency"] == {
        "USD": {"invoiceAmount": "200.00", "creditMemoAmount": "0.00"}
    }
    assert by_id["batches"] == ["AllBatches"]
    assert by_id["billCycleDay"] == "AllBillCycleDays"
    assert Decimal(by_id["totalTime"]) >= 0
    assert by_id["endDate"] is not None


def test_a_single_account_run_from_an_account_filter(billed):
    account = AccountFactory()
    ChargeFactory(subscription__account=account, price=Decimal("12.34"))
    ChargeFactory(price=Decimal("99.00"))  # another account: not in the run
    body = billed({"billRunFilters": [{"filterType": "Account", "accountId": account.number}]})
    assert body.status_code == 201
    run = BillRun.objects.get(pk=body.json()["id"])
    assert run.account == account and run.target_type == "SingleAccount"
    assert run.invoice_amount == Decimal("24.68")
    assert body.json()["billRunFilters"] == [{"filterType": "Account", "accountId": account.number}]
    assert body.json()["batches"] == []


def test_the_fast_representation_equals_drfs_own(billed, run_now):
    """BillRunSerializer builds its dict by hand for speed: it must say exactly what DRF's
    field-by-field representation of the declared fields says."""
    from rest_framework import serializers

    from api.billruns import BillRunSerializer, bill_runs

    ChargeFactory(price=Decimal("12.34"))
    billed({"billRunFilters": []})
    run_now()
    for run in bill_runs():
        fast = BillRunSerializer(run).data
        slow = serializers.ModelSerializer.to_representation(BillRunSerializer(run), run)
        assert fast == slow
        assert list(fast) == BillRunSerializer.Meta.fields


def test_the_same_idempotency_key_makes_one_run(billed):
    ChargeFactory()
    first = billed({"name": "once"}, **{"Idempotency-Key": "feb-2026"})
    again = billed({"name": "once"}, **{"Idempotency-Key": "feb-2026"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert BillRun.objects.count() == 1


@pytest.mark.parametrize(
    "body, message",
    [
        ({"targetDate": None}, "targetDate: This field may not be null."),
        ({"targetDate": "soon"}, "targetDate: Date has wrong format."),
        ({"targetDate": "0001-01-01"}, "targetDate: Use a date from 2000-01-01 to"),
        ({"invoiceDate": "9999-12-31"}, "invoiceDate: Use a date from 2000-01-01 to"),
        ({"batches": ["Batch51"]}, 'batches.0: "Batch51" is not a valid choice.'),
        ({"batches": ["AllBatches", "Batch1"]}, 'batches: "AllBatches" stands alone'),
        ({"batches": ["Batch1", "Batch1"]}, "A batch is listed twice."),
        ({"billCycleDay": "32"}, 'billCycleDay: Use "AllBillCycleDays" or a day from 1 to 31.'),
        ({"billCycleDay": "1\x00"}, "billCycleDay: Null characters are not allowed."),
        ({"chargeTypeToExclude": ["Tax"]}, 'chargeTypeToExclude.0: "Tax" is not a valid choice.'),
        (
            {"chargeTypeToExclude": ["OneTime", "Recurring", "Usage"]},
            "chargeTypeToExclude: Ensure this field has no more than 2 elements.",
        ),
        (
            {"billRunFilters": [{"filterType": "Account", "accountId": "A99999999"}]},
            "billRunFilters: No account 'A99999999'.",
        ),
        (
            {
                "billRunFilters": [{"filterType": "Account", "accountId": "A00000001"}],
                "batches": ["Batch1"],
            },
            "billRunFilters cannot be combined with batches or billCycleDay.",
        ),
        (
            {"billRunFilters": [{"filterType": "Subscription", "accountId": "A1"}]},
            'billRunFilters.0.filterType: "Subscription" is not a valid choice.',
        ),
        ({"name": "x" * 256}, "name: Ensure this field has no more than 255 characters."),
        ({"batches": ["Batch2"]}, "No active account matches this scope: there is nothing to"),
    ],
)
def test_bad_terms_are_refused_with_400_and_a_reason(billed, body, message):
    AccountFactory(number="A00000001")
    response = billed(body)
    assert response.status_code == 400
    assert any(reason.startswith(message) for reason in reasons(response)), reasons(response)
    assert not BillRun.objects.exists()


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "a\x00b"])
def test_a_bad_idempotency_key_is_refused(billed, key):
    ChargeFactory()
    response = billed(**{"Idempotency-Key": key})
    assert response.status_code == 400
    assert reasons(response)[0].startswith("Idempotency-Key: Use 1 to 255 printable characters")


def test_a_body_that_is_not_json_is_refused(operator_api):
    response = operator_api.post(RUNS, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert reasons(response)[0].startswith("JSON parse error")


@pytest.mark.parametrize("key", ["BR-99999999", "123456789", "9" * 40, "a%00b"])
def test_an_unknown_run_is_404(operator_api, key):
    response = operator_api.get(f"{RUNS}/{key}")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_an_unknown_path_answers_in_the_error_shape(operator_api):
    response = operator_api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert reasons(response) == ["No endpoint /api/v1/nothing-here."]


def test_the_list_filters_and_pages_with_cursors(billed, operator_api):
    ChargeFactory()
    for day in ("2026-02-01", "2026-03-01", "2026-04-01"):
        billed({"targetDate": day, "invoiceDate": day})
    first = operator_api.get(RUNS, {"pageSize": 2}).json()
    assert [run["targetDate"] for run in first["data"]] == ["2026-04-01", "2026-03-01"]
    rest = operator_api.get(first["nextPage"]).json()
    assert [run["targetDate"] for run in rest["data"]] == ["2026-02-01"]
    assert rest["nextPage"] is None
    filtered = operator_api.get(RUNS, {"target_after": "2026-03-01", "status": "Completed"})
    assert [run["targetDate"] for run in filtered.json()["data"]] == ["2026-04-01", "2026-03-01"]
    assert operator_api.get(RUNS, {"status": "Bogus"}).status_code == 400


def test_the_list_costs_the_same_queries_at_any_size(billed, operator_api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ChargeFactory()
    billed()
    with CaptureQueriesContext(connection) as one_run:
        operator_api.get(RUNS)
    for day in ("2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"):
        billed({"targetDate": day, "invoiceDate": day})
    with CaptureQueriesContext(connection) as five_runs:
        assert len(operator_api.get(RUNS).json()["data"]) == 5
    # The token, the user's permissions and the page: nothing per run.
    assert len(five_runs.captured_queries) == len(one_run.captured_queries) <= 5


def test_posting_and_the_refusal_to_post_twice(
    billed, operator_api, django_capture_on_commit_callbacks
):
    ChargeFactory()
    number = billed().json()["billRunNumber"]
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.put(f"{RUNS}/{number}/post")
    assert response.status_code == 200
    assert response.json()["status"] == "PostInProgress"
    assert BillRun.objects.get(number=number).status == BillRun.Status.POSTED
    assert BillingDocument.objects.get().status == BillingDocument.Status.POSTED
    again = operator_api.put(f"{RUNS}/{number}/post")
    assert again.status_code == 409
    assert reasons(again) == [
        f"{number} is Posted: only Completed or Post in progress runs can be posted."
    ]


def test_canceling_then_deleting(billed, operator_api, django_capture_on_commit_callbacks):
    ChargeFactory()
    number = billed().json()["billRunNumber"]
    assert operator_api.delete(f"{RUNS}/{number}").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.put(f"{RUNS}/{number}/cancel")
    assert response.status_code == 200
    assert BillRun.objects.get(number=number).status == BillRun.Status.CANCELED
    deleted = operator_api.delete(f"{RUNS}/{number}")
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert operator_api.get(f"{RUNS}/{number}").status_code == 404


def test_emails_go_for_posted_documents_only(
    billed, operator_api, django_capture_on_commit_callbacks, mailoutbox
):
    ChargeFactory(subscription__account__bill_to_email="ap@example.com")
    number = billed().json()["billRunNumber"]
    refused = operator_api.post(f"{RUNS}/{number}/emails", {}, format="json")
    assert refused.status_code == 409
    assert reasons(refused) == [
        f"{number} has no posted document: only posted documents are emailed."
    ]
    with django_capture_on_commit_callbacks(execute=True):
        operator_api.put(f"{RUNS}/{number}/post")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = operator_api.post(f"{RUNS}/{number}/emails", {"resend": False}, format="json")
    assert sent.json() == {"success": True, "documentsQueued": 1}
    assert [mail.to for mail in mailoutbox] == [["ap@example.com"]]
    with django_capture_on_commit_callbacks(execute=True):
        none_left = operator_api.post(f"{RUNS}/{number}/emails", {}, format="json")
    assert none_left.json()["documentsQueued"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        resent = operator_api.post(f"{RUNS}/{number}/emails", {"resend": True}, format="json")
    assert resent.json()["documentsQueued"] == 1
    assert len(mailoutbox) == 2


def test_failures_are_listed(billed, operator_api):
    charge = failing_charge()
    number = billed().json()["billRunNumber"]
    body = operator_api.get(f"{RUNS}/{number}/failures").json()
    assert [(f["accountNumber"], f["errorCode"]) for f in body["data"]] == [
        (charge.account.number, "invalid_tiers")
    ]
    assert operator_api.get(f"{RUNS}/{number}").json()["numberOfFailures"] == 1


def test_the_viewer_reads_and_is_refused_every_write(billed, viewer_api):
    ChargeFactory()
    number = billed().json()["billRunNumber"]
    assert viewer_api.get(RUNS).status_code == 200
    assert viewer_api.get(f"{RUNS}/{number}").status_code == 200
    assert viewer_api.get(f"{RUNS}/{number}/failures").status_code == 200
    writes = [
        viewer_api.post(RUNS, {"targetDate": FEB1}, format="json"),
        viewer_api.put(f"{RUNS}/{number}/post"),
        viewer_api.put(f"{RUNS}/{number}/cancel"),
        viewer_api.delete(f"{RUNS}/{number}"),
        viewer_api.post(f"{RUNS}/{number}/emails", {}, format="json"),
    ]
    assert [response.status_code for response in writes] == [403] * 5
    assert reasons(writes[0]) == ["User viewer lacks the permission billruns.add_billrun."]
    assert BillRun.objects.get().status == BillRun.Status.COMPLETED


def test_the_browser_session_works_with_csrf(client, operator):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(operator)
    assert browser.get(RUNS).status_code == 200
    refused = browser.post(RUNS, {"targetDate": FEB1}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in reasons(refused)[0]


def test_a_method_an_endpoint_lacks_is_405(operator_api):
    response = operator_api.patch(RUNS, {}, format="json")
    assert response.status_code == 405
    assert response.json()["success"] is False


def test_dates_are_refused_before_2000_and_beyond_ten_years_from_today():
    import time_machine
    from rest_framework.exceptions import ValidationError

    from api.fields import sane_date

    with time_machine.travel(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), tick=False):
        assert sane_date(dt.date(2000, 1, 1)) == dt.date(2000, 1, 1)
        assert sane_date(dt.date(2036, 11, 28)) == dt.date(2036, 11, 28)
        for day in (dt.date(1999, 12, 31), dt.date(2036, 11, 29)):
            with pytest.raises(ValidationError, match="Use a date from 2000-01-01 to 2036-11-28"):
                sane_date(day)
