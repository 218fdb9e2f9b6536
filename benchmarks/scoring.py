"""Scoring benchmark: a million consignments through ``engine.assess``, raw LightGBM as reference.

    python benchmarks/scoring.py [--count 1000000] [--per-day 20000] [--train-days 35]
                                 [--capacity-pct 3.0] [--workdir DIR] [--reuse]
                                 [--assessments FILE]

Generates TRAIN_DAYS + COUNT / PER_DAY days of synthetic traffic with legacy controls (at higher
control rates than the default, so a short training window has enough labels), turns the CSV
files into frames shaped like ``store.reads.goods_item_rows`` and ``reads.control_outcomes``
without a database (``synth.frames``; ingest is measured by ``benchmarks/ingest.py``), trains a
model on the training days, and computes the entity state a store keeps as the traffic arrives
and its tallies (``intake.entity_state``; a run with ``--reuse`` on an older work folder
computes what is missing). A second process, whose peak RSS is the one reported, then times
``engine.assess`` on the goods items of the COUNT consignments lodged after the training window, their track
records looked up in the state's tallies (``features.batch_state``; outcomes: every one known;
reasons for the rows leaving the green lane), times its steps one by one, and times
``booster.predict`` of the fraud model on the same feature matrix, built beforehand, and the
same through ``predict_raw`` (the compiled model where ``risk.compiled`` could build it, as
``assess`` uses it). Models are compiled explicitly after training, as ``quaywatch train``
does, in the training process: the compile time is printed, not counted. The scoring process
only loads the model (``load_s``: with the compiled objects it finds, checked on their probe;
loading never compiles). ``--assessments FILE`` writes what ``assess`` returned (Parquet), to
compare two versions of the code. Last line: JSON with ``rows_per_s``, ``cpu_s`` (CPU time of
every thread of ``assess``: steadier than the wall clock on a shared machine),
``raw_predict_rows_per_s``, ``ratio`` (raw / end to end), ``cpu_ratio`` (the CPU time of
``assess`` over that of LightGBM alone, every thread of each: on a loaded machine the wall
clocks of both slow down unevenly; LightGBM's threads may spin while they wait, which counts
as CPU, so read it beside ``ratio``, not instead), ``peak_rss_mb``, ``explained``,
``compiled``, ``load_s``, the seconds of each step (wall, and ``*_cpu_s`` CPU) and, for
comparison, ``from_history_s``: the same track records recomputed from the whole history (not
counted).
Targets (issue "risk engine core"): >= 200,000 rows/s on two cores, within 3x raw predict,
<= 4 GiB peak; the script measures them, it does not assert them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty
from typing import Any

import polars as pl

_ITEMS = "items.parquet"
_OUTCOMES = "outcomes.parquet"
_STATES = "states.parquet"
_TALLIES = "tallies.parquet"
_MODELS = "models"


# --- Child processes. -------------------------------------------------------------------------


def _train(traffic: str, work: str, until: str, capacity_pct: float, queue: Any) -> None:
    """Adapt the CSVs once (saved as Parquet for the scoring process) and train a model."""
    from quaywatch.learning import train
    from quaywatch.synth import frames

    out = Path(traffic)
    started = time.perf_counter()
    items = frames.goods_item_rows(sorted((out / "consignments").glob("*.csv")))
    outcomes = frames.control_outcomes(sorted((out / "outcomes").glob("*.csv")))
    items.write_parquet(Path(work) / _ITEMS)
    outcomes.write_parquet(Path(work) / _OUTCOMES)
    adapted = time.perf_counter() - started
    started = time.perf_counter()
    model = train.fit(
        items, outcomes, until=datetime.fromisoformat(until), capacity_pct=capacity_pct
    )
    folder = model.save(Path(work) / _MODELS)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    model.compile(folder)  # as ``quaywatch train`` does: kept in the model's folder
    queue.put((adapted, trained, time.perf_counter() - started, model.metrics))


def _keep_state(work: str, queue: Any) -> None:
    """The entity state the store would have kept as the traffic arrived: every key's rows
    (``intake.entity_state``), computed from the whole history at once and saved, and its
    tallies (``entity_tallies``), what assessing reads."""
    from quaywatch.intake.entity_state import states_from_history, tallies

    started = time.perf_counter()
    if (Path(work) / _STATES).is_file():  # a work folder from before the tallies were kept
        states = pl.read_parquet(Path(work) / _STATES)
    else:
        states = states_from_history(
            pl.read_parquet(Path(work) / _ITEMS), pl.read_parquet(Path(work) / _OUTCOMES)
        )
        states.write_parquet(Path(work) / _STATES)
    kept = tallies(states)
    kept.write_parquet(Path(work) / _TALLIES)
    queue.put((states.height, kept.height, time.perf_counter() - started))


class _Steps:
    """The wall and CPU seconds (every thread) of consecutive steps, each from the end of the
    one before: ``step(name)`` ends the step ``name``."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def step(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[f"{name}_s"] = round(wall - self._wall, 3)
        self.cpu[f"{name}_cpu_s"] = round(cpu - self._cpu, 3)
        self._wall, self._cpu = wall, cpu


