"""Measure a real bill run: throughput, queries per chunk, memory per worker, and the floor.

Seeds N demo accounts into the configured database (skip with --no-seed to reuse what is
there), plans one run over every account, bills the first chunk in this process under a query
counter, then the rest with W worker processes that claim chunks exactly as qcluster workers do
(the same `bill_chunk`, without the queue, whose cost per 1,000-account chunk is negligible).
It prints where the chunks' time went (read, rate, build rows, write, commit; `--profile N`
profiles the first chunk). Finally it measures the honest floor (billruns/floor.py): the very
rows the run wrote (documents and lines), read into memory first, written again through the
driver (executemany on SQLite, COPY on PostgreSQL) into tables with the same indexes, one
transaction per 1,000 documents; and prints the ratio of the run's wall time to that floor.
Use a database of its own: it bills everything.

`--then cancel` and `--then post` go on to cancel or post the run through the services, timed.
A cancel is checked: every charge's charged_through, every usage record's status and line and
every subscription's term end must be exactly what they were before the run (scratch copies
taken before billing). Given more than once, each step after a cancel bills the same scope
again from the restored data, checks that it writes as many documents and lines as the first
run, and times the next step on that run; a post can only be the last step. `--analyze` gathers
the planner's statistics before the run and after each, untimed, as autovacuum would on a server
that runs it (docs/benchmarks.md, "Post and cancel at scale": without them a cancel crawls).
"""

import cProfile
import multiprocessing
import pstats
import resource
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.demo import seed_demo_accounts
from accounts.models import Charge, Subscription, UsageRecord
from billruns import execution, floor, services
from billruns.management.commands._common import parse_date
from billruns.models import BillingPreviewRun, BillRun
from billruns.preview import result
from billruns.preview import services as previews
from billruns.preview.execution import preview_chunk
from billruns.rating import Split
from billruns.terms import RunTerms
from invoicing.models import BillingDocument, DocumentLine

# What a cancel must put back exactly: (model, fields), copied before the run, compared after.
RESTORED = (
    (Charge, ("charged_through",)),
    (UsageRecord, ("status", "line")),
    (Subscription, ("term_end",)),
)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(chunk_ids: list[int], work=None) -> tuple[int, float, dict[str, float]]:
    """Bill (or, with work=preview_chunk, preview) every chunk this process can claim; return
    (chunks done, peak RSS in MB, seconds spent in each phase of a chunk, summed)."""
    connections.close_all()  # never share the parent's connection across fork
    work = work or execution.bill_chunk
    billed = 0
    split = dict.fromkeys(Split.PHASES, 0.0)
    for chunk_id in chunk_ids:
        if (result := work(chunk_id=chunk_id)) is not None:
            billed += 1
            _add_split(split, result.split.seconds)
    connections.close_all()
    return billed, _peak_rss_mb(), split


