"""Entity review: one party, who it is linked to in the party graph, and its track record.

What a targeting officer or an analyst reads before deciding whether a consignee is a shell
company or part of a cluster. ``party_review`` gathers:

- the **party** as stored (name, address, country, EORI, AEO status, phone, e-mail) and when
  quaywatch first saw it (stored, or first named on a consignment, whichever is earlier);
- its **identifiers**: each address, phone, e-mail, EORI and shared container, with how many
  other parties share it, and whether it links them (``risk.neighbourhood``: more than the
  graph's ``max_shared`` parties sharing it, a registered agent's address, links no one);
- its **neighbourhood**: the parties within ``hops`` (1 or 2) links, at most ``limit`` kept,
  each with the links that connect it to the party one hop nearer (what is shared, as
  declared) and its own **hits**: its watchlist matches (``risk.screening``, on the loaded
  lists) and what controls found on consignments it sent or received (consignor or
  consignee); ``left_out`` says how many parties were reached but not kept;
- its **track record** (``services.party_record``): its consignments (newest versions) by role and month, the controls of
  consignments that named it (on the version controlled), hits (a seizure, or an irregularity
  worth recovering: ``features.assessment.hit``), hit rate and results, the latest controls,
  and its latest consignments with their newest assessment and lane, and the **seizures
  partners reported** with the party among their parties (``exchange.watchlists``; those
  de-identified matched with the partner group's key of ``key_dir``), in force or not.
  The partner watchlists in force are screened as the loaded lists are (``matches``).

A party's **level** sums its hits up for a glance: ``high`` (a seizure, or a strong watchlist
match: a listed identifier, or a close name at the listed address), ``medium`` (another hit, or
a name match), ``none``.

Everything is read for these parties only: no score or history of anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from quaywatch.errors import InputError
from quaywatch.exchange import protection, watchlists
from quaywatch.risk import neighbourhood, screening
from quaywatch.risk.explain import message_of
from quaywatch.risk.wording import Worded, worded
from quaywatch.services import party_record
from quaywatch.services.arguments import check_at_least, check_identifier
from quaywatch.services.party_record import (
    MonthRecord,
    PartnerSeizure,
    PartyControl,
    RecentConsignment,
    TrackRecord,
)
from quaywatch.services.screening import Match
from quaywatch.store.store import Store

__all__ = [
    "LinkedParty",
    "MonthRecord",
    "PartnerSeizure",
    "PartyControl",
    "PartyHits",
    "PartyIdentifier",
    "PartyReview",
    "RecentConsignment",
    "SharedLink",
    "TrackRecord",
    "party_review",
]

#: How far the neighbourhood reaches at most, and how many parties it keeps at most.
MAX_HOPS = 2
MAX_LIMIT = 200
#: The roles whose controls count as the party's own hits: the traders who sent or received.
TRADER_ROLES = ("consignor", "consignee")


@dataclass(frozen=True, slots=True)
class PartyIdentifier:
    """An address, phone, e-mail, EORI or container of the party: ``shared_with`` other
    parties; ``linking``: whether it links them in the graph."""

    kind: str
    value: str
    shared_with: int
    linking: bool


@dataclass(frozen=True, slots=True)
class PartyHits:
    """What is known against a party: controls of consignments it sent or received, how many
    were hits, seizures and irregular results among them, its watchlist matches (best per
    list, strongest first), and the ``level`` they sum up to (see the module)."""

    controls: int
    hits: int
    seizures: int
    irregular: int
    matches: tuple[Match, ...]
    level: str


@dataclass(frozen=True, slots=True)
class LinkedParty:
    """A party of the neighbourhood, ``hop`` links from the one reviewed."""

    party_key: str
    name: str
    country: str
    aeo: str
    first_seen_at: datetime
    hop: int
    consignments: int
    hits: PartyHits


@dataclass(frozen=True, slots=True)
class SharedLink:
    """``target`` shares ``value`` (its ``kind``: address, phone, email, eori, container) with
    ``source``, the party one hop nearer the one reviewed; ``value`` as ``source`` declared it."""

    source: str
    target: str
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class PartyReview:
    """A party, its neighbourhood within ``hops`` links (``neighbours``, nearest first, and the
    ``links`` between them; ``left_out`` parties reached but not kept under ``limit``), its
    hits against ``watchlists`` loaded lists, and its track record."""

    party_key: str
    name: str
    address: str | None
    country: str
    eori: str | None
    aeo: str
    phone: str | None
    email: str | None
    first_seen_at: datetime
    identifiers: tuple[PartyIdentifier, ...]
    hits: PartyHits
    watchlists: int
    hops: int
    limit: int
    neighbours: tuple[LinkedParty, ...]
    links: tuple[SharedLink, ...]
    left_out: int
    track: TrackRecord


def party_review(
    store: Store, party_key: str, *, hops: int = 2, limit: int = 40, key_dir: Path | None = None,
    now: datetime | None = None,
) -> PartyReview:  # fmt: skip
    """The review of ``party_key`` (see the module): its neighbourhood within ``hops`` links (1
    or 2), at most ``limit`` parties (1 to ``MAX_LIMIT``); partner seizures as of ``now``.
    ``NotFoundError`` for a party not stored, ``InputError`` for a bad argument."""
    check_identifier("party_key", party_key, max_length=32)
    if not 1 <= hops <= MAX_HOPS:
        raise InputError(f"hops must be from 1 to {MAX_HOPS}, got {hops}")
    check_at_least("limit", limit)
    if limit > MAX_LIMIT:
        raise InputError(f"limit must be at most {MAX_LIMIT}, got {limit}")
    near = neighbourhood.neighbourhood(store, party_key, hops=hops, limit=limit)
    keys = near.parties.get_column("party_key").to_list()
    named = party_record.consignments(store, keys)
    controls = party_record.controls(store, keys)
    moment = datetime.now(UTC) if now is None else now
    seized = watchlists.entries(store)
    group_key = protection.group_key_if_any(key_dir) if seized else None
    on_seizures = watchlists.screen(seized, near.parties, group_key)
    matches, lists = _matches(store, near.parties, seized, on_seizures, moment)
    first = named.group_by("party_key").agg(pl.col("lodged_at").min().alias("_first"))
    parties = near.parties.join(first, on="party_key", how="left", maintain_order="left")
    people = {
        r["party_key"]: r
        for r in parties.with_columns(
            pl.min_horizontal("first_seen_at", "_first").alias("first_seen_at")
        ).iter_rows(named=True)
    }
    counts = dict(named.group_by("party_key").agg(pl.col("consignment_id").n_unique()).iter_rows())
    hits = {key: _hits(controls, key, matches.get(key, ())) for key in keys}
    me = people[party_key]
    neighbours = tuple(
        LinkedParty(
            key,
            people[key]["name"],
            people[key]["country"],
            people[key]["aeo"],
            people[key]["first_seen_at"],
            people[key]["hop"],
            counts.get(key, 0),
            hits[key],
        )
        for key in keys[1:]
    )
    return PartyReview(
        party_key=party_key,
        name=me["name"],
        address=me["address"],
        country=me["country"],
        eori=me["eori"],
        aeo=me["aeo"],
        phone=me["phone"],
        email=me["email"],
        first_seen_at=me["first_seen_at"],
        identifiers=tuple(
            PartyIdentifier(r["kind"], r["shown"], int(r["shared_with"]), r["linking"])
            for r in near.identifiers.iter_rows(named=True)
        ),
        hits=hits[party_key],
        watchlists=lists,
        hops=hops,
        limit=limit,
        neighbours=neighbours,
        links=tuple(
            SharedLink(r["source"], r["target"], r["kind"], r["shown"])
            for r in near.links.iter_rows(named=True)
        ),
        left_out=near.found - len(neighbours),
        track=replace(
            party_record.track_record(
                store,
                named.filter(pl.col("party_key") == party_key),
                controls.filter(pl.col("party_key") == party_key),
            ),
            partner_seizures=_seizures(seized, on_seizures, party_key, moment),
        ),
    )


def _seizures(
    seized: list[watchlists.Entry], found: pl.DataFrame, party_key: str, at: datetime
) -> tuple[PartnerSeizure, ...]:
    """The partner seizures ``party_key`` matched a party of, newest first, once each."""
    out: dict[tuple[str, str], PartnerSeizure] = {}
    for r in found.filter(pl.col("party_key") == party_key).iter_rows(named=True):
        e = seized[r["entry"]]
        out.setdefault((e.sender, e.message_id), PartnerSeizure(
            e.sender, e.message_id, e.case_reference, e.seizure_date, e.place, e.goods, e.role,
            message_of(r["how"], r["how_said"]), r["strong"], e.deidentified, e.state(at),
        ))  # fmt: skip
    return tuple(sorted(out.values(), key=lambda s: (s.seizure_date, s.message_id), reverse=True))


def _matches(
    store: Store, parties: pl.DataFrame, seized: list[watchlists.Entry],
    on_seizures: pl.DataFrame, at: datetime,
) -> tuple[dict[str, tuple[Match, ...]], int]:  # fmt: skip
    """Each party's best match on each loaded watchlist and partner watchlist in force,
    strongest first, and how many lists are loaded or in force."""
    entries = screening.watchlist_entries(store)
    loaded = screening.best(screening.Screener.build(entries).screen(parties)) if (
        not entries.is_empty()) else None  # fmt: skip
    live = [n for n, e in enumerate(seized) if e.state(at) == "in force"]
    partner = on_seizures.filter(pl.col("entry").is_in(live))
    partner = partner if partner.is_empty() else partner.with_columns(
        pl.col("entry").replace_strict(
            {n: e.watchlist_id for n, e in enumerate(seized)}, return_dtype=pl.String
        ).alias("watchlist_id"),
        pl.col("entry").replace_strict(
            {n: e.entry_id for n, e in enumerate(seized)}, return_dtype=pl.String
        ).alias("entry_id"),
        pl.col("entry").replace_strict(
            {n: e.name if not e.deidentified else "(de-identified)" for n, e in enumerate(seized)},
            return_dtype=pl.String,
        ).alias("entry_name"),
        pl.lit(watchlists.CATEGORY).alias("category"),
        *worded(
            "%(how)s on watchlist %(list)s", how=Worded(pl.col("how"), pl.col("how_said")),
            list=pl.col("entry").replace_strict(
                {n: e.watchlist_id for n, e in enumerate(seized)}, return_dtype=pl.String),
        ).columns("reason", "reason_said"),
    ).group_by("party_key", "watchlist_id", maintain_order=True).first()  # fmt: skip
    columns = ["party_key", "watchlist_id", "entry_id", "entry_name", "category", "score",
               "kind", "strong", "reason", "reason_said"]  # fmt: skip
    frames = [f.select(columns) for f in (loaded, partner) if f is not None and not f.is_empty()]
    lists = (0 if entries.is_empty() else entries.get_column("watchlist_id").n_unique()) + len(
        {seized[n].watchlist_id for n in live})  # fmt: skip
    if not frames:
        return {}, lists
    found = pl.concat(frames).sort(
        ["party_key", "strong", "score", "watchlist_id"], descending=[False, True, True, False]
    )
    matches: dict[str, list[Match]] = {}
    for r in found.iter_rows(named=True):
        matches.setdefault(r["party_key"], []).append(
            Match(
                r["watchlist_id"],
                r["entry_id"],
                r["entry_name"],
                r["category"],
                float(r["score"]),
                r["kind"],
                bool(r["strong"]),
                message_of(r["reason"], r["reason_said"]),
            )
        )
    return {key: tuple(found) for key, found in matches.items()}, lists


def _hits(controls: pl.DataFrame, party_key: str, matches: tuple[Match, ...]) -> PartyHits:
    own = controls.filter(
        (pl.col("party_key") == party_key) & pl.col("role").is_in(TRADER_ROLES)
    ).unique("control_id")
    seizures = own.filter(pl.col("result") == "SEIZURE").height
    hits = own.filter(pl.col("hit")).height
    level = (
        "high"
        if seizures or any(m.strong for m in matches)
        else "medium"
        if hits or matches
        else "none"
    )
    irregular = own.filter(pl.col("result") == "IRREGULAR").height
    return PartyHits(own.height, hits, seizures, irregular, matches, level)
