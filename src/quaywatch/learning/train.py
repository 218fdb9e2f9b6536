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

``weighting=Weighting.IPW`` (the default of ``train`` and ``retrain`` alike,
``options.DEFAULT_WEIGHTING``) corrects the selection bias of past controls: every labelled
consignment is weighted by its clipped, self-normalised inverse propensity
(``learning.weights``, which says why that works and what clipping trades), in training, early
stopping, calibration, the review cut and the held-out figures, which then estimate what the
model does on the whole traffic rather than on the controlled part of it. The weighting is
recorded in the model's metrics.

**Honesty.** Every model records what it learnt from and how it did: the controlled
consignments (``labelled``) and the hits among them, the same for the held-out fifth, its AUC
and precision at the capacity (weighted when the training is), and ``warnings``: too few hits,
no hit at all in the held-out review share (precision 0), a ranking no better than chance (AUC
below ``NEAR_RANDOM_AUC``), or held-out figures that cannot be computed. The services print
them and return them; an API caller reads them in the result and in the model's metadata.

**Too few hits: refuse, unless told.** Below ``min_hits`` hits (``options.MIN_HITS``, 50, the
setting ``QUAYWATCH_TRAIN_MIN_HITS``) ``fit`` refuses with what to do instead (``ADVICE``),
unless ``allow_few_hits``; then it trains, down to the hard floor ``MIN_LABELLED`` /
``FLOOR_HITS``, and the warning goes with the model. Refusing is the default because
``quaywatch train`` makes its model current at once and the model then ranks every
consignment: on a port's own traffic a model from 25 hits ranked at about random (AUC 0.51 to
0.55) with a precision at 3 % below the base rate, displacing what works without labels
(random controls, profiles, the label-free component, fitted hit weights). A warning printed
after the fact is easily missed in a scheduled job; a refusal is not, and the override is one
flag away for whoever has read the figures. ``fit`` itself defaults ``min_hits`` to the floor:
the policy lab and the demo, which train week by week on generated traffic, keep their own
judgment.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from quaywatch.errors import InputError
from quaywatch.features import assessment, declared, reference as standing
from quaywatch.learning import metrics, weights
from quaywatch.learning.options import DEFAULT_WEIGHTING, Weighting
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
#: Fewer labelled consignments than this, or fewer hits, and a model would only learn noise:
#: refused even when few hits are allowed.
MIN_LABELLED, FLOOR_HITS = 200, 20
#: A held-out AUC below this is a ranking about as good as drawing lots (or worse).
NEAR_RANDOM_AUC = 0.55
#: What a port can do while it has too few hits for a model.
ADVICE = (
    "Until enough controls have found something: keep a random control sample running (its "
    "outcomes are the labels a model can trust: quaywatch select --random-rate), target with risk "
    "profiles written for your own traffic (docs/profiles.md), and rely on the label-free "
    "component and the hit weights fitted on your own outcomes (quaywatch weights fit), which "
    "need no model. Train again once the hits are there."
)


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
    weighting: Weighting = DEFAULT_WEIGHTING,
    max_weight: float = weights.MAX_WEIGHT,
    min_hits: int = FLOOR_HITS,
    allow_few_hits: bool = False,
) -> RiskModel:
    """Train a ``RiskModel`` on the goods items and control outcomes known before ``until``.

    ``weighting`` and ``max_weight``: see the module docstring and ``learning.weights``.
    ``min_hits`` and ``allow_few_hits``: refused below ``min_hits`` hits, with ``ADVICE``,
    unless allowed (module docstring); ``InputError`` either way below the hard floor.
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
    _check_enough(rows.height, hits, until=until, min_hits=min_hits, allow=allow_few_hits)
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
    review, scored = held_out(probability, outcome, w_held, capacity_pct)
    figures: dict[str, Any] = {
        "labelled": rows.height, "hits": hits, "held_out": held.height, **scored,
        "capacity_pct": capacity_pct, "training_window": list(window), "min_hits": min_hits,
        **weights.summary(train, weighting, max_weight=max_weight),
    }  # fmt: skip
    figures["warnings"] = warnings(figures)
    trained = f"{fraud.metadata['data_sha256']}{until.isoformat()}"
    digest = hashlib.sha256(trained.encode()).hexdigest()
    version = f"fraud-{datetime.now(UTC):%Y%m%d-%H%M%S}-{digest[:8]}"
    norms = TrafficNorms.fit(goods, consignments, suspect=suspect_traffic(goods, known, until))
    figures["norms"] = norms.summary
    return RiskModel(version, fraud, revenue, reference, review, until, figures, norms)


def suspect_traffic(goods: pl.DataFrame, outcomes: pl.DataFrame, at: datetime) -> pl.DataFrame:
    """``declared.KEY`` of the consignments under suspicion at ``at`` (``features.reference``:
    their own control, or one of their consignee's or consignor's, found something recorded
    before ``at``), which the traffic norms leave out as every baseline does."""
    weights_at = standing.item_weights(goods, at=at, outcomes=outcomes)
    suspect = weights_at.filter(pl.col("weight") == 0).select("consignment_id")
    return goods.select(declared.KEY).unique().join(suspect, on="consignment_id", how="semi")


def _check_enough(labelled: int, hits: int, *, until: datetime, min_hits: int, allow: bool) -> None:
    """Refuse a training set too small to learn from (see the module docstring)."""
    found = (
        f"{labelled:,} controlled consignments with a known outcome ({hits:,} hits) before "
        f"{until.isoformat()}"
    )
    if labelled < MIN_LABELLED or hits < FLOOR_HITS:
        raise InputError(
            f"{found}: a model needs at least {MIN_LABELLED} and {FLOOR_HITS} hits. {ADVICE}"
        )
    if hits < min_hits and not allow:
        raise InputError(
            f"{found}: below the {min_hits} hits a model needs to rank better than chance "
            f"(QUAYWATCH_TRAIN_MIN_HITS), so no model was trained. {ADVICE} To train anyway, "
            "with a warning, allow few hits (--allow-few-hits)."
        )


def held_out(
    probability: np.ndarray, outcome: np.ndarray, weight: np.ndarray | None, capacity_pct: float
) -> tuple[float, dict[str, Any]]:
    """The review cut and the held-out figures of a model's probabilities on the held-out rows.

    The cut sends ``capacity_pct`` % of the rows (of their weight, when weighted) to review;
    ``held_out_precision_at_capacity`` is the hit share (weighted) at or above it (unweighted:
    among the top ``metrics.cutoff`` rows); ``held_out_auc`` the (weighted) AUC, ``None`` when
    the held-out rows lack hits or non-hits; ``held_out_hits`` counts the hits, unweighted.
    """
    hits = int(np.asarray(outcome, dtype=np.bool_).sum())
    if weight is None:
        k = metrics.cutoff(probability.size, capacity_pct)
        review = float(np.sort(probability)[::-1][k - 1])
        revenue = np.zeros(probability.size)
        precision = metrics.at_ks(probability, outcome, revenue, [k])[0].precision
        auc, brier = metrics.roc_auc(probability, outcome), metrics.brier(probability, outcome)
    else:
        review = weights.weighted_cut(probability, weight, capacity_pct)
        auc = weights.weighted_auc(probability, outcome, weight)
        brier = weights.weighted_brier(probability, outcome, weight)
        precision = weights.weighted_precision(probability, outcome, weight, review)
    return review, {
        "held_out_hits": hits, "held_out_auc": auc, "held_out_brier": brier,
        "held_out_precision_at_capacity": precision,
    }  # fmt: skip


def warnings(figures: dict[str, Any]) -> list[str]:
    """What an analyst must know before trusting a model with these ``figures`` (may be none).

    Reads ``hits``, ``min_hits``, ``held_out_hits``, ``held_out_auc``,
    ``held_out_precision_at_capacity`` and ``capacity_pct``.
    """
    found = []
    if figures["hits"] < figures["min_hits"]:
        found.append(
            f"only {figures['hits']} hits, below the {figures['min_hits']} a model needs to rank "
            f"better than chance: trained because few hits were allowed. {ADVICE}"
        )
    auc, precision = figures["held_out_auc"], figures["held_out_precision_at_capacity"]
    if auc is None:
        found.append(
            f"no held-out AUC: the held-out consignments hold {figures['held_out_hits']} hits, "
            "so how well the model ranks is unknown"
        )
    elif auc < NEAR_RANDOM_AUC:
        found.append(
            f"held-out AUC {auc:.3f}: the model ranks about as well as drawing lots; do not let "
            "it select controls"
        )
    if not precision:
        found.append(
            f"held-out precision at {figures['capacity_pct']:g} % capacity is "
            f"{'unknown' if precision is None else '0'}: none of the consignments the model "
            "would send to review was a hit"
        )
    return found


def _eval_set(x: pl.DataFrame, y: np.ndarray, weight: np.ndarray | None) -> EvalSet:
    return (x, y) if weight is None else (x, y, weight)
