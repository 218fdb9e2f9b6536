"""Reads of whole tables into polars frames, the same query on SQLite and PostgreSQL.

The queries are SQLAlchemy Core, so the store's column types apply on the way out (times come
back as timezone-aware UTC on both backends), and each frame is given the table's types
explicitly: an empty result has the same columns and types as a full one.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Boolean, Column, Float, Integer, Select, func, select
from sqlalchemy.exc import DBAPIError

from quaywatch.errors import StoreError
from quaywatch.store import tables
from quaywatch.store.store import Store


def _dtype(column: Column[object]) -> pl.DataType:
    kind = column.type
    if isinstance(kind, tables.UtcDateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(kind, Boolean):
        return pl.Boolean()
    if isinstance(kind, Integer):
        return pl.Int64()
    if isinstance(kind, Float):
        return pl.Float64()
    return pl.String()


def _frame(store: Store, query: Select[tuple[object, ...]]) -> pl.DataFrame:
    schema = {column.name: _dtype(column) for column in query.selected_columns}  # type: ignore[arg-type]
    try:
        with store.reading() as conn:
            return pl.read_database(query, conn, schema_overrides=schema)
    except DBAPIError as exc:
        raise StoreError(f"cannot read from the store: {exc.orig}") from exc


def latest_consignments(store: Store, *, lodged_from: datetime | None = None) -> pl.DataFrame:
    """The newest version of every stored consignment: one row each, every consignment column.

    An amendment is stored as a new version of the same consignment id; what the consignment
    says now is its highest version. ``lodged_from`` (timezone-aware) keeps only consignments
    whose newest version was lodged at or after that moment. One query on either backend.
    """
    c = tables.consignments
    newest = (
        select(c.c.consignment_id, func.max(c.c.version).label("version"))
        .group_by(c.c.consignment_id)
        .subquery("newest")
    )
    query = select(*c.columns).join_from(
        c,
        newest,
        (c.c.consignment_id == newest.c.consignment_id) & (c.c.version == newest.c.version),
    )
    if lodged_from is not None:
        if lodged_from.tzinfo is None:
            raise ValueError("lodged_from must be timezone-aware")
        query = query.where(c.c.lodged_at >= lodged_from)
    return _frame(store, query.order_by(c.c.consignment_id))
