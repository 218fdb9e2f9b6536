"""``quaywatch export parquet``: the store's records as a date-partitioned lake, incrementally.

Generated traffic (declarations, events, outcomes) is imported in two steps on SQLite and on
PostgreSQL; each export writes only what the import before it added, the manifest lists it,
and the lake read back holds every stored record once.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import func, select
from typer.testing import CliRunner

from pg_support import pg_schema_url
from quaywatch.cli import app
from quaywatch.errors import InputError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.scale import lake
from quaywatch.services.scale import export_parquet
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates

PART = re.compile(r"^[a-z_]+/date=\d{4}-\d{2}-\d{2}/part-\d{5}\.parquet$")


def _count(store: Store, table: object) -> int:
    with store.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _rows(store: Store, run_id: str, ids: list[int] | None = None) -> pl.DataFrame:
    """Two assessments of a scoring run (with these ``assessment_id``s if given)."""
    keys = reads.latest_consignments(store, columns=["consignment_id", "version"]).head(2)
    if ids is not None:
        keys = keys.with_columns(pl.Series("assessment_id", ids))
    return keys.with_columns(
        pl.lit(run_id).alias("run_id"), pl.lit(datetime(2026, 10, 3, 9, tzinfo=UTC)).alias("assessed_at"),
        pl.lit("m1").alias("model_version"), pl.lit(None, pl.String).alias("profile_version"),
        pl.lit(0.25).alias("probability"), pl.lit(25.0).alias("score"),
        pl.lit(10.0).alias("revenue_at_stake_eur"), pl.lit("[]").alias("reasons"),
        pl.lit(False).alias("explained"), pl.lit(0.25).alias("model_probability"),
        pl.lit(None, pl.String).alias("lane_floor"), pl.lit(None, pl.String).alias("referral"),
        pl.lit(False).alias("critical"), pl.lit(None, pl.Int64).alias("weight_set"),
        pl.lit(None, pl.String).alias("reference_version"),
    )  # fmt: skip


def _assess(store: Store, run_id: str, ids: list[int] | None = None) -> None:
    """Two stored assessments, as a scoring run appends them (in one transaction)."""
    with store.transaction() as conn:
        store.bulk_insert(conn, tables.assessments, _rows(store, run_id, ids))


def _exported_ids(lake_dir: Path) -> list[int]:
    found = lake.scan(lake_dir, "assessments").select("assessment_id").collect()
    return sorted(found.get_column("assessment_id").to_list())


def test_exports_are_incremental_partitioned_and_listed(store_url: str, tmp_path: Path) -> None:
    made = traffic.generate(
        tmp_path / "traffic", days=3, per_day=30, seed=5, start=date(2026, 10, 1),
        control_rates=ControlRates(random_share=0.3, rule_share=0.1),
    )  # fmt: skip
    store = Store.open(store_url, migrate=True)
    try:
        first, rest = made.consignment_files[:2], made.consignment_files[2:]
        for path in [*first, *made.event_files[:2]]:
            ingest_file(store, path)
        _assess(store, "run-1")
        lake_dir = tmp_path / "lake"
        one = export_parquet(store, to=lake_dir)
        assert one.number == 1
        assert {t.table for t in one.tables} >= {"consignments", "goods_items", "containers",
                                                 "parties", "events", "assessments"}  # fmt: skip
        assert export_parquet(store, to=lake_dir).tables == ()  # nothing new: nothing written

        for path in [*rest, *made.event_files[2:], *made.outcome_files]:
            ingest_file(store, path)
        _assess(store, "run-2")
        two = export_parquet(store, to=lake_dir)
        assert two.number == 2
        written = {t.table: t.rows for t in two.tables}
        assert written["outcomes"] == _count(store, tables.control_outcomes) > 0
        assert written["assessments"] == 2
        assert all(f.endswith("part-00002.parquet") for t in two.tables for f in t.files)

        manifest = json.loads((lake_dir / lake.MANIFEST).read_text())
        assert [e["number"] for e in manifest["exports"]] == [1, 2]
        for entry in manifest["exports"]:
            for name, table in entry["tables"].items():
                assert sum(f["rows"] for f in table["files"]) == table["rows"]
                for f in table["files"]:
                    assert PART.match(f["path"]) and f["path"].startswith(f"{name}/")
                    digest = hashlib.sha256((lake_dir / f["path"]).read_bytes()).hexdigest()
                    assert digest == f["sha256"]

        # Read back, the lake holds every stored record once, each under its record's date.
        for name, (table, _) in lake.TABLES.items():
            assert lake.scan(lake_dir, name).select(pl.len()).collect().item() == _count(
                store, getattr(tables, table)
            ), name
        consignments = lake.scan(lake_dir, "consignments").collect()
        assert (consignments["date"] == consignments["lodged_at"].dt.date()).all()
        # The lake's goods-item rows are the store's.
        from_lake = lake.goods_item_rows(
            consignments.drop("date"), lake.scan(lake_dir, "goods_items").collect(),
            lake.scan(lake_dir, "containers").collect(), lake.scan(lake_dir, "parties").collect(),
        )  # fmt: skip
        stored = reads.goods_item_rows(store)
        assert_frame_equal(from_lake.select(stored.columns), stored, check_dtypes=False)
    finally:
        store.close()


def test_the_cli_exports_and_refuses_a_file(tmp_path: Path, port_day: object) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    runner = CliRunner()
    done = runner.invoke(app, ["--database", url, "ingest", str(port_day.consignments)])  # type: ignore[attr-defined]
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["--database", url, "export", "parquet", "--to", str(tmp_path / "l")])
    assert done.exit_code == 0, done.output
    assert "Export 1 into" in done.output and "consignments" in done.output
    again = runner.invoke(
        app, ["--database", url, "export", "parquet", "--to", str(tmp_path / "l")]
    )
    assert again.exit_code == 0 and "Nothing new since export 1" in again.output
    (tmp_path / "file").write_text("x")
    refused = runner.invoke(
        app, ["--database", url, "export", "parquet", "--to", str(tmp_path / "file")]
    )
    assert refused.exit_code == InputError.exit_code and "is a file" in refused.output
    assert "Traceback" not in refused.output


def test_a_manifest_of_another_format_is_refused(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'q.db'}", migrate=True)
    try:
        (tmp_path / "lake").mkdir()
        (tmp_path / "lake" / lake.MANIFEST).write_text(json.dumps({"format": 99}))
        with pytest.raises(InputError, match="manifest format 99"):
            export_parquet(store, to=tmp_path / "lake")
    finally:
        store.close()


def test_a_run_stored_with_lower_ids_after_an_export_is_exported_next(
    store_url: str, tmp_path: Path, port_day: object
) -> None:
    """A scoring run that commits after a later one (PostgreSQL draws ids before commit) is
    exported by the next export, though its ids are below those already in the lake."""
    store = Store.open(store_url, migrate=True)
    try:
        ingest_file(store, port_day.consignments)  # type: ignore[attr-defined]
        _assess(store, "run-later", ids=[10, 11])
        one = export_parquet(store, to=tmp_path / "lake")
        assert _exported_ids(tmp_path / "lake") == [10, 11]
        _assess(store, "run-earlier", ids=[3, 4])  # drawn before 10 and 11, committed after
        two = export_parquet(store, to=tmp_path / "lake")
        assert {t.table: t.rows for t in two.tables} == {"assessments": 2}
        assert two.number == one.number + 1
        assert _exported_ids(tmp_path / "lake") == [3, 4, 10, 11]
        assert export_parquet(store, to=tmp_path / "lake").tables == ()
        manifest = json.loads((tmp_path / "lake" / lake.MANIFEST).read_text())
        assert manifest["runs"] == ["run-earlier", "run-later"]
        assert manifest["exports"][1]["runs"] == ["run-earlier"]
    finally:
        store.close()


def test_an_out_of_order_commit_on_postgresql_is_exported(tmp_path: Path, port_day: object) -> None:
    """Two scoring runs side by side on PostgreSQL: the first draws the lower ids and commits
    last; an export between the two commits sees the second only, the next the first."""
    with pg_schema_url() as url:
        store = Store.open(url, migrate=True)
        try:
            ingest_file(store, port_day.consignments)  # type: ignore[attr-defined]
            slow = _rows(store, "run-slow")
            fast = _rows(store, "run-fast")
            with store.transaction() as first:
                store.bulk_insert(first, tables.assessments, slow)  # draws ids 1, 2
                with store.transaction() as second:
                    store.bulk_insert(second, tables.assessments, fast)  # ids 3, 4
                export_parquet(store, to=tmp_path / "lake")
                assert _exported_ids(tmp_path / "lake") == [3, 4]
            export_parquet(store, to=tmp_path / "lake")
            assert _exported_ids(tmp_path / "lake") == [1, 2, 3, 4]
        finally:
            store.close()
