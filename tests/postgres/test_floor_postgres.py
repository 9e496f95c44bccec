"""The benchmark floor's tests (tests/billruns/test_floor.py), on PostgreSQL: LIKE … INCLUDING
ALL copies every index, and COPY writes the run's rows back exactly."""

import pytest

from tests.billruns.test_floor import (  # noqa: F401 (fixtures and tests collected here too)
    clones,
    test_a_table_copied_without_its_indexes_would_be_told_apart,
    test_measure_leaves_no_table_behind,
    test_the_floor_tables_have_the_real_tables_indexes,
    test_the_floor_writes_the_run_s_own_rows_a_transaction_per_batch,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
