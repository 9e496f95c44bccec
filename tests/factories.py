"""Factories with explicit, readable amounts: no fuzzy money in tests."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.models import Account, Charge, Subscription, UsageRecord
from billruns.models import BillRun
from invoicing.models import BillingDocument, DocumentLine


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Customer {n}")
    status = Account.Status.ACTIVE
    currency = "USD"
    bill_cycle_day = 1
    batch = "Batch1"
    bill_to_name = factory.LazyAttribute(lambda account: account.name)
    bill_to_email = factory.Sequence(lambda n: f"billing{n}@example.com")
    payment_term_days = 30


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    account = factory.SubFactory(AccountFactory)
    term_start = dt.date(2026, 1, 1)


class ChargeFactory(factory.django.DjangoModelFactory):
    """A monthly flat fee of 100.00 in advance, unless told otherwise."""

    class Meta:
        model = Charge

    subscription = factory.SubFactory(SubscriptionFactory)
    account = factory.LazyAttribute(lambda charge: charge.subscription.account)
    name = "Platform fee"
    charge_type = Charge.ChargeType.RECURRING
    charge_model = Charge.ChargeModel.FLAT_FEE
    price = Decimal("100.00")
    quantity = Decimal("1")
    billing_period = Charge.BillingPeriod.MONTH
    billing_timing = Charge.BillingTiming.IN_ADVANCE
    effective_start = dt.date(2026, 1, 1)


class UsageRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageRecord

    charge = factory.SubFactory(
        ChargeFactory,
        charge_type=Charge.ChargeType.USAGE,
        charge_model=Charge.ChargeModel.PER_UNIT,
        billing_timing=Charge.BillingTiming.IN_ARREARS,
        price=Decimal("0.25"),
        uom="GB",
    )
    account = factory.LazyAttribute(lambda usage: usage.charge.account)
    quantity = Decimal("10")
    usage_date = dt.date(2026, 1, 15)


class BillRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillRun

    invoice_date = dt.date(2026, 2, 1)
    target_date = dt.date(2026, 2, 1)


class BillingDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingDocument

    kind = BillingDocument.Kind.INVOICE
    account = factory.SubFactory(AccountFactory)
    currency = factory.LazyAttribute(lambda doc: doc.account.currency)
    document_date = dt.date(2026, 2, 1)
    target_date = dt.date(2026, 2, 1)
    due_date = dt.date(2026, 3, 3)
    amount = Decimal("100.00")


class DocumentLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentLine

    document = factory.SubFactory(BillingDocumentFactory)
    charge = factory.SubFactory(
        ChargeFactory, subscription__account=factory.SelfAttribute("...document.account")
    )
    subscription = factory.LazyAttribute(lambda line: line.charge.subscription)
    charge_type = factory.LazyAttribute(lambda line: line.charge.charge_type)
    description = factory.LazyAttribute(lambda line: line.charge.name)
    service_start = dt.date(2026, 2, 1)
    service_end = dt.date(2026, 2, 28)
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    amount = Decimal("100.00")


def failing_charge(**account):
    """A usage charge whose tiers do not cover its usage: rating it fails with invalid_tiers.
    `account`: fields of the new account it bills, such as batch="Batch2"."""
    charge = ChargeFactory(
        charge_type="Usage",
        charge_model="Tiered",
        billing_timing="InArrears",
        tiers=[{"up_to": 10, "unit_price": "1"}],
        **{f"subscription__account__{k}": v for k, v in account.items()},
    )
    UsageRecordFactory(charge=charge, usage_date=dt.date(2026, 1, 10))
    return charge


RUN_CREATION_OPTIONS = {
    "acting_user",
    "run_type",
    "schedule",
    "idempotency_key",
    "allow_empty_scope",
    "enqueue",
}


def create_bill_run(**kwargs):
    """services.create_bill_run with the run's terms given flat, as the tests read best."""
    from billruns import services
    from billruns.terms import RunTerms

    options = {name: kwargs.pop(name) for name in list(kwargs) if name in RUN_CREATION_OPTIONS}
    options.setdefault("acting_user", None)
    return services.create_bill_run(terms=RunTerms(**kwargs), **options)


def number_documents(documents) -> None:
    """Number documents built in a test as the chunk writer does: one block per kind."""
    from invoicing.models import BillingDocument

    numbers = BillingDocument.reserve_numbers(document.kind for document in documents)
    for document in documents:
        document.number = next(numbers[document.kind])
