"""A re-import's check of the records it finds stored with the same content hash.

A content hash equal to the stored one says the *file* has not changed, not that the *store*
has not: a stored row edited behind quaywatch's back keeps its record's content hash. So before
a record counts as unchanged, its stored rows are read back and compared with the rows the
record would write, column by column, in every table of its kind (a consignment's goods items,
containers and seals too): a row changed, missing or added makes it differ. The parties a
consignment names are stored once for all the consignments naming them, and are compared by
their own key (``shared_rows_differ``): changed or missing, never "added".

The comparison is of data, not hashes, in polars over whole frames, so that the common case, a
file imported again, stays cheap. The columns a write stamps (``received_at``, ``batch_id``,
``known_at``, ``first_seen_at``, a carrier document's ``revision``) differ by nature between two imports and are left out here,
and so is ``content_sha256``: it is derived from the columns compared, and a record stored
before the hash encoding changed keeps its hash in the old encoding (``intake.pipeline``).
``audit verify --full`` covers them, with every other column, by the row hashes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table

from quaywatch.audit.rows import COVERED

#: Columns set by the write, not by the record: they differ between two imports of one record
#: (a carrier document's ``revision`` is numbered when first stored); and the content hash,
#: derived from the other columns, in one of two encodings.
STAMPS = frozenset(
    {"received_at", "batch_id", "known_at", "first_seen_at", "content_sha256", "revision"}
)
#: How SQLAlchemy keeps a timestamp in SQLite: naive UTC text.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.f"


def stored_rows(
    conn: Connection, table: Table, columns: Sequence[str], prefix: Sequence[str],
    keys: pl.DataFrame, schema: Mapping[str, pl.DataType],
) -> pl.DataFrame:  # fmt: skip
    """``columns`` of the rows of ``table`` whose ``prefix`` columns equal a row of ``keys``,
    as a frame of ``schema`` (the types of the rows compared with).

    Driver SQL as ``Store.existing`` writes it (typed arrays on PostgreSQL, a ``VALUES`` list on
    SQLite: one descent of the primary key index per key), fetched without a SQLAlchemy row per
    record; SQLite's text timestamps and 0/1 booleans are converted in polars.
    """
    dialect = conn.dialect
    postgres = dialect.name == "postgresql"
    selected = ", ".join(f"t.{name}" for name in columns)
    step = 50_000 if postgres else max(1, 30_000 // len(prefix))
    raw: list[tuple[Any, ...]] = []
    for start in range(0, keys.height, step):
        chunk = keys.slice(start, step).select(prefix)
        params: tuple[Any, ...]
        if postgres:
            arrays = ", ".join(f"CAST(%s AS {table.c[n].type.compile(dialect)}[])" for n in prefix)
            on = " AND ".join(f"t.{n} = k.{n}" for n in prefix)
            sql = (f"SELECT {selected} FROM {table.name} AS t "
                   f"JOIN unnest({arrays}) AS k({', '.join(prefix)}) ON {on}")  # fmt: skip
            params = tuple(chunk.get_column(n).to_list() for n in prefix)
        else:
            one = "(" + ", ".join("?" * len(prefix)) + ")"
            on = " AND ".join(f"t.{n} = k.column{i + 1}" for i, n in enumerate(prefix))
            sql = (f"SELECT {selected} FROM (VALUES {', '.join([one] * chunk.height)}) AS k "
                   f"JOIN {table.name} AS t ON {on}")  # fmt: skip
            params = tuple(v for row in chunk.iter_rows() for v in row)
        raw += [tuple(row) for row in conn.exec_driver_sql(sql, params)]
    if postgres:
        return pl.DataFrame(raw, schema={n: schema[n] for n in columns}, orient="row")
    as_stored = {n: _sqlite_type(schema[n]) for n in columns}
    frame = pl.DataFrame(raw, schema=as_stored, orient="row")
    return frame.with_columns(_from_sqlite(n, schema[n]) for n in columns)


def _sqlite_type(wanted: pl.DataType) -> pl.DataType:
    if isinstance(wanted, pl.Datetime | pl.Date):
        return pl.String()
    if wanted == pl.Boolean:
        return pl.Int64()
    return wanted


def _from_sqlite(name: str, wanted: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(wanted, pl.Datetime):
        moment = column.str.to_datetime(_SQLITE_TIME, time_unit="us").dt.replace_time_zone("UTC")
        return moment.cast(wanted).alias(name)
    if isinstance(wanted, pl.Date):
        return column.str.to_date().alias(name)
    if wanted == pl.Boolean:
        return (column != 0).alias(name)
    return column


def rows_differ(
    conn: Connection, frames: Mapping[Table, pl.DataFrame], record_key: Sequence[str]
) -> dict[tuple[Any, ...], str]:
    """Records whose stored rows differ from the rows they would write: each one's key (the
    ``record_key`` columns) and the first difference found (table, row key, what).

    ``frames`` holds, for each table of the record kind, the rows of the records in hand (with
    the ``record_key`` columns), all of them stored already with the same content hash.
    """
    problems: dict[tuple[Any, ...], str] = {}
    for table, frame in frames.items():
        if frame.is_empty():
            continue
        covered = COVERED[table.name]
        columns = [n for n in covered.names if n not in STAMPS]
        incoming = frame.select(columns).with_columns(_utc_us(frame.select(columns).schema))
        keys = incoming.select(record_key).unique()
        stored = stored_rows(conn, table, columns, record_key, keys, incoming.schema)
        stored = stored.with_columns(_utc_us(stored.schema))
        key = covered.key
        others = [n for n in columns if n not in key]
        found = [
            (incoming.join(stored, on=key, how="anti", nulls_equal=True), "is missing"),
            (stored.join(incoming, on=key, how="anti", nulls_equal=True), "was added"),
            (
                incoming.join(stored, on=key, how="inner", suffix="_stored", nulls_equal=True)
                .filter(pl.any_horizontal(
                    pl.col(n).ne_missing(pl.col(f"{n}_stored")) for n in others
                ) if others else pl.lit(False))
                .select(columns),
                "was changed",
            ),
        ]  # fmt: skip
        for rows, what in found:
            for row in rows.select(key).iter_rows():
                owner = tuple(row[key.index(n)] for n in record_key)  # part of the row's
                problems.setdefault(owner, f"{table.name} row {covered.row_key(row)} {what}")
    return problems


def shared_rows_differ(
    conn: Connection, table: Table, frame: pl.DataFrame, record_key: Sequence[str]
) -> dict[tuple[Any, ...], str]:
    """Records whose rows in a *shared* ``table`` differ from the rows they would write: each
    one's key and the first difference found.

    A shared table (``parties``) holds rows that many records point at, keyed by the row's own
    key rather than by the record's: ``frame`` holds, for each record (its ``record_key``
    columns), each row it would point at. A row is looked up by its own key alone, so it can be
    missing or changed, never added: other records' rows are no one record's to count.
    """
    if frame.is_empty():
        return {}
    covered = COVERED[table.name]
    key = covered.key
    columns = [n for n in covered.names if n not in STAMPS]
    incoming = frame.select(*record_key, *(n for n in columns if n not in record_key))
    incoming = incoming.with_columns(_utc_us(incoming.select(columns).schema))
    wanted = incoming.select(key).unique()
    stored = stored_rows(conn, table, columns, key, wanted, incoming.select(columns).schema)
    stored = stored.with_columns(_utc_us(stored.schema))
    others = [n for n in columns if n not in key]
    changed = incoming.join(stored, on=key, how="inner", suffix="_stored", nulls_equal=True)
    found = [
        (incoming.join(stored, on=key, how="anti", nulls_equal=True), "is missing"),
        (
            changed.filter(
                pl.any_horizontal(pl.col(n).ne_missing(pl.col(f"{n}_stored")) for n in others)
                if others
                else pl.lit(False)
            ),
            "was changed",
        ),
    ]
    problems: dict[tuple[Any, ...], str] = {}
    for rows, what in found:
        for row in rows.select(*record_key, *key).iter_rows():
            owner, row_key = row[: len(record_key)], row[len(record_key) :]
            problems.setdefault(owner, f"{table.name} row {covered.row_key(row_key)} {what}")
    return problems


def _utc_us(schema: Mapping[str, pl.DataType]) -> list[pl.Expr]:
    """Timestamps compared in one unit and zone (the store keeps microseconds, UTC)."""
    return [
        pl.col(n).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        if dtype.time_zone is not None
        else pl.col(n).dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        for n, dtype in schema.items()
        if isinstance(dtype, pl.Datetime)
    ]
