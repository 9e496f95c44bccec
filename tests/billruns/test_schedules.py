"""Scheduled bill runs: which days they run, which accounts they bill, and the django-q2
Schedule that fires them."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import Account
from billruns.models import BillRun, BillRunSchedule
from billruns.schedules import dates as schedule_dates
from billruns.schedules import services
from tests.factories import ChargeFactory, UserFactory

D = dt.date


def rule(**overrides):
    base = {
        "frequency": "Daily",
        "weekdays": [],
        "day_of_month": None,
        "starts_on": D(2026, 1, 1),
        "ends_on": None,
    }
    return {**base, **overrides}


JAN1 = D(2026, 1, 1)


def dates(count=6, start=JAN1, **overrides):
    return list(schedule_dates.run_dates(start=start, count=count, **rule(**overrides)))


# -- the calendar (no database) ----------------------------------------------------------------


def test_a_daily_schedule_runs_every_day_until_it_ends():
    assert dates(count=10, ends_on=D(2026, 1, 3)) == [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3)]


def test_a_weekly_schedule_runs_on_its_weekdays():
    # 2026-01-05 is a Monday.
    assert dates(count=4, frequency="Weekly", weekdays=[0, 3]) == [
        D(2026, 1, 1),  # Thursday
        D(2026, 1, 5),
        D(2026, 1, 8),
        D(2026, 1, 12),
    ]


@pytest.mark.parametrize(
    ("day", "starts_on", "expected"),
    [
        (15, D(2026, 1, 1), [D(2026, 1, 15), D(2026, 2, 15), D(2026, 3, 15)]),
        (31, D(2026, 1, 1), [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30)]),
        (30, D(2026, 1, 1), [D(2026, 1, 30), D(2026, 2, 28), D(2026, 3, 30)]),
        (29, D(2028, 1, 1), [D(2028, 1, 29), D(2028, 2, 29), D(2028, 3, 29)]),
        (31, D(2026, 3, 31), [D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31)]),
    ],
)
def test_a_monthly_schedule_runs_on_its_day_or_the_month_end(day, starts_on, expected):
    found = dates(
        count=len(expected),
        frequency="Monthly",
        day_of_month=day,
        starts_on=starts_on,
        start=starts_on,
    )
    assert found == expected


def test_a_schedule_starting_on_the_31st_runs_from_that_day():
    assert dates(count=3, starts_on=D(2026, 1, 31), start=D(2026, 1, 1)) == [
        D(2026, 1, 31),
        D(2026, 2, 1),
        D(2026, 2, 2),
    ]


@pytest.mark.parametrize(
    ("setting", "run_day", "expected"),
    [
        ("", D(2026, 2, 28), (None, None)),
        ("5", D(2026, 2, 28), (5, 5)),
        ("AsRunDay", D(2026, 2, 15), (15, 15)),
        ("AsRunDay", D(2026, 2, 28), (28, 31)),
        ("AsRunDay", D(2028, 2, 28), (28, 28)),
        ("AsRunDay", D(2028, 2, 29), (29, 31)),
        ("AsRunDay", D(2026, 4, 30), (30, 31)),
        ("AsRunDay", D(2026, 1, 31), (31, 31)),
    ],
)
def test_as_run_day_bills_the_run_day_and_at_month_end_every_later_day(setting, run_day, expected):
    assert schedule_dates.bill_cycle_day_range(setting, run_day) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "30 6 * * *"),
        ({"frequency": "Weekly", "weekdays": [6, 0, 4]}, "30 6 * * 1,5,0"),
        ({"frequency": "Monthly", "day_of_month": 15}, "30 6 15 * *"),
        ({"frequency": "Monthly", "day_of_month": 30}, "30 6 28-31 * *"),
    ],
)
def test_the_cron_expression_fires_on_every_possible_run_day(overrides, expected):
    terms = {"frequency": "Daily", "weekdays": [], "day_of_month": None, **overrides}
    assert schedule_dates.cron(run_time=dt.time(6, 30), **terms) == expected


def test_the_preview_gives_invoice_and_target_dates_from_the_offsets():
    rows = schedule_dates.preview(
        start=D(2026, 1, 1),
        count=15,
        invoice_date_offset_days=1,
        target_date_offset_days=-1,
        bill_cycle_day="AsRunDay",
        **rule(frequency="Monthly", day_of_month=31),
    )
    assert len(rows) == 15
    assert rows[1] == {
        "run_date": D(2026, 2, 28),
        "invoice_date": D(2026, 3, 1),
        "target_date": D(2026, 2, 27),
        "bill_cycle_days": "28–31",
    }
    assert rows[0]["bill_cycle_days"] == "31"


# -- executions (database, fixed clock) --------------------------------------------------------


@pytest.fixture
def owner(db):
    return UserFactory(username="owen", email="owen@example.com")


def ours():
    """The django-q2 Schedules of bill run schedules (a migration adds the sweep's own)."""
    return Schedule.objects.filter(name__startswith="billcycle-schedule-")


def make_schedule(owner, **fields):
    values = {
        "name": "Nightly",
        "frequency": "Daily",
        "run_time": dt.time(6, 0),
        "starts_on": D(2026, 1, 1),
    }
    values.update(fields)
    return services.create_schedule(acting_user=owner, **values)


def fire(schedule, day, django_capture_on_commit_callbacks, hour=6):
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))
    with time_machine.travel(moment, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            return services.execute_schedule(schedule_id=schedule.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "expected_days"),
    [
        ({"frequency": "Daily", "starts_on": D(2026, 2, 26)}, [26, 27, 28, 1, 2, 3]),
        ({"frequency": "Weekly", "weekdays": [0, 4]}, [2, 6, 9, 13, 16, 20, 23, 27, 2]),
        ({"frequency": "Monthly", "day_of_month": 31}, [28]),
        ({"frequency": "Monthly", "day_of_month": 31, "starts_on": D(2026, 1, 31)}, [28]),
    ],
)
def test_firing_every_day_creates_runs_on_the_run_days_only(
    owner, django_capture_on_commit_callbacks, fields, expected_days
):
    ChargeFactory()
    schedule = make_schedule(owner, **fields)
    day = D(2026, 2, 1)
    while day <= D(2026, 3, 3):
        fire(schedule, day, django_capture_on_commit_callbacks)
        day += dt.timedelta(days=1)
    runs = BillRun.objects.filter(schedule=schedule).order_by("invoice_date")
    assert [run.invoice_date.day for run in runs] == expected_days


