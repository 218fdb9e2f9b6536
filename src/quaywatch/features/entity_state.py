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
    """``entity_features`` with the state lookups done by ``lookup``.

    Every entity's lookups are one long frame, ``rows`` once per entity and then once for the
    global counts, joined to what was found twice (the states before ``t`` and before the
    outcome time) and cut back into one column per entity and figure: two joins in all, not
    two per entity, which on the one row of a consignment filed through the API cost far more
    than their work. Both queries run on polars' in-memory engine, its eager operations' own:
    the streaming engine's start alone costs more than such a query.
    """
    if rows[at].null_count():
        raise ValueError(f"rows has a null assessment time in {at!r}")
    known_at = pl.col("__time")
    if known_before is not None:
        known_at = pl.min_horizontal(pl.col("__time"), pl.lit(known_before, _TIME))
    time = pl.col(at).cast(_TIME).alias("__time")
    source = rows.lazy()
    n, global_ = rows.height, len(entities)
    wanted = pl.concat(
        [
            *(source.select(pl.lit(e.name).alias("entity"),
                            key_expr(e.columns).alias("entity_key"), time) for e in entities),
            source.select(pl.lit(GLOBAL).alias("entity"), pl.lit("").alias("entity_key"), time),
        ]
    ).with_columns(known_at.alias("__known"))  # fmt: skip
    lookups = pl.concat(
        [
            wanted.head(global_ * n).select("entity", "entity_key", pl.col("__time").alias("t")),
            wanted.select("entity", "entity_key", pl.col("__known").alias("t")),
        ]
    ).drop_nulls("entity_key").unique().collect(engine="in-memory")  # fmt: skip
    found = lookup(lookups).lazy()
    keys = ["entity", "entity_key"]
    both = wanted.join(
        found.select(*keys, pl.col("t").alias("__time"), "records", "first"),
        on=[*keys, "__time"], how="left", maintain_order="left",
    ).join(
        found.select(*keys, pl.col("t").alias("__known"), "controls", "hits"),
        on=[*keys, "__known"], how="left", maintain_order="left",
    )  # fmt: skip

    def block(i: int, expr: pl.Expr) -> pl.Expr:
        """``expr`` over the ``i``-th block of ``both``: entity ``i``'s, the global last."""
        return expr.slice(i * n, n)

    first = pl.when(pl.col("first") < pl.col("__time")).then(pl.col("first"))
    states = both.select(
        block(0, pl.col("__time")),
        ((block(global_, pl.col("hits")).fill_null(0) + 1)
         / (block(global_, pl.col("controls")).fill_null(0) + 2)).alias("__prior"),
        *(
            block(i, expr).alias(f"__{figure}_{entity.name}")
            for i, entity in enumerate(entities)
            for figure, expr in (
                ("records", pl.col("records")), ("first", first),
                ("controls", pl.col("controls")), ("hits", pl.col("hits")),
            )
        ),
    ).collect(engine="in-memory")  # fmt: skip
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
