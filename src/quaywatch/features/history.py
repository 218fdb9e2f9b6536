"""As-of entity histories: what was known about a party, an HS code or a lane at assessment time.

A risk model learns most from the track record of the entities on a consignment: how often the
consignee has been seen, how often its controls found something. Those figures must be computed
**as of** the assessment time ``t`` (ARCHITECTURE.md, invariant "Time"): a record or an outcome
that became known at or after ``t`` must not move a feature, or the model learns from the future
and its evaluation lies. ``as_of_history`` enforces this with one rule, applied the same way
everywhere: a history record counts if its ``seen_at < t``, an outcome if its ``known_at < t``
(strictly before; an outcome known in the same instant as the assessment is not yet usable).

It is generic: an ``Entity`` is a feature prefix and one or more key columns, so the same code
serves the consignee of a quaywatch consignment, an HS6 × origin pair or a KCS importer.

How (vectorised, no Python loop over rows): each entity's key becomes one 64-bit hash. The
outcomes are sorted by time once and cumulated within each key (one pass for every entity); each
assessment row picks the last cumulated state strictly before its time with ``join_asof`` (``by``
the key, backward, exact matches excluded; the last of outcomes known in one instant holds them
all). The global hit rate used as the prior is cumulated the same way. The first sighting of a key
is the minimum of its history times, joined to the rows; a running count of records, when asked
for, is cumulated per key and timestamp like the outcomes.

Features per entity ``name`` (all ``Float64``; counts are 0 for a never-seen entity):

``{name}_records``
    records of the entity seen before ``t``.
``{name}_days_since_first``
    days from the first record of the entity to ``t``; null if never seen.
``{name}_controls``, ``{name}_hits``
    outcomes (controls) of the entity known before ``t`` and how many of them found fraud.
``{name}_hit_rate``
    Bayesian-smoothed hit rate ``(hits + w · p₀) / (controls + w)``: the posterior mean under a
    Beta prior of weight ``w = prior_weight`` pseudo-controls centred on ``p₀``, the global hit
    rate as of ``t``. An entity with few controls stays near the population rate instead of
    jumping to 0 or 1 after one control. ``p₀ = (H + 1) / (C + 2)`` over all outcomes known
    before ``t`` (Laplace), so it is 0.5 before any outcome is known.
``{name}_revenue_per_control``
    revenue recovered per control of the entity, null without controls; only when the
    ``revenue`` argument names a column of ``outcomes``.

A row whose key has a null in any column counts as a never-seen entity (an absent courier is not
one shared courier).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

#: The features computed for every entity, as suffixes of ``{name}_``.
FEATURE_KINDS = ("records", "days_since_first", "controls", "hits", "hit_rate")

_ROW = "__row"
_TIME = "__time"
_MS_PER_DAY = 86_400_000


@dataclass(frozen=True, slots=True)
class Entity:
    """A feature prefix and the key columns that identify the entity (several: a combination).

    >>> Entity("consignee_hs6", ("consignee", "hs6")).columns
    ('consignee', 'hs6')
    """

    name: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name or not self.columns:
            raise ValueError("an entity needs a name and at least one key column")


def feature_names(
    entity: Entity, *, revenue: bool = False, kinds: Sequence[str] = FEATURE_KINDS
) -> list[str]:
    """The columns ``as_of_history`` adds for ``entity``, in the order it adds them."""
    names = [k for k in FEATURE_KINDS if k in kinds]
    if revenue:
        names.append("revenue_per_control")
    return [f"{entity.name}_{n}" for n in names]


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _cumulated(
    events: pl.DataFrame, keys: list[str], time: str, sums: dict[str, pl.Expr]
) -> pl.DataFrame:
    """Per key and timestamp, the running totals of ``sums`` up to and including that time."""
    per_time = (
        events.drop_nulls(keys).group_by([*keys, time]).agg(**sums).sort(time).rename({time: _TIME})
    )
    running = [pl.col(n).cum_sum().over(keys) if keys else pl.col(n).cum_sum() for n in sums]
    first = pl.col(_TIME).min().over(keys) if keys else pl.col(_TIME).min()
    return per_time.with_columns(*running, first.alias("__first"))


def _as_of(left: pl.DataFrame, right: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Each left row with the last right state strictly before its time (same key)."""
    return left.join_asof(
        right,
        left_on=_TIME,
        right_on=_TIME,
        by=keys or None,
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )


