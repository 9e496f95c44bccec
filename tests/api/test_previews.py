"""/api/v1/billing-preview-runs through DRF's client with real tokens: every endpoint and every
refusal (DESIGN §10, §11)."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billruns.models import BillingPreviewRun, BillRun
from billruns.preview.result import COLUMNS
from invoicing.models import BillingDocument
from tests.factories import AccountFactory, ChargeFactory, failing_charge

pytestmark = pytest.mark.django_db
PREVIEWS = "/api/v1/billing-preview-runs"
FEB1 = "2026-02-01"
HEADER = (
    "accountNumber,chargeNumber,subscriptionNumber,chargeType,serviceStartDate,serviceEndDate,"
    "quantity,unitPrice,amount,currency,documentType"
)


@pytest.fixture
def previewed(operator_api, django_capture_on_commit_callbacks):
    """POST a preview and let it be rated inline, as workers would (django-q2 runs in sync
    mode in tests; its tasks are queued after commit)."""

    def create(body=None, **headers):
        body = {"targetDate": FEB1, "invoiceDate": FEB1, **(body or {})}
        with django_capture_on_commit_callbacks(execute=True):
            response = operator_api.post(PREVIEWS, body, format="json", headers=headers)
        return response

    return create


@pytest.fixture
def pending(operator_api):
    """POST a preview and leave it Pending: the test's transaction never commits, so its
    queued start never runs."""

    def create():
        ChargeFactory()
        response = operator_api.post(PREVIEWS, {"targetDate": FEB1}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["billingPreviewRunNumber"]

    return create


def reasons(response) -> list[str]:
    body = response.json()
    assert body["success"] is False
    return [reason["message"] for reason in body["reasons"]]


def csv_text(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_creating_a_preview_rates_it_and_answers_in_zuoras_words(previewed, operator_api):
    ChargeFactory(price=Decimal("100.00"), subscription__account__batch="Batch1")
    ChargeFactory(price=Decimal("7.00"), subscription__account__batch="Batch2")
    response = previewed(
        {
            "name": "February",
            "batches": ["Batch1"],
            "billCycleDay": "1",
            "chargeTypeToExclude": ["Usage"],
        }
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["success"] is True
    assert body["billingPreviewRunNumber"].startswith("BPR-")
    assert body["status"] == "Pending"  # as it was answered; it was rated after commit
    assert body["name"] == "February"
    assert body["targetType"] == "MultipleAccounts"
    assert body["accountNumber"] is None
    assert body["batches"] == ["Batch1"]
    assert body["billCycleDay"] == "1"
    assert body["chargeTypeToExclude"] == ["Usage"]
    assert body["invoiceDate"] == body["targetDate"] == FEB1
    assert body["resultFileUrl"] is None

    done = operator_api.get(f"{PREVIEWS}/{body['billingPreviewRunNumber']}").json()
    assert done["status"] == "Completed"
    assert done["numberOfAccounts"] == 1
    assert done["numberOfInvoices"] == 1
    assert done["numberOfCreditMemos"] == 0
    assert done["numberOfFailures"] == 0
    assert done["numberOfLines"] == 2  # January and February, in advance
    assert done["amountsByCurrency"] == {
        "USD": {"invoiceAmount": "200.00", "creditMemoAmount": "0.00"}
    }
    assert done["progress"] == {"chunksDone": 1, "chunksTotal": 1}
    assert Decimal(done["totalTime"]) >= 0
    assert done["errorMessage"] == ""
    assert done["createdById"] is not None
    assert done["executedDate"] is not None and done["completedDate"] is not None
    assert done["resultFileUrl"] == (
        f"http://testserver{PREVIEWS}/{body['billingPreviewRunNumber']}/result"
    )
    # A preview writes nothing a run writes.
    assert not BillRun.objects.exists()
    assert not BillingDocument.objects.exists()


def test_a_preview_is_read_by_id_or_number(previewed, operator_api):
    ChargeFactory(price=Decimal("12.34"))
    created = previewed().json()
    by_number = operator_api.get(f"{PREVIEWS}/{created['billingPreviewRunNumber']}").json()
    by_id = operator_api.get(f"{PREVIEWS}/{created['id']}").json()
    assert by_number == by_id
    assert by_id["amountsByCurrency"]["USD"]["invoiceAmount"] == "24.68"


def test_a_single_account_preview_from_an_account_filter(previewed, operator_api):
    account = AccountFactory()
    ChargeFactory(subscription__account=account, price=Decimal("12.34"))
    ChargeFactory(price=Decimal("99.00"))  # another account: not in the preview
    response = previewed(
        {"billRunFilters": [{"filterType": "Account", "accountId": account.number}]}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["targetType"] == "SingleAccount"
    assert response.json()["accountNumber"] == account.number
    assert response.json()["batches"] == []
    done = operator_api.get(f"{PREVIEWS}/{response.json()['id']}").json()
    assert done["numberOfAccounts"] == 1
    assert done["amountsByCurrency"]["USD"]["invoiceAmount"] == "24.68"


def test_the_result_is_the_csv_of_the_lines_a_run_would_write(previewed, operator_api):
    charge = ChargeFactory(price=Decimal("100.00"))
    number = previewed().json()["billingPreviewRunNumber"]
    response = operator_api.get(f"{PREVIEWS}/{number}/result")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="{number}.csv"'
    account, subscription = charge.subscription.account.number, charge.subscription.number
    assert csv_text(response).splitlines() == [
        HEADER,
        f"{account},{charge.number},{subscription},Recurring,2026-01-01,2026-01-31,1,100.000000,"
        "100.00,USD,Invoice",
        f"{account},{charge.number},{subscription},Recurring,2026-02-01,2026-02-28,1,100.000000,"
        "100.00,USD,Invoice",
    ]
    assert HEADER.split(",") == list(COLUMNS)
    asked = operator_api.get(f"{PREVIEWS}/{number}/result", HTTP_ACCEPT="text/csv")
    assert asked.status_code == 200
    assert list(csv.DictReader(io.StringIO(csv_text(asked))))[0]["amount"] == "100.00"


def test_a_credit_balance_previews_as_a_credit_memo(previewed, operator_api):
    ChargeFactory(price=Decimal("-5.00"))
    number = previewed().json()["billingPreviewRunNumber"]
    done = operator_api.get(f"{PREVIEWS}/{number}").json()
    assert done["numberOfCreditMemos"] == 1 and done["numberOfInvoices"] == 0
    assert done["amountsByCurrency"] == {
        "USD": {"invoiceAmount": "0.00", "creditMemoAmount": "10.00"}
    }
    rows = list(
        csv.DictReader(io.StringIO(csv_text(operator_api.get(f"{PREVIEWS}/{number}/result"))))
    )
    assert [(row["amount"], row["documentType"]) for row in rows] == [
        ("5.00", "CreditMemo"),
        ("5.00", "CreditMemo"),
    ]


def test_the_same_idempotency_key_makes_one_preview(previewed):
    ChargeFactory()
    first = previewed({"name": "once"}, **{"Idempotency-Key": "feb-2026"})
    again = previewed({"name": "once"}, **{"Idempotency-Key": "feb-2026"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert again.json()["status"] == "Completed"
    assert BillingPreviewRun.objects.count() == 1
    other = previewed({"name": "other"}, **{"Idempotency-Key": "mar-2026"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_a_bad_idempotency_key_is_refused(previewed):
    ChargeFactory()
    response = previewed(**{"Idempotency-Key": " "})
    assert response.status_code == 400
    assert reasons(response)[0].startswith("Idempotency-Key: Use 1 to 255 printable characters")
    assert not BillingPreviewRun.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        ({"targetDate": None}, "targetDate: This field may not be null."),
        ({"targetDate": "soon"}, "targetDate: Date has wrong format."),
        ({"invoiceDate": "9999-12-31"}, "invoiceDate: Use a date from 2000-01-01 to"),
        ({"batches": ["Batch51"]}, 'batches.0: "Batch51" is not a valid choice.'),
        ({"batches": ["AllBatches", "Batch1"]}, 'batches: "AllBatches" stands alone'),
        ({"billCycleDay": "32"}, 'billCycleDay: Use "AllBillCycleDays" or a day from 1 to 31.'),
        ({"chargeTypeToExclude": ["Tax"]}, 'chargeTypeToExclude.0: "Tax" is not a valid choice.'),
        (
            {"billRunFilters": [{"filterType": "Account", "accountId": "A99999999"}]},
            "billRunFilters: No account 'A99999999'.",
        ),
        (
            {
                "billRunFilters": [{"filterType": "Account", "accountId": "A00000001"}],
                "billCycleDay": "1",
            },
            "billRunFilters cannot be combined with batches or billCycleDay.",
        ),
        ({"batches": ["Batch2"]}, "No active account matches this scope: there is nothing to"),
    ],
)
def test_bad_terms_are_refused_with_400_and_a_reason(previewed, body, message):
    AccountFactory(number="A00000001")
    response = previewed(body)
    assert response.status_code == 400
    assert any(reason.startswith(message) for reason in reasons(response)), reasons(response)
    assert not BillingPreviewRun.objects.exists()


def test_a_body_without_a_target_date_names_the_field(operator_api):
    response = operator_api.post(PREVIEWS, {}, format="json")
    assert response.status_code == 400
    assert response.json()["reasons"] == [
        {
            "code": "required",
            "message": "targetDate: This field is required.",
            "field": "targetDate",
        }
    ]


def test_the_result_of_a_pending_preview_is_409(pending, operator_api):
    number = pending()
    response = operator_api.get(f"{PREVIEWS}/{number}/result")
    assert response.status_code == 409
    assert reasons(response) == [
        f"{number} is Pending: only a Completed (or Error) preview has a result."
    ]
    # Asked for as CSV, a refusal is still the JSON error shape.
    as_csv = operator_api.get(f"{PREVIEWS}/{number}/result", HTTP_ACCEPT="text/csv")
    assert as_csv.status_code == 409
    assert as_csv["Content-Type"] == "application/json"
    assert reasons(as_csv) == reasons(response)
    assert operator_api.get(f"{PREVIEWS}/{number}").json()["resultFileUrl"] is None


def test_canceling_a_pending_preview_and_the_refusal_to_cancel_twice(pending, operator_api):
    number = pending()
    response = operator_api.put(f"{PREVIEWS}/{number}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "Canceled"
    assert response.json()["completedDate"] is not None
    again = operator_api.put(f"{PREVIEWS}/{number}/cancel")
    assert again.status_code == 409
    assert reasons(again) == [f"{number} is Canceled: only a running preview is canceled."]
    result = operator_api.get(f"{PREVIEWS}/{number}/result")
    assert result.status_code == 409
    assert reasons(result) == [
        f"{number} is Canceled: only a Completed (or Error) preview has a result."
    ]


def test_a_completed_preview_is_not_canceled(previewed, operator_api):
    ChargeFactory()
    number = previewed().json()["billingPreviewRunNumber"]
    response = operator_api.put(f"{PREVIEWS}/{number}/cancel")
    assert response.status_code == 409
    assert response.json()["reasons"] == [
        {
            "code": "illegal_transition",
            "message": f"{number} is Completed: only a running preview is canceled.",
        }
    ]
    assert BillingPreviewRun.objects.get(number=number).status == "Completed"


@pytest.mark.parametrize("key", ["BPR-99999999", "BR-00000001", "123456789", "9" * 40, "a%00b"])
@pytest.mark.parametrize("suffix", ["", "/result", "/failures"])
def test_an_unknown_preview_is_404(operator_api, key, suffix):
    response = operator_api.get(f"{PREVIEWS}/{key}{suffix}")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_canceling_an_unknown_preview_is_404(operator_api):
    response = operator_api.put(f"{PREVIEWS}/BPR-99999999/cancel")
    assert response.status_code == 404
    assert reasons(response) == ["No billing preview run 'BPR-99999999'."]


def test_failures_are_listed(previewed, operator_api):
    charge = failing_charge()
    ChargeFactory(price=Decimal("10.00"))
    number = previewed().json()["billingPreviewRunNumber"]
    body = operator_api.get(f"{PREVIEWS}/{number}/failures").json()
    assert [(f["accountNumber"], f["chargeNumber"], f["errorCode"]) for f in body["data"]] == [
        (charge.account.number, charge.number, "invalid_tiers")
    ]
    assert body["nextPage"] is None
    done = operator_api.get(f"{PREVIEWS}/{number}").json()
    assert done["numberOfFailures"] == 1
    assert done["status"] == "Completed"


def test_the_list_is_newest_first_in_cursor_pages(previewed, operator_api):
    ChargeFactory()
    for day in ("2026-02-01", "2026-03-01", "2026-04-01"):
        previewed({"targetDate": day, "invoiceDate": day})
    first = operator_api.get(PREVIEWS, {"pageSize": 2}).json()
    assert [p["targetDate"] for p in first["data"]] == ["2026-04-01", "2026-03-01"]
    rest = operator_api.get(first["nextPage"]).json()
    assert [p["targetDate"] for p in rest["data"]] == ["2026-02-01"]
    assert rest["nextPage"] is None


def test_the_list_costs_the_same_queries_at_any_size(previewed, operator_api):
    ChargeFactory()
    previewed()
    operator_api.get(PREVIEWS)  # the token's last use is written on its first request
    with CaptureQueriesContext(connection) as one_preview:
        operator_api.get(PREVIEWS)
    for day in ("2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"):
        previewed({"targetDate": day, "invoiceDate": day})
    with CaptureQueriesContext(connection) as five_previews:
        assert len(operator_api.get(PREVIEWS).json()["data"]) == 5
    # The token, the user's permissions and the page: nothing per preview.
    assert len(five_previews.captured_queries) == len(one_preview.captured_queries) <= 5


def test_the_viewer_reads_and_is_refused_every_write(previewed, viewer_api):
    ChargeFactory()
    number = previewed().json()["billingPreviewRunNumber"]
    assert viewer_api.get(PREVIEWS).status_code == 200
    assert viewer_api.get(f"{PREVIEWS}/{number}").status_code == 200
    assert viewer_api.get(f"{PREVIEWS}/{number}/failures").status_code == 200
    assert viewer_api.get(f"{PREVIEWS}/{number}/result").status_code == 200
    writes = [
        viewer_api.post(PREVIEWS, {"targetDate": FEB1}, format="json"),
        viewer_api.put(f"{PREVIEWS}/{number}/cancel"),
    ]
    assert [response.status_code for response in writes] == [403, 403]
    for response in writes:
        assert reasons(response) == [
            "User viewer lacks the permission billruns.add_billingpreviewrun."
        ]
    assert BillingPreviewRun.objects.get().status == "Completed"


def test_a_user_without_the_view_permission_is_refused(db, django_user_model):
    from tests.api.conftest import token_client

    nobody = django_user_model.objects.create_user("nobody")
    response = token_client(nobody).get(PREVIEWS)
    assert response.status_code == 403
    assert reasons(response) == [
        "User nobody lacks the permission billruns.view_billingpreviewrun."
    ]


def test_a_method_an_endpoint_lacks_is_405(operator_api):
    response = operator_api.delete(f"{PREVIEWS}/BPR-00000001")
    assert response.status_code == 405
    assert response.json()["success"] is False


@pytest.mark.django_db(transaction=True)
def test_every_answer_matches_the_schema(live_server, operator):
    """The fuzz test (test_schema_fuzz.py) meets no preview; here each endpoint's answers
    about a real one, rated by the server's own after-commit tasks, are checked against the
    served schema."""
    import json

    import requests
    import schemathesis
    from drf_spectacular.generators import SchemaGenerator

    from api.services import api_token_create

    ChargeFactory(price=Decimal("100.00"))
    failing_charge()
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_token_create(user=operator, name='t')[1]}"
    url = f"{live_server.url}{PREVIEWS}"

    def checked(method: str, path: str, response):
        schema[path][method].validate_response(response)
        return response

    created = checked("POST", PREVIEWS, session.post(url, json={"targetDate": FEB1}, timeout=30))
    assert created.status_code == 201
    number = created.json()["billingPreviewRunNumber"]
    done = checked("GET", f"{PREVIEWS}/{{key}}", session.get(f"{url}/{number}", timeout=30))
    assert done.json()["status"] == "Completed"
    assert done.json()["resultFileUrl"] == f"{url}/{number}/result"
    assert checked("GET", PREVIEWS, session.get(url, timeout=30)).json()["data"]
    failures = session.get(f"{url}/{number}/failures", timeout=30)
    assert checked("GET", f"{PREVIEWS}/{{key}}/failures", failures).json()["data"]
    csv_answer = session.get(done.json()["resultFileUrl"], timeout=30)
    checked("GET", f"{PREVIEWS}/{{key}}/result", csv_answer)
    assert csv_answer.text.startswith(HEADER + "\n")
    refused = session.put(f"{url}/{number}/cancel", timeout=30)
    assert checked("PUT", f"{PREVIEWS}/{{key}}/cancel", refused).status_code == 409


def test_the_result_csv_neutralises_text_that_a_spreadsheet_would_run(previewed, operator_api):
    """The API's CSV is the page's (billruns.preview.result): numbers given on import that start
    a formula get an apostrophe; amounts, negative ones too, stay numbers."""
    charge = ChargeFactory(number="=1+1", subscription__account__number="@SUM(A1)")
    ChargeFactory(subscription=charge.subscription, number="C-CREDIT", price=Decimal("-12.00"))
    number = previewed().json()["billingPreviewRunNumber"]
    rows = list(
        csv.DictReader(io.StringIO(csv_text(operator_api.get(f"{PREVIEWS}/{number}/result"))))
    )
    assert {(r["accountNumber"], r["chargeNumber"], r["amount"]) for r in rows} == {
        ("'@SUM(A1)", "'=1+1", "100.00"),
        ("'@SUM(A1)", "C-CREDIT", "-12.00"),
    }
