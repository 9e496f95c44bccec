"""How long a bill run waits on dead workers: kill -9 of every qcluster process mid-run,
restart 4 s later, and time the rest against a clean run (docs/benchmarks.md).

    .venv/bin/python scripts/measure_recovery.py --kind postgres --accounts 20000
    .venv/bin/python scripts/measure_recovery.py --kind sqlite --accounts 20000

Uses the fault tests' harness (tests/faults/harness.py) with the default lease (30 s) and
chunk size (1,000) unless told otherwise; needs PostgreSQL and Redis for --kind postgres.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.conftest import create_run
from tests.faults.harness import Templates, wait_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--lease", type=int, default=30, help="BILLCYCLE_LEASE_SECONDS")
    parser.add_argument("--chunk-size", type=int, default=1_000)
    options = parser.parse_args()
    settings = {"lease_seconds": options.lease, "chunk_size": options.chunk_size}
    with tempfile.TemporaryDirectory() as workdir:
        templates = Templates(Path(workdir), accounts=options.accounts)
        try:
            started = time.monotonic()
            templates.template(options.kind)
            print(f"{options.kind}: seeded {options.accounts:,} accounts in "
                  f"{time.monotonic() - started:.0f} s")  # fmt: skip
            clean = templates.clone(options.kind, Path(workdir) / "clean", **settings)
            clean_seconds, clean_lines = run_once(clean, kill=False)
            faulted = templates.clone(options.kind, Path(workdir) / "faulted", **settings)
            faulted_seconds, faulted_lines = run_once(faulted, kill=True)
            assert faulted_lines == clean_lines, "the faulted run wrote other lines"
            faulted.numbers_gapless()
            print(f"clean run: {clean_seconds:.1f} s; with kill -9 and a restart 4 s later: "
                  f"{faulted_seconds:.1f} s (+{faulted_seconds - clean_seconds:.1f} s); same "
                  f"{len(clean_lines):,} lines, numbers gapless")  # fmt: skip
        finally:
            templates.drop_all()


def run_once(backend, *, kill: bool) -> tuple[float, list]:
    cluster = backend.cluster()
    try:
        time.sleep(3)  # the cluster's start-up is not the run's time
        started = time.monotonic()
        number = create_run(backend)
        if kill:
            wait_for(lambda: backend.run(number)["chunks_total"] > 0, within=600,
                     what="planning", backend=backend)  # fmt: skip
            total = backend.run(number)["chunks_total"]
            wait_for(lambda: backend.run(number)["chunks_done"] >= total // 3, within=600,
                     what="a third of the chunks", backend=backend)  # fmt: skip
            backend.kill9(cluster)
            killed = time.monotonic()
            done = backend.run(number)["chunks_done"]
            time.sleep(4)
            backend.cluster()
            restarted = time.monotonic()
        wait_for(lambda: backend.status(number) == "Completed", within=1800,
                 what=f"{number} completing", backend=backend)  # fmt: skip
        seconds = time.monotonic() - started
        if kill:
            print(f"killed at {killed - started:.1f} s after {done} of {total} chunks; "
                  f"Completed {time.monotonic() - restarted:.1f} s after the restart")  # fmt: skip
        return seconds, backend.billed(number)
    finally:
        backend.stop_all()


if __name__ == "__main__":
    main()
