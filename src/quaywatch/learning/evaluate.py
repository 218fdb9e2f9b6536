"""Evaluation: how much fraud a scorer would catch with the control capacity we really have.

One honest measurement for every scorer quaywatch will have (rules, model, both), always next
to two references computed on the same consignments:

- **random**: selecting at random. Its figures are the analytic expectation, not one random
  draw: precision = the base rate of illicit consignments, recall = revenue share = k / N.
  Anything worth deploying must beat it.
- **oracle**: a perfect selector that controls illicit consignments first, highest revenue at
  stake first. It is the ceiling for the capacity: with k controls no scorer can do better.

A scorer follows a scikit-learn-like contract (``Scorer``): ``fit`` on consignments lodged
before a moment, ``score`` those lodged after (``time_split``), so no figure ever rests on
knowledge from the future. Adding a scorer means writing one small class; nothing here changes.

    train, test = time_split(frame, datetime(2026, 10, 1, tzinfo=UTC))
    scorers = [MyModel().fit(train)]
    report = evaluate(test, scorers, capacity_pct=3.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import polars as pl

from quaywatch.errors import InputError
from quaywatch.learning import metrics
from quaywatch.learning.metrics import AtK, ReliabilityBin

#: Columns the test frame must carry (ground truth joined to the consignments).
REQUIRED_COLUMNS = ("consignment_id", "illicit", "revenue_at_stake_eur", "critical", "pattern")
#: Ground-truth columns that scorers never see: ``score`` receives the frame without them, so a
#: scorer cannot peek at the answer even by mistake.
HIDDEN_FROM_SCORERS = ("illicit", "pattern", "revenue_at_stake_eur", "critical", "displaced",
                       "true_hs6", "true_value_eur")  # fmt: skip
#: The percentages at which every result is reported besides the capacity.
DEFAULT_PERCENTS: tuple[float, ...] = (1, 2, 5, 10)
#: Where the precision/recall curves of the charts are sampled (capacity and percents added).
CURVE_PERCENTS: tuple[float, ...] = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9, 10, 12.5, 15,
                                     17.5, 20, 25, 30)  # fmt: skip
#: Bins of the reliability table.
RELIABILITY_BINS = 10


@runtime_checkable
class Scorer(Protocol):
    """Anything that ranks consignments by risk, with a scikit-learn-like contract.

    ``name`` labels the scorer in reports (unique, not ``random`` or ``oracle``). ``calibrated``
    says the scores are probabilities of being illicit, in [0, 1]: only then are the Brier score
    and the reliability table reported. ``fit`` learns from consignments lodged before the test
    period and returns the fitted scorer; ``score`` returns one float per row of ``test``,
    higher meaning riskier. ``evaluate`` hands ``score`` the test frame without the
    ground-truth columns (``HIDDEN_FROM_SCORERS``).
    """

    @property
    def name(self) -> str: ...

    @property
    def calibrated(self) -> bool: ...

    def fit(self, train: pl.DataFrame) -> Scorer: ...

    def score(self, test: pl.DataFrame) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True, slots=True)
class ScoreColumn:
    """A scorer whose scores are already a column of the test frame (e.g. stored assessments).

    ``column`` defaults to ``name``; ``fit`` learns nothing.
    """

    name: str
    column: str | None = None
    calibrated: bool = False

    def fit(self, train: pl.DataFrame) -> ScoreColumn:
        """Nothing to learn: the scores were computed elsewhere."""
        return self

    def score(self, test: pl.DataFrame) -> npt.NDArray[np.float64]:
        """The column, as floats."""
        column = self.column or self.name
        if column not in test.columns:
            raise ValueError(f"scorer {self.name!r}: the test frame has no column {column!r}")
        return test.get_column(column).cast(pl.Float64).to_numpy()


class Kind(StrEnum):
    """What a row of the report is."""

    SCORER = "scorer"
    RANDOM = "random"
    ORACLE = "oracle"


@dataclass(frozen=True, slots=True)
class AtPercent:
    """``AtK`` for the top ``percent`` % of the consignments."""

    percent: float
    at: AtK


@dataclass(frozen=True, slots=True)
class ScorerResult:
    """Every figure for one scorer or reference on the test consignments.

    ``at_capacity``, ``pattern_recall`` and ``critical_recall`` use the capacity's k.
    ``brier`` and ``reliability`` are set only for calibrated scorers. ``curve`` samples
    precision/recall/revenue at ``CURVE_PERCENTS`` for the charts.
    """

    name: str
    kind: Kind
    calibrated: bool
    auc: float | None
    at_percents: tuple[AtPercent, ...]
    at_capacity: AtK
    pattern_recall: dict[str, float | None]
    critical_recall: float | None
    brier: float | None = None
    reliability: tuple[ReliabilityBin, ...] = ()
    curve: tuple[AtPercent, ...] = ()


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Ground-truth rows that match no stored consignment, so no figure can count them.

    ``rows`` of them were lodged in the evaluated period (at or after the split, by the truth
    file's own lodging time): consignments customs should have seen and the store never held
    (not imported, or quarantined at intake). ``illicit`` of those are illicit,
    ``patterns`` counts them per fraud pattern and ``examples`` names a few (illicit first).
    ``before_split`` more were lodged before the evaluated period and do not touch its figures.
    A truth row whose consignment is stored under another version is not counted here: that
    consignment is in the evaluation, counted in ``Report.without_truth`` when its newest
    version has no truth.
    """

    rows: int = 0
    illicit: int = 0
    patterns: dict[str, int] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    before_split: int = 0

    def note(self) -> str | None:
        """The sentence a report shows about them, or None when every truth row matched."""
        if not self.rows:
            return None
        named = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        return (
            f"{self.rows} ground-truth rows of consignments lodged in the evaluated period "
            f"match no stored consignment ({self.illicit} illicit){named}: they were never "
            "stored (not imported, or quarantined at intake), so no figure here counts them."
        )


