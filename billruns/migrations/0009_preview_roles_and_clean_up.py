"""Both roles see billing preview runs; operators create and cancel them. Previews older than
180 days are deleted by a daily clean-up. A snapshot, like 0002_roles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["view_billingpreviewrun"]
OPERATOR_EXTRA = ["add_billingpreviewrun"]
FUNC = "billruns.tasks.delete_old_previews"


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("billruns")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.using(alias).filter(content_type__app_label="billruns")
    view = list(perms.filter(codename__in=VIEW))
    extra = list(perms.filter(codename__in=OPERATOR_EXTRA))
    for group in Group.objects.using(alias).filter(name="Billing Viewer"):
        group.permissions.add(*view)
    for group in Group.objects.using(alias).filter(name="Billing Operator"):
        group.permissions.add(*view, *extra)


def clean_up_daily(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).get_or_create(
        func=FUNC,
        defaults={
            "name": "Delete billing preview runs older than 180 days",
            "schedule_type": "D",  # Schedule.DAILY
            "repeats": -1,
        },
    )


def no_clean_up(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billruns", "0008_billing_preview_runs"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(clean_up_daily, no_clean_up),
    ]
