"""Fast reads of large results: no SQLAlchemy row and no Python type processing per value.

Reading a large table through SQLAlchemy builds a Python row per record and runs the column
types' result processors per value (a timezone put back on every timestamp): 64 s for the 3.8
million container events of a generated quarter. Here the query is still SQLAlchemy Core,
compiled for the store's dialect with its parameters rendered inline, but the result is fetched
without SQLAlchemy, and the columns are then given the store's types in polars (``read``'s
``schema``): SQLite's text timestamps parsed as UTC, its 0/1 booleans made booleans.

- **PostgreSQL**: through the ADBC driver (Arrow Database Connectivity, Apache-2.0), which
  returns Arrow columns straight from the server: no Python object per value at all. Opening
  an ADBC connection costs about 100-150 ms (measured against the local server: the driver
  loads the server's type catalogue), far more than most of the reads a live assessment makes,
  so each store keeps a few idle ones (``_Connections``, in autocommit: no read holds a
  transaction open between uses) and ``Store.close`` closes them.
- **SQLite**: through the store's own ``sqlite3`` connection, tuples fetched in chunks. Not
  ADBC: its driver bundles a second copy of the SQLite library, and two copies in one process
  break each other's file locks (SQLite documents this; here it showed as committed rows the
  other copy could not see, and "disk I/O error").

``read`` returns None where neither path applies (another backend, the ADBC driver missing);
``store.reads.frame`` then reads through SQLAlchemy.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

import polars as pl
from sqlalchemy import Select

from quaywatch.store.store import Store

#: How SQLAlchemy stores a timestamp in SQLite: naive UTC text, microseconds always written.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.f"
_CHUNK = 200_000


def _typed(name: str, found: pl.DataType, wanted: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(wanted, pl.Datetime):
        if found == pl.String:
            parsed = column.str.to_datetime(_SQLITE_TIME, time_unit="us")
            return parsed.dt.replace_time_zone("UTC").alias(name)
        if isinstance(found, pl.Datetime):
            moment = column.dt.cast_time_unit("us")
            if found.time_zone is None:
                return moment.dt.replace_time_zone("UTC").alias(name)
            return moment.dt.convert_time_zone("UTC").alias(name)
    if wanted == pl.Boolean and found.is_integer():
        return (column != 0).alias(name)
    return column.cast(wanted).alias(name)


def _as_stored(wanted: pl.DataType | None) -> pl.DataType | None:
    """How SQLite hands a column of the store's type ``wanted`` to Python; None if not known.

    Times are text, booleans 0/1, numbers integers or floats (``_typed`` converts afterwards).
    """
    if wanted is None:
        return None
    if isinstance(wanted, pl.Datetime | pl.Date) or wanted == pl.String:
        return pl.String()
    if wanted == pl.Boolean or wanted.is_integer():
        return pl.Int64()
    if wanted.is_float():
        return pl.Float64()
    return None


def _rows(
    rows: list[tuple[object, ...]], names: list[str], stored: dict[str, pl.DataType] | None
) -> pl.DataFrame:
    """A chunk of SQLite rows as a frame: with the types they are stored as when known (a third
    faster than inferring them from every row), inferred otherwise or if a value does not fit."""
    if stored is not None:
        try:
            return pl.DataFrame(rows, schema=stored, orient="row")
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            pass  # a value of another type (SQLite does not enforce them): infer instead
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def _sqlite(
    store: Store, sql: str, names: list[str], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    # Text, numbers or null as SQLite gives them; ``_typed`` types them afterwards.
    types = [_as_stored(schema.get(name)) for name in names]
    known = all(t is not None for t in types) and len(set(names)) == len(names)
    stored = dict(zip(names, types, strict=True)) if known else None
    chunks = []
    with store.reading() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(_CHUNK):
                chunks.append(_rows(rows, names, stored))  # type: ignore[arg-type]
        finally:
            cursor.close()
    if not chunks:
        return pl.DataFrame(schema=dict.fromkeys(names, pl.Null))
    return pl.concat(chunks, how="vertical_relaxed")


#: Idle ADBC connections a store keeps for its next reads: as many as reads run at once in a
#: busy service (the API's request threads, its filing desk, a scoring run).
IDLE_MAX = 4


class _Connections:
    """One store's idle ADBC connections to PostgreSQL: a read takes one (or opens one) and
    gives it back; ``close`` closes them. Connections opened in another process (a forked
    worker) are never used: their socket is the parent's."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()

    def _open(self) -> Any:
        from adbc_driver_postgresql import dbapi  # type: ignore[import-untyped]

        return dbapi.connect(self._address, autocommit=True)

    @contextmanager
    def _connection(self, *, fresh: bool) -> Iterator[tuple[Any, bool]]:
        """A connection, and whether it was idle (used before); given back after the block,
        closed if the block failed."""
        conn = None
        with self._lock:
            if self._pid != os.getpid():  # forked: the idle ones belong to the parent
                self._idle, self._pid = [], os.getpid()
            if self._idle and not fresh:
                conn = self._idle.pop()
        reused = conn is not None
        conn = self._open() if conn is None else conn
        try:
            yield conn, reused
        except BaseException:
            with suppress(Exception):
                conn.close()
            raise
        with self._lock:
            if not self._closed and len(self._idle) < IDLE_MAX:
                self._idle.append(conn)
                return
        with suppress(Exception):
            conn.close()

    def arrow(self, sql: str, *, fresh: bool = False) -> pl.DataFrame:
        """The result of ``sql``; where an idle connection fails (the server restarted, the
        connection was cut while it waited), once more on a new one."""
        reused = False
        try:
            with self._connection(fresh=fresh) as (conn, reused), conn.cursor() as cursor:
                cursor.execute(sql)
                return pl.DataFrame(cursor.fetch_arrow())
        except Exception:
            if not reused:
                raise
        return self.arrow(sql, fresh=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            mine = self._pid == os.getpid()
        for conn in idle if mine else ():
            with suppress(Exception):
                conn.close()


_connections: weakref.WeakKeyDictionary[Store, _Connections] = weakref.WeakKeyDictionary()
_connections_lock = threading.Lock()


def _postgresql(store: Store, sql: str) -> pl.DataFrame:
    with _connections_lock:
        kept = _connections.get(store)
        if kept is None:
            url = store.engine.url.set(drivername="postgresql")
            # Named apart from the engine's own connections, for whoever reads pg_stat_activity.
            name = url.query.get("application_name") or "quaywatch"
            url = url.update_query_dict({"application_name": f"{name}-arrow"})
            kept = _connections[store] = _Connections(url.render_as_string(hide_password=False))
            store.on_close(kept.close)
            weakref.finalize(store, kept.close)  # a store dropped without ``close``
    return kept.arrow(sql)


def read(store: Store, query: Select[tuple[object, ...]], schema: Mapping[str, pl.DataType]) -> (
    pl.DataFrame | None
):  # fmt: skip
    """The result of ``query`` with the columns and types of ``schema``; None if no fast path."""
    url = store.engine.url
    backend = url.get_backend_name()
    if backend == "postgresql" and importlib.util.find_spec("adbc_driver_postgresql") is None:
        return None
    if backend not in ("sqlite", "postgresql"):
        return None
    sql = str(query.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
    if backend == "sqlite":
        found = _sqlite(store, sql, [column.name for column in query.selected_columns], schema)
    else:
        found = _postgresql(store, sql)
    return found.select(_typed(name, found.schema[name], dtype) for name, dtype in schema.items())
