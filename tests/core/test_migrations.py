from io import StringIO

import pytest
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)


@pytest.mark.django_db
def test_each_app_has_one_line_of_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for app in ("core", "accounts", "invoicing", "billruns"):
        assert loader.graph.leaf_nodes(app).__len__() == 1, f"{app} has parallel migrations"


@pytest.mark.django_db
def test_migrations_create_the_two_roles():
    from django.contrib.auth.models import Group

    operator = Group.objects.get(name="Billing Operator")
    viewer = Group.objects.get(name="Billing Viewer")
    operator_perms = set(operator.permissions.values_list("codename", flat=True))
    viewer_perms = set(viewer.permissions.values_list("codename", flat=True))
    assert {
        "add_billrun",
        "post_billrun",
        "cancel_billrun",
        "terminate_billrun",
        "delete_billrun",
        "view_billrun",
    } <= operator_perms
    assert viewer_perms and all(codename.startswith("view_") for codename in viewer_perms)
    assert viewer_perms <= operator_perms
