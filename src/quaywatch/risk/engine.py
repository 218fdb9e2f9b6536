"""The risk engine: one ``assess`` for every caller, and scoring runs against the store.

``assess`` turns goods-item rows into one assessment per consignment: the calibrated
probability that a control would find something, a 0-100 score officers rank by, the revenue
at stake, and reasons. The CLI's ``score``, the evaluation harness and (later) the API and Spark
all call it; there is no second implementation (ARCHITECTURE.md, invariant 3).

Reasons cost a contributions pass and a sentence each, so by default (``Explain.AUTO``) only
assessments that leave the green lane get them: at or above the model's review probability (the
combined probability, every source counted), or demanded into a lane or a referral by a hit;
``ALL`` explains every row (an officer asking about one consignment), ``NONE`` none (bulk
evaluation).

``score_store`` is a scoring run: it reads what the store knows now, assesses the consignments
asked for, appends their assessments and one audit event, in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import polars as pl
import sqlalchemy as sa

from quaywatch.audit import chain
from quaywatch.domain import reference
from quaywatch.features import assessment, declared
from quaywatch.risk import (
    anomaly,
    combine,
    explain,
    frame as fr,
    hit_sources,
    hits as hitframe,
    signals,
    weight_sets,
)
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.hit_sources import HitSource
from quaywatch.risk.norms import TrafficNorms
from quaywatch.risk.profiles.apply import ProfileSet
from quaywatch.risk.profiles.frame import NAMED_ROLES, with_extras
from quaywatch.risk.profiles.registry import active_profiles
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

#: Reasons kept per assessment.
TOP_REASONS = 5
#: Consignments from which the entity state of a batch's keys is read at once, not looked up
#: per consignment (``features.batch_state``); the features are the same either way. Measured
#: on the filing desk's batches (40,000 stored consignments): one to three are quicker looked
#: up, ten and more read at once (a hundred: 0.45-0.49 s a batch against 0.70-1.1 s).
_READ_AT_ONCE_FROM = 8
#: Shipped weights: nothing damped (no fit window's share), saturation reported at the default.
_SHIPPED = combine.HitWeighting()


class Explain(StrEnum):
    """Which assessments carry reasons."""

    AUTO = "auto"
    ALL = "all"
    NONE = "none"


def assess(
    items: pl.DataFrame,
    *,
    history: pl.DataFrame | None,
    outcomes: pl.DataFrame,
    model: RiskModel,
    explain_rows: Explain = Explain.AUTO,
    profiles: ProfileSet | None = None,
    parties: pl.DataFrame | None = None,
    hits: pl.DataFrame | None = None,
    state: tuple[Store, datetime] | None = None,
    states: pl.DataFrame | None = None,
    weighting: combine.HitWeighting = _SHIPPED,
    sources: Sequence[HitSource] = (),
    at: datetime | None = None,
) -> pl.DataFrame:
    """Assess the consignments of ``items`` (goods-item rows, ``store.reads.goods_item_rows``).

    ``history`` holds the goods-item rows of every consignment known (it may include
    ``items``), ``outcomes`` the control outcomes known now. ``profiles`` run on the batch
    (``parties``, from ``store.reads.parties``, gives them party names); ``hits`` are
    what the other sources found (anomalies, screening, graph; a hits frame, ``risk.hits``).
    Returns, per consignment in the order of ``items``: ``consignment_id``, ``version``,
    ``lodged_at``, ``probability`` (combined, ``risk.combine``), ``model_probability``,
    ``score``, ``revenue_at_stake_eur``, ``lane_floor``, ``referral``, ``critical``,
    ``reasons`` (JSON) and ``explained``. Without ``history``, the entity histories come from
    the kept entity state: ``states``, rows of it (``entity_states`` layout; at least those
    of the batch's keys, ``features.batch_state``; outcomes known before ``state``'s moment
    where ``state`` is given too), or ``state`` (a store and the moment outcomes are known
    before), read for a few consignments one lookup at a time, for a larger batch at once.
    The history path remains for callers whose outcomes are not the store's (training,
    evaluation, simulation, drift, hit-weight fitting, profile tests on a period).
    ``weighting``: the fitted hit weights to apply and the saturation threshold
    (``risk.combine.reweigh``); by default the shipped weights, nothing damped. Only the share a
    fitted set recorded damps, never the batch's: a consignment's assessment does not depend on
    the batch it is in. ``sources``: the plug-in hit sources (``risk.hit_sources``), asked about
    every consignment as of ``at`` (default: its own lodging time).
    """
    return _assess(
        items, history=history, outcomes=outcomes, model=model, explain_rows=explain_rows,
        profiles=profiles, parties=parties, hits=hits, state=state, states=states,
        weighting=weighting, sources=sources, at=at,
    )[0]  # fmt: skip


def _assess(
    items: pl.DataFrame,
    *,
    history: pl.DataFrame | None,
    outcomes: pl.DataFrame | None,
    model: RiskModel,
    explain_rows: Explain,
    profiles: ProfileSet | None,
    parties: pl.DataFrame | None,
    hits: pl.DataFrame | None,
    state: tuple[Store, datetime] | None,
    weighting: combine.HitWeighting,
    sources: Sequence[HitSource],
    at: datetime | None,
    states: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, tuple[combine.Saturated, ...]]:
    """``assess``, and the codes found saturating."""
    # The goods items' values in EUR, duties and prices per kg: once, for the declared
    # features and the traffic norms both.
    items = declared.item_features(items)
    if history is None and states is not None:
        batch = assessment.assessment_frame_from_snapshot(
            items, states=states, reference=model.reference,
            known_before=None if state is None else state[1],
        )  # fmt: skip
    elif history is None:
        if state is None:
            raise ValueError("assess needs the history or the store's entity state")
        # Both give the same frame; one lookup per consignment and entity is quicker for a
        # few consignments, reading the keys' rows at once for more.
        few = items.get_column("consignment_id").n_unique() < _READ_AT_ONCE_FROM
        read = (assessment.assessment_frame_from_state if few
                else assessment.assessment_frame_from_kept_state)  # fmt: skip
        with state[0].reading() as conn:
            batch = read(items, conn=conn, reference=model.reference, known_before=state[1])
    else:
        if outcomes is None:
            raise ValueError("assess needs the outcomes with the history")
        batch = assessment.assessment_frame(
            items, history=history, outcomes=outcomes, reference=model.reference
        )
    return score_frame(
        batch, items, model=model, explain_rows=explain_rows, profiles=profiles,
        parties=parties, hits=hits, weighting=weighting, sources=sources, at=at,
    )  # fmt: skip


def score_frame(
    batch: pl.DataFrame,
    items: pl.DataFrame,
    *,
    model: RiskModel,
    explain_rows: Explain,
    profiles: ProfileSet | None,
    parties: pl.DataFrame | None,
    hits: pl.DataFrame | None,
    weighting: combine.HitWeighting,
    sources: Sequence[HitSource] = (),
    at: datetime | None = None,
) -> tuple[pl.DataFrame, tuple[combine.Saturated, ...]]:
    """The assessments of ``batch`` (the assessment frame of ``items``, entity histories
    included: ``features.assessment``), and the hit codes found saturating.

    Pure: no store, no clock; everything it needs is an argument. Every path calls it: the
    store's scoring runs (``assess``), the Arrow batch function (``risk.batch``) that Spark's
    ``mapInArrow`` calls, evaluation. The plug-in hit ``sources`` (``risk.hit_sources``),
    asked as of ``at``, are the one exception: a source may read what it holds (a store's
    carrier documents, a partner's alerts); the Arrow path passes none.
    """
    x = batch.select(assessment.COLUMNS)
    matrix = model.fraud.matrix(x)
    # Both models are trained on the same columns: one matrix serves both (built once).
    same = model.revenue.features == model.fraud.features
    probability = model.fraud.predict_proba(matrix)[:, 1]
    # Nothing below needs the revenue until the end: LightGBM runs it on another core while
    # this thread combines and writes reasons (Python, one core).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quaywatch-revenue") as pool:
        revenue_at_stake = pool.submit(model.revenue.predict, matrix if same else x)
        every = source_hits(
            batch,
            items,
            profiles=profiles,
            parties=parties,
            hits=hits,
            norms=model.norms,
            sources=sources,
            at=at,
        )
        every, saturated = combine.reweigh(every, batch.height, weighting)
        scored = _combine_and_explain(batch, x, matrix, probability, model, every,
                                      explain_rows=explain_rows)  # fmt: skip
        revenue = np.round(np.maximum(revenue_at_stake.result(), 0.0), 2)
    return scored.with_columns(pl.Series("revenue_at_stake_eur", revenue)).select(
        *declared.KEY, "lodged_at", "probability", "model_probability", "score",
        "revenue_at_stake_eur", "lane_floor", "referral", "critical", "reasons", "explained",
    ), saturated  # fmt: skip


def source_hits(
    batch: pl.DataFrame,
    items: pl.DataFrame,
    *,
    profiles: ProfileSet | None,
    parties: pl.DataFrame | None,
    hits: pl.DataFrame | None,
    norms: TrafficNorms | None = None,
    sources: Sequence[HitSource] = (),
    at: datetime | None = None,
) -> pl.DataFrame:
    """Every source's hits for the consignments of ``batch``, with their shipped weights.

    ``batch`` is the assessment frame of ``items`` (``features.assessment``); ``hits`` what the
    store-reading sources found (``risk.signals``), ``profiles`` run on the batch (``parties``
    names them), ``norms`` the model's traffic norms (``risk.norms``), ``sources`` the plug-in
    hit sources (``risk.hit_sources``), each consignment as of ``at`` (default: its lodging
    time). The fitting of hit weights (``services.hit_weights``) calls this too, so that it sees
    exactly the hits scoring sees.
    """
    found = [] if hits is None else [hits]
    if profiles is not None and len(profiles):
        found.append(profiles.apply(with_extras(batch, items, parties)))
    if norms is not None:  # risk without labels: the declaration against usual traffic
        found.append(norms.hits(declared.item_features(items), batch))
    if sources:
        moment = pl.col("lodged_at") if at is None else pl.lit(at)
        found.append(hit_sources.collect(sources, hit_sources.consignments_of(batch, moment)))
    every = pl.concat([hitframe.conform(h) for h in found]) if found else hitframe.empty()
    if not every.is_empty():
        every = every.join(batch.select(declared.KEY), on=list(declared.KEY), how="semi")
    return every


def _combine_and_explain(
    batch: pl.DataFrame,
    x: pl.DataFrame,
    matrix: fr.Matrix,
    probability: npt.NDArray[np.float64],
    model: RiskModel,
    every: pl.DataFrame,
    *,
    explain_rows: Explain,
) -> pl.DataFrame:
    """The model's probabilities combined with every source's hits (``every``), and the reasons."""
    keys = batch.select(declared.KEY)
    combined = combine.combine(keys.with_columns(pl.Series("probability", probability)), every)
    probability = combined.get_column("probability").to_numpy()
    if explain_rows is Explain.ALL:
        chosen = np.arange(x.height)
    elif explain_rows is Explain.AUTO:
        # Out of the green lane: by score, or because a hit demands a lane or a referral.
        demanded = (
            combined.select(pl.col("lane_floor").is_not_null() | pl.col("referral").is_not_null())
            .to_series()
            .to_numpy()
        )
        chosen = np.flatnonzero((probability >= model.review_probability) | demanded)
    else:
        chosen = np.arange(0)
    texts = []
    if chosen.size:
        # The model's columns, and the context its reason templates name (which item, which HS6).
        picked = batch.select(*assessment.COLUMNS, *declared.CONTEXT)[chosen]
        contributions = model.fraud.contributions(matrix[chosen])
        from_model = explain.model_reasons(contributions, picked, top=TOP_REASONS)
        from_hits = [] if every.is_empty() else [combine.hit_reasons(keys[chosen], every)]
        merged = explain.merge(from_model, *from_hits, top=TOP_REASONS)
        texts = [explain.to_json(r) for r in merged]
    explained = np.zeros(x.height, dtype=np.bool_)
    explained[chosen] = True
    # Most rows carry no reason: their JSON is one constant, gathered like the others rather
    # than written a million times.
    slot = np.full(x.height, len(texts), dtype=np.int64)
    slot[chosen] = np.arange(chosen.size)
    reasons = pl.Series("reasons", [*texts, "[]"], pl.String).gather(slot)
    return batch.select(*declared.KEY, "lodged_at").with_columns(
        pl.Series("probability", probability),
        combined.get_column("model_probability"),
        pl.Series("score", np.round(probability * 100, 1)),
        combined.get_column("lane_floor"),
        combined.get_column("referral"),
        combined.get_column("critical"),
        reasons,
        pl.Series("explained", explained),
    )


@dataclass(frozen=True, slots=True)
class ScoringRun:
    """What one scoring run did, and the assessments it stored.

    ``weight_set``: the fitted hit weight set applied (None: shipped weights); ``saturated``:
    the hit codes found firing on more than the saturation share in the set's fit window (their
    weights damped) or in this batch (reported only, ``risk.combine.Saturated``).
    """

    run_id: str
    model_version: str
    assessed: int
    explained: int
    assessments: pl.DataFrame
    weight_set: int | None = None
    saturated: tuple[combine.Saturated, ...] = ()


#: A period run reads its entity histories from the kept state when the period holds at most
#: this share of the stored goods items, else recomputes them from the whole history: the
#: state has a row per key and lodging (about nine per goods item), so for a period that is
#: most of the store, reading the keys' rows costs more than the history they summarise.
#: Measured on 60,000 generated consignments on SQLite (``quaywatch score``): the whole period
#: 8.9-10.2 s from history against 14.2-17.9 s from the state; its last day (4 %) 5.2 s from
#: history against 4.7 s from the state, with 100 MB less memory. The features are equal.
#: (Measured reading ``entity_states``; a run now reads its tallies, a fifth of the rows, and
#: the share has not been measured again.)
STATE_READ_MAX_SHARE = 0.25


def _from_history(store: Store, since: datetime | None) -> bool:
    """Whether a period run from ``since`` recomputes the entity histories from the whole
    history rather than reading the kept state: decided by counting, before anything is read.

    Both counts are of the goods items of consignments' newest versions, what
    ``reads.goods_item_rows`` returns: an amended consignment's older versions would make the
    period look a smaller share than it is.
    """
    if since is None:
        return True
    c, g = tables.consignments, tables.goods_items
    newest = (
        sa.select(c.c.consignment_id, sa.func.max(c.c.version).label("version"))
        .group_by(c.c.consignment_id)
        .subquery("newest")
    )
    counts = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((c.c.lodged_at >= since, 1), else_=0)), 0),
    ).select_from(
        g.join(
            newest,
            (g.c.consignment_id == newest.c.consignment_id) & (g.c.version == newest.c.version),
        ).join(c, (c.c.consignment_id == g.c.consignment_id) & (c.c.version == g.c.version))
    )
    with store.reading() as conn:
        stored, period = conn.execute(counts).one()
    return int(period) > STATE_READ_MAX_SHARE * int(stored)


def score_store(
    store: Store,
    model: RiskModel,
    *,
    now: datetime,
    since: datetime | None = None,
    keys: pl.DataFrame | None = None,
    rescore: bool = False,
    actor: str = "system",
    explain_rows: Explain = Explain.AUTO,
    saturation_pct: float = combine.SATURATION_PCT,
    sources: Sequence[HitSource] = (),
) -> ScoringRun:
    """Assess stored consignments with ``model`` and every active source; store the results.

    Without ``rescore``: consignments this model version has not assessed yet, and those whose
    containers received events since their latest assessment (re-assessment); with ``since``,
    only those lodged at or after it; with ``keys`` (``consignment_id``, ``version``), only
    those. Outcomes are those known at ``now``; so are the events, watchlists and party links
    the other sources read (``risk.signals``). The active fitted hit weight set applies
    (``risk.weight_sets``); codes firing on more than ``saturation_pct`` % of its fit window are
    damped, those firing on more than that share of this batch reported
    (``risk.combine.reweigh``); both are recorded with the run. ``sources``: the plug-in hit
    sources (``risk.hit_sources``; the services pass ``services.hit_sources.registered``), as
    of ``now``; a consignment one of them has new evidence about is assessed again, as one
    whose containers received events.
    """
    history: pl.DataFrame | None = None
    # Only the history path reads every outcome; the kept state and the live sources read
    # what they need (``risk.signals``).
    outcomes: pl.DataFrame | None = None
    if keys is not None:
        # A few consignments: their goods items only, entity histories from the kept state.
        ids = keys.get_column("consignment_id").unique().to_list()
        items = reads.goods_item_rows(store, consignment_ids=ids)
        if since is not None:
            items = items.filter(pl.col("lodged_at") >= since)
        items = items.join(keys.select(declared.KEY), on=list(declared.KEY), how="semi")
    else:
        # A period: its goods items only, the entity histories from the kept state; or, when
        # the period is most of what is stored, from the whole history (``_from_history``).
        if _from_history(store, since):
            history = reads.goods_item_rows(store)
            outcomes = reads.control_outcomes(store, known_before=now)
            items = history if since is None else history.filter(pl.col("lodged_at") >= since)
        else:
            items = reads.goods_item_rows(store, lodged_from=since)
    if not rescore:
        asked = None if keys is None else items.get_column("consignment_id").unique().to_list()
        done = reads.assessed(store, model.version, asked)
        changed = pl.concat([anomaly.stale(store, asked), hit_sources.stale(sources, asked)])
        due = done.join(changed, on=list(declared.KEY), how="anti")
        items = items.join(due, on=list(declared.KEY), how="anti")
    run_id = str(uuid.uuid4())
    reference_version = reference.version()
    if items.is_empty():
        return ScoringRun(run_id, model.version, 0, 0, pl.DataFrame())
    profiles = active_profiles(store)
    # Profiles name the parties of the consignments assessed: of a few, only theirs are read.
    party_keys = None
    if keys is not None:
        named = [items.get_column(f"{role}_key") for role in NAMED_ROLES if f"{role}_key" in items]
        party_keys = sorted({key for column in named for key in column.drop_nulls()})
    weights = weight_sets.active(store)
    found, saturated = _assess(
        items, history=history, outcomes=outcomes, model=model, explain_rows=explain_rows,
        profiles=profiles, parties=reads.parties(store, party_keys),
        hits=signals.store_hits(store, items, outcomes=outcomes, now=now, live=True),
        state=(store, now),
        weighting=combine.HitWeighting(weights, saturation_pct),
        sources=sources, at=now,
    )  # fmt: skip
    weight_set = None if weights is None else weights.version
    rows = found.drop("lodged_at").with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).alias("assessed_at"),
        pl.lit(model.version).alias("model_version"),
        pl.lit(profiles.version if len(profiles) else None, pl.String).alias("profile_version"),
        pl.lit(weight_set, pl.Int64).alias("weight_set"),
        pl.lit(reference_version, pl.String).alias("reference_version"),
    )
    columns = [c.name for c in tables.assessments.columns if c.name != "assessment_id"]
    explained = int(found.get_column("explained").sum())
    with store.transaction() as conn:
        store.bulk_insert(conn, tables.assessments, rows.select(columns))
        chain.append(
            conn, actor=actor, action="score", object_type="scoring_run", object_id=run_id,
            details={"model_version": model.version, "assessed": found.height,
                     "explained": explained, "since": since.isoformat() if since else None,
                     "profile_version": profiles.version if len(profiles) else None,
                     "weight_set": weight_set, "saturation_pct": saturation_pct,
                     "reference_version": reference_version,
                     "saturated": [s.to_dict() for s in saturated]},
        )  # fmt: skip
    return ScoringRun(run_id, model.version, found.height, explained, found, weight_set,
                      saturated)  # fmt: skip
