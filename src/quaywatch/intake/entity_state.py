"""Entity state kept as data arrives: each entity's track record at every moment it changed.

``features.history.as_of_history`` computes an entity's track record at time ``t`` from the whole
history: the consignments lodged before ``t`` that name it, the outcomes of their controls known
before ``t``. Assessing one consignment that way reads every goods item ever stored. The
``entity_states`` table keeps the same figures as they change, so an assessment reads one row
per entity key (``features.entity_state``).

Layout: one row per ``(entity, entity_key, at)``, the cumulative ``records`` (consignments
lodged at or before ``at``), ``controls`` and ``hits`` (outcomes known at or before ``at``) of
that key, written at every moment one of them changed. The state strictly before ``t`` is the
latest row with ``at < t`` (the primary key is the index that finds it); the first sighting is
the earliest row with ``records > 0``, a row exists at every lodging time. Pair entities join
their key columns with U+001F; a key with a null column is not kept (never seen, as in
``as_of_history``). The global counts that the hit-rate prior needs are entity ``*``, key ``''``.

Beside it, ``entity_tallies`` keeps what an assessment reads, and only that (``tallies``): a
key's rows where whether it was sighted, its controls or its hits changed, without those where
only the record count moved (four in five). Both are written together (``apply``), so a batch
that needs no record count reads a fifth of the rows (``features.batch_state``).

What counts mirrors the from-history computation exactly (``features.assessment``): the history
is the newest version of each consignment with its goods items (``store.reads.goods_item_rows``)
and its keys are those of ``intake.entities.entity_keys``; an outcome counts, for the keys of the
version it names, only while that version is its consignment's newest. So:

- a new version that becomes the newest (an amendment) takes back the old version's record (at
  the old lodging time, under the old keys) and its outcomes, and adds its own record;
- an older version stored late changes nothing;
- an outcome adds to the keys of its version if that version is the newest.

Every change is a set of deltas ``(entity, key, at, records, controls, hits)``; ``apply`` folds
them in: for each key touched, the stored rows from the last one before the earliest delta on,
merged with the deltas, cumulated again and written back in place of the old ones. A delta
later than everything stored (the usual case) reads one row and writes one; a late outcome or
an amendment rewrites the key's rows after its time. Deltas are computed and applied in the
transaction that stores the records, so a rolled-back import leaves no state, and an import of
records already stored (nothing new) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
from sqlalchemy import BindParameter, Connection, bindparam, delete, func, insert, select, text

from quaywatch.intake.entities import ENTITY_COLUMNS, KEY, PARTIES, entity_keys, hit
from quaywatch.store import tables
from quaywatch.store.store import Store

#: The entity whose single key holds every counted outcome (the prior of the hit rates).
GLOBAL = "*"
SEPARATOR = "\x1f"
_CHUNK = 500
_TIME = pl.Datetime("us", "UTC")
#: The ``entity_states`` layout as a frame (``states_from_history``, ``features.batch_state``).
STATE_SCHEMA = {
    "entity": pl.String(),
    "entity_key": pl.String(),
    "at": _TIME,
    "records": pl.Int64(),
    "controls": pl.Int64(),
    "hits": pl.Int64(),
}
_COUNTS = ("records", "controls", "hits")
#: The ``entity_tallies`` layout as a frame (``tallies``).
TALLY_SCHEMA = {
    "entity": pl.String(),
    "entity_key": pl.String(),
    "at": _TIME,
    "sighted": pl.Boolean(),
    "controls": pl.Int64(),
    "hits": pl.Int64(),
}


def tallies(states: pl.DataFrame) -> pl.DataFrame:
    """The ``entity_tallies`` rows of ``states`` (the ``entity_states`` layout, every row of
    each key, in any order), in the table's order (entity, key, time).

    A key's row is kept where whether it was sighted (a record at or before then), its
    controls or its hits differ from its row before; its first row, where any of them differs
    from nothing. The latest tally strictly before ``t`` has the controls and hits of the
    latest state row before ``t``, and the first sighted tally is the key's first sighting:
    everything an assessment reads (``features.batch_state``), without the rows where only
    the record count moved (four in five on generated traffic).
    """
    ordered = states.sort("entity", "entity_key", "at")
    return ordered.filter(_moved()).select(
        pl.col(n).cast(t) if n != "sighted" else (pl.col("records") > 0).alias(n)
        for n, t in TALLY_SCHEMA.items()
    )


def _moved() -> pl.Expr:
    """Over rows sorted by entity, key and time: where sighted, controls or hits changed."""
    first = pl.col("entity").ne_missing(pl.col("entity").shift()) | pl.col("entity_key").ne_missing(
        pl.col("entity_key").shift()
    )
    sighted = pl.col("records") > 0
    changed = [sighted != sighted.shift(), *(pl.col(n) != pl.col(n).shift() for n in _COUNTS[1:])]
    fresh = [sighted, *(pl.col(n) != 0 for n in _COUNTS[1:])]
    return pl.when(first).then(pl.any_horizontal(fresh)).otherwise(pl.any_horizontal(changed))


def key_expr(columns: tuple[str, ...]) -> pl.Expr:
    """The state's text key of an entity with these key columns; null if any of them is."""
    if len(columns) == 1:
        return pl.col(columns[0]).cast(pl.String)
    return pl.concat_str([pl.col(c).cast(pl.String) for c in columns], separator=SEPARATOR)


