"""Population stability: hand-checked on known distributions, then on a stored port's traffic."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning import drift
from quaywatch.learning.drift import Level
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic

runner = CliRunner()


def test_psi_by_hand() -> None:
    # 0.1 ln(0.6/0.5) + (-0.1) ln(0.4/0.5)
    assert drift.psi(np.array([50.0, 50.0]), np.array([60.0, 40.0])) == pytest.approx(
        0.1 * np.log(1.2) + 0.1 * np.log(1.25)
    )
    assert drift.psi(np.array([10.0, 30.0]), np.array([1.0, 3.0])) == pytest.approx(0.0)
    # An empty bucket counts as FLOOR, so the index stays finite.
    assert np.isfinite(drift.psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])))


@pytest.mark.parametrize(
    ("value", "level"), [(0.0, Level.STABLE), (0.099, Level.STABLE), (0.1, Level.WATCH),
                         (0.25, Level.WATCH), (0.2501, Level.ALERT)],
)  # fmt: skip
def test_levels(value: float, level: Level) -> None:
    assert drift.level(value) is level


def test_numeric_buckets_are_reference_deciles_plus_missing() -> None:
    reference = pl.Series("x", np.arange(1_000, dtype=np.float64))
    recent = pl.Series("x", [*np.arange(0, 1_000, 2, dtype=np.float64), None])
    ref, new = drift.numeric_counts(reference, recent)
    assert ref.tolist() == [100.0] * 10 + [0.0]
    assert new.tolist() == [50.0] * 10 + [1.0]
    # Same shape, one missing value: small. Shifted by half the range: alert.
    assert drift.level(drift.psi(ref, new)) is Level.STABLE
    shifted = pl.Series("x", np.arange(500, 1_500, dtype=np.float64))
    found = drift.compare(reference.to_frame(), shifted.to_frame())[0]
    # Half the rows above the last decile (0.5 vs 0.1), the rest spread on deciles 6-10.
    assert found.level is Level.ALERT and found.psi > 1.0


def test_categorical_buckets_keep_frequent_categories_and_pool_the_rest() -> None:
    reference = pl.Series("port", ["CNSHA"] * 60 + ["BRSSZ"] * 39 + ["XXRARE"] * 1 + [None] * 0)
    recent = pl.Series("port", ["CNSHA"] * 30 + ["BRSSZ"] * 20 + ["NEWPORT"] * 50)
    ref, new = drift.categorical_counts(reference, recent)
    # Buckets: CNSHA, BRSSZ, XXRARE (1 % kept), other, missing.
    assert ref.tolist() == [60.0, 39.0, 1.0, 0.0, 0.0]
    assert new.tolist() == [30.0, 20.0, 0.0, 50.0, 0.0]
    found = drift.compare(reference.to_frame(), recent.to_frame(), categorical={"port"})[0]
    assert found.kind == "categorical" and found.level is Level.ALERT


@pytest.fixture(scope="module")
def traffic_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    made = traffic.generate(
        tmp_path_factory.mktemp("drift") / "traffic", days=4, per_day=150, seed=3,
        start=date(2026, 10, 1), with_events=False, legacy_controls=False,
    )  # fmt: skip
    return list(made.consignment_files)


def at(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


def test_drift_report_on_the_store_alerts_on_warming_histories(
    store: Store, traffic_files: list[Path]
) -> None:
    for path in traffic_files:
        ingest_file(store, path)
    same = drift.drift_report(store, reference=(at(1), at(5)), recent=(at(1), at(5)))
    assert same.level is Level.STABLE and all(d.psi == 0 for d in same.drifts)
    assert any("scores left out" in note for note in same.notes)
    assert not drift.record(store, same, actor="test")
    # By default the track records, which grow with the calendar, are left out...
    plain = drift.drift_report(store, reference=(at(1), at(2)), recent=(at(4), at(5)))
    assert not any(d.name.endswith(("_days_since_first", "_controls", "_hit_rate"))
                   for d in plain.drifts)  # fmt: skip
    assert {d.name for d in plain.drifts} >= {"value_z", "main_hs6", "transshipments"}
    # ...and asked for, they move: on day 1 no party has been seen before; by day 4 many have.
    moved = drift.drift_report(store, reference=(at(1), at(2)), recent=(at(4), at(5)),
                               track_records=True)  # fmt: skip
    names = {d.name for d in moved.alerts()}
    assert moved.level is Level.ALERT and "consignee_days_since_first" in names
    assert drift.record(store, moved, actor="test")
    with store.reading() as conn:
        events = conn.execute(select(tables.audit_events)).mappings().all()
    alert = [e for e in events if e["action"] == "drift_alert"]
    assert (
        len(alert) == 1
        and "consignee_days_since_first" in json.loads(alert[0]["details"])["alerts"]
    )


def test_drift_cli_prints_alert_and_exits_zero(
    store_url: str, traffic_files: list[Path], tmp_path: Path
) -> None:
    store = Store.open(store_url)
    for path in traffic_files:
        ingest_file(store, path)
    store.close()
    args = ["--database", store_url, "drift", "--reference-from", "2026-10-01",
            "--reference-to", "2026-10-02", "--from", "2026-10-04", "--to", "2026-10-05",
            "--models", str(tmp_path / "none"), "--history"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ALERT" in result.output and "consignee_days_since_first" in result.output
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["level"] == "alert" and report["thresholds"] == {"watch": 0.1, "alert": 0.25}
    result = runner.invoke(app, [*args[:5], "--reference-to", "2026-09-01", *args[7:]])
    assert result.exit_code != 0 and "ends before it starts" in result.output
