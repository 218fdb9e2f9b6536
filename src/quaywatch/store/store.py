"""The ``Store`` facade: transactions, bulk loads and the lookups every capability shares.

Bulk loads take polars frames whose columns are named as the table's, or rows encoded ahead
with ``Store.encode``. PostgreSQL receives them through ``COPY ... FROM STDIN`` in CSV form;
SQLite through one prepared ``executemany``.
Both run inside the caller's transaction, so a failure leaves nothing behind.
"""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import polars as pl
import psycopg
from sqlalchemy import Column, Connection, Engine, Table, func, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from quaywatch.audit.signing import AuditKey
from quaywatch.store import database, tables

#: Bound values per lookup query, under SQLite's limit of 32,766.
_LOOKUP_VALUES = 30_000
#: Keys per PostgreSQL lookup query: each key column travels as one array literal.
_LITERAL_KEYS = 200_000
#: SQLAlchemy's storage format for datetimes on SQLite, which ``UtcDateTime`` reads back.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"


@dataclass(frozen=True, slots=True)
class Encoded:
    """Rows of one table ready for its backend: CSV bytes for ``COPY``, or for SQLite.

    For SQLite ``rows`` holds one list of values per column, zipped into rows only as
    ``executemany`` binds them: building every row tuple ahead costs about twice as much.
    """

    columns: tuple[str, ...]
    rows: list[list[Any]] | bytes
    count: int


def _polars_type(column: Column[Any]) -> pl.DataType:
    """The polars dtype a lookup returns for ``column``: text or a number, as drivers give them."""
    python_type = column.type.python_type
    types: dict[type, pl.DataType] = {int: pl.Int64(), float: pl.Float64(), str: pl.String()}
    if python_type not in types:
        raise TypeError(f"a lookup returns text or number columns, not {column.name}")
    return types[python_type]


def _array_literals(keys: pl.DataFrame) -> tuple[str, ...]:
    """Each column of ``keys`` as a PostgreSQL array literal, ``{"a","b"}``, built by polars.

    Quoted elements parse as any array type, so every key column goes the same way.
    """
    literals = keys.select(
        pl.concat_str(
            pl.lit('"'),
            pl.col(name)
            .cast(pl.String)
            .str.replace_all("\\", "\\\\", literal=True)
            .str.replace_all('"', '\\"', literal=True),
            pl.lit('"'),
        )
        .str.join(",")
        .alias(name)
        for name in keys.columns
    ).row(0)
    return tuple("{" + literal + "}" for literal in literals)


