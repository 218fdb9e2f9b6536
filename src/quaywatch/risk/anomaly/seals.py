"""Seal anomalies: a seal number that changes on the way, or that was never declared.

A container's seals are put on when it is stuffed and stay on until the consignee opens it. The
rip-on/rip-off technique opens a legitimate box (at a hub while it waits, or on the quay after
discharge), adds or takes out a bag behind the doors and closes it with a new seal, so the seal
number on the events changes. A customs officer who opens a box seals it again with a customs
seal (source CUS): that change is no mark.

Two reasons come out of here, both per container:

- ``seal_changed``: a seal number that was neither on the earlier events nor declared appears
  between two events, without being a customs seal. A number that appears on one event only,
  in the middle of the journey, and is never seen again is a seal typed wrong once, not a
  change: it is left out.
- ``seal_undeclared``: the first event reporting seals shows a seal that is not among the
  declared ones (the box was resealed before it was first seen, or the declaration is wrong).
"""

from __future__ import annotations

import polars as pl

from quaywatch.risk.anomaly.frames import KEY, day, nothing_found
from quaywatch.risk.wording import chosen, worded

BOX = [*KEY, "container_number"]


def _sealed(journeys: pl.DataFrame) -> pl.DataFrame:
    """One row per (event, seal number) of the events that report seals."""
    return (
        journeys.filter(pl.col("seals").list.len() > 0)
        .select(
            *BOX, "event_id", "event_time", "event_code", "un_locode", "declared_seals", "seals"
        )  # fmt: skip
        .with_columns(
            pl.col("seals").list.eval(pl.element().struct.field("seal_number")).alias("numbers")
        )
        .explode("seals")
        .unnest("seals")
    )


def detect(journeys: pl.DataFrame) -> pl.DataFrame:
    """Seal hits per container: ``BOX`` columns, ``detector``, ``text``, ``strength``."""
    sealed = _sealed(journeys)
    if sealed.is_empty():
        return nothing_found()
    box = pl.col("event_time")
    sealed = sealed.with_columns(
        box.min().over(BOX).alias("first_sealed"),
        box.max().over(BOX).alias("last_sealed"),
    )
    per_number = sealed.group_by(*BOX, "seal_number").agg(
        pl.col("event_time").min().alias("seen_from"),
        pl.col("event_id").n_unique().alias("seen_on"),
        pl.col("source").sort_by("event_time").first().alias("source"),
        pl.col("first_sealed").first(),
        pl.col("last_sealed").first(),
        pl.col("declared_seals").first(),
    )
    declared = pl.col("declared_seals").list.contains(pl.col("seal_number"))
    typo = (pl.col("seen_on") == 1) & (pl.col("seen_from") < pl.col("last_sealed"))
    new = per_number.filter(
        (pl.col("seen_from") > pl.col("first_sealed"))
        & (pl.col("source") != "CUS")
        & ~declared
        & ~typo
    )
    # The event before the change, to say what the new seal replaced and where.
    events = (
        sealed.select(*BOX, "event_id", "event_time", "event_code", "un_locode", "numbers")
        .unique(subset=[*BOX, "event_id"], keep="first")
        .sort(*BOX, "event_time", "event_id")
        .with_columns(
            pl.col(c).shift(1).over(BOX).alias(f"before_{c}")
            for c in ("event_time", "event_code", "un_locode", "numbers")
        )
    )
    changed = (
        new.join(events, left_on=[*BOX, "seen_from"], right_on=[*BOX, "event_time"])
        .with_columns(
            pl.col("before_numbers")
            .list.set_difference(pl.col("numbers"))
            .list.join(", ")
            .alias("replaced")
        )
        .select(
            *BOX,
            pl.lit("seal_changed").alias("detector"),
            pl.lit(1.0).alias("strength"),
            *chosen(
                pl.col("replaced") != "",
                worded(
                    "seal %(seal)s replaced %(replaced)s between %(before)s at %(from)s "
                    "(%(from_day)s) and %(event)s at %(port)s (%(day)s), no customs reseal",
                    seal="seal_number",
                    replaced="replaced",
                    before="before_event_code",
                    **{"from": "before_un_locode"},
                    from_day=day("before_event_time"),
                    event="event_code",
                    port="un_locode",
                    day=day("seen_from"),
                ),
                worded(
                    "seal %(seal)s replaced a seal between %(before)s at %(from)s "
                    "(%(from_day)s) and %(event)s at %(port)s (%(day)s), no customs reseal",
                    seal="seal_number",
                    before="before_event_code",
                    **{"from": "before_un_locode"},
                    from_day=day("before_event_time"),
                    event="event_code",
                    port="un_locode",
                    day=day("seen_from"),
                ),
            ).columns(),
        )  # fmt: skip
    )
    first = sealed.filter(
        (pl.col("event_time") == pl.col("first_sealed"))
        & (pl.col("source") != "CUS")
        & (pl.col("declared_seals").list.len() > 0)
        & ~declared
    )
    undeclared = first.select(
        *BOX,
        pl.lit("seal_undeclared").alias("detector"),
        pl.lit(1.0).alias("strength"),
        *worded(
            "seal %(seal)s on %(event)s at %(port)s (%(day)s) is not a declared seal (declared "
            "%(declared)s)", seal="seal_number", event="event_code", port="un_locode",
            day=day("event_time"), declared=pl.col("declared_seals").list.join(", "),
        ).columns(),
    )  # fmt: skip
    return pl.concat([changed, undeclared])
