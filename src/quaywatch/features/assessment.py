"""The model's input for a set of consignments: declared features plus as-of entity histories.

One function serves training, evaluation and scoring (ARCHITECTURE.md, "one scoring
function"): ``model_inputs`` takes the declared features of every consignment known so far
(``declared.consignment_features``) and the control outcomes, and returns, for the rows asked
for, what was known about each entity on the consignment at its assessment time. A consignment
is assessed when it is lodged, so its ``lodged_at`` is its assessment time: a training row sees
exactly what a live assessment would have seen that day, and no outcome known later.

The history features used are the hit rate (smoothed), the number of controls and the days
since an entity was first seen. Record counts are left out on purpose: they grow with the
calendar, so a model would learn the date from them and not the risk (measured on the KCS
benchmark, docs/kcs-benchmark.md).
"""

from __future__ import annotations

import polars as pl

from quaywatch.features import declared
from quaywatch.features.history import Entity, as_of_history

#: Entities whose track record informs an assessment.
ENTITIES = (
    Entity("consignee", ("consignee_key",)),
    Entity("consignor", ("consignor_key",)),
    Entity("declarant", ("declarant_key",)),
    Entity("carrier", ("carrier_scac",)),
    Entity("hs6", ("main_hs6",)),
    Entity("origin", ("origin_country",)),
    Entity("lane", ("lane",)),
    Entity("hs6_origin", ("main_hs6", "origin_country")),
    Entity("consignee_hs6", ("consignee_key", "main_hs6")),
)
HISTORY_KINDS = ("hit_rate", "controls", "days_since_first")
#: Columns of the model input, in order; categorical ones are ``declared.CATEGORICAL``.
COLUMNS = (
    *declared.FEATURES,
    *(f"{entity.name}_{kind}" for entity in ENTITIES for kind in HISTORY_KINDS),
)
#: Revenue recovered from which an irregularity counts as a hit. Below it are the clerical and
#: quantity discrepancies every large flow has; targeting is not for them, and as labels they
#: drown the fraud signal (a third of the irregularities in the legacy history, measured).
SIGNIFICANT_EUR = 1_000.0


def hit() -> pl.Expr:
    """Whether a control outcome is a hit: a seizure, or an irregularity worth recovering."""
    return (pl.col("result") == "SEIZURE") | (
        (pl.col("result") == "IRREGULAR") & (pl.col("revenue_recovered_eur") >= SIGNIFICANT_EUR)
    )


def outcome_keys(consignments: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """Control outcomes with the entity keys of their consignment and a ``hit`` flag."""
    keys = sorted({column for entity in ENTITIES for column in entity.columns})
    return outcomes.select(
        "consignment_id", "version", "known_at", "revenue_recovered_eur",
        hit().alias("hit"),
    ).join(
        consignments.select("consignment_id", "version", *keys),
        on=["consignment_id", "version"], how="inner",
    )  # fmt: skip


def model_inputs(
    rows: pl.DataFrame, *, consignments: pl.DataFrame, outcomes: pl.DataFrame
) -> pl.DataFrame:
    """``rows`` (declared features of the consignments to assess) as the model's input.

    ``consignments`` holds the declared features of every consignment known (the history),
    ``outcomes`` the stored control outcomes. Returns ``declared.KEY`` plus ``COLUMNS``, in the
    order of ``rows``; categorical columns are strings.
    """
    history = as_of_history(
        rows,
        history=consignments,
        outcomes=outcome_keys(consignments, outcomes),
        entities=ENTITIES,
        at="lodged_at",
        seen_at="lodged_at",
        known_at="known_at",
        kinds=HISTORY_KINDS,
    )
    return history.select(*declared.KEY, *COLUMNS)


def assessment_frame(
    items: pl.DataFrame,
    *,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    reference: declared.ValueReference,
) -> pl.DataFrame:
    """The consignments of ``items`` as the risk engine sees them, one row each in their order.

    ``items`` and ``history`` are goods-item rows (``store.reads.goods_item_rows``); ``history``
    holds every consignment known (it may include ``items``; those it lacks count as known too),
    ``outcomes`` the control outcomes known now. Returns ``declared.KEY``, ``lodged_at``,
    ``declared.PARTIES``, ``declared.FEATURES`` and the entity histories: ``COLUMNS`` is the
    model's input, the rest serves risk profiles and reasons. Only the batch gets its declared
    features computed; of the history, only the entity keys (``declared.entity_keys``).
    """
    batch = declared.consignment_features(declared.item_features(items), reference)
    known = declared.entity_keys(history)
    fresh = batch.join(known.select(declared.KEY), on=list(declared.KEY), how="anti")
    if fresh.height:
        known = pl.concat([known, fresh.select(known.columns)])
    inputs = model_inputs(batch, consignments=known, outcomes=outcomes)
    names = [c for c in COLUMNS if c not in batch.columns]
    return pl.concat([batch, inputs.select(names)], how="horizontal")
