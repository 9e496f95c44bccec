"""Every write to a recurring bill run, and its firing.

The five services (create, update, pause, resume, delete) are the one write path of pages, the
admin and code alike: each runs in one transaction and keeps the schedule's one django-q2
Schedule in step itself, so no signal does it behind a save(). A BillRunSchedule saved or deleted
any other way leaves its django-q2 Schedule behind.

The django-q2 Schedule fires on every possible run day (a cron expression); execute_schedule
decides with billruns.schedules.dates whether today is a run day, so month ends, pauses and
the start and end dates follow one tested rule. Executions are idempotent per day: the run's
idempotency key is the schedule and the day, so a repeated or late firing creates no second run.
"""

import datetime as dt
import logging

from croniter import croniter
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_q.models import Schedule

from billruns import services as run_services
from billruns.models import BillRun, BillRunSchedule
from billruns.schedules import dates
from billruns.terms import RunTerms, TargetType, date_refusal
from core.errors import DomainError

logger = logging.getLogger(__name__)
TASK = "billruns.tasks.execute_schedule"
# What a caller may set. next_run_at follows from the others; `enabled` changes through
# pause_schedule and resume_schedule once the schedule exists.
UPDATE_FIELDS = frozenset(
    field.name
    for field in BillRunSchedule._meta.concrete_fields
    if field.editable and not field.primary_key and field.name not in {"enabled", "next_run_at"}
)
CREATE_FIELDS = UPDATE_FIELDS | {"enabled"}


def create_schedule(*, acting_user, now: dt.datetime | None = None, **fields) -> BillRunSchedule:
    """A new schedule and its django-q2 Schedule. Its owner (who gets each run's emails) is
    `acting_user` unless `owner` is given (the admin chooses one).

    Raises ValidationError, saving nothing, when the fields break the model's rules.
    """
    _refuse_unknown(fields, CREATE_FIELDS, "create_schedule")
    schedule = BillRunSchedule(**{"owner": acting_user, **fields})
    with transaction.atomic():
        _save(schedule, action="created", acting_user=acting_user, now=now)
    return schedule


def update_schedule(
    *, schedule: BillRunSchedule, acting_user, now: dt.datetime | None = None, **fields
) -> BillRunSchedule:
    """Change the given fields (the owner only if `owner` is given) and move its django-q2
    Schedule and next run with them.

    The row is read again under a lock, so fields not given keep their stored values whatever
    the caller's instance holds. Raises ValidationError, saving nothing, like create_schedule.
    """
    _refuse_unknown(fields, UPDATE_FIELDS, "update_schedule")
    with transaction.atomic():
        schedule.refresh_from_db(from_queryset=BillRunSchedule.objects.select_for_update())
        for field, value in fields.items():
            setattr(schedule, field, value)
        _save(schedule, action="updated", acting_user=acting_user, now=now)
    return schedule


def pause_schedule(
    *, schedule: BillRunSchedule, acting_user, now: dt.datetime | None = None
) -> bool:
    """Its firings create nothing until it is resumed; False if it was paused already.

    The django-q2 Schedule stays (exactly one per schedule, paused or not); next_run_at empties.
    """
    return _set_enabled(schedule, enabled=False, acting_user=acting_user, now=now)


def resume_schedule(
    *, schedule: BillRunSchedule, acting_user, now: dt.datetime | None = None
) -> bool:
    """It creates runs again from its next run day; False if it was active already."""
    return _set_enabled(schedule, enabled=True, acting_user=acting_user, now=now)


def delete_schedule(*, schedule: BillRunSchedule, acting_user) -> None:
    """Delete the schedule and its django-q2 Schedule. The runs it created stay, unlinked."""
    with transaction.atomic():
        Schedule.objects.filter(name=schedule.q_schedule_name).delete()
        _record(schedule, "deleted", acting_user)
        schedule.delete()


def date_errors(*, starts_on: dt.date | None, ends_on: dt.date | None, today: dt.date) -> dict:
    """The schedule's dates outside the window a run's dates keep to (terms.date_window), by
    field: Zuora refuses a schedule more than ten years ahead."""
    given = {"starts_on": starts_on, "ends_on": ends_on}
    return {
        field: refusal
        for field, value in given.items()
        if value is not None and (refusal := date_refusal(value, today=today))
    }


def _save(schedule: BillRunSchedule, *, action: str, acting_user, now) -> None:
    """Validate and save the schedule, then bring its django-q2 Schedule in step with it."""
    schedule.full_clean()
    today = timezone.localdate(now or timezone.now())
    if errors := date_errors(starts_on=schedule.starts_on, ends_on=schedule.ends_on, today=today):
        raise ValidationError(errors)
    schedule.save()
    _keep_q_schedule_in_step(schedule, now or timezone.now())
    _record(schedule, action, acting_user)


def _set_enabled(schedule: BillRunSchedule, *, enabled: bool, acting_user, now) -> bool:
    now = now or timezone.now()
    with transaction.atomic():
        # Conditional, so that of two clicks one changes it and the other is told it was done.
        changed = BillRunSchedule.objects.filter(pk=schedule.pk, enabled=not enabled).update(
            enabled=enabled, updated_at=now
        )
        schedule.refresh_from_db()
        if changed:
            _keep_q_schedule_in_step(schedule, now)
            _record(schedule, "resumed" if enabled else "paused", acting_user)
    return bool(changed)


def _refuse_unknown(fields: dict, allowed: frozenset[str], service: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"{service}() cannot set {', '.join(unknown)}")


def _record(schedule: BillRunSchedule, action: str, acting_user) -> None:
    """Log who acted, once the change is committed: a schedule has an owner but no "changed
    by" field. The values are taken now, while a schedule about to be deleted still has its id."""
    who = acting_user.get_username() if acting_user is not None else "the system"
    args = (str(schedule), schedule.pk, action, who)
    transaction.on_commit(lambda: logger.info("Schedule %s (id %s) %s by %s", *args))


def next_run_at(schedule: BillRunSchedule, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the schedule next creates a run; None when paused or past its end."""
    if not schedule.enabled:
        return None
    start = dates.first_run_day(
        now=timezone.localtime(now or timezone.now()), run_time=schedule.run_time
    )
    for day in dates.run_dates(start=start, count=1, **schedule.rule):
        return timezone.make_aware(dt.datetime.combine(day, schedule.run_time))
    return None


def _keep_q_schedule_in_step(schedule: BillRunSchedule, now: dt.datetime) -> None:
    """Create or update the schedule's one django-q2 Schedule, and its next_run_at."""
    expression = dates.cron(
        frequency=schedule.frequency,
        weekdays=list(schedule.weekdays or []),
        day_of_month=schedule.day_of_month,
        run_time=schedule.run_time,
    )
    fires_next = croniter(expression, timezone.localtime(now)).get_next(dt.datetime)
    Schedule.objects.update_or_create(
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
    schedule.next_run_at = next_run_at(schedule, now)
    BillRunSchedule.objects.filter(pk=schedule.pk).update(next_run_at=schedule.next_run_at)


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
    except DomainError as error:
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
    terms = RunTerms(
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
    )
    return run_services.create_bill_run(
        terms=terms,
        acting_user=schedule.owner,
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
