"""The honest floor of a bill run: the fastest raw write of the run's own rows.

`bench_bill_run` compares a run's wall time with this floor, so the floor must do the run's
unavoidable work and nothing else, as fast as the database allows:

- the run's own documents and lines, every column as stored, read into memory before the clock
  starts, in the driver's own form (SQLite's values as stored; PostgreSQL's COPY text rows);
- written into scratch tables with the **same columns, constraints and indexes** as the real
  tables (`clone_table`; `index_signature` lets a test prove it), without foreign keys;
- one transaction per 1,000 documents with their lines, as a chunk of 1,000 accounts commits,
  with the durability the run's own chunks use (SQLite WAL with synchronous=NORMAL;
  PostgreSQL's synchronous_commit off);
- through the driver directly: `sqlite3`'s `executemany`, psycopg's `COPY … FROM STDIN`.

Only the writes and commits are timed.
"""

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection as default_connection

from invoicing.models import BillingDocument, DocumentLine

DOCUMENTS_PER_TRANSACTION = 1_000
FLOOR_TABLES = {
    BillingDocument: "bench_floor_document",
    DocumentLine: "bench_floor_line",
}
_REFERENCES = re.compile(
    r'\s+REFERENCES\s+"[^"]+"\s*\("[^"]+"\)(\s+DEFERRABLE INITIALLY DEFERRED)?'
)


@dataclass
class Batch:
    """One transaction's rows: documents and their lines, ready for the driver."""

    documents: object  # SQLite: list of tuples; PostgreSQL: COPY text (bytes)
    lines: object
    document_count: int
    line_count: int


def clone_table(source: str, target: str, *, connection=default_connection) -> None:
    """Create `target` with the columns, constraints and indexes of `source` (no foreign keys)."""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{target}"')
        if connection.vendor == "postgresql":
            # Columns, defaults, NOT NULL, CHECK and every index (unique and partial ones
            # included); LIKE never copies foreign keys.
            cursor.execute(f'CREATE TABLE "{target}" (LIKE "{source}" INCLUDING ALL)')
            return
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [source])
        (table_sql,) = cursor.fetchone()
        table_sql = _REFERENCES.sub("", table_sql)
        cursor.execute(table_sql.replace(f'CREATE TABLE "{source}"', f'CREATE TABLE "{target}"', 1))
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL",
            [source],
        )
        for name, sql in cursor.fetchall():
            sql = sql.replace(f'"{name}"', f'"{target}__{name}"', 1)
            cursor.execute(sql.replace(f'ON "{source}"', f'ON "{target}"', 1))


def drop_tables(*, connection=default_connection) -> None:
    with connection.cursor() as cursor:
        for table in FLOOR_TABLES.values():
            cursor.execute(f'DROP TABLE IF EXISTS "{table}"')


def index_signature(table: str, *, connection=default_connection) -> list[tuple]:
    """Every index of `table`, names left out, sorted: two tables index alike exactly when
    their signatures are equal. PostgreSQL: each index's definition; SQLite: (unique, origin,
    columns, partial condition)."""
    found = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
            )
            for name, definition in cursor.fetchall():
                definition = definition.replace(name, "<index>", 1)
                definition = re.sub(r" ON [\w.\"]+ USING", " ON <table> USING", definition)
                found.append((definition,))
            return sorted(found)
        cursor.execute(f'PRAGMA index_list("{table}")')
        for _, name, unique, origin, partial in cursor.fetchall():
            cursor.execute(f'PRAGMA index_info("{name}")')
            columns = tuple(column for _, _, column in sorted(cursor.fetchall()))
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [name])
            sql = (cursor.fetchone() or (None,))[0]
            condition = sql.split(" WHERE ", 1)[1] if sql and partial else None
            found.append((bool(unique), origin, columns, condition))
    return sorted(found, key=repr)


