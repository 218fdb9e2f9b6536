"""Retraining: a challenger trained with inverse-propensity weights, judged against the champion.

``retrain`` runs one cycle of the learning loop against the store:

1. train a **challenger** on the outcomes known before ``until`` (``learning.train.fit`` with
   the weighting, the minimum of hits and its override that ``quaywatch train`` uses too,
   ``learning.options``) and save it beside the other models, *without* making it current;
2. score the **random control sample** of the evaluation window with the champion (the model
   ``models/CURRENT`` names) and the challenger: consignments lodged from ``until`` (or from the
   champion's own training cut, if later, so that neither has seen their outcomes) to ``to``,
   whose random control's outcome was known before ``to`` (``learning.champion``);
3. **promote** the challenger (rewrite ``CURRENT``) only when it wins by the criterion, or when
   forced, or when there is no champion yet; a promoted challenger is compiled for large
   batches first (``RiskModel.compile``, objects kept in its final folder), so that it goes
   live as fast as ``quaywatch train`` leaves a model;
4. append the decision, ``model_promote`` or ``model_keep``, with every figure, to the audit log.

The promoted model is the one that was evaluated, trained up to ``until``: what was measured is
what goes live. The evaluation window's outcomes feed the next cycle's challenger.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from quaywatch.audit import chain
from quaywatch.errors import InputError, ModelError
from quaywatch.features import declared
from quaywatch.learning import champion as cc, train
from quaywatch.learning.options import DEFAULT_WEIGHTING, MAX_WEIGHT, MIN_HITS, Weighting
from quaywatch.risk import engine
from quaywatch.risk.bundle import CURRENT, RiskModel
from quaywatch.store import reads
from quaywatch.store.store import Store


@dataclass(frozen=True, slots=True)
class Retrain:
    """What one retraining cycle did."""

    challenger: RiskModel
    champion_version: str | None
    evaluated_from: datetime
    evaluated_to: datetime
    comparison: cc.Comparison
    decision: cc.Decision
    promoted: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: what the audit event records."""
        return {
            "challenger": self.challenger.version,
            "champion": self.champion_version,
            "trained_until": self.challenger.trained_until.isoformat(),
            "evaluated": [self.evaluated_from.isoformat(), self.evaluated_to.isoformat()],
            "promoted": self.promoted,
            "reason": self.decision.reason,
            "comparison": self.comparison.to_dict(),
            "challenger_metrics": self.challenger.metrics,
            "warnings": list(self.challenger.metrics.get("warnings", [])),
        }


def current_version(models: Path) -> str | None:
    """The version ``models/CURRENT`` names, or None when there is none."""
    pointer = models / CURRENT
    return pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None


def save_candidate(model: RiskModel, models: Path) -> Path:
    """Save ``model`` under ``models/<version>`` without making it current."""
    models.mkdir(parents=True, exist_ok=True)
    # RiskModel.save always makes what it saves current: save into a private folder on the same
    # disk and move the version in, so CURRENT is never touched, not even for a moment.
    target = models / model.version
    if target.exists():
        raise ModelError(f"model {model.version} already exists in {models}")
    with tempfile.TemporaryDirectory(dir=models, prefix=".candidate-") as staging:
        model.save(Path(staging)).rename(target)
    return target


def make_current(models: Path, version: str) -> None:
    """Point ``models/CURRENT`` at ``version`` in one atomic rename."""
    pointer = models / f".{CURRENT}.new"
    pointer.write_text(version + "\n", encoding="utf-8")
    os.replace(pointer, models / CURRENT)


