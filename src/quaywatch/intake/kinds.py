"""What differs between the record kinds intake imports, in one table the pipeline reads.

The pipeline (``pipeline.Importer``) and the readers are the same for every kind: read raw
string columns, check them, hash each valid record, look its natural key up, store the new ones
in bulk, quarantine the rest. A ``Kind`` says, for one record kind, which columns it has, how
to check and hash it, which table holds its natural key, and which rows of which tables a valid
record becomes. Adding a kind is adding a module of checks and one entry in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl
from sqlalchemy import Table

from quaywatch.intake import (
    carrier_documents,
    consignments,
    dcsa_ebl,
    events,
    fields as f,
    outcomes,
    shapes,
)
from quaywatch.intake.decode import Obj
from quaywatch.intake.records import RecordKind
from quaywatch.store import tables


class Hashes(Protocol):
    """One row per record (``_run``) with its ``content_sha256``; ``legacy``: in the encoding
    of hashes stored before ``fields.encoded`` (see ``pipeline``)."""

    def __call__(self, valid: pl.DataFrame, *, legacy: bool = False) -> pl.DataFrame: ...


@dataclass(frozen=True, slots=True)
class Kind:
    """How intake reads, checks and stores one record kind.

    ``multi_row``: in a flat file a record is every row sharing ``keys`` (a consignment's goods
    items), wherever they are in the file (``pipeline`` gathers them). ``needs_consignment``:
    a record refers to a stored consignment and is quarantined if that consignment is unknown.
    ``shape``: the JSON shape ``flatten`` reads (``shapes``); a JSON record not of it is
    quarantined by the reader with the field named, so ``flatten`` never sees one.
    ``validate`` holds times and amounts to the ``Plausible`` ranges it is given; where it
    adds a ``_skip`` column, a valid row with a value there is acknowledged (counted as
    skipped under that name) and not stored. ``also_keyed``: other tables that hold records of
    this kind by the same key (a key names one record in all of them).
    ``revisions``: where a record is identified by its content (a carrier document), the
    columns naming what it is a revision of; the pipeline numbers ``revision`` when storing.
    """

    columns: list[str]
    required_columns: list[str]
    shape: Obj
    flatten: Callable[[dict[str, Any]], list[dict[str, Any]]]
    validate: Callable[[pl.DataFrame, f.Plausible], pl.DataFrame]
    content_hashes: Hashes
    rows: Callable[[pl.DataFrame], dict[Table, pl.DataFrame]]
    table: Table
    keys: list[str]
    conflict_field: str
    conflict_reason: str
    multi_row: bool = False
    needs_consignment: bool = False
    revisions: tuple[str, ...] = ()
    also_keyed: tuple[Table, ...] = ()


def _columns(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def consignment_rows(rows: pl.DataFrame) -> dict[Table, pl.DataFrame]:
    """The rows of every consignment table, each with ``_run``, in foreign-key order."""
    # Where every consignment has one goods item, each is one row already: nothing to dedupe.
    single = rows.select(pl.col("_run").n_unique()).item() == rows.height
    boxes = (
        rows
        if single
        else rows.unique(["_run", "container_number"], keep="first", maintain_order=True)
    )
    heads = rows if single else rows.unique("_run", keep="first", maintain_order=True)
    return {
        tables.consignments: heads.select("_run", *_columns(tables.consignments)),
        tables.goods_items: rows.rename({"item_sequence": "sequence"}).select(
            "_run", *_columns(tables.goods_items)
        ),
        tables.containers: boxes.select(
            "_run",
            "consignment_id",
            "version",
            "container_number",
            pl.col("container_size_type").alias("size_type"),
            pl.col("container_status").alias("status"),
        ),  # fmt: skip
        tables.seals: seals(boxes, ["_run", "consignment_id", "version", "container_number"]),
    }


def event_rows(rows: pl.DataFrame) -> dict[Table, pl.DataFrame]:
    """A movement's event row and its seals; an IoT or reefer event's ``sensor_events`` row."""
    sensor = rows.select(pl.col("event_type").is_in(events.SENSOR_TYPES)).to_series()
    if not sensor.any():
        moves, sensors = rows, None
    else:
        moves, sensors = rows.filter(~sensor), rows.filter(sensor)
    found = {
        tables.events: moves.select("_run", *_columns(tables.events)),
        tables.event_seals: seals(moves, ["_run", "event_id"]),
    }
    if sensors is not None:
        found[tables.sensor_events] = sensors.select("_run", *_columns(tables.sensor_events))
    return found


def outcome_rows(rows: pl.DataFrame) -> dict[Table, pl.DataFrame]:
    """One ``control_outcomes`` row per outcome; a seizure is part of its control's row."""
    return {tables.control_outcomes: rows.select("_run", *_columns(tables.control_outcomes))}