@pytest.mark.django_db
def test_a_run_takes_its_dates_from_the_offsets_and_belongs_to_the_owner(
    owner, django_capture_on_commit_callbacks, mailoutbox
):
    ChargeFactory()
    schedule = make_schedule(owner, invoice_date_offset_days=2, target_date_offset_days=-1)
    run = fire(schedule, D(2026, 2, 10), django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert (run.run_type, run.schedule, run.created_by) == ("Scheduled", schedule, owner)
    assert (run.invoice_date, run.target_date) == (D(2026, 2, 12), D(2026, 2, 9))
    assert run.name == "Nightly 2026-02-10"
    assert run.status == "Completed"
    assert [m.to for m in mailoutbox] == [["owen@example.com"]]
    assert mailoutbox[0].subject == f"Bill run {run.number} completed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "days", "accounts"),
    [
        (D(2026, 2, 10), (10, None), 1),
        (D(2026, 2, 28), (28, 31), 4),  # the last day of February bills 28–31
        (D(2026, 3, 28), (28, None), 1),
        (D(2028, 2, 28), (28, None), 1),  # a leap year's 28 February is not its last day
    ],
)
def test_as_run_day_picks_the_accounts_of_the_run_day(
    owner, django_capture_on_commit_callbacks, day, days, accounts
):
    for bill_cycle_day in (1, 10, 28, 29, 30, 31):
        ChargeFactory(subscription__account__bill_cycle_day=bill_cycle_day)
    ChargeFactory(
        subscription__account__bill_cycle_day=28,
        subscription__account__status=Account.Status.CANCELED,
    )
    schedule = make_schedule(owner, bill_cycle_day="AsRunDay", starts_on=D(2026, 1, 1))
    run = fire(schedule, day, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert (run.bill_cycle_day, run.bill_cycle_day_to) == days
    assert run.number_of_accounts == accounts


@pytest.mark.django_db
def test_pausing_stops_executions_and_resuming_continues(owner, django_capture_on_commit_callbacks):
    ChargeFactory()
    schedule = make_schedule(owner)
    assert fire(schedule, D(2026, 2, 1), django_capture_on_commit_callbacks) is not None
    services.pause_schedule(schedule=schedule, acting_user=owner)
    assert fire(schedule, D(2026, 2, 2), django_capture_on_commit_callbacks) is None
    schedule.refresh_from_db()
    assert schedule.next_run_at is None
    services.resume_schedule(schedule=schedule, acting_user=owner)
    assert fire(schedule, D(2026, 2, 3), django_capture_on_commit_callbacks) is not None
    assert BillRun.objects.filter(schedule=schedule).count() == 2


@pytest.mark.django_db
def test_firing_twice_on_one_day_creates_one_run(owner, django_capture_on_commit_callbacks):
    ChargeFactory()
    schedule = make_schedule(owner)
    first = fire(schedule, D(2026, 2, 1), django_capture_on_commit_callbacks)
    again = fire(schedule, D(2026, 2, 1), django_capture_on_commit_callbacks, hour=7)
    assert first.pk == again.pk
    assert BillRun.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_execution_tells_the_owner_and_the_next_one_runs(
    owner, django_capture_on_commit_callbacks, mailoutbox
):
    account = ChargeFactory().account
    schedule = make_schedule(owner, target_type="SingleAccount", account=account)
    Account.objects.filter(pk=account.pk).update(status=Account.Status.CANCELED)
    assert fire(schedule, D(2026, 2, 1), django_capture_on_commit_callbacks) is None
    assert mailoutbox[0].subject == "Scheduled bill run Nightly could not start on 2026-02-01"
    assert "only Active accounts are billed" in mailoutbox[0].body
    Account.objects.filter(pk=account.pk).update(status=Account.Status.ACTIVE)
    assert fire(schedule, D(2026, 2, 2), django_capture_on_commit_callbacks) is not None


@pytest.mark.django_db
def test_each_schedule_keeps_one_q_schedule_in_step(owner):
    with time_machine.travel(dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC), tick=False):
        schedule = make_schedule(owner, frequency="Weekly", weekdays=[0], run_time=dt.time(5, 15))
        q = ours().get()
        assert (q.name, q.func, q.args, q.schedule_type, q.cron) == (
            f"billcycle-schedule-{schedule.pk}",
            "billruns.tasks.execute_schedule",
            f"({schedule.pk},)",
            Schedule.CRON,
            "15 5 * * 1",
        )
        assert q.next_run == dt.datetime(2026, 2, 2, 5, 15, tzinfo=dt.UTC)  # the next Monday
        schedule.refresh_from_db()
        assert schedule.next_run_at == dt.datetime(2026, 2, 2, 5, 15, tzinfo=dt.UTC)

        services.update_schedule(
            schedule=schedule,
            acting_user=owner,
            frequency="Monthly",
            weekdays=[],
            day_of_month=10,
        )
        q = ours().get()
        assert (q.cron, q.next_run) == (
            "15 5 10 * *",
            dt.datetime(2026, 2, 10, 5, 15, tzinfo=dt.UTC),
        )

        other = make_schedule(owner, name="Other")
        assert ours().count() == 2
        services.delete_schedule(schedule=schedule, acting_user=owner)
        assert list(ours().values_list("name", flat=True)) == [f"billcycle-schedule-{other.pk}"]


