"""Invoices and credit memos through the API: lists with the Documents page's filters, one
document with its lines, its PDF."""

from decimal import Decimal

import pytest

from tests.factories import AccountFactory, ChargeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(run_now):
    ChargeFactory(price=Decimal("100.00"), subscription__account__currency="USD")
    ChargeFactory(price=Decimal("-30.00"), subscription__account__currency="EUR")
    return run_now()


def test_invoices_and_credit_memos_are_listed_apart(operator_api, run):
    invoices = operator_api.get("/api/v1/invoices").json()["data"]
    memos = operator_api.get("/api/v1/credit-memos").json()["data"]
    assert [(d["kind"], d["currency"], d["amount"]) for d in invoices] == [
        ("Invoice", "USD", "200.000")
    ]
    assert [(d["kind"], d["currency"], d["amount"]) for d in memos] == [
        ("CreditMemo", "EUR", "60.000")
    ]
    assert invoices[0]["billRunNumber"] == run.number


def test_the_documents_filters_apply(operator_api, run):
    assert operator_api.get("/api/v1/invoices", {"currency": "eur"}).json()["data"] == []
    assert len(operator_api.get("/api/v1/invoices", {"bill_run": run.number}).json()["data"]) == 1
    assert operator_api.get("/api/v1/invoices", {"status": "Posted"}).json()["data"] == []
    assert operator_api.get("/api/v1/invoices", {"date_from": "junk"}).status_code == 400


def test_a_document_comes_with_its_lines_by_number_or_id(operator_api, run):
    listed = operator_api.get("/api/v1/invoices").json()["data"][0]
    by_number = operator_api.get(f"/api/v1/invoices/{listed['documentNumber']}").json()
    assert by_number == operator_api.get(f"/api/v1/invoices/{listed['id']}").json()
    assert [(line["serviceStartDate"], line["amount"]) for line in by_number["lines"]] == [
        ("2026-01-01", "100.000"),
        ("2026-02-01", "100.000"),
    ]
    # An invoice is not found among credit memos.
    assert operator_api.get(f"/api/v1/credit-memos/{listed['documentNumber']}").status_code == 404


def test_the_pdf_of_a_document(operator_api, run):
    number = operator_api.get("/api/v1/invoices").json()["data"][0]["documentNumber"]
    response = operator_api.get(f"/api/v1/invoices/{number}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="{number}.pdf"' in response["Content-Disposition"]
    asked = operator_api.get(f"/api/v1/invoices/{number}/pdf", HTTP_ACCEPT="application/pdf")
    assert asked.status_code == 200 and asked.content.startswith(b"%PDF")


def test_a_user_without_the_view_permission_is_refused(db, django_user_model):
    from tests.api.conftest import token_client

    nobody = django_user_model.objects.create_user("nobody")
    AccountFactory()
    response = token_client(nobody).get("/api/v1/invoices")
    assert response.status_code == 403
    assert response.json()["reasons"][0]["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/invoices/INV99999999/pdf", 404, "not_found"),
        ("/api/v1/credit-memos/1/pdf", 404, "not_found"),
    ],
)
def test_a_refused_pdf_asked_as_pdf_is_the_json_error_shape(operator_api, run, path, status, code):
    response = operator_api.get(path, HTTP_ACCEPT="application/pdf")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False
    assert response.json()["reasons"][0]["code"] == code


def test_a_pdf_asked_without_a_token_is_refused_in_json(client, run):
    response = client.get("/api/v1/invoices/1/pdf", HTTP_ACCEPT="application/pdf")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False
