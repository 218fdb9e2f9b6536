"""The day-start baselines a live run keeps (``daily``) when the API's requests ask for them at
once, on SQLite and PostgreSQL: each request gets its lanes' traffic as of the start of the
day, one lane's read does not wait for another's, a failed read is tried again, and a closed
store's baselines go with it."""

from __future__ import annotations

import gc
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from quaywatch.features.reference import NEWCOMER
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk.anomaly import daily, frames, reads
from quaywatch.store.store import Store
from quaywatch.synth import traffic

#: Seconds a thread waits for another before the test calls it blocked (a failure, not a
#: measurement: the threads meet long before).
BLOCKED_S = 20


@pytest.fixture(scope="module")
def lanes_days(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    """Three days of 150 consignments, from a few dozen countries of origin."""
    return traffic.generate(tmp_path_factory.mktemp("daily"), days=3, per_day=150, seed=3,
                            legacy_controls=False)  # fmt: skip


def _filled(store: Store, made: traffic.Traffic) -> tuple[pl.DataFrame, pl.DataFrame, datetime]:
    """The boxes of one consignment on each of two lanes of the last day, and a moment of it."""
    for path in made.consignment_files:
        ingest_file(store, path)
    boxes = reads.boxes(store)
    now = daily.start_of_day(boxes["lodged_at"].max()) + timedelta(hours=12)
    origin = pl.col("port_of_loading").str.slice(0, 2)
    busiest = (boxes.group_by(origin.alias("origin")).len().sort("len", "origin", descending=True))[
        "origin"
    ]
    first, second = (boxes.filter(origin == country).head(1) for country in busiest[:2])
    return first, second, now


def _expected(store: Store, boxes: pl.DataFrame, day: datetime) -> pl.DataFrame:
    """The traffic of ``boxes``'s lane as of ``day``, computed afresh."""
    weights = reads.reference(store, at=day).select("consignment_id", "weight")
    return (
        reads.lane_boxes(store, boxes, lodged_by=day)
        .join(weights.unique("consignment_id"), on="consignment_id", how="left")
        .with_columns(pl.col("weight").fill_null(NEWCOMER))
    )


def _lane_of(lanes: pl.DataFrame) -> str:
    return str(lanes["port_of_loading"].str.slice(0, 2).unique().item())


def test_two_lanes_asked_for_at_once_are_read_at_once(
    store: Store, lanes_days: traffic.Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read of the first lane waits until the second lane's read has finished: had the
    second waited for the first (one lock over both reads), neither would finish."""
    first, second, now = _filled(store, lanes_days)
    day = daily.start_of_day(now)
    first_reading, second_read = threading.Event(), threading.Event()
    read = reads.lane_boxes

    def meeting(store_: Store, lanes: pl.DataFrame, **how: datetime) -> pl.DataFrame:
        country = str(lanes["port_of_loading"].str.slice(0, 2).item())
        if country == _lane_of(first):
            first_reading.set()
            assert second_read.wait(BLOCKED_S), "the second lane's read waited for the first's"
            return read(store_, lanes, **how)
        found = read(store_, lanes, **how)
        second_read.set()
        return found

    monkeypatch.setattr(reads, "lane_boxes", meeting)
    with ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(daily.learnt, store, first, at=now)
        assert first_reading.wait(BLOCKED_S)
        other = pool.submit(daily.learnt, store, second, at=now)
        got_first, got_second = one.result().lanes, other.result().lanes
    for boxes, got in [(first, got_first), (second, got_second)]:
        assert not got.is_empty() and _lane_of(got) == _lane_of(boxes)
        assert_frame_equal(got, _expected(store, boxes, day), check_row_order=False)


def test_many_requests_for_the_same_lanes_get_the_same_traffic(
    store: Store, lanes_days: traffic.Traffic
) -> None:
    first, second, now = _filled(store, lanes_days)
    day = daily.start_of_day(now)
    asked = [first, second, pl.concat([first, second])] * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda boxes: daily.learnt(store, boxes, at=now), asked))
    expected = [_expected(store, boxes, day) for boxes in asked[:3]]
    for number, learnt in enumerate(got):
        assert_frame_equal(learnt.lanes, expected[number % 3], check_row_order=False)
        assert_frame_equal(learnt.dwell, got[0].dwell)


def test_a_failed_lane_read_is_tried_again(
    store: Store, lanes_days: traffic.Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _, now = _filled(store, lanes_days)
    read = reads.lane_boxes

    def failing(store_: Store, lanes: pl.DataFrame, **how: datetime) -> pl.DataFrame:
        raise ConnectionError("the store went away")

    monkeypatch.setattr(reads, "lane_boxes", failing)
    with pytest.raises(ConnectionError):
        daily.learnt(store, first, at=now)
    monkeypatch.setattr(reads, "lane_boxes", read)
    got = daily.learnt(store, first, at=now).lanes
    assert_frame_equal(got, _expected(store, first, daily.start_of_day(now)), check_row_order=False)


def test_a_closed_store_lets_go_of_its_baselines(store_url: str) -> None:
    opened = Store.open(store_url)
    lane = {"port_of_loading": "CNSHA", "port_of_discharge": "BEANR"}
    boxes = pl.DataFrame([lane]).with_columns(
        pl.lit(None, dtype).alias(name) for name, dtype in frames.BOXES.items() if name not in lane
    )
    daily.learnt(opened, frames.conform(boxes, frames.BOXES), at=datetime.now(UTC))
    held = weakref.ref(opened)
    opened.close()
    del opened
    gc.collect()
    assert held() is None
