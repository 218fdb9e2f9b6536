"""The ``Store`` facade: transactions, bulk loads and the lookups every capability shares.

Bulk loads take polars frames whose columns are named as the table's, or rows encoded ahead
with ``Store.encode``. PostgreSQL receives them through ``COPY ... FROM STDIN`` in CSV form;
SQLite through one prepared ``executemany``.
Both run inside the caller's transaction, so a failure leaves nothing behind.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from quaywatch.errors import StoreError
from quaywatch.store import database, tables

#: Bound values per lookup query, under SQLite's limit of 32,766.
_LOOKUP_VALUES = 30_000
#: SQLAlchemy's storage format for datetimes on SQLite, which ``UtcDateTime`` reads back.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"


@dataclass(frozen=True, slots=True)
class Encoded:
    """Rows of one table ready for its backend: tuples for SQLite, CSV bytes for ``COPY``."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] | bytes
    count: int


class Store:
    """Access to one quaywatch database, SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to ``url``; with ``migrate`` bring its schema to the newest revision."""
        store = cls(database.make_engine(url))
        if migrate:
            store.upgrade()
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Apply pending migrations."""
        database.upgrade(self.engine)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One database transaction: committed if the block ends normally, else rolled back."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error, nothing was written: {exc.orig}") from exc
        except IntegrityError as exc:
            # Two writers raced for the same key (two operators creating one run's orders):
            # the loser is told plainly; the winner's write stands.
            raise StoreError(
                f"the store refused a conflicting write, nothing was written; run it again: "
                f"{exc.orig}"
            ) from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc

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
        return Encoded(tuple(frame.columns), frame.rows(), frame.height)

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
            except Exception as exc:  # psycopg errors are not DBAPIError wrapped here
                raise StoreError(f"cannot write {table.name}: {exc}") from exc
            return
        placeholders = ", ".join("?" for _ in encoded.columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})"
        try:
            conn.exec_driver_sql(sql, encoded.rows)
        except DBAPIError as exc:
            raise StoreError(f"cannot write {table.name}: {exc.orig}") from exc

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
