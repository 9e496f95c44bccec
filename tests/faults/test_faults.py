"""Billcycle under the faults the audit of issue 13 used: no account billed twice or missed,
every document number once, and no run left waiting on a dead worker.

Bounds are stated per test; the lease is LEASE_SECONDS (6 s here, 30 s by default), and the
watchdog looks every third of a lease. docs/benchmarks.md has the same faults measured with
the default lease.
"""

import time

import pytest

from tests.faults.conftest import create_run
from tests.faults.harness import LEASE_SECONDS, wait_for

pytestmark = pytest.mark.faults
CHUNK_DELAY = 0.3  # seconds a chunk sleeps in its transaction: a kill lands mid-chunk
# A clean run here takes about 20 chunks × 0.3 s / 2 workers + start-up ≈ 6 s.
# Seconds a posting's batch (5 chunks' documents) or a cancel's (one chunk) sleeps in its
# transaction: the kill lands between batches even on a busy machine.
BATCH_DELAY = {"post": 3, "cancel": 0.5}
# From the restart to Completed: under the 30 s after which django-q2's scheduler first looks
# at its schedules, so the once-a-minute `recover` schedule cannot meet it; the watchdog threads
# of the new workers must.
RESUME_BOUND = 25


def chunks_done(backend, number: str) -> int:
    return backend.run(number)["chunks_done"]


def test_kill_9_of_every_qcluster_process_mid_run_then_restart(backend, clean_run):
    """Bound: Completed within RESUME_BOUND (25 s) of the restart; the same lines and amounts
    as a clean run, numbers gapless."""
    cluster = backend.cluster(FAULT_CHUNK_DELAY=CHUNK_DELAY)
    number = create_run(backend)
    wait_for(lambda: chunks_done(backend, number) >= 3, within=60, what="3 chunks billed",
             backend=backend)  # fmt: skip
    backend.kill9(cluster)  # the cluster, its sentinel, monitor, pusher and both workers
    killed_at = chunks_done(backend, number)
    assert backend.status(number) == "Processing" and killed_at < 20
    time.sleep(4)
    backend.cluster(FAULT_CHUNK_DELAY=CHUNK_DELAY)
    took = wait_for(lambda: backend.status(number) == "Completed", within=RESUME_BOUND,
                    what=f"{number} completing after the restart", backend=backend)  # fmt: skip
    print(f"{backend.kind}: killed after {killed_at} chunks, Completed {took:.1f} s after restart")
    assert backend.run(number)["failures"] == 0
    assert backend.billed(number) == clean_run(backend.kind)
    backend.numbers_gapless()


def test_connections_terminated_mid_chunk_are_survived(postgres, clean_run):
    """pg_terminate_backend of every worker connection, twice, while chunks are in their
    transactions. Bound: Completed within RESUME_BOUND (25 s) of the last termination."""
    backend = postgres
    backend.cluster(FAULT_CHUNK_DELAY=CHUNK_DELAY)
    number = create_run(backend)
    for at_least in (3, 8):
        wait_for(lambda n=at_least: chunks_done(backend, number) >= n, within=60,
                 what=f"{at_least} chunks billed", backend=backend)  # fmt: skip
        terminated = backend.value(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert terminated >= 1
    took = wait_for(lambda: backend.status(number) == "Completed", within=RESUME_BOUND,
                    what=f"{number} completing", backend=backend)  # fmt: skip
    print(f"Completed {took:.1f} s after the last termination")
    assert backend.run(number)["failures"] == 0
    assert backend.billed(number) == clean_run("postgres")
    backend.numbers_gapless()


@pytest.mark.parametrize("verb", ["post", "cancel"])
def test_kill_9_mid_post_or_cancel_then_ask_again(backend, verb):
    """The command is killed between two batches; asked again it waits for the dead holder's
    lease to lapse, then finishes. Bound: the second ask ends within 2 leases + 30 s. A
    cancel puts every cursor, usage record and term back exactly as they were."""
    before = backend.cursors()
    number = create_run(backend, wait=True)
    assert backend.status(number) == "Completed"
    documents = backend.value(
        "SELECT count(*) FROM invoicing_billingdocument d JOIN billruns_billrun r "
        "ON r.id = d.bill_run_id WHERE r.number = %s",
        (number,),
    )
    finished = done_status = "Posted" if verb == "post" else "Canceled"
    command = backend.start(f"{verb}_bill_run", number, "--user", "operator", label=verb,
                            FAULT_BATCH_DELAY=BATCH_DELAY[verb])  # fmt: skip

    def documents_done() -> int:
        return backend.value(
            "SELECT count(*) FROM invoicing_billingdocument d JOIN billruns_billrun r "
            "ON r.id = d.bill_run_id WHERE r.number = %s AND d.status = %s",
            (number, done_status),
        )

    wait_for(lambda: documents_done() > 0, within=60, what=f"a first {verb} batch",
             backend=backend)  # fmt: skip
    backend.kill9(command)
    assert backend.status(number) == f"{verb.capitalize()}InProgress"
    assert 0 < documents_done() < documents
    started = time.monotonic()
    result = backend.manage(f"{verb}_bill_run", number, "--user", "operator",
                            timeout=2 * LEASE_SECONDS + 30)  # fmt: skip
    print(f"{verb} finished {time.monotonic() - started:.1f} s after it was asked again")
    assert result.stdout.strip().endswith(f"{number} {finished}.")
    assert documents_done() == documents
    if verb == "post":
        (unposted_by,) = backend.rows(
            "SELECT count(*) FROM invoicing_billingdocument WHERE posted_by_id IS NULL"
        )[0]
        assert unposted_by == 0  # the asking user posted every one of them
    else:
        assert backend.cursors() == before
    assert backend.run(number)["lease"] is None


def test_two_overlapping_runs_with_two_workers_bill_each_account_once(postgres, clean_run):
    """Two runs over every account at once, one cluster of two workers: together they write
    exactly the clean run's lines. Bound: both settle within 60 s."""
    backend = postgres
    backend.cluster(FAULT_CHUNK_DELAY=0.1)
    first, second = create_run(backend, name="first"), create_run(backend, name="second")
    wait_for(
        lambda: {backend.status(first), backend.status(second)} == {"Completed"},
        within=60,
        what="both runs completing",
        backend=backend,
    )
    both = backend.billed(first, second)
    assert both == clean_run("postgres")  # each period of each charge once, whichever run
    backend.numbers_gapless()
