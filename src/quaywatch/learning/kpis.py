"""Key performance indicators of the control set-up over a period: what the controls found.

``compute(store, period_from, period_to)`` reads three things that fall in the period
[``period_from``, ``period_to``):

- the **outcomes** of controls made in it (``controlled_at``): those recorded through the
  control workflow, which lead back through their order to the selection decision, its lane
  and the assessment decided on; and legacy outcomes imported by intake, which have no
  decision (their lane is ``unrecorded``, their profiles unknown) but count by control type
  and by ``selected_by`` as recorded;
- the selection **decisions** for shifts starting in it, for selections per profile, capacity
  and the burden on AEOs (a consignment decided by several runs counts once), each with the
  control in force: the officer's newest lane override where there is one, else the run's;
- the inspection **orders** for shifts starting in it, for capacity use and the time from an
  order's creation to its outcome and to the release of the consignment (CUSR);
- the **capacity** the terminal shifts starting in it offered, and what the controls their
  newest selection run planned used of it, per resource: the controls in force after the
  officers' lane overrides (raised, lowered, cancelled), each using what its control type
  uses (``selection_control_use``).

A hit is what the models learn from (``features.assessment.hit``): a seizure, or an
irregularity that recovered at least ``SIGNIFICANT_EUR``. The result is a dict with stable
keys (``KEYS``; docs/control.md explains each figure), which ``to_json`` writes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Select, and_, case, func, select

from quaywatch.errors import RecordError
from quaywatch.features.assessment import hit
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

#: Top-level keys of the KPI dict, in order.
KEYS = (
    "period", "controls", "hits", "hit_rate", "revenue_recovered_eur", "by_lane",
    "by_control_type", "by_selected_by", "profiles", "seizures", "capacity", "time_to_release",
    "aeo_burden",
)  # fmt: skip
#: The lane of an outcome that no selection decision led to (a legacy import).
UNRECORDED = "unrecorded"
_REASONS = pl.List(pl.Struct({"code": pl.String, "text": pl.String, "weight": pl.Float64,
                              "source": pl.String}))  # fmt: skip


def _profiles(reasons: pl.Expr) -> pl.Expr:
    """The profile ids among the reason codes ``profile:<id>`` of a reasons JSON column."""
    codes = reasons.str.json_decode(_REASONS).list.eval(pl.element().struct.field("code"))
    return codes.list.eval(
        pl.element().filter(pl.element().str.starts_with("profile:")).str.strip_prefix("profile:")
    ).fill_null([])


def _outcomes(store: Store, start: datetime, end: datetime) -> pl.DataFrame:
    co, o, d, a = (tables.control_outcomes, tables.inspection_orders, tables.control_decisions,
                   tables.assessments)  # fmt: skip
    query: Select[tuple[object, ...]] = (
        select(
            co.c.control_id,
            co.c.consignment_id,
            co.c.control_type,
            co.c.selected_by,
            co.c.result,
            co.c.controlled_at,
            co.c.revenue_recovered_eur,
            co.c.seizure_goods,
            co.c.seizure_quantity,
            co.c.seizure_unit,
            d.c.lane,
            a.c.reasons,
        )  # fmt: skip
        .outerjoin(o, o.c.order_id == co.c.control_id)
        .outerjoin(d, and_(d.c.run_id == o.c.run_id, d.c.consignment_id == o.c.consignment_id))
        .outerjoin(a, a.c.assessment_id == d.c.assessment_id)
        .where(co.c.controlled_at >= start, co.c.controlled_at < end)
    )
    return reads.frame(store, query).with_columns(
        hit().alias("hit"),
        pl.col("lane").fill_null(UNRECORDED),
        _profiles(pl.col("reasons")).alias("profiles"),
    )


def _in_force() -> tuple[Any, Any]:
    """The newest lane override of each decision, and the control in force: the override's
    where there is one (None: lowered to no control), else the run's."""
    d, lo = tables.control_decisions, reads.latest_lane_overrides()
    control = case((lo.c.override_id.is_not(None), lo.c.control_type), else_=d.c.control_type)
    return lo, control


