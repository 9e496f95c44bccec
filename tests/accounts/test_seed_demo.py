"""`manage.py seed_demo`: reproducible, realistic demo data that covers what a bill run meets.

The 5,000-account seed is written once for the module (committed, removed at the end); tests
that change data run in their own transaction, which rolls back to that seed.
"""

import datetime as dt
import hashlib
import io
import random
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.test import RequestFactory, override_settings
from django.utils import timezone

from accounts.models import BATCHES, Account, Amendment, Charge, Subscription, UsageRecord
from core.models import NumberSequence
from core.money import minor_unit_exponent
from core.tiers import parse_tiers
from invoicing.models import BillingDocument

AS_OF = dt.date(2026, 11, 1)
SEED = {"seed": 1, "as_of": "2026-11-01"}
MODELS = (Account, Subscription, Charge, UsageRecord)
# Columns that say when a row was written, not what the seed made.
WRITTEN_AT = {"created_at", "updated_at", "at"}
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def columns(model) -> list[str]:
    """Every stored field but ids and timestamps; foreign keys as the related row's number."""
    names = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in WRITTEN_AT:
            continue
        numbered = field.is_relation and any(
            f.name == "number" for f in field.related_model._meta.concrete_fields
        )
        names.append(f"{field.name}__number" if numbered else field.name)
    return names


