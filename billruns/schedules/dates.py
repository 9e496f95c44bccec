"""When a recurring bill run runs, and which bill cycle days it bills. Pure Python: dates in,
dates out, so every calendar rule is tested without a database or a clock.

Monthly on a day the month lacks (29, 30, 31) means that month's last day: a schedule on the 31st
runs on 31 January, 28 February, 31 March, 30 April …
"""

import calendar
import datetime as dt
from collections.abc import Iterator

DAILY, WEEKLY, MONTHLY = "Daily", "Weekly", "Monthly"
AS_RUN_DAY = "AsRunDay"
# Ten years of days: a preview of run dates never loops for ever on an impossible schedule.
MAX_DAYS_SCANNED = 3660


def last_day_of_month(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def is_run_day(
    *,
    frequency: str,
    weekdays: list[int],
    day_of_month: int | None,
    starts_on: dt.date,
    ends_on: dt.date | None,
    day: dt.date,
) -> bool:
    if day < starts_on or (ends_on is not None and day > ends_on):
        return False
    if frequency == DAILY:
        return True
    if frequency == WEEKLY:
        return day.weekday() in weekdays
    if frequency == MONTHLY and day_of_month:
        return day.day == min(day_of_month, last_day_of_month(day))
    return False


def first_run_day(*, now: dt.datetime, run_time: dt.time) -> dt.date:
    """The first day that can still have a run at `run_time`: today until then, else tomorrow
    (`now` in the server's time zone)."""
    today = now.date()
    return today if now.time() < run_time else today + dt.timedelta(days=1)


def shifted(day: dt.date, days: int) -> dt.date | None:
    """`day` moved by `days`, or None beyond the calendar (9999-12-31) or before its start."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return None


def run_dates(*, start: dt.date, count: int, **rule) -> Iterator[dt.date]:
    """The next `count` run days from `start` (included), fewer if the schedule ends first
    (or the calendar does, on 9999-12-31: a stored rule never breaks a page)."""
    day = max(start, rule["starts_on"])
    ends_on = rule.get("ends_on")
    found = 0
    for _ in range(MAX_DAYS_SCANNED):
        if found == count or (ends_on is not None and day > ends_on):
            return
        if is_run_day(day=day, **rule):
            found += 1
            yield day
        if day == dt.date.max:
            return
        day += dt.timedelta(days=1)


def bill_cycle_day_range(setting: str, run_day: dt.date) -> tuple[int | None, int | None]:
    """(first, last) bill cycle day a run on `run_day` bills; (None, None) for every day.

    AsRunDay bills the accounts whose bill cycle day is the run's day of month; on a month's
    last day also every larger day, so accounts on the 29th–31st are billed in short months.
    """
    if not setting:
        return None, None
    if setting != AS_RUN_DAY:
        return int(setting), int(setting)
    if run_day.day == last_day_of_month(run_day):
        return run_day.day, 31
    return run_day.day, run_day.day


def cron(
    *, frequency: str, weekdays: list[int], day_of_month: int | None, run_time: dt.time
) -> str:
    """A cron expression that fires on every run day (and, for days 29–31, on every possible
    month end: the task then checks the day with is_run_day)."""
    minute, hour = run_time.minute, run_time.hour
    if frequency == WEEKLY:
        # cron counts Sunday = 0; Python's weekday() counts Monday = 0.
        days = ",".join(str((day + 1) % 7) for day in sorted(weekdays))
        return f"{minute} {hour} * * {days}"
    if frequency == MONTHLY and day_of_month:
        days = str(day_of_month) if day_of_month <= 28 else "28-31"
        return f"{minute} {hour} {days} * *"
    return f"{minute} {hour} * * *"


def preview(
    *,
    start: dt.date,
    count: int,
    invoice_date_offset_days: int,
    target_date_offset_days: int,
    bill_cycle_day: str,
    **rule,
) -> list[dict]:
    """The next run days with the invoice date, target date and bill cycle days of each run;
    it stops at a run whose dates would lie beyond the calendar."""
    rows = []
    for day in run_dates(start=start, count=count, **rule):
        invoice_date = shifted(day, invoice_date_offset_days)
        target_date = shifted(day, target_date_offset_days)
        if invoice_date is None or target_date is None:
            break
        first, last = bill_cycle_day_range(bill_cycle_day, day)
        if first is None:
            days = "all"
        elif first == last:
            days = str(first)
        else:
            days = f"{first}–{last}"
        rows.append(
            {
                "run_date": day,
                "invoice_date": invoice_date,
                "target_date": target_date,
                "bill_cycle_days": days,
            }
        )
    return rows
