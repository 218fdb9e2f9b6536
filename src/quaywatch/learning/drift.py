"""Drift monitor: has the traffic, or the scores, moved away from what the model learnt on?

A model is only as good as the resemblance between the traffic it was trained on and the
traffic it scores. New trade lanes, a shift of fraud to other ports (displacement), a change of
declaration practice or a broken feed all show up first as a change in the *distribution* of
the model's inputs and of its scores, weeks before enough control outcomes arrive to show a
drop in hit rate. The monitor compares a reference window (typically the model's training
period) with a recent window by the **population stability index** of each model feature and
of the stored scores:

    PSI = Σ over buckets (recent share − reference share) · ln(recent share / reference share)

Buckets: for a numeric feature, the deciles of the reference window (ties merge deciles, so a
feature that is mostly zero has fewer buckets), plus one for missing values; for a categorical
feature, every category holding at least ``MIN_SHARE`` of the reference (at most
``MAX_CATEGORIES`` of them), one "other" bucket for the rest and for categories never seen in
the reference, and one for missing values. Empty buckets count as ``FLOOR`` so the logarithm
stays finite.

Levels, the rule of thumb of credit scoring where the index comes from:

- PSI < 0.1: **stable**, nothing to do;
- 0.1 ≤ PSI ≤ 0.25: **watch**, a real but moderate shift; look at it, retrain at the next cycle;
- PSI > 0.25: **alert**, the population has changed; find out why (``docs/learning-loop.md``).

An alert is appended to the audit log (``record``); it never stops anything by itself.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl

from quaywatch.audit import chain
from quaywatch.errors import InputError
from quaywatch.features import assessment, declared
from quaywatch.risk.bundle import RiskModel
from quaywatch.store import reads
from quaywatch.store.store import Store

WATCH_AT, ALERT_AT = 0.1, 0.25
BINS = 10
FLOOR = 1e-4
MIN_SHARE, MAX_CATEGORIES = 0.01, 20
#: The stored scores are reported under this name, beside the features.
SCORES = "score (assessments.probability)"
_MISSING, _OTHER = "(missing)", "(other)"


class Level(StrEnum):
    """How far a distribution moved: stable, watch or alert (thresholds ``WATCH_AT``, ``ALERT_AT``)."""

    STABLE = "stable"
    WATCH = "watch"
    ALERT = "alert"


def level(psi: float) -> Level:
    """The level of a population stability index."""
    if psi > ALERT_AT:
        return Level.ALERT
    return Level.WATCH if psi >= WATCH_AT else Level.STABLE


def psi(reference: np.ndarray, recent: np.ndarray) -> float:
    """PSI of two vectors of bucket counts (or shares) over the same buckets.

    >>> round(psi(np.array([50, 50]), np.array([60, 40])), 4)
    0.0405
    """
    expected = np.maximum(reference / max(float(reference.sum()), 1.0), FLOOR)
    actual = np.maximum(recent / max(float(recent.sum()), 1.0), FLOOR)
    return float(((actual - expected) * np.log(actual / expected)).sum())


def numeric_counts(reference: pl.Series, recent: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Bucket counts of both windows on the reference deciles, missing values last."""
    ref = reference.cast(pl.Float64).fill_nan(None)
    new = recent.cast(pl.Float64).fill_nan(None)
    known = ref.drop_nulls().to_numpy()
    edges = np.unique(np.quantile(known, np.arange(1, BINS) / BINS)) if known.size else np.zeros(0)

    def counts(values: pl.Series) -> np.ndarray:
        present = values.drop_nulls().to_numpy()
        bucket = np.searchsorted(edges, present, side="left")
        found = np.bincount(bucket, minlength=edges.size + 1).astype(np.float64)
        return np.append(found, float(values.null_count()))

    return counts(ref), counts(new)