def sample_scores(
    model: RiskModel, sample: pl.DataFrame, *, history: pl.DataFrame, outcomes: pl.DataFrame
) -> pl.Series:
    """The fraud model's probability for each consignment of ``sample``, in its order.

    Through ``engine.assess``, the one scoring function: each consignment sees the outcomes
    known when it was lodged, as a live assessment did.
    """
    items = history.join(sample.select(declared.KEY), on=list(declared.KEY), how="semi")
    if items.is_empty():
        return pl.Series("model_probability", [], pl.Float64)
    found = engine.assess(
        items, history=history, outcomes=outcomes, model=model, explain_rows=engine.Explain.NONE
    )
    return sample.select(declared.KEY).join(
        found.select(*declared.KEY, "model_probability"), on=list(declared.KEY), how="left"
    )["model_probability"]


def retrain(
    store: Store,
    *,
    models: Path,
    until: datetime,
    to: datetime,
    capacity_pct: float,
    actor: str,
    weighting: Weighting = DEFAULT_WEIGHTING,
    max_weight: float = MAX_WEIGHT,
    min_hits: int = MIN_HITS,
    allow_few_hits: bool = False,
    criterion: cc.Criterion = cc.Criterion.AUC,
    promote: bool = True,
    force: bool = False,
    params: dict[str, Any] | None = None,
    rounds: int = cc.ROUNDS,
) -> Retrain:
    """One cycle: train a challenger until ``until``, compare on the random sample to ``to``.

    ``promote`` false never moves ``CURRENT``; ``force`` promotes whatever the comparison says
    (both recorded). Raises ``InputError`` naming the arguments when ``to`` is not after
    ``until`` or ``force`` comes with ``promote`` false, and (from ``train.fit``) when there is
    too little to learn from: fewer than ``min_hits`` hits unless ``allow_few_hits``.
    """
    if not until < to:
        raise InputError(
            f"to ({to.isoformat()}) must be after until ({until.isoformat()}): the random "
            "sample after the training cut judges the challenger"
        )
    if force and not promote:
        raise InputError("force and promote=False contradict each other: choose one")
    champion_version = current_version(models)
    champ = RiskModel.load(models) if champion_version else None
    history = reads.goods_item_rows(store, lodged_before=to)
    outcomes = reads.control_outcomes(store, known_before=to)
    challenger = train.fit(
        history.filter(pl.col("lodged_at") < until), outcomes.filter(pl.col("known_at") < until),
        until=until, capacity_pct=capacity_pct, params=params, weighting=weighting,
        max_weight=max_weight, min_hits=min_hits, allow_few_hits=allow_few_hits,
    )  # fmt: skip
    folder = save_candidate(challenger, models)
    start = max(until, champ.trained_until) if champ else until
    sample = cc.random_sample(outcomes, history, start=start, end=to)
    new = sample_scores(challenger, sample, history=history, outcomes=outcomes)
    old = sample_scores(champ, sample, history=history, outcomes=outcomes) if champ else new
    comparison = cc.compare(
        old.to_numpy(), new.to_numpy(), sample["hit"].to_numpy(),
        capacity_pct=capacity_pct, rounds=rounds,
    )  # fmt: skip
    if champ is None:
        decision = cc.Decision(True, "no champion yet: the challenger becomes the first model")
    else:
        decision = cc.decide(comparison, criterion)
    if force:
        decision = cc.Decision(True, f"forced by the operator ({decision.reason})")
    elif not promote:
        decision = cc.Decision(False, f"promotion not asked for ({decision.reason})")
    if decision.promote:
        # Into the folder the version was moved to (not the staging folder it was saved in),
        # and before the transaction: compiling takes seconds, it holds no lock meanwhile.
        challenger.compile(folder)
    result = Retrain(challenger, champion_version, start, to, comparison, decision,
                     decision.promote)  # fmt: skip
    with store.transaction() as conn:
        chain.append(
            conn, actor=actor, action="model_promote" if result.promoted else "model_keep",
            object_type="model", object_id=challenger.version,
            details={**result.to_dict(), "criterion": criterion.value, "forced": force},
        )  # fmt: skip
        # The live model switches inside the audit transaction: if the audit event cannot be
        # written, nothing changed; if the switch fails, the event is rolled back with it.
        if decision.promote:
            make_current(models, challenger.version)
    return result
