"""Recurring bill runs: each BillRunSchedule keeps one django-q2 Schedule in step, and each
execution creates one Scheduled BillRun owned by the schedule's owner.

The django-q2 Schedule fires on every possible run day (a cron expression); execute_schedule
decides with billruns.schedules.dates whether today is a run day, so month ends, pauses and
the start and end dates follow one tested rule. Executions are idempotent per day: the run's
idempotency key is the schedule and the day, so a repeated or late firing creates no second run.
"""

import datetime as dt
import logging

from croniter import croniter
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_q.models import Schedule

from billruns import services
from billruns.models import BillRun, BillRunSchedule, TargetType
from billruns.schedules import dates

logger = logging.getLogger(__name__)
TASK = "billruns.tasks.execute_schedule"


def next_run_at(schedule: BillRunSchedule, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the schedule next creates a run; None when paused or past its end."""
    if not schedule.enabled:
        return None
    now = timezone.localtime(now or timezone.now())
    start = now.date() if now.time() < schedule.run_time else now.date() + dt.timedelta(days=1)
    for day in dates.run_dates(start=start, count=1, **schedule.rule):
        return timezone.make_aware(dt.datetime.combine(day, schedule.run_time))
    return None


def sync_q_schedule(schedule: BillRunSchedule, now: dt.datetime | None = None) -> Schedule:
    """Create or update the schedule's one django-q2 Schedule, and its next_run_at."""
    now = now or timezone.now()
    expression = dates.cron(
        frequency=schedule.frequency,
        weekdays=list(schedule.weekdays or []),
        day_of_month=schedule.day_of_month,
        run_time=schedule.run_time,
    )
    fires_next = croniter(expression, timezone.localtime(now)).get_next(dt.datetime)
    q_schedule, _ = Schedule.objects.update_or_create(
        name=schedule.q_schedule_name,
        defaults={
            "func": TASK,
            "args": repr((schedule.pk,)),
            "schedule_type": Schedule.CRON,
            "cron": expression,
            "repeats": -1,
            "next_run": fires_next,
        },
    )
    BillRunSchedule.objects.filter(pk=schedule.pk).update(next_run_at=next_run_at(schedule, now))
    return q_schedule


def remove_q_schedule(schedule: BillRunSchedule) -> None:
    Schedule.objects.filter(name=schedule.q_schedule_name).delete()


def set_enabled(*, schedule: BillRunSchedule, enabled: bool) -> BillRunSchedule:
    """Pause (False) or resume (True). A paused schedule's firings create nothing."""
    schedule.enabled = enabled
    schedule.save(update_fields=["enabled", "updated_at"])
    return schedule


def execute_schedule(*, schedule_id: int, now: dt.datetime | None = None) -> BillRun | None:
    """One firing: create today's Scheduled run if today is a run day; None otherwise.

    A run that cannot be created (its account was closed, say) is reported to the owner by
    email and changes nothing else: the next firing tries again.
    """
    now = now or timezone.now()
    schedule = (
        BillRunSchedule.objects.select_related("owner", "account").filter(pk=schedule_id).first()
    )
    if schedule is None:
        return None
    today = timezone.localdate(now)
    run = None
    try:
        if schedule.enabled and dates.is_run_day(day=today, **schedule.rule):
            run = _create_run(schedule, today)
    except services.BillRunError as error:
        logger.warning("Schedule %s could not create its run of %s: %s", schedule, today, error)
        _tell_owner(schedule, today, str(error))
    finally:
        BillRunSchedule.objects.filter(pk=schedule.pk).update(
            next_run_at=next_run_at(schedule, now)
        )
    return run


def _create_run(schedule: BillRunSchedule, today: dt.date) -> BillRun:
    first = last = None
    if schedule.target_type == TargetType.MULTIPLE_ACCOUNTS:
        first, last = dates.bill_cycle_day_range(schedule.bill_cycle_day, today)
    return services.create_bill_run(
        acting_user=schedule.owner,
        invoice_date=today + dt.timedelta(days=schedule.invoice_date_offset_days),
        target_date=today + dt.timedelta(days=schedule.target_date_offset_days),
        target_type=schedule.target_type,
        account=schedule.account,
        batches=schedule.batches,
        bill_cycle_day=first,
        bill_cycle_day_to=last if last != first else None,
        charge_types=schedule.charge_types,
        auto_post=schedule.auto_post,
        auto_email=schedule.auto_email,
        no_email_for_zero_amount=schedule.no_email_for_zero_amount,
        name=f"{schedule} {today:%Y-%m-%d}",
        run_type=BillRun.RunType.SCHEDULED,
        schedule=schedule,
        idempotency_key=f"schedule-{schedule.pk}-{today:%Y-%m-%d}",
        allow_empty_scope=True,
    )


def _tell_owner(schedule: BillRunSchedule, day: dt.date, reason: str) -> None:
    if not schedule.owner.email:
        return
    context = {"schedule": schedule, "day": day, "reason": reason}

    def send():
        try:
            send_mail(
                f"Scheduled bill run {schedule} could not start on {day:%Y-%m-%d}",
                render_to_string("billruns/email/schedule_failed.txt", context),
                None,
                [schedule.owner.email],
            )
        except Exception:  # an email failure never changes the schedule
            logger.exception("Could not email the owner of schedule %s", schedule.pk)

    transaction.on_commit(send)