def _decisions(store: Store, start: datetime, end: datetime) -> pl.DataFrame:
    d, a, c = tables.control_decisions, tables.assessments, tables.consignments
    r = tables.selection_runs
    lo, control = _in_force()
    consignee, declarant = tables.parties.alias("consignee"), tables.parties.alias("declarant")
    aeo = (consignee.c.aeo.is_not(None) & (consignee.c.aeo != "NONE")) | (
        declarant.c.aeo.is_not(None) & (declarant.c.aeo != "NONE")
    )
    query: Select[tuple[object, ...]] = (
        select(
            d.c.consignment_id,
            control.label("control_type"),
            d.c.terminal,
            d.c.shift_start,
            a.c.reasons,
            aeo.label("aeo"),
            r.c.created_at.label("decided_at"),
        )  # fmt: skip
        .select_from(d)
        .outerjoin(lo, and_(lo.c.run_id == d.c.run_id, lo.c.consignment_id == d.c.consignment_id))
        .join(r, r.c.run_id == d.c.run_id)
        .join(c, and_(c.c.consignment_id == d.c.consignment_id, c.c.version == d.c.version))
        .outerjoin(a, a.c.assessment_id == d.c.assessment_id)
        .outerjoin(consignee, consignee.c.party_key == c.c.consignee_key)
        .outerjoin(declarant, declarant.c.party_key == c.c.declarant_key)
        .where(d.c.shift_start >= start, d.c.shift_start < end)
    )
    return reads.frame(store, query).with_columns(
        pl.col("control_type").is_not_null().alias("selected"),
        _profiles(pl.col("reasons")).alias("profiles"),
        pl.col("aeo").fill_null(False),
    )


def _orders(store: Store, start: datetime, end: datetime) -> pl.DataFrame:
    o = tables.inspection_orders
    query: Select[tuple[object, ...]] = select(
        o.c.order_id, o.c.state, o.c.terminal, o.c.shift_start, o.c.created_at, o.c.finished_at,
        o.c.released_at,
    ).where(o.c.shift_start >= start, o.c.shift_start < end)  # fmt: skip
    return reads.frame(store, query)


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _groups(outcomes: pl.DataFrame, key: str) -> list[dict[str, Any]]:
    """Controls, hits, hit rate, revenue and seizures per value of ``key``."""
    grouped = (
        outcomes.group_by(key)
        .agg(
            pl.len().alias("controls"),
            pl.col("hit").sum().alias("hits"),
            pl.col("revenue_recovered_eur").sum().round(2).alias("revenue_recovered_eur"),
            (pl.col("result") == "SEIZURE").sum().alias("seizures"),
        )
        .sort(key)
    )
    return [
        {key: row[key], "controls": row["controls"], "hits": row["hits"],
         "hit_rate": _rate(row["hits"], row["controls"]),
         "revenue_recovered_eur": row["revenue_recovered_eur"], "seizures": row["seizures"]}
        for row in grouped.iter_rows(named=True)
    ]  # fmt: skip


def _profile_table(outcomes: pl.DataFrame, decisions: pl.DataFrame) -> list[dict[str, Any]]:
    """Per profile: consignments it flagged and that were selected, controls, hits."""
    decided = (
        decisions.group_by("consignment_id")
        .agg(
            pl.col("selected").any(),
            pl.col("profiles").list.explode(keep_nulls=False, empty_as_null=False).unique(),
        )
        .explode("profiles")
        .drop_nulls("profiles")
        .group_by(pl.col("profiles").alias("profile"))
        .agg(pl.len().alias("flagged"), pl.col("selected").sum().alias("selections"))
    )
    found = (
        outcomes.explode("profiles")
        .drop_nulls("profiles")
        .group_by(pl.col("profiles").alias("profile"))
        .agg(
            pl.len().alias("controls"),
            pl.col("hit").sum().alias("hits"),
            pl.col("revenue_recovered_eur").sum().round(2).alias("revenue_recovered_eur"),
        )
    )
    table = (
        decided.join(found, on="profile", how="full", coalesce=True).fill_null(0).sort("profile")
    )
    return [
        {"profile": row["profile"], "flagged": row["flagged"], "selections": row["selections"],
         "controls": row["controls"], "hits": row["hits"],
         "hit_rate": _rate(row["hits"], row["controls"]),
         "hits_per_selection": _rate(row["hits"], row["selections"]),
         "revenue_recovered_eur": row["revenue_recovered_eur"]}
        for row in table.iter_rows(named=True)
    ]  # fmt: skip


