"""The ``Store`` facade: transactions, bulk loads and the lookups every capability shares.

Bulk loads take polars frames whose columns are named as the table's. PostgreSQL receives them
through ``COPY ... FROM STDIN`` in CSV form; SQLite through one prepared ``executemany``.
Both run inside the caller's transaction, so a failure leaves nothing behind.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, func, select, tuple_
from sqlalchemy.exc import DBAPIError, OperationalError

from quaywatch.errors import StoreError
from quaywatch.store import database, tables

#: Keys per lookup query; well under SQLite's limit of bound parameters.
_LOOKUP_CHUNK = 5_000
#: SQLAlchemy's storage format for datetimes on SQLite, which ``UtcDateTime`` reads back.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"


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

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc

    # --- bulk writes and lookups ---------------------------------------------------------

    def bulk_insert(self, conn: Connection, table: Table, frame: pl.DataFrame) -> None:
        """Insert every row of ``frame`` (columns named as ``table``'s) into ``table``."""
        if frame.is_empty():
            return
        columns = frame.columns
        if self.dialect == "postgresql":
            self._copy(conn, table, frame)
            return
        datetimes = [name for name, dtype in frame.schema.items() if dtype == pl.Datetime]
        if datetimes:
            frame = frame.with_columns(
                pl.col(datetimes).dt.convert_time_zone("UTC").dt.strftime(_SQLITE_DATETIME)
            )
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
        try:
            conn.exec_driver_sql(sql, frame.rows())
        except DBAPIError as exc:
            raise StoreError(f"cannot write {table.name}: {exc.orig}") from exc

    def _copy(self, conn: Connection, table: Table, frame: pl.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.write_csv(
            buffer,
            include_header=False,
            datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z",
            null_value="",
            quote_style="necessary",
        )
        sql = (
            f"COPY {table.name} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv, NULL '')"
        )
        raw = conn.connection.driver_connection
        try:
            with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
                copy.write(buffer.getbuffer())
        except Exception as exc:  # psycopg errors are not DBAPIError wrapped here
            raise StoreError(f"cannot write {table.name}: {exc}") from exc

    def existing(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        value_column: str,
        keys: Sequence[tuple[Any, ...]],
    ) -> dict[tuple[Any, ...], Any]:
        """Map each key of ``keys`` already in ``table`` to its ``value_column``."""
        found: dict[tuple[Any, ...], Any] = {}
        cols = [table.c[name] for name in key_columns]
        key_expr = cols[0] if len(cols) == 1 else tuple_(*cols)
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            wanted = [key[0] for key in chunk] if len(cols) == 1 else list(chunk)
            query = select(*cols, table.c[value_column]).where(key_expr.in_(wanted))
            for row in conn.execute(query):
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
