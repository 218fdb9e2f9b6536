"""The party graph: traders linked by what they share, risk spread from known offenders.

A shell company is new and has no history of its own; what gives it away is what it shares
with an offender: the address it was registered at, the phone that answers, the e-mail domain,
an EORI, a container. This module links parties by those **attributes** and lets risk flow
from the parties known to be bad to everyone within a few links.

- **Attributes** (``attributes``): the normalised address, phone, e-mail and EORI of each party
  (``risk.screening.normalise``), and the containers two consignees used within
  ``container_window_days`` of each other (groupage, or a box passed on). An attribute links the
  parties that share it; one shared by more than ``max_shared`` parties (a registered agent's
  address, a broker's switchboard) links no one.
- **Offenders** (the seeds): the consignee (and, at ``consignor_seed``, the consignor) of every
  consignment whose control was a hit (``features.assessment.hit``) **known before** ``at``; and
  every entry of the watchlists published by then, as a node of its own carrying the listed
  address and identifiers (a party that shares the listed phone is linked to the entry even if
  the listed company never imported).
- **Propagation**: personalised PageRank over the graph of parties and attributes (a walk that
  goes from a party to one of its attributes, then to another party sharing it, and restarts
  at an offender with probability ``1 - damping`` at each hop), by scipy sparse power iteration. A party's
  ``risk`` is its visit rate scaled so that an offender of weight 1 starts at 1: a party that is
  the only one sharing an offender's only shared attribute gets ``damping`` (0.7), one reached
  through a busy attribute, from an offender with many links, or two links away, much less.
- **Young clusters**: connected groups of parties, at least two of them first seen in the last
  ``young_days``, flagged even with no offender among them: shell companies are set up in
  batches, next to each other.

Leak-free: only outcomes known before ``at``, watchlists published on or before its date, and
parties first seen at or before ``at``. A party is first seen when the first consignment naming
it was lodged (or when stored, if earlier): the store's ``first_seen_at`` is when intake stored
it, which for a back-filled history is the day of the import.

Every flagged party gets a reason in words: "shares phone +32 3 555 01 23 with Atlas Jade NV,
consignee of seizure S-123". ``graph_hits`` turns the scores into a hits frame (``risk.hits``)
whose ``code`` is ``graph:<kind>``: the link (``address``, ``phone``, ``email``, ``eori``,
``container``), ``offender`` for a party that is itself a seed, ``cluster`` for a young cluster.
``party_risk`` is the per-party frame a model can use as a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from quaywatch.errors import said
from quaywatch.features.assessment import hit
from quaywatch.risk import hits as hits_frame
from quaywatch.risk.explain import Source
from quaywatch.risk.screening import ROLES, normalise as nz, party_roles, watchlist_entries
from quaywatch.risk.wording import Worded, chosen, worded, words
from quaywatch.store import reads, tables
from quaywatch.store.reads import frame as read_frame
from quaywatch.store.store import Store

LINK_KINDS = ("address", "phone", "email", "eori", "container")
_ROLE_FACTOR = {"consignee": 1.0, "consignor": 1.0, "declarant": 0.6, "notify party": 0.6}
#: The words of a sentence that translate (``risk.wording.words``): the roles, what a control
#: found, the kinds of a shared detail (an EORI is a code).
_ROLES = list(_ROLE_FACTOR)
_OUTCOMES = [said("seizure"), said("irregularity")]
_KINDS = [said("address"), said("phone"), said("e-mail"), said("container")]


@dataclass(frozen=True, slots=True)
class GraphParams:
    """How the graph is built and read; the defaults are tuned on the synthetic traffic."""

    damping: float = 0.7
    iterations: int = 60
    max_shared: int = 50
    container_window_days: float = 21.0
    young_days: float = 14.0
    consignor_seed: float = 0.5
    #: Propagated risk from which a party is flagged.
    min_risk: float = 0.05
    #: Hit weight (log-odds) = cap of the link's kind × (1 − exp(−risk / ``weight_scale``)).
    #: The caps are the weights fitted on a calibration run of generated traffic (seed 3,
    #: ``benchmarks/hit_weights.py``, given the model): a shared phone or address says more
    #: than a shared e-mail domain; ``offender`` (the party is itself a seed) adds nothing the
    #: model's track record and screening do not already say (its precision was below the
    #: base rate). ``container`` never occurs in generated traffic: a judgment.
    weight_caps: tuple[tuple[str, float], ...] = (
        ("address", 1.5), ("phone", 2.0), ("email", 0.3), ("eori", 0.9), ("container", 1.5),
        ("offender", 0.0),
    )  # fmt: skip
    weight_scale: float = 0.25
    #: Weight of a young cluster (fitted as the caps: 68 % of them were shell companies).
    cluster_weight: float = 3.5


@dataclass(frozen=True, slots=True)
class GraphData:
    """What the graph is built from (``load``): parties, who appears on what, containers."""

    parties: pl.DataFrame  # the parties table, first_seen_at = first lodged if earlier
    roles: pl.DataFrame  # consignment_id, version, lodged_at, role, party_key
    containers: pl.DataFrame  # container_number, lodged_at, party_key (the consignee)


def load(store: Store) -> GraphData:
    """Read the graph's inputs from the store (newest version of every consignment)."""
    keys = [f"{role}_key" for role in ROLES if f"{role}_key" in tables.consignments.c]
    consignments = reads.latest_consignments(
        store, columns=["consignment_id", "version", "lodged_at", *keys]
    )
    roles = party_roles(consignments).join(
        consignments.select("consignment_id", "version", "lodged_at"),
        on=["consignment_id", "version"],
    )
    first = roles.group_by("party_key").agg(pl.col("lodged_at").min().alias("_first"))
    parties = (
        reads.parties(store)
        .join(first, on="party_key", how="left")
        .with_columns(pl.min_horizontal("first_seen_at", "_first").alias("first_seen_at"))
        .drop("_first", "batch_id")
    )
    k = tables.containers
    boxes = read_frame(store, k.select().with_only_columns(k.c.consignment_id, k.c.version,
                                                       k.c.container_number))  # fmt: skip
    containers = boxes.join(consignments.select("consignment_id", "version", "lodged_at",
                                                pl.col("consignee_key").alias("party_key")),
                            on=["consignment_id", "version"])  # fmt: skip
    return GraphData(parties, roles, containers.select("container_number", "lodged_at",
                                                       "party_key"))  # fmt: skip


