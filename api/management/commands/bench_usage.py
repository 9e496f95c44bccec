"""`manage.py bench_usage`: usage ingestion through the real HTTP stack, records per second.

Makes ACCOUNTS accounts with one usage charge each in the configured database (use one of its
own), a token for a bench operator, then serves the app with gunicorn (DEBUG off, persistent
database connections, no rate limit) and starts CLIENTS client processes. Each client builds
its request bodies first (JSON, BATCH records each, its own unique keys), then all start
together and POST them one after the other over one keep-alive connection; the clock runs from
that start to the last answer. Afterwards the stored rows are counted against the answers.
`--resend` sends every batch a second time (all Duplicates) and times that too.
"""

import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections

from accounts.models import Account, Charge, Subscription, UsageRecord
from accounts.services import accounts_bulk_create
from api.services import api_token_create, api_token_revoke

BENCH_USER = "bench-usage"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _client(port, key, bodies, barrier, results):
    latencies, counts = [], {"accepted": 0, "duplicates": 0, "rejected": 0}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    barrier.wait()
    for body in bodies:
        started = time.perf_counter()
        conn.request("POST", "/api/v1/usage", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            results.put(("error", response.status, payload[:300].decode("utf-8", "replace")))
            return
        answer = json.loads(payload)
        for name in counts:
            counts[name] += answer[name]
    conn.close()
    results.put(("ok", counts, latencies))


class Command(BaseCommand):
    help = "Measure usage ingestion through gunicorn: records per second, answers checked."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=200_000)
        parser.add_argument("--clients", type=int, default=4)
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--accounts", type=int, default=1000)
        parser.add_argument("--server-workers", type=int, default=2)
        parser.add_argument("--server-threads", type=int, default=2)
        parser.add_argument("--resend", action="store_true")

    def handle(self, *args, records, clients, batch, accounts, server_workers,
               server_threads, resend, **options):  # fmt: skip
        if not 1 <= batch <= 1000 or records < clients * batch or clients < 1:
            raise CommandError("Use --batch 1..1000 and at least one batch per client.")
        charges = self._charges(accounts)
        token, key = self._token()
        run_id = uuid.uuid4().hex[:8]
        per_client = records // clients // batch
        bodies = [[] for _ in range(clients)]
        rng = random.Random(1)
        for client in range(clients):
            for b in range(per_client):
                data = []
                for n in range(batch):
                    account_number, charge_number = charges[rng.randrange(len(charges))]
                    data.append({
                        "uniqueKey": f"bench-{run_id}-{client}-{b}-{n}",
                        "accountNumber": account_number,
                        "chargeNumber": charge_number,
                        "quantity": str(Decimal(rng.randrange(1, 10_000)) / 100),
                        "usageDate": f"2026-11-{rng.randrange(1, 29):02d}",
                    })  # fmt: skip
                bodies[client].append(json.dumps({"data": data}).encode())
        total = clients * per_client * batch
        port = _free_port()
        server = self._serve(port, server_workers, server_threads)
        try:
            self.stdout.write(
                f"{total:,} records: {clients} clients × {per_client} requests × {batch}; "
                f"gunicorn {server_workers} workers × {server_threads} threads; "
                f"{connection.vendor}"
            )
            first = self._send(port, key, bodies, "new")
            if first["accepted"] != total:
                raise CommandError(f"Only {first['accepted']:,} of {total:,} were accepted.")
            stored = UsageRecord.objects.filter(unique_key__startswith=f"bench-{run_id}-").count()
            if stored != total:
                raise CommandError(f"{stored:,} rows stored for {total:,} accepted records.")
            self.stdout.write(f"  stored rows match the answers: {stored:,}")
            if resend:
                again = self._send(port, key, bodies, "resent")
                if again["duplicates"] != total:
                    raise CommandError(f"{again['duplicates']:,} duplicates of {total:,}.")
        finally:
            server.terminate()
            server.wait(timeout=30)
            api_token_revoke(token=token)

    def _send(self, port, key, bodies, label) -> dict:
        barrier = multiprocessing.Barrier(len(bodies) + 1)
        results = multiprocessing.Queue()
        processes = [
            multiprocessing.Process(target=_client, args=(port, key, b, barrier, results))
            for b in bodies
        ]
        for process in processes:
            process.start()
        barrier.wait()
        started = time.perf_counter()
        outcomes = [results.get(timeout=3600) for _ in processes]
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join()
        errors = [o for o in outcomes if o[0] == "error"]
        if errors:
            raise CommandError(f"A request failed: {errors[0][1]} {errors[0][2]}")
        counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
        latencies = []
        for _, client_counts, client_latencies in outcomes:
            for name in counts:
                counts[name] += client_counts[name]
            latencies += client_latencies
        sent = sum(counts.values())
        latencies.sort()
        self.stdout.write(
            f"  {label}: {sent:,} records in {elapsed:.2f} s = {sent / elapsed:,.0f} records/s "
            f"({counts['accepted']:,} accepted, {counts['duplicates']:,} duplicates, "
            f"{counts['rejected']:,} rejected); per request p50 "
            f"{statistics.median(latencies) * 1000:.0f} ms, p95 "
            f"{latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms"
        )
        return counts

    def _charges(self, count: int) -> list[tuple[str, str]]:
        existing = list(
            Charge.objects.filter(
                charge_type=Charge.ChargeType.USAGE, name="Bench usage", effective_end=None
            ).values_list("account__number", "number")[:count]
        )
        if len(existing) >= count:
            return existing
        import datetime as dt

        new_accounts, subscriptions, new_charges = [], [], []
        for n in range(count - len(existing)):
            account = Account(
                name=f"Bench usage {n}", currency="USD", bill_cycle_day=1, batch="Batch1"
            )
            subscription = Subscription(account=account, term_start=dt.date(2026, 1, 1))
            new_accounts.append(account)
            subscriptions.append(subscription)
            new_charges.append(
                Charge(
                    subscription=subscription,
                    account=account,
                    name="Bench usage",
                    charge_type=Charge.ChargeType.USAGE,
                    charge_model=Charge.ChargeModel.PER_UNIT,
                    price=Decimal("0.01"),
                    billing_period=Charge.BillingPeriod.MONTH,
                    billing_timing=Charge.BillingTiming.IN_ARREARS,
                    effective_start=dt.date(2026, 1, 1),
                )
            )
        accounts_bulk_create(
            accounts=new_accounts,
            subscriptions=subscriptions,
            charges=new_charges,
            using=DEFAULT_DB_ALIAS,
        )
        return existing + [(c.account.number, c.number) for c in new_charges]

    def _token(self):
        """A token of a bench operator, revoked when the benchmark ends."""
        user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
        user.groups.add(Group.objects.get(name="Billing Operator"))
        return api_token_create(user=user, name="bench_usage")

    def _serve(self, port: int, workers: int, threads: int) -> subprocess.Popen:
        database = settings.DATABASES["default"]
        if database["ENGINE"].endswith("sqlite3"):
            url = f"sqlite:///{database['NAME']}"
        else:  # the database this process uses (a test run's test database included)
            password = f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else ""
            url = (
                f"postgres://{quote(database['USER'])}{password}@{database['HOST']}:"
                f"{database['PORT'] or 5432}/{quote(database['NAME'])}"
            )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-usage-" + uuid.uuid4().hex,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_HTTPS": "0",
            "DATABASE_CONN_MAX_AGE": "600",
            "BILLCYCLE_API_RATE": "1000000/min",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_ACCESS_LOG": os.devnull,
            "GUNICORN_MAX_REQUESTS": "0",
        }
        connections.close_all()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "billing_project.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                probe.request("GET", "/healthz")
                if probe.getresponse().status == 200:
                    return server
            except OSError:
                pass
            finally:
                probe.close()
            if server.poll() is not None:
                raise CommandError("gunicorn did not start.")
            time.sleep(0.2)
        server.terminate()
        raise CommandError("gunicorn did not answer /healthz within a minute.")
