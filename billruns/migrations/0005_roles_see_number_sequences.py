"""NumberSequence moved to core (core 0001): both roles keep seeing it, as they did in invoicing.

Like 0002_roles, a snapshot: later role changes come as new migrations.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ["core"]


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("core")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = list(
        Permission.objects.using(alias).filter(
            content_type__app_label__in=APPS, codename__startswith="view_"
        )
    )
    for group in Group.objects.using(alias).filter(
        name__in=["Billing Viewer", "Billing Operator"]
    ):
        group.permissions.add(*view)


class Migration(migrations.Migration):
    dependencies = [
        ("billruns", "0004_billrun_bill_cycle_day_range"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
