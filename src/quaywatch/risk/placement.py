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
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import polars as pl

from quaywatch.risk import graph, neighbourhood
from quaywatch.store import reads
from quaywatch.store.store import Store

#: Snapshots kept per store: today's, and a few past days' for a live run over a period.
KEPT_PER_STORE = 4


class _Kept:
    """One store's snapshots, newest asked last, and the lock under which they are made."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.snapshots: OrderedDict[datetime, graph.GraphSnapshot] = OrderedDict()


_kept: weakref.WeakKeyDictionary[Store, _Kept] = weakref.WeakKeyDictionary()
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
    kept with the last few asked of this store. Callers asking at once for one not kept yet
    wait for the first one's: the graph is read and propagated once."""
    params = params or graph.GraphParams()
    with _lock:
        kept = _kept.setdefault(store, _Kept())
    with kept.lock:
        found = kept.snapshots.get(at)
        if found is None or found.params != params:
            known = outcomes()
            found = graph.snapshot(
                data(), known.filter(pl.col("known_at") < at), at=at, entries=entries(),
                params=params,
            )  # fmt: skip
            kept.snapshots[at] = found
        kept.snapshots.move_to_end(at)
        while len(kept.snapshots) > KEPT_PER_STORE:
            kept.snapshots.popitem(last=False)
        return found


def place(
    store: Store,
    snap: graph.GraphSnapshot,
    party_keys: Mapping[str, datetime],
    *,
    at: datetime,
) -> pl.DataFrame:
    """``graph.party_risk``'s rows as of ``at`` for the parties of ``party_keys`` (each with
    the earliest lodging of the consignments it is assessed on): the snapshot's for the
    parties it holds, and each other one placed in it (see the module). Nothing stored or
    lodged after ``at`` counts: a run as of a past moment places as it would have then."""
    params = snap.params
    keys = sorted(party_keys)
    known = snap.scores.filter(pl.col("party_key").is_in(keys))
    new = sorted(set(keys) - set(known.get_column("party_key").to_list()))
    if not new:
        return known
    # First seen as the graph sees a party (``graph.load``): stored, or lodged if earlier.
    lodged = pl.DataFrame(
        {"party_key": new, "_lodged": [party_keys[k] for k in new]},
        schema={"party_key": pl.String, "_lodged": pl.Datetime("us", "UTC")},
    )
    rows = (
        reads.parties(store, new)
        .join(lodged, on="party_key", how="left")
        .with_columns(pl.min_horizontal("first_seen_at", "_lodged").alias("first_seen_at"))
        .filter(pl.col("first_seen_at") <= at)
    )
    if rows.is_empty():
        return known
    new = rows.get_column("party_key").to_list()
    own, holders, counts = _attributes(store, snap, new, at=at)
    pairs = _pairs(own, holders, counts, params)
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
    # One that linked there and newcomers make too common links nobody now: one link fewer.
    lost = (
        _crowded(holders, counts, params)
        .join(kept.select(pl.col("node").alias("node_b")), on="node_b", how="semi")
        .group_by("node_b")
        .agg((-pl.len().cast(pl.Int64)).alias("_lost"))
    )
    flows = (
        pairs.join(kept.select(pl.col("node").alias("node_b"), "risk", "links"), on="node_b")
        .join(gained, on="node_b", how="left")
        .join(lost, on="node_b", how="left")
        .with_columns(
            (pl.col("links") + pl.col("_gained").fill_null(0) + pl.col("_lost").fill_null(0))
            .clip(lower_bound=1)
            .alias("_links")
        )  # fmt: skip
        .select(
            "node",
            (params.damping * pl.col("risk") / (pl.col("_links") * (pl.col("holders") - 1))).alias(
                "flow"
            ),
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


def _attributes(
    store: Store, snap: graph.GraphSnapshot, new: list[str], *, at: datetime
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The newcomers' attributes (``node``, ``kind``, ``value``, ``shown``), every node
    holding one of them at ``at`` (``node``, ``kind``, ``value``: stored parties by index, the
    snapshot's parties and entries), and per attribute ``holders`` (how many nodes hold it at
    ``at``) and ``held`` (how many held it at the snapshot)."""
    params = snap.params
    neighbourhood.index_parties(store)
    # A newcomer is first seen after the snapshot: every consignment naming it was stored
    # since (a party is stored with its first consignment).
    boxes = neighbourhood.box_attributes(
        store, new, params, received_after=snap.at, lodged_until=at
    )
    shared = pl.concat([
        neighbourhood.shared_keys(store, new, params),
        boxes.join(boxes.group_by("kind", "value").agg(pl.col("node").n_unique().alias("_n")),
                   on=["kind", "value"]).cast({"_n": pl.UInt32}),
    ]).unique(["node", "kind", "value"], maintain_order=True)  # fmt: skip
    # Parties neither in the snapshot nor placed now hold an attribute only if seen by ``at``.
    others = set(shared.get_column("node").to_list()) - set(new)
    others -= set(snap.nodes.get_column("node").to_list())
    if others:
        seen = reads.parties(store, sorted(others)).filter(pl.col("first_seen_at") <= at)
        late = others - set(seen.get_column("party_key").to_list())
        shared = shared.filter(~pl.col("node").is_in(sorted(late)))
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
        )
        .join(
            then.group_by("kind", "value").agg(
                pl.col("node").n_unique().cast(pl.Int64).alias("held")
            ),
            on=["kind", "value"],
            how="left",
        )
        .select(
            "kind",
            "value",
            # An attribute held too widely to link is not expanded by the index: its count
            # says so (``neighbourhood.shared_keys``).
            pl.max_horizontal("holders", pl.col("_n").fill_null(0)).alias("holders"),
            pl.col("held").fill_null(0),
        )
    )
    return own, holders, counts


def _pairs(
    own: pl.DataFrame, holders: pl.DataFrame, counts: pl.DataFrame, params: graph.GraphParams
) -> pl.DataFrame:
    """``node`` (a newcomer), ``node_b`` (another node holding one of its linking
    attributes), ``kind``, ``value``, ``shown`` (as the newcomer declared it), ``holders`` and
    ``held`` (``_attributes``)."""
    linking = counts.filter(pl.col("holders").is_between(2, params.max_shared))
    return (
        own.join(linking, on=["kind", "value"])
        .join(holders.rename({"node": "node_b"}), on=["kind", "value"])
        .filter(pl.col("node") != pl.col("node_b"))
        .select("node", "node_b", "kind", "value", "shown", "holders", "held")
        .sort("node", "kind", "value", "node_b")
    )


def _crowded(holders: pl.DataFrame, counts: pl.DataFrame, params: graph.GraphParams) -> (
    pl.DataFrame
):  # fmt: skip
    """``node_b``, ``kind``, ``value``: the snapshot's nodes holding an attribute that linked
    there and that the newcomers make too common to link."""
    crowded = counts.filter(
        pl.col("held").is_between(2, params.max_shared) & (pl.col("holders") > params.max_shared)
    )
    return holders.join(crowded.select("kind", "value"), on=["kind", "value"]).select(
        pl.col("node").alias("node_b"), "kind", "value"
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
