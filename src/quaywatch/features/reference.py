"""Reference traffic: the consignments a baseline may learn what is usual from.

Every "unusual" in quaywatch is measured against a baseline learnt from traffic: how long
boxes usually wait at a hub, which hubs a lane usually uses, what goods of a subheading
usually cost per kg. A baseline learnt from *all* traffic can be set by the traffic it is
meant to judge: a hub that only a smuggling network uses learns the network's long dwells as
its normal, a route flooded by displaced traffic becomes usual, a subheading mostly declared
by undervaluers gets a cheap median. So each consignment counts towards a baseline with a
**weight** that says how far it is reference traffic, as known at the baseline's moment
``at`` (never later: the weights are leak-free like every feature; a control outcome counts
when recorded strictly before ``at``, as for the track records of ``features.history`` and the
labels of training, so an outcome recorded in the same instant is not yet known):

- **suspect**, weight 0: a control of the consignment found something (a hit: a seizure, or
  an irregularity worth recovering) recorded before ``at``; or its consignee or consignor had
  such a hit on any consignment recorded before ``at``; or one of its parties is on a watchlist
  published by ``at`` (``listed``, from screening). Suspicion is about the trading parties:
  a broker (declarant) or a carrier serves hundreds of traders and one hit says little of the
  others.
- **trusted**, weight 1: the consignee or consignor is an AEO, or had a control with a clean
  result recorded before ``at``; trust never overrides suspicion.
- **newcomer**, weight ``NEWCOMER`` (0.1): the consignee or consignor first appeared within
  ``NEW_DAYS`` of this consignment's lodging, later than the record's first ``NEW_DAYS``
  (a party seen at the start of the record is of unknown age, not new). Front companies and
  shells are new; ten newcomer consignments count as one ordinary one.
- **ordinary**, weight 1: the rest. Most traffic is licit (fraud is a few percent of
  consignments), so ordinary traffic is reference traffic; what moves a baseline is a
  concentrated group, and that is what the other tiers take out.

No labels are needed (AEO status and party age come from the declarations), and labels are
used from the moment after they are recorded. A baseline that meets a consignment whose
standing it was not given (lodged after its weights were computed: a scoring run keeps the
weights of the start of its day) counts it as a newcomer: unknown traffic is not reference
traffic until it has a record, so a burst of it weighs a tenth of ordinary traffic.
``weights`` gives each consignment's standing and weight; ``weighted_quantiles`` the robust
figures (median, quantiles) a baseline learns from them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import polars as pl

from quaywatch.intake.entities import hit

#: Days after its first consignment during which a party counts as a newcomer.
NEW_DAYS = 30
#: How much a newcomer's consignment counts, against 1 for ordinary and trusted ones.
NEWCOMER = 0.1
#: The parties whose record decides a consignment's standing.
TRADERS = ("consignee", "consignor")
#: What ``weights`` needs of each consignment (the AEO columns may be missing: no AEO known).
COLUMNS = ("consignment_id", "lodged_at", "consignee_key", "consignor_key")


class Standing(StrEnum):
    """How far a consignment is reference traffic at a moment."""

    SUSPECT = "suspect"
    NEWCOMER = "newcomer"
    ORDINARY = "ordinary"
    TRUSTED = "trusted"


WEIGHT = {Standing.SUSPECT: 0.0, Standing.NEWCOMER: NEWCOMER, Standing.ORDINARY: 1.0,
          Standing.TRUSTED: 1.0}  # fmt: skip
SCHEMA = pl.Schema({"consignment_id": pl.String(), "standing": pl.String(), "weight": pl.Float64()})


def weights(
    consignments: pl.DataFrame,
    *,
    at: datetime,
    outcomes: pl.DataFrame | None = None,
    listed: Collection[str] = (),
) -> pl.DataFrame:
    """``consignment_id``, ``standing`` and ``weight`` (``SCHEMA``) of every consignment of
    ``consignments`` lodged at or before ``at``.

    ``consignments`` has ``COLUMNS`` (one row per consignment, or per version: the highest
    ``version`` speaks) and, where known, ``consignee_aeo`` and ``consignor_aeo``; it should
    hold the history, since a party's first appearance is learnt from it. ``outcomes``
    (``consignment_id``, ``result``, ``revenue_recovered_eur``, ``known_at``) counts only
    where recorded strictly before ``at`` (``known_at < at``); ``listed`` are party keys on a
    watchlist published by ``at``.
    """
    if at.tzinfo is None:
        raise ValueError("the baseline's moment must be timezone-aware")
    missing = [c for c in COLUMNS if c not in consignments.columns]
    if missing:
        raise ValueError(f"the consignments lack the columns {missing}")
    rows = consignments
    if "version" in rows.columns:
        rows = rows.sort("version", descending=True).unique("consignment_id", keep="first")
    rows = rows.unique("consignment_id", keep="first").filter(pl.col("lodged_at") <= at)
    aeo = [
        pl.col(f"{role}_aeo").fill_null("NONE").ne("NONE")
        if f"{role}_aeo" in rows.columns
        else pl.lit(False)
        for role in TRADERS
    ]
    rows = rows.select(
        "consignment_id",
        "lodged_at",
        *(pl.col(f"{role}_key") for role in TRADERS),
        pl.any_horizontal(*aeo).alias("_aeo"),
    )
    start = rows.get_column("lodged_at").min()
    new = pl.lit(False)
    if isinstance(start, datetime):
        window = timedelta(days=NEW_DAYS)
        for role in TRADERS:
            first = pl.col("lodged_at").min().over(f"{role}_key")
            new = new | ((first > start + window) & (pl.col("lodged_at") < first + window))
    rows = rows.with_columns(new.alias("_new"))
    on_list = pl.Series(sorted(set(listed)), dtype=pl.String).implode()
    listed_party = pl.any_horizontal(pl.col(f"{role}_key").is_in(on_list) for role in TRADERS)
    suspect, clean = _records(rows, outcomes, at)
    by_party = pl.any_horizontal(pl.col(f"{role}_key").is_in(suspect["party"].implode())
                                 for role in TRADERS)  # fmt: skip
    vouched = pl.any_horizontal(pl.col(f"{role}_key").is_in(clean["party"].implode())
                                for role in TRADERS)  # fmt: skip
    standing = (
        pl.when(pl.col("consignment_id").is_in(suspect["consignment_id"].implode()) | by_party
                | listed_party)
        .then(pl.lit(Standing.SUSPECT.value))
        .when(pl.col("_aeo") | vouched)
        .then(pl.lit(Standing.TRUSTED.value))
        .when(pl.col("_new"))
        .then(pl.lit(Standing.NEWCOMER.value))
        .otherwise(pl.lit(Standing.ORDINARY.value))
    )  # fmt: skip
    return (
        rows.select("consignment_id", standing.alias("standing"))
        .with_columns(
            pl.col("standing")
            .replace_strict({s.value: w for s, w in WEIGHT.items()}, return_dtype=pl.Float64)
            .alias("weight")
        )
        .sort("consignment_id")
        .cast(SCHEMA)
    )


def item_weights(
    items: pl.DataFrame, *, at: datetime, outcomes: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``weights`` of the consignments of goods-item rows (``store.reads.goods_item_rows``):
    one row per consignment, from its first item's lodging, traders and their AEO status."""
    aeo = [f"{role}_aeo" for role in TRADERS if f"{role}_aeo" in items.columns]
    per_consignment = items.select(*COLUMNS, *aeo).unique("consignment_id", keep="first")
    return weights(per_consignment, at=at, outcomes=outcomes)


