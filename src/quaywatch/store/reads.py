"""Reads of whole tables into polars frames, the same query on SQLite and PostgreSQL.

The queries are SQLAlchemy Core, fetched without SQLAlchemy's per-value processing where the
store allows it (``store.fastread``: ADBC on PostgreSQL, the raw ``sqlite3`` cursor on SQLite)
and through SQLAlchemy otherwise; either way each frame is given the table's
types explicitly (times timezone-aware UTC on both backends), so an empty result has the same
columns and types as a full one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import polars as pl
from adbc_driver_manager import Error as AdbcError
from sqlalchemy import Boolean, Column, Float, Integer, Select, Subquery, func, select
from sqlalchemy.exc import DBAPIError

from quaywatch.errors import StoreError
from quaywatch.store import database, fastread, tables
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


def frame(
    store: Store,
    query: Select[tuple[object, ...]],
    schema: Mapping[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """The result of ``query`` as a frame, typed by ``schema`` (default: the columns' types).

    Through ``store.fastread`` where it applies, else through SQLAlchemy; the same frame
    either way.
    """
    if schema is None:
        schema = {column.name: _dtype(column) for column in query.selected_columns}  # type: ignore[arg-type]
    try:
        fast = fastread.read(store, query, schema)
    except AdbcError as exc:
        raise StoreError(f"cannot read from the store: {exc}") from exc
    if fast is not None:
        return fast
    try:
        with store.reading() as conn:
            return pl.read_database(query, conn, schema_overrides=dict(schema))
    except DBAPIError as exc:
        raise database.failure(exc, "read from the store") from exc


def latest_consignments(
    store: Store, *, lodged_from: datetime | None = None, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """The newest version of every stored consignment: one row each, every consignment column
    (or these ``columns``).

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
    chosen = list(c.columns) if columns is None else [c.c[name] for name in columns]
    query = select(*chosen).join_from(
        c,
        newest,
        (c.c.consignment_id == newest.c.consignment_id) & (c.c.version == newest.c.version),
    )
    if lodged_from is not None:
        if lodged_from.tzinfo is None:
            raise ValueError("lodged_from must be timezone-aware")
        query = query.where(c.c.lodged_at >= lodged_from)
    return frame(store, query.order_by(c.c.consignment_id))


def goods_item_rows(
    store: Store,
    *,
    lodged_from: datetime | None = None,
    lodged_before: datetime | None = None,
    consignment_ids: list[str] | None = None,
) -> pl.DataFrame:
    """One row per goods item of the newest version of every consignment, for risk analysis.

    Each row carries what risk features read, and nothing more (a year of items is millions of
    rows): its consignment's route, times, carrier and party keys, the AEO status of the
    consignee, consignor and declarant, and the size/type of the container holding the item. ``lodged_from`` (inclusive) and ``lodged_before`` (exclusive),
    both timezone-aware, bound the lodging time; ``consignment_ids`` keeps only these
    consignments. Ordered by consignment id and item sequence.
    """
    c, g, k = tables.consignments, tables.goods_items, tables.containers
    newest_query = select(c.c.consignment_id, func.max(c.c.version).label("version"))
    if consignment_ids is not None:
        newest_query = newest_query.where(c.c.consignment_id.in_(consignment_ids))
    newest = newest_query.group_by(c.c.consignment_id).subquery("newest")
    roles = {role: tables.parties.alias(role) for role in ("consignee", "consignor", "declarant")}
    header = [
        c.c[name]
        for name in ("consignment_id", "version", "lodged_at", "eta", "carrier_scac",
                     "port_of_loading", "transshipment_ports", "port_of_discharge",
                     "consignee_key", "consignor_key", "declarant_key")
    ]  # fmt: skip
    party_columns = [
        party.c[name].label(f"{role}_{name}") for role, party in roles.items() for name in ("aeo",)
    ]
    items = [
        g.c[name]
        for name in ("sequence", "hs6", "description", "packages", "package_type",
                     "gross_mass_kg", "value", "currency", "origin_country", "container_number")
    ]  # fmt: skip
    joined = c.join(
        newest,
        (c.c.consignment_id == newest.c.consignment_id) & (c.c.version == newest.c.version),
    ).join(g, (g.c.consignment_id == c.c.consignment_id) & (g.c.version == c.c.version))
    for role, party in roles.items():
        joined = joined.outerjoin(party, party.c.party_key == c.c[f"{role}_key"])
    joined = joined.outerjoin(
        k,
        (k.c.consignment_id == g.c.consignment_id)
        & (k.c.version == g.c.version)
        & (k.c.container_number == g.c.container_number),
    )
    query = select(*header, *party_columns, *items, k.c.size_type.label("container_size_type"))
    query = query.select_from(joined)
    for bound in (lodged_from, lodged_before):
        if bound is not None and bound.tzinfo is None:
            raise ValueError("lodging bounds must be timezone-aware")
    if lodged_from is not None:
        query = query.where(c.c.lodged_at >= lodged_from)
    if lodged_before is not None:
        query = query.where(c.c.lodged_at < lodged_before)
    return frame(store, query.order_by(c.c.consignment_id, g.c.sequence))


def control_outcomes(store: Store, *, known_before: datetime | None = None) -> pl.DataFrame:
    """Every stored control outcome; with ``known_before``, only those recorded before then."""
    o = tables.control_outcomes
    query = select(*o.columns)
    if known_before is not None:
        if known_before.tzinfo is None:
            raise ValueError("known_before must be timezone-aware")
        query = query.where(o.c.known_at < known_before)
    return frame(store, query.order_by(o.c.known_at, o.c.control_id))


def assessed(
    store: Store, model_version: str, consignment_ids: Collection[str] | None = None
) -> pl.DataFrame:
    """The (consignment_id, version) pairs ``model_version`` has assessed (of these
    consignments only, when given)."""
    a = tables.assessments
    query = select(a.c.consignment_id, a.c.version).where(a.c.model_version == model_version)
    if consignment_ids is not None:
        query = query.where(a.c.consignment_id.in_(sorted(consignment_ids)))
    return frame(store, query.distinct())


def latest_assessments(store: Store, *, run_id: str | None = None) -> pl.DataFrame:
    """The newest assessment of every consignment (or every assessment of one run)."""
    a = tables.assessments
    if run_id is not None:
        return frame(store, select(*a.columns).where(a.c.run_id == run_id))
    newest = (
        select(func.max(a.c.assessment_id).label("assessment_id"))
        .group_by(a.c.consignment_id, a.c.version)
        .subquery("newest")
    )
    query = select(*a.columns).join(newest, a.c.assessment_id == newest.c.assessment_id)
    return frame(store, query.order_by(a.c.score.desc()))


def newest_versions(store: Store, consignment_ids: list[str]) -> pl.DataFrame:
    """``consignment_id``, ``version``: the newest stored version of each of these consignments
    (an id not stored has no row)."""
    c = tables.consignments
    query = (
        select(c.c.consignment_id, func.max(c.c.version).label("version"))
        .where(c.c.consignment_id.in_(consignment_ids))
        .group_by(c.c.consignment_id)
    )
    return frame(store, query, {"consignment_id": pl.String(), "version": pl.Int64()})


def stored_by(store: Store, batch_id: str, consignment_ids: Collection[str]) -> list[str]:
    """Which of these consignments import ``batch_id`` stored (a version of)."""
    c = tables.consignments
    query = (
        select(c.c.consignment_id)
        .where(c.c.consignment_id.in_(sorted(consignment_ids)) & (c.c.batch_id == batch_id))
        .distinct()
    )
    return frame(store, query).get_column("consignment_id").to_list()


def assessments_of(store: Store, consignment_ids: list[str]) -> pl.DataFrame:
    """Every assessment of these consignments, every version, oldest first."""
    a = tables.assessments
    query = select(*a.columns).where(a.c.consignment_id.in_(consignment_ids))
    return frame(store, query.order_by(a.c.assessment_id))


def parties(store: Store, party_keys: Collection[str] | None = None) -> pl.DataFrame:
    """Every stored party (or these), every column: for profiles' party fields, screening and
    the graph."""
    p = tables.parties
    query = select(*p.columns)
    if party_keys is not None:
        query = query.where(p.c.party_key.in_(sorted(party_keys)))
    return frame(store, query.order_by(p.c.party_key))


def latest_lane_overrides(run_id: str | None = None) -> Subquery:
    """The newest lane override of each consignment of each selection run (of ``run_id`` only,
    when given): ``run_id``, ``consignment_id``, ``override_id``, ``to_lane`` and
    ``control_type``. Joined to ``control_decisions`` on both keys, where a row matches, its
    lane and control are the consignment's in that run: the officer's, not the policy's."""
    lo = tables.lane_overrides
    newest = select(func.max(lo.c.override_id)).group_by(lo.c.run_id, lo.c.consignment_id)
    if run_id is not None:
        newest = newest.where(lo.c.run_id == run_id)
    return (
        select(lo.c.run_id, lo.c.consignment_id, lo.c.override_id, lo.c.to_lane,
               lo.c.control_type)
        .where(lo.c.override_id.in_(newest))
        .subquery("latest_override")
    )  # fmt: skip
