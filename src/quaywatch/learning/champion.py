"""Champion and challenger, compared on the random control sample: the only fair yardstick.

Every other control was chosen by a rule or a model, so it favours whichever scorer resembles
the one that chose it: the champion looks good on the consignments it sent to control. The
random sample was drawn without looking at any score, so on it a scorer's hit rate at capacity,
AUC and Brier score estimate, without bias, what it would do on the whole traffic. It is small
(1-2 % of the traffic), so every difference comes with a bootstrap confidence interval: the
sampled consignments are redrawn with replacement ``rounds`` times, both scorers are measured on
each redraw, and the interval holds the middle ``level`` of the differences (paired: both
scorers see the same redraw, which cancels most of the sampling noise).

Promotion criteria (``Criterion``), both conservative — keeping a working model costs little,
replacing it by a worse one costs seizures:

- ``auc`` (default): the lower end of the interval of AUC(challenger) − AUC(champion) is above
  zero: the challenger ranks better, beyond what sampling noise explains.
- ``precision``: the challenger's precision at capacity is higher, and its AUC is not
  significantly worse (the upper end of the AUC difference's interval is above zero).

Too small a sample decides nothing: below ``MIN_SAMPLE`` consignments or ``MIN_HITS`` hits the
comparison is reported with a warning and the champion is kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from quaywatch.features import assessment, declared
from quaywatch.learning import metrics
from quaywatch.learning.options import Criterion as Criterion

#: A random sample smaller than this, or with fewer hits, is reported but decides nothing.
MIN_SAMPLE, MIN_HITS = 300, 10
ROUNDS, LEVEL = 1_000, 0.95
RANDOM = "RANDOM"


def random_sample(
    outcomes: pl.DataFrame, lodged: pl.DataFrame, *, start: datetime, end: datetime
) -> pl.DataFrame:
    """The consignments of the random control sample lodged in ``[start, end)``, with outcomes.

    ``lodged`` has ``declared.KEY`` and ``lodged_at`` (goods-item rows will do); ``outcomes``
    the control outcomes known at ``end``. A consignment is in the sample when one of its
    controls was ``selected_by`` RANDOM; its ``hit`` is whether any of its controls found
    something (``assessment.hit``). Sorted by key, one row each.
    """
    key = list(declared.KEY)
    known = outcomes.filter(pl.col("known_at") < end)
    drawn = known.filter(pl.col("selected_by") == RANDOM).select(key).unique()
    window = (
        lodged.filter(pl.col("lodged_at").is_between(start, end, closed="left"))
        .select(*key, "lodged_at")
        .unique(key)
    )
    labels = known.group_by(key).agg(assessment.hit().any().alias("hit"))
    return drawn.join(window, on=key).join(labels, on=key).sort(key)


@dataclass(frozen=True, slots=True)
class Figures:
    """One scorer on the random sample."""

    auc: float | None
    precision_at_capacity: float | None
    brier: float | None


@dataclass(frozen=True, slots=True)
class Difference:
    """Challenger minus champion, with the bootstrap interval (None where undefined)."""

    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Champion against challenger on ``sample`` consignments (``hits`` of them hits)."""

    sample: int
    hits: int
    capacity_pct: float
    champion: Figures
    challenger: Figures
    auc: Difference
    precision_at_capacity: Difference
    brier: Difference

    @property
    def enough(self) -> bool:
        """Whether the sample is large enough to decide (``MIN_SAMPLE``, ``MIN_HITS``)."""
        return self.sample >= MIN_SAMPLE and self.hits >= MIN_HITS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def figures(probability: npt.ArrayLike, hit: npt.ArrayLike, capacity_pct: float) -> Figures:
    """AUC, precision at capacity (top ``capacity_pct`` % of the sample) and Brier score."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(hit, dtype=np.bool_)
    if p.size == 0:
        return Figures(None, None, None)
    k = metrics.cutoff(p.size, capacity_pct)
    at = metrics.at_k(p, y, np.zeros(p.size), k)
    return Figures(metrics.roc_auc(p, y), at.precision, metrics.brier(p, y))


def _gap(a: float | None, b: float | None) -> float:
    return np.nan if a is None or b is None else b - a


def compare(
    champion: npt.ArrayLike,
    challenger: npt.ArrayLike,
    hit: npt.ArrayLike,
    *,
    capacity_pct: float,
    rounds: int = ROUNDS,
    level: float = LEVEL,
    seed: int = 7,
) -> Comparison:
    """Both scorers' probabilities on the same sample rows, compared with a paired bootstrap."""
    old = np.asarray(champion, dtype=np.float64)
    new = np.asarray(challenger, dtype=np.float64)
    y = np.asarray(hit, dtype=np.bool_)
    base = (figures(old, y, capacity_pct), figures(new, y, capacity_pct))
    rng = np.random.default_rng(seed)
    gaps = np.full((rounds, 3), np.nan)
    for r in range(rounds if y.size else 0):
        pick = rng.integers(0, y.size, y.size)
        a, b = figures(old[pick], y[pick], capacity_pct), figures(new[pick], y[pick], capacity_pct)
        gaps[r] = [_gap(a.auc, b.auc), _gap(a.precision_at_capacity, b.precision_at_capacity),
                   _gap(a.brier, b.brier)]  # fmt: skip
    tail = (1 - level) / 2 * 100

    def difference(column: int, first: float | None, second: float | None) -> Difference:
        valid = gaps[:, column][~np.isnan(gaps[:, column])]
        value = None if first is None or second is None else second - first
        if value is None or valid.size < rounds / 2:
            return Difference(value, None, None)
        low, high = np.percentile(valid, [tail, 100 - tail])
        return Difference(value, float(low), float(high))

    return Comparison(
        sample=int(y.size), hits=int(y.sum()), capacity_pct=capacity_pct,
        champion=base[0], challenger=base[1],
        auc=difference(0, base[0].auc, base[1].auc),
        precision_at_capacity=difference(
            1, base[0].precision_at_capacity, base[1].precision_at_capacity),
        brier=difference(2, base[0].brier, base[1].brier),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the challenger replaces the champion, and why, in a sentence."""

    promote: bool
    reason: str


def decide(comparison: Comparison, criterion: Criterion) -> Decision:
    """Apply ``criterion`` to ``comparison`` (the comparison alone; flags are the caller's)."""
    c = comparison
    if not c.enough:
        return Decision(
            False,
            f"random sample too small to decide: {c.sample} consignments, {c.hits} hits "
            f"(at least {MIN_SAMPLE} and {MIN_HITS} needed)",
        )
    auc = c.auc
    if auc.value is None or auc.low is None or auc.high is None:
        return Decision(False, "AUC undefined on the random sample")
    interval = f"AUC difference {auc.value:+.3f} [{auc.low:+.3f}, {auc.high:+.3f}]"
    if criterion is Criterion.AUC:
        if auc.low > 0:
            return Decision(True, f"challenger ranks better: {interval}, above zero")
        return Decision(False, f"no significant AUC gain: {interval} includes or is below zero")
    gain = c.precision_at_capacity.value
    if gain is None or gain <= 0:
        return Decision(False, "precision at capacity not higher on the random sample")
    if auc.high <= 0:
        return Decision(False, f"precision higher but AUC significantly worse: {interval}")
    return Decision(True, f"precision at capacity {gain:+.1%} higher and {interval} not worse")
