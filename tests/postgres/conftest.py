"""tests/postgres runs against a real PostgreSQL (`make test-postgres`) and skips elsewhere."""

import os

import pytest


def _skip_reason() -> str | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return (
            "needs PostgreSQL: run with DATABASE_URL=postgres://… "
            "(`make test-postgres` does, against 127.0.0.1:5432)"
        )
    import psycopg

    settings = connection.settings_dict
    try:
        psycopg.connect(
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            user=settings["USER"] or None,
            password=settings["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return f"PostgreSQL is not reachable at {os.environ.get('DATABASE_URL')}: {first_line}"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if "tests/postgres" in str(item.fspath):
                item.add_marker(skip)