def attributes(
    parties: pl.DataFrame, containers: pl.DataFrame, params: GraphParams
) -> pl.DataFrame:
    """``(node, kind, value, shown)``: the linking attributes of each party node."""
    uses = containers.join(parties.select("party_key"), on="party_key", how="semi")
    boxes = container_attributes(uses, params)
    return pl.concat([own_attributes(parties), boxes]).unique(
        ["node", "kind", "value"], maintain_order=True
    )


def own_attributes(parties: pl.DataFrame) -> pl.DataFrame:
    """``(node, kind, value, shown)``: each party's normalised address, phone, e-mail and EORI
    (``kind`` in that order, party by party within a kind), the blank ones left out.

    One query, run by the engine of polars' eager operations (the streaming engine's start
    costs more than the work on the few parties of a filing, ``risk.neighbourhood``)."""
    keyed = {
        "address": nz.address_key_expr, "phone": nz.phone_key_expr,
        "email": nz.email_key_expr, "eori": nz.eori_key_expr,
    }  # fmt: skip
    return (
        pl.concat(
            parties.lazy().select(
                pl.col("party_key").alias("node"),
                pl.lit(kind).alias("kind"),
                key(pl.col(kind)).alias("value"),
                pl.col(kind).alias("shown"),
            )  # fmt: skip
            for kind, key in keyed.items()
        )
        .filter(pl.col("value") != "")
        .collect(engine="in-memory")
    )


def container_attributes(uses: pl.DataFrame, params: GraphParams) -> pl.DataFrame:
    """``(node, kind, value, shown)``: a ``container`` attribute (the box's number) for each
    party of ``uses`` (``container_number``, ``lodged_at``, ``party_key``) per use of a box
    another party used within ``container_window_days``, repeats kept."""
    window = timedelta(days=params.container_window_days)
    pairs = uses.join(uses, on="container_number", suffix="_b").filter(
        (pl.col("party_key") != pl.col("party_key_b"))
        & ((pl.col("lodged_at") - pl.col("lodged_at_b")).abs() <= window)
    )
    return pairs.select(pl.col("party_key").alias("node"), pl.lit("container").alias("kind"),
                        pl.col("container_number").alias("value"),
                        pl.col("container_number").alias("shown"))  # fmt: skip


