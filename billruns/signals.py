"""Keep each BillRunSchedule's django-q2 Schedule in step however the schedule is saved or
deleted: pages, the admin, a shell or a data migration."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from billruns.models import BillRunSchedule


@receiver(post_save, sender=BillRunSchedule, dispatch_uid="billruns.schedule_saved")
def schedule_saved(sender, instance, raw=False, **kwargs):
    if raw:  # loaddata: the fixture carries its own rows
        return
    from billruns.schedules import services

    services.sync_q_schedule(instance)


@receiver(post_delete, sender=BillRunSchedule, dispatch_uid="billruns.schedule_deleted")
def schedule_deleted(sender, instance, **kwargs):
    from billruns.schedules import services

    services.remove_q_schedule(instance)