@dataclass(frozen=True, slots=True)
class Report:
    """The evaluation of several scorers against the references on one set of consignments.

    ``rows`` consignments were evaluated; ``without_truth`` more had no ground truth and were
    left out (counted so that nothing disappears silently), and ``unmatched`` describes the
    ground-truth rows that found no stored consignment. ``patterns`` counts illicit
    consignments per fraud pattern; ``lodged_from``/``lodged_to`` bound the test period when
    the frame had a ``lodged_at`` column. ``results`` runs random, the scorers, oracle.
    """

    rows: int
    without_truth: int
    illicit: int
    base_rate: float
    revenue_at_stake_eur: float
    critical: int
    patterns: dict[str, int]
    capacity_pct: float
    capacity_k: int
    percents: tuple[float, ...]
    results: tuple[ScorerResult, ...]
    lodged_from: datetime | None = None
    lodged_to: datetime | None = None
    notes: tuple[str, ...] = field(default=())
    unmatched: Unmatched = field(default_factory=Unmatched)

    def result(self, name: str) -> ScorerResult:
        """The result named ``name``."""
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)


def time_split(
    frame: pl.DataFrame, split_at: datetime, time_column: str = "lodged_at"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split into (train, test): train strictly before ``split_at``, test at or after it.

    Splitting by time, never at random, is what makes an evaluation honest: a scorer is judged
    on consignments that came after everything it learnt from, as in production. ``split_at``
    must be timezone-aware (quaywatch keeps UTC times).
    """
    if split_at.tzinfo is None:
        raise ValueError("split_at must be timezone-aware")
    if time_column not in frame.columns:
        raise ValueError(f"the frame has no column {time_column!r} to split on")
    before = pl.col(time_column) < split_at
    return frame.filter(before), frame.filter(~before)


def oracle_scores(frame: pl.DataFrame) -> npt.NDArray[np.float64]:
    """Scores that rank illicit consignments first, by revenue at stake descending.

    The scores are ranks scaled into (0, 1]; equal revenue keeps the frame's order.
    """
    illicit = frame.get_column("illicit").to_numpy().astype(np.bool_)
    revenue = frame.get_column("revenue_at_stake_eur").cast(pl.Float64).to_numpy()
    n = illicit.size
    # lexsort sorts by the last key first: licit after illicit, then revenue descending; it is
    # stable, so ties keep the frame's order as every other ranking does.
    order = np.lexsort((-np.where(illicit, revenue, 0.0), ~illicit))
    scores = np.empty(n, dtype=np.float64)
    scores[order] = np.arange(n, 0, -1, dtype=np.float64) / max(n, 1)
    return scores


@dataclass(frozen=True, slots=True)
class _Truth:
    illicit: npt.NDArray[np.bool_]
    revenue: npt.NDArray[np.float64]
    critical: npt.NDArray[np.bool_]
    pattern: npt.NDArray[np.str_]


def _percent_list(capacity_pct: float, percents: Sequence[float]) -> list[float]:
    return sorted({*CURVE_PERCENTS, *percents, capacity_pct})


def _measured(
    name: str,
    kind: Kind,
    calibrated: bool,
    scores: npt.NDArray[np.float64],
    truth: _Truth,
    percents: Sequence[float],
    capacity_pct: float,
) -> ScorerResult:
    n = truth.illicit.size
    if scores.shape != (n,):
        raise ValueError(f"scorer {name!r} returned {scores.shape[0]} scores for {n} rows")
    curve_percents = _percent_list(capacity_pct, percents)
    wanted = [*percents, capacity_pct, *curve_percents]
    cuts = metrics.at_ks(
        scores, truth.illicit, truth.revenue, [metrics.cutoff(n, p) for p in wanted]
    )
    at = [AtPercent(float(p), cut) for p, cut in zip(wanted, cuts, strict=True)]
    k = at[len(percents)].at.k
    return ScorerResult(
        name=name,
        kind=kind,
        calibrated=calibrated,
        auc=metrics.roc_auc(scores, truth.illicit),
        at_percents=tuple(at[: len(percents)]),
        at_capacity=at[len(percents)].at,
        pattern_recall=metrics.recall_by_pattern(scores, truth.pattern, k),
        critical_recall=metrics.recall_at_k(scores, truth.critical, k),
        brier=metrics.brier(scores, truth.illicit) if calibrated else None,
        reliability=(
            tuple(metrics.reliability(scores, truth.illicit, RELIABILITY_BINS))
            if calibrated
            else ()
        ),
        curve=tuple(at[len(percents) + 1 :]),
    )


def _random_at(truth: _Truth, percent: float) -> AtPercent:
    n = truth.illicit.size
    k = metrics.cutoff(n, percent)
    positives = int(np.count_nonzero(truth.illicit))
    stake = float(truth.revenue[truth.illicit].sum())
    return AtPercent(
        float(percent),
        AtK(
            k=k,
            hits=k * positives / n,
            precision=positives / n,
            recall=k / n if positives else None,
            revenue=k / n if stake > 0 else None,
        ),
    )


def _random(truth: _Truth, percents: Sequence[float], capacity_pct: float) -> ScorerResult:
    """The expectation of selecting ``k`` consignments uniformly at random."""
    n = truth.illicit.size
    capacity = _random_at(truth, capacity_pct).at
    share = capacity.k / n
    patterns = np.unique(truth.pattern[truth.pattern != metrics.LICIT_PATTERN])
    return ScorerResult(
        name=Kind.RANDOM.value,
        kind=Kind.RANDOM,
        calibrated=False,
        auc=0.5 if 0 < np.count_nonzero(truth.illicit) < n else None,
        at_percents=tuple(_random_at(truth, p) for p in percents),
        at_capacity=capacity,
        pattern_recall={str(p): share for p in patterns},
        critical_recall=share if truth.critical.any() else None,
        curve=tuple(_random_at(truth, p) for p in _percent_list(capacity_pct, percents)),
    )


def _prepared(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the evaluation frame lacks columns: {', '.join(missing)}")
    has_truth = pl.col("illicit").is_not_null()
    without_truth = frame.height - frame.select(has_truth.sum()).item()
    # Sorting fixes the order in which tied scores are ranked, whatever order the store
    # returned the rows in.
    keys = ["consignment_id", "version"] if "version" in frame.columns else ["consignment_id"]
    kept = frame.filter(has_truth).sort(keys)
    nulls = [c for c in REQUIRED_COLUMNS if kept.get_column(c).null_count()]
    if nulls:
        raise ValueError(f"ground-truth columns with missing values: {', '.join(nulls)}")
    return kept, int(without_truth)


def evaluate(
    frame: pl.DataFrame,
    scorers: Sequence[Scorer],
    *,
    capacity_pct: float,
    percents: Sequence[float] = DEFAULT_PERCENTS,
    unmatched: Unmatched | None = None,
) -> Report:
    """Measure each fitted scorer, and the random and oracle references, on ``frame``.

    ``frame`` holds the test consignments with their ground truth (``REQUIRED_COLUMNS``) and
    whatever columns the scorers read. Rows without ground truth (null ``illicit``, as
    ``consignments_with_truth`` leaves them) are left out and counted in ``without_truth``.
    ``capacity_pct`` is the share of consignments the control capacity covers. ``unmatched``
    (``dataset.unmatched_truth``) reports the truth rows that found no consignment.
    """
    if not 0 < capacity_pct <= 100:
        raise ValueError(f"capacity_pct must be in (0, 100], got {capacity_pct}")
    names = [s.name for s in scorers]
    reserved = {Kind.RANDOM.value, Kind.ORACLE.value} & set(names)
    if reserved or len(set(names)) != len(names):
        raise ValueError(f"scorer names must be unique and not random/oracle: {names}")
    data, without_truth = _prepared(frame)
    if data.is_empty():
        raise InputError(
            "no consignments with ground truth to evaluate"
            + (f" ({without_truth} have none)" if without_truth else "")
        )
    truth = _Truth(
        illicit=data.get_column("illicit").to_numpy().astype(np.bool_),
        revenue=data.get_column("revenue_at_stake_eur").cast(pl.Float64).to_numpy(),
        critical=data.get_column("critical").to_numpy().astype(np.bool_),
        pattern=data.get_column("pattern").cast(pl.String).to_numpy().astype(np.str_),
    )
    results = [_random(truth, percents, capacity_pct)]
    visible = data.drop(HIDDEN_FROM_SCORERS, strict=False)
    for scorer in scorers:
        scores = np.asarray(scorer.score(visible), dtype=np.float64)
        results.append(
            _measured(scorer.name, Kind.SCORER, scorer.calibrated, scores, truth, percents,
                      capacity_pct)
        )  # fmt: skip
    results.append(
        _measured(Kind.ORACLE.value, Kind.ORACLE, False, oracle_scores(data), truth, percents,
                  capacity_pct)
    )  # fmt: skip
    illicit = int(np.count_nonzero(truth.illicit))
    patterns, counts = np.unique(
        truth.pattern[truth.pattern != metrics.LICIT_PATTERN], return_counts=True
    )
    times = data.get_column("lodged_at") if "lodged_at" in data.columns else pl.Series([])
    first, last = times.min(), times.max()
    notes = [
        "random is the analytic expectation of a uniform random selection, not a draw: "
        "precision = base rate, recall = revenue share = k / N.",
        "oracle controls illicit consignments first, highest revenue at stake first: "
        "the best any selection can do with the same capacity.",
    ]
    if without_truth:
        notes.append(f"{without_truth} consignments without ground truth were left out.")
    unmatched = Unmatched() if unmatched is None else unmatched
    if (sentence := unmatched.note()) is not None:
        notes.append(sentence)
    return Report(
        rows=data.height,
        without_truth=without_truth,
        illicit=illicit,
        base_rate=illicit / data.height,
        revenue_at_stake_eur=float(truth.revenue[truth.illicit].sum()),
        critical=int(np.count_nonzero(truth.critical)),
        patterns={str(p): int(c) for p, c in zip(patterns, counts, strict=True)},
        capacity_pct=float(capacity_pct),
        capacity_k=metrics.cutoff(data.height, capacity_pct),
        percents=tuple(float(p) for p in percents),
        results=tuple(results),
        lodged_from=first if isinstance(first, datetime) else None,
        lodged_to=last if isinstance(last, datetime) else None,
        notes=tuple(notes),
        unmatched=unmatched,
    )