def as_of_history(
    rows: pl.DataFrame,
    *,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    entities: Sequence[Entity],
    at: str = "at",
    seen_at: str = "seen_at",
    known_at: str = "known_at",
    hit: str = "hit",
    revenue: str | None = None,
    prior_weight: float = 10.0,
    kinds: Sequence[str] = FEATURE_KINDS,
) -> pl.DataFrame:
    """``rows`` with the as-of history features of every entity appended, in the input order.

    ``history`` holds one row per record (e.g. every lodged consignment) with the key columns and
    ``seen_at``; ``outcomes`` one row per control with the key columns, ``known_at``, ``hit``
    (bool) and, if ``revenue`` names it, the revenue recovered. Times must share one dtype
    (``Date`` or ``Datetime``). See the module docstring for the features and the prior.
    ``kinds`` picks the features computed (a subset of ``FEATURE_KINDS``, in that order);
    leaving ``records`` out spares the running count over the whole history, the costliest part.
    """
    if prior_weight <= 0:
        raise ValueError(f"prior_weight must be positive, got {prior_weight}")
    unknown = sorted(set(kinds) - set(FEATURE_KINDS))
    if unknown:
        raise ValueError(f"unknown history feature kind(s): {', '.join(unknown)}")
    kinds = [k for k in FEATURE_KINDS if k in kinds]
    keys_needed = sorted({c for e in entities for c in e.columns})
    _require(rows, [at, *keys_needed], "rows")
    _require(history, [seen_at, *keys_needed], "history")
    _require(outcomes, [known_at, hit, *keys_needed, *([revenue] if revenue else [])], "outcomes")
    if rows[at].null_count():
        raise ValueError(f"rows has a null assessment time in {at!r}")
    times = {rows.schema[at], history.schema[seen_at], outcomes.schema[known_at]}
    if len(times) != 1:
        raise ValueError(f"{at}, {seen_at} and {known_at} must share one dtype, got {times}")

    # Joins on one integer are several times faster than on strings or several columns: each
    # entity's key becomes a 64-bit hash (two distinct keys share one with probability about
    # n²/2⁶⁵, 3·10⁻⁸ for a million keys), null where any key column is null (never seen). Only
    # the hashes travel on, never the key columns themselves (text, on millions of rows).
    hashed = [_hashed(entity) for entity in entities]
    left = rows.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(_ROW), pl.col(at).alias(_TIME), *hashed
    )
    seen = history.drop_nulls(seen_at).select(seen_at, *hashed)
    # An outcome without a time or a result is not known yet; it counts nowhere. Sorted by time
    # once, then cumulated within every entity's key in the same pass.
    known = (
        outcomes.drop_nulls([known_at, hit])
        .select(
            pl.col(known_at).alias(_TIME),
            pl.col(hit).cast(pl.Boolean),
            *([pl.col(revenue).fill_null(0)] if revenue else []),
            *hashed,
        )
        .sort(_TIME)
    )
    counted = bool({"controls", "hits", "hit_rate"} & set(kinds)) or revenue is not None
    states = known.select(
        _TIME,
        pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("__controls"),
        pl.col(hit).cum_sum().alias("__hits"),
    )
    # ``join_asof`` needs the rows in time order: only their hashes and times are sorted, and
    # what comes out is put back in input order once, with one sort on the row number. Rows
    # that come in time order already (a batch read in lodging order) skip both sorts.
    in_order = left.get_column(_TIME).is_sorted()
    ordered = left.select(_ROW, _TIME, *(f"__key_{e.name}" for e in entities))
    ordered = ordered.with_columns(pl.col(_TIME).set_sorted()) if in_order else ordered.sort(_TIME)
    prior = _as_of(ordered.select(_TIME), states, [])
    by_time = [
        ordered.select(_ROW),
        prior.select(
            ((pl.col("__hits").fill_null(0) + 1) / (pl.col("__controls").fill_null(0) + 2)).alias(
                "__prior"
            )
        ),
    ]
    plans = []
    for entity in entities:
        key = f"__key_{entity.name}"
        if "records" in kinds:
            records = _cumulated(seen.select(seen_at, key), [key], seen_at, {"__records": pl.len()})
            names = {c: f"{c}_{entity.name}" for c in ("__records", "__first")}
            plans.append(_as_of_plan(ordered, records.rename(names), key))
        if counted:
            running = _running(known.select(_TIME, key, hit, *([revenue] if revenue else [])))
            names = {c: f"{c}_{entity.name}" for c in running.columns if c not in (_TIME, key)}
            plans.append(_as_of_plan(ordered, running.rename(names), key))
    first_seen = "days_since_first" in kinds and "records" not in kinds
    joined = []
    if first_seen:
        # Only the first sighting matters: one group-by, no running count. The join keeps the
        # input order; a key first seen at or after the row's time was not seen before it.
        for entity in entities:
            key = f"__key_{entity.name}"
            first = (
                seen.lazy().group_by(key).agg(pl.col(seen_at).min().alias(f"__first_{entity.name}"))
            )
            joined.append(
                left.lazy()
                .select(key)
                .join(first, on=key, how="left", maintain_order="left", nulls_equal=False)
                .drop(key)
            )
    # Every plan's rows come out in its input's order (as-of and left joins keep it), so they
    # are computed in parallel and put side by side.
    found = pl.collect_all([*plans, *joined])
    back = pl.concat([*by_time, *found[: len(plans)]], how="horizontal")
    back = (back if in_order else back.sort(_ROW)).drop(_ROW)
    state_of = pl.concat([left.select(_TIME), back, *found[len(plans) :]], how="horizontal")
    columns = [
        expr
        for entity in entities
        for expr in _formulas(entity, kinds, revenue=revenue is not None,
                              prior_weight=prior_weight, first_seen=first_seen)
    ]  # fmt: skip
    return pl.concat([rows, state_of.select(columns)], how="horizontal")