def _score(work: str, until: str, count: int, out: str, queue: Any) -> None:
    """Time ``assess`` end to end, then its steps, then raw predict on the same matrix."""
    import numpy as np

    from quaywatch.features import assessment, declared
    from quaywatch.features.batch_state import snapshot_features
    from quaywatch.risk import combine, engine, explain
    from quaywatch.risk.bundle import RiskModel

    # The ``count`` first consignments lodged from the end of the training window on: only
    # their goods items are read; the track records come from the kept entity state.
    lodged = pl.scan_parquet(Path(work) / _ITEMS).filter(
        pl.col("lodged_at") >= datetime.fromisoformat(until)
    )
    chosen = lodged.select("consignment_id").unique(maintain_order=True).head(count)
    items = lodged.join(chosen, on="consignment_id", how="semi", maintain_order="left").collect()
    outcomes = pl.read_parquet(Path(work) / _OUTCOMES)
    states = pl.read_parquet(Path(work) / _TALLIES)
    # With the compiled objects ``_train`` kept (a model saved without them predicts with
    # LightGBM: loading never compiles).
    started = time.perf_counter()
    model = RiskModel.load(Path(work) / _MODELS)
    load_s = time.perf_counter() - started
    compiled = model.is_compiled
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started, cpu = time.perf_counter(), time.process_time()
    found = engine.assess(items, history=None, states=states, outcomes=outcomes, model=model,
                          explain_rows=engine.Explain.AUTO)  # fmt: skip
    seconds = time.perf_counter() - started
    # Every thread's CPU time: on a shared machine, steadier than the wall clock.
    cpu_s = time.process_time() - cpu
    peak_assess = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = found.height
    explained = int(found.get_column("explained").sum())
    if out:  # to compare the assessments of two versions of the code
        found.write_parquet(out)
    del found

    # The same steps as ``assess``, one by one: where the time goes.
    steps = _Steps()
    item_rows = declared.item_features(items)
    batch = declared.consignment_features(item_rows, model.reference)
    steps.step("batch_features")
    x = snapshot_features(
        states, batch, entities=assessment.ENTITIES, kinds=assessment.HISTORY_KINDS
    ).select(assessment.COLUMNS)
    steps.step("track_records")
    matrix = model.fraud.matrix(x)
    steps.step("matrix")
    probability = model.fraud.predict_proba(matrix)[:, 1]
    steps.step("fraud_predict_proba")
    model.revenue.predict(matrix)
    steps.step("revenue_predict")
    every = engine.source_hits(
        pl.concat([batch, x.select(c for c in x.columns if c not in batch.columns)],
                  how="horizontal"),
        item_rows, profiles=None, parties=None, hits=None, norms=model.norms,
    )  # fmt: skip
    steps.step("norms")
    keys = batch.select(declared.KEY)
    combined = combine.combine(keys.with_columns(pl.Series("probability", probability)), every)
    steps.step("combine")
    review = np.flatnonzero(probability >= model.review_probability)
    # As in ``assess``: the model's columns and the context its templates name.
    picked = pl.concat([x, batch.select(declared.CONTEXT)], how="horizontal")[review]
    contributions = model.fraud.contributions(matrix[review])
    steps.step("contributions")
    reasons = explain.model_reasons(contributions, picked, top=engine.TOP_REASONS)
    steps.step("reasons")
    texts = [explain.to_json(r) for r in explain.merge(reasons, top=engine.TOP_REASONS)]
    slot = np.full(x.height, len(texts))
    slot[review] = np.arange(review.size)
    pl.Series("reasons", [*texts, "[]"], pl.String).gather(slot)
    steps.step("reasons_json")
    del combined
    # For comparison, not counted: the same track records recomputed from the whole history
    # (what ``assess`` does where it is given the history instead of the state).
    history = pl.read_parquet(Path(work) / _ITEMS)
    t = time.perf_counter()
    assessment.model_inputs(
        batch, consignments=assessment.known_consignments(batch, history), outcomes=outcomes
    )
    from_history_s = time.perf_counter() - t
    del history
    # How far the path attributions stray from TreeSHAP on the rows they explain (a sample).
    sample = review[:: max(1, review.size // 2_000)]
    shap = model.fraud.contributions(matrix[sample], method="shap").drop("bias").to_numpy()
    path = model.fraud.contributions(matrix[sample]).drop("bias").to_numpy()
    top3 = [len(set(a) & set(b)) / 3 for a, b in zip(np.argsort(-shap)[:, :3],
                                                      np.argsort(-path)[:, :3], strict=True)]  # fmt: skip
    agreement = {
        "top1_same_as_shap": float((shap.argmax(1) == path.argmax(1)).mean()),
        "top3_overlap_with_shap": float(np.mean(top3)),
    }

    # Reference: LightGBM alone on the fraud model's matrix of the same rows (built above).
    booster = model.fraud.booster
    started, cpu = time.perf_counter(), time.process_time()
    booster.predict(matrix)
    raw_s = time.perf_counter() - started
    raw_cpu_s = time.process_time() - cpu
    # What ``assess`` runs instead where the model compiled (``risk.compiled``): same figures.
    started = time.perf_counter()
    model.fraud.predict_raw(matrix)
    compiled_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"rows": rows, "state_rows": states.height, "goods_items": items.height,
               "explained": explained, "seconds": seconds, "raw_predict_s": raw_s, "cpu_s": cpu_s,
               "raw_predict_cpu_s": raw_cpu_s, **steps.cpu,
               "rss_before_mb": rss_before, "peak_rss_mb": peak_assess,
               "peak_rss_with_profile_mb": peak,
               "fraud_trees": model.fraud.booster.num_trees(), **agreement,
               "compiled": compiled, "load_s": load_s,
               "compiled_predict_s": compiled_s, "from_history_s": from_history_s,
               **steps.wall})  # fmt: skip


