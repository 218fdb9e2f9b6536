"""What the risk sources other than the model and the profiles say about stored consignments.

``store_hits`` gathers, for the consignments a scoring run assesses, the hits of every source
that reads the store beyond the declarations, each as of the moment it would have been used:

- container-event anomalies (``risk.anomaly``) with the events received by ``now``: an
  assessment is re-run as events arrive (``anomaly.stale``), up to discharge and gate-out;
  their baselines learn from reference traffic, which ``outcomes`` may put under suspicion;
- watchlist screening of the parties (``risk.screening``) against the lists published by
  ``now``;
- risk propagated through the party graph (``risk.graph``) as of the end of each consignment's
  lodging day, capped at ``now``: the parties and links known then, the outcomes given. A
  party is "young" relative to that day, as a daily run would have seen it. A live run takes
  the graph of today's consignments from the kept graph of the start of the day, with the
  parties first seen since placed in it (``risk.placement``): a consignment filed through the
  API reads its parties' neighbours, not the whole graph.

A party on a watchlist is reported by screening; the graph's ``offender`` hit (the party is
itself a seed of the propagation) would say the same again, so it is dropped where screening
hit the consignment. The engine merges what remains with the model and the profiles
(``risk.combine``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache

import polars as pl
from sqlalchemy import func, select

from quaywatch.features import declared
from quaywatch.risk import anomaly, graph, hits as hitframe, placement, screening
from quaywatch.store import reads, tables
from quaywatch.store.store import Store


def store_hits(
    store: Store,
    items: pl.DataFrame,
    *,
    outcomes: pl.DataFrame | None,
    now: datetime,
    live: bool = False,
) -> pl.DataFrame:
    """The hits of every store-reading source for the consignments of ``items``.

    ``items`` are goods-item rows (``store.reads.goods_item_rows``) of the consignments to
    assess; ``outcomes`` the control outcomes the graph may seed from (known at ``now``, or
    before an evaluation split). ``live``: a scoring run, whose outcomes are every stored one
    known at ``now`` (None: read only if needed); the anomaly baselines are then those of the
    start of ``now``'s day, kept for the day (``anomaly.daily``), instead of learnt again from
    ``outcomes``, and the graph the kept graph of the moment (``risk.placement``).
    """
    if outcomes is None and not live:
        raise ValueError("store_hits needs the outcomes of a run that is not live")
    given = outcomes
    known = cache(
        lambda: reads.control_outcomes(store, known_before=now) if given is None else given
    )
    roles = [f"{role}_key" for role in screening.ROLES if f"{role}_key" in items.columns]
    consignments = items.group_by(*declared.KEY).agg(pl.col("lodged_at", *roles).first())
    keys = consignments.select(declared.KEY)
    found = [
        anomaly.detect_store(store, keys, now=now, outcomes=None if live else outcomes),
        screened := screening.screen_store(store, consignments, at=now),
        _graph_hits(store, consignments, outcomes=known, now=now, live=live).join(
            screened.select(declared.KEY).unique().with_columns(pl.lit("graph:offender").alias("code")),
            on=[*declared.KEY, "code"], how="anti",
        ),
    ]  # fmt: skip
    return pl.concat([hitframe.conform(h) for h in found])


def data_end(store: Store) -> datetime:
    """The latest moment the store's container events speak of (created or known), or now.

    An evaluation looks at everything the store holds as of this moment: generated traffic
    may lie in the future of the wall clock, and a far-off "now" would make a box still
    waiting at a hub at the end of the data look as if it had waited for ever.
    """
    e = tables.events
    with store.reading() as conn:
        created, known = conn.execute(
            select(func.max(e.c.created_time), func.max(e.c.known_at))
        ).one()
    times = [t for t in (created, known) if t is not None]
    return max(times) if times else datetime.now(UTC)


def _graph_hits(
    store: Store,
    consignments: pl.DataFrame,
    *,
    outcomes: Callable[[], pl.DataFrame],
    now: datetime,
    live: bool,
) -> pl.DataFrame:
    """Graph hits per lodging day, each as of that day's end (at most ``now``).

    A live run works from the kept graph of the moment (``risk.placement``): the end of a
    day already over, else the start of ``now``'s day with the parties first seen since
    placed in it. Otherwise the graph is propagated again as of each day's end.
    """
    days = consignments.with_columns(pl.col("lodged_at").dt.truncate("1d").alias("__day"))
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    data = cache(lambda: graph.load(store))
    entries = cache(lambda: screening.watchlist_entries(store, as_of=now.date()))
    found = [hitframe.empty()]
    for (day,), batch in days.partition_by("__day", as_dict=True, maintain_order=True).items():
        at = min(day + timedelta(days=1), now)
        if live:
            snap = placement.kept_snapshot(
                store, min(at, today), data=data, outcomes=outcomes, entries=entries
            )
            lodged = (
                screening.party_roles(batch.drop("__day"))
                .join(batch.select(*declared.KEY, "lodged_at"), on=list(declared.KEY))
                .group_by("party_key")
                .agg(pl.col("lodged_at").min())
            )
            scores = placement.place(store, snap, dict(lodged.iter_rows()), at=at)
        else:
            scores = graph.party_risk(
                data(), outcomes().filter(pl.col("known_at") < at), at=at, entries=entries()
            )
        found.append(hitframe.conform(graph.graph_hits(batch.drop("__day"), scores)))
    return pl.concat(found)
