"""The project's bulk statements (bill run chunks, usage import), at the database's fastest path.

The ORM's `bulk_create` and `bulk_update` spend most of a chunk's time building SQL (model
instances, expression trees, CASE WHEN for updates, 999 parameters a statement on SQLite). Here
one small interface writes plain tuples instead:

- SQLite: `executemany` of one prepared statement (the write lock is held by the chunk's
  IMMEDIATE transaction, so nothing else writes meanwhile);
- PostgreSQL: `COPY … FROM STDIN` for inserts, `UPDATE … FROM (VALUES …)` for updates.

Primary keys are reserved before the insert (a sequence on PostgreSQL, above both MAX(id) and
sqlite_sequence on SQLite, inside the write-locked transaction) so lines can point at their
documents and usage at its lines without reading anything back.

Every statement is recorded in Django's query log when it is on, so query counts stay honest.
"""

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.utils.functional import cached_property

_SEQUENCES: dict[tuple[str, str], str] = {}
SQLITE_PARAMETERS = 32_766  # the most one SQLite statement takes (3.32 and later)


class BulkWriter:
    def __init__(self, connection=None):
        # The connection itself, not django.db.connection's per-attribute proxy: the hot
        # loop touches it for every value.
        self.connection = connection or connections[DEFAULT_DB_ALIAS]
        self.postgres = self.connection.vendor == "postgresql"

    # -- ids -------------------------------------------------------------------------------

    def reserve_ids(self, model: type[Model], count: int) -> list[int]:
        """`count` primary keys nobody else will use; call inside the writing transaction."""
        if count == 0:
            return []
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            if self.postgres:
                # The sequence by name, a constant: pg_get_serial_sequence() in the select list
                # runs again for every id (measured: 159 ms for 20,405 ids instead of 15 ms).
                cursor.execute(
                    "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                    [self._sequence(table), count],
                )
                return [row[0] for row in cursor.fetchall()]
            cursor.execute(
                f'SELECT MAX(COALESCE((SELECT MAX(id) FROM "{table}"), 0), '
                "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
                [table],
            )
            (last,) = cursor.fetchone()
        return list(range(last + 1, last + 1 + count))

    def _sequence(self, table: str) -> str:
        """The name of the sequence behind `table`'s id (PostgreSQL), looked up once."""
        key = (self.connection.alias, table)
        if key not in _SEQUENCES:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                (_SEQUENCES[key],) = cursor.fetchone()
        return _SEQUENCES[key]

    # -- inserts ---------------------------------------------------------------------------

    def insert(
        self,
        model: type[Model],
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        prepared: bool = False,
    ) -> None:
        """Insert `rows` (tuples in `columns` order, Python values) into the model's table.

        `prepared` rows go to the driver as they are, without a conversion per value: they may
        hold numbers, text, None, decimals and dates (both drivers take those as Django stores
        them) and values passed through `prepare_value`, e.g. one timestamp for every row.
        """
        self.insert_into(model._meta.db_table, columns, rows, prepared=prepared)

    def insert_into(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        prepared: bool = False,
    ) -> None:
        """`insert` into a table by name (the benchmark's floor writes to scratch tables)."""
        if not rows:
            return
        names = ", ".join(f'"{column}"' for column in columns)
        if self.postgres:
            sql = f'COPY "{table}" ({names}) FROM STDIN'
            started = time.monotonic()
            with self.connection.cursor() as cursor:
                with cursor.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            self._log(f"{sql} -- {len(rows)} rows", started)
            return
        marks = ", ".join(["%s"] * len(columns))
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                rows if prepared else [self._sqlite_row(row) for row in rows],
            )

    def insert_new(
        self,
        model: type[Model],
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        types: Sequence[str],
        unique: str,
        returning: str,
    ) -> list:
        """Insert the rows whose `unique` column value is not taken yet and return the
        `returning` value of each row inserted (`ON CONFLICT DO NOTHING`: a value taken by a
        concurrent transaction waits for it to commit, then counts as taken). Rows are prepared
        values; `types` are the PostgreSQL types of `columns`."""
        if not rows:
            return []
        table = model._meta.db_table
        names = ", ".join(f'"{column}"' for column in columns)
        tail = f'ON CONFLICT ("{unique}") DO NOTHING RETURNING "{returning}"'
        inserted: list = []
        with self.connection.cursor() as cursor:
            if self.postgres:
                arrays = ", ".join(f"%s::{kind}[]" for kind in types)
                cursor.execute(
                    f'INSERT INTO "{table}" ({names}) SELECT * FROM unnest({arrays}) {tail}',
                    [list(column) for column in zip(*rows, strict=True)],
                )
                return [row[0] for row in cursor.fetchall()]
            # executemany returns nothing: one multi-row statement per slice instead, within
            # SQLite's 32,766 parameters.
            marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
            for start in range(0, len(rows), SQLITE_PARAMETERS // len(columns)):
                part = rows[start : start + SQLITE_PARAMETERS // len(columns)]
                cursor.execute(
                    f'INSERT INTO "{table}" ({names}) VALUES {", ".join([marks] * len(part))} '
                    + tail,
                    [value for row in part for value in self._sqlite_row(row)],
                )
                inserted += [row[0] for row in cursor.fetchall()]
        return inserted

    # -- updates ---------------------------------------------------------------------------

    def update(
        self,
        model: type[Model],
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        types: Sequence[str],
    ) -> None:
        """Set `columns` of the rows whose id is each row's first value.

        `types` are the PostgreSQL types of `columns` (VALUES lists need them to compare).
        """
        rows = list(rows)
        if not rows:
            return
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            if not self.postgres:
                sets = ", ".join(f'"{column}" = %s' for column in columns)
                cursor.executemany(
                    f'UPDATE "{table}" SET {sets} WHERE id = %s',
                    [self._sqlite_row((*row[1:], row[0])) for row in rows],
                )
                return
            # One array a column, one statement for every row: a VALUES list of thousands of
            # rows costs PostgreSQL more to parse and plan than to run.
            arrays = ", ".join(["%s::bigint[]", *(f"%s::{kind}[]" for kind in types)])
            sets = ", ".join(f'"{column}" = v."{column}"' for column in columns)
            aliases = ", ".join(["id", *(f'"{column}"' for column in columns)])
            cursor.execute(
                f'UPDATE "{table}" AS t SET {sets} FROM unnest({arrays}) AS v({aliases}) '
                "WHERE t.id = v.id",
                [list(column) for column in zip(*rows, strict=True)],
            )

    def move_cursor(
        self, model: type[Model], column: str, rows: Sequence[tuple], *, kind: str
    ) -> int:
        """Set `column` to the new value of each (id, old, new) row still at its old value.

        Returns how many rows moved: fewer than given means someone else moved a cursor since
        it was read (compare-and-set; the caller rolls back and reads again).
        """
        if not rows:
            return 0
        table = model._meta.db_table
        moved = 0
        with self.connection.cursor() as cursor:
            if not self.postgres:
                cursor.executemany(
                    f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s AND "{column}" IS %s',
                    [self._sqlite_row((new, pk, old)) for pk, old, new in rows],
                )
                return cursor.rowcount
            ids, old, new = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f'UPDATE "{table}" AS t SET "{column}" = v.new '
                f"FROM unnest(%s::bigint[], %s::{kind}[], %s::{kind}[]) AS v(id, old, new) "
                f'WHERE t.id = v.id AND t."{column}" IS NOT DISTINCT FROM v.old',
                [ids, old, new],
            )
            moved = cursor.rowcount
        return moved

    # -- helpers ---------------------------------------------------------------------------

    def prepare_value(self, value: object) -> object:
        """`value` as `insert` sends it to the database: convert it once for `prepared` rows."""
        return value if self.postgres else self._sqlite_row((value,))[0]

    def _sqlite_row(self, row: Sequence[object]) -> list[object]:
        """What Django's SQLite backend would store: decimals and dates as text."""
        convert = self._sqlite_converters
        return [value if (to := convert.get(type(value))) is None else to(value) for value in row]

    @cached_property
    def _sqlite_converters(self) -> dict:
        return {
            Decimal: str,
            dt.date: dt.date.isoformat,
            dt.datetime: self.connection.ops.adapt_datetimefield_value,
            bool: int,
        }

    def _log(self, sql: str, started: float) -> None:
        if self.connection.queries_logged:
            self.connection.queries_log.append(
                {"sql": sql, "time": f"{time.monotonic() - started:.3f}"}
            )


def refresh_statistics(*models: type[Model], connection=None) -> None:
    """ANALYZE the models' tables on PostgreSQL (SQLite plans from its indexes alone).

    A run writes millions of rows at once; until autovacuum analyses them (never, where it is
    off) the planner believes the tables tiny and picks plans that read a whole index once per
    document: measured, a cancel's read of one chunk took 139 s instead of 0.13 s. ANALYZE
    samples, so it takes seconds even at a million accounts.
    """
    connection = connection or connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or not models:
        return
    tables = ", ".join(f'"{model._meta.db_table}"' for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
