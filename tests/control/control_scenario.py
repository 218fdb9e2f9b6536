"""The control tests' scenario: a port day assessed and selected (see conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk.explain import Reason, Source, to_json
from quaywatch.selection import capacity
from quaywatch.selection.run import select_store
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
DAY_FROM, DAY_TO = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
COC = Reason("profile:COC-001", "cocaine route", 2.3, Source.PROFILE)
UND = Reason("profile:UND-002", "undervalued", 1.0, Source.PROFILE)
MODEL = Reason("model:value_per_kg", "value per kg low", 0.5, Source.MODEL)


def small_capacity() -> capacity.Capacity:
    """The shipped capacity file with one control of each type per terminal and shift."""
    text = (Path(capacity.__file__).parent / "capacity.yaml").read_text(encoding="utf-8")
    text = re.sub(r"scanner_slots: \d+", "scanner_slots: 0.125", text)
    text = re.sub(r"officer_hours: \d+", "officer_hours: 3", text)
    text = re.sub(r"documentary_slots: \d+", "documentary_slots: 1", text)
    return capacity.loads(text, "small-capacity.yaml")


@dataclass(frozen=True)
class Ordered:
    store: Store
    run_id: str
    order_ids: list[str]


def reasons_of(i: int) -> str:
    found = [MODEL]
    if i % 3 == 0:
        found.append(COC)
    if i % 5 == 0:
        found.append(UND)
    return to_json(found)


def assess_and_select(store: Store, tmp_path: Path, count: int = 40) -> str:
    day = portday.generate(tmp_path / "day", count=count, seed=5, noise=0.0)
    ingest_file(store, day.consignments)
    ingest_file(store, day.events)
    known = reads.latest_consignments(store).select("consignment_id", "version")
    rng = np.random.default_rng(2)
    frame = known.with_columns(
        pl.lit("r1").alias("run_id"), pl.lit(T0).alias("assessed_at"),
        pl.lit("m1").alias("model_version"), pl.lit(None, pl.String).alias("profile_version"),
        pl.Series("probability", rng.beta(0.5, 3, known.height)), pl.lit(50.0).alias("score"),
        pl.Series("revenue_at_stake_eur", rng.lognormal(8, 1, known.height)),
        pl.Series("reasons", [reasons_of(i) for i in range(known.height)]),
        pl.lit(True).alias("explained"),
    )  # fmt: skip
    with store.transaction() as conn:
        store.bulk_insert(conn, tables.assessments, frame)
    run = select_store(store, DAY_FROM, DAY_TO, small_capacity(), random_rate=0.1, seed=1,
                       actor="ana", now=T0)  # fmt: skip
    return run.run_id
