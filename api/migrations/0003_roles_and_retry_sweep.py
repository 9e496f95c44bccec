"""Both roles see webhook endpoints and deliveries; operators manage endpoints. The retry sweep
of webhook deliveries runs every minute. A snapshot, like billruns 0002_roles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ["api"]
VIEW = ["view_webhookendpoint", "view_webhookdelivery", "view_webhookattempt"]
OPERATOR_EXTRA = {"api": ["add_webhookendpoint", "change_webhookendpoint", "delete_webhookendpoint"]}
FUNC = "api.tasks.retry_webhooks"


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("api")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.using(alias).filter(content_type__app_label="api")
    view = list(perms.filter(codename__in=VIEW))
    extra = list(perms.filter(codename__in=OPERATOR_EXTRA["api"]))
    for group in Group.objects.using(alias).filter(name="Billing Viewer"):
        group.permissions.add(*view)
    for group in Group.objects.using(alias).filter(name="Billing Operator"):
        group.permissions.add(*view, *extra)


def sweep_every_minute(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).get_or_create(
        func=FUNC,
        defaults={
            "name": "Retry webhook deliveries that are due",
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": 1,
            "repeats": -1,
        },
    )


def no_sweep(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_webhooks"),
        ("billruns", "0002_roles"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(sweep_every_minute, no_sweep),
    ]
