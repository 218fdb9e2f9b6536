"""Watchlist screening: the parties on a consignment matched against the loaded watchlists.

- ``lists``: watchlist files (CSV) loaded into the store, listed, read back;
- ``normalise``: what names, addresses and identifiers are compared as;
- ``matching``: ``Screener``, the indexed entries, and the matching itself;
- here: ``screening_hits``, the matches of a batch of consignments as a hits frame
  (``risk.hits``) for the engine, and ``screen_store`` which reads what it needs from the store.

Every party role of a consignment is screened (consignee, consignor, declarant, notify party).
A hit's ``code`` is ``screening:<watchlist_id>`` for a **strong** match (an EORI, phone number
or e-mail address the entry lists, or a close name at the listed address), which weighs
``STRONG_WEIGHT``; for an entry of a ``RED_CATEGORIES`` category (a trafficker, a sanctioned
party) it also demands the red lane: the container is examined physically. Not a pre-loading
referral: RFS and DNL are for what may be in a box before it is loaded, a listed trader is a
question of who imports, which the examination at the port of discharge answers. A name match
alone (code ``screening:<watchlist_id>:name``) weighs
between ``NAME_WEIGHT`` (at the threshold) and ``NAME_WEIGHT + NAME_EXTRA`` (identical names),
and sets no lane: names are shared by honest companies, so an officer checks before acting.

>>> screener = Screener.build(lists.watchlist_entries(store, as_of=at.date()))  # doctest: +SKIP
>>> hits = screening_hits(consignments, parties, screener)  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from quaywatch.risk import hits as hits_frame
from quaywatch.risk.explain import Source
from quaywatch.risk.screening import lists
from quaywatch.risk.screening.lists import (
    LoadResult,
    list_watchlists,
    load_watchlist,
    read_watchlist,
    watchlist_entries,
)
from quaywatch.risk.screening.matching import THRESHOLD, Screener, best
from quaywatch.risk.wording import Worded, worded, words
from quaywatch.store import reads
from quaywatch.store.store import Store

__all__ = [
    "THRESHOLD",
    "LoadResult",
    "Screener",
    "best",
    "list_watchlists",
    "lists",
    "load_watchlist",
    "read_watchlist",
    "screen_store",
    "screening_hits",
    "watchlist_entries",
]

ROLES = ("consignee", "consignor", "declarant", "notify_party")
#: Log-odds of a strong match (≈ 3.7 times the odds), and of a name match below: fitted on a
#: calibration run of generated traffic (seed 3, ``benchmarks/hit_weights.py``, given the
#: model) against a list of past customs offenders, who mostly ship honest goods. A list of
#: traffickers deserves more: its entries' category sets the red lane (``RED_CATEGORIES``).
STRONG_WEIGHT = 1.3
#: Categories of watchlist entry whose strong match demands the red lane (a physical
#: examination) whatever the score: a listed trafficker or a sanctioned party. A trader listed
#: for past customs fraud mostly ships honest goods: its match raises the score and no more.
RED_CATEGORIES = ("drugs", "weapons", "sanctions", "wildlife")
#: Log-odds of a name match at the threshold, and what an identical name adds.
NAME_WEIGHT = 0.1
NAME_EXTRA = 0.2


def _role_label(role: str) -> str:
    return role.replace("_", " ")


def party_roles(consignments: pl.DataFrame) -> pl.DataFrame:
    """``(consignment_id, version, role, party_key)`` for every role column ``consignments`` has."""
    present = [r for r in ROLES if f"{r}_key" in consignments.columns]
    if not present:
        raise ValueError(f"no party key column among {consignments.columns}")
    return (
        pl.concat(
            consignments.select(
                "consignment_id",
                "version",
                pl.lit(_role_label(role)).alias("role"),
                pl.col(f"{role}_key").alias("party_key"),
            )  # fmt: skip
            for role in present
        )
        .drop_nulls("party_key")
        .unique()
    )


def screening_hits(
    consignments: pl.DataFrame,
    parties: pl.DataFrame,
    screener: Screener,
    *,
    threshold: float = THRESHOLD,
) -> pl.DataFrame:
    """The watchlist hits of ``consignments``, one per consignment and watchlist (the best).

    ``consignments`` has ``consignment_id``, ``version`` and ``<role>_key`` columns (goods-item
    rows will do: they are made distinct), ``parties`` the party rows (the ``parties`` table)
    of at least those keys.
    """
    roles = party_roles(consignments)
    named = parties.join(roles.select("party_key").unique(), on="party_key", how="semi")
    matches = screener.screen(named, threshold=threshold)
    if matches.is_empty():
        return hits_frame.empty()
    top = best(matches)
    span = 100.0 - threshold if threshold < 100 else 1.0
    weight = (
        pl.when(pl.col("strong"))
        .then(STRONG_WEIGHT)
        .otherwise(NAME_WEIGHT + NAME_EXTRA * ((pl.col("score") - threshold) / span).clip(0, 1))
    )
    found = roles.join(top, on="party_key").join(
        named.select("party_key", pl.col("name").alias("party_name")), on="party_key"
    )
    text = worded("%(role)s %(party)s: %(reason)s",
                  role=words(pl.col("role"), [_role_label(r) for r in ROLES]), party="party_name",
                  reason=Worded(pl.col("reason"), pl.col("reason_said")))  # fmt: skip
    return hits_frame.conform(
        found.select(
            "consignment_id",
            "version",
            pl.when(pl.col("strong"))
            .then(pl.format("screening:{}", "watchlist_id"))
            .otherwise(pl.format("screening:{}:name", "watchlist_id"))
            .alias("code"),
            *text.columns(),
            weight.alias("weight"),
            pl.lit(Source.SCREENING.value).alias("source"),
            pl.when(pl.col("strong") & pl.col("category").str.to_lowercase().is_in(RED_CATEGORIES))
            .then(pl.lit("red"))
            .alias("lane"),
        ).pipe(hits_frame.heaviest)  # fmt: skip
    )


def screen_store(
    store: Store,
    consignments: pl.DataFrame,
    *,
    at: datetime,
    threshold: float = THRESHOLD,
) -> pl.DataFrame:
    """``screening_hits`` of ``consignments`` against the watchlists published by ``at``."""
    entries = watchlist_entries(store, as_of=at.date())
    if entries.is_empty():
        return hits_frame.empty()
    keys = party_roles(consignments)["party_key"].unique()
    known = reads.parties(store, keys.to_list())
    return screening_hits(consignments, known, Screener.build(entries),
                          threshold=threshold)  # fmt: skip
