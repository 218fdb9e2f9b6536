"""The two frames the anomaly detectors read, and the journey that joins them.

``events``: one row per container event, as stored (``store.tables.events``) with its seals as
a list: ``event_id``, ``event_code`` (DCSA: GTIN, LOAD, DISC, STRP, STUF, RSEA, GTOT, ...),
``event_time``, ``created_time``, ``received_at``, ``known_at``, ``un_locode``, ``facility_type``,
``container_number``, ``transport_document``, ``is_transshipment`` and ``seals``, a list of
``{seal_number, source}`` (source CAR, SHI, PHY, VET or CUS).

``boxes``: one row per container of a consignment, with what the declaration says about its
journey: ``consignment_id``, ``version``, ``transport_document``, ``lodged_at``, ``eta``,
``port_of_loading``, ``transshipment_ports`` ("SGSIN|MAPTM" or null), ``port_of_discharge``,
``place_of_delivery`` and ``declared_seals`` (the seal numbers declared for the container).

An event is *known* at a moment when it was known to quaywatch then (``known_at``: when it was
received, unless its import chose its creation time for a backtest, ``intake.pipeline``) and
the carrier had created it (``created_time``): a feed replayed in bulk is received after the
fact, and the creation time keeps such a replay from showing an assessment events of its
future. ``received_at`` stays the record of arrival; no as-of read uses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

SEAL = pl.Struct({"seal_number": pl.String(), "source": pl.String()})
EVENTS = pl.Schema(
    {
        "event_id": pl.String(),
        "event_code": pl.String(),
        "event_time": pl.Datetime("us", "UTC"),
        "created_time": pl.Datetime("us", "UTC"),
        "received_at": pl.Datetime("us", "UTC"),
        "known_at": pl.Datetime("us", "UTC"),
        "un_locode": pl.String(),
        "facility_type": pl.String(),
        "container_number": pl.String(),
        "transport_document": pl.String(),
        "is_transshipment": pl.Boolean(),
        "seals": pl.List(SEAL),
    }
)
BOXES = pl.Schema(
    {
        "consignment_id": pl.String(),
        "version": pl.Int64(),
        "transport_document": pl.String(),
        "lodged_at": pl.Datetime("us", "UTC"),
        "eta": pl.Datetime("us", "UTC"),
        "port_of_loading": pl.String(),
        "transshipment_ports": pl.String(),
        "port_of_discharge": pl.String(),
        "place_of_delivery": pl.String(),
        "container_number": pl.String(),
        "declared_seals": pl.List(pl.String()),
    }
)
KEY = ("consignment_id", "version")
#: How far each box is reference traffic at the assessment (``features.reference``): one row
#: per container of a consignment, with what links events to it and the consignment's weight.
REFERENCE = pl.Schema(
    {
        "consignment_id": pl.String(),
        "container_number": pl.String(),
        "transport_document": pl.String(),
        "lodged_at": pl.Datetime("us", "UTC"),
        "eta": pl.Datetime("us", "UTC"),
        "weight": pl.Float64(),
    }
)
#: How far around a consignment's lodging and ETA an event without a transport document is
#: taken to be about it: boxes are reused, so a container number alone is not enough.
BEFORE_LODGING = timedelta(days=14)
AFTER_ETA = timedelta(days=45)


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``schema``, in order and type (extra ones dropped)."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks the columns {missing}")
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def known(events: pl.DataFrame, at: datetime) -> pl.DataFrame:
    """The events known at ``at`` (timezone-aware): known and created at or before it."""
    if at.tzinfo is None:
        raise ValueError("the assessment time must be timezone-aware")
    return events.filter((pl.col("known_at") <= at) & (pl.col("created_time") <= at))


def route_places() -> pl.Expr:
    """The declared route of a box as a list: loading port, hubs, discharge port."""
    hubs = (
        pl.col("transshipment_ports")
        .fill_null("")
        .str.split("|")
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    return pl.concat_list(pl.col("port_of_loading"), hubs, pl.col("port_of_discharge"))


def route_text() -> pl.Expr:
    """The declared route as an officer reads it: ``COBUN → PAMIT → BEANR``."""
    return route_places().list.join(" → ")


def journeys(events: pl.DataFrame, boxes: pl.DataFrame) -> pl.DataFrame:
    """Each event of ``events`` with the consignment box it belongs to, sorted in time.

    An event names its container and, usually, its transport document; both must match the
    box. An event without a document is taken for the box of that container whose lodging
    and ETA frame it (``BEFORE_LODGING``, ``AFTER_ETA``). Adds ``role`` per event: ``pol``,
    ``hub`` (a declared transshipment port), ``pod`` (discharge port or place of delivery) or
    ``off`` (not on the declared route).
    """
    with_document = events.filter(pl.col("transport_document").is_not_null()).join(
        boxes, on=["container_number", "transport_document"], how="inner"
    )
    bare = events.filter(pl.col("transport_document").is_null()).drop("transport_document")
    without_document = bare.join(boxes, on="container_number", how="inner").filter(
        pl.col("event_time").is_between(
            pl.col("lodged_at") - BEFORE_LODGING, pl.col("eta") + AFTER_ETA
        )
    )
    joined = pl.concat([with_document, without_document.select(with_document.columns)])
    place = pl.col("un_locode")
    hubs = pl.col("transshipment_ports").fill_null("").str.split("|")
    role = (
        pl.when(place == pl.col("port_of_loading"))
        .then(pl.lit("pol"))
        .when(hubs.list.contains(place))
        .then(pl.lit("hub"))
        .when((place == pl.col("port_of_discharge")) | (place == pl.col("place_of_delivery")))
        .then(pl.lit("pod"))
        .otherwise(pl.lit("off"))
    )
    return joined.with_columns(role.alias("role")).sort(
        *KEY, "container_number", "event_time", "event_id"
    )


def day(column: str) -> pl.Expr:
    """A timestamp column as a short date an officer reads: ``12 Oct``."""
    return pl.col(column).dt.strftime("%-d %b")


#: What every detector returns: one row per finding on a container (several per container
#: are fine; the strongest of a consignment is kept per detector).
FOUND = pl.Schema(
    {
        "consignment_id": pl.String,
        "version": pl.Int64,
        "container_number": pl.String,
        "detector": pl.String,
        "text": pl.String,
        "strength": pl.Float64,
        # The text's message (``risk.wording.worded``): a page shows it in its reader's language.
        "said": pl.String,
    }
)


def nothing_found() -> pl.DataFrame:
    """A detector's result with no rows."""
    return FOUND.to_frame()