def _entry_nodes(entries: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Watchlist entries as seed nodes (``node``, ``weight``, ``evidence``) and attributes."""
    node = pl.format("entry:{}:{}", "watchlist_id", "entry_id").alias("node")
    seeds = entries.select(node, pl.lit(1.0).alias("weight"), *worded(
        "'%(name)s' on watchlist %(list)s", name="name", list="watchlist_id",
    ).columns("evidence", "evidence_said"))  # fmt: skip
    address = entries.select(node, pl.lit("address").alias("kind"),
                             nz.address_key_expr(pl.col("address")).alias("value"),
                             pl.col("address").alias("shown"))  # fmt: skip
    ids = entries.select(node, pl.col("identifiers").str.split("|").alias("shown")).explode(
        "shown").drop_nulls()  # fmt: skip
    kinds = [nz.identifier_kind(v) for v in ids["shown"]]
    ids = ids.with_columns(
        pl.Series("kind", [k[0] if k else None for k in kinds], pl.String),
        pl.Series("value", [k[1] if k else "" for k in kinds], pl.String),
    ).select("node", "kind", "value", "shown")
    return seeds, pl.concat([address, ids]).filter(pl.col("value") != "")


def _outcome_seeds(
    roles: pl.DataFrame, outcomes: pl.DataFrame, at: datetime, params: GraphParams
) -> pl.DataFrame:
    """Parties on consignments with a hit known before ``at``: node, weight, evidence."""
    hits = outcomes.filter((pl.col("known_at") < at) & hit()).select(
        "consignment_id", "version", "control_id", "known_at",
        pl.when(pl.col("result") == "SEIZURE").then(pl.lit("seizure"))
        .otherwise(pl.lit("irregularity")).alias("_what"),
    )  # fmt: skip
    factor = pl.when(pl.col("role") == "consignee").then(1.0).otherwise(params.consignor_seed)
    return (
        hits.join(
            roles.filter(pl.col("role").is_in(["consignee", "consignor"])),
            on=["consignment_id", "version"],
        )  # fmt: skip
        .with_columns(
            factor.alias("weight"),
            *worded(
                "%(role)s of %(what)s %(control)s",
                role=words(pl.col("role"), _ROLES),
                what=words(pl.col("_what"), _OUTCOMES),
                control="control_id",
            ).columns("evidence", "evidence_said"),
        )  # fmt: skip
        .sort(["party_key", "weight", "known_at"], descending=[False, True, False])
        .group_by("party_key", maintain_order=True)
        .first()
        .select(pl.col("party_key").alias("node"), "weight", "evidence", "evidence_said")
    )


def _propagate(
    nodes: list[str], attrs: pl.DataFrame, seeds: pl.DataFrame, params: GraphParams
) -> np.ndarray:
    """Personalised PageRank from ``seeds`` over the node-attribute graph, per node."""
    index = {name: i for i, name in enumerate(nodes)}
    n = len(nodes)
    values = attrs.select("kind", "value").unique(maintain_order=True).with_row_index("_a")
    links = attrs.join(values, on=["kind", "value"])
    node_ix = np.array([index[v] for v in links["node"]], dtype=np.int64)
    attr_ix = links["_a"].to_numpy().astype(np.int64)
    m = values.height
    incidence = sparse.csr_matrix((np.ones(len(node_ix)), (node_ix, attr_ix)), shape=(n, m))
    # One hop: from a node to one of its attributes (uniformly), then to one of the *other*
    # nodes sharing it (uniformly); the self-loop is taken out so that no mass flows back.
    out_deg = np.asarray(incidence.sum(axis=1)).ravel()
    in_deg = np.asarray(incidence.sum(axis=0)).ravel()
    to_attr = sparse.diags(1.0 / np.maximum(out_deg, 1)) @ incidence
    to_other = sparse.diags(1.0 / np.maximum(in_deg - 1, 1)) @ incidence.T
    hop = (to_attr @ to_other).tocsr()
    hop = hop - sparse.diags(hop.diagonal())
    start = np.zeros(n)
    start[[index[v] for v in seeds["node"]]] = seeds["weight"].to_numpy()
    rank = start.copy()
    alpha = params.damping
    step = hop.T.tocsr()
    for _ in range(params.iterations):
        nxt = (1 - alpha) * start + alpha * (step @ rank)
        done = np.abs(nxt - rank).sum() < 1e-9 * max(start.sum(), 1.0)
        rank = nxt
        if done:
            break
    result: np.ndarray = rank / (1 - alpha)
    return result


@dataclass(frozen=True, slots=True)
class GraphSnapshot:
    """The party graph as of ``at`` (``snapshot``): every party's score, and what placing a
    party first seen since needs (``risk.placement``).

    ``scores``: ``party_risk``'s frame. ``holders``: every attribute held at ``at`` by a
    party or a watchlist entry (``node``, ``kind``, ``value``, ``shown``), linking or not.
    ``nodes``: per node of the propagation (parties and entries), ``risk``, ``links`` (how
    many of its attributes link) and, for parties, ``component`` (its connected group).
    ``seeds``: the offenders, ``node``, ``weight`` and ``about``/``about_said`` (who they are
    and why, as reasons name them). ``one``: the parties one shared attribute away from an
    offender, ``party_key``, ``kind``, ``reason``, ``reason_said``. ``components``:
    ``component``, ``size``, ``young``.
    """

    at: datetime
    params: GraphParams
    scores: pl.DataFrame
    holders: pl.DataFrame
    nodes: pl.DataFrame
    seeds: pl.DataFrame
    one: pl.DataFrame
    components: pl.DataFrame


def party_risk(
    data: GraphData,
    outcomes: pl.DataFrame,
    *,
    at: datetime,
    entries: pl.DataFrame | None = None,
    params: GraphParams | None = None,
) -> pl.DataFrame:
    """Per party first seen at or before ``at``: propagated risk, young cluster, reason.

    ``outcomes`` are control outcomes (``store.reads.control_outcomes``; only those known
    before ``at`` are used), ``entries`` watchlist entries (``screening.watchlist_entries``;
    only lists published by ``at`` are used). Columns: ``party_key``, ``name``, ``risk``,
    ``seed`` (an offender itself), ``kind``, ``reason`` (null when nothing links the party),
    ``young``, ``cluster_size`` and ``cluster_young`` (parties, and young ones, in its cluster).
    """
    return snapshot(data, outcomes, at=at, entries=entries, params=params).scores


def snapshot(
    data: GraphData,
    outcomes: pl.DataFrame,
    *,
    at: datetime,
    entries: pl.DataFrame | None = None,
    params: GraphParams | None = None,
) -> GraphSnapshot:
    """The graph as of ``at`` (``party_risk``'s scores and what ``GraphSnapshot`` keeps)."""
    params = params or GraphParams()
    parties = data.parties.filter(pl.col("first_seen_at") <= at)
    attrs = attributes(parties, data.containers.filter(pl.col("lodged_at") <= at), params)
    seeds = _outcome_seeds(data.roles, outcomes, at, params).join(
        parties.select(pl.col("party_key").alias("node")), on="node", how="semi"
    )
    if entries is not None and entries.height:
        listed = entries.filter(pl.col("list_date") <= at.date())
        entry_seeds, entry_attrs = _entry_nodes(listed)
        seeds, attrs = pl.concat([seeds, entry_seeds]), pl.concat([attrs, entry_attrs])
    holders = attrs
    shared = attrs.group_by("kind", "value").agg(pl.col("node").n_unique().alias("_d"))
    attrs = attrs.join(shared.filter(pl.col("_d").is_between(2, params.max_shared)),
                       on=["kind", "value"]).drop("_d")  # fmt: skip
    nodes = [*parties["party_key"].to_list(), *seeds.filter(
        pl.col("node").str.starts_with("entry:"))["node"].to_list()]  # fmt: skip
    ranked = _propagate(nodes, attrs, seeds, params)
    risk = ranked[: parties.height]
    young = parties["first_seen_at"] >= at - timedelta(days=params.young_days)
    scores = parties.select("party_key", "name").with_columns(
        pl.Series("risk", risk, pl.Float64), pl.Series("young", young, pl.Boolean),
        pl.col("party_key").is_in(seeds["node"].implode()).alias("seed"),
    )  # fmt: skip
    clusters = _clusters(parties, attrs, young.to_numpy())
    scores = scores.join(clusters.drop("component", "young_member"), on="party_key", how="left")
    explained, seed_text, one = _explain(scores, attrs, seeds, params)
    links = attrs.group_by("node").agg(pl.len().cast(pl.Int64).alias("links"))
    node_frame = (
        pl.DataFrame({"node": nodes, "risk": ranked}, schema={"node": pl.String, "risk": pl.Float64})
        .join(links, on="node", how="left")
        .join(clusters.select(pl.col("party_key").alias("node"), "component"), on="node",
              how="left")
        .with_columns(pl.col("links").fill_null(0))
    )  # fmt: skip
    components = clusters.group_by("component").agg(
        pl.len().cast(pl.Int64).alias("size"),
        pl.col("young_member").cast(pl.Int64).sum().alias("young"),
    )
    return GraphSnapshot(
        at=at, params=params,
        scores=scores.join(explained, on="party_key", how="left"),
        holders=holders, nodes=node_frame, seeds=seed_text, one=one,
        components=components,
    )  # fmt: skip


def _clusters(parties: pl.DataFrame, attrs: pl.DataFrame, young: np.ndarray) -> pl.DataFrame:
    """``cluster_size`` and ``cluster_young`` per party: its connected component's counts;
    ``component`` (the component's number) and ``young_member`` (the party is young)."""
    keys = parties["party_key"]
    index = pl.DataFrame({"node": keys, "_i": np.arange(len(keys))})
    links = attrs.join(index, on="node").with_columns(
        (pl.struct("kind", "value").rank("dense").cast(pl.Int64) - 1).alias("_a")
    )
    n, m = len(keys), int(links["_a"].to_numpy().max()) + 1 if links.height else 0
    incidence = sparse.csr_matrix(
        (np.ones(links.height), (links["_i"].to_numpy(), links["_a"].to_numpy())), shape=(n, m)
    )
    _, label = connected_components(incidence @ incidence.T, directed=False)
    size = np.bincount(label)
    young_count = np.bincount(label, weights=young.astype(float))
    return pl.DataFrame({"party_key": keys, "cluster_size": size[label],
                         "cluster_young": young_count[label].astype(np.int64),
                         "component": label.astype(np.int64), "young_member": young})  # fmt: skip


def _explain(
    scores: pl.DataFrame, attrs: pl.DataFrame, seeds: pl.DataFrame, params: GraphParams
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Per flagged party, its ``kind`` and ``reason``: the shortest link to an offender; and
    what placing a later party reuses: each seed's ``about`` (who it is and why) and the
    one-link reasons."""
    named = pl.concat(
        [
            scores.select(pl.col("party_key").alias("node"), "name"),
            seeds.filter(pl.col("node").str.starts_with("entry:")).select(
                "node", pl.lit(None, pl.String).alias("name")
            ),  # fmt: skip
        ]
    )
    evidence = Worded(pl.col("evidence"), pl.col("evidence_said"))
    seed_text = seeds.join(named, on="node", how="left").select(
        "node", "weight",
        *chosen(pl.col("name").is_null(), evidence,
                worded("%(name)s, %(evidence)s", name="name", evidence=evidence),
                ).columns("about", "about_said"),
    )  # fmt: skip
    pairs = attrs.join(attrs, on=["kind", "value"], suffix="_b").filter(
        pl.col("node") != pl.col("node_b")
    )
    one = one_link_reasons(pairs, seed_text)
    near = scores.filter(pl.col("risk") >= params.min_risk)
    two = two_link_reasons(
        pairs.join(near.select(pl.col("party_key").alias("node")), on="node", how="semi"),
        one, named,
    )  # fmt: skip
    own = seeds.filter(~pl.col("node").str.starts_with("entry:")).select(
        pl.col("node").alias("party_key"), pl.lit("offender").alias("kind"),
        *worded("was %(evidence)s", evidence=evidence).columns("reason", "reason_said"),
    )  # fmt: skip
    found = pl.concat([own, one, two]).unique("party_key", keep="first", maintain_order=True)
    cluster = cluster_reasons(
        scores.filter(~pl.col("party_key").is_in(found["party_key"].implode())), params
    )
    return pl.concat([found, cluster]), seed_text, one


def _link_label() -> Worded:
    return words(pl.col("kind").replace_strict({"email": "e-mail", "eori": "EORI"},
                                               default=pl.col("kind")), _KINDS)  # fmt: skip


def one_link_reasons(pairs: pl.DataFrame, seeds: pl.DataFrame) -> pl.DataFrame:
    """Per ``node`` of ``pairs`` (``node``, ``node_b``, ``kind``, ``shown``: ``node`` shares
    ``shown`` with ``node_b``) that shares an attribute with an offender of ``seeds``
    (``GraphSnapshot.seeds``): ``party_key``, ``kind``, ``reason``, ``reason_said`` of its link
    to the heaviest one."""
    return (
        pairs.join(seeds, left_on="node_b", right_on="node")
        .with_columns(*worded("shares %(what)s %(value)s with %(about)s", what=_link_label(),
                              value="shown", about=Worded(pl.col("about"), pl.col("about_said")),
                              ).columns("reason", "reason_said"))
        .sort(["node", "weight"], descending=[False, True])
        .group_by("node", maintain_order=True).first()
        .select(pl.col("node").alias("party_key"), "kind", "reason", "reason_said")
    )  # fmt: skip


def two_link_reasons(pairs: pl.DataFrame, one: pl.DataFrame, named: pl.DataFrame) -> pl.DataFrame:
    """Per ``node`` of ``pairs`` (as ``one_link_reasons``) sharing an attribute with a party of
    ``one`` (``one_link_reasons``' frame): its link through that party, named from ``named``
    (``node``, ``name``)."""
    return (
        pairs.join(one.select(pl.col("party_key").alias("node_b"), pl.col("reason").alias("_via"),
                              pl.col("reason_said").alias("_via_said")), on="node_b")
        .join(named.select(pl.col("node").alias("node_b"), pl.col("name").alias("_b")),
              on="node_b")
        .with_columns(*worded("shares %(what)s %(value)s with %(other)s, which %(via)s",
                              what=_link_label(), value="shown", other="_b",
                              via=Worded(pl.col("_via"), pl.col("_via_said")),
                              ).columns("reason", "reason_said"))
        .group_by("node", maintain_order=True).first()
        .select(pl.col("node").alias("party_key"), "kind", "reason", "reason_said")
    )  # fmt: skip


def cluster_reasons(scores: pl.DataFrame, params: GraphParams) -> pl.DataFrame:
    """The ``cluster`` reason of each young party of ``scores`` (``party_key``, ``young``,
    ``cluster_size``, ``cluster_young``) in a cluster of at least two."""
    return scores.filter(pl.col("young") & (pl.col("cluster_size") >= 2)).select(
        "party_key", pl.lit("cluster").alias("kind"),
        *worded("was first seen in the last %(days)s days and shares contact details with %(n)s "
                "other parties (%(young)s of them as new)", days=pl.lit(int(params.young_days)),
                n=pl.col("cluster_size") - 1, young=pl.col("cluster_young") - 1,
                ).columns("reason", "reason_said"),
    )  # fmt: skip


def graph_hits(
    consignments: pl.DataFrame, scores: pl.DataFrame, params: GraphParams | None = None
) -> pl.DataFrame:
    """The graph's hits frame for ``consignments`` (``consignment_id``, ``version`` and
    ``<role>_key`` columns) from ``party_risk`` scores: one hit per consignment and kind."""
    params = params or GraphParams()
    risky = scores.filter(
        (pl.col("risk") >= params.min_risk) & pl.col("reason").is_not_null()
        | (pl.col("kind") == "cluster")
    )
    if risky.is_empty():
        return hits_frame.empty()
    caps = dict(params.weight_caps)
    cap = pl.col("kind").replace_strict(list(caps), list(caps.values()), default=0.0,
                                        return_dtype=pl.Float64)  # fmt: skip
    by_risk = cap * (1 - (-pl.col("risk") / params.weight_scale).exp())
    weight = pl.when(pl.col("kind") == "cluster").then(
        pl.max_horizontal(by_risk, pl.lit(params.cluster_weight))).otherwise(by_risk)  # fmt: skip
    # A reason's message where the scores carry it (``party_risk``), else its text alone.
    said = pl.col("reason_said") if "reason_said" in risky.columns else pl.lit(None, pl.String)
    found = (
        party_roles(consignments)
        .join(risky, on="party_key")
        .with_columns(
            (weight * pl.col("role").replace_strict(_ROLE_FACTOR, default=0.6)).alias("weight")
        )
    )
    return hits_frame.conform(
        found.select(
            "consignment_id",
            "version",
            pl.format("graph:{}", "kind").alias("code"),
            *worded(
                "%(role)s %(name)s %(reason)s",
                role=words(pl.col("role"), _ROLES),
                name="name",
                reason=Worded(pl.col("reason"), said),
            ).columns(),
            "weight",
            pl.lit(Source.GRAPH.value).alias("source"),
        ).pipe(hits_frame.heaviest)  # fmt: skip
    )


def assess_store(
    store: Store,
    consignments: pl.DataFrame,
    *,
    at: datetime,
    params: GraphParams | None = None,
    data: GraphData | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(hits, scores)`` for ``consignments`` as of ``at``, from what the store knows."""
    data = data or load(store)
    scores = party_risk(
        data, reads.control_outcomes(store, known_before=at), at=at,
        entries=watchlist_entries(store, as_of=at.date()), params=params,
    )  # fmt: skip
    return graph_hits(consignments, scores, params), scores
