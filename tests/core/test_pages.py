"""Base pages: login required everywhere, login and logout work, assets are served locally."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import AccountFactory, BillRunFactory

pytestmark = pytest.mark.django_db


def test_the_home_page_needs_a_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_login_page_is_open_to_everyone(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in to Billcycle" in response.content


def test_a_wrong_password_is_explained(client, operator):
    response = client.post(reverse("login"), {"username": "operator", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_an_operator_logs_in_and_sees_the_empty_state(client, operator):
    response = client.post(
        reverse("login"), {"username": "operator", "password": "operator-pass"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    content = response.content.decode()
    assert "No bill runs yet." in content
    assert reverse("admin:accounts_account_changelist") in content


def test_home_counts_accounts_and_lists_recent_runs(
    client, operator, django_assert_max_num_queries
):
    AccountFactory.create_batch(3)
    BillRunFactory(name="February run", number_of_failures=2)
    client.force_login(operator)
    with django_assert_max_num_queries(6):  # session, user, counts, runs
        response = client.get(reverse("home"))
    content = response.content.decode()
    assert "February run" in content
    assert "2 failed accounts" in content
    assert "No bill runs yet." not in content


def test_home_shows_each_recent_runs_amounts_per_currency_and_status(
    client, operator, django_assert_max_num_queries
):
    billed = BillRunFactory(
        status="Completed",
        amounts_by_currency={
            "EUR": {"invoice": "7.000", "credit_memo": "0"},
            "USD": {"invoice": "1234.50", "credit_memo": "20.00"},
        },
    )
    failed = BillRunFactory(status="Error", number_of_failures=1)
    client.force_login(operator)
    with django_assert_max_num_queries(6):
        content = client.get(reverse("home")).content.decode()
    row = re.search(rf'<tr data-run="{billed.number}">.*?</tr>', content, re.S).group(0)
    assert 'data-status="Completed"' in row and ">Completed</span>" in row
    invoices = re.search(r'data-kind="invoice">(.*?)</td>', row, re.S).group(1)
    credit_memos = re.search(r'data-kind="credit_memo">(.*?)</td>', row, re.S).group(1)
    assert "€7.00" in invoices and "$1,234.50" in invoices
    assert "€0.00" in credit_memos and "$20.00" in credit_memos
    row = re.search(rf'<tr data-run="{failed.number}">.*?</tr>', content, re.S).group(0)
    assert 'data-status="Error"' in row and "1 failed account" in row and "—" in row
    BillRunFactory.create_batch(
        8, amounts_by_currency={"USD": {"invoice": "1.00", "credit_memo": "0"}}
    )
    with django_assert_max_num_queries(6):
        content = client.get(reverse("home")).content.decode()
    assert content.count("<tr data-run=") == 5


def test_logout_needs_a_post_and_ends_the_session(client, operator):
    client.force_login(operator)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_the_health_check_is_open_and_touches_the_database(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_templates_and_styles_load_nothing_from_a_cdn():
    roots = [Path(settings.BASE_DIR) / "templates", Path(settings.BASE_DIR) / "static" / "css"]
    remote = re.compile(r"""(src|href)=["']https?://|url\(\s*["']?https?://""")
    offenders = [
        str(path)
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and remote.search(path.read_text())
    ]
    assert offenders == []
