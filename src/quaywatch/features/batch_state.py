"""Track records of a whole batch from the kept entity state: vectorised, no lookup per row.

``features.entity_state.entity_features`` asks the store for each (entity, key, ``t``) of a few
consignments: one indexed lookup each. A scoring run over a day or a month has hundreds of
thousands of them; here the state rows of the batch's keys (of its tallies, where no record
count is asked for: a fifth of the rows) are read once (``batch_states``:
each key's first sighting, its latest row before the batch's earliest time and its rows within
the batch's span) and every lookup is answered in memory (``snapshot_features``), also from a
snapshot of the whole table (Spark's ``mapInArrow``, ``risk.batch``) or one computed from a
lake (``intake.entity_state.states_from_history``).

How, per entity: the state's rows are grouped by key and in time order (the table's own
order, checked in one pass). Each key's rows occupy their own stretch of one sorted number
line (the key's offset plus the time since its first row), and each lookup's time, clipped to
its key's stretch, lands on that line: one ``numpy.searchsorted`` over every row of every key
finds the latest state strictly before each lookup, whatever the number of keys. (A polars
``join_asof`` by key does the same, but slows down with the number of keys: 2.3 s against
0.4 s for the consignee × HS6 pairs of the scoring benchmark.) The features come out of
``features.history.from_states``, the formulas ``as_of_history`` uses, so they are the same to
the last bit; ``tests/features/test_entity_state.py`` checks it against the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Connection, bindparam, text

from quaywatch.features.history import FEATURE_KINDS, Entity, from_states
from quaywatch.intake import entity_state
from quaywatch.intake.entity_state import GLOBAL, key_expr
from quaywatch.store import tables

_TIME = pl.Datetime("us", "UTC")
_SEED = 0x5EED
_CHUNK = 500
_COUNTS = ("records", "controls", "hits")
_NEVER = np.iinfo(np.int64).max
#: Kept rows up to which a lookup line is searched as the needles come, unsorted: a line this
#: short (8 MiB) stays in the caches, so sorting a million needles first costs more than it
#: saves (on the scoring benchmark, where an entity's controls and hits changed at about
#: 250,000 moments: 4.2-4.4 s of CPU for the million's track records against 5.0-5.1 s
#: sorted). A longer line is searched sorted.
_SEARCH_UNSORTED_MAX = 1 << 20
Ints = npt.NDArray[np.int64]


def snapshot_features(
    states: pl.DataFrame,
    rows: pl.DataFrame,
    *,
    entities: Sequence[Entity],
    at: str = "lodged_at",
    known_before: datetime | None = None,
    prior_weight: float = 10.0,
    kinds: Sequence[str] = FEATURE_KINDS,
) -> pl.DataFrame:
    """``rows`` with the track-record features of ``entities`` appended, from a state frame.

    ``states`` holds rows of the ``entity_states`` layout (``intake.entity_state``: entity,
    entity_key, at, records, controls, hits; cumulative) or, where ``kinds`` leaves out the
    record counts, of the ``entity_tallies`` layout (sighted in place of records: a fifth of
    the rows, ``intake.entity_state.tallies``), in any order: of each key on ``rows``, at
    least its first sighting, its latest row before the earliest lookup and its rows up to
    the latest (``batch_states`` reads just that). ``known_before`` leaves out outcomes known
    at or after it. The same features, to the last bit, as
    ``features.entity_state.entity_features`` and ``as_of_history`` over the history.
    """
    if rows[at].null_count():
        raise ValueError(f"rows has a null assessment time in {at!r}")
    kinds = [k for k in FEATURE_KINDS if k in kinds]
    tallied = "sighted" in states.columns
    if tallied and "records" in kinds:
        raise ValueError("the entity tallies hold no record counts: pass the entity states")
    # A tally's sighted flag stands for its record count: only whether it is positive counts.
    records = pl.col("sighted" if tallied else "records").cast(pl.Int64).alias("records")
    times = rows.select(pl.col(at).cast(_TIME).alias("__time"))
    moment = times.get_column("__time").to_physical().to_numpy()
    known = moment if known_before is None else np.minimum(moment, _micros(known_before))
    parts = _by_entity(states)
    empty = states.clear()

    def counts(name: str) -> pl.DataFrame:
        # A state row at or after the latest assessment time counts for no row.
        return (
            parts.get(name, empty).lazy()
            .filter(pl.col("at").cast(_TIME) < pl.lit(moment.max(), _TIME))
            .select(_hashed(pl.col("entity_key").cast(pl.String)).alias("__key"),
                    pl.col("at").cast(_TIME).to_physical(),
                    records, *(pl.col(n).cast(pl.Int64) for n in _COUNTS[1:]))
            .collect()
        )  # fmt: skip

    prior = _Runs.of(counts(GLOBAL), records=False)
    index = prior.latest_before(np.zeros(moment.size, dtype=np.int64), known)
    found: dict[str, Any] = {
        "__time": times.get_column("__time"),
        "__prior": (prior.count("hits", index).fill_null(0) + 1)
        / (prior.count("controls", index).fill_null(0) + 2),
    }

    def track_record(entity: Entity) -> dict[str, pl.Series]:
        runs = _Runs.of(counts(entity.name), records="records" in kinds)
        run = runs.run_of(rows.select(_hashed(key_expr(entity.columns)).alias("__key")))
        seen = runs.latest_before(run, moment)
        counted = seen if known_before is None else runs.latest_before(run, known)
        name = entity.name
        found = {
            f"__controls_{name}": runs.count("controls", counted),
            f"__hits_{name}": runs.count("hits", counted),
        }
        if "records" in kinds:
            found[f"__records_{name}"] = runs.count("records", seen)
        first = runs.first_sighting(run)
        never = np.flatnonzero(first >= moment)
        found[f"__first_{name}"] = pl.Series(first, dtype=pl.Int64).scatter(never, None).cast(_TIME)
        return found

    for entity in entities:  # in threads, slower: polars uses the cores already
        found.update(track_record(entity))
    frame = pl.DataFrame(found)
    return pl.concat(
        [rows, from_states(frame, entities, kinds=kinds, prior_weight=prior_weight)],
        how="horizontal",
    )


def batch_states(
    conn: Connection,
    rows: pl.DataFrame,
    *,
    entities: Sequence[Entity],
    at: str = "lodged_at",
    known_before: datetime | None = None,
    kinds: Sequence[str] = FEATURE_KINDS,
) -> pl.DataFrame:
    """The stored state rows ``snapshot_features`` needs for ``rows``, and no others.

    Of each key on ``rows`` (and the global counts): its first sighting, its latest row
    before the batch's earliest lookup time (its lodging, or ``known_before`` if earlier) and
    its rows from then to the batch's latest lodging. One statement per 500 keys, by the
    table's primary key, the same SQL on SQLite and PostgreSQL. From ``entity_tallies`` (a
    fifth of the rows) where ``kinds`` leaves out the record counts, else ``entity_states``.
    """
    tallied = "records" not in kinds
    schema = entity_state.TALLY_SCHEMA if tallied else entity_state.STATE_SCHEMA
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    times = rows.get_column(at).cast(_TIME)
    low, high = times.min(), times.max()
    if known_before is not None:
        low = min(low, known_before)  # type: ignore[type-var]
    keys = pl.concat(
        [
            *(rows.select(pl.lit(e.name).alias("e"), key_expr(e.columns).alias("k"))
              for e in entities),
            pl.DataFrame({"e": [GLOBAL], "k": [""]}),
        ]
    ).drop_nulls().unique().sort("e", "k")  # fmt: skip
    lookups = list(keys.with_columns(pl.lit(low, _TIME).alias("t")).iter_rows())
    frames = [pl.DataFrame(schema=schema)]
    for start in range(0, len(lookups), _CHUNK):
        query, params = _span_query(lookups[start : start + _CHUNK], conn.dialect.name, tallied)
        found = conn.execute(query, {**params, "hi": high}).all()
        frames.append(pl.DataFrame(found, schema=schema, orient="row"))
    return pl.concat(frames)


def _span_query(
    chunk: list[tuple[Any, ...]], dialect: str, tallied: bool
) -> tuple[Any, dict[str, Any]]:
    values, params, binds = entity_state.values_cte(chunk, ("e", "k", "t"))
    table = tables.entity_tallies if tallied else tables.entity_states
    name, sighted = (table.name, "f.sighted" if tallied else "f.records > 0")
    # Each key's bounds first (one index lookup each), then its rows between them by index,
    # as ``intake.entity_state`` reads what it updates; PostgreSQL is told so by LATERAL.
    span = (
        f"CROSS JOIN LATERAL (SELECT * FROM {name} s WHERE s.entity = b.e "
        "AND s.entity_key = b.k AND s.at >= b.lo AND s.at < :hi) s"
        if dialect == "postgresql"
        else f"JOIN {name} s ON s.entity = b.e AND s.entity_key = b.k AND s.at >= b.lo "
        "AND s.at < :hi"
    )
    picked = [table.c[n] for n in (entity_state.TALLY_SCHEMA if tallied
                                   else entity_state.STATE_SCHEMA)]  # fmt: skip
    columns = ", ".join(f"s.{c.name}" for c in picked)
    latest = entity_state.LATEST_BEFORE.replace("entity_states", name)
    sql = (
        f"{values}, b AS MATERIALIZED (SELECT v.e, v.k, COALESCE({latest}, v.t) AS lo, "
        f"(SELECT f.at FROM {name} f WHERE f.entity = v.e AND f.entity_key = v.k "
        f"AND {sighted} ORDER BY f.at LIMIT 1) AS first FROM v) "
        f"SELECT {columns} FROM b {span} UNION ALL SELECT {columns} FROM b "
        f"JOIN {name} s ON s.entity = b.e AND s.entity_key = b.k AND s.at = b.first "
        "WHERE b.first < b.lo"
    )
    query = text(sql).bindparams(*binds, bindparam("hi", type_=tables.UtcDateTime()))
    return query.columns(*picked), params


@dataclass(frozen=True, slots=True)
class _Runs:
    """One entity's state, its rows grouped by key and in time order, ready for lookups.

    ``keys``: each key's hash and run number; ``first``: each run's first sighting (``_NEVER``:
    none). ``state``: the rows kept, those where a count looked up changed (``row_start``: each
    run's first kept row); ``line``: their places on one sorted number line, the run's
    ``offset`` plus the time since the run's first row (``low``); a run's stretch ends before
    the next run's offset.
    """

    keys: pl.DataFrame
    first: Ints
    state: pl.DataFrame
    row_start: Ints
    low: Ints
    high: Ints
    offset: Ints
    line: Ints

    @classmethod
    def of(cls, state: pl.DataFrame, *, records: bool) -> _Runs:
        """``state`` (``__key``, at as integers, the counts) ready for lookups; ``records``:
        whether record counts are looked up (if not, only the rows where the controls or hits
        changed are kept: the latest of those before a time has the counts of the latest row)."""
        marked, start = _grouped(state)
        is_new = marked.get_column("__new").to_numpy()
        at = marked.get_column("at").to_numpy().astype(np.int64)
        sighted = np.where(marked.get_column("records").to_numpy() > 0, at, _NEVER)
        first = np.minimum.reduceat(sighted, start) if start.size else sighted[:0]
        run_of_row = np.cumsum(is_new) - 1
        keys = pl.DataFrame(
            {"__key": marked.get_column("__key").to_numpy()[start],
             "__run": np.arange(start.size, dtype=np.int64)},
            schema={"__key": pl.UInt64, "__run": pl.Int64},
        )  # fmt: skip
        if records:
            kept = np.arange(at.size)
        else:
            changed = [(pl.col(n) != pl.col(n).shift()) | pl.col("__new") for n in _COUNTS[1:]]
            moved = pl.any_horizontal(changed) & ~(pl.col("__new") & (pl.col("controls") == 0)
                                                   & (pl.col("hits") == 0))  # fmt: skip
            kept = marked.select(moved.arg_true()).to_series().to_numpy()
        run = run_of_row[kept]
        at = at[kept]
        row_start = np.searchsorted(run, np.arange(start.size), "left")
        row_stop = np.r_[row_start[1:], run.size].astype(np.int64)
        has = row_stop > row_start
        low = np.where(has, at[np.minimum(row_start, max(run.size - 1, 0))] if run.size
                       else 0, 0)  # fmt: skip
        high = np.where(has, at[np.maximum(row_stop - 1, 0)] if run.size else 0, 0)
        span = high - low + 2  # room for a lookup after the run's last row
        if float(span.astype(np.float64).sum()) >= 2.0**62:
            raise ValueError("the entity state spans too long a time to be looked up at once")
        offset = np.cumsum(span) - span
        line = offset[run] + (at - low[run])
        kept_state = marked.select(*_COUNTS)[kept]
        return cls(keys, first, kept_state, row_start.astype(np.int64), low, high, offset, line)

    def run_of(self, keys: pl.DataFrame) -> Ints:
        """Each lookup key's run (-1: a key the state does not hold, or a null key)."""
        found = keys.join(self.keys, on="__key", how="left", maintain_order="left")
        return found.get_column("__run").fill_null(-1).to_numpy()

    def latest_before(self, run: Ints, t: Ints) -> Ints:
        """Per lookup (its key's run, a time): the kept row of the latest state strictly
        before the time, -1 when none."""
        if not self.line.size:
            return np.full(run.size, -1, dtype=np.int64)
        known = run >= 0
        r = np.where(known, run, 0)
        clipped = np.clip(t, self.low[r], self.high[r] + 1)
        needles = self.offset[r] + (clipped - self.low[r])
        if self.line.size <= _SEARCH_UNSORTED_MAX:
            position = np.searchsorted(self.line, needles, "left")
        else:
            # Needles in order let each search start where the last one ended: several times
            # faster than a million searches from scratch in a line that outgrows the caches,
            # the sort included.
            order = pl.Series(needles).arg_sort().to_numpy()
            position = np.empty(needles.size, dtype=np.int64)
            position[order] = np.searchsorted(self.line, needles[order], "left")
        return np.where(known & (position > self.row_start[r]), position - 1, -1)

    def count(self, name: str, row: Ints) -> pl.Series:
        """A count at these kept rows, null where there is none (-1)."""
        values = self.state.get_column(name).to_numpy()
        picked = values[np.where(row >= 0, row, 0)] if values.size else np.zeros(row.size)
        return pl.Series(name, picked, dtype=pl.Int64).scatter(np.flatnonzero(row < 0), None)

    def first_sighting(self, run: Ints) -> Ints:
        """Per lookup's run, the key's first row with a record (``_NEVER``: none)."""
        if not self.first.size:
            return np.full(run.size, _NEVER, dtype=np.int64)
        return np.where(run >= 0, self.first[np.where(run >= 0, run, 0)], _NEVER)


def _by_entity(states: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """``states`` per entity: slices of it where each entity's rows lie together, as in the
    table's order (one pass to check, no copy), else a copy of each entity's rows."""
    runs = states.get_column("entity").rle()
    names = runs.struct.field("value")
    if names.n_unique() < names.len():
        return {str(k[0]): v for k, v in states.partition_by("entity", as_dict=True).items()}
    lengths = runs.struct.field("len").to_list()
    starts = np.cumsum([0, *lengths])[:-1]  # no rows: no entity, no start
    return {
        str(name): states.slice(int(start), int(length))
        for name, start, length in zip(names.to_list(), starts, lengths, strict=True)
    }


def _grouped(state: pl.DataFrame) -> tuple[pl.DataFrame, Ints]:
    """``state`` with the rows of each key (``__key``) together and in time order, marked
    where a key's rows begin (``__new``), and those rows. The table's own order (and
    ``states_from_history``'s) is that already: checked in one pass (times rising within a
    run of one key, no key in two runs), sorted otherwise."""
    new = pl.col("__key").ne_missing(pl.col("__key").shift()).alias("__new")
    marked = state.with_columns(new)
    start = np.flatnonzero(marked.get_column("__new").to_numpy())
    ordered = marked.select(((pl.col("at").diff() > 0) | pl.col("__new")).slice(1).all()).item()
    keys = marked.get_column("__key").gather(start)
    if ordered and keys.n_unique() == keys.len():
        return marked, start
    marked = state.sort("__key", "at").with_columns(new)
    return marked, np.flatnonzero(marked.get_column("__new").to_numpy())


def _hashed(key: pl.Expr) -> pl.Expr:
    """A text key as one 64-bit hash, null where the key is (never seen, never matched).

    Two distinct keys share a hash with probability about n²/2⁶⁵ (3·10⁻⁸ for a million
    keys): the bargain ``features.history.as_of_history`` makes for its joins too."""
    return pl.when(key.is_null()).then(None).otherwise(key.hash(_SEED))


def _micros(moment: datetime) -> int:
    value = pl.Series([moment], dtype=_TIME).to_physical().item()
    assert isinstance(value, int)
    return value
