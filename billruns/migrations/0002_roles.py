"""The groups Billing Operator and Billing Viewer (DESIGN §7).

This is a snapshot: a later change of roles comes as a new migration, never as an edit here.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ["accounts", "invoicing", "billruns"]

OPERATOR_EXTRA = {
    "accounts": [
        "add_account", "change_account", "delete_account",
        "add_subscription", "change_subscription", "delete_subscription",
        "add_charge", "change_charge", "delete_charge",
        "add_usagerecord", "change_usagerecord", "delete_usagerecord",
    ],
    "invoicing": [
        "change_billingdocument", "change_invoice", "change_creditmemo", "post_billingdocument",
    ],
    "billruns": [
        "add_billrun", "change_billrun", "post_billrun", "cancel_billrun",
        "terminate_billrun", "delete_billrun",
        "add_billrunschedule", "change_billrunschedule", "delete_billrunschedule",
    ],
}


def create_roles(apps, schema_editor):
    alias = schema_editor.connection.alias
    # Permissions are normally created after migrate (post_migrate); make them exist now.
    for label in [*APPS, "auth", "contenttypes"]:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=alias)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.using(alias).filter(content_type__app_label__in=APPS)
    view = list(perms.filter(codename__startswith="view_"))
    extra = [
        perms.get(content_type__app_label=label, codename=codename)
        for label, codenames in OPERATOR_EXTRA.items()
        for codename in codenames
    ]
    viewer, _ = Group.objects.using(alias).get_or_create(name="Billing Viewer")
    viewer.permissions.set(view)
    operator, _ = Group.objects.using(alias).get_or_create(name="Billing Operator")
    operator.permissions.set(view + extra)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=["Billing Viewer", "Billing Operator"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0002_initial"),
        ("invoicing", "0002_number_sequences"),
        ("billruns", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