def _hours(orders: pl.DataFrame, column: str) -> dict[str, Any]:
    """Count, mean, median and 90th percentile of hours from order creation to ``column``."""
    hours = orders.select(
        ((pl.col(column) - pl.col("created_at")).dt.total_seconds() / 3600).alias("h")
    ).drop_nulls()["h"]
    if hours.is_empty():
        return {"count": 0, "mean": None, "median": None, "p90": None}
    stats = [hours.mean(), hours.median(), hours.quantile(0.9, "linear")]
    mean, median, p90 = (round(float(v), 2) for v in stats)  # type: ignore[arg-type]
    return {"count": hours.len(), "mean": mean, "median": median, "p90": p90}


def _capacity(decisions: pl.DataFrame, orders: pl.DataFrame) -> dict[str, Any]:
    keys = ["terminal", "shift_start"]
    # A consignment decided by several runs counts once: by the latest run's decision.
    latest = decisions.sort("decided_at").unique("consignment_id", keep="last")
    selected = latest.group_by(keys).agg(
        pl.len().alias("decisions"), pl.col("selected").sum().alias("selected")
    )
    worked = orders.group_by(keys).agg(
        pl.len().alias("orders"),
        *((pl.col("state") == s).sum().alias(s) for s in ("done", "cancelled")),
    )
    table = selected.join(worked, on=keys, how="full", coalesce=True).fill_null(0).sort(keys)
    rows = [
        {**row, "shift_start": row["shift_start"].isoformat(),
         "completion": _rate(row["done"], row["orders"])}
        for row in table.iter_rows(named=True)
    ]  # fmt: skip
    states = {s: int((orders["state"] == s).sum()) for s in ("planned", "in_progress", "done",
                                                            "cancelled")}  # fmt: skip
    return {"orders": states, "by_terminal_shift": rows}


