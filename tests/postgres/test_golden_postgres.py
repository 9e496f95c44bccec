"""The golden lines (tests/billruns/test_golden.py) on PostgreSQL: the chunk numbers its
documents last there (`execution._number_last`), and writes through COPY and arrays."""

import pytest

from tests.billruns.test_golden import (  # noqa: F401 (collected here too)
    test_two_runs_over_the_demo_data_write_exactly_the_golden_lines,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
