"""Spark benchmark: the same assessment on Spark ``local[1]``, ``local[2]`` and single-node.

    python benchmarks/spark.py [--train-days 30] [--days 60] [--per-day 8000] [--workdir DIR]

The defaults are the README quarter (``quaywatch generate --days 90 --per-day 8000``: 720,000
consignments): TRAIN_DAYS + DAYS days of synthetic traffic with legacy controls, written day by
day as Parquet goods-item rows and outcomes (``synth.frames``, one day in memory at a time; a
``--workdir`` that holds them from an earlier run of the same size is reused). A model is
trained on the first TRAIN_DAYS days and their outcomes, then the DAYS days after
them are assessed three ways, on the same rows, timed in the same run:

- ``single_node``: ``engine.assess`` with the whole history and every outcome, one process
  (polars on every core of the machine), timed from reading the Parquet files;
- ``single_node_state``: the algorithm the Spark job distributes, in one process: the state
  from the history's deltas (``intake.entity_state.states_from_history``), then
  ``engine.assess`` from it (what it costs over ``single_node`` is the algorithm's, what
  Spark costs over it is Spark's);
- ``local1`` / ``local2``: ``scale.spark.assessments`` on Spark ``local[1]`` / ``local[2]``
  (entity state built in Spark from the Parquet history as a kept state's first build is,
  joined to the period's parts by key, the model broadcast, ``applyInArrow``; one thread and
  one partition per core, a 4 GB driver), run to the end with Spark's ``noop`` sink.
  The fixed start of a job (the JVM, and one Python worker per core importing polars,
  LightGBM and quaywatch) is timed apart as ``local*_start_s`` and not counted in the rows
  per second; ``local*_with_start_rows_per_s`` counts it.

- ``local1_kept`` / ``local2_kept``: the same, the state read from a kept state instead (as
  ``quaywatch spark score`` reads the lake's, ``scale.kept_state``), built once beforehand from
  the whole history on ``local[2]`` and timed apart (``kept_build_local2_s``).

Last line: JSON with ``local1_rows_per_s``, ``local2_rows_per_s``, ``scaling`` (local[2] over
local[1]), ``single_node_rows_per_s``, the rows, the seconds and the machine's load average
at the end (wall-clock), and ``*_cpu_us_per_row``: CPU microseconds per consignment (the
single node's process; for Spark the JVM and its Python workers, from ``/proc``, Linux
only), which a machine shared with other jobs disturbs much less than the wall clock. Targets (issue 19): scaling >= 1.6 and local[2] within
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

from quaywatch.intake.entity_state import states_from_history
from quaywatch.learning import train
from quaywatch.risk import engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.scale import kept_state, spark as qspark
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


def _cpu_of_children() -> float:
    """CPU seconds (user and system) of this process's descendants, from ``/proc`` (Linux):
    the Spark JVM, its Python workers, and the children they reaped. 0 elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, list[tuple[int, float]]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime: the process and the children it reaped.
        seconds = sum(int(x) for x in fields[11:15]) / tick
        parent.setdefault(int(fields[1]), []).append((int(entry.name), seconds))
    total, todo = 0.0, [os.getpid()]
    while todo:
        for pid, seconds in parent.get(todo.pop(), []):
            total += seconds
            todo.append(pid)
    return total


