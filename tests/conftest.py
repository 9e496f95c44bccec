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


@pytest.fixture
def operator(db, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        "operator", "operator@example.com", "operator-pass", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Billing Operator"))
    return user


@pytest.fixture
def viewer(db, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        "viewer", "viewer@example.com", "viewer-pass", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Billing Viewer"))
    return user