def _resources(store: Store, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per resource of the capacity files: what the terminal shifts starting in the period
    offered and what the controls planned for them used, each shift as its newest selection
    run planned it (a shift selected again counts once)."""
    cap, runs = tables.selection_capacity, tables.selection_runs
    query: Select[tuple[object, ...]] = (
        select(cap.c.run_id, cap.c.terminal, cap.c.shift_start, cap.c.resource, cap.c.capacity,
               cap.c.used, runs.c.created_at)
        .join(runs, runs.c.run_id == cap.c.run_id)
        .where(cap.c.shift_start >= start, cap.c.shift_start < end)
    )  # fmt: skip
    found = reads.frame(store, query)
    if found.is_empty():
        return []
    found = _planned_use(store, found, start, end)
    newest = found.sort("created_at").unique(["terminal", "shift_start", "resource"], keep="last")
    totals = newest.group_by("resource").agg(pl.col("capacity").sum(), pl.col("used").sum())
    return [
        {"resource": row["resource"], "capacity": round(row["capacity"], 2),
         "planned": round(row["used"], 2), "use": _rate(row["used"], row["capacity"])}
        for row in totals.sort("resource").iter_rows(named=True)
    ]  # fmt: skip


def _planned_use(store: Store, found: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """``found`` (capacity rows of runs) with ``used`` counted again from the controls in
    force after the lane overrides; a run stored before quaywatch kept what each control type
    uses keeps the ``used`` stored with it."""
    d, use = tables.control_decisions, tables.selection_control_use
    lo, control = _in_force()
    keys = ["run_id", "terminal", "shift_start"]
    planned = reads.frame(store, (
        select(d.c.run_id, d.c.terminal, d.c.shift_start, control.label("control_type"),
               func.count().label("controls"))
        .select_from(d)
        .outerjoin(lo, and_(lo.c.run_id == d.c.run_id, lo.c.consignment_id == d.c.consignment_id))
        .where(d.c.shift_start >= start, d.c.shift_start < end, control.is_not(None))
        .group_by(d.c.run_id, d.c.terminal, d.c.shift_start, control)
    ))  # fmt: skip
    amounts = reads.frame(store, select(use.c.run_id, use.c.control_type, use.c.resource,
                                        use.c.amount))  # fmt: skip
    if amounts.is_empty():
        return found
    amounts = amounts.filter(pl.col("run_id").is_in(found["run_id"].unique().implode()))
    counted = (
        planned.join(amounts, on=["run_id", "control_type"])
        .group_by(*keys, "resource")
        .agg((pl.col("controls") * pl.col("amount")).sum().alias("_used"))
    )
    known = amounts["run_id"].unique().implode()
    return (
        found.join(counted, on=[*keys, "resource"], how="left")
        .with_columns(
            pl.when(pl.col("run_id").is_in(known))
            .then(pl.col("_used").fill_null(0.0))
            .otherwise(pl.col("used"))
            .alias("used")
        )
        .drop("_used")
    )


def _by_week(seized: pl.DataFrame) -> list[dict[str, Any]]:
    """Seizures per calendar week (ISO, from Monday) of the control that made them."""
    weeks = (
        seized.group_by(pl.col("controlled_at").dt.truncate("1w").dt.date().alias("week"))
        .agg(pl.len().alias("seizures"))
        .sort("week")
    )
    return [{"week": row["week"].isoformat(), "seizures": row["seizures"]}
            for row in weeks.iter_rows(named=True)]  # fmt: skip


def _aeo(decisions: pl.DataFrame) -> dict[str, Any]:
    per = decisions.group_by("consignment_id").agg(pl.col("aeo").any(), pl.col("selected").any())
    groups: dict[str, Any] = {}
    for name, flag in (("aeo", True), ("non_aeo", False)):
        part = per.filter(pl.col("aeo") == flag)
        controlled = int(part["selected"].sum())
        groups[name] = {"consignments": part.height, "controlled": controlled,
                        "control_rate": _rate(controlled, part.height)}  # fmt: skip
    aeo_rate, other = groups["aeo"]["control_rate"], groups["non_aeo"]["control_rate"]
    groups["ratio"] = _rate(aeo_rate, other) if aeo_rate is not None and other else None
    return groups


def compute(store: Store, period_from: datetime, period_to: datetime) -> dict[str, Any]:
    """The KPIs of [``period_from``, ``period_to``) (timezone-aware), keys as ``KEYS``."""
    for name, moment in (("from", period_from), ("to", period_to)):
        if moment.tzinfo is None:
            raise RecordError("the period needs timezone-aware times", field=name)
    if period_to <= period_from:
        raise RecordError("the period ends before it starts", field="to")
    outcomes = _outcomes(store, period_from, period_to)
    decisions = _decisions(store, period_from, period_to)
    orders = _orders(store, period_from, period_to)
    done = orders.filter(pl.col("state") == "done")
    seized = outcomes.filter(pl.col("result") == "SEIZURE")
    by_goods = (
        seized.group_by(
            pl.col("seizure_goods").alias("goods"), pl.col("seizure_unit").alias("unit")
        )
        .agg(pl.len().alias("seizures"), pl.col("seizure_quantity").sum().alias("quantity"))
        .sort("seizures", "goods", descending=[True, False])
    )
    controls, hits = outcomes.height, int(outcomes["hit"].sum())
    kpis = {
        "period": {"from": period_from.isoformat(), "to": period_to.isoformat()},
        "controls": controls,
        "hits": hits,
        "hit_rate": _rate(hits, controls),
        "revenue_recovered_eur": round(float(outcomes["revenue_recovered_eur"].sum()), 2),
        "by_lane": _groups(outcomes, "lane"),
        "by_control_type": _groups(outcomes, "control_type"),
        "by_selected_by": _groups(outcomes, "selected_by"),
        "profiles": _profile_table(outcomes, decisions),
        "seizures": {
            "count": seized.height,
            "by_goods": by_goods.to_dicts(),
            "by_week": _by_week(seized),
        },
        "capacity": {
            **_capacity(decisions, orders),
            "resources": _resources(store, period_from, period_to),
        },
        "time_to_release": {
            "outcome_hours": _hours(done, "finished_at"),
            "release_hours": _hours(orders, "released_at"),
        },  # fmt: skip
        "aeo_burden": _aeo(decisions),
    }
    assert tuple(kpis) == KEYS
    return kpis


def to_json(kpis: dict[str, Any]) -> str:
    """The KPIs as indented JSON, keys in the documented order."""
    return json.dumps(kpis, indent=2, ensure_ascii=False)