def fingerprint(*, up_to_account: str | None = None) -> str:
    digest = hashlib.sha256()
    for model in (*MODELS, Amendment):
        rows = model.objects.all()
        if up_to_account:
            key = {Account: "number", Amendment: "subscription__account__number"}.get(
                model, "account__number"
            )
            rows = rows.filter(**{f"{key}__lte": up_to_account})
        for row in sorted(map(repr, rows.values_list(*columns(model)))):
            digest.update(row.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def wipe() -> None:
    """Remove the demo rows and rewind their number sequences, as on a fresh database."""
    # Amendments and successors first: they protect the charges they name.
    Amendment.objects.all().delete()
    Charge.objects.exclude(replaces=None).delete()
    for model in reversed(MODELS):
        model.objects.all().delete()
    NumberSequence.objects.filter(prefix__in=["A", "S", "C"]).update(last_value=0)


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        output = seed(accounts=5000, **SEED)
        result = SimpleNamespace(output=output, fingerprint=fingerprint())
    yield result
    with django_db_blocker.unblock():
        wipe()
        get_user_model().objects.filter(username__in=["operator", "viewer"]).delete()


@pytest.fixture
def seeded(demo, db):
    return demo


# --- Reproducibility --------------------------------------------------------------------------
def test_the_same_seed_and_date_give_the_same_rows(seeded):
    wipe()
    seed(accounts=5000, **SEED)
    assert fingerprint() == seeded.fingerprint


def test_a_smaller_seed_is_the_start_of_a_larger_one(seeded):
    first_300 = fingerprint(up_to_account="A00000300")
    wipe()
    seed(accounts=300, **SEED)
    assert fingerprint() == first_300


def test_another_seed_gives_other_rows(seeded):
    first_300 = fingerprint(up_to_account="A00000300")
    wipe()
    seed(accounts=300, seed=2, as_of="2026-11-01")
    assert Account.objects.count() == 300
    assert fingerprint() != first_300


# --- What the data covers ---------------------------------------------------------------------
def values(queryset, field: str) -> set:
    return set(queryset.values_list(field, flat=True).distinct())


def test_every_charge_type_model_timing_and_period_appears(seeded):
    charges = Charge.objects.all()
    assert values(charges, "charge_type") == set(Charge.ChargeType.values)
    assert values(charges, "charge_model") == set(Charge.ChargeModel.values)
    assert values(charges, "billing_timing") == set(Charge.BillingTiming.values)
    recurring = charges.filter(charge_type=Charge.ChargeType.RECURRING)
    assert values(recurring, "billing_period") == set(Charge.BillingPeriod.values)
    assert values(recurring, "billing_timing") == set(Charge.BillingTiming.values)
    assert values(charges.filter(charge_type=Charge.ChargeType.ONE_TIME), "billing_period") == {""}


def test_usage_is_priced_per_unit_tiered_and_by_volume_with_valid_tiers(seeded):
    usage = Charge.objects.filter(charge_type=Charge.ChargeType.USAGE)
    assert values(usage, "charge_model") == {"PerUnit", "Tiered", "Volume"}
    tiered = Charge.objects.filter(charge_model__in=["Tiered", "Volume"])
    assert set(tiered.values_list("charge_type", flat=True)) == {"Usage"}
    for tiers in tiered.values_list("tiers", flat=True):
        parsed = parse_tiers(tiers)
        assert len(parsed) >= 2
    assert not Charge.objects.exclude(charge_model__in=["Tiered", "Volume"]).exclude(tiers=[])


def test_accounts_span_currencies_batches_and_every_bill_cycle_day(seeded):
    accounts = Account.objects.all()
    assert values(accounts, "currency") >= {"USD", "EUR", "GBP", "JPY", "CHF", "BHD"}
    assert values(accounts, "batch") == set(BATCHES)
    assert values(accounts, "bill_cycle_day") == set(range(1, 32))
    assert values(accounts, "payment_term_days") == {0, 15, 30, 45, 60}
    assert values(accounts, "status") == {"Active", "Draft", "Canceled"}


def test_accounts_have_one_to_five_subscriptions_mostly_one_or_two(seeded):
    per_account = Counter(
        Account.objects.annotate(n=Count("subscriptions")).values_list("n", flat=True)
    )
    assert set(per_account) == {1, 2, 3, 4, 5}
    assert per_account[1] + per_account[2] > 0.6 * sum(per_account.values())


def test_names_and_bill_to_contacts_look_real(seeded):
    active = Account.objects.filter(status="Active")
    assert not active.filter(bill_to_email="").exists()
    assert Account.objects.filter(status="Draft").exclude(bill_to_email="").count() == 0
    # Word lists, not "Customer 17": names repeat rarely even over 5,000 accounts.
    assert len(values(Account.objects.all(), "name")) > 2500


def test_credits_mid_period_starts_and_ends_are_present(seeded):
    charges = Charge.objects.select_related("account")
    assert charges.filter(price__lt=0, charge_type="Recurring").exists()
    assert charges.filter(price__lt=0, charge_type="OneTime").exists()
    mid_period = [
        charge
        for charge in charges.filter(charge_type="Recurring")
        if charge.effective_start.day != charge.account.bill_cycle_day
    ]
    assert len(mid_period) > 100
    assert charges.exclude(effective_end=None).filter(charge_type="Recurring").count() > 100


def test_canceled_subscriptions_end_their_charges_the_day_before(seeded):
    canceled = Subscription.objects.filter(status="Canceled")
    assert canceled.exists()
    assert not canceled.filter(canceled_on=None).exists()
    for subscription in canceled.prefetch_related("charges")[:300]:
        for charge in subscription.charges.all():
            if charge.charge_type != "OneTime":
                assert charge.effective_end < subscription.canceled_on
    assert not Subscription.objects.filter(account__status="Canceled", status="Active").exists()


def test_dates_are_built_around_as_of(seeded):
    starts = list(Charge.objects.values_list("effective_start", flat=True))
    before = sum(start <= AS_OF for start in starts)
    assert before > 0.8 * len(starts)  # a bill run on as_of has most of it to bill
    assert before < len(starts)  # and a few charges start later
    assert min(starts) > AS_OF - dt.timedelta(days=3 * 366)


def test_usage_is_pending_dated_within_its_charge_and_never_after_as_of(seeded):
    records = UsageRecord.objects.select_related("charge")
    assert records.count() > 5000
    assert values(records, "status") == {"Pending"}
    assert values(records, "charge__charge_type") == {"Usage"}
    assert not records.exclude(line=None).exists()
    for record in records.order_by("id")[:3000]:
        charge = record.charge
        assert record.account_id == charge.account_id
        assert charge.effective_start <= record.usage_date <= AS_OF
        assert charge.effective_end is None or record.usage_date <= charge.effective_end
        assert record.quantity >= 0


# --- Price and quantity changes -----------------------------------------------------------
def test_about_four_percent_of_started_active_subscriptions_change_their_plan(seeded):
    successors = Charge.objects.exclude(replaces=None)
    changeable = Subscription.objects.filter(status="Active", term_start__lt=AS_OF)
    plans = successors.filter(name__contains=" plan (").count()
    assert 0.03 * changeable.count() < plans < 0.05 * changeable.count()
    users = successors.filter(name="Additional users").count()
    assert 0 < users < plans  # some of the changed subscriptions change their user count too
    assert successors.count() == plans + users
    assert not successors.filter(subscription__status="Canceled").exists()


def as_json(value: Decimal) -> str:
    return format(value.normalize(), "f")


def test_each_successor_continues_its_predecessor_with_one_term_changed(seeded):
    successors = Charge.objects.exclude(replaces=None).select_related("replaces")
    same = (
        "subscription_id",
        "account_id",
        "name",
        "charge_type",
        "charge_model",
        "billing_period",
        "billing_timing",
        "uom",
        "tiers",
    )
    for successor in successors:
        before = successor.replaces
        assert before.effective_end + dt.timedelta(days=1) == successor.effective_start
        assert before.effective_start < successor.effective_start <= AS_OF
        assert successor.effective_end is None and successor.number > before.number
        assert [getattr(successor, f) for f in same] == [getattr(before, f) for f in same]
        if successor.name == "Additional users":
            assert successor.price == before.price and successor.quantity != before.quantity
            assert successor.quantity > 0
        else:
            assert successor.quantity == before.quantity
            assert before.price * Decimal("1.04") < successor.price < before.price * Decimal("1.16")
    assert successors.count() > 200


def test_every_change_has_its_amendment_as_change_charge_writes_it(seeded):
    expected = {}
    for successor in Charge.objects.exclude(replaces=None).select_related("replaces"):
        before = successor.replaces
        field = "quantity" if successor.name == "Additional users" else "price"
        change = [as_json(getattr(before, field)), as_json(getattr(successor, field))]
        details = {field: change, "successor": successor.number}
        expected[before.number] = (before.subscription_id, successor.effective_start, details)
    amendments = Amendment.objects.filter(kind="ChangeCharge", actor=None)
    assert Amendment.objects.count() == amendments.count() == len(expected)
    found = {
        number: (subscription, day, details)
        for subscription, number, day, details in amendments.values_list(
            "subscription_id", "charge__number", "effective_date", "details"
        )
    }
    assert found == expected


def test_nothing_is_billed_yet(seeded):
    assert not Charge.objects.exclude(charged_through=None).exists()
    assert not BillingDocument.objects.exists()


def test_prices_keep_to_the_currency_minor_unit_and_yen_are_whole(seeded):
    charges = Charge.objects.values_list("account__currency", "charge_model", "price", "tiers")
    for currency, model, price, tiers in charges:
        tier_prices = [Decimal(tier[key]) for tier in tiers for key in ("unit_price", "flat_price")]
        if currency == "JPY":
            assert all(p == p.to_integral_value() for p in [price, *tier_prices]), price
        elif model == "FlatFee":
            assert price == price.quantize(minor_unit_exponent(currency))
    assert Charge.objects.filter(account__currency="JPY").count() > 500


def test_a_sample_of_every_model_passes_full_clean(seeded):
    pick = random.Random(0)
    for model in MODELS:
        ids = list(model.objects.values_list("id", flat=True))
        for row in model.objects.filter(id__in=pick.sample(ids, 200)):
            row.full_clean()


def test_progress_is_a_line_per_part_then_a_summary(seeded):
    lines = seeded.output.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["Part 1/3", "Part 2/3", "Part 3/3"]
    assert "5,000/5,000 accounts" in lines[2] and "accounts/s" in lines[2]
    counts = [model.objects.count() for model in MODELS]
    summary = (
        f"Seeded {counts[0]:,} accounts, {counts[1]:,} subscriptions, {counts[2]:,} charges, "
        f"{counts[3]:,} usage records in "
    )
    assert lines[3].startswith(summary)
    assert lines[4] == (
        "Demo logins, password billcycle-demo: operator (Billing Operator), viewer (Billing Viewer)."
    )


# --- The command ----------------------------------------------------------------------------
def test_if_empty_leaves_existing_data_alone(seeded):
    output = seed(accounts=10, if_empty=True, **SEED)
    assert output.startswith("Demo data already there (5,000 accounts); not seeding.")
    assert Account.objects.count() == 5000


def test_if_empty_seeds_an_empty_database(db):
    wipe()
    seed(accounts=20, if_empty=True, **SEED)
    assert Account.objects.count() == 20


def test_seeding_again_appends_with_the_next_numbers(seeded):
    seed(accounts=3, seed=7, as_of="2026-11-01")
    assert Account.objects.count() == 5003
    assert Account.objects.order_by("-number").first().number == "A00005003"


@pytest.mark.parametrize(
    "username, group", [("operator", "Billing Operator"), ("viewer", "Billing Viewer")]
)
def test_demo_logins_authenticate_and_get_their_password_back(seeded, username, group):
    user = get_user_model().objects.get(username=username)
    user.set_password("changed")
    user.save()
    seed(if_empty=True, **SEED)
    # As the login page does: with the request (django-axes counts failures per address).
    login = RequestFactory().post("/login/")
    user = authenticate(login, username=username, password="billcycle-demo")
    assert user is not None and user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == [group]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"accounts": 0}, "--accounts must be at least 1 (got 0)."),
        ({"accounts": "-5"}, "--accounts must be at least 1 (got -5)."),
        ({"accounts": "many"}, "--accounts must be a whole number, not 'many'."),
        ({"seed": "x"}, "--seed must be a whole number, not 'x'."),
        ({"as_of": "2026-13-01"}, "--as-of must be a date as YYYY-MM-DD, not '2026-13-01'."),
        ({"as_of": "next week"}, "--as-of must be a date as YYYY-MM-DD, not 'next week'."),
    ],
)
def test_bad_input_is_refused_in_one_line(db, options, message):
    accounts = Account.objects.count()
    with pytest.raises(CommandError) as error:
        seed(**options)
    assert str(error.value) == message
    assert Account.objects.count() == accounts


def test_missing_roles_ask_for_migrate(db):
    Group.objects.filter(name="Billing Viewer").delete()
    with pytest.raises(CommandError, match="run manage.py migrate first"):
        seed(accounts=1, **SEED)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_progress_bar(db):
    out = Terminal()
    call_command("seed_demo", accounts=10, stdout=out, **SEED)
    bar, summary, _logins = out.getvalue().split("\n")[:3]
    assert bar == "\r[##############################] 10/10 accounts" + bar[bar.index(" (") :]
    assert summary.startswith("Seeded 10 accounts")


def test_as_of_defaults_to_today(db):
    output = seed(accounts=5)
    assert f"as of {timezone.localdate().isoformat()})." in output
