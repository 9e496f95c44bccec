"""The schedule pages: create, edit, pause, resume, delete, and the preview of run dates."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_q.models import Schedule

from billruns.models import BillRunSchedule
from tests.factories import AccountFactory, BillRunFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
NEW = reverse("schedules:create")


def schedule_data(**overrides):
    data = {
        "name": "Month end",
        "frequency": "Monthly",
        "day_of_month": "31",
        "run_time": "06:30",
        "starts_on": "2026-01-10",
        "ends_on": "",
        "invoice_date_offset_days": "1",
        "target_date_offset_days": "0",
        "scope": "batches",
        "batches": ["Batch1"],
        "bill_cycle_day": "AsRunDay",
        "charge_types": ["Recurring", "Usage"],
        "auto_post": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@time_machine.travel(NOW, tick=False)
def test_creating_a_schedule_saves_it_and_its_q_schedule(logged_in, operator):
    response = logged_in.post(NEW, schedule_data(), follow=True)
    schedule = BillRunSchedule.objects.get()
    assert messages_of(response) == ["Schedule Month end created."]
    assert (schedule.frequency, schedule.day_of_month, schedule.run_time) == (
        "Monthly",
        31,
        dt.time(6, 30),
    )
    assert (schedule.bill_cycle_day, schedule.batches, schedule.owner) == (
        "AsRunDay",
        ["Batch1"],
        operator,
    )
    assert schedule.charge_types == ["Recurring", "Usage"] and schedule.auto_post
    assert Schedule.objects.get(name=schedule.q_schedule_name).cron == "30 6 28-31 * *"
    html = response.content.decode()
    assert "2026-01-31 06:30" in html  # next run
    assert "Sat 2026-02-28" in html and "2026-03-01" in html  # preview with its invoice date


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"frequency": "Weekly"}, "weekdays", "Choose the weekdays a weekly schedule runs on."),
        ({"day_of_month": ""}, "day_of_month", "Choose the day of the month"),
        ({"day_of_month": "32"}, "day_of_month", "less than or equal to 31"),
        ({"run_time": "25:00"}, "run_time", "Enter a valid time."),
        ({"ends_on": "2026-01-01"}, "ends_on", "A schedule cannot end before it starts."),
        ({"target_date_offset_days": "9999"}, "target_date_offset_days", "less than or equal"),
        ({"bill_cycle_day": "AsNever"}, "bill_cycle_day", "Select a valid choice."),
        ({"charge_types": None}, "charge_types", "Include at least one charge type."),
        ({"scope": "account", "account": "A404"}, "account", "No account has the number A404."),
    ],
)
def test_every_bad_field_is_reported_and_nothing_is_saved(logged_in, overrides, field, message):
    response = logged_in.post(NEW, schedule_data(**overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not BillRunSchedule.objects.exists()
    assert not Schedule.objects.filter(name__startswith="billcycle-schedule-").exists()


@time_machine.travel(NOW, tick=False)
def test_editing_updates_the_q_schedule(logged_in):
    logged_in.post(NEW, schedule_data())
    schedule = BillRunSchedule.objects.get()
    edit = reverse("schedules:edit", args=[schedule.pk])
    assert logged_in.get(edit).context["form"].initial["day_of_month"] == 31
    logged_in.post(edit, schedule_data(frequency="Weekly", weekdays=["0", "2"]))
    schedule.refresh_from_db()
    assert (schedule.frequency, schedule.weekdays, schedule.day_of_month) == (
        "Weekly",
        [0, 2],
        None,
    )
    assert Schedule.objects.get(name=schedule.q_schedule_name).cron == "30 6 * * 1,3"


@time_machine.travel(NOW, tick=False)
def test_the_preview_lists_the_next_15_runs(logged_in):
    response = logged_in.get(
        reverse("schedules:preview"), schedule_data(frequency="Daily", target_date_offset_days="-1")
    )
    rows = response.context["rows"]
    assert len(rows) == 15
    # 06:30 has passed at NOW (12:00): the first run is tomorrow's.
    assert (rows[0]["run_date"], rows[0]["target_date"]) == (
        dt.date(2026, 1, 11),
        dt.date(2026, 1, 10),
    )
    incomplete = logged_in.get(reverse("schedules:preview"), {"frequency": "Daily"})
    assert "No run date" in incomplete.content.decode()


@time_machine.travel(NOW, tick=False)
def test_pausing_and_resuming_say_so_and_move_the_next_run(logged_in):
    logged_in.post(NEW, schedule_data(), follow=True)
    schedule = BillRunSchedule.objects.get()
    response = logged_in.post(reverse("schedules:pause", args=[schedule.pk]), follow=True)
    assert messages_of(response) == [
        "Schedule Month end paused: it creates no runs until it is resumed."
    ]
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.next_run_at) == (False, None)
    assert "none while paused" in response.content.decode()
    response = logged_in.post(reverse("schedules:resume", args=[schedule.pk]), follow=True)
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.next_run_at is not None
    assert messages_of(response)[0].startswith("Schedule Month end resumed")


def test_deleting_removes_the_q_schedule_and_keeps_the_runs(logged_in):
    logged_in.post(NEW, schedule_data(), follow=True)
    schedule = BillRunSchedule.objects.get()
    run = BillRunFactory(schedule=schedule, run_type="Scheduled")
    response = logged_in.post(reverse("schedules:delete", args=[schedule.pk]), follow=True)
    assert messages_of(response) == ["Schedule Month end deleted; the runs it created stay."]
    assert not BillRunSchedule.objects.exists()
    assert not Schedule.objects.filter(name__startswith="billcycle-schedule-").exists()
    run.refresh_from_db()
    assert run.schedule is None


def test_the_schedule_page_lists_its_runs(logged_in, django_assert_max_num_queries):
    logged_in.post(NEW, schedule_data())
    schedule = BillRunSchedule.objects.get()
    BillRunFactory.create_batch(3, schedule=schedule, run_type="Scheduled")
    BillRunFactory()  # another run
    with django_assert_max_num_queries(10):
        response = logged_in.get(schedule.get_absolute_url())
    assert len(response.context["page_obj"]) == 3
    with django_assert_max_num_queries(8):
        listing = logged_in.get(reverse("schedules:list"))
    assert listing.context["page_obj"][0].run_count == 3


def test_a_viewer_sees_schedules_but_cannot_change_them(client, viewer, operator):
    client.force_login(operator)
    client.post(NEW, schedule_data())
    schedule = BillRunSchedule.objects.get()
    client.force_login(viewer)
    html = client.get(schedule.get_absolute_url()).content.decode()
    assert "Month end" in html and "Pause" not in html and "Delete" not in html
    assert client.get(NEW).status_code == 403
    for action in ("edit", "pause", "delete"):
        assert client.post(reverse(f"schedules:{action}", args=[schedule.pk])).status_code == 403
    assert BillRunSchedule.objects.get().enabled


def test_a_single_account_schedule_names_its_account(logged_in):
    account = AccountFactory()
    logged_in.post(NEW, schedule_data(scope="account", account=account.number, batches=None))
    schedule = BillRunSchedule.objects.get()
    assert (schedule.target_type, schedule.account, schedule.bill_cycle_day) == (
        "SingleAccount",
        account,
        "",
    )
