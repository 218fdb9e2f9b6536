"""Use cases of the learning loop: ``retrain`` (a challenger trained with bias correction,
promoted only if it beats the current model, and hit weights fitted given it) and ``drift`` (population stability of the model
features and scores between two windows, alerts appended to the audit trail).

``docs/learning-loop.md`` explains both in a customs officer's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from quaywatch.errors import InputError
from quaywatch.learning import (
    champion as cc,
    drift as monitor,
    hit_weights as fitting,
    retrain as cycle,
)
from quaywatch.learning.drift import DriftReport
from quaywatch.learning.options import (
    DEFAULT_WEIGHTING,
    MAX_WEIGHT,
    MIN_HITS,
    Criterion,
    Weighting,
    check_training,
)
from quaywatch.risk import combine
from quaywatch.risk.bundle import RiskModel
from quaywatch.services import hit_weights
from quaywatch.services.arguments import check_capacity_pct, check_interval, require_aware
from quaywatch.store.store import Store

#: Default evaluation window of ``retrain``: the four weeks before its end.
EVALUATION_DAYS = 28
#: Level above which a drift is an alert (population stability index).
ALERT_AT = monitor.ALERT_AT


@dataclass(frozen=True, slots=True)
class RetrainResult:
    """What one retraining cycle did: the challenger, how it compared, whether it went live.

    ``challenger_metrics`` holds what the challenger learnt from and its held-out figures
    (``learning.train``); ``warnings`` what an analyst must know before trusting it (too few
    hits, a held-out precision of 0, an AUC about 0.5), also in the metrics.
    """

    challenger_version: str
    challenger_metrics: dict[str, Any]
    trained_until: datetime
    champion_version: str | None
    evaluated_from: datetime
    evaluated_to: datetime
    comparison: cc.Comparison
    decision: cc.Decision
    promoted: bool
    criterion: Criterion
    forced: bool
    weights: hit_weights.WeightSet | None = None
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: what the audit event records, and the hit weight set fitted."""
        return {
            "weight_set": None if self.weights is None else self.weights.version,
            "weights_active": None if self.weights is None else self.weights.active,
            "notes": list(self.notes),
            "challenger": self.challenger_version,
            "champion": self.champion_version,
            "trained_until": self.trained_until.isoformat(),
            "evaluated": [self.evaluated_from.isoformat(), self.evaluated_to.isoformat()],
            "promoted": self.promoted,
            "reason": self.decision.reason,
            "comparison": self.comparison.to_dict(),
            "challenger_metrics": self.challenger_metrics,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class DriftResult:
    """A drift report, and whether its alert was appended to the audit trail."""

    report: DriftReport
    alert_recorded: bool

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return self.report.to_dict()


def retrain(
    store: Store,
    *,
    models: Path,
    capacity_pct: float,
    until: datetime | None = None,
    to: datetime | None = None,
    weighting: Weighting = DEFAULT_WEIGHTING,
    max_weight: float = MAX_WEIGHT,
    min_hits: int = MIN_HITS,
    allow_few_hits: bool = False,
    criterion: Criterion = Criterion.AUC,
    promote: bool = True,
    force: bool = False,
    actor: str,
    now: datetime | None = None,
    params: dict[str, Any] | None = None,
    rounds: int = cc.ROUNDS,
    prior_strength: float = fitting.PRIOR_STRENGTH,
    saturation_pct: float = combine.SATURATION_PCT,
    key_dir: Path | None = None,
) -> RetrainResult:
    """Train a challenger on the outcomes known before ``until`` and judge it against the
    current model on the random control sample from ``until`` to ``to``.

    Then the hit weights are fitted given the challenger (``services.hit_weights``) on the
    consignments of the evaluation window, which it was not trained on, with ``prior_strength``
    and ``saturation_pct``: stored as a new set, made active only when the challenger is
    promoted (the weights say what each hit adds beyond *that* model); a window with nothing
    to fit on is noted, not an error. When the challenger is promoted but no weights could be
    fitted given it, the active set (fitted given the old champion) is deactivated and noted:
    scoring goes back to the shipped weights until ``quaywatch weights fit`` runs.

    ``to`` defaults to ``now`` (the present), ``until`` to ``EVALUATION_DAYS`` before ``to``.
    ``promote`` false never changes the current model; ``force`` makes the challenger current
    whatever the comparison says. ``capacity_pct`` is the share of consignments the controls
    cover, for precision at capacity. ``weighting``, ``max_weight``, ``min_hits`` and
    ``allow_few_hits`` mean what they mean for ``services.risk.train_models`` (one definition,
    ``learning.options``). Raises ``InputError`` naming the argument for a bad value, and (from
    training) when there is too little to learn from, with what to do instead. ``key_dir``: the
    key directory (``QUAYWATCH_KEY_DIR``), for the hits of de-identified partner seizures, as in
    a scoring run.
    """
    for name, moment in (("until", until), ("to", to), ("now", now)):
        require_aware(name, moment)
    check_capacity_pct(capacity_pct)
    check_training(max_weight, min_hits)
    end = to or now or datetime.now(UTC)
    start = until or end - timedelta(days=EVALUATION_DAYS)
    done = cycle.retrain(
        store, models=models, until=start, to=end, capacity_pct=capacity_pct, actor=actor,
        weighting=weighting, max_weight=max_weight, min_hits=min_hits,
        allow_few_hits=allow_few_hits, criterion=criterion, promote=promote, force=force,
        params=params, rounds=rounds,
    )  # fmt: skip
    notes: list[str] = []
    try:
        weights = hit_weights.fit_weights(
            store, models=models, actor=actor, since=done.evaluated_from, until=done.evaluated_to,
            prior_strength=prior_strength, saturation_pct=saturation_pct, weighting=weighting,
            max_weight=max_weight, activate=done.promoted, model=done.challenger,
            key_dir=key_dir,
        )  # fmt: skip
        notes += weights.notes
    except InputError as exc:
        weights = None
        notes.append(f"hit weights not fitted: {exc.message}")
        if done.promoted:
            old = hit_weights.deactivate(
                store, actor=actor,
                reason=f"model {done.challenger.version} promoted; no weights fitted given it",
            )  # fmt: skip
            if old is not None:
                notes.append(
                    f"hit weight set {old}, fitted given the previous model, is no longer active: "
                    "scoring applies the shipped weights until quaywatch weights fit runs"
                )
    m = dict(done.challenger.metrics)
    return RetrainResult(
        done.challenger.version, m, done.challenger.trained_until, done.champion_version,
        done.evaluated_from, done.evaluated_to, done.comparison, done.decision, done.promoted,
        criterion, force, weights, tuple(notes), tuple(m.get("warnings", ())),
    )  # fmt: skip


def drift(
    store: Store,
    *,
    reference_from: datetime,
    reference_to: datetime,
    recent_from: datetime,
    recent_to: datetime,
    models: Path,
    track_records: bool = False,
    actor: str,
) -> DriftResult:
    """Population stability of the model features and the stored scores: the consignments
    lodged in the recent window against those of the reference window.

    Features use the current model in ``models`` (without one, a value reference fitted on the
    reference window, with a note). The entity track records grow with the calendar and are
    left out unless ``track_records``. An alert is appended to the audit trail in the name of
    ``actor``. Raises ``InputError`` naming the argument for a naive time or a window that
    ends before it starts, and when a window holds no consignment.
    """
    windows = {"reference": (reference_from, reference_to), "recent": (recent_from, recent_to)}
    for window, (lo, hi) in windows.items():
        check_interval(f"{window} window", (f"{window}_from", lo), (f"{window}_to", hi))
    model = RiskModel.load(models) if cycle.current_version(models) else None
    report = monitor.drift_report(
        store, reference=windows["reference"], recent=windows["recent"], model=model,
        track_records=track_records,
    )  # fmt: skip
    return DriftResult(report, monitor.record(store, report, actor=actor))
