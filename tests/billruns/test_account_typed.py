"""The new run form's account field sent as typed, without picking a suggestion: a number, or
an account's name when exactly one account has it."""

import re

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Account
from billruns.models import BillRun
from tests.billruns.test_pages import NEW, TODAY, form_data
from tests.factories import AccountFactory, ChargeFactory

pytestmark = pytest.mark.django_db


def account_errors(response) -> str:
    return " ".join(response.context["form"].errors["account"])


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("typed", ["Globex Corp", "globex corp", "  Globex Corp "])
def test_a_unique_name_bills_that_account(logged_in, django_capture_on_commit_callbacks, typed):
    globex = ChargeFactory(subscription__account__name="Globex Corp").account
    ChargeFactory(subscription__account__name="Globex Corporation")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(NEW, form_data(scope="account", account=typed, batches=None))
    run = BillRun.objects.get()
    assert response.status_code == 302
    assert (run.target_type, run.account) == ("SingleAccount", globex)


@time_machine.travel(TODAY, tick=False)
def test_an_active_account_wins_over_a_canceled_one_of_the_same_name(logged_in):
    AccountFactory(name="Acme", status=Account.Status.CANCELED)
    active = AccountFactory(name="Acme")
    response = logged_in.post(NEW, form_data(scope="account", account="Acme", batches=None))
    assert response.status_code == 302
    assert BillRun.objects.get().account == active


@time_machine.travel(TODAY, tick=False)
def test_a_name_two_accounts_share_is_refused_naming_both(logged_in):
    first, second = AccountFactory(name="Acme"), AccountFactory(name="ACME")
    response = logged_in.post(NEW, form_data(scope="account", account="acme", batches=None))
    assert response.status_code == 200
    message = account_errors(response)
    assert "Several accounts are named “acme”" in message
    assert first.number in message and second.number in message
    assert "type the number of the one to bill" in message
    assert not BillRun.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_a_name_no_account_has_is_refused(logged_in):
    AccountFactory(name="Acme")
    response = logged_in.post(NEW, form_data(scope="account", account="Acm", batches=None))
    assert "No account has the number or the name “Acm”" in account_errors(response)
    assert not BillRun.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_the_scope_line_reads_a_typed_name_as_the_form_does(logged_in):
    globex = AccountFactory(name="Globex")
    AccountFactory(name="Twin")
    AccountFactory(name="Twin")
    count = reverse("billruns:scope_count")

    def said(typed):
        html = logged_in.get(count, {"scope": "account", "account": typed}).content.decode()
        return re.sub(r"<[^>]+>", "", html).strip()

    assert said("globex") == f"Bills {globex.number} · Globex."
    assert said("twin").startswith("Several accounts are named “twin”")
    assert said("") == "Choose the account to bill."


@time_machine.travel(TODAY, tick=False)
def test_a_name_only_inactive_accounts_share_is_refused_as_inactive(logged_in):
    """Asking to pick one of them by number would only lead to the next refusal."""
    first = AccountFactory(name="Acme", status=Account.Status.CANCELED)
    second = AccountFactory(name="Acme", status=Account.Status.DRAFT)
    response = logged_in.post(NEW, form_data(scope="account", account="Acme", batches=None))
    message = account_errors(response)
    assert "No Active account is named “Acme”" in message
    assert first.number in message and second.number in message
    assert "type the number of the one to bill" not in message
    assert not BillRun.objects.exists()
