"""The benchmark's floor writes the run's own rows into tables indexed exactly like the real ones.

tests/postgres/test_floor_postgres.py runs these same tests on PostgreSQL.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from billruns import floor
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clones():
    yield floor.FLOOR_TABLES
    floor.drop_tables()


@pytest.mark.parametrize("model", [BillingDocument, DocumentLine], ids=["documents", "lines"])
def test_the_floor_tables_have_the_real_tables_indexes(clones, model):
    real = model._meta.db_table
    floor.clone_table(real, clones[model])
    expected = floor.index_signature(real)
    # Unique, partial and plain indexes alike: documents' number and Meta indexes, lines' two
    # partial unique constraints and the foreign keys' indexes.
    assert len(expected) >= 5
    assert floor.index_signature(clones[model]) == expected


def test_a_table_copied_without_its_indexes_would_be_told_apart(clones):
    """The comparison above can fail: a bare copy of the columns has none of the indexes."""
    real = DocumentLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{clones[DocumentLine]}"')
        cursor.execute(
            f'CREATE TABLE "{clones[DocumentLine]}" AS SELECT * FROM "{real}" WHERE 1 = 0'
        )
    assert floor.index_signature(clones[DocumentLine]) != floor.index_signature(real)


def test_the_floor_writes_the_run_s_own_rows_a_transaction_per_batch(run_now, monkeypatch, clones):
    for price in ("100.00", "12.50", "7.00", "0.99", "3.10"):
        ChargeFactory(price=Decimal(price), effective_start=dt.date(2026, 1, 15))
    run = run_now()
    assert run.number_of_invoices == 5
    monkeypatch.setattr(floor, "DOCUMENTS_PER_TRANSACTION", 2)
    for model, table in clones.items():
        floor.clone_table(model._meta.db_table, table)
    batches = floor.read_batches(run)
    # 5 documents: 2 + 2 + 1, each with its own lines (January 15–31 and February, in advance).
    assert [(b.document_count, b.line_count) for b in batches] == [(2, 4), (2, 4), (1, 2)]
    seconds = floor.write(batches)
    assert seconds > 0
    for model, table in clones.items():
        real = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY id')
            written = cursor.fetchall()
            cursor.execute(f'SELECT * FROM "{real}" ORDER BY id')
            assert written == cursor.fetchall()
    assert len(written) == 10  # the lines


def test_measure_leaves_no_table_behind(run_now):
    ChargeFactory()
    run = run_now()
    seconds, documents, lines = floor.measure(run)
    assert (documents, lines) == (1, 2)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert not set(floor.FLOOR_TABLES.values()) & set(tables)
