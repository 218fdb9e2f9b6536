"""``quaywatch spark score``: the engine's own batch function on Spark gives the single-node
assessments, row for row.

A small generated port (``lake_store.small_world``) is exported to a lake; its last five days
are assessed by Spark on ``local[2]`` (the entity state built in Spark from the lake, the model
broadcast, ``mapInArrow``) and by the single-node engine from the store's kept entity state.
Spark takes 10-20 s to start: one run serves the module. Run alone with ``pytest -m spark``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from lake_store import NOW, PERIOD_START, small_world
from quaywatch.cli import app
from quaywatch.risk import engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.services.scale import export_parquet
from quaywatch.store import reads
from quaywatch.store.store import Store

pytestmark = [pytest.mark.spark, pytest.mark.slow]

KEY = ["consignment_id", "version"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path, Path, str]]:
    root = tmp_path_factory.mktemp("spark")
    store, models = small_world(root)
    export_parquet(store, to=root / "lake")
    done = CliRunner().invoke(app, [
        "spark", "score", "--lake", str(root / "lake"), "--from", "2026-10-20",
        "--to", "2026-10-24", "--master", "local[2]", "--out", str(root / "out"),
        "--model", str(models),
    ])  # fmt: skip
    yield store, models, root / "out", done.output
    store.close()


def test_spark_assesses_as_the_single_node_engine(scored: tuple[Store, Path, Path, str]) -> None:
    store, models, out, output = scored
    assert "Assessed 600 consignments on local[2]" in output, output
    model = RiskModel.load(models)
    single = engine.assess(
        reads.goods_item_rows(store, lodged_from=PERIOD_START), history=None,
        state=(store, NOW), outcomes=reads.control_outcomes(store, known_before=NOW), model=model,
    ).sort(KEY)  # fmt: skip
    spark = pl.read_parquet(out / "**" / "*.parquet", hive_partitioning=True).sort(KEY)
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
