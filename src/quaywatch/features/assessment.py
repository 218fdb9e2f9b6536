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

from collections.abc import Callable
from datetime import datetime

import polars as pl
from sqlalchemy import Connection

from quaywatch.features import declared
from quaywatch.features.batch_state import batch_states, snapshot_features
from quaywatch.features.entity_state import entity_features
from quaywatch.features.history import Entity, as_of_history
from quaywatch.intake.entities import (
    ENTITY_COLUMNS,
    SIGNIFICANT_EUR as SIGNIFICANT_EUR,
    hit as hit,
)

#: Entities whose track record informs an assessment.
ENTITIES = tuple(Entity(name, columns) for name, columns in ENTITY_COLUMNS)
HISTORY_KINDS = ("hit_rate", "controls", "days_since_first")
#: Columns of the model input, in order; categorical ones are ``declared.CATEGORICAL``.
COLUMNS = (
    *declared.FEATURES,
    *(f"{entity.name}_{kind}" for entity in ENTITIES for kind in HISTORY_KINDS),
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
    features computed; of the history's other consignments, only the entity keys
    (``known_consignments``).
    """
    return _with_inputs(
        items, reference,
        lambda batch: model_inputs(
            batch, consignments=known_consignments(batch, history), outcomes=outcomes
        ),
    )  # fmt: skip


def assessment_frame_from_state(
    items: pl.DataFrame,
    *,
    conn: Connection,
    reference: declared.ValueReference,
    known_before: datetime | None = None,
) -> pl.DataFrame:
    """``assessment_frame`` with the entity histories read from the kept entity state.

    The same frame as ``assessment_frame(items, history=<every stored consignment>,
    outcomes=<the outcomes known before known_before>)``, reading only the state rows of the
    batch's keys (``features.entity_state``), not the history.
    """
    return _with_inputs(
        items, reference,
        lambda batch: entity_features(
            conn, batch, entities=ENTITIES, at="lodged_at", known_before=known_before,
            kinds=HISTORY_KINDS,
        ),
    )  # fmt: skip


def assessment_frame_from_kept_state(
    items: pl.DataFrame,
    *,
    conn: Connection,
    reference: declared.ValueReference,
    known_before: datetime | None = None,
) -> pl.DataFrame:
    """``assessment_frame_from_state`` for a large batch: the state rows of the batch's keys
    are read at once (``features.batch_state.batch_states``) and looked up in memory, not one
    indexed lookup per consignment and entity. The same frame."""
    return _with_inputs(
        items, reference,
        lambda batch: snapshot_features(
            batch_states(conn, batch, entities=ENTITIES, known_before=known_before,
                         kinds=HISTORY_KINDS), batch,
            entities=ENTITIES, at="lodged_at", known_before=known_before, kinds=HISTORY_KINDS,
        ),
    )  # fmt: skip


def assessment_frame_from_snapshot(
    items: pl.DataFrame,
    *,
    states: pl.DataFrame,
    reference: declared.ValueReference,
    known_before: datetime | None = None,
) -> pl.DataFrame:
    """``assessment_frame_from_state`` with the entity state given as a frame (a snapshot of
    the ``entity_states`` layout, ``features.batch_state.snapshot_features``): no store read,
    what a batch engine calls on each batch, and batch scoring given the state's rows."""
    return _with_inputs(
        items, reference,
        lambda batch: snapshot_features(
            states, batch, entities=ENTITIES, at="lodged_at", known_before=known_before,
            kinds=HISTORY_KINDS,
        ),
    )  # fmt: skip


def _with_inputs(
    items: pl.DataFrame,
    reference: declared.ValueReference,
    inputs: Callable[[pl.DataFrame], pl.DataFrame],
) -> pl.DataFrame:
    """The declared features of ``items``' consignments beside the entity histories that
    ``inputs`` gives for them (from the history or the kept state: the same columns)."""
    batch = declared.consignment_features(declared.item_features(items), reference)
    names = [c for c in COLUMNS if c not in batch.columns]
    return pl.concat([batch, inputs(batch).select(names)], how="horizontal")


def known_consignments(batch: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """``declared.entity_keys`` of every consignment in ``batch`` or ``history``, once each.

    ``batch`` holds the declared features of the consignments assessed, which include their
    entity keys (the same expressions as ``entity_keys``); only the history's other
    consignments are grouped again (on the scoring benchmark, 1.4 of 3.3 million goods items).
    A consignment in both is taken from ``batch``: a ``declared.KEY`` names one version of one
    consignment, so its goods items are the same in both.
    """
    key = list(declared.KEY)
    columns = [*declared.KEY, "lodged_at", *declared.PARTIES, "main_hs6", "origin_country", "lane"]
    rest = history.filter(~_in_batch(history, batch.select(key)))
    return pl.concat([batch.select(columns), declared.entity_keys(rest).select(columns)])


def _in_batch(history: pl.DataFrame, keys: pl.DataFrame) -> pl.Series:
    """Per row of ``history``, whether its ``declared.KEY`` is one of ``keys``.

    Exact, but several times cheaper than a join on the text ids: rows are matched on a 64-bit
    hash of the key, then the one candidate's id and version compared. Should two of ``keys``
    share a hash (about 3 chances in 10⁸ for a million distinct keys) or one appear twice, the
    plain join decides instead.
    """
    key = list(declared.KEY)
    hashed = pl.struct(key).hash(seed=0x5EED).alias("__key_hash")
    right = keys.select(hashed, *(pl.col(c).alias(f"__batch_{c}") for c in key))
    if right.get_column("__key_hash").n_unique() < right.height:
        marked = keys.unique().with_columns(pl.lit(True).alias("__in_batch"))
        return (
            history.select(key)
            .join(marked, on=key, how="left", maintain_order="left")
            .get_column("__in_batch")
            .fill_null(False)
        )
    same = pl.all_horizontal(pl.col(c) == pl.col(f"__batch_{c}") for c in key).fill_null(False)
    return (
        history.select(*key, hashed)
        .join(right, on="__key_hash", how="left", maintain_order="left")
        .select(same.alias("__in_batch"))
        .to_series()
    )
