"""Bill cycle days and batches outside their ranges are refused by forms and by the database."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Account, Charge, UsageRecord
from billruns.models import BillRun
from tests.factories import AccountFactory, ChargeFactory, UsageRecordFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("day", [0, 32, 99])
def test_the_database_refuses_a_bill_cycle_day_outside_1_to_31(day):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountFactory(bill_cycle_day=day)


@pytest.mark.parametrize("day", [0, 32])
def test_validation_explains_a_bad_bill_cycle_day(day):
    account = AccountFactory.build(bill_cycle_day=day)
    with pytest.raises(ValidationError) as error:
        account.full_clean()
    assert "bill_cycle_day" in error.value.message_dict


@pytest.mark.parametrize("day", [1, 28, 29, 30, 31])
def test_every_day_from_1_to_31_is_a_bill_cycle_day(day):
    assert AccountFactory(bill_cycle_day=day).bill_cycle_day == day


@pytest.mark.parametrize("batch", ["Batch0", "Batch51", "batch1", "Batch 1", ""])
def test_the_database_refuses_an_unknown_batch(batch):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountFactory(batch=batch)


def test_validation_explains_an_unknown_batch():
    with pytest.raises(ValidationError) as error:
        AccountFactory.build(batch="Batch51").full_clean()
    assert "batch" in error.value.message_dict


@pytest.mark.parametrize("batch", ["Batch1", "Batch7", "Batch50"])
def test_batch1_to_batch50_are_accepted(batch):
    assert AccountFactory(batch=batch).batch == batch


def test_an_unknown_currency_is_refused_by_validation():
    with pytest.raises(ValidationError) as error:
        AccountFactory.build(currency="XYZ").full_clean()
    assert "currency" in error.value.message_dict


def test_a_run_bill_cycle_day_outside_1_to_31_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        BillRun.objects.create(
            invoice_date=dt.date(2026, 2, 1), target_date=dt.date(2026, 2, 1), bill_cycle_day=32
        )


def test_an_idempotency_key_names_one_run_only():
    dates = {"invoice_date": dt.date(2026, 2, 1), "target_date": dt.date(2026, 2, 1)}
    BillRun.objects.create(idempotency_key="nightly-2026-02-01", **dates)
    with pytest.raises(IntegrityError), transaction.atomic():
        BillRun.objects.create(idempotency_key="nightly-2026-02-01", **dates)
    # Runs without a key are not limited.
    BillRun.objects.create(**dates)
    BillRun.objects.create(**dates)
    assert BillRun.objects.count() == 3


def test_usage_is_always_billed_in_arrears():
    with pytest.raises(IntegrityError), transaction.atomic():
        ChargeFactory(
            charge_type=Charge.ChargeType.USAGE,
            charge_model=Charge.ChargeModel.PER_UNIT,
            billing_timing=Charge.BillingTiming.IN_ADVANCE,
        )


def test_a_recurring_charge_needs_a_billing_period():
    with pytest.raises(IntegrityError), transaction.atomic():
        ChargeFactory(billing_period="")


def test_malformed_tiers_are_explained():
    # Imports and bulk writes bypass validation, so the engine re-checks tiers at rating time.
    charge = ChargeFactory(
        charge_type=Charge.ChargeType.USAGE,
        charge_model=Charge.ChargeModel.TIERED,
        billing_timing=Charge.BillingTiming.IN_ARREARS,
        tiers=[{"up_to": None, "unit_price": "0.10"}, {"up_to": 100, "unit_price": "0.20"}],
    )
    with pytest.raises(ValidationError) as error:
        charge.full_clean()
    assert "is open (up_to null) but is not the last tier" in error.value.message_dict["tiers"][0]


def test_float_tier_prices_are_refused():
    charge = ChargeFactory(
        charge_type=Charge.ChargeType.USAGE,
        charge_model=Charge.ChargeModel.VOLUME,
        billing_timing=Charge.BillingTiming.IN_ARREARS,
        tiers=[{"up_to": None, "unit_price": 0.1}],
    )
    with pytest.raises(ValidationError) as error:
        charge.full_clean()
    assert "not 0.1" in error.value.message_dict["tiers"][0]


def test_usage_quantity_cannot_be_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageRecordFactory(quantity=Decimal("-1"))


def test_billed_usage_must_point_at_its_line():
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageRecordFactory(status=UsageRecord.Status.BILLED, line=None)


def test_only_active_accounts_are_billable():
    active = AccountFactory(status=Account.Status.ACTIVE)
    AccountFactory(status=Account.Status.DRAFT)
    AccountFactory(status=Account.Status.CANCELED)
    assert list(Account.objects.billable()) == [active]