def _records(
    rows: pl.DataFrame, outcomes: pl.DataFrame | None, at: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hit consignments with their traders (``consignment_id``, ``party``), and the traders
    with a clean control (``party``), as recorded strictly before ``at``."""
    none = pl.DataFrame(schema={"consignment_id": pl.String, "party": pl.String})
    if outcomes is None or outcomes.is_empty():
        return none, none.select("party")
    known = outcomes.filter(pl.col("known_at") < at)
    parties = rows.unpivot(
        on=[f"{role}_key" for role in TRADERS], index="consignment_id", value_name="party"
    ).select("consignment_id", "party")
    hits = known.filter(hit()).select("consignment_id").unique()
    suspect = hits.join(parties, on="consignment_id", how="left").select("consignment_id", "party")
    cleared = (
        known.filter(pl.col("result") == "COMPLIANT")
        .select("consignment_id")
        .unique()
        .join(parties, on="consignment_id")
        .select("party")
        .unique()
    )
    return suspect, cleared


def weighted_quantiles(
    frame: pl.DataFrame,
    value: str,
    weight: str,
    quantiles: Sequence[float],
    *,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """Per group of ``by`` (or over the whole frame), the weighted ``quantiles`` of ``value``:
    columns ``by``, ``q<quantile>`` (``q0.5``, ``q0.95``), ``weight`` (their sum) and
    ``n`` (rows with a positive weight).

    Each value is placed at the middle of its weight: at ``(weight before it + half its own)
    / total``, and a quantile interpolates linearly between the two values placed around it
    (below the first or above the last: that value). So every value's weight counts, the
    smallest's and the largest's too: a value with most of the weight is about the median.
    With equal weights the median is the usual one (the middle value, or the mean of the two
    middle ones) and the other quantiles are Hazen's (numpy's ``method="hazen"``), a hair
    further out than the linear ones: a baseline of clean traffic keeps its median. Rows of
    weight 0 or with a null value do not count; a group with none gives no row.
    """
    groups = list(by) or ["__all"]
    rows = frame.filter(pl.col(weight) > 0, pl.col(value).is_not_null())
    if not by:
        rows = rows.with_columns(pl.lit(0).alias("__all"))
    x, w = pl.col(value), pl.col(weight)
    middle = (w.cum_sum().over(groups) - w / 2) / w.sum().over(groups)
    rows = rows.sort(*groups, value).with_columns(middle.alias("_u"))
    rows = rows.with_columns(
        x.shift(-1).over(groups).alias("_next_x"),
        pl.col("_u").shift(-1).over(groups).alias("_next_u"),
    )
    figures = []
    for q in quantiles:
        u, nu, nx = pl.col("_u"), pl.col("_next_u"), pl.col("_next_x")
        here = (u <= q) & (nu.is_null() | (nu > q))
        value_at = (
            pl.when(nu.is_null() | (nu <= u)).then(x).otherwise(x + (nx - x) * (q - u) / (nu - u))
        )
        # Below the first value's place no row is ``here``: the smallest value.
        figures.append(pl.coalesce(value_at.filter(here).first(), x.first()).alias(f"q{q}"))
    out = rows.group_by(groups, maintain_order=True).agg(
        *figures, w.sum().alias("weight"), pl.len().alias("n")
    )
    return out.drop("__all") if not by else out