def _child(target: Any, *args: Any) -> Any:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=target, args=(*args, queue))
    child.start()
    while True:  # a child that dies would leave a plain ``queue.get()`` waiting for ever
        try:
            result = queue.get(timeout=5)
            break
        except Empty:
            if not child.is_alive():
                raise SystemExit(f"{target.__name__} failed (exit code {child.exitcode})") from None
    child.join()
    return result


def _prepare(
    work: Path, args: argparse.Namespace, days: int, per_day: int, start: datetime, until: datetime
) -> None:
    """Generate the traffic and train the model the scoring process loads."""
    from quaywatch.synth import controls, traffic

    started = time.perf_counter()
    generated = traffic.generate(
        work / "traffic", days=days, per_day=per_day, seed=args.seed,
        start=start.date(), with_events=False, legacy_controls=True,
        control_rates=controls.ControlRates(random_share=0.05, rule_share=0.10),
    )  # fmt: skip
    print(
        f"generated {generated.consignments:,} consignments ({generated.goods_items:,} goods "
        f"items, {generated.controls:,} controls) in {time.perf_counter() - started:.1f} s"
    )

    adapt_s, train_s, compile_s, metrics = _child(
        _train, str(work / "traffic"), str(work), until.isoformat(), args.capacity_pct
    )
    print(
        f"adapted CSV to frames in {adapt_s:.1f} s; trained until {until:%Y-%m-%d} in "
        f"{train_s:.1f} s on {metrics['labelled']:,} labelled ({metrics['hits']:,} hits), "
        f"held-out AUC {metrics['held_out_auc']:.3f}; compiled both models in {compile_s:.1f} s"
    )
    _state(work)