def _warm(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Import what a scoring task imports (a Python worker's start)."""
    import quaywatch.risk.batch  # noqa: F401

    yield from batches


def _build_kept(cores: int, items: Path, outcomes: Path, kept: Path) -> dict[str, float]:
    """The entity state of the whole history built on Spark ``local[cores]`` and written as a
    lake keeps it (``scale.spark.state_changes``, ``folded``: what ``quaywatch spark state``
    runs on a lake's first export), timed without the session's start."""
    session = qspark.session(f"local[{cores}]", partitions=cores)
    try:
        history = session.read.parquet(str(items))
        controls = session.read.parquet(str(outcomes))
        started = time.perf_counter()
        cpu = time.process_time() + _cpu_of_children()
        deltas = qspark.state_changes((history, controls), None, cores).withColumn(
            "bucket", qspark.state_bucket(kept_state.DEFAULT_BUCKETS)
        )
        qspark.folded(None, deltas).write.mode("overwrite").partitionBy("bucket").parquet(str(kept))
        seconds = time.perf_counter() - started
        job_cpu = time.process_time() + _cpu_of_children() - cpu
    finally:
        session.stop()
    return {"seconds": seconds, "cpu_s": job_cpu}


def _spark(
    master: str, cores: int, items: Path, outcomes: Path, model: RiskModel, since: date,
    until: date, kept: Path | None = None,
) -> dict[str, float]:  # fmt: skip
    """One Spark assessment of the period: the state built from the history, or read from
    ``kept`` (``_build_kept``)."""
    started = time.perf_counter()
    cpu = time.process_time() + _cpu_of_children()
    session = qspark.session(master, partitions=cores)
    # One Python worker per core, started (Spark keeps them for the job's tasks).
    session.range(0, cores, numPartitions=cores).mapInArrow(_warm, "id long").collect()
    start_s = time.perf_counter() - started
    start_cpu = time.process_time() + _cpu_of_children()
    try:
        history = session.read.parquet(str(items))
        controls = session.read.parquet(str(outcomes))
        started = time.perf_counter()
        state = session.read.parquet(str(kept)) if kept is not None else None
        with qspark.assessments(
            history, controls, state=state, model=model, start=since, end=until,
            partitions=cores,
        ) as found:  # fmt: skip
            found.write.format("noop").mode("overwrite").save()
        seconds = time.perf_counter() - started
        job_cpu = time.process_time() + _cpu_of_children() - start_cpu
    finally:
        session.stop()
    return {"start_s": start_s, "seconds": seconds, "start_cpu_s": start_cpu - cpu,
            "cpu_s": job_cpu}  # fmt: skip


def _us(seconds: float, rows: int) -> float:
    """CPU microseconds per consignment assessed."""
    return round(seconds / rows * 1e6, 1)


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
    del before, items, outcomes

    # Timed from the Parquet files, as the Spark job reads them.
    started, cpu = time.perf_counter(), time.process_time()
    items = pl.read_parquet(items_dir / "*.parquet")
    outcomes = pl.read_parquet(outcomes_dir / "*.parquet")
    period = items.filter(pl.col("lodged_at") >= cut)
    engine.assess(period, history=items, outcomes=outcomes, model=model)
    single_s, single_cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = period.select("consignment_id").n_unique()
    # The algorithm the Spark job distributes, in one process: the state from the history
    # (``deltas_of`` and ``cumulate``), then the assessment from it. What this costs over the
    # history path above is the algorithm's; what Spark costs over this is Spark's.
    started, cpu = time.perf_counter(), time.process_time()
    states = states_from_history(items, outcomes)
    engine.assess(period, history=None, states=states, outcomes=outcomes, model=model)
    state_s, state_cpu = time.perf_counter() - started, time.process_time() - cpu
    del items, outcomes, period, states
    figures: dict[str, object] = {
        "rows": rows, "history_days": args.train_days + args.days, "per_day": args.per_day,
        "single_node_s": round(single_s, 2), "single_node_cpu_us_per_row": _us(single_cpu, rows),
        "single_node_state_s": round(state_s, 2),
        "single_node_state_cpu_us_per_row": _us(state_cpu, rows),
    }  # fmt: skip
    rates: dict[str, float] = {}
    for name, cores in (("local1", 1), ("local2", 2)):
        timed = _spark(f"local[{cores}]", cores, items_dir, outcomes_dir, model, since, until)
        rates[name] = rows / timed["seconds"]
        figures[f"{name}_start_s"] = round(timed["start_s"], 2)
        figures[f"{name}_s"] = round(timed["seconds"], 2)
        figures[f"{name}_cpu_us_per_row"] = _us(timed["cpu_s"], rows)
        figures[f"{name}_start_cpu_s"] = round(timed["start_cpu_s"], 1)
        figures[f"{name}_rows_per_s"] = round(rates[name])
        with_start = rows / (timed["seconds"] + timed["start_s"])
        figures[f"{name}_with_start_rows_per_s"] = round(with_start)
    figures["scaling"] = round(rates["local2"] / rates["local1"], 2)
    # The state kept in the lake (``quaywatch spark state``): built once from the history, then
    # each run only reads the period's keys' rows of it.
    kept = work / "kept_state"
    built = _build_kept(2, items_dir, outcomes_dir, kept)
    figures["kept_build_local2_s"] = round(built["seconds"], 2)
    figures["kept_build_local2_cpu_s"] = round(built["cpu_s"], 1)
    kept_s: dict[str, float] = {}
    for name, cores in (("local1", 1), ("local2", 2)):
        timed = _spark(f"local[{cores}]", cores, items_dir, outcomes_dir, model, since, until,
                       kept)  # fmt: skip
        kept_s[name] = timed["seconds"]
        figures[f"{name}_kept_s"] = round(timed["seconds"], 2)
        figures[f"{name}_kept_cpu_us_per_row"] = _us(timed["cpu_s"], rows)
        figures[f"{name}_kept_rows_per_s"] = round(rows / timed["seconds"])
    figures["kept_scaling"] = round(kept_s["local1"] / kept_s["local2"], 2)
    figures["single_node_rows_per_s"] = round(rows / single_s)
    figures["single_over_local2"] = round(rows / single_s / rates["local2"], 2)
    figures["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
