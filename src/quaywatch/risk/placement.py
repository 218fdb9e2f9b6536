"""The party graph of a live scoring run: kept as of the start of the day, newcomers placed in it.

Propagating risk through the whole party graph (``risk.graph``) reads every party, link and
outcome the store holds: far too much to repeat for each consignment filed through the API, and
it grows with the history. A live run (``risk.signals``) therefore works from a **snapshot**:
the graph of the start of the day (UTC), computed by the day's first live run and kept for the
day (``kept_snapshot``), as the anomaly baselines' reference traffic is
(``risk.anomaly.reads.daily_reference``). A party the snapshot holds keeps its score of that
moment; a party first seen since, such as the shell company whose first consignment is filed
today, is **placed** in it (``place``) by what it shares with the parties and watchlist entries
there:

- its ``risk`` is one step of the propagation (``graph._propagate``) with the kept risks: the
  damping times, over each attribute it shares and each node j holding it, risk(j) divided by
  j's linking attributes and by the attribute's other holders: the share of j's walk that
  reaches it. What it sends back changes no kept score before the next snapshot;
- its reason is the graph's own (``graph.one_link_reasons``, ``two_link_reasons``): the
  attribute it shares with an offender (the heaviest), else, once its risk reaches
  ``min_risk``, the attribute it shares with a party one link from an offender;
- its cluster joins the kept clusters it links to and the newcomers it shares an attribute
  with; young itself, it is a young cluster of their combined size (``graph.cluster_reasons``).

An attribute links when 2 to ``max_shared`` nodes hold it, newcomers counted. Its holders are
found by index, as a neighbourhood review finds them (``risk.neighbourhood``: the normalised keys
of ``party_link_keys``, and the other consignees of the newcomer's boxes within the window), so
placing reads the newcomers' rows and their neighbours' keys, not the history.

What waits for the next day: an outcome recorded, a party seen or a list published during the
day seeds or links in the snapshot only from the next one (screening and the consignee's own
track record see them at once); parties the snapshot holds keep its links. For a day already
over, the snapshot is the end of that day itself and no one is placed: the scores are exactly
``graph.party_risk``'s.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import polars as pl

from quaywatch.risk import graph, neighbourhood
from quaywatch.store import reads
from quaywatch.store.store import Store

#: Snapshots kept per store: today's, and a few past days' for a live run over a period.
KEPT_PER_STORE = 4

_kept: weakref.WeakKeyDictionary[Store, OrderedDict[datetime, graph.GraphSnapshot]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def kept_snapshot(
    store: Store,
    at: datetime,
    *,
    data: Callable[[], graph.GraphData],
    outcomes: Callable[[], pl.DataFrame],
    entries: Callable[[], pl.DataFrame],
    params: graph.GraphParams | None = None,
) -> graph.GraphSnapshot:
    """The graph of ``store`` as of ``at``, computed once (from ``data``, the outcomes known
    before ``at`` among ``outcomes`` and the entries published by then among ``entries``) and
    kept with the last few asked of this store."""
    params = params or graph.GraphParams()
    with _lock:
        found = _kept.get(store, OrderedDict()).get(at)
    if found is not None and found.params == params:
        return found
    known = outcomes()
    made = graph.snapshot(
        data(), known.filter(pl.col("known_at") < at), at=at, entries=entries(), params=params
    )
    with _lock:
        kept = _kept.setdefault(store, OrderedDict())
        kept[at] = made
        kept.move_to_end(at)
        while len(kept) > KEPT_PER_STORE:
            kept.popitem(last=False)
    return made


def place(
    store: Store, snap: graph.GraphSnapshot, party_keys: Collection[str], *, at: datetime
) -> pl.DataFrame:
    """``graph.party_risk``'s rows for ``party_keys`` as of ``at``: the snapshot's for the
    parties it holds, and each other one (stored, first seen since the snapshot) placed in it
    (see the module)."""
    params = snap.params
    keys = sorted(set(party_keys))
    known = snap.scores.filter(pl.col("party_key").is_in(keys))
    new = sorted(set(keys) - set(known.get_column("party_key").to_list()))
    if not new:
        return known
    rows = reads.parties(store, new)
    if rows.is_empty():
        return known
    new = rows.get_column("party_key").to_list()
    pairs = _pairs(store, snap, new)
    kept = snap.nodes
    # An attribute held by one node at the snapshot links nobody there; shared with a
    # newcomer, it links now: its holder counts one more link.
    gained = (
        pairs.filter(pl.col("held") < 2)
        .select("node_b", "kind", "value")
        .unique()
        .group_by("node_b")
        .agg(pl.len().cast(pl.Int64).alias("_gained"))
    )
    flows = (
        pairs.join(kept.select(pl.col("node").alias("node_b"), "risk", "links"), on="node_b")
        .join(gained, on="node_b", how="left")
        .select(
            "node",
            (
                params.damping
                * pl.col("risk")
                / ((pl.col("links") + pl.col("_gained").fill_null(0)) * (pl.col("holders") - 1))
            ).alias("flow"),
        )  # fmt: skip
        .group_by("node")
        .agg(pl.col("flow").sum().alias("risk"))
    )
    young = pl.col("first_seen_at") >= at - timedelta(days=params.young_days)
    placed = (
        rows.select("party_key", "name", young.alias("young"))
        .join(flows.rename({"node": "party_key"}), on="party_key", how="left")
        .select(
            "party_key",
            "name",
            pl.col("risk").fill_null(0.0),
            "young",
            pl.lit(False).alias("seed"),
        )  # fmt: skip
        .join(_clusters(snap, pairs, new), on="party_key", how="left")
    )
    one = graph.one_link_reasons(pairs, snap.seeds)
    near = placed.filter(pl.col("risk") >= params.min_risk).select(
        pl.col("party_key").alias("node")
    )
    two = graph.two_link_reasons(
        pairs.join(near, on="node", how="semi"), snap.one,
        snap.scores.select(pl.col("party_key").alias("node"), "name"),
    )  # fmt: skip
    found = pl.concat([one, two]).unique("party_key", keep="first", maintain_order=True)
    cluster = graph.cluster_reasons(
        placed.filter(~pl.col("party_key").is_in(found.get_column("party_key").implode())),
        params,
    )
    placed = placed.join(pl.concat([found, cluster]), on="party_key", how="left")
    return pl.concat([known, placed.select(known.columns).cast(known.schema)]).sort("party_key")


def _pairs(store: Store, snap: graph.GraphSnapshot, new: list[str]) -> pl.DataFrame:
    """``node`` (a newcomer), ``node_b`` (another node holding one of its linking
    attributes), ``kind``, ``value``, ``shown`` (as the newcomer declared it), ``holders`` (how
    many nodes hold it now) and ``held`` (how many held it at the snapshot)."""
    params = snap.params
    neighbourhood.index_parties(store, params)
    # A newcomer is first seen after the snapshot: every consignment naming it was stored
    # since (a party is stored with its first consignment).
    boxes = neighbourhood.box_attributes(store, new, params, received_after=snap.at)
    shared = pl.concat([
        neighbourhood.shared_keys(store, new, params),
        boxes.join(boxes.group_by("kind", "value").agg(pl.col("node").n_unique().alias("_n")),
                   on=["kind", "value"]).cast({"_n": pl.UInt32}),
    ]).unique(["node", "kind", "value"], maintain_order=True)  # fmt: skip
    own = shared.filter(pl.col("node").is_in(new)).select("node", "kind", "value", "shown")
    wanted = own.select("kind", "value").unique()
    then = snap.holders.join(wanted, on=["kind", "value"], how="semi")
    holders = pl.concat(
        [shared.select("node", "kind", "value"), then.select("node", "kind", "value")]
    ).unique()
    counts = (
        holders.group_by("kind", "value")
        .agg(pl.col("node").n_unique().cast(pl.Int64).alias("holders"))
        .join(
            shared.group_by("kind", "value").agg(pl.col("_n").max().cast(pl.Int64)),
            on=["kind", "value"],
            how="left",
        )  # fmt: skip
        .join(
            then.group_by("kind", "value").agg(
                pl.col("node").n_unique().cast(pl.Int64).alias("held")
            ),
            on=["kind", "value"],
            how="left",
        )  # fmt: skip
        .select(
            "kind",
            "value",
            pl.max_horizontal("holders", pl.col("_n").fill_null(0)).alias("holders"),
            pl.col("held").fill_null(0),
        )  # fmt: skip
        .filter(pl.col("holders").is_between(2, params.max_shared))
    )
    return (
        own.join(counts, on=["kind", "value"])
        .join(holders.rename({"node": "node_b"}), on=["kind", "value"])
        .filter(pl.col("node") != pl.col("node_b"))
        .select("node", "node_b", "kind", "value", "shown", "holders", "held")
        .sort("node", "kind", "value", "node_b")
    )


def _clusters(snap: graph.GraphSnapshot, pairs: pl.DataFrame, new: list[str]) -> pl.DataFrame:
    """``party_key``, ``cluster_size``, ``cluster_young`` of each newcomer: the kept clusters
    it links to, directly or through other newcomers, and the newcomers among them (young)."""
    component = dict(snap.nodes.drop_nulls("component").select("node", "component").iter_rows())
    sizes = {c: (s, y) for c, s, y in snap.components.iter_rows()}
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def vertex(node: str) -> str | None:
        if node in component:
            return f"kept:{component[node]}"
        return None if node.startswith("entry:") else f"new:{node}"

    for key in new:
        root(f"new:{key}")
    for a, b in pairs.select("node", "node_b").iter_rows():
        other = vertex(b)
        if other is not None:
            parent[root(f"new:{a}")] = root(other)
    members: dict[str, list[str]] = {}
    for v in list(parent):
        members.setdefault(root(v), []).append(v)
    size, young = {}, {}
    for group in members.values():
        kept = [sizes[int(v[5:])] for v in group if v.startswith("kept:")]
        newcomers = sum(1 for v in group if v.startswith("new:"))
        for v in group:
            size[v] = sum(s for s, _ in kept) + newcomers
            young[v] = sum(y for _, y in kept) + newcomers
    return pl.DataFrame(
        {
            "party_key": new,
            "cluster_size": [size[f"new:{k}"] for k in new],
            "cluster_young": [young[f"new:{k}"] for k in new],
        },
        schema={"party_key": pl.String, "cluster_size": pl.Int64, "cluster_young": pl.Int64},
    )