def long_keys(keys: pl.DataFrame) -> pl.DataFrame:
    """``KEY``, ``lodged_at``, ``entity``, ``entity_key``: one row per entity of each version.

    ``keys`` has the columns of ``intake.entities.entity_keys``; null keys are left out.
    """
    parts = [
        keys.select(
            *KEY, "lodged_at", pl.lit(name).alias("entity"), key_expr(columns).alias("entity_key")
        )
        for name, columns in ENTITY_COLUMNS
    ]
    return pl.concat(parts).drop_nulls("entity_key")


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _items_of(conn: Connection, versions: pl.DataFrame) -> pl.DataFrame:
    """Goods-item rows (the columns ``entity_keys`` reads) of these consignment versions."""
    c, g = tables.consignments, tables.goods_items
    header = ["consignment_id", "version", "lodged_at", "port_of_loading", "port_of_discharge"]
    columns = [*(c.c[n] for n in header), *(c.c[n] for n in PARTIES)]
    columns += [g.c[n] for n in ("sequence", "hs6", "value", "currency", "origin_country")]
    schema = {
        "consignment_id": pl.String(), "version": pl.Int64(), "lodged_at": _TIME,
        "port_of_loading": pl.String(), "port_of_discharge": pl.String(),
        **{n: pl.String() for n in PARTIES}, "sequence": pl.Int64(), "hs6": pl.String(),
        "value": pl.Float64(), "currency": pl.String(), "origin_country": pl.String(),
    }  # fmt: skip
    joined = c.join(g, (g.c.consignment_id == c.c.consignment_id) & (g.c.version == c.c.version))
    frames = [pl.DataFrame(schema=schema)]
    for ids in _chunks(versions.get_column("consignment_id").unique().sort().to_list()):
        query = (
            select(*columns)
            .select_from(joined)
            .where(c.c.consignment_id.in_(ids))
            .order_by(c.c.consignment_id, c.c.version, g.c.sequence)
        )
        frames.append(pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row"))
    found = pl.concat(frames)
    return found.join(
        versions.select(KEY).unique(), on=list(KEY), how="semi", maintain_order="left"
    )


def _outcomes_of(conn: Connection, ids: list[str]) -> pl.DataFrame:
    """``KEY``, ``control_id``, ``known_at``, ``hit`` of the outcomes of these consignments."""
    o = tables.control_outcomes
    columns = ["control_id", "consignment_id", "version", "known_at", "result"]
    schema = {
        "control_id": pl.String(), "consignment_id": pl.String(), "version": pl.Int64(),
        "known_at": _TIME, "result": pl.String(), "revenue_recovered_eur": pl.Float64(),
    }  # fmt: skip
    frames = [pl.DataFrame(schema=schema)]
    for chunk in _chunks(sorted(set(ids))):
        query = select(*(o.c[n] for n in [*columns, "revenue_recovered_eur"])).where(
            o.c.consignment_id.in_(chunk)
        )
        frames.append(pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row"))
    return (
        pl.concat(frames).with_columns(hit().alias("hit")).drop("result", "revenue_recovered_eur")
    )


def _contributions(keys: pl.DataFrame, outcomes: pl.DataFrame, sign: int) -> pl.DataFrame:
    """The deltas of consignment versions (their ``long_keys``) and of their ``outcomes``.

    Each version is a record of each of its keys at its lodging time; each outcome of a version
    a control (and maybe a hit) of its keys, and of the global counts, at its ``known_at``.
    """
    records = keys.drop_nulls("lodged_at").select(
        "entity", "entity_key", pl.col("lodged_at").alias("at"),
        pl.lit(sign, pl.Int64).alias("records"), pl.lit(0, pl.Int64).alias("controls"),
        pl.lit(0, pl.Int64).alias("hits"),
    )  # fmt: skip
    known = outcomes.drop_nulls(["known_at", "hit"]).join(
        keys.select(KEY).unique(), on=list(KEY), how="semi"
    )
    counted = pl.concat(
        [
            known.join(keys.select(*KEY, "entity", "entity_key"), on=list(KEY)),
            known.with_columns(pl.lit(GLOBAL).alias("entity"), pl.lit("").alias("entity_key")),
        ]
    ).select(
        "entity", "entity_key", pl.col("known_at").alias("at"), pl.lit(0, pl.Int64).alias("records"),
        pl.lit(sign, pl.Int64).alias("controls"), (pl.col("hit").cast(pl.Int64) * sign).alias("hits"),
    )  # fmt: skip
    return pl.concat([records, counted])


def states_from_history(items: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """The whole state computed from a history, without a store: the rows ``rebuild`` writes.

    ``items``: goods-item rows of the newest version of every consignment (the columns
    ``intake.entities.entity_keys`` reads: ``store.reads.goods_item_rows``, or a lake's);
    ``outcomes``: control outcomes (``consignment_id``, ``version``, ``known_at``, ``result``,
    ``revenue_recovered_eur``); those of a version not in ``items`` count nowhere. Returns the
    ``entity_states`` layout (entity, entity_key, at, records, controls, hits), cumulative per
    key, one row per moment a count changed: what ``features.entity_state.snapshot_features``
    looks up.
    """
    return cumulate(deltas_of(items, outcomes))


def deltas_of(items: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """The deltas (entity, entity_key, at, records, controls, hits) that the consignments of
    ``items`` and their ``outcomes`` add to the state (the inputs of ``states_from_history``);
    a batch engine computes them per part of the history, then ``cumulate`` per key."""
    keys = long_keys(entity_keys(items)).with_columns(pl.col("version").cast(pl.Int64))
    known = outcomes.select(
        pl.col("consignment_id"), pl.col("version").cast(pl.Int64),
        pl.col("known_at").cast(_TIME), hit().alias("hit"),
    )  # fmt: skip
    return _contributions(keys, known, 1).with_columns(pl.col("at").cast(_TIME))


def cumulate(deltas: pl.DataFrame) -> pl.DataFrame:
    """``deltas`` summed per key and moment and cumulated per key: the state's rows (every
    delta of a key in the same call; different keys may be cumulated in different calls)."""
    by = ["entity", "entity_key"]
    summed = (
        deltas.with_columns(pl.col("at").cast(_TIME))
        .group_by(*by, "at")
        .agg(pl.col(n).sum() for n in _COUNTS)
        .filter(pl.any_horizontal(pl.col(n) != 0 for n in _COUNTS))
        .sort("at")
    )
    # Cumulated within each key's group, in time order, then one row per moment again: five
    # times faster than sorting by the text keys and cumulating ``over`` them (measured on 1.5
    # million rows). The rows come in no particular order.
    cumulated = summed.group_by(by).agg("at", *(pl.col(n).cum_sum() for n in _COUNTS))
    return cumulated.explode("at", *_COUNTS).select(
        pl.col(n).cast(t) for n, t in STATE_SCHEMA.items()
    )


def changes(
    before: tuple[pl.DataFrame, pl.DataFrame], after: tuple[pl.DataFrame, pl.DataFrame]
) -> pl.DataFrame:
    """The deltas that turn the state of one history into that of a later one.

    ``before`` and ``after`` are (goods-item rows of the newest version of each consignment,
    their outcomes), as ``deltas_of`` takes them, of the same consignments: those that new
    records touched (a new version or a new outcome), as they stood before the new records
    and with them. The state is a sum over consignments, so what the new records change is
    what these consignments add now minus what they added before: an amendment takes back its
    old version's record and outcomes, a late outcome adds only itself. ``fold`` applies them.
    """
    taken = deltas_of(*before).with_columns(-pl.col(n) for n in _COUNTS)
    return pl.concat([deltas_of(*after), taken])


def fold(states: pl.DataFrame, deltas: pl.DataFrame) -> pl.DataFrame:
    """``states`` (the ``entity_states`` layout: every row of each key it holds) with
    ``deltas`` folded in: the rows ``cumulate`` gives on the deltas that made ``states`` and
    ``deltas`` together, what the store's ``apply`` writes, without a store (a lake's kept
    state, ``scale.spark``). Rows come in no particular order.

    A key without deltas keeps its rows as they are. A key with deltas keeps its rows before
    the last one before its earliest delta; from that row on, its rows are turned back into
    deltas (each row minus the one before; that row whole, as the base), merged with the new
    ones and cumulated again. A delta later than every row of its key (the usual case) thus
    cumulates two rows; a late outcome or an amendment re-cumulates its key from its moment.
    """
    by = ["entity", "entity_key"]
    deltas = deltas.select(pl.col(n).cast(t) for n, t in STATE_SCHEMA.items())
    states = states.select(pl.col(n).cast(t) for n, t in STATE_SCHEMA.items())
    starts = deltas.group_by(by).agg(pl.col("at").min().alias("__start"))
    untouched = states.join(starts, on=by, how="anti")
    at, start = pl.col("at"), pl.col("__start")
    touched = (
        states.join(starts, on=by)
        .sort(*by, "at")
        .with_columns(__base=(at == at.filter(at < start).max().over(by)).fill_null(False))
    )
    stay = (at < start) & ~pl.col("__base")
    again = touched.filter(~stay).select(
        *by, "at", "__base",
        *(pl.when(pl.col("__base")).then(pl.col(n))
          .otherwise(pl.col(n) - pl.col(n).shift(fill_value=0).over(by)) for n in _COUNTS),
    )  # fmt: skip
    # Summed per moment; a moment whose deltas cancel leaves no row (``cumulate``'s rule), but
    # the base row stays whatever it holds: it is a stored row, not a change.
    merged = (
        pl.concat([again, deltas.with_columns(__base=pl.lit(False))], how="diagonal_relaxed")
        .group_by(*by, "at")
        .agg(*(pl.col(n).sum() for n in _COUNTS), pl.col("__base").any())
        .filter(pl.col("__base") | pl.any_horizontal(pl.col(n) != 0 for n in _COUNTS))
        .sort("at")
    )
    cumulated = merged.group_by(by).agg("at", *(pl.col(n).cum_sum() for n in _COUNTS))
    refolded = cumulated.explode("at", *_COUNTS).select(
        pl.col(n).cast(t) for n, t in STATE_SCHEMA.items()
    )
    return pl.concat([untouched, touched.filter(stay).select(list(STATE_SCHEMA)), refolded])


#: The PostgreSQL advisory lock that makes state upkeep take turns (``one_at_a_time``).
_STATE_LOCK = 0x7177_6573_7461_7465  # "qwestate"


def one_at_a_time(conn: Connection) -> None:
    """Make the state upkeep of concurrent transactions take turns, until this one ends.

    Upkeep reads the state, adds to it and writes it back: two imports doing that at once on
    PostgreSQL would each add to what they read and one would lose the other's counts. A
    transaction-scoped advisory lock, taken before anything is read, orders them; the second
    reads what the first committed. SQLite's writers take turns already (``Store.transaction``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STATE_LOCK})


def consignments_stored(store: Store, conn: Connection, stored: pl.DataFrame) -> None:
    """Fold in consignment versions just stored in ``conn``'s transaction (``KEY`` columns).

    Call it once the versions' goods items are stored, before outcomes on them are.
    """
    if stored.is_empty():
        return
    one_at_a_time(conn)
    stored = stored.select(pl.col("consignment_id"), pl.col("version").cast(pl.Int64)).unique()
    c = tables.consignments
    ids = stored.get_column("consignment_id").unique().sort().to_list()
    frames = [pl.DataFrame(schema={"consignment_id": pl.String(), "version": pl.Int64()})]
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(c.c.consignment_id, c.c.version).where(c.c.consignment_id.in_(chunk))
        ).all()
        frames.append(pl.DataFrame(rows, schema=frames[0].schema, orient="row"))
    versions = pl.concat(frames).join(
        stored.with_columns(pl.lit(True).alias("new")), on=list(KEY), how="left"
    )
    newest = versions.group_by("consignment_id").agg(
        pl.col("version").max().alias("after"),
        pl.col("version").filter(pl.col("new").is_null()).max().alias("before"),
    )
    changed = newest.filter(pl.col("after") != pl.col("before").fill_null(-1))
    if changed.is_empty():
        return
    before = changed.drop_nulls("before").select(
        "consignment_id", pl.col("before").alias("version")
    )
    after = changed.select("consignment_id", pl.col("after").alias("version"))
    every = pl.concat([before, after])
    keys = long_keys(entity_keys(_items_of(conn, every)))
    outcomes = _outcomes_of(conn, changed.get_column("consignment_id").to_list())
    deltas = [
        _contributions(keys.join(part, on=list(KEY), how="semi"), outcomes, sign)
        for part, sign in ((before, -1), (after, 1))
    ]
    apply(store, conn, pl.concat(deltas))


def outcomes_stored(store: Store, conn: Connection, control_ids: list[str]) -> None:
    """Fold in control outcomes just stored in ``conn``'s transaction (their ``control_id``).

    An outcome counts for the keys of the version it names while that version is the newest of
    its consignment (as ``features.assessment.outcome_keys`` joins it to the history).
    """
    if not control_ids:
        return
    one_at_a_time(conn)
    o = tables.control_outcomes
    ids: list[str] = []
    for chunk in _chunks(sorted(set(control_ids))):
        found = conn.execute(
            select(o.c.consignment_id).where(o.c.control_id.in_(chunk)).distinct()
        ).scalars()
        ids.extend(found)
    outcomes = _outcomes_of(conn, ids).filter(pl.col("control_id").is_in(control_ids))
    c = tables.consignments
    newest: list[tuple[str, int]] = []
    for chunk in _chunks(sorted(set(ids))):
        query = (
            select(c.c.consignment_id, func.max(c.c.version))
            .where(c.c.consignment_id.in_(chunk))
            .group_by(c.c.consignment_id)
        )
        newest.extend((r[0], r[1]) for r in conn.execute(query).all())
    current = pl.DataFrame(
        newest, schema={"consignment_id": pl.String(), "version": pl.Int64()}, orient="row"
    )
    outcomes = outcomes.join(current, on=list(KEY), how="semi")
    if outcomes.is_empty():
        return
    keys = long_keys(entity_keys(_items_of(conn, outcomes.select(KEY).unique())))
    # Only the outcomes' deltas: the versions' records are counted already.
    apply(store, conn, _contributions(keys, outcomes, 1).filter(pl.col("controls") != 0))


def apply(
    store: Store | None,
    conn: Connection,
    deltas: pl.DataFrame,
    *,
    fresh: bool = False,
    with_tallies: bool = True,
) -> None:
    """Fold ``deltas`` (entity, entity_key, at, records, controls, hits) into the state, and
    into its tallies (``tallies``) unless ``with_tallies`` is False (a migration from before
    the ``entity_tallies`` table).

    ``fresh``: the tables hold nothing for these keys (a rebuild), so nothing is read.
    ``store`` loads the rows in bulk; without it (a migration) they are inserted plainly.
    """
    deltas = (
        deltas.group_by("entity", "entity_key", "at")
        .agg(pl.col(n).sum() for n in _COUNTS)
        .filter(pl.any_horizontal(pl.col(n) != 0 for n in _COUNTS))
    )
    if deltas.is_empty():
        return
    starts = deltas.group_by("entity", "entity_key").agg(pl.col("at").min().alias("start"))
    stored = pl.DataFrame(schema=STATE_SCHEMA) if fresh else _stored_from(conn, starts)
    # The stored rows (the last one before each key's first delta, and all after it) with the
    # deltas folded in (``fold``); those from each key's first delta on replace the stored ones.
    by = ["entity", "entity_key"]
    from_start = pl.col("at") >= pl.col("start")
    rows = fold(stored, deltas).join(starts, on=by).filter(from_start).drop("start")
    before = stored.join(starts, on=by).filter(~from_start).drop("start")
    # The tallies from each key's start on, told apart from the row before it (the same rule
    # as ``tallies``; the rows before the start keep their tallies).
    marked = pl.concat(
        [before.with_columns(pl.lit(True).alias("__old")),
         rows.with_columns(pl.lit(False).alias("__old"))]
    ).sort(*by, "at")  # fmt: skip
    tallied = (
        marked.filter(_moved() & ~pl.col("__old"))
        .with_columns((pl.col("records") > 0).alias("sighted"))
        .select(list(TALLY_SCHEMA))
    )
    written = [(tables.entity_states, rows.select(list(STATE_SCHEMA)))]
    if with_tallies:
        written.append((tables.entity_tallies, tallied))
    for table, frame in written:
        if not fresh and not stored.is_empty():
            conn.execute(
                delete(table).where(
                    table.c.entity == bindparam("e"),
                    table.c.entity_key == bindparam("k"),
                    table.c.at >= bindparam("t", type_=tables.UtcDateTime()),
                ),
                [{"e": e, "k": k, "t": t} for e, k, t in starts.iter_rows()],
            )
        if store is None:
            if not frame.is_empty():
                conn.execute(insert(table), frame.to_dicts())
        else:
            store.bulk_insert(conn, table, frame)
    _keep_statistics(conn, rows.height, with_tallies=with_tallies)


#: Rows written at once from which PostgreSQL's statistics of the table are refreshed, when
#: they are also a tenth of what the statistics last counted (or it never counted).
_ANALYZE_FROM_ROWS = 1_000


def _keep_statistics(conn: Connection, written: int, *, with_tallies: bool) -> None:
    """Refresh PostgreSQL's statistics of the state table when it has grown much since.

    The lookups are index lookups only if the planner knows the table is large: with the
    statistics of a table a tenth of its size, it reads the whole table for each key instead,
    and an import of a growing history slows down file after file (measured: 0.17 s against
    1.0 s for the same lookups after 25 days of traffic). Autovacuum refreshes them too, but
    only every minute or so, behind a bulk load. SQLite plans by its indexes anyway.
    """
    if conn.dialect.name != "postgresql" or written < _ANALYZE_FROM_ROWS:
        return
    counted = conn.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('entity_states')")
    ).scalar()
    if counted is None or counted < 0 or written >= 0.1 * counted:
        conn.execute(text("ANALYZE entity_states"))
        if with_tallies:  # it grows with the state, a fifth as fast
            conn.execute(text("ANALYZE entity_tallies"))


def _stored_from(conn: Connection, starts: pl.DataFrame) -> pl.DataFrame:
    """Per (entity, entity_key, start): its stored rows from the last one before ``start`` on."""
    frames = [pl.DataFrame(schema=STATE_SCHEMA)]
    for chunk in _chunks(list(starts.iter_rows())):
        query, params = _from_query(chunk, conn.dialect.name)
        found = conn.execute(query, params).all()
        frames.append(pl.DataFrame(found, schema=STATE_SCHEMA, orient="row"))
    return pl.concat(frames)


#: The moment of a lookup's latest state strictly before its ``v.t`` (one index lookup);
#: ``features.entity_state`` reads with it too.
LATEST_BEFORE = (
    "(SELECT p.at FROM entity_states p WHERE p.entity = v.e AND p.entity_key = v.k "
    "AND p.at < v.t ORDER BY p.at DESC LIMIT 1)"
)


def values_cte(
    chunk: Sequence[tuple[Any, ...]], names: Sequence[str]
) -> tuple[str, dict[str, Any], list[BindParameter[Any]]]:
    """``WITH v(<names>) AS (VALUES ...)`` over the rows of ``chunk``, its parameters, and the
    typed binds of its time column ``t`` (one statement for a chunk of lookups, the same SQL
    on SQLite and PostgreSQL)."""
    rows = ", ".join("(" + ", ".join(f":{n}{r}" for n in names) + ")" for r in range(len(chunk)))
    params = {f"{n}{r}": v for r, row in enumerate(chunk) for n, v in zip(names, row, strict=True)}
    binds = [bindparam(f"t{r}", type_=tables.UtcDateTime()) for r in range(len(chunk))]
    return f"WITH v({', '.join(names)}) AS (VALUES {rows})", params, binds


def _from_query(chunk: list[tuple[Any, ...]], dialect: str) -> tuple[Any, dict[str, Any]]:
    values, params, binds = values_cte(chunk, ("e", "k", "t"))
    # Each key's lower bound first (one index lookup per key), then its rows from there by
    # index: a bound written into the join's condition is evaluated for every row of every
    # key, and a hash join reads the whole table; either made the upkeep grow with the state.
    # SQLite's joins are index lookups; PostgreSQL is told so by LATERAL.
    rows = (
        "CROSS JOIN LATERAL (SELECT * FROM entity_states s WHERE s.entity = b.e "
        "AND s.entity_key = b.k AND s.at >= b.lo) s"
        if dialect == "postgresql"
        else "JOIN entity_states s ON s.entity = b.e AND s.entity_key = b.k AND s.at >= b.lo"
    )
    sql = (
        f"{values}, b AS MATERIALIZED (SELECT v.e, v.k, COALESCE({LATEST_BEFORE}, v.t) AS lo "
        f"FROM v) SELECT s.entity, s.entity_key, s.at, s.records, s.controls, s.hits FROM b {rows}"
    )
    query = text(sql).bindparams(*binds).columns(
        tables.entity_states.c.entity, tables.entity_states.c.entity_key,
        tables.entity_states.c.at, tables.entity_states.c.records,
        tables.entity_states.c.controls, tables.entity_states.c.hits,
    )  # fmt: skip
    return query, params


def rebuild(store: Store | None, conn: Connection, *, with_tallies: bool = True) -> int:
    """Compute the whole state (and its tallies, unless ``with_tallies`` is False) afresh
    from the stored history; return the state rows written.

    For a store that existed before the table did, and to check the kept state: the result
    equals what keeping it as data arrived gives.
    """
    conn.execute(delete(tables.entity_states))
    if with_tallies:
        conn.execute(delete(tables.entity_tallies))
    c = tables.consignments
    newest = conn.execute(
        select(c.c.consignment_id, func.max(c.c.version)).group_by(c.c.consignment_id)
    ).all()
    versions = pl.DataFrame(
        newest, schema={"consignment_id": pl.String(), "version": pl.Int64()}, orient="row"
    )
    if versions.is_empty():
        return 0
    keys = long_keys(entity_keys(_items_of(conn, versions)))
    outcomes = _outcomes_of(conn, versions.get_column("consignment_id").to_list())
    deltas = _contributions(keys, outcomes.join(versions, on=list(KEY), how="semi"), 1)
    apply(store, conn, deltas, fresh=True, with_tallies=with_tallies)
    counted = conn.execute(select(func.count()).select_from(tables.entity_states)).scalar_one()
    return int(counted)
