"""An account that another import creates after this file was checked and before it is written
(two imports of one file at once) is not created twice: the file is refused in one line."""

import io

import pytest

from accounts.imports import ImportFileError, accounts, import_accounts
from accounts.models import Account
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
ACCOUNTS = (
    "account_ref,account_name,currency,bill_cycle_day,bill_to_email,subscription_ref,term_start,"
    "charge_name,charge_type,charge_model,price,billing_period,effective_start\n"
    "acme,Acme Corp,USD,1,billing@acme.example,main,2026-01-01,Platform,Recurring,FlatFee,100.00,"
    "Month,2026-01-01\n"
)


def test_an_account_created_by_another_import_meanwhile_refuses_the_file(monkeypatch):
    checked = accounts._whole_accounts

    def then_another_import_writes(*args, **kwargs):
        valid = checked(*args, **kwargs)
        AccountFactory(name="Acme Corp", bill_to_email="billing@acme.example", currency="USD")
        return valid

    monkeypatch.setattr(accounts, "_whole_accounts", then_another_import_writes)
    with pytest.raises(ImportFileError) as refused:
        import_accounts(io.StringIO(ACCOUNTS), file_name="accounts.csv")
    assert str(refused.value) == (
        "Another import created 1 of the file's accounts while it was checked (the first on "
        "row 2): nothing imported. Import the file again to see which accounts exist now."
    )
    assert Account.objects.filter(name="Acme Corp").count() == 1