def _state(work: Path) -> None:
    """The entity state kept as the traffic arrived (``intake.entity_state``), computed once."""
    height, tallied, seconds = _child(_keep_state, str(work))
    print(
        f"entity state: {height:,} rows, {tallied:,} of them tallies (what assessing reads), "
        f"computed from the history in {seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="Consignments to score.")
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--train-days", type=int, default=35)
    parser.add_argument("--capacity-pct", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--reuse", action="store_true",
        help="Score again the traffic and model an earlier run left in --workdir.",
    )  # fmt: skip
    parser.add_argument(
        "--assessments", type=Path, default=None,
        help="Write the assessments (Parquet) here, to compare two versions of the code.",
    )  # fmt: skip
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-scoring-"))
    work.mkdir(parents=True, exist_ok=True)

    score_days = -(-args.count // args.per_day)
    per_day = -(-args.count // score_days)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    until = start + timedelta(days=args.train_days)
    if args.reuse and (work / _MODELS).is_dir():
        print(f"reusing the traffic and model in {work}")
        if not (work / _TALLIES).is_file():  # left by a run from before the tallies were read
            _state(work)
    else:
        _prepare(work, args, args.train_days + score_days, per_day, start, until)
    r = _child(_score, str(work), until.isoformat(), args.count, str(args.assessments or ""))
    rows_per_s = r["rows"] / r["seconds"]
    raw_per_s = r["rows"] / r["raw_predict_s"]
    others = ("raw_predict_s", "compiled_predict_s", "load_s", "from_history_s", "cpu_s")
    steps = {
        k: v
        for k, v in r.items()
        if k.endswith("_s") and not k.endswith("_cpu_s") and k not in others
    }
    cpu_steps = {k: v for k, v in r.items() if k.endswith("_cpu_s") and k != "raw_predict_cpu_s"}
    groups = {
        "features_s": ("batch_features_s", "track_records_s"),
        "predict_s": ("fraud_predict_proba_s", "revenue_predict_s"),
        "hits_s": ("norms_s", "combine_s"),
        "explain_s": ("contributions_s", "reasons_s", "reasons_json_s"),
    }
    totals = {name: round(sum(steps[k] for k in keys), 3) for name, keys in groups.items()}
    print(
        f"assess: {r['rows']:,} consignments ({r['goods_items']:,} goods items, entity "
        f"tallies {r['state_rows']:,} rows) in {r['seconds']:.1f} s, {rows_per_s:,.0f} rows/s, "
        f"{r['explained']:,} explained; peak RSS {r['peak_rss_mb']:,.0f} MB "
        f"({r['rss_before_mb']:,.0f} MB before scoring)"
    )
    print("steps: " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    print("steps' CPU: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu_steps.items()))
    print(
        f"track records from the state {r['track_records_s']:.2f} s, recomputed from the whole "
        f"history {r['from_history_s']:.2f} s (not counted)"
    )
    print(f"raw LightGBM predict: {r['raw_predict_s']:.2f} s, {raw_per_s:,.0f} rows/s")
    print(
        f"compiled fraud model: {r['compiled_predict_s']:.2f} s"
        if r["compiled"]
        else "compiled models unavailable here: LightGBM predicts"
    )
    print(
        json.dumps(
            {
                "rows": r["rows"],
                "rows_per_s": round(rows_per_s),
                "raw_predict_rows_per_s": round(raw_per_s),
                "ratio": round(raw_per_s / rows_per_s, 2),
                "peak_rss_mb": round(r["peak_rss_mb"], 1),
                "explained": r["explained"],
                "seconds": round(r["seconds"], 2),
                "cpu_s": round(r["cpu_s"], 2),
                "raw_predict_s": round(r["raw_predict_s"], 3),
                "raw_predict_cpu_s": round(r["raw_predict_cpu_s"], 3),
                "cpu_ratio": round(r["cpu_s"] / max(r["raw_predict_cpu_s"], 1e-9), 2),
                "state_rows": r["state_rows"],
                "goods_items": r["goods_items"],
                "rss_before_scoring_mb": round(r["rss_before_mb"], 1),
                "peak_rss_with_profile_mb": round(r["peak_rss_with_profile_mb"], 1),
                "fraud_trees": r["fraud_trees"],
                "compiled": r["compiled"],
                "compiled_predict_s": round(r["compiled_predict_s"], 3),
                "load_s": round(r["load_s"], 3),
                "from_history_s": round(r["from_history_s"], 3),
                "top1_same_as_shap": round(r["top1_same_as_shap"], 3),
                "top3_overlap_with_shap": round(r["top3_overlap_with_shap"], 3),
                **totals,
                **steps,
                **cpu_steps,
            }
        )
    )


if __name__ == "__main__":
    main()