@pytest.mark.django_db
def test_the_q_schedule_fires_the_task_that_creates_the_run(
    owner, django_capture_on_commit_callbacks
):
    """What django-q2's scheduler calls: the function named by the Schedule with its args."""
    import ast
    from importlib import import_module

    ChargeFactory()
    schedule = make_schedule(owner)
    q = ours().get()
    module, name = q.func.rsplit(".", 1)
    moment = timezone.make_aware(dt.datetime(2026, 2, 5, 6, 0))
    with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
        result = getattr(import_module(module), name)(*ast.literal_eval(q.args))
    run = BillRun.objects.get(schedule=schedule)
    assert result == f"schedule {schedule.pk}: {run.number}"


# -- the write path: services, for pages and the admin alike -----------------------------------


@pytest.mark.django_db
def test_the_creator_owns_a_new_schedule_unless_an_owner_is_named(owner):
    other = UserFactory(username="ada")
    assert make_schedule(owner).owner == owner
    named = services.create_schedule(
        acting_user=owner,
        owner=other,
        name="Hers",
        frequency="Daily",
        run_time=dt.time(6, 0),
        starts_on=D(2026, 1, 1),
    )
    assert named.owner == other


@pytest.mark.django_db
def test_a_schedule_that_breaks_the_models_rules_saves_nothing(owner):
    with pytest.raises(ValidationError, match="monthly schedule needs a day of month"):
        make_schedule(owner, frequency="Monthly")
    assert not ours().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["enabled", "next_run_at", "created_at"])
