"""bench_bill_run runs end to end against a database file with real worker processes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_bills_a_small_seed_with_two_workers(tmp_path):
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
    result = manage("bench_bill_run", "--accounts", "60", "--workers", "2", "--chunk-size", "10")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Database: sqlite; 60 accounts; 2 workers; chunks of 10" in out
    assert "6 chunks" in out
    assert "accounts/s" in out and "lines/s" in out
    assert "Queries per chunk:" in out
    assert "Raw-SQL floor (executemany" in out and "x the floor" in out
