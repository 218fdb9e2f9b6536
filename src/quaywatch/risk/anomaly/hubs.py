"""Hub anomalies: a box opened at a transshipment hub, or kept there far longer than usual.

A transshipped box is discharged from one ship and loaded on the next; nobody plans to open it
on the way. Stripping and stuffing it again at a depot of the hub (STRP, STUF) is how cargo is
taken out of or put into a box in transit, and a long wait at the hub is the time that takes.
Both happen legitimately too (a consolidation, a missed connection), which is why they are
reasons, not verdicts.

The usual dwell is learnt per hub from history, as of the assessment, and from **reference
traffic** only (``features.reference``): the completed transshipment calls (a DISC and the
next LOAD of the same box at that place, both known), each weighted by its consignment's
standing at the assessment (a suspect box counts 0, a newcomer's 0.1, others 1), give a
weighted median and 95th percentile per hub and for all hubs together (the port-wide
reference). A box whose standing is unknown (declared nowhere here, or lodged after the
weights were computed: a scoring run's are those of the start of its day) counts as a
newcomer's: unknown traffic is not reference traffic, so a same-day burst of boxes weighs a
tenth of ordinary traffic and does not set a hub's normal. A hub's figures are shrunk toward the
port-wide ones by how much reference traffic it has, not how many boxes:
``hub × w / (w + PRIOR_CALLS) + port-wide × PRIOR_CALLS / (w + PRIOR_CALLS)`` with ``w`` the
hub's reference weight. So a hub used only by suspicious traffic inherits the port-wide
normal, and its long dwells stand out against it instead of becoming its own normal; a hub
with ample clean traffic keeps its own rhythm. A dwell counts as abnormal above
``median + SPREADS × (p95 − median)``, a robust scale not moved by a few very long dwells.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from quaywatch.features.reference import NEWCOMER, weighted_quantiles
from quaywatch.risk.anomaly.frames import AFTER_ETA, BEFORE_LODGING, FOUND, REFERENCE, day
from quaywatch.risk.wording import Worded, chosen, word, worded

BOX = ["consignment_id", "version", "container_number"]
DAY_US = 86_400_000_000
#: How many (p95 − median) spreads above the median a dwell must be to count as abnormal.
SPREADS = 2.0
#: Reference weight (boxes of reference traffic) at which a hub's own figures and the
#: port-wide ones count half each.
PRIOR_CALLS = 30.0
#: Below this share of its own figures, a reason calls the usual dwell the port-wide figure.
OWN_SHARE = 0.5
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
    what = chosen(pl.col("codes").list.len() == 2, word("stripped and stuffed again"),
                  chosen(pl.col("codes").list.first() == "STRP", word("stripped"),
                         word("stuffed")))  # fmt: skip
    text = chosen(
        pl.col("facility") == "DEPO",
        worded("%(what)s at a depot in %(port)s (%(day)s) while in transit, not a planned "
               "operation", what=what, port="un_locode", day=day("first")),
        worded("%(what)s at a in %(port)s (%(day)s) while in transit, not a planned operation",
               what=what, port="un_locode", day=day("first")),
    )  # fmt: skip
    return found.select(
        *BOX,
        pl.lit("hub_restuffed").alias("detector"),
        *text.columns(),
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


def baseline(events: pl.DataFrame, reference: pl.DataFrame | None = None) -> pl.DataFrame:
    """Usual dwell per hub from the known transshipment calls of reference traffic.

    Columns: ``un_locode``, ``calls`` (every completed call), ``weight`` (their reference
    weight: boxes of reference traffic), ``median_days`` and ``p95_days`` (weighted, null
    where no reference traffic called); a row with ``un_locode`` null holds all hubs together.
    ``reference`` (``frames.REFERENCE``) weighs each call by its box's consignment; without
    it every call counts 1.
    """
    moves = events.filter(pl.col("is_transshipment")).with_columns(
        pl.col("transport_document").fill_null("")
    )
    calls = _calls(moves, ["container_number", "transport_document", "un_locode"]).filter(
        pl.col("load").is_not_null()
    )
    days = ((pl.col("load") - pl.col("disc")).dt.total_microseconds() / DAY_US).alias("days")
    calls = _weighed(calls.with_columns(days), reference)
    quantiles = [0.5, 0.95]
    counts = [pl.len().alias("calls")]
    per_hub = calls.group_by("un_locode").agg(counts).join(
        weighted_quantiles(calls, "days", "weight", quantiles, by=["un_locode"]).drop("n"),
        on="un_locode", how="left",
    )  # fmt: skip
    overall = calls.select(pl.lit(None, pl.String).alias("un_locode"), *counts)
    port = weighted_quantiles(calls, "days", "weight", quantiles).drop("n")
    overall = (
        pl.concat([overall, port], how="horizontal")
        if not port.is_empty()
        else overall.with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in ("q0.5", "q0.95", "weight")
        )
    )
    return (
        pl.concat([per_hub, overall.select(per_hub.columns)], how="vertical_relaxed")
        .rename({"q0.5": "median_days", "q0.95": "p95_days"})
        .with_columns(pl.col("calls").cast(pl.Int64), pl.col("weight").fill_null(0.0))
        .select("un_locode", "calls", "weight", "median_days", "p95_days")
    )


def _weighed(calls: pl.DataFrame, reference: pl.DataFrame | None) -> pl.DataFrame:
    """``calls`` with the ``weight`` of the consignment each box belongs to: by container and
    transport document, or for an event without a document by container and time (as
    ``frames.journeys`` links them); a newcomer's (``NEWCOMER``) for a box ``reference`` does
    not name (declared nowhere here, or lodged after it was computed)."""
    if reference is None:
        return calls.with_columns(pl.lit(1.0).alias("weight"))
    call = ["container_number", "transport_document", "un_locode", "disc"]
    boxes = reference.select(REFERENCE.names())
    by_document = calls.filter(pl.col("transport_document") != "").join(
        boxes.select("container_number", "transport_document", "weight"),
        on=["container_number", "transport_document"], how="inner",
    )  # fmt: skip
    by_time = (
        calls.filter(pl.col("transport_document") == "")
        .join(boxes.drop("transport_document"), on="container_number", how="inner")
        .filter(pl.col("disc").is_between(pl.col("lodged_at") - BEFORE_LODGING,
                                          pl.col("eta") + AFTER_ETA))
        .select(*calls.columns, "weight")
    )  # fmt: skip
    linked = (
        pl.concat([by_document.select(*calls.columns, "weight"), by_time])
        .sort([*call, "weight"])
        .unique(subset=call, keep="first")  # boxes reused: the least trusted consignment speaks
    )
    return calls.join(linked.select(*call, "weight"), on=call, how="left").with_columns(
        pl.col("weight").fill_null(NEWCOMER)
    )


def dwell(journeys: pl.DataFrame, usual: pl.DataFrame, *, at: datetime) -> pl.DataFrame:
    """Boxes that waited at a hub (or an off-route port) far longer than usual there.

    A box still at the hub at ``at`` (discharged, not yet loaded, nothing seen since) counts
    with the time it has waited so far.
    """
    transit = journeys.filter(pl.col("role").is_in(["hub", "off"]))
    calls = _calls(transit, [*BOX, "un_locode"]).filter(pl.col("disc").is_not_null())
    later = journeys.group_by(BOX).agg(pl.col("event_time").max().alias("last_seen"))
    overall = usual.filter(pl.col("un_locode").is_null())
    if overall.is_empty() or overall["weight"][0] <= 0 or overall["median_days"][0] is None:
        return FOUND.to_frame()
    port_median, port_p95 = float(overall["median_days"][0]), float(overall["p95_days"][0])
    hubs = usual.filter(pl.col("un_locode").is_not_null()).drop("calls")
    own = (pl.col("weight") / (pl.col("weight") + PRIOR_CALLS)).fill_null(0.0)
    calls = (
        calls.join(later, on=BOX, how="left")
        .join(hubs, on="un_locode", how="left")
        .with_columns(pl.col("weight").fill_null(0.0))
        .with_columns(pl.when(pl.col("median_days").is_null()).then(0.0).otherwise(own).alias("own"))
        .with_columns(
            (pl.col("own") * pl.col("median_days").fill_null(0.0)
             + (1 - pl.col("own")) * port_median).alias("median_days"),
            (pl.col("own") * pl.col("p95_days").fill_null(0.0)
             + (1 - pl.col("own")) * port_p95).alias("p95_days"),
        )
    )  # fmt: skip
    waiting = pl.col("load").is_null() & (pl.col("last_seen") <= pl.col("disc"))
    end = pl.when(waiting).then(pl.lit(at)).otherwise(pl.col("load"))
    days = (end - pl.col("disc")).dt.total_microseconds() / DAY_US
    limit = pl.col("median_days") + SPREADS * (pl.col("p95_days") - pl.col("median_days"))
    found = calls.with_columns(days.alias("days"), waiting.alias("waiting")).filter(
        pl.col("days").is_not_null() & (pl.col("days") > limit)
    )
    text = chosen(
        pl.col("waiting"),
        worded("has waited %(days)s days at %(port)s since %(since)s, %(usual)s",
               days=pl.col("days").round(1), port="un_locode", since=day("disc"), usual=_usual()),
        worded("waited %(days)s days at %(port)s (%(since)s to %(until)s), %(usual)s",
               days=pl.col("days").round(1), port="un_locode", since=day("disc"),
               until=day("load"), usual=_usual()),
    )  # fmt: skip
    return found.select(
        *BOX,
        pl.lit("hub_dwell").alias("detector"),
        *text.columns(),
        (pl.col("days") / pl.col("p95_days")).alias("strength"),
    ).cast(FOUND)


def _usual() -> Worded:
    """What the dwell was judged against, as an officer reads it: the usual dwell and its 95th
    percentile, and whether they are the hub's own (with how much reference traffic they rest
    on) or, for a hub with too little reference traffic, the port-wide figures."""
    median, p95 = pl.col("median_days").round(1), pl.col("p95_days").round(1)
    boxes = pl.col("weight").round(0).cast(pl.Int64)
    return chosen(
        pl.col("own") >= OWN_SHARE,
        worded("usual %(median)s days for this hub (95th pct %(p95)s; reference traffic, "
               "%(boxes)s boxes)", median=median, p95=p95, boxes=boxes),
        worded("usual %(median)s days port-wide (95th pct %(p95)s; %(port)s has %(boxes)s boxes "
               "of reference traffic)", median=median, p95=p95, port="un_locode", boxes=boxes),
    )  # fmt: skip
