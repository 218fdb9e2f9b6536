"""A party's neighbourhood in the party graph: the parties it shares something with, and
those they share something with in turn, each link named by what is shared.

The links are the graph's own (``risk.graph``): the same normalised address, phone, e-mail or
EORI (``graph.attributes``), or containers two consignees used within
``GraphParams.container_window_days`` of each other; an attribute shared by more than
``GraphParams.max_shared`` parties (a registered agent's address, a broker's switchboard)
links no one, and ``identifiers`` says so for the reviewed party's own.

Only what the walk needs is read: the linking keys of the parties on the walk's edge and the
parties sharing them, looked up in ``party_link_keys`` by their index (a phone written two ways
is the same phone only once normalised: the keys are kept normalised, by ``index_parties``,
which keys the parties of each import batch not keyed yet before a walk), the containers of the
parties on the edge and every other consignee's use of those boxes (newest consignment
versions, as the graph reads them), and the rows of the parties reached. No control outcome,
score or history, and no other party.

The walk is bounded: ``hops`` links out, and at most ``limit`` parties kept besides the one
reviewed: nearer ones first, then those with more links to the parties kept one hop nearer,
then by name. ``found`` counts every party reached, kept or not.

>>> near = neighbourhood(store, "bb71ac282b8c2fbc79dd587204ae1ab1", hops=2, limit=40)  # doctest: +SKIP
>>> near.links.columns  # doctest: +SKIP
['source', 'target', 'kind', 'shown', 'hop']
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import exists, func, insert, select, tuple_

from quaywatch.errors import NotFoundError, WriteConflictError
from quaywatch.risk import graph
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

_ATTRIBUTES = {"node": pl.String, "kind": pl.String, "value": pl.String, "shown": pl.String}


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """The reviewed party and the parties kept around it.

    ``parties``: their rows of the parties table (``batch_id`` left out) with ``hop`` (0 for the
    reviewed party), nearest first, in the order kept. ``links``: ``source`` (the party one hop
    nearer), ``target``, ``kind`` (``address``, ``phone``, ``email``, ``eori``,
    ``container``), ``shown`` (the value as the source declared it), ``hop`` (the target's).
    ``identifiers``: the reviewed party's own attributes, ``kind``, ``shown``, ``shared_with``
    (other parties sharing it) and ``linking`` (whether it links: shared, and by no more than
    ``max_shared`` parties). ``found``: parties reached within the hops, kept or not.
    """

    parties: pl.DataFrame
    links: pl.DataFrame
    identifiers: pl.DataFrame
    found: int


def neighbourhood(
    store: Store,
    party_key: str,
    *,
    hops: int = 2,
    limit: int = 40,
    params: graph.GraphParams | None = None,
) -> Neighbourhood:
    """The parties within ``hops`` links of ``party_key``, at most ``limit`` of them kept (see
    the module). ``NotFoundError`` if no such party is stored."""
    if hops < 1:
        raise ValueError(f"hops must be at least 1, got {hops}")
    params = params or graph.GraphParams()
    if reads.parties(store, [party_key]).is_empty():
        raise NotFoundError(f"no party {party_key}")
    index_parties(store)
    reached: dict[str, int] = {party_key: 0}
    frontier = [party_key]
    walked: list[pl.DataFrame] = []
    identifiers = pl.DataFrame()
    for hop in range(1, hops + 1):
        if not frontier:
            break
        boxes = box_attributes(store, frontier, params)
        counted = pl.concat([
            shared_keys(store, frontier, params),
            boxes.join(boxes.group_by("kind", "value").agg(pl.col("node").n_unique().alias("_n")),
                       on=["kind", "value"]),
        ]).unique(["node", "kind", "value"], maintain_order=True)  # fmt: skip
        if hop == 1:
            identifiers = _identifiers(counted, party_key, params)
        linking = counted.filter(pl.col("_n").is_between(2, params.max_shared)).drop("_n")
        pairs = (
            linking.filter(pl.col("node").is_in(frontier))
            .join(
                linking.select("kind", "value", pl.col("node").alias("target")),
                on=["kind", "value"],
            )
            .filter(~pl.col("target").is_in(list(reached)))
            .select(
                pl.col("node").alias("source"),
                "target",
                "kind",
                "shown",
                pl.lit(hop, pl.Int64).alias("hop"),
            )
            .unique(maintain_order=True)
        )
        walked.append(pairs)
        frontier = pairs.get_column("target").unique().sort().to_list()
        reached.update(dict.fromkeys(frontier, hop))
    links = pl.concat(walked)
    parties = reads.parties(store, list(reached)).drop("batch_id")
    kept = _keep(links, parties, party_key, hops, limit)
    shown = links.filter(pl.col("source").is_in(kept) & pl.col("target").is_in(kept))
    order = pl.DataFrame({"party_key": kept, "hop": [reached[k] for k in kept]})
    return Neighbourhood(
        parties=order.join(parties, on="party_key", how="left", maintain_order="left"),
        links=shown.sort("hop", "source", "target", "kind", "shown"),
        identifiers=identifiers,
        found=len(reached) - 1,
    )


def index_parties(store: Store) -> int:
    """Key the parties of every import batch not keyed yet (``party_link_keys``: each one's
    normalised address, phone, e-mail and EORI, as ``graph.own_attributes`` makes them); how many
    batches were keyed. Two walks keying the same batch at once: the second's rows clash and
    are dropped (the first's stand)."""
    b, done, p = tables.import_batches, tables.party_link_batches, tables.parties
    with store.reading() as conn:
        batches = list(conn.execute(
            select(b.c.batch_id).where(~b.c.batch_id.in_(select(done.c.batch_id)))
        ).scalars())  # fmt: skip
    if not batches:
        return 0
    rows = reads.frame(store, select(*p.columns).where(p.c.batch_id.in_(batches)))
    keys = graph.own_attributes(rows).unique(["node", "kind", "value"], maintain_order=True)
    try:
        with store.transaction() as conn:
            if not keys.is_empty():
                conn.execute(insert(tables.party_link_keys), keys.rename(
                    {"node": "party_key"}).to_dicts())  # fmt: skip
            conn.execute(insert(done), [{"batch_id": batch} for batch in batches])
    except WriteConflictError:
        return 0
    return len(batches)


def shared_keys(store: Store, frontier: list[str], params: graph.GraphParams) -> pl.DataFrame:
    """``(node, kind, value, shown, _n)``: the linking keys of the ``frontier`` parties, and
    of every party sharing one that links (shared by at most ``max_shared``), each with how
    many parties hold it (``_n``). Index lookups only."""
    k = tables.party_link_keys
    schema = {**_ATTRIBUTES, "_n": pl.UInt32}
    own = reads.frame(store, select(k.c.party_key.label("node"), k.c.kind, k.c.value, k.c.shown)
                      .where(k.c.party_key.in_(frontier)))  # fmt: skip
    if own.is_empty():
        return pl.DataFrame(schema=schema)
    pairs = sorted({(r["kind"], r["value"]) for r in own.iter_rows(named=True)})
    held = reads.frame(store, (
        select(k.c.kind, k.c.value, func.count().label("_n"))
        .where(tuple_(k.c.kind, k.c.value).in_(pairs)).group_by(k.c.kind, k.c.value)
    ))  # fmt: skip
    linking = [(r["kind"], r["value"]) for r in held.iter_rows(named=True)
               if 2 <= r["_n"] <= params.max_shared]  # fmt: skip
    sharers = own.clear()
    if linking:
        sharers = reads.frame(store, (
            select(k.c.party_key.label("node"), k.c.kind, k.c.value, k.c.shown)
            .where(tuple_(k.c.kind, k.c.value).in_(linking))
        ))  # fmt: skip
    counts = held.with_columns(pl.col("_n").cast(pl.UInt32))
    return (
        pl.concat([own, sharers.cast(own.schema)])
        .join(counts, on=["kind", "value"])
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def _identifiers(counted: pl.DataFrame, party_key: str, params: graph.GraphParams) -> pl.DataFrame:
    """The reviewed party's attributes with how many other parties share each."""
    return (
        counted.filter(pl.col("node") == party_key)
        .select(
            "kind",
            "shown",
            (pl.col("_n") - 1).alias("shared_with"),
            pl.col("_n").is_between(2, params.max_shared).alias("linking"),
        )
        .sort("kind", "shown")
    )


def _keep(
    links: pl.DataFrame, parties: pl.DataFrame, party_key: str, hops: int, limit: int
) -> list[str]:
    """The reviewed party, then at most ``limit`` others: hop by hop, those with the most
    links to the parties kept one hop nearer first, then by name and key."""
    kept = [party_key]
    names = parties.select("party_key", "name")
    for hop in range(1, hops + 1):
        room = limit - (len(kept) - 1)
        if room <= 0:
            break
        ranked = (
            links.filter((pl.col("hop") == hop) & pl.col("source").is_in(kept))
            .group_by("target")
            .agg(pl.struct("source", "kind", "shown").n_unique().alias("_links"))
            .join(names, left_on="target", right_on="party_key", how="left")
            .sort(["_links", "name", "target"], descending=[True, False, False])
            .head(room)
        )
        kept.extend(ranked.get_column("target").to_list())
    return kept


def box_attributes(
    store: Store,
    keys: Collection[str],
    params: graph.GraphParams,
    *,
    received_after: datetime | None = None,
    lodged_until: datetime | None = None,
) -> pl.DataFrame:
    """The ``container`` attributes of every consignee that used a box these parties used (as
    consignee, in a consignment's newest version) within the window of another consignee;
    with ``received_after``, of the boxes of their consignments stored since then only (found
    by the index of ``received_at``, not among every consignment); with ``lodged_until``, of
    consignments lodged by then only."""
    c, k = tables.consignments, tables.containers
    newer = c.alias("newer")
    current = ~exists(
        select(newer.c.version).where(
            (newer.c.consignment_id == c.c.consignment_id) & (newer.c.version > c.c.version)
        )
    )
    on = (k.c.consignment_id == c.c.consignment_id) & (k.c.version == c.c.version)
    theirs = (
        select(k.c.container_number)
        .join_from(k, c, on)
        .where(c.c.consignee_key.in_(sorted(keys)) & current)
    )
    if received_after is not None:
        theirs = theirs.where(c.c.received_at > received_after)
    if lodged_until is not None:
        theirs = theirs.where(c.c.lodged_at <= lodged_until)
    used = k.c.container_number.in_(theirs) & current
    if lodged_until is not None:
        used = used & (c.c.lodged_at <= lodged_until)
    uses = reads.frame(
        store,
        select(k.c.container_number, c.c.lodged_at, c.c.consignee_key.label("party_key"))
        .join_from(k, c, on)
        .where(used),
    )
    if uses.is_empty():
        return pl.DataFrame(schema=_ATTRIBUTES)
    # Only the container links are wanted here: the users' own attributes are not normalised.
    found = graph.container_attributes(uses.drop_nulls("party_key"), params)
    return found.unique(["node", "kind", "value"], maintain_order=True).cast(
        _ATTRIBUTES  # type: ignore[arg-type]
    )
