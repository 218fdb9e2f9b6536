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
from quaywatch.risk.anomaly.frames import BOXES, FOUND, KEY, day, route_text
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
    boxes: pl.DataFrame,
    *,
    at: datetime,
    weights: pl.DataFrame | None = None,
    history: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Consignments whose declared route uses a hub that is rare for their lane, as of lodging.

    ``boxes`` are the consignments' containers (``frames.BOXES``), history included; only
    consignments lodged at or before ``at`` count. ``weights`` (``consignment_id``,
    ``weight``) says how far each is reference traffic at ``at``; without it the weight is 1,
    and a consignment it does not name weighs a newcomer's (``features.reference.NEWCOMER``).

    ``history`` (``frames.BOXES`` with ``weight``; ``weights`` is then not needed) is the
    earlier traffic instead, learnt apart (a live run's lanes as of the start of its day,
    ``daily``): each consignment of ``boxes`` is judged against it alone, as if it were the
    only one looked at, and none of ``boxes`` counts for another. A consignment of ``boxes``
    that ``history`` holds too (an older version, or the same) does not count for itself.
    """
    judged = _routes(boxes, at).with_columns(
        pl.lit(True).alias("judged"), pl.lit(0.0).alias("counted")
    )
    if history is None:
        judged = _weighed(judged, weights).with_columns(pl.lit(1.0).alias("counted"))
        routes = judged
    else:
        past = _routes(history, at).with_columns(
            pl.lit(False).alias("judged"), pl.lit(1.0).alias("counted")
        )
        judged = judged.with_columns(pl.lit(NEWCOMER).alias("weight"))
        routes = pl.concat([judged, past.select(judged.columns)])
    # Judged first on a tie: a consignment's own kept copy never counts as earlier than it.
    routes = routes.sort("lodged_at", "consignment_id", "judged", descending=[False, False, True])
    earlier = _earlier
    routes = routes.with_columns(
        earlier(pl.lit(1.0)).over(LANE).alias("earlier"),
        earlier(pl.col("weight")).over(LANE).alias("earlier_reference"),
    )
    hubs = (
        routes.with_columns(pl.col("transshipment_ports").fill_null("").str.split("|").alias("hub"))
        .explode("hub")
        .filter(pl.col("hub") != "")
        .with_columns(
            earlier(pl.lit(1.0)).over(*LANE, "hub").alias("via_hub"),
            earlier(pl.col("weight")).over(*LANE, "hub").alias("via_reference"),
        )
        .filter(pl.col("judged"))
    )
    if history is not None:
        hubs = _less_own(hubs, routes.filter(~pl.col("judged")))
    hubs = hubs.with_columns(pl.col("earlier", "via_hub").round(0).cast(pl.Int64))
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


LANE = ["origin", "port_of_discharge"]


def _earlier(value: pl.Expr) -> pl.Expr:
    """The sum of ``value`` over the rows before this one that count (``counted``)."""
    counted = value * pl.col("counted")
    return counted.cum_sum() - counted


def _routes(boxes: pl.DataFrame, at: datetime) -> pl.DataFrame:
    """One row per consignment lodged by ``at``: a container of its newest version by then,
    with its lane's ``origin`` (the country of its port of loading)."""
    return (
        boxes.filter(pl.col("lodged_at") <= at)
        .sort("version", descending=True)
        .unique(subset="consignment_id", keep="first")
        .with_columns(pl.col("port_of_loading").str.slice(0, 2).alias("origin"))
        .select(*BOXES.names(), "origin", *(["weight"] if "weight" in boxes.columns else []))
    )


def _weighed(routes: pl.DataFrame, weights: pl.DataFrame | None) -> pl.DataFrame:
    """``routes`` with each consignment's ``weight`` (1 without ``weights``)."""
    if weights is None:
        return routes.with_columns(pl.lit(1.0).alias("weight"))
    return routes.join(
        weights.select("consignment_id", "weight"), on="consignment_id", how="left"
    ).with_columns(pl.col("weight").fill_null(NEWCOMER))


def _less_own(hubs: pl.DataFrame, past: pl.DataFrame) -> pl.DataFrame:
    """``hubs`` (judged rows, one per hub of each route) without what the consignment's own
    kept copy added to its counts: an older version lodged before it on the same lane, and
    through the same hub."""
    own = past.select(
        "consignment_id",
        pl.col("lodged_at").alias("own_lodged"),
        pl.col("origin").alias("own_origin"),
        pl.col("port_of_discharge").alias("own_discharge"),
        pl.col("transshipment_ports").fill_null("").str.split("|").alias("own_hubs"),
        pl.col("weight").alias("own_weight"),
    )
    joined = hubs.join(own, on="consignment_id", how="left")
    lane = (
        (pl.col("own_lodged") < pl.col("lodged_at"))
        & (pl.col("own_origin") == pl.col("origin"))
        & (pl.col("own_discharge") == pl.col("port_of_discharge"))
    ).fill_null(False)
    via = (lane & pl.col("own_hubs").list.contains(pl.col("hub"))).fill_null(False)
    one, weight = pl.lit(1.0), pl.col("own_weight")
    return joined.with_columns(
        (pl.col("earlier") - pl.when(lane).then(one).otherwise(0.0)),
        (pl.col("earlier_reference") - pl.when(lane).then(weight).otherwise(0.0)),
        (pl.col("via_hub") - pl.when(via).then(one).otherwise(0.0)),
        (pl.col("via_reference") - pl.when(via).then(weight).otherwise(0.0)),
    ).drop("own_lodged", "own_origin", "own_discharge", "own_hubs", "own_weight")
