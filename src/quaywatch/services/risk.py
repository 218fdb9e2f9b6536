"""Use cases of the risk engine: train a model, score the stored traffic, list event anomalies.

- ``train_models``: fit the fraud and revenue models on the controlled consignments and their
  outcomes known before a moment (inverse-propensity weighted by default, refused below the
  minimum of hits unless allowed: the options ``retrain`` shares, ``learning.options``), save
  them as the current model, compile them for large batches, append the audit event
  ``train``; the result carries the hits, the held-out figures and the warnings;
- ``compile_models``: compile a saved model for large batches on this machine (a model folder
  copied from another machine, where the compiled objects are machine code for its CPU);
- ``score_period``: assess stored consignments with a model and every active source, store the
  assessments (the engine appends the audit event ``score``), and give the highest scores;
- ``list_anomalies``: the consignments whose container events show anomalies, heaviest first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from quaywatch.audit import chain
from quaywatch.errors import InputError
from quaywatch.learning import train as training
from quaywatch.learning.options import (
    DEFAULT_WEIGHTING,
    MAX_WEIGHT,
    MIN_HITS,
    Weighting,
    check_training,
)
from quaywatch.risk import anomaly, combine, compiled as compiler, engine, explain
from quaywatch.risk.anomaly import reads as anomaly_reads
from quaywatch.risk.bundle import RiskModel, folder_of
from quaywatch.services import hit_sources, profiles
from quaywatch.services.arguments import check_at_least, check_capacity_pct, utc
from quaywatch.store import reads
from quaywatch.store.store import Store

#: Reasons given with each of the highest scores.
TOP_REASONS = 3


def _utc_or_now(moment: datetime | None) -> datetime:
    return datetime.now(UTC) if moment is None else utc(moment)


@dataclass(frozen=True, slots=True)
class TrainResult:
    """A trained model: its version, what it learnt from, how it did on held-out consignments.

    ``labelled``: controlled consignments with a known outcome, ``hits`` the positives among
    them (``held_out`` and ``held_out_hits`` the same for the latest fifth, held out);
    ``held_out_auc`` and ``held_out_precision_at_capacity`` are weighted when ``weighting`` is
    inverse propensity, ``None`` when undefined (no hit held out); ``warnings``: what an
    analyst must know before trusting the model (too few hits, precision 0, AUC about 0.5).
    ``window_start`` / ``window_end``: lodging times of the first and last training
    consignment; ``compiled``: whether both models are compiled for large batches here;
    ``metrics``: every figure stored in the model's manifest, the warnings included.
    """

    version: str
    folder: Path
    until: datetime
    labelled: int
    hits: int
    window_start: datetime
    window_end: datetime
    held_out: int
    held_out_hits: int
    held_out_auc: float | None
    held_out_precision_at_capacity: float | None
    capacity_pct: float
    weighting: Weighting
    compiled: bool
    warnings: tuple[str, ...]
    metrics: dict[str, Any]


def train_models(
    store: Store,
    *,
    until: datetime | None = None,
    model_dir: Path,
    capacity_pct: float,
    actor: str,
    weighting: Weighting = DEFAULT_WEIGHTING,
    max_weight: float = MAX_WEIGHT,
    min_hits: int = MIN_HITS,
    allow_few_hits: bool = False,
) -> TrainResult:
    """Train on the goods items lodged and the control outcomes known before ``until`` (now).

    The model is saved under ``model_dir/<version>`` and becomes the current one; both models
    are compiled right away so that the first large scoring run does not wait. A naive
    ``until`` is UTC. ``weighting`` and ``max_weight``: inverse-propensity weights (the
    default) or none, as ``retrain`` (``learning.options``). Raises ``InputError`` when too
    few controlled consignments are known, and, saying what to do instead, when fewer than
    ``min_hits`` of them are hits, unless ``allow_few_hits`` (then the model is trained and
    carries the warning; ``learning.train`` says why refusing is the default).
    """
    check_capacity_pct(capacity_pct)
    check_training(max_weight, min_hits)
    moment = _utc_or_now(until)
    items = reads.goods_item_rows(store, lodged_before=moment)
    outcomes = reads.control_outcomes(store, known_before=moment)
    model = training.fit(
        items, outcomes, until=moment, capacity_pct=capacity_pct, weighting=weighting,
        max_weight=max_weight, min_hits=min_hits, allow_few_hits=allow_few_hits,
    )  # fmt: skip
    folder = model.save(model_dir)
    compiled = model.compile(folder)
    m = model.metrics
    with store.transaction() as conn:
        chain.append(
            conn, actor=actor, action="train", object_type="model", object_id=model.version,
            details={"until": moment.isoformat(), **m},
        )  # fmt: skip
    start, end = (datetime.fromisoformat(t) for t in m["training_window"])
    return TrainResult(
        version=model.version, folder=folder, until=moment, labelled=int(m["labelled"]),
        hits=int(m["hits"]), window_start=start, window_end=end, held_out=int(m["held_out"]),
        held_out_hits=int(m["held_out_hits"]), held_out_auc=m["held_out_auc"],
        held_out_precision_at_capacity=m["held_out_precision_at_capacity"],
        capacity_pct=capacity_pct, weighting=Weighting(m["weighting"]), compiled=compiled,
        warnings=tuple(m["warnings"]), metrics=dict(m),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CompileResult:
    """A model compiled for large batches: which, where, whether both models are compiled
    here and the seconds it took. Not compiled (LightGBM then predicts) where the compiler is
    not installed (``compiler_installed``: the extra ``quaywatch[compiled]``), or where it
    failed or a compiled model differed from LightGBM."""

    version: str
    folder: Path
    compiled: bool
    compiler_installed: bool
    seconds: float


def compile_models(model_path: Path) -> CompileResult:
    """Compile the model in ``model_path`` (a model folder, or a models folder: its current
    model) for large batches on this machine, keeping the objects in its folder.

    Objects already compiled for this machine are loaded, not compiled again. Writes only
    into ``compiled/`` of the two models (no store record changes, so no audit event). A
    ``ModelError`` when there is no model there or its folder cannot be written.
    """
    folder = folder_of(model_path)
    model = RiskModel.load(folder)
    started = time.perf_counter()
    compiled = model.compile(folder)
    seconds = time.perf_counter() - started
    return CompileResult(model.version, folder, compiled, compiler.available(), seconds)


@dataclass(frozen=True, slots=True)
class ScoredConsignment:
    """One assessment of a scoring run: score (0-100), revenue at stake, its first reasons."""

    consignment_id: str
    version: int
    score: float
    probability: float
    revenue_at_stake_eur: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """What a scoring run did.

    ``explained``: assessments given reasons (those at or above ``review_probability``, and
    those a hit demands a lane or referral for); ``share_above_review``: of the assessed, the
    share at or above ``review_probability`` (None when nothing was assessed); ``top``: the
    highest scores, highest first; ``weight_set``: the fitted hit weight set applied (None:
    shipped weights); ``saturated``: hit codes firing on more than the saturation share of the
    set's fit window (damped) or of this run (reported only, ``risk.combine.Saturated``).
    """

    run_id: str
    model_version: str
    assessed: int
    explained: int
    review_probability: float
    share_above_review: float | None
    top: tuple[ScoredConsignment, ...]
    weight_set: int | None = None
    saturated: tuple[combine.Saturated, ...] = ()


def score_period(
    store: Store,
    *,
    model_path: Path,
    at: datetime | None = None,
    since: datetime | None = None,
    rescore: bool = False,
    explain_all: bool = False,
    top: int = 10,
    actor: str,
    saturation_pct: float = combine.SATURATION_PCT,
    key_dir: Path | None = None,
) -> ScoreResult:
    """Assess stored consignments with the model in ``model_path`` and store the assessments.

    ``model_path`` is a model folder or a models folder (its current model). Outcomes, events
    and watchlists are those known at ``at`` (now); with ``since``, only consignments lodged at
    or after it. Without ``rescore``, only what this model version has not assessed yet (and
    what received events since). ``explain_all`` gives reasons to every assessment. The active
    hit weight set applies; codes firing on more than ``saturation_pct`` % of its fit window are
    damped, those firing on more than that share of this run reported. ``key_dir``: the key
    directory, whose partner-group key lets de-identified partner seizures match.
    """
    if top < 0:
        raise InputError(f"top must be 0 or more, got {top}")
    model = RiskModel.load(model_path)
    run = engine.score_store(
        store, model, now=_utc_or_now(at), since=None if since is None else utc(since),
        rescore=rescore, actor=actor,
        explain_rows=engine.Explain.ALL if explain_all else engine.Explain.AUTO,
        saturation_pct=saturation_pct, sources=hit_sources.registered(store, key_dir),
    )  # fmt: skip
    if not run.assessed:
        return ScoreResult(run.run_id, run.model_version, 0, 0, model.review_probability, None, (),
                           run.weight_set, run.saturated)  # fmt: skip
    found = run.assessments
    share = found.select((pl.col("probability") >= model.review_probability).mean()).item()
    best = found.sort("score", descending=True).head(top)
    rows = tuple(
        ScoredConsignment(
            consignment_id=row["consignment_id"],
            version=int(row["version"]),
            score=float(row["score"]),
            probability=float(row["probability"]),
            revenue_at_stake_eur=float(row["revenue_at_stake_eur"]),
            reasons=tuple(r.text for r in explain.from_json(row["reasons"])[:TOP_REASONS]),
        )  # fmt: skip
        for row in best.iter_rows(named=True)
    )
    return ScoreResult(run.run_id, run.model_version, run.assessed, run.explained,
                       model.review_probability, float(share), rows, run.weight_set,
                       run.saturated)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomaly of a consignment: its detector, weight and reason; ``total_weight`` is the
    sum of the weights of every anomaly of that consignment (what the listing sorts by)."""

    consignment_id: str
    version: int
    detector: str
    weight: float
    total_weight: float
    lane: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class AnomalyListing:
    """The anomalies found with the events known at ``at``.

    ``consignments``: those looked at; ``flagged``: those with at least one anomaly;
    ``found``: anomalies in all; ``rows``: up to ``limit`` of them, heaviest consignment first.
    """

    at: datetime
    consignments: int
    flagged: int
    found: int
    limit: int
    rows: tuple[Anomaly, ...]


