"""Timing anomalies: a box handled before it was declared, or leaving without arriving.

- ``seen_before_lodging``: the box was loaded at its port of loading, or handled anywhere
  after it, before the declaration was lodged. Pre-loading rules require the entry summary
  before loading; a box already on its way when its declaration appears is one whose papers
  were fitted to it afterwards, the rip-on pattern of a load added to someone else's box.
  Gating in at the port of loading before lodging is ordinary (boxes wait at the terminal for
  their papers) and is not counted.
- ``gate_out_no_discharge``: the box gated out at the port of discharge (or its place of
  delivery) with no discharge known there before: the rip-off pattern of a box or its load
  taken out of the terminal by a route the terminal did not record. A feed that lost the DISC
  event is the innocent look-alike.
"""

from __future__ import annotations

import polars as pl

from quaywatch.risk.anomaly.frames import FOUND, KEY, day
from quaywatch.risk.wording import worded

BOX = [*KEY, "container_number"]


def seen_before_lodging(journeys: pl.DataFrame) -> pl.DataFrame:
    """Boxes loaded, or handled past their port of loading, before the declaration was lodged."""
    early = journeys.filter(
        (pl.col("event_time") < pl.col("lodged_at"))
        & ((pl.col("role") != "pol") | (pl.col("event_code") == "LOAD"))
    )
    first = early.sort(*BOX, "event_time").group_by(BOX, maintain_order=True).agg(pl.all().first())
    hours = (pl.col("lodged_at") - pl.col("event_time")).dt.total_minutes() / 60
    return first.select(
        *BOX,
        pl.lit("seen_before_lodging").alias("detector"),
        hours.alias("strength"),
        *worded("%(event)s at %(port)s (%(day)s), %(hours)s hours before the declaration was "
                "lodged (%(lodged)s)", event="event_code", port="un_locode",
                day=day("event_time"), hours=hours.round(0).cast(pl.Int64),
                lodged=day("lodged_at")).columns(),
    ).cast(FOUND)  # fmt: skip


def gate_out_no_discharge(journeys: pl.DataFrame) -> pl.DataFrame:
    """Boxes gated out at destination with no discharge at the port of discharge before it."""
    time, code = pl.col("event_time"), pl.col("event_code")
    at_pod = journeys.filter(pl.col("role") == "pod")
    per_box = at_pod.group_by(BOX).agg(
        time.filter(code == "GTOT").min().alias("gate_out"),
        time.filter(code == "DISC").min().alias("discharged"),
        pl.col("un_locode").filter(code == "GTOT").first().alias("place"),
    )
    found = per_box.filter(
        pl.col("gate_out").is_not_null()
        & (pl.col("discharged").is_null() | (pl.col("discharged") > pl.col("gate_out")))
    )
    return found.select(
        *BOX,
        pl.lit("gate_out_no_discharge").alias("detector"),
        pl.lit(1.0).alias("strength"),
        *worded("gated out at %(port)s (%(day)s) with no discharge recorded there before",
                port="place", day=day("gate_out")).columns(),
    ).cast(FOUND)  # fmt: skip
