"""Route anomalies: where the box went against where the declaration says it would go.

- ``off_route``: the box was handled at a port that is neither its port of loading, a declared
  transshipment port, its port of discharge nor its place of delivery. An extra call is where
  a box can be opened unseen; a carrier's late change of rotation is the usual innocent cause.
- ``rare_route``: the declared route passes a hub that consignments from the same origin
  country to the same port of discharge have (almost) never used before. Traffickers move to
  new routes when the old ones are watched (displacement); the frequencies are counted as of
  each consignment's lodging, over the consignments lodged before it, so the reason says what
  an analyst would have seen that day.

  Whether a hub is usual for a lane is learnt from **reference traffic** only
  (``features.reference``): each earlier consignment counts with its weight at the assessment
  (a suspect 0, a newcomer's 0.1, others 1), so traffic under suspicion cannot make its own
  route usual by repeating it. A consignment the weights do not name (a scoring run's weights
  are those of the start of its day: one lodged since is not in them) counts as a newcomer's,
  not as ordinary traffic: otherwise a same-day burst on a new hub, from a newcomer or from a
  trader with a recorded hit, would count fully and make the hub usual for its own later
  consignments. Whether the lane has history enough to be judged counts every earlier
  consignment: suspicious traffic gives a lane history but never a usual hub. The
  share is not shrunk toward the port-wide use of the hub: a hub common on other lanes
  (a Mediterranean hub for Asian cargo) is still new for a lane that never used it, which is
  what displacement looks like.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from quaywatch.features.reference import NEWCOMER
from quaywatch.risk.anomaly.frames import FOUND, KEY, day, route_text
from quaywatch.risk.wording import worded

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
        pl.lit(1.0).alias("strength"),
        *worded("%(event)s at %(port)s (%(day)s), a port not on the declared route %(route)s",
                event="event_code", port="un_locode", day=day("event_time"),
                route=route_text()).columns(),
    ).cast(FOUND)  # fmt: skip


def rare_route(
    boxes: pl.DataFrame, *, at: datetime, weights: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Consignments whose declared route uses a hub that is rare for their lane, as of lodging.

    ``boxes`` are the consignments' containers (``frames.BOXES``), history included; only
    consignments lodged at or before ``at`` count. ``weights`` (``consignment_id``,
    ``weight``) says how far each is reference traffic at ``at``; without it the weight is 1,
    and a consignment it does not name weighs a newcomer's (``features.reference.NEWCOMER``).
    """
    origin = pl.col("port_of_loading").str.slice(0, 2).alias("origin")
    lane = ["origin", "port_of_discharge"]
    routes = (
        boxes.filter(pl.col("lodged_at") <= at)
        .sort("version", descending=True)
        .unique(subset="consignment_id", keep="first")
        .sort("lodged_at", "consignment_id")
        .with_columns(origin)
    )
    if weights is None:
        routes = routes.with_columns(pl.lit(1.0).alias("weight"))
    else:
        routes = routes.join(
            weights.select("consignment_id", "weight"), on="consignment_id", how="left",
            maintain_order="left",
        ).with_columns(pl.col("weight").fill_null(NEWCOMER))  # fmt: skip
    before = pl.col("weight").cum_sum() - pl.col("weight")  # earlier ones, weighted
    routes = routes.with_columns(
        pl.int_range(pl.len()).over(lane).alias("earlier"),
        before.over(lane).alias("earlier_reference"),
    )
    hubs = (
        routes.with_columns(pl.col("transshipment_ports").fill_null("").str.split("|").alias("hub"))
        .explode("hub")
        .filter(pl.col("hub") != "")
        .with_columns(
            pl.int_range(pl.len()).over(*lane, "hub").alias("via_hub"),
            before.over(*lane, "hub").alias("via_reference"),
        )
    )
    # Weighted sums of 0.1s are not exact: compare with a margin far below any one weight.
    share = pl.col("via_reference") / pl.col("earlier_reference")
    # A lane whose earlier traffic is all under suspicion has no usual hub at all.
    seldom = pl.col("via_reference") < RARE_SHARE * pl.col("earlier_reference") - 1e-9
    rare = hubs.filter(
        (pl.col("earlier") >= MIN_LANE) & (seldom | (pl.col("earlier_reference") < 1e-9))
    )
    percent = (100 * share).fill_nan(0.0).round(1)
    return rare.select(
        *KEY,
        "container_number",
        pl.lit("rare_route").alias("detector"),
        (1.0 - share.fill_nan(0.0)).alias("strength"),
        *worded("route %(route)s through %(hub)s: used by %(via)s of %(earlier)s earlier "
                "consignments from %(origin)s to %(destination)s (%(percent)s %% of the reference "
                "traffic on that lane)", route=route_text(), hub="hub", via="via_hub",
                earlier="earlier", origin="origin", destination="port_of_discharge",
                percent=percent).columns(),
    ).cast(FOUND)  # fmt: skip