def categorical_counts(reference: pl.Series, recent: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Bucket counts of both windows: the reference's frequent categories, other, missing."""
    ref, new = reference.cast(pl.String), recent.cast(pl.String)
    shares = ref.drop_nulls().value_counts(sort=True, normalize=True, name="share")
    kept = shares.filter(pl.col("share") >= MIN_SHARE).head(MAX_CATEGORIES)
    buckets = [*kept.get_column(ref.name).to_list(), _OTHER, _MISSING]

    def counts(values: pl.Series) -> np.ndarray:
        named = values.to_frame("v").select(
            pl.when(pl.col("v").is_null())
            .then(pl.lit(_MISSING))
            .when(pl.col("v").is_in(buckets[:-2]))
            .then(pl.col("v"))
            .otherwise(pl.lit(_OTHER))
            .alias("bucket")
        )
        found = dict(named.group_by("bucket").len().iter_rows())
        return np.array([float(found.get(b, 0)) for b in buckets])

    return counts(ref), counts(new)


@dataclass(frozen=True, slots=True)
class Drift:
    """The PSI of one feature (or of the scores) between the two windows."""

    name: str
    kind: str
    psi: float
    level: Level
    reference_rows: int
    recent_rows: int


def compare(
    reference: pl.DataFrame, recent: pl.DataFrame, *, categorical: Collection[str] = ()
) -> list[Drift]:
    """PSI of every column of ``reference`` (also in ``recent``), highest first."""
    found = []
    for name in reference.columns:
        is_categorical = name in categorical or reference.schema[name] == pl.String
        counter = categorical_counts if is_categorical else numeric_counts
        ref_counts, new_counts = counter(reference.get_column(name), recent.get_column(name))
        value = psi(ref_counts, new_counts)
        found.append(
            Drift(name, "categorical" if is_categorical else "numeric", value, level(value),
                  reference.height, recent.height)
        )  # fmt: skip
    return sorted(found, key=lambda d: -d.psi)


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift between two windows: one entry per feature and one for the scores."""

    reference: tuple[datetime, datetime]
    recent: tuple[datetime, datetime]
    model_version: str | None
    drifts: list[Drift]
    notes: list[str] = field(default_factory=list)

    @property
    def level(self) -> Level:
        """The worst level of any entry."""
        levels = {d.level for d in self.drifts}
        return next((lv for lv in (Level.ALERT, Level.WATCH) if lv in levels), Level.STABLE)

    def alerts(self) -> list[Drift]:
        """The entries at alert level."""
        return [d for d in self.drifts if d.level is Level.ALERT]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "reference": [t.isoformat() for t in self.reference],
            "recent": [t.isoformat() for t in self.recent],
            "model_version": self.model_version,
            "level": self.level.value,
            "thresholds": {"watch": WATCH_AT, "alert": ALERT_AT},
            "drifts": [{**asdict(d), "psi": round(d.psi, 6)} for d in self.drifts],
            "notes": self.notes,
        }


def _window(frame: pl.DataFrame, bounds: tuple[datetime, datetime]) -> pl.DataFrame:
    return frame.filter(pl.col("lodged_at").is_between(*bounds, closed="left"))


def drift_report(
    store: Store,
    *,
    reference: tuple[datetime, datetime],
    recent: tuple[datetime, datetime],
    model: RiskModel | None = None,
    track_records: bool = False,
) -> DriftReport:
    """Drift of the model features and of the stored scores of consignments lodged in each window.

    Features are those a live assessment computes (``features.assessment``), with ``model``'s
    value reference (without a model, one fitted on the reference window). The entity track
    records (days since first seen, controls, hit rates) grow with the calendar, so their PSI
    rises between any two windows by construction: they are left out unless ``track_records``. Scores are the newest
    stored assessment of each consignment; the entry is left out, with a note, when a window has
    none. Raises ``InputError`` when a window holds no consignment.
    """
    for lo, hi in (reference, recent):
        if not lo < hi:
            raise InputError(
                f"a window must end after it starts: {lo.isoformat()} to {hi.isoformat()}"
            )
    end = max(reference[1], recent[1])
    history = reads.goods_item_rows(store, lodged_before=end)
    outcomes = reads.control_outcomes(store, known_before=end)
    windows = [_window(history, reference), _window(history, recent)]
    for rows, (lo, hi) in zip(windows, (reference, recent), strict=True):
        if rows.is_empty():
            raise InputError(f"no consignment lodged from {lo.isoformat()} to {hi.isoformat()}")
    value_reference = (
        model.reference
        if model is not None
        else declared.ValueReference.fit(declared.item_features(windows[0]))
    )
    columns = [f.name for f in model.fraud.features] if model else list(assessment.COLUMNS)
    if not track_records:
        columns = [c for c in columns if c in declared.FEATURES]
    frames = [
        assessment.assessment_frame(
            rows, history=history, outcomes=outcomes, reference=value_reference
        ).select(columns)
        for rows in windows
    ]
    drifts = compare(*frames, categorical=declared.CATEGORICAL)
    notes = (
        []
        if model
        else ["no current model: features use a value reference of the reference window"]
    )
    scored = reads.latest_assessments(store).join(
        reads.latest_consignments(store).select(*declared.KEY, "lodged_at"), on=list(declared.KEY)
    )
    scores = [_window(scored, bounds).get_column("probability") for bounds in (reference, recent)]
    if all(len(s) for s in scores):
        value = psi(*numeric_counts(*scores))
        drifts.append(Drift(SCORES, "score", value, level(value), len(scores[0]), len(scores[1])))
        drifts.sort(key=lambda d: -d.psi)
    else:
        notes.append("scores left out: a window has no stored assessment (run quaywatch score)")
    version = model.version if model else None
    return DriftReport(reference, recent, version, drifts, notes)


def record(store: Store, report: DriftReport, *, actor: str) -> bool:
    """Append a ``drift_alert`` audit event when the report is at alert level; whether it did."""
    alerts = report.alerts()
    if not alerts:
        return False
    with store.transaction() as conn:
        chain.append(
            conn, actor=actor, action="drift_alert", object_type="drift",
            object_id=f"{report.recent[0].isoformat()}/{report.recent[1].isoformat()}",
            details={"reference": [t.isoformat() for t in report.reference],
                     "model_version": report.model_version,
                     "alerts": {d.name: round(d.psi, 4) for d in alerts}},
        )  # fmt: skip
    return True