def _add_split(total: dict[str, float], seconds: dict[str, float]) -> None:
    for phase, value in seconds.items():
        total[phase] += value


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
        parser.add_argument(
            "--then",
            action="append",
            choices=("cancel", "post"),
            default=[],
            help="Then time canceling or posting the run (repeatable, e.g. --then cancel "
            "--then post: cancel, bill again, post).",
        )
        parser.add_argument(
            "--profile",
            type=int,
            default=0,
            metavar="N",
            help="Profile the first chunk (billed in this process) and print its N costliest "
            "functions by own time (the run's wall time then includes the profiler's cost).",
        )
        parser.add_argument(
            "--preview",
            action="store_true",
            help="First preview the same run (DESIGN §11) with the same workers, and compare "
            "its processing time with the rating share of the run's (read, rate and build its rows: "
            "everything before its first write).",
        )
        parser.add_argument(
            "--analyze",
            action="store_true",
            help="ANALYZE the database before the run and after each run, untimed, as "
            "autovacuum would: for a PostgreSQL server with autovacuum off.",
        )

    def handle(self, *args, **options):
        if min(options["accounts"], options["workers"], options["chunk_size"]) < 1:
            raise CommandError("--accounts, --workers and --chunk-size must be at least 1.")
        then = options["then"]
        if "post" in then[:-1]:
            raise CommandError("--then post must be the last step: a posted run stays posted.")
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

        self.analyze = options["analyze"]
        self.profile = options["profile"]
        self._analyze("before the run")
        snapshot = _Snapshot() if "cancel" in then else None
        try:
            if snapshot is not None:
                started = time.monotonic()
                snapshot.take()
                self.stdout.write(
                    f"Before the run: {snapshot.describe()} copied in "
                    f"{time.monotonic() - started:.1f} s"
                )
            preview = None
            if options["preview"]:
                # The run is measured after the preview, on data the preview's reads brought
                # into the caches; a first, unmeasured preview gives the measured one the same.
                self.stdout.write("Warm-up preview (not measured):")
                self._preview(as_of, options["workers"], options["chunk_size"])
                preview = self._preview(as_of, options["workers"], options["chunk_size"])
            run, counts = self._first_run(as_of, options["workers"], options["chunk_size"])
            if preview is not None:
                self._compare_preview(preview, run, counts)
            for step, action in enumerate(then):
                if step:  # the run before was canceled
                    run = self._bill_again(as_of, options["workers"], options["chunk_size"], counts)
                if action == "cancel":
                    self._cancel(run, counts, snapshot)
                else:
                    self._post(run, counts)
        finally:
            if snapshot is not None:
                snapshot.drop()

    def _bill(self, as_of, workers: int, chunk_size: int):
        """Plan a run over every account and bill it: the first chunk here under a query
        counter, the rest with `workers` processes. Returns (run, wall seconds, queries of the
        first chunk, its ChunkResult, peak RSS in MB of this process and each worker)."""
        run = services.create_bill_run(
            terms=RunTerms(invoice_date=as_of, target_date=as_of, name="bench_bill_run"),
            acting_user=None,
            enqueue=False,
        )
        wall = time.monotonic()
        services.start_bill_run(run_id=run.pk, enqueue=False, chunk_size=chunk_size)
        chunk_ids = list(run.chunks.order_by("sequence").values_list("id", flat=True))
        profile = cProfile.Profile() if self.profile else None
        with CaptureQueriesContext(connection) as queries:
            if profile is None:
                first = execution.bill_chunk(chunk_id=chunk_ids[0])
            else:
                first = profile.runcall(execution.bill_chunk, chunk_id=chunk_ids[0])
        if profile is not None:
            self.stdout.write(f"Profile of the first chunk ({first.lines:,} lines):")
            stats = pstats.Stats(profile, stream=self.stdout._out)
            stats.sort_stats("tottime").print_stats(self.profile)
            self.profile = 0  # only the first run's first chunk
        rest = chunk_ids[1:]
        rss = [_peak_rss_mb()]
        self.split = dict(first.split.seconds)
        if rest:
            connections.close_all()
            context = multiprocessing.get_context("fork")
            with context.Pool(workers) as pool:
                # Every worker walks every chunk; the conditional claim hands each to one.
                results = pool.map(_worker, [rest] * workers)
            rss += [peak for _, peak, _ in results]
            for _, _, split in results:
                _add_split(self.split, split)
        wall = time.monotonic() - wall
        run.refresh_from_db()
        if run.status != BillRun.Status.COMPLETED:
            raise CommandError(f"{run.number} ended {run.status}: {run.error_message}")
        self._analyze(f"after {run.number}")
        return run, wall, len(queries.captured_queries), first, rss

    def _preview(self, as_of, workers: int, chunk_size: int) -> tuple:
        """Preview the run the bench then bills, with `workers` processes; returns (the
        preview, wall seconds, its chunks' split summed)."""
        preview = previews.create_preview(
            terms=RunTerms(invoice_date=as_of, target_date=as_of, name="bench_bill_run"),
            acting_user=None,
            enqueue=False,
        )
        wall = time.monotonic()
        previews.start_preview(preview_id=preview.pk, enqueue=False, chunk_size=chunk_size)
        chunk_ids = list(preview.chunks.order_by("sequence").values_list("id", flat=True))
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.starmap(_worker, [(chunk_ids, preview_chunk)] * workers)
        wall = time.monotonic() - wall
        preview.refresh_from_db()
        if preview.status != BillingPreviewRun.Status.COMPLETED:
            raise CommandError(f"{preview.number} ended {preview.status}: {preview.error_message}")
        split = dict.fromkeys(Split.PHASES, 0.0)
        for _, _, seconds in results:
            _add_split(split, seconds)
        csv_bytes = sum(len(part) for part in result.stream(preview))
        self.stdout.write(
            f"{preview.number}: {preview.number_of_accounts:,} accounts, "
            f"{preview.number_of_lines:,} lines ({csv_bytes / 1e6:,.1f} MB of CSV), "
            f"{wall:.2f} s wall; peak RSS per worker (MB): "
            + ", ".join(f"{peak:.0f}" for _, peak, _ in results)
        )
        return preview, wall, split

    def _compare_preview(self, measured, run: BillRun, counts: tuple[int, int]) -> None:
        """Print the preview's time against the run's rating share; refuse a preview that does
        not foresee the run's documents and lines."""
        preview, wall, split = measured
        foreseen = (
            preview.number_of_invoices + preview.number_of_credit_memos,
            preview.number_of_lines,
        )
        if foreseen != counts:
            raise CommandError(
                f"{preview.number} foresaw {foreseen[0]:,} documents and {foreseen[1]:,} lines; "
                f"{run.number} wrote {counts[0]:,} and {counts[1]:,}."
            )
        run_total = sum(self.split.values())
        run_wall = (run.total_time_ms or 0) / 1000
        # Both processing times run from the first chunk's start to the last one's finish.
        processing = (preview.total_time_ms or 0) / 1000
        rated = self.split["read"] + self.split["rate"]
        before_writing = rated + self.split["build"]
        share = run_wall * before_writing / run_total if run_total else 0.0
        narrow = run_wall * rated / run_total if run_total else 0.0
        self.stdout.write(
            f"Preview {processing:.2f} s processing ({wall:.2f} s wall with planning and "
            f"forking) against the run's rating share (read, rate and build its rows: "
            f"{before_writing / run_total:.0%} of its chunks' time) of {share:.2f} s of its "
            f"{run_wall:.2f} s processing (read and rate alone: {narrow:.2f} s); the preview's "
            "own split: "
            + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in split.items())
        )

    def _analyze(self, when: str) -> None:
        """Gather the planner's statistics (with --analyze), outside every timing."""
        if not self.analyze:
            return
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(f"ANALYZE {when}: {time.monotonic() - started:.1f} s")

    def _first_run(self, as_of, workers: int, chunk_size: int) -> tuple[BillRun, tuple[int, int]]:
        """The measured run, its floor and every figure of it; returns it and its (documents,
        lines)."""
        run, wall, per_chunk, first, rss = self._bill(as_of, workers, chunk_size)
        documents, lines = _counts(run)
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
        total = sum(self.split.values())
        chunks = run.chunks_total
        self.stdout.write(
            f"Chunk split (all {chunks} chunks, summed over the workers; per chunk): "
            + ", ".join(
                f"{phase} {seconds:.2f} s ({seconds / total:.0%}; {seconds / chunks * 1000:.0f} ms)"
                for phase, seconds in self.split.items()
            )
        )
        self.stdout.write(
            "Peak RSS per process (MB): "
            + ", ".join(f"{value:.0f}" for value in rss)
            + " (the first is the parent, which also billed chunk 0)"
        )
        method = "COPY" if connection.vendor == "postgresql" else "executemany"
        self.stdout.write(
            f"Floor ({method} of the same {documents:,} documents and {lines:,} lines into "
            "tables with the same indexes, one transaction per 1,000 documents, rows read "
            f"before the clock): {floor:.2f} s; the run takes {wall / floor:.1f}x the floor"
        )
        return run, (documents, lines)

    def _bill_again(self, as_of, workers: int, chunk_size: int, counts) -> BillRun:
        """Bill the same scope again after a cancel: it must write what the first run wrote."""
        run, wall, _, _, _ = self._bill(as_of, workers, chunk_size)
        documents, lines = _counts(run)
        if (documents, lines) != counts:
            raise CommandError(
                f"{run.number}, billed again after the cancel, wrote {documents:,} documents "
                f"and {lines:,} lines, not {counts[0]:,} and {counts[1]:,}."
            )
        self.stdout.write(
            f"Billed again as {run.number}: the same {documents:,} documents and {lines:,} "
            f"lines; {wall:.2f} s wall, {lines / wall:,.0f} lines/s"
        )
        return run

    def _cancel(self, run: BillRun, counts, snapshot: "_Snapshot") -> None:
        wall = time.monotonic()
        run = services.cancel_bill_run(run=run, acting_user=None)
        wall = time.monotonic() - wall
        if run.status != BillRun.Status.CANCELED:
            raise CommandError(f"{run.number} ended {run.status} instead of Canceled.")
        self._report("Cancel", run, counts, wall)
        started = time.monotonic()
        if differences := snapshot.differences():
            raise CommandError(f"After canceling {run.number}: {'; '.join(differences)}.")
        self.stdout.write(
            f"Restored exactly as before {run.number}: {snapshot.describe()} "
            f"(compared in {time.monotonic() - started:.1f} s)"
        )

    def _post(self, run: BillRun, counts) -> None:
        wall = time.monotonic()
        run = services.post_bill_run(run=run, acting_user=None)
        wall = time.monotonic() - wall
        if run.status != BillRun.Status.POSTED:
            raise CommandError(f"{run.number} ended {run.status} instead of Posted.")
        posted = BillingDocument.objects.filter(
            bill_run=run, status=BillingDocument.Status.POSTED
        ).count()
        if posted != counts[0]:
            raise CommandError(f"{run.number}: {posted:,} of {counts[0]:,} documents posted.")
        self._report("Post", run, counts, wall)

    def _report(self, action: str, run: BillRun, counts, wall: float) -> None:
        documents, lines = counts
        self.stdout.write(
            f"{action} {run.number}: {wall:.2f} s wall; {documents / wall:,.0f} documents/s, "
            f"{lines / wall:,.0f} lines/s ({run.chunks_total} chunks; peak RSS of this process "
            f"so far {_peak_rss_mb():.0f} MB)"
        )

    def _floor(self, run: BillRun) -> float:
        """The honest floor (billruns/floor.py): the run's rows written raw; seconds."""
        connections.close_all()  # the floor's writes go through a fresh connection
        seconds, _, _ = floor.measure(run)
        return seconds


