"""bench_bill_run runs end to end against a database file with real worker processes."""

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from billruns.management.commands.bench_bill_run import _Snapshot
from tests.factories import ChargeFactory, UsageRecordFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def manage(tmp_path):
    """`manage.py ARGS` in a subprocess on a migrated SQLite file of its own."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        "LOG_LEVEL": "WARNING",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert manage("migrate", "-v0").returncode == 0
    return manage


def test_the_benchmark_bills_a_small_seed_with_two_workers(manage):
    result = manage(
        "bench_bill_run", "--accounts", "60", "--workers", "2", "--chunk-size", "10", "--preview"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Database: sqlite; 60 accounts; 2 workers; chunks of 10" in out
    # The preview of the same run first, then its time against the run's rating share.
    assert "BPR-00000001: " in out and "MB of CSV" in out
    assert "against the run's rating share (read, rate and build its rows" in out
    assert "6 chunks" in out
    assert "accounts/s" in out and "lines/s" in out
    assert "Queries per chunk:" in out
    assert "Floor (executemany of the same" in out and "x the floor" in out


def test_then_cancel_then_post_cancels_checks_the_restore_bills_again_and_posts(manage, tmp_path):
    result = manage(
        "bench_bill_run",
        *("--accounts", "40", "--workers", "2", "--chunk-size", "10"),
        *("--then", "cancel", "--then", "post", "--analyze"),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Cancel BR-00000001: " in out and "documents/s" in out
    assert "Restored exactly as before BR-00000001: charged_through of " in out
    assert "Billed again as BR-00000002: the same " in out
    assert "Post BR-00000002: " in out
    assert "ANALYZE after BR-00000002: " in out
    with sqlite3.connect(tmp_path / "bench.sqlite3") as db:
        statuses = db.execute("SELECT number, status FROM billruns_billrun ORDER BY id").fetchall()
        scratch = db.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'bench_%' AND type = 'table'"
        ).fetchall()
    assert statuses == [("BR-00000001", "Canceled"), ("BR-00000002", "Posted")]
    assert scratch == []  # the copies are dropped


def test_a_post_can_only_be_the_last_step(db):
    with pytest.raises(CommandError, match="--then post must be the last step"):
        call_command("bench_bill_run", "--no-seed", "--then", "post", "--then", "cancel")


def test_the_cancel_check_finds_what_was_not_put_back(db):
    charge = ChargeFactory()
    usage = UsageRecordFactory()
    usage_id = usage.pk
    snapshot = _Snapshot()
    snapshot.take()
    try:
        assert snapshot.differences() == []
        charge.charged_through = dt.date(2026, 1, 31)
        charge.save()
        usage.delete()
        assert snapshot.differences() == [
            f"charges: 1 differ in charged_through from before the run (the first: id {charge.pk})",
            "usage records: 1 differ in status and line from before the run "
            f"(the first: id {usage_id})",
        ]
    finally:
        snapshot.drop()