def from_states(
    states: pl.DataFrame,
    entities: Sequence[Entity],
    *,
    kinds: Sequence[str] = FEATURE_KINDS,
    prior_weight: float = 10.0,
) -> pl.DataFrame:
    """The features of ``entities`` from states gathered elsewhere (``features.entity_state``).

    ``states`` has ``__time`` (the assessment time), ``__prior`` and, per entity ``name``,
    ``__records_{name}``, ``__first_{name}`` (first sighting before ``__time``, else null),
    ``__controls_{name}`` and ``__hits_{name}`` (null for none). The same formulas as
    ``as_of_history``, so the same features to the last bit.
    """
    kinds = [k for k in FEATURE_KINDS if k in kinds]
    columns = [
        expr
        for entity in entities
        for expr in _formulas(entity, kinds, revenue=False, prior_weight=prior_weight,
                              first_seen=False)
    ]  # fmt: skip
    return states.rename({"__time": _TIME}).select(columns)


def _running(events: pl.DataFrame) -> pl.DataFrame:
    """Outcomes of one entity (time, key, hit[, revenue], in time order) with running totals.

    Per outcome with a key: ``__controls``, ``__hits`` (and ``__revenue``), the totals of its
    key's outcomes up to it in that order. The last of several outcomes known in the same
    instant holds them all, which is the one ``join_asof`` picks. The counts come from numpy
    over the outcomes sorted by key (stable, so in time order within a key): a third of the
    cost of polars window functions, nine entities over.
    """
    time, key, hit, *revenue = events.columns
    events = events.drop_nulls(key)
    # polars' stable sort by key: three times numpy's on the 64-bit hashes (two cores).
    order = events.select(pl.arg_sort_by(key, maintain_order=True)).to_series().to_numpy()
    codes = events.get_column(key).to_numpy()[order]
    position = np.arange(codes.size)
    starts = np.ones(codes.size, dtype=np.bool_)
    starts[1:] = codes[1:] != codes[:-1]
    first = np.maximum.accumulate(np.where(starts, position, 0))
    hits = events.get_column(hit).to_numpy().astype(np.int64)[order]
    running = np.cumsum(hits)
    controls = np.empty(codes.size, dtype=np.int64)
    controls[order] = position - first + 1
    found = np.empty(codes.size, dtype=np.int64)
    found[order] = running - running[first] + hits[first]  # integers: exact
    totals = events.select(time, key).with_columns(
        pl.Series("__controls", controls), pl.Series("__hits", found)
    )
    if revenue:  # money: summed in order within the key, not by difference of running sums
        totals = totals.with_columns(events.select(pl.col(revenue[0]).cum_sum().over(key)))
        totals = totals.rename({revenue[0]: "__revenue"})
    return totals


def _as_of_plan(ordered: pl.DataFrame, state: pl.DataFrame, key: str) -> pl.LazyFrame:
    """For every row of ``ordered`` (in time order), the last ``state`` of its key before it."""
    joined = ordered.lazy().select(_TIME, key).join_asof(
        state.lazy(), on=_TIME, by=key, strategy="backward",
        allow_exact_matches=False, check_sortedness=False,
    )  # fmt: skip
    return joined.drop(_TIME, key)


def _hashed(entity: Entity) -> pl.Expr:
    columns = [pl.col(c) for c in entity.columns]
    any_null = pl.any_horizontal(c.is_null() for c in columns)
    value = pl.struct(columns).hash(seed=0x5EED) if len(columns) > 1 else columns[0].hash(0x5EED)
    return pl.when(any_null).then(None).otherwise(value).alias(f"__key_{entity.name}")


def _formulas(
    entity: Entity, kinds: Sequence[str], *, revenue: bool, prior_weight: float, first_seen: bool
) -> list[pl.Expr]:
    """The features of ``entity`` from the states ``as_of_history`` gathered, in their order."""
    name = entity.name
    controls = pl.col(f"__controls_{name}").fill_null(0).cast(pl.Float64)
    hits = pl.col(f"__hits_{name}").fill_null(0).cast(pl.Float64)
    if first_seen:
        first = pl.col(f"__first_{name}")
        first = pl.when(first < pl.col(_TIME)).then(first)
    else:
        first = pl.col(f"__first_{name}")
    formulas = {
        "records": lambda: pl.col(f"__records_{name}").fill_null(0).cast(pl.Float64),
        "days_since_first": lambda: (pl.col(_TIME) - first).dt.total_milliseconds() / _MS_PER_DAY,
        "controls": lambda: controls,
        "hits": lambda: hits,
        "hit_rate": lambda: (hits + prior_weight * pl.col("__prior")) / (controls + prior_weight),
    }
    columns = [formulas[k]() for k in kinds]
    if revenue:
        columns.append(pl.when(controls > 0).then(pl.col(f"__revenue_{name}") / controls))
    names = feature_names(entity, revenue=revenue, kinds=kinds)
    return [c.cast(pl.Float64).alias(n) for c, n in zip(columns, names, strict=True)]
