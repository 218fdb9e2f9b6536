"""Reference traffic read from the store, on SQLite and PostgreSQL: a generated week with its
legacy control history imported as a user would; the consignments of traders whose controls
found something are kept out of the baselines once the result is recorded (strictly before the
baseline's moment)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from quaywatch.intake.entities import hit
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import hits
from quaywatch.risk.anomaly import detect_store, frames, reads
from quaywatch.store import reads as store_reads
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.patterns import PatternRates


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    """Seven days of 300 consignments with the legacy controls (and their hits)."""
    rates = PatternRates(cocaine=0.05, displacement_week=None)
    return traffic.generate(tmp_path_factory.mktemp("reference"), days=7, per_day=300, seed=13,
                            rates=rates)  # fmt: skip


def test_reference_traffic_from_the_store(
    store: Store, week: traffic.Traffic, tmp_path: Path
) -> None:
    for path in [*week.consignment_files, *week.event_files, *week.outcome_files]:
        ingest_file(store, path)
    outcomes = store_reads.control_outcomes(store)
    found = outcomes.filter(hit())
    assert not found.is_empty()
    at = found["known_at"].sort()[found.height // 2]  # half the hits are known by then
    ref = reads.reference(store, at=at)
    assert ref.schema == frames.REFERENCE
    parties = store_reads.latest_consignments(
        store, columns=["consignment_id", "consignee_key", "consignor_key"]
    )
    known = found.filter(pl.col("known_at") < at).join(parties, on="consignment_id")
    traders = set(known["consignee_key"]) | set(known["consignor_key"])
    weights = ref.unique("consignment_id").join(parties, on="consignment_id")
    theirs = pl.col("consignee_key").is_in(list(traders)) | pl.col("consignor_key").is_in(
        list(traders)
    )
    assert weights.filter(theirs)["weight"].max() == 0.0
    assert weights.filter(~theirs)["weight"].min() > 0.0
    # Nothing is suspect before any result was recorded; lodged later means not known yet.
    early = reads.reference(store, at=outcomes["known_at"].min() - timedelta(seconds=1))
    assert early.filter(pl.col("weight") == 0).is_empty()
    assert ref["lodged_at"].max() <= at
    # The detectors read it: same hits whether the outcomes are passed or read (a live run
    # reads the reference of the start of its day: the same at midnight).
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    found_hits = detect_store(store, None, now=midnight)
    assert found_hits.schema == hits.SCHEMA
    assert found_hits.equals(detect_store(store, None, now=midnight, outcomes=outcomes))
    # Kept: a second live run that day reads the same frame; a record stored moves it.
    # Kept for the day: what is stored during it joins the next day's baselines.
    kept = reads.daily_reference(store, at=at)
    assert_frame_equal(kept, reads.reference(store, at=midnight))
    # A seizure recorded during the day (known before midnight: a late import) on traffic the
    # reference still counts moves an exact reference at once, the kept one the next day.
    rows = pl.concat([pl.read_csv(p, infer_schema=False) for p in week.outcome_files])
    counted = kept.filter(pl.col("weight") > 0).get_column("consignment_id").implode()
    compliant = rows.filter(
        pl.col("result") == "COMPLIANT", pl.col("consignment_id").is_in(counted)
    )
    target = compliant.row(0, named=True)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    late = tmp_path / "late.csv"
    rows.filter(pl.col("result") == "SEIZURE").head(1).with_columns(
        pl.lit("C-LATE-SEIZURE").alias("control_id"),
        *(pl.lit(target[c]).alias(c) for c in ("consignment_id", "version", "container_number")),
        pl.lit((midnight - timedelta(hours=2)).strftime(stamp)).alias("controlled_at"),
        pl.lit((midnight - timedelta(hours=1)).strftime(stamp)).alias("known_at"),
    ).write_csv(late)
    clean = target["consignment_id"]
    ingest_file(store, late)
    assert (
        reads.reference(store, at=midnight)
        .filter(pl.col("consignment_id") == clean)["weight"]
        .max()
        == 0.0
    )
    assert_frame_equal(reads.daily_reference(store, at=midnight + timedelta(hours=23)), kept)
    tomorrow = midnight + timedelta(days=1)
    assert_frame_equal(
        reads.daily_reference(store, at=tomorrow), reads.reference(store, at=tomorrow)
    )
