"""Recurring bill runs (BillRunSchedule).

- dates: the calendar, pure Python (run days, AsRunDay, the cron expression, the preview).
- services: every write, each keeping the schedule's one django-q2 Schedule in step, and the
  firing that creates a Scheduled run (billruns.tasks.execute_schedule is its queue entry point).
- selectors: the queries of the schedule pages.
- forms, views, urls: the pages, under /schedules/.
"""
