"""Dates and texts no run or schedule can have: refused with a clear sentence on the form, by
the commands and by the API, never a traceback; a schedule stored with such dates still shows."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from billruns.models import BillingPreviewRun, BillRun, BillRunSchedule
from billruns.schedules import dates
from tests.billruns.test_schedule_pages import NEW, schedule_data
from tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
WINDOW = "Use a date from 2000-01-01 to 2036-11-28."


# --- Schedules ------------------------------------------------------------------------------
@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "field, value",
    [("starts_on", "9999-12-30"), ("starts_on", "1999-12-31"), ("ends_on", "9999-12-31")],
)
def test_a_schedule_beyond_ten_years_is_refused_on_its_field(logged_in, field, value):
    response = logged_in.post(NEW, schedule_data(**{field: value}))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [WINDOW]
    assert not BillRunSchedule.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_preview_of_a_rule_near_the_calendars_end_is_no_500(logged_in):
    data = schedule_data(frequency="Daily", starts_on="9999-12-25", invoice_date_offset_days="5")
    response = logged_in.get(reverse("schedules:preview"), data)
    assert response.status_code == 200
    assert "No run date" in response.content.decode()


def test_run_dates_and_the_preview_stop_at_the_calendars_end():
    rule = {"frequency": "Daily", "weekdays": [], "day_of_month": None}
    rule |= {"starts_on": dt.date(9999, 12, 29), "ends_on": None}
    days = list(dates.run_dates(start=dt.date(9999, 12, 29), count=15, **rule))
    assert days == [dt.date(9999, 12, 29), dt.date(9999, 12, 30), dt.date(9999, 12, 31)]
    rows = dates.preview(
        start=dt.date(9999, 12, 29),
        count=15,
        invoice_date_offset_days=1,
        target_date_offset_days=0,
        bill_cycle_day="",
        **rule,
    )
    assert [row["invoice_date"] for row in rows] == [dt.date(9999, 12, 30), dt.date(9999, 12, 31)]


@time_machine.travel(NOW, tick=False)
def test_a_schedule_stored_near_the_calendars_end_can_be_seen_paused_and_deleted(logged_in):
    logged_in.post(NEW, schedule_data(frequency="Daily", starts_on="2026-12-01"))
    schedule = BillRunSchedule.objects.get()
    # As an older version let it be saved.
    BillRunSchedule.objects.filter(pk=schedule.pk).update(starts_on=dt.date(9999, 12, 30))
    assert logged_in.get(schedule.get_absolute_url()).status_code == 200
    paused = logged_in.post(reverse("schedules:pause", args=[schedule.pk]), follow=True)
    assert paused.status_code == 200 and not BillRunSchedule.objects.get().enabled
    logged_in.post(reverse("schedules:delete", args=[schedule.pk]))
    assert not BillRunSchedule.objects.exists()


@pytest.mark.parametrize(
    "now, first_run",
    [
        (dt.datetime(2026, 1, 10, 6, 29, tzinfo=dt.UTC), dt.date(2026, 1, 10)),
        (dt.datetime(2026, 1, 10, 6, 30, tzinfo=dt.UTC), dt.date(2026, 1, 11)),
    ],
)
def test_the_next_runs_list_today_only_while_its_run_time_is_ahead(logged_in, now, first_run):
    with time_machine.travel(dt.datetime(2026, 1, 9, tzinfo=dt.UTC), tick=False):
        logged_in.post(NEW, schedule_data(frequency="Daily", starts_on="2026-01-09"))
    schedule = BillRunSchedule.objects.get()
    with time_machine.travel(now, tick=False):
        page = logged_in.get(schedule.get_absolute_url())
        fragment = logged_in.get(reverse("schedules:preview"), schedule_data(frequency="Daily"))
    assert page.context["preview"][0]["run_date"] == first_run
    assert fragment.context["rows"][0]["run_date"] == first_run


@time_machine.travel(NOW, tick=False)
def test_the_admin_refuses_a_schedule_beyond_ten_years(admin_client, operator):
    data = schedule_data(frequency="Daily", starts_on="9999-12-30", run_time="06:30")
    data |= {"owner": operator.pk, "target_type": "MultipleAccounts", "batches": '["Batch1"]'}
    data |= {"charge_types": '["Recurring"]', "weekdays": "[]"}
    response = admin_client.post(reverse("admin:billruns_billrunschedule_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["starts_on"] == [WINDOW]
    assert not BillRunSchedule.objects.exists()


# --- Invoice and target dates ------------------------------------------------------------------
def run_form(**overrides):
    data = {
        "scope": "batches",
        "charge_types": ["Recurring"],
        "invoice_date": "2026-12-01",
        "target_date": "2026-12-01",
        "idempotency_key": "k1",
    }
    return data | overrides


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("field", ["invoice_date", "target_date"])
@pytest.mark.parametrize("value", ["0001-01-01", "1999-12-31"])
def test_the_new_run_form_refuses_a_date_outside_the_window(logged_in, field, value):
    ChargeFactory()
    response = logged_in.post(reverse("billruns:create"), run_form(**{field: value}))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [WINDOW]
    assert not BillRun.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_target_date_beyond_ten_years_is_refused_on_its_field(logged_in):
    ChargeFactory()
    data = run_form(target_date="2040-01-01", confirm_far_target_date="on")
    response = logged_in.post(reverse("billruns:create"), data)
    assert response.context["form"].errors["target_date"] == [WINDOW]
    assert not BillRun.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_new_preview_form_refuses_invoice_date_0001(logged_in):
    ChargeFactory()
    response = logged_in.post(
        reverse("billruns:preview_create"), run_form(invoice_date="0001-01-01")
    )
    assert response.context["form"].errors["invoice_date"] == [WINDOW]
    assert not BillingPreviewRun.objects.exists()


def run_command(*args):
    call_command(*args, stdout=StringIO(), stderr=StringIO())


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("command", ["create_bill_run", "preview_bill_run"])
def test_the_commands_refuse_invoice_date_0001_in_one_line(command):
    ChargeFactory()
    with pytest.raises(CommandError) as error:
        run_command(command, "--all", "--invoice-date", "0001-01-01", "--target-date", "2026-12-01")
    assert str(error.value) == (
        f"The invoice date 0001-01-01 is outside the dates a run may have. {WINDOW}"
    )
    assert not BillRun.objects.exists() and not BillingPreviewRun.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_api_keeps_the_same_window(operator):
    from api.fields import date_window

    assert date_window() == (dt.date(2000, 1, 1), dt.date(2036, 11, 28))


# --- Texts longer than their columns --------------------------------------------------------------
@pytest.mark.parametrize(
    "command, option, message",
    [
        ("create_bill_run", "--name", "The name is longer than 255 characters."),
        (
            "create_bill_run",
            "--idempotency-key",
            "The idempotency key is longer than 255 characters.",
        ),
        ("preview_bill_run", "--name", "The name is longer than 255 characters."),
    ],
)
def test_a_text_option_longer_than_its_column_is_one_line(command, option, message):
    ChargeFactory()
    with pytest.raises(CommandError) as error:
        run_command(command, "--all", "--target-date", "2026-12-01", option, "x" * 256)
    assert str(error.value) == message
    assert not BillRun.objects.exists() and not BillingPreviewRun.objects.exists()
