"""The store path on SQLite and PostgreSQL: a generated day with rip-on/rip-off cases, imported
as a user would, read back, searched for anomalies; and the re-assessment query."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import hits
from quaywatch.risk.anomaly import detect, detect_store, frames, reads, stale
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.patterns import PatternRates


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    """One day of 400 consignments, 15 % of them cocaine (rip-on/rip-off marks on most)."""
    rates = PatternRates(cocaine=0.15, displacement_week=None)
    return traffic.generate(tmp_path_factory.mktemp("anomaly"), days=1, per_day=400, seed=5,
                            rates=rates, legacy_controls=False)  # fmt: skip


def _ingest(store: Store, *paths: Path) -> None:
    for path in paths:
        ingest_file(store, path)


def test_store_reads_give_the_detector_frames(store: Store, day: traffic.Traffic) -> None:
    _ingest(store, *day.consignment_files, *day.event_files)
    events, boxes = reads.events(store), reads.boxes(store)
    assert events.schema == frames.EVENTS and boxes.schema == frames.BOXES
    lines = [json.loads(line) for line in day.event_files[0].read_text().splitlines()]
    assert events.height == len(lines)
    assert events["seals"].list.len().sum() == sum(len(e["seals"]) for e in lines)
    assert boxes.filter(pl.col("declared_seals").list.len() == 0).is_empty()


def test_detect_store_finds_the_rip_on_rip_off_cases(store: Store, day: traffic.Traffic) -> None:
    _ingest(store, *day.consignment_files, *day.event_files)
    found = detect_store(store, None, now=datetime.now(UTC))
    assert found.schema == hits.SCHEMA and not found.is_empty()
    truth = pl.read_parquet(day.truth).select("consignment_id", "pattern")
    flagged = found.select("consignment_id").unique().join(truth, on="consignment_id")
    cocaine = truth.filter(pl.col("pattern") == "cocaine").height
    caught = flagged.filter(pl.col("pattern") == "cocaine").height
    assert caught / cocaine >= 0.5  # three in four carry a mark; most of those are found
    assert caught / flagged.height >= 0.7  # at 15 % cocaine, few look-alikes
    some = found["consignment_id"].unique().sort()[:5]
    keys = pl.DataFrame({"consignment_id": some, "version": [1] * len(some)})
    limited = detect_store(store, keys, now=datetime.now(UTC))
    assert_frame_equal(limited, found.filter(pl.col("consignment_id").is_in(some.implode())))


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    """Sixteen days of 300 consignments, cocaine routes displaced in the third week: enough
    history for the hub-dwell baseline and the route frequencies to speak."""
    rates = PatternRates(cocaine=0.1, displacement_week=2)
    return traffic.generate(tmp_path_factory.mktemp("anomaly-days"), days=16, per_day=300,
                            seed=11, rates=rates, legacy_controls=False)  # fmt: skip


@pytest.mark.slow
def test_detect_store_for_a_few_consignments_reads_less_and_finds_the_same(
    store: Store, days: traffic.Traffic
) -> None:
    """Consignments looked at one by one (as the API does), each with only its containers'
    events and the baselines' history read, get exactly the hits of a run over everything."""
    _ingest(store, *days.consignment_files, *days.event_files)
    now = datetime.now(UTC)
    found = detect_store(store, None, now=now)
    codes = set(found["code"])
    # Journeys, and both baselines learnt from the history.
    assert {"anomaly:seal_changed", "anomaly:hub_dwell", "anomaly:rare_route"} <= codes
    baselined = found.filter(pl.col("code").is_in(["anomaly:hub_dwell", "anomaly:rare_route"]))
    others = found.filter(~pl.col("consignment_id").is_in(baselined["consignment_id"].implode()))
    quiet = reads.boxes(store).filter(
        ~pl.col("consignment_id").is_in(found["consignment_id"].implode())
    )
    chosen = [
        *baselined["consignment_id"].unique().sort().to_list(),
        *others["consignment_id"].unique().sort()[:20].to_list(),
        *quiet["consignment_id"].unique().sort()[:10].to_list(),
    ]
    for cid in chosen:
        keys = pl.DataFrame({"consignment_id": [cid], "version": [1]})
        alone = detect_store(store, keys, now=now)
        assert_frame_equal(alone, found.filter(pl.col("consignment_id") == cid))


