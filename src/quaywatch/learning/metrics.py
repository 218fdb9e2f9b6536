"""Detection metrics over whole columns: precision, recall and revenue in the top of a ranking.

Every function takes numpy arrays of equal length, one entry per consignment, and none loops
over rows in Python. The conventions, the same everywhere in quaywatch:

- **Ranking.** Rows are ranked by score, highest first. Equal scores keep the order the rows
  were given in (a stable sort), so a result never depends on the sort algorithm; callers that
  want an order independent of how the rows were read sort them first (``evaluate`` sorts by
  consignment id). NaN scores are refused: a scorer that cannot score a row has a bug.
- **Top n %.** ``k = ceil(n / 100 × N)``, at least 1 when there is any row, at most N. The
  product is computed in decimal, so 3 % of 100 rows is 3 controls, not 4 from float rounding.
- **Undefined is None.** A share whose denominator is zero (recall with no illicit consignment,
  revenue with none at stake, AUC with one class only, any figure over zero rows) is ``None``,
  never 0 or NaN: "no evidence" must not read as "caught nothing", and ``None`` travels through
  JSON as ``null``.
- **Revenue at stake** counts only for illicit consignments; whatever a licit row carries in
  that column is treated as zero, so a ranking earns revenue only by finding fraud.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: The pattern value of licit consignments, left out of per-pattern recall.
LICIT_PATTERN = "none"


@dataclass(frozen=True, slots=True)
class AtK:
    """What a control capacity of ``k`` consignments catches when spent on the top of a ranking.

    ``precision``: share of the ``k`` controlled that are illicit (the hit rate).
    ``recall``: share of all illicit consignments among the ``k``.
    ``revenue``: share of all revenue at stake carried by the illicit ones among the ``k``.
    ``hits``: illicit consignments among the ``k``; a float because the random reference
    reports its expectation, ``k`` × base rate.
    """

    k: int
    hits: float
    precision: float | None
    recall: float | None
    revenue: float | None


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One bin of predicted probability ``[lower, upper)`` (the last bin includes 1.0)."""

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed_rate: float | None


