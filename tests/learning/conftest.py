# Fixtures of the evaluation tests.
#
# - `make_truth`: writes a ground-truth Parquet file (the generator's schema) for given
#   consignment ids, with a known, deterministic mix of illicit patterns: every fourth
#   consignment is illicit, patterns cycle through cocaine, undervaluation, counterfeit, and the
#   cocaine ones are critical.
# - `make_frame(n, seed)`: test consignments with ground truth, no store: 5 % illicit (the first
#   two always), three patterns, a noisy calibrated score `model`, a feature `weight` and one
#   lodging time per hour from 2026-10-01.
# - `make_day(directory, count=40)`: a small port day (no noise, no events) written to files;
#   gives the `PortDay` and its consignment ids.
# - `stored_day`: that day ingested into the `store` fixture (SQLite and PostgreSQL); gives the
#   store and the ids it holds.
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quaywatch.intake.pipeline import ingest_file
from quaywatch.store.store import Store
from quaywatch.synth import portday

TruthWriter = Callable[[Path, Sequence[str]], pl.DataFrame]
FrameMaker = Callable[..., pl.DataFrame]
PATTERNS = ["cocaine", "undervaluation", "counterfeit"]


def truth_frame(ids: Sequence[str]) -> pl.DataFrame:
    n = len(ids)
    illicit = [i % 4 == 0 for i in range(n)]
    pattern = [PATTERNS[(i // 4) % 3] if bad else "none" for i, bad in enumerate(illicit)]
    return pl.DataFrame(
        {
            "consignment_id": list(ids),
            "version": [1] * n,
            "lodged_at": [datetime(2026, 10, 1, tzinfo=UTC)] * n,
            "illicit": illicit,
            "pattern": pattern,
            "revenue_at_stake_eur": [
                1_000.0 * (i + 1) if bad else 0.0 for i, bad in enumerate(illicit)
            ],
            "critical": [p == "cocaine" for p in pattern],
            "displaced": [False] * n,
            "true_hs6": ["080390"] * n,
            "true_value_eur": [10_000.0] * n,
        },
        schema_overrides={"lodged_at": pl.Datetime("us", "UTC")},
    )


def scored_frame(n: int = 400, seed: int = 3) -> pl.DataFrame:
    """Test consignments: 5 % illicit, a noisy calibrated score and a lodging time per hour."""
    rng = np.random.default_rng(seed)
    illicit = rng.random(n) < 0.05
    illicit[:2] = True
    pattern = np.where(illicit, rng.choice(["cocaine", "undervaluation", "wildlife"], n), "none")
    return pl.DataFrame(
        {
            "consignment_id": [f"C{i:05d}" for i in range(n)],
            "version": np.ones(n, dtype=np.int64),
            "lodged_at": [datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=i) for i in range(n)],
            "illicit": illicit,
            "revenue_at_stake_eur": np.where(illicit, rng.exponential(5_000, n), 0.0),
            "critical": illicit & (pattern == "cocaine"),
            "pattern": pattern,
            "weight": rng.random(n),
            "model": np.clip(0.02 + 0.5 * illicit + rng.normal(0, 0.15, n), 0, 1),
        }
    )


@pytest.fixture
def make_frame() -> FrameMaker:
    return scored_frame


@pytest.fixture
def make_truth() -> TruthWriter:
    def write(path: Path, ids: Sequence[str]) -> pl.DataFrame:
        frame = truth_frame(ids)
        frame.write_parquet(path)
        return frame

    return write


def generate_day(directory: Path, count: int = 40) -> tuple[portday.PortDay, list[str]]:
    day = portday.generate(directory, count=count, seed=5, noise=0.0, with_events=False)
    ids = (
        pl.read_csv(day.consignments, infer_schema=False)
        .get_column("consignment_id")
        .unique(maintain_order=True)
        .to_list()
    )
    return day, ids


@pytest.fixture
def make_day() -> Callable[..., tuple[portday.PortDay, list[str]]]:
    return generate_day


@pytest.fixture
def stored_day(store: Store, tmp_path: Path) -> tuple[Store, list[str]]:
    day, ids = generate_day(tmp_path / "day")
    summary = ingest_file(store, day.consignments)
    assert summary.new == len(ids)
    return store, ids
