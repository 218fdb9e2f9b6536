"""Spark benchmark: the same assessment on Spark ``local[1]``, ``local[2]`` and single-node.

    python benchmarks/spark.py [--train-days 30] [--days 60] [--per-day 8000] [--workdir DIR]

The defaults are the README quarter (``quaywatch generate --days 90 --per-day 8000``: 720,000
consignments): TRAIN_DAYS + DAYS days of synthetic traffic with legacy controls, written day by
day as Parquet goods-item rows and outcomes (``synth.frames``, one day in memory at a time; a
``--workdir`` that holds them from an earlier run of the same size is reused). A model is
trained on the first TRAIN_DAYS days and their outcomes, then the DAYS days after
them are assessed three ways, on the same rows, timed in the same run:

- ``single_node``: ``engine.assess`` with the whole history and every outcome, one process
  (polars on every core of the machine), everything in memory;
- ``local1`` / ``local2``: ``scale.spark.assessments`` on Spark ``local[1]`` / ``local[2]``
  (entity state built in Spark from the Parquet history, the model and the period's state
  broadcast, ``mapInArrow``; one thread and one partition per core, a 4 GB driver), run to
  the end with Spark's ``noop`` sink.
  The fixed start of a job (the JVM, and one Python worker per core importing polars,
  LightGBM and quaywatch) is timed apart as ``local*_start_s`` and not counted in the rows
  per second; ``local*_with_start_rows_per_s`` counts it.

Last line: JSON with ``local1_rows_per_s``, ``local2_rows_per_s``, ``scaling`` (local[2] over
local[1]), ``single_node_rows_per_s``, the rows, the seconds and the machine's load average
at the end (the figures are wall-clock). Targets (issue 19): scaling >= 1.6 and local[2] within
2x of the single node; the script measures them, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa

from quaywatch.learning import train
from quaywatch.risk import engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.scale import spark as qspark
from quaywatch.synth import frames, traffic
from quaywatch.synth.controls import ControlRates

START = date(2026, 10, 1)


def _data(work: Path, days: int, per_day: int) -> tuple[Path, Path]:
    """``items/`` and ``outcomes/`` Parquet folders, one file per generated day."""
    items, outcomes = work / "items", work / "outcomes"
    done = work / f"done-{days}x{per_day}"
    if done.exists():
        return items, outcomes
    made = traffic.generate(
        work / "traffic", days=days, per_day=per_day, seed=7, start=START, with_events=False,
        control_rates=ControlRates(random_share=0.05, rule_share=0.1),
    )  # fmt: skip
    items.mkdir()
    outcomes.mkdir()
    for n, path in enumerate(made.consignment_files):
        frames.goods_item_rows([path]).write_parquet(items / f"part-{n:04d}.parquet")
    for n, path in enumerate(made.outcome_files):
        frames.control_outcomes([path]).write_parquet(outcomes / f"part-{n:04d}.parquet")
    done.touch()
    return items, outcomes


def _warm(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Import what a scoring task imports (a Python worker's start)."""
    import quaywatch.risk.batch  # noqa: F401

    yield from batches


def _spark(
    master: str, cores: int, items: Path, outcomes: Path, model: RiskModel, since: date,
    until: date,
) -> dict[str, float]:  # fmt: skip
    started = time.perf_counter()
    session = qspark.session(master, partitions=cores)
    # One Python worker per core, started (Spark keeps them for the job's tasks).
    session.range(0, cores, numPartitions=cores).mapInArrow(_warm, "id long").collect()
    start_s = time.perf_counter() - started
    try:
        history = session.read.parquet(str(items))
        controls = session.read.parquet(str(outcomes))
        started = time.perf_counter()
        with qspark.assessments(
            history, controls, model=model, start=since, end=until, partitions=cores
        ) as found:
            found.write.format("noop").mode("overwrite").save()
        seconds = time.perf_counter() - started
    finally:
        session.stop()
    return {"start_s": start_s, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-days", type=int, default=30)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=8_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    # pyspark's local Python workers: this interpreter, not ``python3`` (scale.spark.session).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # The period's state is collected on the driver (the local JVM) before it is broadcast:
    # a quarter's is a few million rows, more than the default 1 GB heap holds comfortably.
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-memory 4g pyspark-shell")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    items_dir, outcomes_dir = _data(work, args.train_days + args.days, args.per_day)
    cut = datetime.combine(START + timedelta(days=args.train_days), datetime.min.time(), UTC)
    since, until = cut.date(), START + timedelta(days=args.train_days + args.days - 1)
    items = pl.read_parquet(items_dir / "*.parquet")
    outcomes = pl.read_parquet(outcomes_dir / "*.parquet")
    # Trained on the consignments before the period with their outcomes, known later (only
    # speed is measured; the generator's outcomes come weeks after the lodging).
    before = items.filter(pl.col("lodged_at") < cut)
    known = cut + timedelta(days=args.days + 90)
    trained = train.fit(before, outcomes, until=known, capacity_pct=3.0, allow_few_hits=True)
    model = RiskModel.load(trained.save(work / "models"))
    del before
    period = items.filter(pl.col("lodged_at") >= cut)
    rows = period.select("consignment_id").n_unique()

    started = time.perf_counter()
    engine.assess(period, history=items, outcomes=outcomes, model=model)
    single_s = time.perf_counter() - started
    del items, outcomes, period
    figures: dict[str, object] = {
        "rows": rows, "history_days": args.train_days + args.days, "per_day": args.per_day,
        "single_node_s": round(single_s, 2),
    }  # fmt: skip
    rates: dict[str, float] = {}
    for name, cores in (("local1", 1), ("local2", 2)):
        timed = _spark(f"local[{cores}]", cores, items_dir, outcomes_dir, model, since, until)
        rates[name] = rows / timed["seconds"]
        figures[f"{name}_start_s"] = round(timed["start_s"], 2)
        figures[f"{name}_s"] = round(timed["seconds"], 2)
        figures[f"{name}_rows_per_s"] = round(rates[name])
        with_start = rows / (timed["seconds"] + timed["start_s"])
        figures[f"{name}_with_start_rows_per_s"] = round(with_start)
    figures["scaling"] = round(rates["local2"] / rates["local1"], 2)
    figures["single_node_rows_per_s"] = round(rows / single_s)
    figures["single_over_local2"] = round(rows / single_s / rates["local2"], 2)
    figures["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
