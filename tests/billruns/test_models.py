import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from billruns.models import BillRun, BillRunSchedule, TargetType
from tests.factories import AccountFactory, BillRunFactory

pytestmark = pytest.mark.django_db


def schedule(**fields):
    values = {
        "name": "Nightly",
        "frequency": BillRunSchedule.Frequency.DAILY,
        "run_time": dt.time(2, 0),
        "starts_on": dt.date(2026, 1, 1),
    }
    values.update(fields)
    return BillRunSchedule(**values)


def errors_of(obj) -> dict:
    with pytest.raises(ValidationError) as error:
        obj.full_clean(exclude=["owner"])
    return error.value.message_dict


def test_a_weekly_schedule_needs_weekdays_from_monday_0_to_sunday_6():
    assert "weekdays" in errors_of(schedule(frequency="Weekly", weekdays=[]))
    assert "weekdays" in errors_of(schedule(frequency="Weekly", weekdays=[7]))
    schedule(frequency="Weekly", weekdays=[0, 4]).full_clean(exclude=["owner"])


def test_a_monthly_schedule_needs_its_day():
    assert "day_of_month" in errors_of(schedule(frequency="Monthly"))
    schedule(frequency="Monthly", day_of_month=31).full_clean(exclude=["owner"])


def test_a_schedule_may_bill_the_accounts_of_its_run_day():
    schedule(bill_cycle_day=BillRunSchedule.AS_RUN_DAY).full_clean(exclude=["owner"])
    assert "bill_cycle_day" in errors_of(schedule(bill_cycle_day="32"))


@pytest.mark.parametrize(
    "batches", [["Batch51"], "Batch1", ["Batch1", "Batch1"]], ids=["unknown", "str", "twice"]
)
def test_run_batches_must_be_distinct_known_names(batches):
    run = BillRunFactory.build(batches=batches)
    assert "batches" in errors_of(run)


@pytest.mark.parametrize("charge_types", [[], ["Subscription"], ["Usage", "Usage"]])
def test_a_run_includes_at_least_one_known_charge_type(charge_types):
    run = BillRunFactory.build(charge_types=charge_types)
    assert "charge_types" in errors_of(run)


def test_a_single_account_run_names_its_account():
    run = BillRunFactory.build(target_type=TargetType.SINGLE_ACCOUNT)
    assert "account" in errors_of(run)
    run.account = AccountFactory()
    run.full_clean()


def test_a_new_run_is_pending_bills_every_charge_type_and_is_numbered():
    run = BillRunFactory()
    assert run.status == BillRun.Status.PENDING
    assert run.charge_types == ["OneTime", "Recurring", "Usage"]
    assert run.number == "BR-00000001"
    assert run.is_editable and not run.has_failures
