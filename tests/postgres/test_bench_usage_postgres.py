"""`manage.py bench_usage` really sends its records through gunicorn and checks what is stored."""

import io

import pytest
from django.core.management import call_command

from accounts.models import UsageRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_benchmark_stores_every_record_it_counts_once(operator):
    out = io.StringIO()
    call_command(
        "bench_usage", records=2000, clients=2, batch=500, accounts=20, resend=True, stdout=out
    )
    printed = out.getvalue()
    assert "2,000 records: 2 clients × 2 requests × 500" in printed
    assert "stored rows match the answers: 2,000" in printed
    assert "resent: 2,000 records" in printed and "2,000 duplicates" in printed
    assert UsageRecord.objects.count() == 2000
