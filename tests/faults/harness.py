"""Real processes against real databases: start, kill -9 and restart qcluster, ask commands,
read results with the drivers directly. Used by tests/faults only (no Django in this process).

Each test gets its own database cloned from a template that is migrated and seeded once per
session: PostgreSQL (+ Redis as the broker, on a database number of its own) and SQLite (+ the
ORM broker), the two ways Billcycle runs.
"""

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/14"  # a database number of the tests' own, flushed per test
LEASE_SECONDS = 6  # the tests' lease (default 30): every bound below scales with it
ACCOUNTS = 1_000
CHUNK_SIZE = 50  # 20 chunks
AS_OF = "2026-11-01"
USER = "operator"  # a demo login seed_demo creates


def postgres_problem() -> str | None:
    try:
        import psycopg

        psycopg.connect(**PG, dbname="postgres", connect_timeout=3).close()
    except Exception as error:
        return f"PostgreSQL is not reachable at 127.0.0.1:5432: {str(error).strip()[:200]}"
    return None


def redis_problem() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as error:
        return f"Redis is not reachable at 127.0.0.1:6379: {str(error).strip()[:200]}"
    return None


@dataclass
class Backend:
    """One database (and its broker) the processes of a test share."""

    kind: str  # "postgres" (with Redis) or "sqlite" (with the ORM broker)
    name: str  # database name, or the SQLite file's path
    logs: Path
    processes: list = field(default_factory=list)
    lease_seconds: int = LEASE_SECONDS
    chunk_size: int = CHUNK_SIZE

    @property
    def url(self) -> str:
        if self.kind == "postgres":
            return f"postgres://postgres@127.0.0.1:5432/{self.name}"
        return f"sqlite:///{self.name}"

    def env(self, **extra) -> dict:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
            "DATABASE_URL": self.url,
            "BILLCYCLE_LEASE_SECONDS": str(self.lease_seconds),
            "BILLCYCLE_CHUNK_SIZE": str(self.chunk_size),
            "Q_WORKERS": "2",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("REDIS_URL", None)
        if self.kind == "postgres":
            env["REDIS_URL"] = REDIS_URL
        env.update({key: str(value) for key, value in extra.items()})
        return env

    # -- reading --------------------------------------------------------------------------

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(**PG, dbname=self.name, autocommit=True) as connection:
                return connection.execute(sql, params).fetchall()
        connection = sqlite3.connect(self.name, timeout=30)
        try:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            connection.close()

    def value(self, sql: str, params: tuple = ()):
        return self.rows(sql, params)[0][0]

    def run(self, number: str) -> dict:
        (row,) = self.rows(
            "SELECT status, chunks_done, chunks_total, number_of_failures, lease_until "
            "FROM billruns_billrun WHERE number = %s",
            (number,),
        )
        keys = ("status", "chunks_done", "chunks_total", "failures", "lease")
        return dict(zip(keys, row, strict=True))

    def status(self, number: str) -> str:
        return self.run(number)["status"]

    # -- processes ------------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 120, check: bool = True, **env):
        """`manage.py ARGS` in a process of its own; its output when it ends."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def start(self, *args: str, label: str, **env) -> subprocess.Popen:
        """`manage.py ARGS` in the background, in a process group of its own (so kill -9
        reaches every process it forks), its output in the test's log directory."""
        log = open(self.logs / f"{label}-{len(self.processes)}.log", "w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.processes.append(process)
        return process

    def cluster(self, **env) -> subprocess.Popen:
        return self.start("qcluster", label="qcluster", **env)

    def kill9(self, process: subprocess.Popen) -> None:
        """kill -9 of the process and every process it started (its group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)  # the main pid only (django-q2#346)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left of its group
            process.log.close()
        self.processes.clear()

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- what a run wrote -----------------------------------------------------------------

    def billed(self, *numbers: str) -> list[tuple]:
        """Every non-canceled line the runs wrote, with its document's account, kind and
        amount: what a customer would see, independent of ids and numbers."""
        marks = ", ".join(["%s"] * len(numbers))
        return sorted(
            self.rows(
                "SELECT d.account_id, d.kind, d.currency, CAST(d.amount AS TEXT), l.charge_id, "
                "l.service_start, l.service_end, CAST(l.amount AS TEXT), l.credits_id "
                "FROM invoicing_documentline l "
                "JOIN invoicing_billingdocument d ON d.id = l.document_id "
                "JOIN billruns_billrun r ON r.id = d.bill_run_id "
                f"WHERE r.number IN ({marks}) AND NOT l.canceled",
                numbers,
            ),
            key=repr,
        )

    def numbers_gapless(self) -> None:
        for kind, prefix in (("Invoice", "INV"), ("CreditMemo", "CM")):
            numbers = [
                n
                for (n,) in self.rows(
                    "SELECT number FROM invoicing_billingdocument WHERE kind = %s ORDER BY number",
                    (kind,),
                )
            ]
            assert numbers == [f"{prefix}{n:08d}" for n in range(1, len(numbers) + 1)], (
                f"{kind} numbers have gaps or repeats: {numbers[:5]}…{numbers[-5:]}"
            )

    def cursors(self) -> list[tuple]:
        """What a cancel must put back exactly: charges' cursors, usage, subscription terms."""
        return [
            *self.rows("SELECT id, charged_through FROM accounts_charge ORDER BY id"),
            *self.rows("SELECT id, status, line_id FROM accounts_usagerecord ORDER BY id"),
            *self.rows("SELECT id, term_end FROM accounts_subscription ORDER BY id"),
        ]


def wait_for(condition, *, within: float, what: str, backend: Backend) -> float:
    """Poll `condition` until true; the seconds it took, or fail saying what did not happen."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if condition():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {within:.0f} s\n{backend.log_tail()}")


class Templates:
    """One migrated, seeded database per kind per session; each test gets a clone."""

    def __init__(self, workdir: Path, *, accounts: int = ACCOUNTS):
        self.workdir = workdir
        self.accounts = accounts
        self.made: dict[str, Backend] = {}
        self.created: list[str] = []

    def template(self, kind: str) -> Backend:
        if kind not in self.made:
            name = (
                f"billcycle_faults_tpl_{uuid.uuid4().hex[:8]}"
                if kind == "postgres"
                else str(self.workdir / "template.sqlite3")
            )
            logs = self.workdir / f"template-{kind}"
            logs.mkdir(parents=True, exist_ok=True)
            backend = Backend(kind, name, logs)
            if kind == "postgres":
                self._pg(f'CREATE DATABASE "{name}"')
                self.created.append(name)
            backend.manage("migrate", "--noinput", timeout=300)
            backend.manage(
                "seed_demo", "--accounts", str(self.accounts), "--as-of", AS_OF, timeout=1800
            )
            if kind == "sqlite":
                connection = sqlite3.connect(name)
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                connection.close()
            self.made[kind] = backend
        return self.made[kind]

    def clone(self, kind: str, logs: Path, **settings) -> Backend:
        template = self.template(kind)
        logs.mkdir(parents=True, exist_ok=True)
        if kind == "postgres":
            name = f"billcycle_faults_{uuid.uuid4().hex[:8]}"
            self._pg(f'CREATE DATABASE "{name}" TEMPLATE "{template.name}"')
            self.created.append(name)
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
        else:
            name = str(logs / "db.sqlite3")
            shutil.copyfile(template.name, name)
        return Backend(kind, name, logs, **settings)

    def drop_all(self) -> None:
        for name in reversed(self.created):
            self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()

    @staticmethod
    def _pg(sql: str) -> None:
        import psycopg

        with psycopg.connect(**PG, dbname="postgres", autocommit=True) as connection:
            connection.execute(sql)