def read_batches(run, *, connection=default_connection) -> list[Batch]:
    """The run's documents and lines, 1,000 documents a batch, read whole into memory."""
    document_columns = [field.column for field in BillingDocument._meta.concrete_fields]
    line_columns = [field.column for field in DocumentLine._meta.concrete_fields]
    documents_table = BillingDocument._meta.db_table
    lines_table = DocumentLine._meta.db_table
    documents_sql = (
        f'SELECT {_names(document_columns)} FROM "{documents_table}" '
        f"WHERE bill_run_id = {int(run.pk)} ORDER BY id"
    )
    lines_sql = (
        f'SELECT {_names(line_columns, prefix="l")} FROM "{lines_table}" AS l '
        f'JOIN "{documents_table}" AS d ON d.id = l.document_id '
        f"WHERE d.bill_run_id = {int(run.pk)} ORDER BY l.document_id, l.id"
    )
    document_at = line_columns.index("document_id")
    if connection.vendor == "postgresql":
        rows, field = _copy_out, _copy_field
    else:
        rows, field = _select, _field
    document_id, document_of_line = field(0), field(document_at)
    documents = list(rows(connection, documents_sql))  # first: one COPY at a time
    lines = rows(connection, lines_sql)
    pending_line = next(lines, None)
    batches = []
    for offset in range(0, len(documents), DOCUMENTS_PER_TRANSACTION):
        batch = documents[offset : offset + DOCUMENTS_PER_TRANSACTION]
        last_id = int(document_id(batch[-1]))
        batch_lines = []
        while pending_line is not None and int(document_of_line(pending_line)) <= last_id:
            batch_lines.append(pending_line)
            pending_line = next(lines, None)
        if connection.vendor == "postgresql":  # one COPY text block a table
            batches.append(
                Batch(b"".join(batch), b"".join(batch_lines), len(batch), len(batch_lines))
            )
        else:
            batches.append(Batch(batch, batch_lines, len(batch), len(batch_lines)))
    return batches


def write(batches: list[Batch], *, connection=default_connection) -> float:
    """Write the batches into the floor tables, one transaction each; seconds spent."""
    document_columns = _names(field.column for field in BillingDocument._meta.concrete_fields)
    line_columns = _names(field.column for field in DocumentLine._meta.concrete_fields)
    documents_table = FLOOR_TABLES[BillingDocument]
    lines_table = FLOOR_TABLES[DocumentLine]
    connection.ensure_connection()
    raw = connection.connection  # the driver's own connection
    if connection.in_atomic_block:
        raise RuntimeError("The floor commits its own transactions: call it outside atomic().")
    if connection.vendor == "postgresql":
        with raw.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")  # as the run's chunks commit
            started = time.monotonic()
            for batch in batches:
                with raw.transaction():
                    with cursor.copy(
                        f'COPY "{documents_table}" ({document_columns}) FROM STDIN'
                    ) as copy:
                        copy.write(batch.documents)
                    if batch.line_count:
                        with cursor.copy(
                            f'COPY "{lines_table}" ({line_columns}) FROM STDIN'
                        ) as copy:
                            copy.write(batch.lines)
            seconds = time.monotonic() - started
            cursor.execute("RESET synchronous_commit")
        return seconds
    document_marks = ", ".join("?" * len(BillingDocument._meta.concrete_fields))
    line_marks = ", ".join("?" * len(DocumentLine._meta.concrete_fields))
    insert_documents = (
        f'INSERT INTO "{documents_table}" ({document_columns}) VALUES ({document_marks})'
    )
    insert_lines = f'INSERT INTO "{lines_table}" ({line_columns}) VALUES ({line_marks})'
    cursor = raw.cursor()
    started = time.monotonic()
    try:
        for batch in batches:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(insert_documents, batch.documents)
            cursor.executemany(insert_lines, batch.lines)
            cursor.execute("COMMIT")
    except Exception:
        if raw.in_transaction:  # leave Django's connection usable
            raw.rollback()
        raise
    finally:
        cursor.close()
    return time.monotonic() - started


def measure(run, *, connection=default_connection) -> tuple[float, int, int]:
    """Clone the tables, read the run's rows, time their raw write, drop the clones.

    Returns (seconds, documents, lines)."""
    for model, table in FLOOR_TABLES.items():
        clone_table(model._meta.db_table, table, connection=connection)
    try:
        batches = read_batches(run, connection=connection)
        seconds = write(batches, connection=connection)
        return (
            seconds,
            sum(batch.document_count for batch in batches),
            sum(batch.line_count for batch in batches),
        )
    finally:
        drop_tables(connection=connection)


def _names(columns, prefix: str = "") -> str:
    dot = f"{prefix}." if prefix else ""
    return ", ".join(f'{dot}"{column}"' for column in columns)


def _select(connection, sql: str) -> Iterator[tuple]:
    """Rows as the driver returns them: what the floor writes back, converted by nothing."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(10_000):
            yield from rows
    finally:
        cursor.close()


def _copy_out(connection, sql: str) -> Iterator[bytes]:
    """COPY text rows as PostgreSQL sends them (one row a read, its newline included)."""
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
            while row := copy.read():
                yield bytes(row)


def _field(index: int):
    return lambda row: row[index]


def _copy_field(index: int):
    return lambda row: row.split(b"\t", index + 1)[index]
