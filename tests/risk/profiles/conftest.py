# Fixtures of the risk profile tests.
#
# - `traffic_store`: generated traffic (4 days x 1,000 consignments, raised cocaine and wildlife
#   rates, legacy controls, no events) ingested once per session into a SQLite file; gives the
#   store URL and the traffic (its ground truth is `traffic.truth`).
# - `frame`: the profile frame of the last two days of that traffic, built as `profiles test`
#   builds it (value reference fitted on the first two days), with a `pattern` column joined
#   from the ground truth.
# - `write`: writes a profile file in tmp_path from text and gives its path.
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk.profiles import trial
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.patterns import PatternRates

SINCE = datetime(2026, 10, 3, tzinfo=UTC)


@pytest.fixture(scope="session")
def traffic_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, traffic.Traffic]:
    folder = tmp_path_factory.mktemp("profiles")
    rates = PatternRates(cocaine=0.02, wildlife=0.01, counterfeit=0.02, displacement_week=None)
    generated = traffic.generate(
        folder / "traffic", days=4, per_day=1_000, seed=21, rates=rates, with_events=False
    )
    url = f"sqlite:///{folder / 'qw.db'}"
    store = Store.open(url)
    try:
        for path in sorted((folder / "traffic" / "consignments").glob("*.csv")):
            ingest_file(store, path)
        for path in sorted((folder / "traffic" / "outcomes").glob("*.csv")):
            ingest_file(store, path)
    finally:
        store.close()
    return url, generated


@pytest.fixture(scope="session")
def trial_data(traffic_store: tuple[str, traffic.Traffic]) -> trial.TrialData:
    store = Store.open(traffic_store[0])
    try:
        return trial.trial_frame(store, since=SINCE)
    finally:
        store.close()


@pytest.fixture(scope="session")
def frame(trial_data: trial.TrialData, traffic_store: tuple[str, traffic.Traffic]) -> pl.DataFrame:
    truth = pl.read_parquet(traffic_store[1].truth).select("consignment_id", "version", "pattern")
    return trial_data.frame.join(truth, on=["consignment_id", "version"], how="left")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def make(text: str, name: str = "profile.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make