class Store:
    """Access to one quaywatch database, SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, *, audit_key: AuditKey | None = None) -> None:
        # The audit key travels on every connection, so each audit event appended is signed.
        self.engine = (
            engine
            if audit_key is None
            else engine.execution_options(**{database.AUDIT_KEY: audit_key})
        )
        self.audit_key = audit_key
        # One writer at a time on SQLite (see ``transaction``); re-entrant, so that a
        # transaction opened inside another in the same thread does not wait for itself.
        self._writer: AbstractContextManager[object] = (
            threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        # What ``close`` releases besides the engine's pool (``on_close``).
        self._releases: list[Callable[[], None]] = []
        self._releases_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        check: bool = True,
        lock_timeout_s: float | None = None,
        audit_key: AuditKey | None = None,
    ) -> Store:
        """Connect to ``url``; with ``migrate`` bring its schema to the newest revision.

        A statement waits at most ``lock_timeout_s`` for another connection's lock, then fails
        with ``StoreBusyError`` (unset: as ``database.make_engine`` says).

        Without ``migrate``, ``check`` makes sure the schema is the newest first: otherwise
        ``SchemaError`` says to run ``quaywatch db upgrade`` (which itself opens the store
        unchecked). One check here, so no command meets a missing table later.

        ``audit_key``: sign every audit event appended through this store (``audit.signing``).
        """
        store = cls(database.make_engine(url, lock_timeout_s=lock_timeout_s), audit_key=audit_key)
        try:
            if migrate:
                store.upgrade()
            elif check:
                database.check_schema(store.engine)
        except BaseException:
            store.close()
            raise
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Apply pending migrations."""
        database.upgrade(self.engine)

    def close(self) -> None:
        """Release every connection: the engine's and those kept by ``on_close``'s callers."""
        with self._releases_lock:
            releases, self._releases = self._releases, []
        for release in releases:
            release()
        self.engine.dispose()

    def on_close(self, release: Callable[[], None]) -> None:
        """Have ``close`` call ``release``: for connections kept outside the engine's pool
        (``store.fastread`` keeps its Arrow connections to PostgreSQL this way)."""
        with self._releases_lock:
            self._releases.append(release)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One database transaction: committed if the block ends normally, else rolled back.

        On SQLite, the transactions of one process take turns (one writer at a time, in the
        order they asked): SQLite allows a single writer, and two transactions that both read
        before writing would otherwise fail with "database is locked" rather than wait. Other
        processes wait on SQLite's busy timeout. PostgreSQL runs them side by side.
        """
        with self._writer:
            try:
                with self.engine.begin() as conn:
                    yield conn
            except (OperationalError, IntegrityError, InterfaceError) as exc:
                # Two writers raced for the same key (two operators creating one run's orders):
                # the loser is told plainly, the winner's write stands. A busy or unreachable
                # store says to try again; a refused write says why.
                raise database.failure(exc, "write to the store") from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads: one consistent snapshot that never waits for a writer (on
        SQLite, a deferred transaction in WAL mode; on PostgreSQL, REPEATABLE READ; an import in
        progress is not seen until it commits). Nothing may be written through it."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{database.READ_ONLY: True})
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise database.failure(exc, "read from the store") from exc

    # --- bulk writes and lookups ---------------------------------------------------------

    def encode(self, frame: pl.DataFrame) -> Encoded:
        """Rows of ``frame`` in the form this backend loads fastest; needs no connection.

        Encoding is CPU work that an import does ahead, in a worker thread, while the previous
        chunk is being written.
        """
        if self.dialect == "postgresql":
            buffer = io.BytesIO()
            frame.write_csv(
                buffer,
                include_header=False,
                datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z",
                null_value="",
                quote_style="necessary",
            )
            return Encoded(tuple(frame.columns), buffer.getvalue(), frame.height)
        datetimes = [name for name, dtype in frame.schema.items() if dtype == pl.Datetime]
        if datetimes:
            frame = frame.with_columns(
                pl.col(datetimes).dt.convert_time_zone("UTC").dt.strftime(_SQLITE_DATETIME)
            )
        values = [series.to_list() for series in frame.get_columns()]
        return Encoded(tuple(frame.columns), values, frame.height)

    def bulk_insert(self, conn: Connection, table: Table, rows: pl.DataFrame | Encoded) -> None:
        """Insert ``rows`` (a frame with columns named as ``table``'s, or one encoded ahead)."""
        encoded = self.encode(rows) if isinstance(rows, pl.DataFrame) else rows
        if not encoded.count:
            return
        names = ", ".join(encoded.columns)
        if isinstance(encoded.rows, bytes):
            sql = f"COPY {table.name} ({names}) FROM STDIN WITH (FORMAT csv, NULL '')"
            raw = conn.connection.driver_connection
            try:
                with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
                    copy.write(encoded.rows)
            except psycopg.Error as exc:  # psycopg's own, not wrapped in DBAPIError here
                raise database.failure(exc, f"write {table.name}") from exc
            return
        placeholders = ", ".join("?" for _ in encoded.columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, zip(*encoded.rows, strict=True))
        except sqlite3.Error as exc:
            raise database.failure(exc, f"write {table.name}") from exc
        finally:
            cursor.close()

    def existing(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        value_column: str,
        keys: Sequence[tuple[Any, ...]],
    ) -> dict[tuple[Any, ...], Any]:
        """Map each key of ``keys`` already in ``table`` to its ``value_column``.

        Written as driver SQL: building a SQLAlchemy expression with thousands of bound values
        costs more than the query. Both backends join the keys to the table so that the planner
        searches the table's key index once per key: PostgreSQL through typed arrays
        (``unnest``), SQLite through a ``VALUES`` list (an ``IN`` list of row values makes SQLite
        scan the whole table and PostgreSQL plan a long chain of ORs).
        """
        found: dict[tuple[Any, ...], Any] = {}
        if not keys:
            return found
        selected = ", ".join(f"t.{name}" for name in [*key_columns, value_column])
        width = len(key_columns)
        step = _LOOKUP_VALUES // width
        for start in range(0, len(keys), step):
            chunk = keys[start : start + step]
            if self.dialect == "postgresql":
                arrays = ", ".join(
                    f"CAST(%s AS {table.c[name].type.compile(self.engine.dialect)}[])"
                    for name in key_columns
                )
                on = " AND ".join(f"t.{name} = k.{name}" for name in key_columns)
                sql = (
                    f"SELECT {selected} FROM {table.name} AS t "
                    f"JOIN unnest({arrays}) AS k({', '.join(key_columns)}) ON {on}"
                )
                params: tuple[Any, ...] = tuple([key[i] for key in chunk] for i in range(width))
            else:
                one = "(" + ", ".join("?" * width) + ")"
                on = " AND ".join(
                    f"t.{name} = k.column{i + 1}" for i, name in enumerate(key_columns)
                )
                sql = (
                    f"SELECT {selected} FROM (VALUES {', '.join([one] * len(chunk))}) AS k "
                    f"JOIN {table.name} AS t ON {on}"
                )
                params = tuple(value for key in chunk for value in key)
            for row in conn.exec_driver_sql(sql, params):
                found[tuple(row[:-1])] = row[-1]
        return found

    def lookup(
        self, conn: Connection, table: Table, keys: pl.DataFrame, value_column: str
    ) -> pl.DataFrame:
        """The rows of ``keys`` (columns named as ``table``'s key columns) found in ``table``.

        Returns the key columns, with the dtypes of ``keys``, plus ``value_column`` where it is
        not a key. ``existing`` for a frame, with two savings for bulk imports: one probe of
        the index on the first key column first (see ``_may_hold``), and on PostgreSQL every
        key column as one array literal that polars writes, not one Python object per key.
        """
        names = list(keys.columns)
        selected = [*names, *([value_column] if value_column not in names else [])]
        types = {**keys.schema, value_column: _polars_type(table.c[value_column])}
        schema = {name: types[name] for name in selected}
        keys = keys.drop_nulls().unique()  # a null key matches nothing
        if keys.is_empty() or not self._may_hold(conn, table, keys):
            return pl.DataFrame(schema=schema)
        rows: list[tuple[Any, ...]] = []
        if self.dialect == "postgresql":
            on = " AND ".join(f"t.{name} = k.{name}" for name in names)
            sql = (
                f"SELECT {', '.join(f't.{name}' for name in selected)} FROM {table.name} AS t "
                f"JOIN unnest({self._arrays(table, names)}) AS k({', '.join(names)}) ON {on}"
            )
            for start in range(0, keys.height, _LITERAL_KEYS):
                params = _array_literals(keys.slice(start, _LITERAL_KEYS))
                rows += [tuple(row) for row in conn.exec_driver_sql(sql, params)]
        else:
            found = self.existing(conn, table, names, value_column, keys.rows())
            rows = [(*key, value) for key, value in found.items()]
            if value_column in names:
                rows = [row[:-1] for row in rows]
        return pl.DataFrame(rows, schema=schema, orient="row")

    def _may_hold(self, conn: Connection, table: Table, keys: pl.DataFrame) -> bool:
        """Whether ``table`` has a row whose first key column lies within the range of ``keys``.

        One descent of the index that the first key column leads (the primary key): new
        declarations carry ids above the stored ones, so most chunks of a fresh file need no
        lookup at all. The range is taken in the database's own collation.
        """
        first = keys.columns[0]
        if self.dialect == "postgresql":
            sql = (
                f"SELECT t.{first} <= r.hi FROM (SELECT min(k) AS lo, max(k) AS hi "
                f"FROM unnest({self._arrays(table, [first])}) AS k) AS r, "
                f"LATERAL (SELECT {first} FROM {table.name} WHERE {first} >= r.lo "
                f"ORDER BY {first} LIMIT 1) AS t"
            )
            params: tuple[Any, ...] = _array_literals(keys.select(first))
        else:  # SQLite compares text byte by byte, as polars does
            sql = (
                f"SELECT {first} <= ? FROM {table.name} WHERE {first} >= ? ORDER BY {first} LIMIT 1"
            )
            low, high = keys.select(pl.col(first).min().alias("low"), pl.col(first).max()).row(0)
            params = (high, low)
        return bool(conn.exec_driver_sql(sql, params).scalar())

    def _arrays(self, table: Table, names: list[str]) -> str:
        return ", ".join(
            f"CAST(%s AS {table.c[name].type.compile(self.engine.dialect)}[])" for name in names
        )

    # --- reads ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per table, for summaries."""
        names = [
            "consignments",
            "goods_items",
            "containers",
            "seals",
            "parties",
            "events",
            "sensor_events",
            "control_outcomes",
            "import_batches",
            "audit_events",
        ]
        result: dict[str, int] = {}
        with self.reading() as conn:
            for name in names:
                table = tables.metadata.tables[name]
                result[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
            open_q = select(func.count()).where(tables.quarantine.c.status == "open")
            result["quarantine_open"] = conn.execute(open_q).scalar_one()
        return result
