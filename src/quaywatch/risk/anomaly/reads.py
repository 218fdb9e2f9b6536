"""What the anomaly detectors read from the store, and which consignments need a new look.

``events`` and ``boxes`` return the two frames of ``frames`` (the same queries on SQLite and
PostgreSQL; times come back timezone-aware UTC). ``stale`` answers the re-assessment question:
which consignments have container events that arrived after their latest assessment, so that
a scoring run assesses them again with what the events now say.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import func, or_, select

from quaywatch.risk.anomaly.frames import BOXES, EVENTS, SEAL
from quaywatch.store import tables
from quaywatch.store.reads import frame
from quaywatch.store.store import Store

#: The customs events quaywatch emits itself (selected for scan, for inspection, released):
#: decisions about a container, not news of its journey, so they neither feed the detectors
#: nor make a consignment due for re-assessment.
OWN_EVENTS = ("CUSS", "CUSI", "CUSR")


def events(store: Store) -> pl.DataFrame:
    """Every stored container event with its seals (``frames.EVENTS``), but ``OWN_EVENTS``."""
    e, s = tables.events, tables.event_seals
    names = [n for n in EVENTS.names() if n != "seals"]
    query = select(*(e.c[n] for n in names)).where(e.c.event_code.not_in(OWN_EVENTS))
    rows = frame(store, query, {n: EVENTS[n] for n in names})
    seals = frame(
        store,
        select(s.c.event_id, s.c.seal_number, s.c.source),
        {"event_id": pl.String(), "seal_number": pl.String(), "source": pl.String()},
    )
    lists = seals.group_by("event_id").agg(
        pl.struct("seal_number", "source").sort_by("seal_number").alias("seals")
    )
    return (
        rows.join(lists, on="event_id", how="left")
        .with_columns(pl.col("seals").fill_null(pl.lit([], pl.List(SEAL))))
        .select(EVENTS.names())
        .cast(EVENTS)
    )


def boxes(store: Store) -> pl.DataFrame:
    """Every container of every stored consignment version, with route and declared seals."""
    c, k, s = tables.consignments, tables.containers, tables.seals
    header = ["transport_document", "lodged_at", "eta", "port_of_loading",
              "transshipment_ports", "port_of_discharge", "place_of_delivery"]  # fmt: skip
    query = select(k.c.consignment_id, k.c.version, k.c.container_number,
                   *(c.c[n] for n in header)).join_from(
        k, c, (k.c.consignment_id == c.c.consignment_id) & (k.c.version == c.c.version)
    )  # fmt: skip
    schema = {n: dtype for n, dtype in BOXES.items() if n != "declared_seals"}
    rows = frame(store, query, schema)
    declared = frame(
        store,
        select(s.c.consignment_id, s.c.version, s.c.container_number, s.c.seal_number),
        {
            "consignment_id": pl.String(),
            "version": pl.Int64(),
            "container_number": pl.String(),
            "seal_number": pl.String(),
        },  # fmt: skip
    )
    box = ["consignment_id", "version", "container_number"]
    lists = declared.group_by(box).agg(pl.col("seal_number").sort().alias("declared_seals"))
    return (
        rows.join(lists, on=box, how="left")
        .with_columns(pl.col("declared_seals").fill_null(pl.lit([], pl.List(pl.String))))
        .select(BOXES.names())
        .cast(BOXES)
    )


def stale(store: Store) -> pl.DataFrame:
    """``consignment_id``, ``version`` of assessed consignments whose containers received
    events after the consignment's latest assessment (``assessed_at``).

    An event counts for a consignment when it names one of its containers and either its
    transport document or none, and is not one of ``OWN_EVENTS``. One query on either backend.
    """
    a, c, k, e = tables.assessments, tables.consignments, tables.containers, tables.events
    latest = (
        select(a.c.consignment_id, a.c.version, func.max(a.c.assessed_at).label("assessed_at"))
        .group_by(a.c.consignment_id, a.c.version)
        .subquery("latest")
    )
    same = (latest.c.consignment_id == k.c.consignment_id) & (latest.c.version == k.c.version)
    query = (
        select(latest.c.consignment_id, latest.c.version)
        .select_from(latest)
        .join(k, same)
        .join(c, (c.c.consignment_id == k.c.consignment_id) & (c.c.version == k.c.version))
        .join(
            e,
            (e.c.container_number == k.c.container_number)
            & or_(
                e.c.transport_document == c.c.transport_document, e.c.transport_document.is_(None)
            )  # fmt: skip
            & (e.c.received_at > latest.c.assessed_at)
            & e.c.event_code.not_in(OWN_EVENTS),
        )
        .distinct()
        .order_by(latest.c.consignment_id, latest.c.version)
    )
    return frame(store, query, {"consignment_id": pl.String(), "version": pl.Int64()})
