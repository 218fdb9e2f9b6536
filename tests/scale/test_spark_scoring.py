"""``quaywatch spark score``: the engine's own batch function on Spark gives the single-node
assessments, row for row.

A small generated port (``lake_store.small_world``) is exported to a lake; its last five days
are assessed by Spark on ``local[2]`` (the entity state built in Spark from the lake, the model
broadcast, ``mapInArrow``) and by the single-node engine from the store's kept entity state.
Two earlier days are then scored into the same folder, on a session the test started: both
periods stay, and the job leaves that session running. Spark takes 10-20 s to start: one JVM
serves the module. Run alone with ``pytest -m spark``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from lake_store import NOW, PERIOD_START, small_world
from quaywatch.cli import app
from quaywatch.risk import engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.scale import spark as qspark
from quaywatch.services.scale import export_parquet
from quaywatch.store import reads
from quaywatch.store.store import Store

pytestmark = [pytest.mark.spark, pytest.mark.slow]

KEY = ["consignment_id", "version"]


class Run(NamedTuple):
    """What the two CLI runs printed and what became of the Spark sessions."""

    first: str
    second: str
    stopped_its_own: bool
    left_the_callers: bool


def _score(root: Path, models: Path, start: str, end: str) -> str:
    done = CliRunner().invoke(app, [
        "spark", "score", "--lake", str(root / "lake"), "--from", start, "--to", end,
        "--master", "local[2]", "--out", str(root / "out"), "--model", str(models),
    ])  # fmt: skip
    return done.output


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path, Path, Run]]:
    """The last five days scored by the CLI on a session of its own, then two earlier days
    into the same folder on a session the caller started (one JVM: the second starts fast)."""
    from pyspark.sql import SparkSession

    root = tmp_path_factory.mktemp("spark")
    store, models = small_world(root)
    export_parquet(store, to=root / "lake")
    first = _score(root, models, "2026-10-20", "2026-10-24")
    stopped = SparkSession.getActiveSession() is None
    running = qspark.session("local[2]")
    try:
        second = _score(root, models, "2026-10-15", "2026-10-16")
        alive = running.range(3).count() == 3
    finally:
        running.stop()
    yield store, models, root / "out", Run(first, second, stopped, alive)
    store.close()


def test_spark_assesses_as_the_single_node_engine(scored: tuple[Store, Path, Path, str]) -> None:
    store, models, out, run = scored
    assert "Assessed 600 consignments on local[2]" in run.first, run.first
    model = RiskModel.load(models)
    single = engine.assess(
        reads.goods_item_rows(store, lodged_from=PERIOD_START), history=None,
        state=(store, NOW), outcomes=reads.control_outcomes(store, known_before=NOW), model=model,
    ).sort(KEY)  # fmt: skip
    spark = (
        pl.read_parquet(out / "**" / "*.parquet", hive_partitioning=True)
        .filter(pl.col("date") >= PERIOD_START.date())
        .sort(KEY)
    )
    assert spark.height == single.height == 600
    assert (spark["model_version"] == model.version).all()
    assert (spark["date"] == spark["lodged_at"].dt.date()).all()
    assert_frame_equal(
        spark.select(single.columns), single, check_dtypes=False, abs_tol=1e-9, rel_tol=0
    )
    # The text columns exactly (the frame comparison tolerates floats only).
    for column in ("lane_floor", "referral", "reasons", "consignment_id"):
        assert spark[column].equals(single[column], null_equal=True), column
    assert spark["explained"].sum() > 0


def test_a_second_period_leaves_the_first_in_place(scored: tuple[Store, Path, Path, Run]) -> None:
    """Dynamic partition overwrite: scoring 15-16 October into the folder of 20-24 October
    adds those days and keeps the others; the job stops the session it started, not one it
    was given."""
    _, _, out, run = scored
    assert "Assessed 240 consignments" in run.second, run.second
    days = sorted(p.name for p in out.iterdir() if p.name.startswith("date="))
    assert days == [f"date=2026-10-{d}" for d in (15, 16, 20, 21, 22, 23, 24)]
    found = pl.read_parquet(out / "**" / "*.parquet", hive_partitioning=True)
    assert found.height == 7 * 120
    assert run.stopped_its_own and run.left_the_callers
