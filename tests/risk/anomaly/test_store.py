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
from quaywatch.domain.vocabulary import KnownAt
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import hits
from quaywatch.risk.anomaly import daily, detect, detect_store, frames, hubs, reads, stale
from quaywatch.services.intake import ingest_files
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
    # A live run learns its baselines as of the start of its day: the events received today
    # count from tomorrow's.
    now = datetime.now(UTC) + timedelta(days=1)
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


def _fresh_as_of(store: Store, keys: pl.DataFrame, *, now: datetime, day: datetime) -> pl.DataFrame:
    """The hits of ``keys`` at ``now`` with both baselines computed afresh as of ``day``: the
    transshipment calls known then, the lanes' consignments lodged by then (and the keys'
    own), the reference traffic of that moment."""
    boxes = reads.boxes(store, keys)
    containers = boxes.get_column("container_number").unique().to_list()
    return detect(
        reads.events(store, containers=containers), boxes, at=now, keys=keys,
        calls=reads.transshipments(store, known_by=day),
        routes=pl.concat([reads.lane_boxes(store, boxes, lodged_by=day), boxes]),
        reference=reads.reference(store, at=day),
    )  # fmt: skip


@pytest.mark.slow
def test_a_live_run_learns_its_baselines_as_of_the_start_of_its_day(
    store: Store, days: traffic.Traffic, tmp_path: Path
) -> None:
    """A live run (the API, ``quaywatch score``) judges a consignment against the baselines of
    the start of its day, kept for the day: the same hits as computing them afresh as of that
    moment, alike whatever else the batch holds; a record stored during the day joins the next
    day's baselines, which are computed again."""
    _ingest(store, *days.consignment_files)
    ingest_files(store, days.event_files, actor="backtest", known_at=KnownAt.CREATED)
    lodged = (
        reads.boxes(store)
        .sort("version", descending=True)
        .unique("consignment_id", keep="first")
        .sort("lodged_at", "consignment_id")
    )
    now = daily.start_of_day(lodged["lodged_at"].max()) + timedelta(hours=12)
    day = daily.start_of_day(now)
    today = lodged.filter(pl.col("lodged_at") > day, pl.col("lodged_at") <= now)
    assert not today.is_empty()
    earlier = detect_store(store, None, now=now).filter(
        pl.col("code").is_in(["anomaly:hub_dwell", "anomaly:rare_route"])
    )
    chosen = (
        pl.concat([today.select(frames.KEY).head(15), earlier.select(frames.KEY)])
        .unique()
        .sort(list(frames.KEY))
    )
    singles = []
    for key in chosen.iter_rows(named=True):
        keys = pl.DataFrame([key], schema={"consignment_id": pl.String, "version": pl.Int64})
        alone = detect_store(store, keys, now=now)
        assert_frame_equal(alone, _fresh_as_of(store, keys, now=now, day=day))
        singles.append(alone)
    judged = pl.concat(singles)
    assert {"anomaly:hub_dwell", "anomaly:rare_route"} <= set(judged["code"])
    # A batch (a period run, the API under load) judges each consignment as if it were alone.
    together = detect_store(store, chosen, now=now)
    assert_frame_equal(together, judged.sort(together.columns), check_row_order=False)

    # Kept for the day: a consignment of the lane stored during the day (lodged the day before:
    # a late import) joins the lane's traffic in the next day's baselines, not in today's.
    boxes = reads.boxes(store, today.head(1).select(frames.KEY))
    kept = daily.learnt(store, boxes, at=now)
    late = _late_copy(days, today["consignment_id"][0], lodged=day - timedelta(hours=1),
                      out=tmp_path / "late.csv")  # fmt: skip
    ingest_file(store, late)
    assert "LATE-1" in reads.lane_boxes(store, boxes, lodged_by=day)["consignment_id"]
    later = daily.learnt(store, boxes, at=now + timedelta(hours=6))
    assert_frame_equal(later.lanes, kept.lanes)
    assert_frame_equal(later.dwell, kept.dwell)
    tomorrow = day + timedelta(days=1)
    fresh = daily.learnt(store, boxes, at=tomorrow + timedelta(hours=1))
    assert "LATE-1" in fresh.lanes["consignment_id"]
    assert fresh.lanes.height > kept.lanes.height + 1  # the day's own consignments too
    calls = reads.transshipments(store, known_by=tomorrow)
    recomputed = hubs.baseline(frames.known(calls, tomorrow), reads.reference(store, at=tomorrow))
    assert_frame_equal(fresh.dwell, recomputed, check_row_order=False)
    hub = pl.col("un_locode")
    assert not fresh.dwell.sort(hub).equals(kept.dwell.sort(hub))  # the day's calls moved it


def _late_copy(days: traffic.Traffic, consignment_id: str, *, lodged: datetime, out: Path) -> Path:
    """A copy of a generated consignment under the id ``LATE-1``, lodged at ``lodged``."""
    rows = pl.concat([pl.read_csv(p, infer_schema=False) for p in days.consignment_files])
    rows.filter(pl.col("consignment_id") == consignment_id).with_columns(
        pl.lit("LATE-1").alias("consignment_id"),
        pl.lit("LATEBL0000001").alias("transport_document"),
        pl.lit(lodged.strftime("%Y-%m-%dT%H:%M:%SZ")).alias("lodged_at"),
    ).write_csv(out)
    return out


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


def test_boxes_without_an_event_yet_are_judged_on_their_route_as_with_events_elsewhere(
    store: Store, days: traffic.Traffic
) -> None:
    """A live run over consignments none of whose containers has moved yet (most filings)
    judges their declared route only: the same findings as when an event of another container
    is in the frame (which takes every detector's path)."""
    _ingest(store, *days.consignment_files)
    stored = reads.boxes(store)
    last = daily.start_of_day(stored["lodged_at"].max())
    boxes = stored.filter(pl.col("lodged_at") >= last)
    at = boxes["lodged_at"].max() + timedelta(hours=1)
    keys = boxes.select(frames.KEY).unique()
    learnt = daily.learnt(store, boxes, at=at)
    moment = last - timedelta(days=1)
    elsewhere = pl.DataFrame(
        [{"event_id": "E-1", "event_code": "DISC", "event_time": moment, "created_time": moment,
          "received_at": moment, "known_at": moment, "un_locode": "SGSIN",
          "facility_type": "POTE", "container_number": "ZZZU0000000",
          "transport_document": "OTHER-BL", "is_transshipment": True, "seals": []}],
        schema=frames.EVENTS,
    )  # fmt: skip
    none_yet = detect(elsewhere.clear(), boxes, at=at, keys=keys, learnt=learnt)
    with_other = detect(elsewhere, boxes, at=at, keys=keys, learnt=learnt)
    assert_frame_equal(none_yet, with_other, check_row_order=False)
    assert set(none_yet["code"]) == {"anomaly:rare_route"}
