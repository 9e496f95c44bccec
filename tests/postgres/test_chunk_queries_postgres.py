"""A chunk's queries do not grow with its size on PostgreSQL either (COPY, arrays, the
numbers set last): tests/billruns/test_execution.py's test, collected here."""

import pytest

from tests.billruns.test_execution import (  # noqa: F401 (collected here too)
    test_the_chunk_writer_uses_the_same_queries_for_10_and_1000_accounts,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
