"""Route anomalies: where the box went against where the declaration says it would go.

- ``off_route``: the box was handled at a port that is neither its port of loading, a declared
  transshipment port, its port of discharge nor its place of delivery. An extra call is where
  a box can be opened unseen; a carrier's late change of rotation is the usual innocent cause.
- ``rare_route``: the declared route passes a hub that consignments from the same origin
  country to the same port of discharge have (almost) never used before. Traffickers move to
  new routes when the old ones are watched (displacement); the frequencies are counted as of
  each consignment's lodging, over the consignments lodged before it, so the reason says what
  an analyst would have seen that day.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from quaywatch.risk.anomaly.frames import FOUND, KEY, day, route_text

BOX = [*KEY, "container_number"]
#: Earlier consignments a lane needs before a hub can be called rare on it.
MIN_LANE = 100
#: A hub used by fewer than this share of a lane's earlier consignments is rare on it.
RARE_SHARE = 0.01


def off_route(journeys: pl.DataFrame) -> pl.DataFrame:
    """Boxes with events at ports not on their declared route (first such event per port)."""
    off = (
        journeys.filter(pl.col("role") == "off")
        .sort(*BOX, "event_time")
        .group_by(*BOX, "un_locode", maintain_order=True)
        .agg(pl.all().first())
    )
    return off.select(
        *BOX,
        pl.lit("off_route").alias("detector"),
        pl.format("{} at {} ({}), a port not on the declared route {}",
                  "event_code", "un_locode", day("event_time"), route_text()).alias("text"),
        pl.lit(1.0).alias("strength"),
    ).cast(FOUND)  # fmt: skip


def rare_route(boxes: pl.DataFrame, *, at: datetime) -> pl.DataFrame:
    """Consignments whose declared route uses a hub that is rare for their lane, as of lodging.

    ``boxes`` are the consignments' containers (``frames.BOXES``), history included; only
    consignments lodged at or before ``at`` count.
    """
    origin = pl.col("port_of_loading").str.slice(0, 2).alias("origin")
    routes = (
        boxes.filter(pl.col("lodged_at") <= at)
        .sort("version", descending=True)
        .unique(subset="consignment_id", keep="first")
        .sort("lodged_at", "consignment_id")
        .with_columns(origin)
        .with_columns(pl.int_range(pl.len()).over("origin", "port_of_discharge").alias("earlier"))
    )
    hubs = (
        routes.with_columns(pl.col("transshipment_ports").fill_null("").str.split("|").alias("hub"))
        .explode("hub")
        .filter(pl.col("hub") != "")
        .with_columns(
            pl.int_range(pl.len()).over("origin", "port_of_discharge", "hub").alias("via_hub")
        )
    )
    rare = hubs.filter(
        (pl.col("earlier") >= MIN_LANE) & (pl.col("via_hub") < RARE_SHARE * pl.col("earlier"))
    )
    return rare.select(
        *KEY,
        "container_number",
        pl.lit("rare_route").alias("detector"),
        pl.format("route {} through {}: used by {} of {} earlier consignments from {} to {}",
                  route_text(), "hub", "via_hub", "earlier", "origin",
                  "port_of_discharge").alias("text"),
        (1.0 - pl.col("via_hub") / pl.col("earlier")).alias("strength"),
    ).cast(FOUND)  # fmt: skip
