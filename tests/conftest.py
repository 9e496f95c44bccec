import datetime as dt
import os

import pytest

# Playwright's sync API keeps an asyncio loop running in the main thread, which makes Django's
# async-safety guard refuse every ORM call (even test database set-up). Tests are
# single-threaded, so the guard protects nothing here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def q_sync(monkeypatch):
    """Run django-q2 tasks inline: Conf is read at import, so override_settings cannot."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Many tests make users; the real hasher would take most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def role(name: str):
    """The group a data migration made. A transactional test's flush empties the groups and
    post_migrate brings back only the permissions, so make the group again from the
    migration's own lists when it is missing."""
    import importlib

    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=name)
    if created:
        from django.apps import apps
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():  # in case a flush raced their re-creation
            create_permissions(app_config, verbosity=0)
        roles = importlib.import_module("billruns.migrations.0002_roles")
        later = importlib.import_module("billruns.migrations.0005_roles_see_number_sequences")
        api = importlib.import_module("api.migrations.0003_roles_and_retry_sweep")
        perms = Permission.objects.filter(content_type__app_label__in=roles.APPS + later.APPS)
        api_perms = Permission.objects.filter(content_type__app_label="api")
        chosen = [
            *perms.filter(codename__startswith="view_"),
            *api_perms.filter(codename__in=api.VIEW),
        ]
        if name == "Billing Operator":
            chosen += [
                perms.get(content_type__app_label=label, codename=codename)
                for label, codenames in roles.OPERATOR_EXTRA.items()
                for codename in codenames
            ]
            chosen += list(api_perms.filter(codename__in=api.OPERATOR_EXTRA["api"]))
            previews = importlib.import_module(
                "billruns.migrations.0009_preview_roles_and_clean_up"
            )
            chosen += list(perms.filter(codename__in=previews.OPERATOR_EXTRA))
        group.permissions.set(chosen)
    return group


def staff_user(django_user_model, username: str, group: str):
    """A staff member of one role: email <username>@example.com, password <username>-pass."""
    user = django_user_model.objects.create_user(
        username, f"{username}@example.com", f"{username}-pass", is_staff=True
    )
    user.groups.add(role(group))
    return user


@pytest.fixture
def operator(db, django_user_model):
    return staff_user(django_user_model, "operator", "Billing Operator")


@pytest.fixture
def viewer(db, django_user_model):
    return staff_user(django_user_model, "viewer", "Billing Viewer")


@pytest.fixture
def logged_in(client, operator):
    """The test client, logged in as the operator: what the page tests of every app start from."""
    client.force_login(operator)
    return client


RUN_DATE = dt.date(2026, 2, 1)


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory(username="olivia", email="olivia@example.com")


@pytest.fixture
def run_now(django_capture_on_commit_callbacks, user):
    """Create a run and bill it inline (django-q2 sync mode, after-commit hooks run)."""

    def create(**terms):
        terms.setdefault("acting_user", user)
        terms.setdefault("invoice_date", RUN_DATE)
        terms.setdefault("target_date", RUN_DATE)
        from tests.factories import create_bill_run

        with django_capture_on_commit_callbacks(execute=True):
            run = create_bill_run(**terms)
        run.refresh_from_db()
        return run

    return create
