"""Inverse-propensity weights: make the controlled consignments stand for the whole traffic.

Why. A model learns from the consignments that were controlled, and those were not picked at
random: the rules and the previous model send most controls to the lanes they already think
risky. Trained on them as they are, a model sees the risky lanes many times over and the quiet
traffic hardly at all. Its probabilities come out too high for the traffic it will score (the
training set is enriched in hits), its review cut is set on the wrong population, and whatever
the old selection never looked at it cannot learn.

Every control carries its *propensity*, the probability that the selection policy picked that
consignment. Weighting each controlled consignment by ``1 / propensity`` makes it count for all
the consignments like it that were not controlled: a consignment picked with probability 0.5
stands for two, one from the 1 % random sample for a hundred. The weighted training set then
has, in expectation, the same mix as the whole traffic (Horvitz-Thompson). The random sample is
what makes this work: it gives every consignment, also those no rule would ever pick, a
propensity above zero, so no part of the traffic is missing from the weighted set.

Clipping. A weight of 1/propensity is unbiased but its variance grows with the largest
weights: a handful of random-sample consignments at weight 100 can dominate a model. Weights
are therefore capped at ``max_weight`` (default ``MAX_WEIGHT`` = 100, so the default 1 % random
sample is not clipped at all): a lower cap trades a little bias (the rarest consignments count
for less than they stand for) for a lot less variance. ``effective_size`` (Kish) says how many
unweighted rows the weighted set is worth; when it is a small share of the rows, lower the cap
or grow the random sample.

Weights are self-normalised, divided by their mean over the rows they weight, so they average
1: LightGBM's ``min_data_in_leaf``-like regularisation and the learning rate keep their meaning.

    rows = with_weights(labelled_rows, Weighting.IPW, max_weight=50.0)
    model.fit(x, y, sample_weight=rows["weight"].to_numpy())

Also here: AUC, Brier and precision at capacity with weights, so that a held-out set of
controlled consignments estimates what a model does on the whole traffic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from quaywatch.errors import InputError
from quaywatch.learning.options import MAX_WEIGHT as MAX_WEIGHT, Weighting as Weighting

FloatArray = npt.NDArray[np.float64]


def _check_max(max_weight: float) -> None:
    if not max_weight >= 1.0:
        raise ValueError(f"max_weight must be at least 1, got {max_weight}")


def raw_weight(column: str = "propensity", *, max_weight: float = MAX_WEIGHT) -> pl.Expr:
    """``min(1 / propensity, max_weight)`` of ``column``, before normalisation."""
    _check_max(max_weight)
    return (1.0 / pl.col(column)).clip(upper_bound=max_weight)


def with_weights(
    rows: pl.DataFrame,
    weighting: Weighting,
    *,
    max_weight: float = MAX_WEIGHT,
    column: str = "propensity",
) -> pl.DataFrame:
    """``rows`` with a ``weight`` column averaging 1 (all 1.0 for ``Weighting.NONE``).

    ``rows`` needs ``column`` for ``IPW``: the selection probability of each row, in (0, 1]. A
    missing, zero or out-of-range propensity raises ``InputError`` naming the field: such a row
    cannot say what it stands for.
    """
    if weighting is Weighting.NONE or rows.height == 0:
        return rows.with_columns(pl.lit(1.0, pl.Float64).alias("weight"))
    if column not in rows.columns:
        raise InputError(f"inverse-propensity weights need a {column} column")
    bad = rows.select((~pl.col(column).is_between(0.0, 1.0, closed="right")).fill_null(True).sum())
    if bad.item():
        raise InputError(
            f"{bad.item()} rows have a missing or out-of-range {column} (field {column}: it must "
            "lie in (0, 1])"
        )
    weight = raw_weight(column, max_weight=max_weight)
    return rows.with_columns((weight / weight.mean()).alias("weight"))


def inverse_propensity(propensity: npt.ArrayLike, *, max_weight: float = MAX_WEIGHT) -> FloatArray:
    """Clipped, self-normalised ``1 / propensity`` of an array (see ``with_weights``).

    >>> inverse_propensity([0.5, 0.25, 0.001], max_weight=100.0).round(4).tolist()
    [0.0566, 0.1132, 2.8302]
    """
    frame = pl.DataFrame({"propensity": np.asarray(propensity, dtype=np.float64)})
    weighted = with_weights(frame, Weighting.IPW, max_weight=max_weight)
    return weighted.get_column("weight").to_numpy()


def effective_size(weight: npt.ArrayLike) -> float:
    """Kish's effective sample size, ``(Σw)² / Σw²``: how many equal-weight rows ``weight`` is worth."""
    w = np.asarray(weight, dtype=np.float64)
    total = float((w**2).sum())
    return 0.0 if total == 0 else float(w.sum() ** 2 / total)


def summary(rows: pl.DataFrame, weighting: Weighting, *, max_weight: float) -> dict[str, Any]:
    """What the model metadata records about a weighted training set."""
    if weighting is Weighting.NONE:
        return {"weighting": weighting.value}
    clipped = rows.select((1.0 / pl.col("propensity") > max_weight).sum()).item()
    return {
        "weighting": weighting.value,
        "max_weight": max_weight,
        "clipped": int(clipped),
        "effective_size": round(effective_size(rows.get_column("weight").to_numpy()), 1),
    }


def weighted_auc(
    scores: npt.ArrayLike, outcome: npt.ArrayLike, weight: npt.ArrayLike
) -> float | None:
    """AUC where each pair counts ``w_i · w_j``; ties count half. Equals ``roc_auc`` at unit weights.

    ``None`` when either class has no weight.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.bool_)
    w = np.asarray(weight, dtype=np.float64)
    _, group = np.unique(s, return_inverse=True)
    positive = np.bincount(group, weights=np.where(y, w, 0.0))
    negative = np.bincount(group, weights=np.where(y, 0.0, w))
    total_pos, total_neg = float(positive.sum()), float(negative.sum())
    if total_pos == 0 or total_neg == 0:
        return None
    below = np.concatenate([[0.0], np.cumsum(negative)[:-1]])
    return float((positive * (below + 0.5 * negative)).sum() / (total_pos * total_neg))


def weighted_brier(
    probabilities: npt.ArrayLike, outcome: npt.ArrayLike, weight: npt.ArrayLike
) -> float | None:
    """Weighted mean squared gap between probability and outcome; ``None`` without weight."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    return None if w.sum() == 0 else float(np.average((p - y) ** 2, weights=w))


def weighted_cut(probabilities: npt.ArrayLike, weight: npt.ArrayLike, percent: float) -> float:
    """The probability above which ``percent`` % of the weight lies (rows sorted by probability).

    The weighted form of "the ``cutoff`` highest": the review cut of a model trained on weighted
    rows, so that it sends the capacity's share of the *traffic* to review, not of the controls.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    if p.size == 0:
        raise ValueError("no rows to cut")
    order = np.argsort(-p, kind="stable")
    share = np.cumsum(w[order]) / w.sum()
    index = min(int(np.searchsorted(share, percent / 100.0, side="left")), p.size - 1)
    return float(p[order][index])


def weighted_precision(
    probabilities: npt.ArrayLike, outcome: npt.ArrayLike, weight: npt.ArrayLike, cut: float
) -> float | None:
    """Weighted hit share among the rows at or above ``cut``; ``None`` when none are."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    w = np.where(p >= cut, np.asarray(weight, dtype=np.float64), 0.0)
    return None if w.sum() == 0 else float(np.average(y, weights=w))
