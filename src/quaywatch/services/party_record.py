"""A party's track record: its consignments by role and month, what their controls found, and
its latest consignments with their assessment and lane (part of ``services.entities``).

Read for the parties asked only: the newest version of each consignment that names one of them
(in any role), and the controls of the consignment versions that named them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, exists, or_, select

from quaywatch.features.assessment import hit
from quaywatch.risk import explain
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

#: Latest consignments and latest controls shown in the track record.
RECENT = 15
#: The roles a party plays on a consignment, as stored (``<role>_key``) and as named.
ROLES = {
    "consignor": "consignor",
    "consignee": "consignee",
    "notify_party": "notify party",
    "declarant": "declarant",
}
#: The results of a control, each counted even when none occurred.
RESULTS = ("COMPLIANT", "IRREGULAR", "SEIZURE")


@dataclass(frozen=True, slots=True)
class MonthRecord:
    """One calendar month (``YYYY-MM``, UTC) of the track record: consignments lodged naming
    the party, by role and in all (a party may hold several roles on one), controls made and
    hits among them."""

    month: str
    consignor: int
    consignee: int
    notify_party: int
    declarant: int
    consignments: int
    controls: int
    hits: int


@dataclass(frozen=True, slots=True)
class PartyControl:
    """A control of a consignment that named the party (in ``roles``) and what it found."""

    control_id: str
    consignment_id: str
    version: int
    roles: tuple[str, ...]
    control_type: str
    selected_by: str
    controlled_at: datetime
    result: str
    irregularity: str | None
    revenue_recovered_eur: float
    seizure_goods: str | None
    hit: bool


@dataclass(frozen=True, slots=True)
class RecentConsignment:
    """One of the party's latest consignments: its newest assessment (null fields when not
    assessed), the lane its newest selection run gave it (after an officer's override), and
    the strongest reasons."""

    consignment_id: str
    version: int
    roles: tuple[str, ...]
    lodged_at: datetime
    assessed_at: datetime | None
    score: float | None
    lane_floor: str | None
    referral: str | None
    lane: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PartnerSeizure:
    """A seizure a partner reported with the party among its parties (``exchange.watchlists``):
    the partner, its case, the party's role in it, how the party matched, and whether the
    entry is ``in force``, ``expired`` or ``revoked`` now."""

    partner: str
    message_id: str
    case_reference: str
    seizure_date: datetime
    place: str
    goods: str
    their_role: str
    how: str
    strong: bool
    deidentified: bool
    state: str


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """The party's consignments and what their controls found (see the module)."""

    consignments: int
    by_role: dict[str, int]
    months: tuple[MonthRecord, ...]
    controls: int
    hits: int
    hit_rate: float | None
    results: dict[str, int]
    revenue_recovered_eur: float
    latest_controls: tuple[PartyControl, ...]
    latest: tuple[RecentConsignment, ...]
    partner_seizures: tuple[PartnerSeizure, ...] = ()


def _current() -> ColumnElement[bool]:
    """The condition that a consignment row is its consignment's newest version."""
    c, newer = tables.consignments, tables.consignments.alias("newer")
    return ~exists(
        select(newer.c.version).where(
            (newer.c.consignment_id == c.c.consignment_id) & (newer.c.version > c.c.version)
        )
    )


def _roles(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """``frame`` with its ``<role>_key`` columns turned into rows of ``party_key`` and ``role``,
    for ``keys`` only."""
    columns = [f"{role}_key" for role in ROLES]
    rest = [name for name in frame.columns if name not in columns]
    return (
        frame.unpivot(columns, index=rest, variable_name="role", value_name="party_key")
        .filter(pl.col("party_key").is_in(list(keys)))
        .with_columns(pl.col("role").str.strip_suffix("_key").replace(ROLES))
    )


def _named(keys: Sequence[str]) -> ColumnElement[bool]:
    c = tables.consignments
    return or_(*(c.c[f"{role}_key"].in_(sorted(keys)) for role in ROLES))


def consignments(store: Store, keys: Sequence[str]) -> pl.DataFrame:
    """``consignment_id``, ``version``, ``lodged_at``, ``party_key``, ``role``: the newest
    version of every consignment that names one of ``keys``, once per role it names it in."""
    c = tables.consignments
    query = select(
        c.c.consignment_id, c.c.version, c.c.lodged_at, *(c.c[f"{r}_key"] for r in ROLES)
    ).where(_named(keys), _current())
    return _roles(reads.frame(store, query), keys)


def controls(store: Store, keys: Sequence[str]) -> pl.DataFrame:
    """Every control of a consignment version that names one of ``keys``, once per party and
    role, with ``hit``."""
    c, o = tables.consignments, tables.control_outcomes
    wanted = (
        "control_id",
        "consignment_id",
        "version",
        "control_type",
        "selected_by",
        "controlled_at",
        "result",
        "irregularity",
        "revenue_recovered_eur",
        "seizure_goods",
    )
    query = (
        select(*(o.c[name] for name in wanted), *(c.c[f"{r}_key"] for r in ROLES))
        .join_from(o, c, (c.c.consignment_id == o.c.consignment_id) & (c.c.version == o.c.version))
        .where(_named(keys))
    )
    return _roles(reads.frame(store, query), keys).with_columns(hit().alias("hit"))


def track_record(store: Store, named: pl.DataFrame, controls: pl.DataFrame) -> TrackRecord:
    """The track record of one party from its rows of ``consignments`` and ``controls``."""
    once = controls.group_by("control_id", maintain_order=True).agg(
        pl.exclude("role", "party_key").first(), pl.col("role").unique(maintain_order=True)
    )
    count = once.height
    found = once.filter(pl.col("hit")).height
    by_result = dict(once.group_by("result").len().iter_rows())
    latest_controls = tuple(
        PartyControl(
            r["control_id"],
            r["consignment_id"],
            r["version"],
            tuple(r["role"]),
            r["control_type"],
            r["selected_by"],
            r["controlled_at"],
            r["result"],
            r["irregularity"],
            r["revenue_recovered_eur"],
            r["seizure_goods"],
            r["hit"],
        )
        for r in once.sort(["controlled_at", "control_id"], descending=True)
        .head(RECENT)
        .iter_rows(named=True)
    )
    by_role = dict(named.group_by("role").agg(pl.col("consignment_id").n_unique()).iter_rows())
    return TrackRecord(
        consignments=named.get_column("consignment_id").n_unique(),
        by_role={label: by_role.get(label, 0) for label in ROLES.values()},
        months=_months(named, once),
        controls=count,
        hits=found,
        hit_rate=found / count if count else None,
        results={result: by_result.get(result, 0) for result in RESULTS},
        revenue_recovered_eur=float(once.get_column("revenue_recovered_eur").sum()),
        latest_controls=latest_controls,
        latest=_latest(store, named),
    )


def _months(named: pl.DataFrame, controls: pl.DataFrame) -> tuple[MonthRecord, ...]:
    """Every month from the first consignment or control to the last, empty ones too."""
    month = pl.col("_at").dt.strftime("%Y-%m").alias("month")
    lodged = named.select(pl.col("lodged_at").alias("_at"), "consignment_id", "role")
    made = controls.select(pl.col("controlled_at").alias("_at"), "hit")
    seen = pl.concat([lodged.select("_at"), made.select("_at")])
    if seen.is_empty():
        return ()
    first, last = seen.get_column("_at").min(), seen.get_column("_at").max()
    span = pl.date_range(first.date().replace(day=1), last.date(), "1mo", eager=True)  # type: ignore[union-attr]
    base = pl.DataFrame({"month": span.dt.strftime("%Y-%m")})
    roles = (
        lodged.with_columns(month)
        .group_by("month", "role")
        .agg(pl.col("consignment_id").n_unique())
        .pivot("role", index="month", values="consignment_id")
    )
    total = (
        lodged.with_columns(month)
        .group_by("month")
        .agg(pl.col("consignment_id").n_unique().alias("_all"))
    )
    checks = (
        made.with_columns(month)
        .group_by("month")
        .agg(pl.len().alias("_controls"), pl.col("hit").sum().alias("_hits"))
    )
    table = base.join(roles, on="month", how="left").join(total, on="month", how="left")
    table = table.join(checks, on="month", how="left").fill_null(0)

    def get(row: dict[str, Any], name: str) -> int:
        return int(row.get(name) or 0)

    return tuple(
        MonthRecord(
            r["month"],
            get(r, "consignor"),
            get(r, "consignee"),
            get(r, "notify party"),
            get(r, "declarant"),
            get(r, "_all"),
            get(r, "_controls"),
            get(r, "_hits"),
        )
        for r in table.iter_rows(named=True)
    )


def _latest(store: Store, named: pl.DataFrame) -> tuple[RecentConsignment, ...]:
    """The party's ``RECENT`` latest consignments with their newest assessment and lane."""
    recent = (
        named.group_by("consignment_id", "version", "lodged_at")
        .agg(pl.col("role").unique(maintain_order=True))
        .sort(["lodged_at", "consignment_id"], descending=True)
        .head(RECENT)
    )
    ids = recent.get_column("consignment_id").to_list()
    if not ids:
        return ()
    scored = {
        r["consignment_id"]: r
        for r in reads.assessments_of(store, ids)
        .join(recent.select("consignment_id", "version"), on=["consignment_id", "version"])
        .sort("assessment_id")
        .unique("consignment_id", keep="last")
        .iter_rows(named=True)
    }
    lanes = _lanes(store, ids)
    found = []
    for r in recent.iter_rows(named=True):
        a = scored.get(r["consignment_id"])
        reasons = () if a is None else tuple(x.text for x in explain.from_json(a["reasons"])[:3])
        found.append(
            RecentConsignment(
                r["consignment_id"],
                r["version"],
                tuple(r["role"]),
                r["lodged_at"],
                None if a is None else a["assessed_at"],
                None if a is None else a["score"],
                None if a is None else a["lane_floor"],
                None if a is None else a["referral"],
                lanes.get(r["consignment_id"]),
                reasons,
            )
        )
    return tuple(found)


def _lanes(store: Store, ids: list[str]) -> dict[str, str]:
    """The lane of each consignment in its newest selection run, after the newest override."""
    d, r, v = tables.control_decisions, tables.selection_runs, tables.lane_overrides
    decided = (
        reads.frame(
            store,
            select(d.c.run_id, d.c.consignment_id, d.c.lane, r.c.created_at)
            .join_from(d, r, d.c.run_id == r.c.run_id)
            .where(d.c.consignment_id.in_(ids)),
        )
        .sort(["created_at", "run_id"])
        .unique("consignment_id", keep="last")
    )
    overridden = (
        reads.frame(
            store,
            select(v.c.override_id, v.c.run_id, v.c.consignment_id, v.c.to_lane).where(
                v.c.consignment_id.in_(ids)
            ),
        )
        .sort("override_id")
        .unique(["run_id", "consignment_id"], keep="last")
    )
    lanes = decided.join(overridden, on=["run_id", "consignment_id"], how="left").select(
        "consignment_id", pl.coalesce("to_lane", "lane")
    )
    return dict(lanes.iter_rows())
