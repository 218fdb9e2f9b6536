"""A selection run on the store (SQLite and PostgreSQL) and through ``quaywatch select``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.audit import chain
from quaywatch.cli import app
from quaywatch.errors import RecordError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.selection import capacity
from quaywatch.selection.run import select_store
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday

DAY_FROM, DAY_TO = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)


def assessed_day(store: Store, tmp_path: Path, count: int = 60) -> pl.DataFrame:
    """A generated port day in ``store``, each consignment assessed twice (the second counts)."""
    day = portday.generate(tmp_path / "day", count=count, seed=5, noise=0.0, with_events=False)
    ingest_file(store, day.consignments)
    known = reads.latest_consignments(store).select("consignment_id", "version")
    rng = np.random.default_rng(2)
    rows = []
    for run in ("old", "new"):
        rows.append(known.with_columns(
            pl.lit(run).alias("run_id"), pl.lit(datetime(2026, 11, 1, tzinfo=UTC)).alias("assessed_at"),
            pl.lit("m1").alias("model_version"), pl.lit(None, pl.String).alias("profile_version"),
            pl.Series("probability", rng.beta(0.5, 5, known.height) if run == "new" else np.zeros(known.height)),
            pl.lit(0.0).alias("score"),
            pl.Series("revenue_at_stake_eur", rng.lognormal(8, 1, known.height)),
            pl.lit("[]").alias("reasons"), pl.lit(False).alias("explained"),
        ))  # fmt: skip
    with store.transaction() as conn:
        for frame in rows:
            store.bulk_insert(conn, tables.assessments, frame)
    return known


def test_select_store_writes_run_decisions_and_one_audit_event(
    store: Store, tmp_path: Path
) -> None:
    known = assessed_day(store, tmp_path)
    shipped = capacity.load()
    run = select_store(store, DAY_FROM, DAY_TO, shipped, random_rate=0.1, seed=1, actor="ana")
    with store.reading() as conn:
        runs = conn.execute(select(tables.selection_runs)).mappings().all()
        decisions = pl.DataFrame(conn.execute(select(tables.control_decisions)).mappings().all())
        events = chain.recent(conn)
        chain.verify(conn)
    assert len(runs) == 1 and runs[0]["run_id"] == run.run_id and runs[0]["actor"] == "ana"
    assert runs[0]["capacity_sha256"] == shipped.sha256 and runs[0]["candidates"] == known.height
    assert decisions.height == known.height
    newest = reads.latest_assessments(store).filter(pl.col("run_id") == "new")
    assert set(decisions["assessment_id"]) == set(
        newest["assessment_id"]
    )  # the newest per consignment
    assert set(decisions["selected_by"]) <= {"RULE", "RANDOM", "MODEL", "NONE"}
    assert decisions["propensity"].is_between(0.1, 1.0).all()
    assert (decisions["control_type"].is_null() == decisions["lane"].is_in(["green", "blue"])).all()
    assert [e.action for e in events].count("select") == 1
    assert events[0].action == "select" and events[0].object_id == run.run_id
    assert events[0].details["selected"] == run.counts["selected"] > 0


def test_window_selects_only_arrivals_in_it(store: Store, tmp_path: Path) -> None:
    assessed_day(store, tmp_path, count=20)
    empty = select_store(store, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC),
                         capacity.load())  # fmt: skip
    assert empty.counts["candidates"] == 0
    with pytest.raises(RecordError, match="ends before"):
        select_store(store, DAY_TO, DAY_FROM, capacity.load())


def test_cli_select_prints_capacity_use_and_lanes(store_url: str, tmp_path: Path) -> None:
    store = Store.open(store_url)
    try:
        assessed_day(store, tmp_path)
    finally:
        store.close()
    runner = CliRunner()
    args = ["--database", store_url, "select", "--from", "2026-11-01", "--to", "2026-11-04",
            "--random-rate", "0.05", "--seed", "2"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "Selection run" in result.output and "Capacity use per terminal and shift" in result.output
    )
    assert "Lanes: green" in result.output and "MPET" in result.output

    bad = tmp_path / "cap.yaml"
    shipped = (Path(capacity.__file__).parent / "capacity.yaml").read_text(encoding="utf-8")
    bad.write_text(shipped.replace("aeo_factor: 0.5", "aeo_factor: 2"), encoding="utf-8")
    line = next(n for n, text in enumerate(shipped.splitlines(), 1) if "aeo_factor: 0.5" in text)
    result = runner.invoke(app, [*args, "--capacity", str(bad)])
    assert result.exit_code == 2
    assert (
        f"{bad}: line {line}, field policy.aeo_factor" in result.output
        and "Traceback" not in result.output
    )
