"""Arrow in, Arrow out: the risk engine's assessment of one batch, with no store inside.

``assess_batch`` takes one Arrow record batch (or table) of goods-item rows, a snapshot of the
entity state (``entity_states`` layout) and a loaded model, and returns an Arrow record batch of
assessments. It calls the engine's own scoring (``risk.engine.score_frame``, which the store's
scoring runs call too), so a batch engine that maps it over partitions (Spark's
``mapInArrow``, ``scale.spark``) gives the assessments the single-node engine gives: there is no
second implementation (ARCHITECTURE.md, invariant 3).

A consignment's goods items must all be in one batch (its assessment reads them together);
the state must hold every row of the batch's entity keys, at least those before the batch's
lodging times. Nothing here reads a setting, a clock or a file.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pyarrow as pa

from quaywatch.features import assessment, declared
from quaywatch.risk import combine
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.engine import Explain, score_frame
from quaywatch.risk.profiles.apply import ProfileSet

_TIME = pl.Datetime("us", "UTC")
#: Goods-item rows as ``store.reads.goods_item_rows`` gives them: the batch's input columns.
ITEM_SCHEMA: dict[str, pl.DataType] = {
    "consignment_id": pl.String(), "version": pl.Int64(), "lodged_at": _TIME, "eta": _TIME,
    "carrier_scac": pl.String(), "port_of_loading": pl.String(),
    "transshipment_ports": pl.String(), "port_of_discharge": pl.String(),
    "consignee_key": pl.String(), "consignor_key": pl.String(), "declarant_key": pl.String(),
    "consignee_aeo": pl.String(), "consignor_aeo": pl.String(), "declarant_aeo": pl.String(),
    "sequence": pl.Int64(), "hs6": pl.String(), "description": pl.String(),
    "packages": pl.Int64(), "package_type": pl.String(), "gross_mass_kg": pl.Float64(),
    "value": pl.Float64(), "currency": pl.String(), "origin_country": pl.String(),
    "container_number": pl.String(), "container_size_type": pl.String(),
}  # fmt: skip
#: The entity state snapshot's columns (``intake.entity_state``).
STATE_SCHEMA: dict[str, pl.DataType] = {
    "entity": pl.String(), "entity_key": pl.String(), "at": _TIME, "records": pl.Int64(),
    "controls": pl.Int64(), "hits": pl.Int64(),
}  # fmt: skip
#: What ``assess_batch`` returns, one row per consignment (plain Arrow types, as Spark reads).
ASSESSMENT_SCHEMA = pa.schema(
    [
        ("consignment_id", pa.string()),
        ("version", pa.int64()),
        ("lodged_at", pa.timestamp("us", tz="UTC")),
        ("probability", pa.float64()),
        ("model_probability", pa.float64()),
        ("score", pa.float64()),
        ("revenue_at_stake_eur", pa.float64()),
        ("lane_floor", pa.string()),
        ("referral", pa.string()),
        ("critical", pa.bool_()),
        ("reasons", pa.string()),
        ("explained", pa.bool_()),
    ]
)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType], what: str) -> pl.DataFrame:
    """``frame``'s columns of ``schema``, in its order and types (what an engine hands over
    may differ in width or time zone); a ``ValueError`` naming the missing columns."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")
    return frame.select(pl.col(c).cast(t) for c, t in schema.items())


def _frame(data: pa.Table | pa.RecordBatch) -> pl.DataFrame:
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    found = pl.from_arrow(table)
    assert isinstance(found, pl.DataFrame)  # a table always gives a frame
    return found


def assess_batch(
    items: pa.Table | pa.RecordBatch,
    *,
    states: pa.Table | pl.DataFrame,
    model: RiskModel,
    known_before: datetime | None = None,
    explain_rows: Explain = Explain.AUTO,
    profiles: ProfileSet | None = None,
    parties: pa.Table | None = None,
    hits: pa.Table | None = None,
    weighting: combine.HitWeighting | None = None,
) -> pa.RecordBatch:
    """The assessments of the consignments in ``items`` (goods-item rows, ``ITEM_SCHEMA``).

    ``states``: the entity state snapshot (``STATE_SCHEMA``); ``known_before``: outcomes known
    at or after it are left out (the moment of the run); ``profiles`` run on the batch
    (``parties`` names them), ``hits`` are what the store-reading sources found (a hits frame,
    ``risk.hits``), ``weighting`` the hit weights (shipped ones by default). Returns one row
    per consignment in the order of ``items``, ``ASSESSMENT_SCHEMA``.

    >>> # assess_batch(pa.table(...), states=snapshot, model=RiskModel.load(path))
    """
    frame = conform(_frame(items), ITEM_SCHEMA, "the goods-item batch")
    if frame.is_empty():
        return pa.RecordBatch.from_pylist([], schema=ASSESSMENT_SCHEMA)
    frame = declared.item_features(frame)  # once, for the features and the traffic norms
    state = states if isinstance(states, pl.DataFrame) else _frame(states)
    batch = assessment.assessment_frame_from_snapshot(
        frame, states=conform(state, STATE_SCHEMA, "the entity state"),
        reference=model.reference, known_before=known_before,
    )  # fmt: skip
    found, _ = score_frame(
        batch, frame, model=model, explain_rows=explain_rows, profiles=profiles,
        parties=None if parties is None else _frame(parties),
        hits=None if hits is None else _frame(hits),
        weighting=combine.HitWeighting() if weighting is None else weighting,
    )  # fmt: skip
    table = found.to_arrow().select(ASSESSMENT_SCHEMA.names).cast(ASSESSMENT_SCHEMA)
    return table.combine_chunks().to_batches()[0]