def _counts(run: BillRun) -> tuple[int, int]:
    """The run's documents and lines."""
    return (
        BillingDocument.objects.filter(bill_run=run).count(),
        DocumentLine.objects.filter(document__bill_run=run).count(),
    )


class _Snapshot:
    """The RESTORED columns of every row, copied into scratch tables before the run and compared
    with EXCEPT after its cancel (nulls compare equal). Plain tables, not temporary ones: the
    parent's connection is closed before the workers fork, and a temporary table goes with it."""

    def take(self) -> None:
        with connection.cursor() as cursor:
            for model, fields in RESTORED:
                table, copy, columns = self._names(model, fields)
                cursor.execute(f"DROP TABLE IF EXISTS {copy}")
                cursor.execute(f"CREATE TABLE {copy} AS SELECT {columns} FROM {table}")

    def differences(self) -> list[str]:
        """One sentence per model whose rows differ from the copy (changed, added or gone)."""
        found = []
        with connection.cursor() as cursor:
            for model, fields in RESTORED:
                table, copy, columns = self._names(model, fields)
                cursor.execute(
                    "SELECT COUNT(*), MIN(id) FROM ("
                    f" SELECT id FROM (SELECT {columns} FROM {table}"
                    f"  EXCEPT SELECT {columns} FROM {copy}) AS now_"
                    f" UNION SELECT id FROM (SELECT {columns} FROM {copy}"
                    f"  EXCEPT SELECT {columns} FROM {table}) AS before_"
                    ") AS differing"
                )
                count, first = cursor.fetchone()
                if count:
                    found.append(
                        f"{model._meta.verbose_name_plural}: {count:,} differ in "
                        f"{' and '.join(fields)} from before the run (the first: id {first})"
                    )
        return found

    def describe(self) -> str:
        return ", ".join(
            f"{' and '.join(fields)} of {model.objects.count():,} {model._meta.verbose_name_plural}"
            for model, fields in RESTORED
        )

    def drop(self) -> None:
        with connection.cursor() as cursor:
            for model, fields in RESTORED:
                cursor.execute(f"DROP TABLE IF EXISTS {self._names(model, fields)[1]}")

    @staticmethod
    def _names(model, fields) -> tuple[str, str, str]:
        """The model's table, its copy's, and the id and `fields` columns, quoted."""
        quote = connection.ops.quote_name
        table = model._meta.db_table
        columns = ["id"] + [model._meta.get_field(name).column for name in fields]
        return quote(table), quote(f"bench_before_{table}"), ", ".join(map(quote, columns))