def test_update_leaves_derived_fields_and_pausing_to_their_own_paths(owner, field):
    schedule = make_schedule(owner)
    with pytest.raises(TypeError, match=f"update_schedule\\(\\) cannot set {field}"):
        services.update_schedule(schedule=schedule, acting_user=owner, **{field: None})


@pytest.mark.django_db
def test_pausing_twice_changes_it_once(owner):
    schedule = make_schedule(owner)
    assert services.pause_schedule(schedule=schedule, acting_user=owner)
    assert not services.pause_schedule(schedule=schedule, acting_user=owner)
    assert services.resume_schedule(schedule=schedule, acting_user=owner)
    assert not services.resume_schedule(schedule=schedule, acting_user=owner)


ADMIN_FORM = {
    "name": "Admin made",
    "enabled": "on",
    "frequency": "Weekly",
    "weekdays": "[0]",
    "day_of_month": "",
    "run_time": "05:15:00",
    "starts_on": "2026-01-01",
    "ends_on": "",
    "target_type": "MultipleAccounts",
    "account": "",
    "batches": "[]",
    "bill_cycle_day": "",
    "charge_types": '["OneTime", "Recurring", "Usage"]',
    "target_date_offset_days": "0",
    "invoice_date_offset_days": "0",
}


@pytest.mark.django_db
def test_the_admin_keeps_the_q_schedule_in_step(admin_client, owner):
    with time_machine.travel(dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC), tick=False):
        form = {**ADMIN_FORM, "owner": owner.pk}
        response = admin_client.post(reverse("admin:billruns_billrunschedule_add"), form)
        assert response.status_code == 302
        schedule = BillRunSchedule.objects.get()
        assert (schedule.owner, ours().get().cron) == (owner, "15 5 * * 1")
        assert schedule.next_run_at == dt.datetime(2026, 2, 2, 5, 15, tzinfo=dt.UTC)

        change = reverse("admin:billruns_billrunschedule_change", args=[schedule.pk])
        form.update(frequency="Monthly", weekdays="[]", day_of_month="10")
        del form["enabled"]  # unticked: a pause
        assert admin_client.post(change, form).status_code == 302
        schedule.refresh_from_db()
        assert (schedule.enabled, schedule.next_run_at) == (False, None)
        assert ours().get().cron == "15 5 10 * *"

        other = make_schedule(owner, name="Other")
        delete = reverse("admin:billruns_billrunschedule_delete", args=[schedule.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 302
        assert list(ours().values_list("name", flat=True)) == [other.q_schedule_name]
        changelist = reverse("admin:billruns_billrunschedule_changelist")
        bulk = {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"}
        assert admin_client.post(changelist, bulk).status_code == 302
        assert not ours().exists()
