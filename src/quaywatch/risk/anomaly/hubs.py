"""Hub anomalies: a box opened at a transshipment hub, or kept there far longer than usual.

A transshipped box is discharged from one ship and loaded on the next; nobody plans to open it
on the way. Stripping and stuffing it again at a depot of the hub (STRP, STUF) is how cargo is
taken out of or put into a box in transit, and a long wait at the hub is the time that takes.
Both happen legitimately too (a consolidation, a missed connection), which is why they are
reasons, not verdicts.

The usual dwell is learnt per hub from history, as of the assessment: the completed
transshipment calls (a DISC and the next LOAD of the same box at that place, both known) give
a median and a 95th percentile per hub. A dwell counts as abnormal above
``median + SPREADS × (p95 − median)``: a robust scale that follows each hub's own rhythm.
A hub with fewer than ``MIN_CALLS`` known calls uses the figures of all hubs together.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from quaywatch.risk.anomaly.frames import FOUND, day

BOX = ["consignment_id", "version", "container_number"]
DAY_US = 86_400_000_000
#: How many (p95 − median) spreads above the median a dwell must be to count as abnormal.
SPREADS = 2.0
#: Known transshipment calls a hub needs before its own figures are trusted.
MIN_CALLS = 30
#: Codes of a box opened and packed again.
OPENED = ("STRP", "STUF")


def restuffed(journeys: pl.DataFrame) -> pl.DataFrame:
    """Boxes stripped or stuffed at a place other than their loading and discharge ports."""
    found = (
        journeys.filter(pl.col("event_code").is_in(OPENED) & pl.col("role").is_in(["hub", "off"]))
        .group_by(*BOX, "un_locode")
        .agg(
            pl.col("event_time").min().alias("first"),
            pl.col("event_code").unique().sort().alias("codes"),
            pl.col("facility_type").drop_nulls().first().alias("facility"),
        )
    )
    what = (
        pl.when(pl.col("codes").list.len() == 2)
        .then(pl.lit("stripped and stuffed again"))
        .when(pl.col("codes").list.first() == "STRP")
        .then(pl.lit("stripped"))
        .otherwise(pl.lit("stuffed"))
    )
    place = pl.when(pl.col("facility") == "DEPO").then(pl.lit(" depot")).otherwise(pl.lit(""))
    return found.select(
        *BOX,
        pl.lit("hub_restuffed").alias("detector"),
        pl.format("{} at a{} in {} ({}) while in transit, not a planned operation",
                  what, place, "un_locode", day("first")).alias("text"),
        pl.col("codes").list.len().cast(pl.Float64).alias("strength"),
    ).cast(FOUND)  # fmt: skip


def _calls(frame: pl.DataFrame, group: list[str]) -> pl.DataFrame:
    """Per ``group`` (a box at a place): first DISC there and the first LOAD after it."""
    time, code = pl.col("event_time"), pl.col("event_code")
    disc = time.filter(code == "DISC").min()
    return frame.group_by(group).agg(
        disc.alias("disc"),
        time.filter((code == "LOAD") & (time > disc)).min().alias("load"),
    )


def baseline(events: pl.DataFrame) -> pl.DataFrame:
    """Usual dwell per hub from the known transshipment calls: ``un_locode``, ``calls``,
    ``median_days``, ``p95_days``; a row with ``un_locode`` null holds all hubs together."""
    moves = events.filter(pl.col("is_transshipment")).with_columns(
        pl.col("transport_document").fill_null("")
    )
    calls = _calls(moves, ["container_number", "transport_document", "un_locode"]).filter(
        pl.col("load").is_not_null()
    )
    days = ((pl.col("load") - pl.col("disc")).dt.total_microseconds() / DAY_US).alias("days")
    calls = calls.with_columns(days)
    figures = [
        pl.len().alias("calls"),
        pl.col("days").median().alias("median_days"),
        pl.col("days").quantile(0.95, "linear").alias("p95_days"),
    ]
    per_hub = calls.group_by("un_locode").agg(figures)
    overall = calls.select(pl.lit(None, pl.String).alias("un_locode"), *figures)
    return pl.concat([per_hub, overall]).with_columns(pl.col("calls").cast(pl.Int64))


def dwell(journeys: pl.DataFrame, usual: pl.DataFrame, *, at: datetime) -> pl.DataFrame:
    """Boxes that waited at a hub (or an off-route port) far longer than usual there.

    A box still at the hub at ``at`` (discharged, not yet loaded, nothing seen since) counts
    with the time it has waited so far.
    """
    transit = journeys.filter(pl.col("role").is_in(["hub", "off"]))
    calls = _calls(transit, [*BOX, "un_locode"]).filter(pl.col("disc").is_not_null())
    later = journeys.group_by(BOX).agg(pl.col("event_time").max().alias("last_seen"))
    overall = usual.filter(pl.col("un_locode").is_null()).drop("un_locode")
    if overall.is_empty() or overall["calls"][0] == 0:
        return FOUND.to_frame()
    hubs = usual.filter(pl.col("un_locode").is_not_null() & (pl.col("calls") >= MIN_CALLS))
    calls = (
        calls.join(later, on=BOX, how="left")
        .join(hubs, on="un_locode", how="left")
        .with_columns(
            pl.col(c).fill_null(overall[c][0]) for c in ("median_days", "p95_days", "calls")
        )
    )
    waiting = pl.col("load").is_null() & (pl.col("last_seen") <= pl.col("disc"))
    end = pl.when(waiting).then(pl.lit(at)).otherwise(pl.col("load"))
    days = (end - pl.col("disc")).dt.total_microseconds() / DAY_US
    limit = pl.col("median_days") + SPREADS * (pl.col("p95_days") - pl.col("median_days"))
    found = calls.with_columns(days.alias("days"), waiting.alias("waiting")).filter(
        pl.col("days").is_not_null() & (pl.col("days") > limit)
    )
    usual_text = pl.format(
        "usual {} days (95th pct {})",
        pl.col("median_days").round(1), pl.col("p95_days").round(1),
    )  # fmt: skip
    text = (
        pl.when(pl.col("waiting"))
        .then(pl.format("has waited {} days at {} since {}, {}", pl.col("days").round(1),
                        "un_locode", day("disc"), usual_text))
        .otherwise(pl.format("waited {} days at {} ({} to {}), {}", pl.col("days").round(1),
                             "un_locode", day("disc"), day("load"), usual_text))
    )  # fmt: skip
    return found.select(
        *BOX,
        pl.lit("hub_dwell").alias("detector"),
        text.alias("text"),
        (pl.col("days") / pl.col("p95_days")).alias("strength"),
    ).cast(FOUND)
