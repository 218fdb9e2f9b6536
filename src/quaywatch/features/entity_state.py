"""Entity track records read from the kept state: ``as_of_history``'s features in O(1) rows.

``features.history.as_of_history`` gives the track record of every entity on a row as of its
time ``t`` by reading the whole history. The state ``intake.entity_state`` keeps as data arrives
holds the same figures at every moment they changed, so here each (entity, key, ``t``) of a batch
is one indexed lookup: the latest state row strictly before ``t`` (records, controls, hits), the
earliest row with a record (first sighting), and the global counts before ``t`` for the prior.
The features come out of the same formulas as ``as_of_history``'s (``history.from_states``), so
they are equal to the last bit; ``tests/features/test_entity_state.py`` checks it.

One statement per 500 lookups (a ``VALUES`` list joined to the table's primary key), the same
SQL on SQLite and PostgreSQL: meant for the consignments of one request. A larger batch reads
the state rows of its keys at once and looks them up in memory (``features.batch_state``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Integer, column, text

from quaywatch.features.history import FEATURE_KINDS, Entity, from_states
from quaywatch.intake import entity_state
from quaywatch.intake.entity_state import GLOBAL, key_expr
from quaywatch.store import tables

_CHUNK = 500
_TIME = pl.Datetime("us", "UTC")
_FOUND = {
    "i": pl.Int64(), "records": pl.Int64(), "controls": pl.Int64(), "hits": pl.Int64(),
    "first": _TIME,
}  # fmt: skip


def entity_features(
    conn: Connection,
    rows: pl.DataFrame,
    *,
    entities: Sequence[Entity],
    at: str = "lodged_at",
    known_before: datetime | None = None,
    prior_weight: float = 10.0,
    kinds: Sequence[str] = FEATURE_KINDS,
) -> pl.DataFrame:
    """``rows`` with the track-record features of ``entities`` appended, as ``as_of_history``.

    Equal to ``as_of_history(rows, history=..., outcomes=..., at=at, seen_at="lodged_at",
    known_at="known_at")`` over the stored history (``features.assessment.model_inputs``);
    ``known_before`` also leaves out outcomes known at or after it, as reading only the outcomes
    known before it does. Reads only the state rows of the keys on ``rows``.
    """
    return _features(
        lambda lookups: _lookup(conn, lookups), rows, entities=entities, at=at,
        known_before=known_before, prior_weight=prior_weight, kinds=kinds,
    )  # fmt: skip


def _features(
    lookup: Callable[[pl.DataFrame], pl.DataFrame],
    rows: pl.DataFrame,
    *,
    entities: Sequence[Entity],
    at: str,
    known_before: datetime | None,
    prior_weight: float,
    kinds: Sequence[str],
) -> pl.DataFrame:
    """``entity_features`` with the state lookups done by ``lookup``."""
    if rows[at].null_count():
        raise ValueError(f"rows has a null assessment time in {at!r}")
    times = rows.select(pl.col(at).cast(_TIME).alias("__time"))
    outcome_time = pl.col("__time")
    if known_before is not None:
        outcome_time = pl.min_horizontal(pl.col("__time"), pl.lit(known_before, _TIME))
    times = times.with_columns(outcome_time.alias("__known"))
    wanted = [
        rows.select(pl.lit(e.name).alias("entity"), key_expr(e.columns).alias("entity_key"))
        .with_columns(times)
        .with_row_index("__row")
        for e in entities
    ]
    lookups = pl.concat(
        [
            *(w.select("entity", "entity_key", pl.col("__time").alias("t")) for w in wanted),
            *(w.select("entity", "entity_key", pl.col("__known").alias("t")) for w in wanted),
            times.select(
                pl.lit(GLOBAL).alias("entity"), pl.lit("").alias("entity_key"),
                pl.col("__known").alias("t"),
            ),
        ]
    ).drop_nulls("entity_key").unique()  # fmt: skip
    found = lookup(lookups)
    states = times.select("__time")
    prior = times.join(
        found.filter(pl.col("entity") == GLOBAL).select(pl.col("t").alias("__known"), "controls", "hits"),
        on="__known", how="left", maintain_order="left",
    )  # fmt: skip
    states = states.with_columns(
        ((prior["hits"].fill_null(0) + 1) / (prior["controls"].fill_null(0) + 2)).alias("__prior")
    )
    for entity, w in zip(entities, wanted, strict=True):
        mine = found.filter(pl.col("entity") == entity.name).drop("entity")
        seen = w.join(
            mine.select("entity_key", pl.col("t").alias("__time"), "records", "first"),
            on=["entity_key", "__time"], how="left", maintain_order="left",
        )  # fmt: skip
        known = w.join(
            mine.select("entity_key", pl.col("t").alias("__known"), "controls", "hits"),
            on=["entity_key", "__known"], how="left", maintain_order="left",
        )  # fmt: skip
        states = states.with_columns(
            seen["records"].alias(f"__records_{entity.name}"),
            seen.select(pl.when(pl.col("first") < pl.col("__time")).then(pl.col("first")))
            .to_series()
            .alias(f"__first_{entity.name}"),
            known["controls"].alias(f"__controls_{entity.name}"),
            known["hits"].alias(f"__hits_{entity.name}"),
        )
    return pl.concat(
        [rows, from_states(states, entities, kinds=kinds, prior_weight=prior_weight)],
        how="horizontal",
    )


def _lookup(conn: Connection, lookups: pl.DataFrame) -> pl.DataFrame:
    """Per (entity, entity_key, t): the latest state before ``t`` and the first sighting."""
    indexed = lookups.with_row_index("i")
    frames = [pl.DataFrame(schema=_FOUND)]
    rows = list(indexed.iter_rows())
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        query, params = _query(chunk, conn.dialect.name)
        frames.append(pl.DataFrame(conn.execute(query, params).all(), schema=_FOUND, orient="row"))
    found = pl.concat(frames).with_columns(pl.col("i").cast(pl.UInt32))
    return indexed.join(found, on="i", how="left").drop("i")


def _query(chunk: list[tuple[Any, ...]], dialect: str) -> tuple[Any, dict[str, Any]]:
    values, params, binds = entity_state.values_cte(chunk, ("i", "e", "k", "t"))
    # The moment of each lookup's state first (one index lookup each), then its row by that
    # moment, by index: a subquery in the join's condition would run for every row of the
    # key, and a hash join would read the whole table. PostgreSQL is told so by LATERAL.
    state = (
        "LEFT JOIN LATERAL (SELECT * FROM entity_states s WHERE s.entity = b.e "
        "AND s.entity_key = b.k AND s.at = b.at) s ON TRUE"
        if dialect == "postgresql"
        else "LEFT JOIN entity_states s ON s.entity = b.e AND s.entity_key = b.k AND s.at = b.at"
    )
    sql = (
        f"{values}, b AS MATERIALIZED (SELECT v.i, v.e, v.k, {entity_state.LATEST_BEFORE} AS at, "
        "(SELECT f.at FROM entity_states f WHERE f.entity = v.e AND f.entity_key = v.k "
        "AND f.records > 0 ORDER BY f.at LIMIT 1) AS first FROM v) "
        f"SELECT b.i, s.records, s.controls, s.hits, b.first FROM b {state}"
    )
    query = text(sql).bindparams(*binds).columns(
        column("i", Integer), column("records", Integer), column("controls", Integer),
        column("hits", Integer), column("first", tables.UtcDateTime()),
    )  # fmt: skip
    return query, params