def _floats(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN")
    return array


def _bools(values: npt.ArrayLike, name: str, length: int) -> BoolArray:
    array = np.asarray(values, dtype=np.bool_)
    if array.shape != (length,):
        raise ValueError(f"{name} has shape {array.shape}, expected ({length},)")
    return array


def _share(part: float, whole: float) -> float | None:
    return None if whole == 0 else float(part) / float(whole)


def cutoff(rows: int, percent: float) -> int:
    """How many consignments the top ``percent`` % of ``rows`` holds: ``ceil(percent/100 × rows)``.

    At least 1 when ``rows > 0`` (a capacity of 0.1 % still controls one container), never more
    than ``rows``. ``percent`` must lie in (0, 100].

    >>> cutoff(100, 3.0), cutoff(1_000, 0.05), cutoff(7, 10)
    (3, 1, 1)
    """
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if rows == 0:
        return 0
    exact = Decimal(repr(float(percent))) * rows / 100
    return min(rows, max(1, math.ceil(exact)))


def ranking(scores: npt.ArrayLike) -> IntArray:
    """Row indices from highest to lowest score; ties keep their given order (stable)."""
    values = _floats(scores, "scores")
    # A stable ascending sort of the negated scores keeps tied rows in their original order,
    # which a descending sort of the scores (argsort()[::-1]) would reverse.
    return np.argsort(-values, kind="stable").astype(np.int64)


def top_k(scores: npt.ArrayLike, k: int) -> BoolArray:
    """A mask of the ``k`` highest-scoring rows (ties broken as in ``ranking``)."""
    order = ranking(scores)
    if not 0 <= k <= order.size:
        raise ValueError(f"k must be in [0, {order.size}], got {k}")
    mask = np.zeros(order.size, dtype=np.bool_)
    mask[order[:k]] = True
    return mask


def at_ks(
    scores: npt.ArrayLike,
    illicit: npt.ArrayLike,
    revenue_at_stake: npt.ArrayLike,
    ks: Sequence[int],
) -> list[AtK]:
    """``AtK`` for several capacities at once: one sort and one cumulative sum for all of them."""
    order = ranking(scores)
    n = order.size
    caught = _bools(illicit, "illicit", n)
    stake = _floats(revenue_at_stake, "revenue_at_stake")
    if stake.shape != (n,):
        raise ValueError(f"revenue_at_stake has shape {stake.shape}, expected ({n},)")
    if (stake < 0).any():
        raise ValueError("revenue_at_stake must not be negative")
    revenue = np.where(caught, stake, 0.0)
    hits = np.concatenate([[0], np.cumsum(caught[order], dtype=np.int64)])
    money = np.concatenate([[0.0], np.cumsum(revenue[order])])
    total_hits, total_money = int(hits[-1]), float(money[-1])
    results = []
    for k in ks:
        if not 0 <= k <= n:
            raise ValueError(f"k must be in [0, {n}], got {k}")
        results.append(
            AtK(
                k=int(k),
                hits=float(hits[k]),
                precision=_share(int(hits[k]), k),
                recall=_share(int(hits[k]), total_hits),
                revenue=_share(float(money[k]), total_money),
            )
        )
    return results


def at_k(
    scores: npt.ArrayLike, illicit: npt.ArrayLike, revenue_at_stake: npt.ArrayLike, k: int
) -> AtK:
    """Precision, recall and revenue share when exactly ``k`` consignments are controlled."""
    return at_ks(scores, illicit, revenue_at_stake, [k])[0]


def at_percent(
    scores: npt.ArrayLike,
    illicit: npt.ArrayLike,
    revenue_at_stake: npt.ArrayLike,
    percent: float,
) -> AtK:
    """Precision@n, recall@n and revenue@n for the top ``percent`` % (see ``cutoff``)."""
    n = np.asarray(scores).shape[0]
    return at_k(scores, illicit, revenue_at_stake, cutoff(n, percent))


def recall_at_k(scores: npt.ArrayLike, positives: npt.ArrayLike, k: int) -> float | None:
    """Share of the ``positives`` rows (e.g. critical consignments) among the top ``k``."""
    mask = top_k(scores, k)
    wanted = _bools(positives, "positives", mask.size)
    return _share(int(np.count_nonzero(mask & wanted)), int(np.count_nonzero(wanted)))


def recall_by_pattern(
    scores: npt.ArrayLike, pattern: npt.ArrayLike, k: int
) -> dict[str, float | None]:
    """Recall among the top ``k`` for each fraud pattern, sorted by pattern name.

    Rows whose pattern is ``"none"`` (licit) are left out; a pattern appears only if at least
    one row carries it, so every value is a number.
    """
    mask = top_k(scores, k)
    names = np.asarray(pattern, dtype=np.str_)
    if names.shape != mask.shape:
        raise ValueError(f"pattern has shape {names.shape}, expected {mask.shape}")
    labels, index = np.unique(names, return_inverse=True)
    totals = np.bincount(index, minlength=labels.size)
    caught = np.bincount(index, weights=mask.astype(np.float64), minlength=labels.size)
    return {
        str(label): float(caught[i]) / float(totals[i])
        for i, label in enumerate(labels)
        if label != LICIT_PATTERN
    }


def average_ranks(values: npt.ArrayLike) -> FloatArray:
    """Ranks 1..N of ``values`` (ascending), tied values sharing the mean of their ranks."""
    array = _floats(values, "values")
    _, inverse, counts = np.unique(array, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts).astype(np.float64)
    mean_rank = ends - (counts - 1) / 2.0
    return np.asarray(mean_rank[inverse], dtype=np.float64)


def roc_auc(scores: npt.ArrayLike, illicit: npt.ArrayLike) -> float | None:
    """Area under the ROC curve: the chance that a random illicit row outscores a random licit one.

    Computed from ranks (Mann-Whitney U) with ties counted half, so it equals the pairwise
    definition exactly. ``None`` when either class is absent: the figure is then undefined.
    """
    ranks = average_ranks(scores)
    positive = _bools(illicit, "illicit", ranks.size)
    n_pos = int(np.count_nonzero(positive))
    n_neg = ranks.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def _probabilities(probabilities: npt.ArrayLike) -> FloatArray:
    p = _floats(probabilities, "probabilities")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return p


def brier(probabilities: npt.ArrayLike, illicit: npt.ArrayLike) -> float | None:
    """Mean squared gap between predicted probability and outcome (0 best); None for no rows."""
    p = _probabilities(probabilities)
    outcome = _bools(illicit, "illicit", p.size).astype(np.float64)
    return None if p.size == 0 else float(np.mean((p - outcome) ** 2))


def reliability(
    probabilities: npt.ArrayLike, illicit: npt.ArrayLike, bins: int = 10
) -> list[ReliabilityBin]:
    """Predicted against observed illicit rate in ``bins`` equal-width bins of probability.

    A calibrated scorer has ``observed_rate ≈ mean_predicted`` in every well-filled bin. Empty
    bins are kept (count 0, rates None) so every table has the same rows.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    p = _probabilities(probabilities)
    outcome = _bools(illicit, "illicit", p.size).astype(np.float64)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=outcome, minlength=bins)
    return [
        ReliabilityBin(
            lower=i / bins,
            upper=(i + 1) / bins,
            count=int(counts[i]),
            mean_predicted=_share(float(predicted[i]), int(counts[i])),
            observed_rate=_share(float(observed[i]), int(counts[i])),
        )
        for i in range(bins)
    ]
