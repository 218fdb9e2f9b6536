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

How (vectorised, no Python loop over rows): per entity, the history and outcomes are summed per
key and timestamp, cumulated over time within each key, and each assessment row picks the last
cumulated state strictly before its time with ``join_asof`` (``by`` the key, backward, exact
matches excluded). The global hit rate used as the prior is cumulated the same way.

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

    left = rows.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_ROW), pl.col(at).alias(_TIME))
    left = left.with_columns(rows.select(keys_needed)).sort(_TIME)
    seen = history.drop_nulls(seen_at)
    # An outcome without a time or a result is not known yet; it counts nowhere.
    known = outcomes.drop_nulls([known_at, hit]).with_columns(pl.col(hit).cast(pl.Boolean))
    outcome_sums = {"__controls": pl.len(), "__hits": pl.col(hit).sum()}
    if revenue:
        outcome_sums["__revenue"] = pl.col(revenue).fill_null(0).sum()

    totals = _cumulated(known, [], known_at, outcome_sums).select(_TIME, "__controls", "__hits")
    left = _as_of(left, totals, []).select(
        pl.exclude("__controls", "__hits"),
        ((pl.col("__hits").fill_null(0) + 1) / (pl.col("__controls").fill_null(0) + 2)).alias(
            "__prior"
        ),
    )
    # Every entity's features come out in the order of ``left`` (as-of joins and left joins
    # keep it), so they are computed as one lazy plan, in parallel, and put side by side.
    # Joins on one integer are several times faster than on strings or several columns: each
    # entity's key becomes a 64-bit hash (two distinct keys share one with probability about
    # n²/2⁶⁵, 3·10⁻⁸ for a million keys), null where any key column is null (never seen).
    hashed = [_hashed(entity) for entity in entities]
    # Only the hashed keys travel on: the key columns themselves (text, on millions of history
    # rows) are dropped here rather than copied into every plan.
    left = left.select(_ROW, _TIME, "__prior", *hashed)
    seen = seen.select(seen_at, *hashed)
    known = known.select(known_at, hit, *([revenue] if revenue else []), *hashed)
    plans = [
        _entity_plan(left, seen, known, entity, seen_at, known_at, outcome_sums, kinds,
                     revenue=revenue is not None, prior_weight=prior_weight)
        for entity in entities
    ]  # fmt: skip
    computed = pl.concat([left.select(_ROW), *pl.collect_all(plans)], how="horizontal")
    ordered = computed.sort(_ROW).drop(_ROW)
    return pl.concat([rows, ordered], how="horizontal")


def _hashed(entity: Entity) -> pl.Expr:
    columns = [pl.col(c) for c in entity.columns]
    any_null = pl.any_horizontal(c.is_null() for c in columns)
    value = pl.struct(columns).hash(seed=0x5EED) if len(columns) > 1 else columns[0].hash(0x5EED)
    return pl.when(any_null).then(None).otherwise(value).alias(f"__key_{entity.name}")


def _entity_plan(
    left: pl.DataFrame,
    seen: pl.DataFrame,
    known: pl.DataFrame,
    entity: Entity,
    seen_at: str,
    known_at: str,
    outcome_sums: dict[str, pl.Expr],
    kinds: Sequence[str],
    *,
    revenue: bool,
    prior_weight: float,
) -> pl.LazyFrame:
    """The features of one entity for every row of ``left``, in its order, as a lazy plan."""
    keys = [f"__key_{entity.name}"]
    state = left.lazy().select(_TIME, "__prior", *keys)
    if "records" in kinds:
        seen_state = _cumulated(seen, keys, seen_at, {"__records": pl.len()})
        state = state.join_asof(
            seen_state.lazy(), on=_TIME, by=keys, strategy="backward",
            allow_exact_matches=False, check_sortedness=False,
        )  # fmt: skip
    elif "days_since_first" in kinds:
        # Only the first sighting matters: one group-by, no running count. A key first seen
        # at or after the row's time was not seen before it.
        first = seen.lazy().drop_nulls(keys).group_by(keys).agg(pl.col(seen_at).min())
        state = state.join(
            first, on=keys, how="left", maintain_order="left", nulls_equal=False
        ).with_columns(
            pl.when(pl.col(seen_at) < pl.col(_TIME)).then(pl.col(seen_at)).alias("__first")
        )
    if {"controls", "hits", "hit_rate"} & set(kinds) or revenue:
        known_state = _cumulated(known, keys, known_at, outcome_sums).drop("__first")
        state = state.join_asof(
            known_state.lazy(), on=_TIME, by=keys, strategy="backward",
            allow_exact_matches=False, check_sortedness=False,
        )  # fmt: skip
    controls = pl.col("__controls").fill_null(0).cast(pl.Float64)
    hits = pl.col("__hits").fill_null(0).cast(pl.Float64)
    formulas = {
        "records": pl.col("__records").fill_null(0).cast(pl.Float64),
        "days_since_first": (pl.col(_TIME) - pl.col("__first")).dt.total_milliseconds()
        / _MS_PER_DAY,
        "controls": controls,
        "hits": hits,
        "hit_rate": (hits + prior_weight * pl.col("__prior")) / (controls + prior_weight),
    }
    columns = [formulas[k] for k in kinds]
    if revenue:
        columns.append(pl.when(controls > 0).then(pl.col("__revenue") / controls))
    names = feature_names(entity, revenue=revenue, kinds=kinds)
    return state.select(c.cast(pl.Float64).alias(n) for c, n in zip(columns, names, strict=True))
