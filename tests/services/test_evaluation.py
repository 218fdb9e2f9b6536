"""services.evaluation on both backends: detection against ground truth, and its errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from quaywatch.errors import InputError
from quaywatch.learning.evaluate import Kind
from quaywatch.services.evaluation import evaluate_detection, run_kcs_benchmark
from quaywatch.services.intake import ingest_files
from quaywatch.store.store import Store
from quaywatch.synth import portday

SPLIT = datetime(2026, 10, 5, tzinfo=UTC)


@pytest.fixture
def stored(store: Store, tmp_path: Path) -> tuple[Store, Path, int]:
    """A stored port day, its truth (every fourth consignment illicit), and the test rows."""
    day = portday.generate(tmp_path / "day", count=40, seed=5, noise=0.0, with_events=False)
    ingest_files(store, [day.consignments], actor="tester")
    frame = (
        pl.read_csv(day.consignments, infer_schema=False)
        .group_by("consignment_id", maintain_order=True)
        .agg(pl.col("version").first().cast(pl.Int64), pl.col("lodged_at").first())
    )
    n = frame.height
    illicit = [i % 4 == 0 for i in range(n)]
    truth = frame.select(
        "consignment_id", "version",
        pl.col("lodged_at").str.to_datetime(time_zone="UTC"),
        pl.Series("illicit", illicit),
        pl.Series("pattern", ["cocaine" if bad else "none" for bad in illicit]),
        pl.Series("revenue_at_stake_eur", [1_000.0 * (i + 1) if b else 0.0
                                           for i, b in enumerate(illicit)]),
        pl.Series("critical", illicit), pl.Series("displaced", [False] * n),
        pl.Series("true_hs6", ["080390"] * n), pl.Series("true_value_eur", [1.0] * n),
    )  # fmt: skip
    path = tmp_path / "truth.parquet"
    truth.write_parquet(path)
    test_rows = truth.filter(pl.col("lodged_at") >= SPLIT).height
    assert 0 < test_rows < n
    return store, path, test_rows


def test_references_on_the_consignments_lodged_since_the_split(
    stored: tuple[Store, Path, int],
) -> None:
    store, truth, test_rows = stored
    report = evaluate_detection(store, truth_path=truth, split_at=SPLIT, capacity_pct=10)
    assert report.rows == test_rows and report.capacity_pct == 10.0
    assert [r.kind for r in report.results] == [Kind.RANDOM, Kind.ORACLE]
    assert report.result("oracle").auc == 1.0 and report.result("random").auc == 0.5
    naive = evaluate_detection(
        store, truth_path=truth, split_at=SPLIT.replace(tzinfo=None), capacity_pct=10
    )
    assert naive.rows == test_rows  # a moment without a zone is UTC


@pytest.mark.parametrize("capacity_pct", [0, -1, 100.5])
def test_capacity_must_be_a_share(stored: tuple[Store, Path, int], capacity_pct: float) -> None:
    store, truth, _ = stored
    with pytest.raises(InputError, match="capacity_pct must be above 0 and at most 100"):
        evaluate_detection(store, truth_path=truth, split_at=SPLIT, capacity_pct=capacity_pct)


def test_an_empty_test_period_and_a_missing_truth_are_errors(
    stored: tuple[Store, Path, int], tmp_path: Path
) -> None:
    store, truth, _ = stored
    later = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="no stored consignment was lodged at or after 2030-01-01"):
        evaluate_detection(store, truth_path=truth, split_at=later, capacity_pct=3)
    with pytest.raises(InputError, match="no such file"):
        evaluate_detection(store, truth_path=tmp_path / "none.parquet", split_at=SPLIT,
                           capacity_pct=3)  # fmt: skip


def test_kcs_sample_must_be_large_enough(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="sample must be at least 100 rows, got 50"):
        run_kcs_benchmark(tmp_path, sample=50)