def seals(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Explode ``SOURCE:TYPE:NUMBER|...`` into one seal row per seal."""
    parts = (
        frame.select(*keys, pl.col("seals").str.split(f.LIST_SEP))
        .explode("seals")
        .filter(pl.col("seals").is_not_null())
        .with_columns(pl.col("seals").str.splitn(":", 3).alias("_s"))
    )
    return parts.select(
        *keys,
        pl.col("_s").struct.field("field_2").alias("seal_number"),
        pl.col("_s").struct.field("field_0").alias("source"),
        pl.col("_s").struct.field("field_1").alias("type"),
    ).unique([*keys, "seal_number"], keep="first", maintain_order=True)


KINDS: dict[RecordKind, Kind] = {
    RecordKind.CONSIGNMENTS: Kind(
        columns=consignments.COLUMNS,
        required_columns=consignments.REQUIRED_COLUMNS,
        shape=shapes.CONSIGNMENT,
        flatten=consignments.flatten,
        validate=consignments.validate,
        content_hashes=consignments.content_hashes,
        rows=consignment_rows,
        table=tables.consignments,
        keys=["consignment_id", "version"],
        conflict_field="version",
        conflict_reason="already stored with different content; an amendment needs a new version",
        multi_row=True,
    ),
    RecordKind.EVENTS: Kind(
        columns=events.COLUMNS,
        required_columns=events.REQUIRED_COLUMNS,
        shape=shapes.EVENT,
        flatten=lambda record: [events.flatten(record)],
        validate=events.validate,
        content_hashes=events.content_hashes,
        rows=event_rows,
        table=tables.events,
        keys=["event_id"],
        conflict_field="event_id",
        conflict_reason="an event with this id is already stored with different content",
        also_keyed=(tables.sensor_events,),
    ),
    RecordKind.OUTCOMES: Kind(
        columns=outcomes.COLUMNS,
        required_columns=outcomes.REQUIRED_COLUMNS,
        shape=shapes.OUTCOME,
        flatten=outcomes.flatten,
        validate=outcomes.validate,
        content_hashes=outcomes.content_hashes,
        rows=outcome_rows,
        table=tables.control_outcomes,
        keys=["control_id"],
        conflict_field="control_id",
        conflict_reason=(
            "a control with this id is already stored with a different outcome; "
            "a corrected outcome needs a new control id"
        ),
        needs_consignment=True,
    ),
    RecordKind.DOCUMENTS: Kind(
        columns=carrier_documents.COLUMNS,
        required_columns=carrier_documents.REQUIRED_COLUMNS,
        shape=dcsa_ebl.SHAPE,
        flatten=dcsa_ebl.flatten,
        validate=carrier_documents.validate,
        content_hashes=carrier_documents.content_hashes,
        rows=carrier_documents.rows,
        table=tables.carrier_documents,
        keys=["document_id"],
        # never given: a document is its content, other content is a new revision
        conflict_field="reference",
        conflict_reason="already stored with different content",
        multi_row=True,
        revisions=("document_kind", "reference"),
    ),
}
