"""The import page's success message links to what the import wrote."""

import re

import pytest
from django.urls import reverse

from accounts.models import Account
from tests.accounts.test_imports import (  # noqa: F401 (customers is a fixture)
    GOOD_ACCOUNTS,
    IMPORT_URL,
    MIXED_USAGE,
    customers,
    upload,
)

pytestmark = pytest.mark.django_db


def links(content: str) -> list[tuple[str, str]]:
    block = content.split('data-testid="import-links"')[1].split("</div>")[0]
    return re.findall(r'href="([^"]+)">([^<]+)</a>', block)


def test_an_accounts_import_links_to_each_new_account(client, operator):
    client.force_login(operator)
    upload(client, "\n".join(GOOD_ACCOUNTS), kind="accounts", name="accounts.csv")
    content = client.get(IMPORT_URL).content.decode()
    created = Account.objects.order_by("number")
    assert links(content) == [(a.get_absolute_url(), a.number) for a in created]
    assert "New accounts:" in content


@pytest.mark.usefixtures("customers")
def test_a_usage_import_links_to_its_accounts_and_its_records(client, operator):
    client.force_login(operator)
    upload(client, "\n".join(MIXED_USAGE), write_valid=True)
    shown = links(client.get(IMPORT_URL).content.decode())
    accounts = [(url, number) for url, number in shown if number.startswith("A")]
    assert accounts and all(url.startswith("/accounts/") for url, _ in accounts)
    records = reverse("admin:accounts_usagerecord_changelist") + "?q=usage.csv%3A"
    assert (records, "The usage records of this file") in shown
