"""Training on what was controlled: consignments with a known control outcome, as of a date.

Only a controlled consignment has a label, and only once its outcome is recorded, so a model
trained "until" a moment sees the consignments lodged before it whose outcome was known before
it, each with the features it had when lodged (``features.assessment``). A hit is a seizure or an
irregularity worth recovering (``assessment.hit``); the revenue model learns the revenue
recovered. The
latest fifth of the labelled consignments, by lodging time, is held out: LightGBM stops early on
it, the fraud probability is calibrated on it, and the review cut (the probability above which
an assessment leaves the green lane) is the one that would have sent the control capacity's
share of it to review.

``weighting=Weighting.IPW`` corrects the selection bias of past controls: every labelled
consignment is weighted by its clipped, self-normalised inverse propensity
(``learning.weights``, which says why that works and what clipping trades), in training, early
stopping, calibration, the review cut and the held-out figures, which then estimate what the
model does on the whole traffic rather than on the controlled part of it. The weighting is
recorded in the model's metrics.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from quaywatch.errors import InputError
from quaywatch.features import assessment, declared
from quaywatch.learning import metrics, weights
from quaywatch.learning.weights import Weighting
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.model import EvalSet, FraudModel, RevenueModel
from quaywatch.risk.norms import TrafficNorms

#: Strong smoothing of categories: ports, lanes and subheadings have hundreds of values and few
#: labelled controls each (chosen on the held-out fifth: AUC 0.80 -> 0.83).
PARAMS: dict[str, Any] = {
    "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 20,
    "cat_smooth": 50.0, "min_data_per_group": 100,
}  # fmt: skip
ROUNDS = 2_000
HELD_OUT = 0.2
#: Fewer labelled consignments than this, or fewer hits, and a model would only learn noise.
MIN_LABELLED, MIN_HITS = 200, 20


def labelled(inputs: pl.DataFrame, outcomes: pl.DataFrame, *, until: datetime) -> pl.DataFrame:
    """``inputs`` of the consignments controlled with an outcome known before ``until``.

    Adds ``hit`` (any control of it found something), ``revenue_recovered_eur`` and
    ``propensity`` (the lowest selection probability among its controls), sorted by lodging.
    """
    known = outcomes.filter(pl.col("known_at") < until)
    labels = known.group_by(*declared.KEY).agg(
        assessment.hit().any().alias("hit"),
        pl.col("revenue_recovered_eur").sum(),
        pl.col("propensity").min(),
    )
    return (
        inputs.filter(pl.col("lodged_at") < until)
        .join(labels, on=list(declared.KEY), how="inner")
        .sort("lodged_at", *declared.KEY)
    )


def fit(
    items: pl.DataFrame,
    outcomes: pl.DataFrame,
    *,
    until: datetime,
    capacity_pct: float,
    params: dict[str, Any] | None = None,
    weighting: Weighting = Weighting.NONE,
    max_weight: float = weights.MAX_WEIGHT,
) -> RiskModel:
    """Train a ``RiskModel`` on the goods items and control outcomes known before ``until``.

    ``weighting`` and ``max_weight``: see the module docstring and ``learning.weights``.
    """
    items = items.filter(pl.col("lodged_at") < until)
    goods = declared.item_features(items)
    # Learnt from reference traffic: what was under suspicion before ``until`` sets no price.
    reference = declared.ValueReference.fit(
        goods, outcomes=outcomes.filter(pl.col("known_at") < until), at=until
    )
    consignments = declared.consignment_features(goods, reference)
    known = outcomes.filter(pl.col("known_at") < until)
    inputs = assessment.model_inputs(consignments, consignments=consignments, outcomes=known)
    inputs = inputs.with_columns(consignments.get_column("lodged_at"))
    rows = labelled(inputs, known, until=until)
    hits = int(rows.get_column("hit").sum()) if rows.height else 0
    if rows.height < MIN_LABELLED or hits < MIN_HITS:
        raise InputError(
            f"only {rows.height} controlled consignments with a known outcome ({hits} hits) "
            f"before {until.isoformat()}; at least {MIN_LABELLED} and {MIN_HITS} hits are needed"
        )
    cut = int(rows.height * (1 - HELD_OUT))
    train = weights.with_weights(rows[:cut], weighting, max_weight=max_weight)
    held = weights.with_weights(rows[cut:], weighting, max_weight=max_weight)
    w_train = None if weighting is Weighting.NONE else train["weight"].to_numpy()
    w_held = None if weighting is Weighting.NONE else held["weight"].to_numpy()
    columns = list(assessment.COLUMNS)
    window = (str(train["lodged_at"].min()), str(train["lodged_at"].max()))
    settings = {**PARAMS, **(params or {})}
    fraud = FraudModel(settings, num_boost_round=ROUNDS).fit(
        train.select(columns), train["hit"].cast(pl.Float64).to_numpy(), sample_weight=w_train,
        eval_set=_eval_set(held.select(columns), held["hit"].cast(pl.Float64).to_numpy(), w_held),
        training_window=window,
    )  # fmt: skip
    revenue = RevenueModel(settings, num_boost_round=ROUNDS).fit(
        train.select(columns), train["revenue_recovered_eur"].to_numpy(), sample_weight=w_train,
        eval_set=_eval_set(held.select(columns), held["revenue_recovered_eur"].to_numpy(), w_held),
        training_window=window,
    )  # fmt: skip
    probability = fraud.predict_proba(held.select(columns))[:, 1]
    outcome = held["hit"].to_numpy().astype(np.bool_)
    if w_held is None:
        k = metrics.cutoff(held.height, capacity_pct)
        review = float(np.sort(probability)[::-1][k - 1])
        at = metrics.at_ks(probability, outcome, held["revenue_recovered_eur"].to_numpy(), [k])[0]
        auc, brier = metrics.roc_auc(probability, outcome), metrics.brier(probability, outcome)
        precision = at.precision
    else:
        review = weights.weighted_cut(probability, w_held, capacity_pct)
        auc = weights.weighted_auc(probability, outcome, w_held)
        brier = weights.weighted_brier(probability, outcome, w_held)
        precision = weights.weighted_precision(probability, outcome, w_held, review)
    figures = {
        "labelled": rows.height, "hits": hits, "held_out": held.height,
        "held_out_auc": auc, "held_out_brier": brier,
        "held_out_precision_at_capacity": precision,
        "capacity_pct": capacity_pct, "training_window": list(window),
        **weights.summary(train, weighting, max_weight=max_weight),
    }  # fmt: skip
    trained = f"{fraud.metadata['data_sha256']}{until.isoformat()}"
    digest = hashlib.sha256(trained.encode()).hexdigest()
    version = f"fraud-{datetime.now(UTC):%Y%m%d-%H%M%S}-{digest[:8]}"
    norms = TrafficNorms.fit(goods, consignments, suspect=rows.filter(pl.col("hit")))
    figures["norms"] = norms.summary
    return RiskModel(version, fraud, revenue, reference, review, until, figures, norms)


def _eval_set(x: pl.DataFrame, y: np.ndarray, weight: np.ndarray | None) -> EvalSet:
    return (x, y) if weight is None else (x, y, weight)
