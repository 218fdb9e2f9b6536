"""Fast reads of large results: no SQLAlchemy row and no Python type processing per value.

Reading a large table through SQLAlchemy builds a Python row per record and runs the column
types' result processors per value (a timezone put back on every timestamp): 64 s for the 3.8
million container events of a generated quarter. Here the query is still SQLAlchemy Core,
compiled for the store's dialect with its parameters rendered inline, but the result is fetched
without SQLAlchemy, and the columns are then given the store's types in polars (``read``'s
``schema``): SQLite's text timestamps parsed as UTC, its 0/1 booleans made booleans.

- **PostgreSQL**: through the ADBC driver (Arrow Database Connectivity, Apache-2.0), which
  returns Arrow columns straight from the server: no Python object per value at all.
- **SQLite**: through the store's own ``sqlite3`` connection, tuples fetched in chunks. Not
  ADBC: its driver bundles a second copy of the SQLite library, and two copies in one process
  break each other's file locks (SQLite documents this; here it showed as committed rows the
  other copy could not see, and "disk I/O error").

``read`` returns None where neither path applies (another backend, the ADBC driver missing);
``store.reads.frame`` then reads through SQLAlchemy.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

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
        address = url.set(drivername="postgresql").render_as_string(hide_password=False)
        found = pl.read_database_uri(sql, address, engine="adbc")
    return found.select(_typed(name, found.schema[name], dtype) for name, dtype in schema.items())
