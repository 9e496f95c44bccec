import datetime as dt

import pytest

from tests.factories import UserFactory, create_bill_run

FEB1 = dt.date(2026, 2, 1)


@pytest.fixture
def user(db):
    return UserFactory(username="olivia", email="olivia@example.com")


@pytest.fixture
def run_now(django_capture_on_commit_callbacks, user):
    """Create a run and bill it inline (django-q2 sync mode, after-commit hooks run)."""

    def create(**terms):
        terms.setdefault("acting_user", user)
        terms.setdefault("invoice_date", FEB1)
        terms.setdefault("target_date", FEB1)
        with django_capture_on_commit_callbacks(execute=True):
            run = create_bill_run(**terms)
        run.refresh_from_db()
        return run

    return create
