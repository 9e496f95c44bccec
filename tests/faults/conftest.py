"""tests/faults: kill -9, terminated connections and overlapping runs against real qcluster
processes, PostgreSQL + Redis and SQLite + the ORM broker (`make test-faults`, in CI).

A test skips, saying why, only where PostgreSQL or Redis cannot be reached; `.ci/run` starts
them when the machine has them but they are not running.
"""

import pytest

from tests.faults.harness import Templates, postgres_problem, redis_problem

KINDS = ("postgres", "sqlite")


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    templates = Templates(tmp_path_factory.mktemp("faults"))
    yield templates
    templates.drop_all()


def _skip_unless_reachable(kind: str) -> None:
    if kind == "postgres":
        problem = postgres_problem() or redis_problem()
        if problem:
            pytest.skip(problem)


@pytest.fixture(params=KINDS)
def backend(request, templates, tmp_path):
    """A fresh database cloned from the seeded template (and a flushed Redis database for
    PostgreSQL); every process the test started is stopped afterwards, whatever happened."""
    _skip_unless_reachable(request.param)
    backend = templates.clone(request.param, tmp_path / "logs")
    yield backend
    backend.stop_all()


@pytest.fixture
def postgres(templates, tmp_path):
    _skip_unless_reachable("postgres")
    backend = templates.clone("postgres", tmp_path / "logs")
    yield backend
    backend.stop_all()


@pytest.fixture(scope="session")
def clean_run(templates, tmp_path_factory):
    """What a run over every account writes with nothing going wrong, per kind: the lines
    each faulted run must match exactly."""
    written = {}

    def of(kind: str) -> list[tuple]:
        if kind not in written:
            _skip_unless_reachable(kind)
            backend = templates.clone(kind, tmp_path_factory.mktemp(f"clean-{kind}"))
            number = create_run(backend, wait=True)
            assert backend.status(number) == "Completed"
            written[kind] = backend.billed(number)
            assert written[kind], "the seeded accounts billed nothing"
        return written[kind]

    return of


def create_run(backend, *, wait: bool = False, name: str = "") -> str:
    """A run over every account on the seed date; its number."""
    from tests.faults.harness import AS_OF, USER

    args = ["create_bill_run", "--all", "--invoice-date", AS_OF, "--target-date", AS_OF]
    args += ["--user", USER, "--name", name or "faults"]
    result = backend.manage(*args, *(["--wait"] if wait else []), timeout=300)
    return result.stdout.split()[0]