def test_generated_traffic_is_leak_free(store: Store, day: traffic.Traffic) -> None:
    """Fed live (each event received as created), events after `at` change nothing."""
    _ingest(store, *day.consignment_files, *day.event_files)
    events = reads.events(store).with_columns(pl.col("created_time").alias("known_at"))
    boxes = reads.boxes(store)
    at = events["event_time"].min() + timedelta(days=20)
    seen = events.filter(pl.col("known_at") <= at)
    assert 0 < seen.height < events.height
    assert_frame_equal(detect(events, boxes, at=at), detect(seen, boxes, at=at))


def test_stale_lists_consignments_with_events_since_their_assessment(
    store: Store, day: traffic.Traffic, tmp_path: Path
) -> None:
    lines = day.event_files[0].read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]))
    second.write_text("".join(lines[len(lines) // 2 :]))
    _ingest(store, *day.consignment_files, first)
    boxes = reads.boxes(store)
    assessed = boxes.select("consignment_id", "version").unique().sort("consignment_id")
    assessed = assessed.head(assessed.height - 10)  # ten consignments never assessed
    with store.transaction() as conn:
        store.bulk_insert(conn, tables.assessments, assessed.with_columns(
            pl.lit("run-1").alias("run_id"), pl.lit(tables.utcnow()).alias("assessed_at"),
            pl.lit("m1").alias("model_version"), pl.lit(0.1).alias("probability"),
            pl.lit(10.0).alias("score"), pl.lit(0.0).alias("revenue_at_stake_eur"),
            pl.lit("[]").alias("reasons"), pl.lit(False).alias("explained"),
        ))  # fmt: skip
    assert stale(store).is_empty()
    # quaywatch's own customs events (selected for scan...) are decisions, not news.
    box = boxes.join(assessed, on=["consignment_id", "version"]).row(0, named=True)
    now = tables.utcnow()
    with store.transaction() as conn:
        conn.execute(tables.events.insert(), [{
            "event_id": "own-cuss-1", "content_sha256": "0" * 64, "event_type": "EQUIPMENT",
            "classifier": "ACT", "event_code": "CUSS", "event_time": now, "created_time": now,
            "un_locode": "BEANR", "facility_type": "POTE", "container_number":
            box["container_number"], "empty_indicator": "LADEN", "vessel_imo": None,
            "transport_document": box["transport_document"], "is_transshipment": False,
            "received_at": now, "known_at": now, "batch_id": "own",
        }])  # fmt: skip
    assert stale(store).is_empty()
    assert "own-cuss-1" not in reads.events(store)["event_id"].to_list()
    _ingest(store, second)
    later = [json.loads(line) for line in second.read_text().splitlines()]
    touched = pl.DataFrame({
        "container_number": [e["equipmentReference"] for e in later],
        "transport_document": [e["documentReferences"][0]["documentReferenceValue"]
                               for e in later],
    }).unique()  # fmt: skip
    expected = (
        boxes.join(touched, on=["container_number", "transport_document"])
        .join(assessed, on=["consignment_id", "version"])
        .select("consignment_id", "version")
        .unique()
        .sort("consignment_id")
    )
    found = stale(store)
    assert found.height > 0
    assert_frame_equal(found, expected)
    asked = [*found["consignment_id"][:3], *assessed["consignment_id"][-2:]]
    assert_frame_equal(stale(store, asked), expected.filter(pl.col("consignment_id").is_in(asked)))


def test_cli_lists_anomalies(day: traffic.Traffic, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = Store.open(url)
    _ingest(store, *day.consignment_files, *day.event_files)
    store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["--database", url, "anomalies", "--since", "2026-10-01",
                                 "--code", "seal_changed", "--limit", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "consignments show anomalies" in result.output and "seal_changed" in result.output
    assert "hub_dwell" not in result.output
    bad = runner.invoke(app, ["--database", url, "anomalies", "--code", "nonsense"])
    assert bad.exit_code != 0 and "unknown detector 'nonsense'" in bad.output
