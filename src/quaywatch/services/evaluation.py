"""Use cases of measurement: detection against ground truth, and the public KCS benchmark.

- ``evaluate_detection``: the stored consignments lodged since a moment, against the ground
  truth the traffic generator wrote, with the random and oracle references and, given a
  trained model, its assessments (``model_scores``);
- ``evaluate_unseen_patterns``: leave-one-pattern-out (``learning.lopo``), each pattern's
  recall when the model and the assessment knew none of its outcomes;
- ``run_kcs_benchmark``: train, early-stop and report on the KCS customs data set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from quaywatch.errors import InputError
from quaywatch.learning import kcs_run, lopo
from quaywatch.learning.dataset import consignments_with_truth, load_truth, unmatched_truth
from quaywatch.learning.evaluate import Report, ScoreColumn, Unmatched, evaluate, time_split
from quaywatch.learning.lopo import LopoReport
from quaywatch.risk import combine, engine, signals, weight_sets
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.profiles.registry import active_profiles
from quaywatch.services import hit_sources
from quaywatch.services.arguments import check_capacity_pct, utc
from quaywatch.store import reads
from quaywatch.store.store import Store

#: Fewer rows per split than this and the benchmark's top 1 % holds a single row.
MIN_KCS_SAMPLE = 100


def model_scores(
    store: Store,
    path: Path | RiskModel,
    split_at: datetime,
    *,
    outcomes: pl.DataFrame | None = None,
    history: pl.DataFrame | None = None,
    saturation_pct: float = combine.SATURATION_PCT,
    fitted_weights: bool = True,
    key_dir: Path | None = None,
) -> pl.DataFrame:
    """What ``assess`` gives each consignment lodged at or after ``split_at``.

    As a live run on ``split_at`` would have: the control outcomes known before then, and every
    consignment's own lodging time for the entity histories. The other sources read what the
    store holds now: the active profiles, and the container events and party links of the
    evaluated consignments (an assessment is re-run as events arrive, up to discharge and
    gate-out), with saturation above ``saturation_pct`` % (``risk.combine``) and the active
    fitted hit weight set when it was fitted on outcomes known by ``split_at``
    (``weights_before``; else the shipped weights), as a scoring run. Columns: key, ``model`` (the fraud model alone), ``rules`` (log-odds added by
    profiles, anomalies, screening and graph) and ``combined`` (``risk.combine``).

    ``path`` is a model or models folder, or a model in memory. ``outcomes`` replaces the
    outcomes known before ``split_at`` (leave-one-pattern-out passes them less a pattern's);
    ``history`` the store's goods-item rows, when the caller has read them already.
    ``fitted_weights`` false scores with the shipped hit weights: a weight set fitted on
    outcomes the caller withholds would leak them back. ``key_dir``: the key directory
    (``QUAYWATCH_KEY_DIR``), whose partner-group key lets de-identified partner seizures match
    (``services.hit_sources.registered``), as a scoring run.
    """
    model = path if isinstance(path, RiskModel) else RiskModel.load(path)
    if history is None:
        history = reads.goods_item_rows(store)
    if outcomes is None:
        outcomes = reads.control_outcomes(store, known_before=split_at)
    items = history.filter(pl.col("lodged_at") >= split_at)
    end = signals.data_end(store)
    found = engine.assess(
        items, history=history, outcomes=outcomes, model=model,
        explain_rows=engine.Explain.NONE, profiles=active_profiles(store),
        parties=reads.parties(store),
        hits=signals.store_hits(store, items, outcomes=outcomes, now=end),
        sources=hit_sources.registered(store, key_dir), at=end,
        weighting=combine.HitWeighting(
            weights_before(store, split_at)[0] if fitted_weights else None, saturation_pct
        ),
    )  # fmt: skip
    rules = (pl.col("probability") / (1 - pl.col("probability"))) / (
        pl.col("model_probability") / (1 - pl.col("model_probability"))
    )
    return found.select(
        "consignment_id", "version", pl.col("model_probability").alias("model"),
        rules.log().fill_nan(0.0).alias("rules"), pl.col("probability").alias("combined"),
    )  # fmt: skip


def weights_before(
    store: Store, split_at: datetime
) -> tuple[combine.HitWeights | None, tuple[str, ...]]:
    """The active hit weight set if its fit window ends by ``split_at``, else None (the shipped
    weights), with a note saying why when a set is active but left out.

    A set is fitted on the outcomes known before its window's end: one that ends after the
    split learnt from the test period's outcomes (``weights fit --until`` later than
    ``evaluate --split``) and would grade itself on them.
    """
    weights = weight_sets.active(store)
    if weights is None:
        return None, ()
    found = weight_sets.read_set(store, weights.version)
    assert found is not None
    end = utc(found[0]["window_to"])
    if end <= split_at:
        return weights, ()
    return None, (
        f"Scored with the shipped hit weights, not the active set {weights.version}: it was "
        f"fitted on outcomes known up to {end:%Y-%m-%d %H:%M}, after the split "
        f"({split_at:%Y-%m-%d %H:%M}), so it knows the test period's outcomes; fit one with "
        "--until at or before the split to evaluate fitted weights.",
    )


def _in_sample(model: RiskModel, split_at: datetime) -> tuple[str, ...]:
    """A note when ``model`` was trained on outcomes known after ``split_at``."""
    trained = utc(model.trained_until)
    if trained <= split_at:
        return ()
    return (
        f"In-sample: model {model.version} was trained on outcomes known up to "
        f"{trained:%Y-%m-%d %H:%M}, after the split ({split_at:%Y-%m-%d %H:%M}); the "
        "consignments lodged between them were its training data and its figures here are "
        "optimistic. Train with --until at or before the split for an honest test.",
    )


def _test_period(
    store: Store, truth_path: Path, split_at: datetime
) -> tuple[pl.DataFrame, pl.DataFrame, Unmatched]:
    """The truth file, the stored consignments lodged since ``split_at`` with their truth, and
    the truth rows of that period the store never held. ``InputError`` when none is stored."""
    truth = load_truth(truth_path)
    stored = consignments_with_truth(store, truth)
    unmatched = unmatched_truth(stored, truth, since=split_at)
    _, test = time_split(stored, split_at)
    if test.is_empty():
        lost = (
            f"; {unmatched.rows} ground-truth rows of that period match no stored consignment"
            if unmatched.rows
            else ""
        )
        raise InputError(
            f"no stored consignment was lodged at or after {split_at.isoformat()} "
            f"({stored.height} stored in all{lost})"
        )
    return truth, test, unmatched


def evaluate_detection(
    store: Store,
    *,
    truth_path: Path,
    split_at: datetime,
    capacity_pct: float,
    model_path: Path | None = None,
    saturation_pct: float = combine.SATURATION_PCT,
    key_dir: Path | None = None,
) -> Report:
    """Detection on the stored consignments lodged at or after ``split_at``, against the truth.

    Always the references: random selection (the floor) and a perfect oracle (the ceiling), at
    1, 2, 5, 10 % and at ``capacity_pct``. With ``model_path`` (a model or a models folder),
    the model's assessments too, using only the control outcomes known before ``split_at``;
    the other risk sources (profiles, anomalies, screening, graph) are shown apart and combined
    with the model only when they found something. Truth rows of consignments lodged since
    ``split_at`` that the store never held are reported (``Report.unmatched``), not dropped
    silently. A naive ``split_at`` is taken as UTC. ``key_dir`` as for a scoring run
    (``model_scores``).

    The report's notes say when the active hit weight set was left out because it was fitted on
    outcomes of the test period (``weights_before``), and when the model was trained on outcomes
    known after ``split_at`` (its figures are then in-sample).
    """
    check_capacity_pct(capacity_pct)
    split_at = utc(split_at)
    _, test, unmatched = _test_period(store, truth_path, split_at)
    scorers = []
    notes: tuple[str, ...] = ()
    if model_path is not None:
        model = RiskModel.load(model_path)
        notes = (*_in_sample(model, split_at), *weights_before(store, split_at)[1])
        test = test.join(
            model_scores(store, model, split_at, saturation_pct=saturation_pct, key_dir=key_dir),
            on=["consignment_id", "version"],
            how="left",
        )
        scorers.append(ScoreColumn("model", calibrated=True))
        found = test.select(pl.col("rules").fill_null(0.0).abs().max()).item()
        if found:
            # Profiles, anomalies, screening or the graph found something: show them apart
            # and combined with the model, side by side.
            scorers += [ScoreColumn("rules"), ScoreColumn("combined", calibrated=True)]
        else:
            test = test.drop("rules", "combined")
    report = evaluate(test, scorers, capacity_pct=capacity_pct, unmatched=unmatched)
    return dataclasses.replace(report, notes=(*report.notes, *notes)) if notes else report


def evaluate_unseen_patterns(
    store: Store,
    *,
    truth_path: Path,
    split_at: datetime,
    capacity_pct: float,
    labels_until: datetime | None = None,
    patterns: Sequence[str] | None = None,
    key_dir: Path | None = None,
) -> LopoReport:
    """Leave-one-pattern-out on the stored consignments lodged at or after ``split_at``.

    For the baseline and for each pattern (default: every pattern with an illicit consignment
    in the test period), a model is trained in memory as ``quaywatch train`` trains one, on the
    consignments lodged before ``split_at`` and their control outcomes known before
    ``labels_until`` (default ``split_at``, as a live run on that day), less every outcome of
    the pattern's consignments; the test period is then assessed with every source, the
    outcomes known before ``split_at`` less the same ones. A later ``labels_until`` lets
    generated traffic, whose controls report weeks after lodging, learn from the training
    period's outcomes as they were eventually known; the test period's own outcomes are never
    used. Nothing is written: no model folder, no store record. Naive times are UTC.
    ``key_dir`` as for a scoring run (``model_scores``).
    """
    check_capacity_pct(capacity_pct)
    split_at = utc(split_at)
    until = split_at if labels_until is None else utc(labels_until)
    truth, test, unmatched = _test_period(store, truth_path, split_at)
    history = reads.goods_item_rows(store)
    items = history.filter(pl.col("lodged_at") < split_at)
    outcomes = reads.control_outcomes(store, known_before=until).join(
        items.select("consignment_id").unique(), on="consignment_id", how="semi"
    )

    def assess(model: RiskModel, known: pl.DataFrame) -> pl.DataFrame:
        return model_scores(
            store, model, split_at, outcomes=known, history=history, fitted_weights=False,
            key_dir=key_dir,
        )  # fmt: skip

    return lopo.leave_one_pattern_out(
        items, outcomes, truth, test, split_at=split_at, labels_until=until,
        capacity_pct=capacity_pct, assess=assess, patterns=patterns, unmatched=unmatched,
    )  # fmt: skip


def run_kcs_benchmark(data: Path, *, sample: int | None = None) -> dict[str, Any]:
    """The KCS benchmark report (JSON-ready): train on train, stop early on valid, test on test.

    ``sample``: use that many random rows of each split (at least 100), for a quick run.
    """
    if sample is not None and sample < MIN_KCS_SAMPLE:
        raise InputError(f"sample must be at least {MIN_KCS_SAMPLE} rows, got {sample}")
    return kcs_run.run(data, sample=sample)
