"""Leave one pattern out: how much of a fraud pattern is found when nothing was learnt from it.

Every other figure of ``evaluate`` is measured on patterns the scorers were built on: the model
learnt from their seizures, the entity hit rates and the party graph remember their offenders.
A new port, or criminals who change their method, face a pattern nobody has caught yet. The
standard figure for that is leave-one-pattern-out: for each fraud pattern P of the ground truth,

1. every control outcome of a consignment of pattern P is dropped, from the labels the model is
   trained on and from the outcomes the assessment knows (entity hit rates, graph seeds); the
   declarations themselves stay, as a port would have received them without catching them
   (dropping them too would make P's parties look new in the test period, a trace of the
   removal rather than of the traffic);
2. a fraud and revenue model is trained on what remains exactly as ``quaywatch train`` does
   (``learning.train.fit``), in memory;
3. the test period is assessed by every risk source through the engine (the caller's
   ``Assess``, ``services.evaluation.model_scores``), and P's recall at the control capacity
   is read for the model alone and for the combined score, beside the oracle's recall of P
   with the same controls (what is reachable) and the baseline trained with nothing removed.

Only the model's labels and the outcomes move; the risk profiles, watchlists, container events
and party links are what the store holds. A profile written for P (the starter profiles were
written for the generator's patterns) still finds it: the combined figure says what a port
with such a profile gets, the model figure what learning alone carries over to a pattern it
never saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import polars as pl

from quaywatch.errors import InputError
from quaywatch.features import assessment
from quaywatch.learning import train as training
from quaywatch.learning.evaluate import Report, ScoreColumn, Unmatched, evaluate
from quaywatch.risk.bundle import RiskModel

#: What the caller gives to assess the test period: a trained model and the control outcomes
#: the assessment may know; returns one row per test consignment with the key, ``model`` (the
#: fraud model's probability) and ``combined`` (every source, ``risk.combine``).
Assess = Callable[[RiskModel, pl.DataFrame], pl.DataFrame]
#: The scorers measured in every run.
SCORERS = (ScoreColumn("model", calibrated=True), ScoreColumn("combined", calibrated=True))


@dataclass(frozen=True, slots=True)
class Removed:
    """What leaving a pattern out took away from the training period (before the split).

    ``consignments``: the pattern's consignments lodged then; ``outcomes``: their control
    outcomes known before the labels' moment, dropped; ``hits``: how many of those found
    something. The outcomes of the pattern's consignments in the test period (known before the
    split, which none can be) are dropped too.
    """

    consignments: int = 0
    outcomes: int = 0
    hits: int = 0


@dataclass(frozen=True, slots=True)
class Run:
    """One training and assessment: ``left_out`` is the pattern removed (None: the baseline).

    ``refused`` says why no model could be trained (too few hits left, ``train.fit``'s
    message); the figures are then empty. ``training`` holds the model's own figures
    (labelled, hits, held-out AUC and precision). ``model`` and ``combined`` are the recall at
    capacity per pattern, ``model_auc`` and ``combined_auc`` over the whole test period.
    """

    left_out: str | None
    removed: Removed
    refused: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    model: dict[str, float | None] = field(default_factory=dict)
    combined: dict[str, float | None] = field(default_factory=dict)
    model_auc: float | None = None
    combined_auc: float | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PatternFigures:
    """The row of one left-out pattern: its recall unseen, seen (baseline) and reachable.

    ``ratio`` is the combined recall over the reachable one (None when either is undefined or
    nothing is reachable), ``model_ratio`` the same for the model alone.
    """

    pattern: str
    illicit: int
    model: float | None
    combined: float | None
    baseline_model: float | None
    baseline_combined: float | None
    reachable: float | None
    ratio: float | None
    model_ratio: float | None
    refused: str | None


@dataclass(frozen=True, slots=True)
class LopoReport:
    """Leave-one-pattern-out on one test period.

    ``rows`` test consignments (lodged at or after ``split_at``) with ground truth,
    ``illicit`` of them, ``patterns`` per pattern; ``reachable`` is the oracle's recall per
    pattern at the capacity's ``capacity_k`` controls. Models learnt from the outcomes known
    before ``labels_until`` of consignments lodged before ``split_at``. ``baseline`` removed
    nothing; ``runs`` removed one pattern each. ``seconds`` is the whole measurement.
    """

    split_at: datetime
    labels_until: datetime
    capacity_pct: float
    capacity_k: int
    rows: int
    without_truth: int
    illicit: int
    patterns: dict[str, int]
    reachable: dict[str, float | None]
    baseline: Run
    runs: tuple[Run, ...]
    unmatched: Unmatched
    seconds: float
    notes: tuple[str, ...] = ()

    def figures(self) -> list[PatternFigures]:
        """One row per left-out pattern, in the order of ``runs``."""
        rows = []
        for run in self.runs:
            pattern = run.left_out or ""
            reachable = self.reachable.get(pattern)
            combined, model = run.combined.get(pattern), run.model.get(pattern)
            rows.append(
                PatternFigures(
                    pattern=pattern,
                    illicit=self.patterns.get(pattern, 0),
                    model=model,
                    combined=combined,
                    baseline_model=self.baseline.model.get(pattern),
                    baseline_combined=self.baseline.combined.get(pattern),
                    reachable=reachable,
                    ratio=_ratio(combined, reachable),
                    model_ratio=_ratio(model, reachable),
                    refused=run.refused,
                )
            )
        return rows


def _ratio(found: float | None, reachable: float | None) -> float | None:
    return None if found is None or not reachable else found / reachable


def pattern_consignments(truth: pl.DataFrame, pattern: str) -> pl.DataFrame:
    """The consignment ids (one column) of ``pattern`` in the ground truth, any version."""
    return truth.filter(pl.col("pattern") == pattern).select("consignment_id").unique()


def without_pattern(outcomes: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """``outcomes`` less every outcome of the consignments ``ids`` (a ``consignment_id`` column)."""
    return outcomes.join(ids, on="consignment_id", how="anti")


def _removed(
    truth: pl.DataFrame, ids: pl.DataFrame, outcomes: pl.DataFrame, split_at: datetime
) -> Removed:
    before = truth.filter(pl.col("lodged_at") < split_at).join(ids, on="consignment_id")
    dropped = outcomes.join(ids, on="consignment_id", how="semi")
    hits = dropped.group_by("consignment_id", "version").agg(assessment.hit().any().alias("hit"))
    return Removed(
        consignments=before.select("consignment_id").n_unique(),
        outcomes=dropped.height,
        hits=int(hits.get_column("hit").sum()) if hits.height else 0,
    )


def _run(
    left_out: str | None,
    removed: Removed,
    *,
    training_items: pl.DataFrame,
    training_outcomes: pl.DataFrame,
    known_outcomes: pl.DataFrame,
    test: pl.DataFrame,
    labels_until: datetime,
    capacity_pct: float,
    assess: Assess,
) -> tuple[Run, Report | None]:
    started = time.perf_counter()
    try:
        model = training.fit(
            training_items, training_outcomes, until=labels_until, capacity_pct=capacity_pct
        )
    except InputError as exc:
        if left_out is None:
            raise
        return Run(left_out, removed, refused=exc.message,
                   seconds=time.perf_counter() - started), None  # fmt: skip
    scored = test.join(assess(model, known_outcomes), on=["consignment_id", "version"], how="left")
    report = evaluate(scored, SCORERS, capacity_pct=capacity_pct, percents=())
    model_result, combined_result = report.result("model"), report.result("combined")
    return (
        Run(
            left_out=left_out,
            removed=removed,
            training={k: v for k, v in model.metrics.items() if not isinstance(v, dict | list)},
            model=dict(model_result.pattern_recall),
            combined=dict(combined_result.pattern_recall),
            model_auc=model_result.auc,
            combined_auc=combined_result.auc,
            seconds=time.perf_counter() - started,
        ),
        report,
    )


def leave_one_pattern_out(
    items: pl.DataFrame,
    outcomes: pl.DataFrame,
    truth: pl.DataFrame,
    test: pl.DataFrame,
    *,
    split_at: datetime,
    labels_until: datetime,
    capacity_pct: float,
    assess: Assess,
    patterns: Sequence[str] | None = None,
    unmatched: Unmatched | None = None,
) -> LopoReport:
    """Train and measure once with nothing removed, then once per pattern left out.

    ``items``: goods-item rows of the consignments lodged before ``split_at`` (the training
    period); ``outcomes``: the control outcomes known before ``labels_until`` of those
    consignments (``labels_until`` at or after ``split_at``); ``truth``: the ground-truth
    file; ``test``: the test consignments with their truth (``consignments_with_truth``, lodged
    at or after ``split_at``). ``assess`` scores the test period with a model and the outcomes
    the assessment may know (those known before ``split_at``, less the left-out pattern's).
    ``patterns`` defaults to every pattern with an illicit consignment in the test period; one
    without any is an ``InputError``, as is a baseline that cannot be trained. A pattern whose
    removal leaves too few hits to train is reported as refused, not raised.
    """
    started = time.perf_counter()
    if labels_until < split_at:
        raise InputError(
            f"labels_until (--labels-until) {labels_until.isoformat()} is before the split "
            f"{split_at.isoformat()}: the model would learn from less than the assessment knows"
        )
    present = sorted(
        test.filter(pl.col("illicit").fill_null(value=False))
        .get_column("pattern")
        .unique()
        .to_list()
    )
    wanted = list(present if patterns is None else dict.fromkeys(patterns))
    unknown = [p for p in wanted if p not in present]
    if unknown:
        raise InputError(
            f"no illicit consignment of pattern {', '.join(unknown)} in the test period; "
            f"its patterns are: {', '.join(present) or 'none'}"
        )
    known = outcomes.filter(pl.col("known_at") < split_at)
    base, report = _run(
        None, Removed(), training_items=items, training_outcomes=outcomes,
        known_outcomes=known, test=test, labels_until=labels_until,
        capacity_pct=capacity_pct, assess=assess,
    )  # fmt: skip
    assert report is not None  # the baseline raises rather than being refused
    runs = []
    for pattern in wanted:
        ids = pattern_consignments(truth, pattern)
        removed = _removed(truth, ids, outcomes, split_at)
        if not removed.outcomes:
            # Nothing of it was ever controlled: the baseline never saw it either.
            runs.append(replace(base, left_out=pattern, removed=removed, seconds=0.0))
            continue
        run, _ = _run(
            pattern, removed, training_items=items,
            training_outcomes=without_pattern(outcomes, ids),
            known_outcomes=without_pattern(known, ids), test=test, labels_until=labels_until,
            capacity_pct=capacity_pct, assess=assess,
        )  # fmt: skip
        runs.append(run)
    oracle = report.result("oracle")
    notes = [
        "unseen: trained and assessed with every control outcome of the pattern's "
        "consignments removed; seen: the baseline, nothing removed.",
        "reachable: the oracle's recall of the pattern with the same controls; ratio: the "
        "combined score's unseen recall over it.",
        "Profiles, watchlists, events and party links are the store's: a profile written for "
        "a pattern still finds it (combined); the model column is learning alone.",
    ]
    if labels_until > split_at:
        notes.append(
            f"The models learnt from outcomes known up to {labels_until:%Y-%m-%d %H:%M}, after "
            f"the split ({split_at:%Y-%m-%d %H:%M}): more than a live run on the split would "
            "have had, so every figure is optimistic (the assessments themselves know only "
            "what was known at the split)."
        )
    unmatched = Unmatched() if unmatched is None else unmatched
    if (sentence := unmatched.note()) is not None:
        notes.append(sentence)
    return LopoReport(
        split_at=split_at,
        labels_until=labels_until,
        capacity_pct=float(capacity_pct),
        capacity_k=report.capacity_k,
        rows=report.rows,
        without_truth=report.without_truth,
        illicit=report.illicit,
        patterns=dict(report.patterns),
        reachable=dict(oracle.pattern_recall),
        baseline=base,
        runs=tuple(runs),
        unmatched=unmatched,
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )
