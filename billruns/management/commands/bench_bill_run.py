"""Measure a real bill run: throughput, queries per chunk, memory per worker, and the floor.

Seeds N demo accounts into the configured database (skip with --no-seed to reuse what is
there), plans one run over every account, bills the first chunk in this process under a query
counter, then the rest with W worker processes that claim chunks exactly as qcluster workers do
(the same `bill_chunk`, without the queue, whose cost per 1,000-account chunk is negligible).
Finally it writes the very rows the run wrote (documents and lines) into scratch tables with
the fastest raw method of the database, executemany on SQLite or COPY on PostgreSQL, and prints
the ratio of the run's wall time to that floor. Use a database of its own: it bills everything.
"""

import multiprocessing
import resource
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.demo import seed_demo_accounts
from billruns import execution, services
from billruns.execution import DOCUMENT_COLUMNS, LINE_COLUMNS
from billruns.management.commands._common import parse_date
from billruns.models import BillRun
from billruns.terms import RunTerms
from core.bulk import BulkWriter
from invoicing.models import BillingDocument, DocumentLine


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(chunk_ids: list[int]) -> tuple[int, float]:
    """Bill every chunk this process can claim; return (chunks billed, peak RSS in MB)."""
    connections.close_all()  # never share the parent's connection across fork
    billed = 0
    for chunk_id in chunk_ids:
        if execution.bill_chunk(chunk_id=chunk_id) is not None:
            billed += 1
    connections.close_all()
    return billed, _peak_rss_mb()


class Command(BaseCommand):
    help = "Seed N accounts, bill them with W worker processes, and print the measurements."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=10_000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--as-of", default="2026-11-01", help="Seed date and target date.")
        parser.add_argument("--no-seed", action="store_true", help="Bill the data already there.")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=settings.BILLCYCLE_CHUNK_SIZE,
            help="Accounts per chunk.",
        )

    def handle(self, *args, **options):
        if min(options["accounts"], options["workers"], options["chunk_size"]) < 1:
            raise CommandError("--accounts, --workers and --chunk-size must be at least 1.")
        as_of = parse_date(options["as_of"], "--as-of")
        # Measure production behaviour: with DEBUG on, Django formats and keeps the SQL of
        # the last 9,000 statements, and a chunk's bulk statements are tens of kilobytes each.
        settings.DEBUG = False
        vendor = connection.vendor
        self.stdout.write(
            f"Database: {vendor}; {options['accounts']:,} accounts; {options['workers']} workers; "
            f"chunks of {options['chunk_size']:,}"
        )
        if not options["no_seed"]:
            started = time.monotonic()
            seed_demo_accounts(count=options["accounts"], seed=options["seed"], as_of=as_of)
            self.stdout.write(f"Seeded in {time.monotonic() - started:.1f} s")

        run = services.create_bill_run(
            terms=RunTerms(invoice_date=as_of, target_date=as_of, name="bench_bill_run"),
            acting_user=None,
            enqueue=False,
        )
        wall = time.monotonic()
        services.start_bill_run(run_id=run.pk, enqueue=False, chunk_size=options["chunk_size"])
        chunk_ids = list(run.chunks.order_by("sequence").values_list("id", flat=True))
        with CaptureQueriesContext(connection) as queries:
            first = execution.bill_chunk(chunk_id=chunk_ids[0])
        per_chunk = len(queries.captured_queries)
        rest = chunk_ids[1:]
        rss = [_peak_rss_mb()]
        if rest:
            connections.close_all()
            context = multiprocessing.get_context("fork")
            with context.Pool(options["workers"]) as pool:
                # Every worker walks every chunk; the conditional claim hands each to one.
                results = pool.map(_worker, [rest] * options["workers"])
            rss += [peak for _, peak in results]
        wall = time.monotonic() - wall
        run.refresh_from_db()
        if run.status != BillRun.Status.COMPLETED:
            raise CommandError(f"{run.number} ended {run.status}: {run.error_message}")

        documents = BillingDocument.objects.filter(bill_run=run).count()
        lines = DocumentLine.objects.filter(document__bill_run=run).count()
        floor = self._floor(run)
        accounts = run.number_of_accounts
        self.stdout.write(
            f"{run.number}: {accounts:,} accounts, {documents:,} documents, {lines:,} lines, "
            f"{run.number_of_failures:,} failures, {run.chunks_total} chunks"
        )
        self.stdout.write(
            f"Run: {wall:.2f} s wall; {accounts / wall:,.0f} accounts/s, "
            f"{documents / wall:,.0f} documents/s, {lines / wall:,.0f} lines/s"
        )
        self.stdout.write(
            f"Queries per chunk: {per_chunk} for the first chunk "
            f"({first.accounts if first else 0} accounts, {first.lines if first else 0} lines; "
            "3 reads, the rest bulk writes)"
        )
        self.stdout.write(
            "Peak RSS per process (MB): "
            + ", ".join(f"{value:.0f}" for value in rss)
            + " (the first is the parent, which also billed chunk 0)"
        )
        method = "COPY" if vendor == "postgresql" else "executemany"
        self.stdout.write(
            f"Raw-SQL floor ({method}, same {documents:,} documents and {lines:,} lines, "
            f"one process): {floor:.2f} s; the run takes {wall / floor:.1f}x the floor"
        )

    def _floor(self, run: BillRun) -> float:
        """Write the run's own rows again with the database's fastest raw insert; seconds.

        Rows are streamed in batches of 1,000 and only the writes are timed, so memory stays
        flat however big the run.
        """
        sources = (
            (
                "bench_floor_document",
                BillingDocument,
                DOCUMENT_COLUMNS,
                BillingDocument.objects.filter(bill_run=run),
            ),
            (
                "bench_floor_line",
                DocumentLine,
                LINE_COLUMNS,
                DocumentLine.objects.filter(document__bill_run=run),
            ),
        )
        with connection.cursor() as cursor:
            for table, model, _, _ in sources:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                if connection.vendor == "postgresql":
                    # Same columns, defaults and indexes; no foreign keys.
                    cursor.execute(
                        f"CREATE TABLE {table} (LIKE {model._meta.db_table} INCLUDING ALL)"
                    )
                else:
                    cursor.execute(
                        f"CREATE TABLE {table} AS SELECT * FROM {model._meta.db_table} WHERE 0"
                    )
        seconds = 0.0
        for table, _, columns, rows in sources:
            batch = []
            for row in rows.order_by("id").values_list(*columns).iterator(chunk_size=10_000):
                batch.append(row)
                if len(batch) == 1_000:
                    seconds += self._write_floor(table, columns, batch)
                    batch = []
            if batch:
                seconds += self._write_floor(table, columns, batch)
        with connection.cursor() as cursor:
            for table, _, _, _ in sources:
                cursor.execute(f"DROP TABLE {table}")
        return seconds

    def _write_floor(self, table: str, columns, batch) -> float:
        """The project's one bulk writer: executemany on SQLite, COPY on PostgreSQL."""
        started = time.monotonic()
        BulkWriter().insert_into(table, columns, batch)
        return time.monotonic() - started
