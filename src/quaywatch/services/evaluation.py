"""Use cases of measurement: detection against ground truth on the stored consignments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from quaywatch.risk import engine, signals
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.profiles.registry import active_profiles
from quaywatch.store import reads
from quaywatch.store.store import Store


def model_scores(store: Store, path: Path, split_at: datetime) -> pl.DataFrame:
    """What ``assess`` gives each consignment lodged at or after ``split_at``.

    As a live run on ``split_at`` would have: the control outcomes known before then, and every
    consignment's own lodging time for the entity histories. The other sources read what the
    store holds now: the active profiles, and the container events and party links of the
    evaluated consignments (an assessment is re-run as events arrive, up to discharge and
    gate-out). Columns: key, ``model`` (the fraud model alone), ``rules`` (log-odds added by
    profiles, anomalies, screening and graph) and ``combined`` (``risk.combine``).
    """
    model = RiskModel.load(path)
    history = reads.goods_item_rows(store)
    outcomes = reads.control_outcomes(store, known_before=split_at)
    items = history.filter(pl.col("lodged_at") >= split_at)
    found = engine.assess(
        items, history=history, outcomes=outcomes, model=model,
        explain_rows=engine.Explain.NONE, profiles=active_profiles(store),
        parties=reads.parties(store),
        hits=signals.store_hits(store, items, outcomes=outcomes, now=signals.data_end(store)),
    )  # fmt: skip
    rules = (pl.col("probability") / (1 - pl.col("probability"))) / (
        pl.col("model_probability") / (1 - pl.col("model_probability"))
    )
    return found.select(
        "consignment_id", "version", pl.col("model_probability").alias("model"),
        rules.log().fill_nan(0.0).alias("rules"), pl.col("probability").alias("combined"),
    )  # fmt: skip
