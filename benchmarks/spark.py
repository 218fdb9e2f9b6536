"""Spark benchmark: the same assessment on Spark ``local[1]``, ``local[2]`` and single-node.

    python benchmarks/spark.py [--train-days 35] [--days 90] [--per-day 20000] [--workdir DIR]

Generates TRAIN_DAYS + DAYS days of synthetic traffic with legacy controls (the README quarter:
``--days 90 --per-day 20000``), turns the CSV files into goods-item rows and outcomes without a
database (``synth.frames``), trains a model (on every outcome: only speed is measured), then assesses the DAYS days
after them three ways, timing each on the same rows:

- ``single_node``: ``engine.assess`` with the whole history and every outcome (one process);
- ``local1`` / ``local2``: ``scale.spark.assessments`` on Spark ``local[1]`` / ``local[2]``
  (entity state built in Spark, the model and the period's state broadcast, ``mapInArrow``),
  run to the end with Spark's ``noop`` sink. The session's start is timed apart
  (``local*_start_s``) and not counted in the rows per second.

Last line: JSON with ``local1_rows_per_s``, ``local2_rows_per_s``, ``scaling`` (local[2] over
local[1]), ``single_node_rows_per_s``, the rows and the seconds. Targets (issue 19): scaling
>= 1.6 and local[2] within 2x of the single node; the script measures them, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from quaywatch.learning import train
from quaywatch.risk import engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.scale import spark as qspark
from quaywatch.synth import frames, traffic
from quaywatch.synth.controls import ControlRates

START = date(2026, 10, 1)


def _spark(master: str, work: Path, model: RiskModel, since: date, until: date) -> dict[str, float]:
    started = time.perf_counter()
    session = qspark.session(master, partitions=8 if master == "local[2]" else 4)
    start_s = time.perf_counter() - started
    try:
        items = session.read.parquet(str(work / "items.parquet"))
        outcomes = session.read.parquet(str(work / "outcomes.parquet"))
        started = time.perf_counter()
        with qspark.assessments(items, outcomes, model=model, start=since, end=until,
                                partitions=8 if master == "local[2]" else 4) as found:  # fmt: skip
            found.write.format("noop").mode("overwrite").save()
        seconds = time.perf_counter() - started
    finally:
        session.stop()
    return {"start_s": round(start_s, 2), "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-days", type=int, default=35)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    # pyspark's local Python workers: this interpreter, not ``python3`` (scale.spark.session).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-spark-"))
    made = traffic.generate(
        work / "traffic", days=args.train_days + args.days, per_day=args.per_day, seed=7,
        start=START, with_events=False,
        control_rates=ControlRates(random_share=0.05, rule_share=0.1),
    )  # fmt: skip
    items = frames.goods_item_rows(made.consignment_files)
    outcomes = frames.control_outcomes(made.outcome_files)
    items.write_parquet(work / "items.parquet")
    outcomes.write_parquet(work / "outcomes.parquet")
    cut = datetime.combine(START + timedelta(days=args.train_days), datetime.min.time(), UTC)
    # Only speed is measured here: the model learns from every outcome, those of the period too.
    known = cut + timedelta(days=args.days + 90)
    trained = train.fit(items, outcomes, until=known, capacity_pct=3.0, allow_few_hits=True)
    model = RiskModel.load(trained.save(work / "models"))
    since, until = cut.date(), START + timedelta(days=args.train_days + args.days - 1)
    period = items.filter(pl.col("lodged_at") >= cut)
    rows = period.select("consignment_id").n_unique()

    started = time.perf_counter()
    engine.assess(period, history=items, outcomes=outcomes, model=model)
    single_s = time.perf_counter() - started
    figures: dict[str, object] = {"rows": rows, "single_node_s": round(single_s, 2)}
    for name, master in (("local1", "local[1]"), ("local2", "local[2]")):
        timed = _spark(master, work, model, since, until)
        figures[f"{name}_start_s"] = timed["start_s"]
        figures[f"{name}_s"] = timed["seconds"]
        figures[f"{name}_rows_per_s"] = round(rows / timed["seconds"])
    local1, local2 = figures["local1_rows_per_s"], figures["local2_rows_per_s"]
    assert isinstance(local1, int) and isinstance(local2, int)
    figures["scaling"] = round(local2 / local1, 2)
    figures["single_node_rows_per_s"] = round(rows / single_s)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
