from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday


def test_latest_consignments_takes_the_newest_version(store: Store, tmp_path: Path) -> None:
    day = portday.generate(tmp_path / "day", count=20, seed=4, noise=0.0, with_events=False)
    ingest_file(store, day.consignments)
    rows = pl.read_csv(day.consignments, infer_schema=False)
    amended_ids = rows["consignment_id"].unique().sort().head(3).to_list()
    amended = rows.filter(pl.col("consignment_id").is_in(amended_ids)).with_columns(
        pl.lit("2").alias("version"), pl.lit("Amended Vessel").alias("vessel_name")
    )
    amended.write_csv(tmp_path / "amended.csv")
    assert ingest_file(store, tmp_path / "amended.csv").new == 3

    latest = reads.latest_consignments(store)
    assert latest.height == 20
    assert latest["consignment_id"].is_sorted()
    assert latest.columns == [c.name for c in tables.consignments.columns]
    newest = latest.filter(pl.col("version") == 2)
    assert sorted(newest["consignment_id"]) == amended_ids
    assert set(newest["vessel_name"]) == {"Amended Vessel"}
    assert latest.schema["lodged_at"] == pl.Datetime("us", "UTC")

    split = latest["lodged_at"].sort()[10]
    later = reads.latest_consignments(store, lodged_from=split)
    assert later.height == latest.filter(pl.col("lodged_at") >= split).height
    with pytest.raises(ValueError, match="timezone-aware"):
        reads.latest_consignments(store, lodged_from=datetime(2026, 1, 1))


def test_an_empty_store_gives_typed_empty_frame(store: Store) -> None:
    latest = reads.latest_consignments(store, lodged_from=datetime(2026, 1, 1, tzinfo=UTC))
    assert latest.is_empty()
    assert latest.schema["lodged_at"] == pl.Datetime("us", "UTC")
    assert latest.schema["version"] == pl.Int64


def test_goods_item_rows_and_control_outcomes_come_back_as_imported(
    store: Store, tmp_path: Path
) -> None:
    from datetime import date

    from quaywatch.synth import traffic

    made = traffic.generate(tmp_path / "t", days=1, per_day=400, seed=3, start=date(2026, 10, 1))
    for path in [*made.consignment_files, *(made.out / "outcomes").glob("*.csv")]:
        ingest_file(store, path)
    items = reads.goods_item_rows(store)
    written = pl.concat([pl.read_csv(p, infer_schema=False) for p in made.consignment_files])
    assert items.height == written.height
    assert items.select("consignment_id", "sequence").is_unique().all()
    assert (
        items["consignee_aeo"].null_count() == 0 and items["container_size_type"].null_count() == 0
    )
    assert items.schema["value"] == pl.Float64 and items.schema["eta"] == pl.Datetime("us", "UTC")
    half = items["lodged_at"].sort()[items.height // 2]
    early = reads.goods_item_rows(store, lodged_before=half)
    assert early.height == items.filter(pl.col("lodged_at") < half).height

    outcomes = reads.control_outcomes(store)
    files = list((made.out / "outcomes").glob("*.csv"))
    assert outcomes.height == sum(pl.read_csv(p).height for p in files)
    assert outcomes.height > 0 and outcomes["known_at"].is_sorted()
    cut = outcomes["known_at"][outcomes.height // 2]
    earlier = reads.control_outcomes(store, known_before=cut)
    assert earlier.height == outcomes.filter(pl.col("known_at") < cut).height
