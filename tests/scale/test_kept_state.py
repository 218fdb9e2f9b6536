"""A lake's kept entity state (``quaywatch spark state``) folded export by export is the state
the store kept as the same records arrived, and scoring from it gives the single-node answers.

Generated traffic arrives in two parts, each exported to the lake and folded into its kept
state: the first half of the declarations with half of the outcomes; then the rest, amendments
(new versions lodged later with another consignee, some of consignments already controlled)
and the other outcomes, late. The second fold reads only the consignments the second export
touched and rewrites only the buckets their deltas fall in. Spark takes 10-20 s to start: one
JVM serves the module. Run alone with ``pytest -m spark``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select
from typer.testing import CliRunner

from amendments import amendments, controlled
from quaywatch.cli import app
from quaywatch.errors import InputError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning import train
from quaywatch.risk import engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.scale import kept_state, spark as qspark
from quaywatch.services.scale import export_parquet
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

pytestmark = [pytest.mark.spark, pytest.mark.slow]

KEY = ["consignment_id", "version"]
ORDER = ["entity", "entity_key", "at"]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Folded(NamedTuple):
    store: Store
    lake: Path
    models: Path
    first: str
    second: str
    again: str
    after_first: pl.DataFrame
    second_touched: int


def _state(args: list[str]) -> str:
    done = CliRunner().invoke(app, ["spark", "state", *args])
    assert done.exit_code == 0, done.output
    return done.output


def _lake_state(lake: Path) -> pl.DataFrame:
    kept = kept_state.read(lake)
    assert kept is not None
    frames = [pl.read_parquet(folder / "*.parquet") for folder in kept.folders(lake).values()]
    return pl.concat(frames).select(ORDER + ["records", "controls", "hits"]).sort(ORDER)


def _store_state(store: Store) -> pl.DataFrame:
    found = reads.frame(store, select(tables.entity_states))
    return found.select(ORDER + ["records", "controls", "hits"]).sort(ORDER)


@pytest.fixture(scope="module")
def folded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Folded]:
    root = tmp_path_factory.mktemp("kept")
    made = traffic.generate(
        root / "traffic", days=24, per_day=60, seed=5, start=date(2026, 10, 1),
        with_events=False, control_rates=ControlRates(random_share=0.2, rule_share=0.2),
        rates=PatternRates(undervaluation=0.08, misdeclaration=0.05, counterfeit=0.04),
    )  # fmt: skip
    outcomes = sorted((made.out / "outcomes").glob("*.csv"))
    named = controlled(outcomes)
    files = made.consignment_files
    store = Store.open(f"sqlite:///{root / 'q.db'}")
    lake = root / "lake"
    # The workers run this interpreter, as the CLI has them do (scale.spark.session).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    running = qspark.session("local[2]")
    try:
        for path in [*files[:12], *outcomes[::2]]:
            ingest_file(store, path)
        export_parquet(store, to=lake)
        first = _state(["--lake", str(lake), "--buckets", "8"])
        after_first = _lake_state(lake)
        assert_frame_equal(after_first, _store_state(store))  # the first build
        for path in [*files[12:], amendments(files[0], named, root), *outcomes[1::2]]:
            ingest_file(store, path)
        export_parquet(store, to=lake)
        second = _state(["--lake", str(lake)])
        kept = kept_state.read(lake)
        assert kept is not None
        touched = len({b for b, p in kept.parts.items() if p.startswith(f"g{kept.generation:06d}")})
        again = _state(["--lake", str(lake)])
        items = reads.goods_item_rows(store)
        known = reads.control_outcomes(store, known_before=NOW)
        model = train.fit(items, known, until=NOW, capacity_pct=3.0,
                          params={"num_threads": 1}, allow_few_hits=True)  # fmt: skip
        model.save(root / "models")
        yield Folded(store, lake, root / "models", first, second, again, after_first, touched)
    finally:
        running.stop()
        store.close()


def test_the_folded_state_is_the_state_the_store_kept(folded: Folded) -> None:
    """Export by export, with amendments and late outcomes, the lake's kept state holds the
    rows the store wrote as the records arrived, and the second fold changed them."""
    assert "Entity state: folded export 1 into" in folded.first, folded.first
    assert "Entity state: folded export 2 into" in folded.second, folded.second
    found = _lake_state(folded.lake)
    assert_frame_equal(found, _store_state(folded.store))
    assert found.height > folded.after_first.height
    assert found.filter(pl.col("at") < datetime(2026, 10, 13, tzinfo=UTC)).height > 0


def test_a_current_state_is_left_as_it_is(folded: Folded) -> None:
    assert "Entity state: current (export 2" in folded.again, folded.again
    kept = kept_state.read(folded.lake)
    assert kept is not None and kept.export == 2 and kept.buckets == 8
    # Only the generations the manifest reads are left in the folder.
    held = {p.name for p in (folded.lake / kept_state.FOLDER).iterdir() if p.is_dir()}
    assert held == set(kept.generations())
    assert 0 < folded.second_touched <= 8


def test_a_rebuild_gives_the_same_rows(folded: Folded) -> None:
    before = _lake_state(folded.lake)
    output = _state(["--lake", str(folded.lake), "--rebuild", "--buckets", "3"])
    assert "Entity state: folded export 1-2" not in output  # one message form
    assert "folded exports 1-2 into" in output, output
    kept = kept_state.read(folded.lake)
    assert kept is not None and kept.buckets == 3
    assert_frame_equal(_lake_state(folded.lake), before)


def test_other_buckets_without_a_rebuild_are_refused(folded: Folded) -> None:
    done = CliRunner().invoke(app, ["spark", "state", "--lake", str(folded.lake), "--buckets", "5"])
    assert done.exit_code != 0
    assert "buckets" in done.output and "--rebuild" in done.output, done.output


def test_scoring_from_the_folded_state_gives_the_single_node_answers(
    folded: Folded, tmp_path: Path
) -> None:
    """The period holds consignments amended after the first export, and outcomes of it came
    late: the Spark job scores from the state folded export by export."""
    out = tmp_path / "out"
    done = CliRunner().invoke(app, [
        "spark", "score", "--lake", str(folded.lake), "--from", "2026-10-01", "--to",
        "2026-10-24", "--master", "local[2]", "--out", str(out), "--model", str(folded.models),
    ])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Entity state: current" in done.output, done.output
    model = RiskModel.load(folded.models)
    store = folded.store
    single = engine.assess(
        reads.goods_item_rows(store), history=None, state=(store, NOW),
        outcomes=reads.control_outcomes(store, known_before=NOW), model=model,
    ).sort(KEY)  # fmt: skip
    spark = pl.read_parquet(out / "**" / "*.parquet", hive_partitioning=True).sort(KEY)
    assert spark.height == single.height
    assert (spark["version"] == 2).sum() == 8
    assert_frame_equal(
        spark.select(single.columns), single, check_dtypes=False, abs_tol=1e-9, rel_tol=0
    )
    # The text columns exactly (the frame comparison tolerates floats only).
    for column in ("lane_floor", "referral", "reasons", "consignment_id"):
        assert spark[column].equals(single[column], null_equal=True), column


def test_the_state_built_from_the_history_gives_the_same_assessments(folded: Folded) -> None:
    """Without a kept state, ``assessments`` builds the period's state from the lake's whole
    history (what the benchmark compares): the same answers as from the folded state."""
    from pyspark.sql import functions as f

    spark = qspark.session("local[2]")
    model = RiskModel.load(folded.models)
    start, end = date(2026, 10, 20), date(2026, 10, 24)
    outcomes = spark.read.parquet(str(folded.lake / "outcomes"))
    kept = kept_state.read(folded.lake)
    assert kept is not None
    found = {}
    for name, state in (("history", None), ("kept", qspark.read_state(spark, folded.lake, kept))):
        with qspark.assessments(
            qspark.items_of(spark, folded.lake), outcomes, state=state, model=model,
            start=start, end=end, partitions=3,
        ) as assessed:  # fmt: skip
            found[name] = pl.from_arrow(assessed.orderBy(*KEY).toArrow())
            assert assessed.filter(f.col("model_version") != model.version).count() == 0
    history, from_kept = found["history"], found["kept"]
    assert isinstance(history, pl.DataFrame) and isinstance(from_kept, pl.DataFrame)
    assert history.height == 5 * 60
    assert_frame_equal(history, from_kept, abs_tol=1e-12, rel_tol=0)


def _copy(folded: Folded, tmp_path: Path) -> Path:
    copy = tmp_path / "lake"
    shutil.copytree(folded.lake, copy)
    return copy


def test_a_corrupt_state_is_refused_then_rebuilt(folded: Folded, tmp_path: Path) -> None:
    lake = _copy(folded, tmp_path)
    (lake / kept_state.FOLDER / kept_state.MANIFEST).write_text("{half written")
    done = CliRunner().invoke(app, ["spark", "state", "--lake", str(lake)])
    assert done.exit_code == InputError.exit_code, done.output
    assert "_state.json" in done.output and "--rebuild" in done.output
    assert "Traceback" not in done.output
    assert "folded exports 1-2" in _state(["--lake", str(lake), "--rebuild"])
    assert_frame_equal(_lake_state(lake), _store_state(folded.store))


def test_a_state_ahead_of_its_lake_is_refused(folded: Folded, tmp_path: Path) -> None:
    """The lake restored from a copy older than its kept state: never scored as current."""
    lake = _copy(folded, tmp_path)
    manifest = json.loads((lake / "_manifest.json").read_text())
    manifest["exports"].pop()
    (lake / "_manifest.json").write_text(json.dumps(manifest))
    done = CliRunner().invoke(app, ["spark", "state", "--lake", str(lake)])
    assert done.exit_code == InputError.exit_code, done.output
    assert "holds export 2, the lake only 1" in done.output and "rebuild" in done.output


def test_files_of_no_listed_export_are_not_read(folded: Folded, tmp_path: Path) -> None:
    """A file a failed export left (a number the manifest does not list) counts neither in
    the state nor among the consignments assessed; a file not named by its export is refused."""
    lake = _copy(folded, tmp_path)
    for table in ("consignments", "goods_items"):
        day = sorted((lake / table).iterdir())[-1]
        shutil.copy(sorted(day.glob("*.parquet"))[0], day / "part-00003.parquet")
    spark = qspark.session("local[2]")
    assert (
        qspark.items_of(spark, lake, upto=2).count() == qspark.items_of(spark, folded.lake).count()
    )
    assert "Entity state: current (export 2" in _state(["--lake", str(lake)])
    assert "folded exports 1-2" in _state(["--lake", str(lake), "--rebuild"])
    assert_frame_equal(_lake_state(lake), _store_state(folded.store))
    day = sorted((lake / "outcomes").iterdir())[0]
    shutil.copy(sorted(day.glob("*.parquet"))[0], day / "part-00000-1b2c.snappy.parquet")
    done = CliRunner().invoke(app, ["spark", "state", "--lake", str(lake), "--rebuild"])
    assert done.exit_code == InputError.exit_code, done.output
    assert "not a lake file (part-<export>.parquet" in done.output, done.output