def reassess_recent(
    store: Store,
    *,
    model_path: Path,
    days: int,
    actor: str,
    saturation_pct: float = combine.SATURATION_PCT,
    key_dir: Path | None = None,
) -> ScoreResult:
    """Assess again, with the model in ``model_path`` and the profiles now in force, every
    consignment lodged in the last ``days`` days of stored traffic (``profiles.recent_start``):
    what an analyst does after putting a profile in force, before a new selection run plans
    the controls on the new assessments."""
    since = profiles.recent_start(store, days)
    return score_period(store, model_path=model_path, since=since, rescore=True, top=0,
                        actor=actor, saturation_pct=saturation_pct, key_dir=key_dir)  # fmt: skip


def list_anomalies(
    store: Store,
    *,
    since: datetime | None = None,
    at: datetime | None = None,
    code: str | None = None,
    stale: bool = False,
    limit: int = 50,
) -> AnomalyListing:
    """The consignments whose container events, as known at ``at`` (now), show anomalies.

    ``since``: only consignments lodged at or after it; ``code``: only this detector (e.g.
    ``seal_changed``, with or without its ``anomaly:`` prefix); ``stale``: only consignments
    with events received since their last assessment; ``limit``: rows given, heaviest first.
    """
    detector = None if code is None else code.removeprefix("anomaly:")
    if detector is not None and detector not in anomaly.DETECTORS:
        known = ", ".join(anomaly.DETECTORS)
        raise InputError(f"unknown detector {code!r}; the detectors are {known}")
    check_at_least("limit", limit)
    moment = _utc_or_now(at)
    boxes = anomaly_reads.boxes(store)
    keys = boxes.select("consignment_id", "version", "lodged_at").unique()
    if since is not None:
        keys = keys.filter(pl.col("lodged_at") >= utc(since))
    if stale:
        keys = keys.join(anomaly.stale(store), on=["consignment_id", "version"], how="semi")
    found = anomaly.detect(anomaly_reads.events(store), boxes, at=moment, keys=keys,
                           reference=anomaly_reads.reference(store, at=moment))  # fmt: skip
    if detector is not None:
        found = found.filter(pl.col("code") == f"anomaly:{detector}")
    total = found.group_by("consignment_id", "version").agg(pl.col("weight").sum().alias("total"))
    heaviest = (
        found.join(total, on=["consignment_id", "version"])
        .sort(["total", "consignment_id", "weight"], descending=[True, False, True])
        .head(limit)
    )
    rows = tuple(
        Anomaly(
            consignment_id=row["consignment_id"],
            version=int(row["version"]),
            detector=row["code"].removeprefix("anomaly:"),
            weight=float(row["weight"]),
            total_weight=float(row["total"]),
            lane=row["lane"],
            reason=row["text"],
        )  # fmt: skip
        for row in heaviest.iter_rows(named=True)
    )
    flagged = found.select("consignment_id", "version").n_unique()
    return AnomalyListing(moment, keys.height, flagged, found.height, limit, rows)
