"""A selection run against the store: candidates from assessments, decisions back, audited.

``select_store`` takes, for every consignment arriving (ETA) in a window, its newest assessment,
adds the carrier, ETA and AEO status the consignment declares, runs ``policy.select`` and writes
the run, one decision per consignment and one audit event in a single transaction.

A consignment is an AEO one when its consignee or its declarant holds an AEO authorisation
(AEOC, AEOS or AEOF). ``lane_floor``, ``referral`` and ``critical`` are read from the
assessments table once it has them (the non-model risk sources add them); until then they are
null, and only the random sample and the optimiser select.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Select, func, insert, select

from quaywatch.audit import chain
from quaywatch.errors import RecordError
from quaywatch.selection import policy
from quaywatch.selection.capacity import CONTROLS, Capacity
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

#: Optional assessment columns ``policy.select`` understands.
_OPTIONAL = ("lane_floor", "referral", "critical")


@dataclass(frozen=True, slots=True)
class SelectionRun:
    """What one selection run decided; ``counts`` by ``selected_by`` and by lane."""

    run_id: str
    selection: policy.Selection
    counts: dict[str, int]


def candidates(store: Store, window_from: datetime, window_to: datetime) -> pl.DataFrame:
    """The newest assessment of each consignment with an ETA in [``window_from``, ``window_to``)."""
    a, c = tables.assessments, tables.consignments
    consignee, declarant = tables.parties.alias("consignee"), tables.parties.alias("declarant")
    newest = (
        select(func.max(a.c.assessment_id).label("assessment_id"))
        .group_by(a.c.consignment_id)
        .subquery("newest")
    )
    aeo = (consignee.c.aeo.is_not(None) & (consignee.c.aeo != "NONE")) | (
        declarant.c.aeo.is_not(None) & (declarant.c.aeo != "NONE")
    )
    extra = [a.c[name] for name in _OPTIONAL if name in a.c]
    query: Select[tuple[object, ...]] = (
        select(
            a.c.consignment_id,
            a.c.version,
            a.c.assessment_id,
            a.c.probability,
            a.c.revenue_at_stake_eur,
            c.c.carrier_scac,
            c.c.eta,
            aeo.label("aeo"),
            *extra,
        )  # fmt: skip
        .join(newest, a.c.assessment_id == newest.c.assessment_id)
        .join(c, (c.c.consignment_id == a.c.consignment_id) & (c.c.version == a.c.version))
        .outerjoin(consignee, consignee.c.party_key == c.c.consignee_key)
        .outerjoin(declarant, declarant.c.party_key == c.c.declarant_key)
        .where(c.c.eta >= window_from, c.c.eta < window_to)
        .order_by(a.c.consignment_id)
    )
    return reads.frame(store, query)


def select_store(
    store: Store,
    window_from: datetime,
    window_to: datetime,
    capacity: Capacity,
    *,
    random_rate: float = 0.02,
    seed: int = 0,
    actor: str = "system",
    now: datetime | None = None,
) -> SelectionRun:
    """Select controls for the consignments arriving in the window and store the decisions."""
    for name, moment in (("from", window_from), ("to", window_to)):
        if moment.tzinfo is None:
            raise RecordError("the window needs timezone-aware times", field=name)
    if window_to <= window_from:
        raise RecordError("the window ends before it starts", field="to")
    found = candidates(store, window_from, window_to)
    selection = policy.select(found, capacity, random_rate=random_rate, seed=seed)
    d = selection.decisions
    run_id = str(uuid.uuid4())
    counts = {
        **{f"by_{k.lower()}": int((d["selected_by"] == k).sum()) for k in ("RULE", "RANDOM", "MODEL")},
        **{f"lane_{k}": int((d["lane"] == k).sum()) for k in ("green", "yellow", "orange", "red", "blue")},
        "candidates": d.height,
        "selected": int(d["control_type"].is_not_null().sum()),
        "overloads": selection.overloads.height,
    }  # fmt: skip
    columns = [col.name for col in tables.control_decisions.columns if col.name != "run_id"]
    rows = d.select(pl.lit(run_id).alias("run_id"), *columns)
    with store.transaction() as conn:
        conn.execute(
            insert(tables.selection_runs).values(
                run_id=run_id, window_from=window_from, window_to=window_to,
                capacity_source=capacity.source, capacity_sha256=capacity.sha256,
                random_rate=random_rate, seed=seed, objective=selection.objective,
                created_at=now or tables.utcnow(), actor=actor, candidates=counts["candidates"],
                selected=counts["selected"], overloads=counts["overloads"],
            )
        )  # fmt: skip
        store.bulk_insert(conn, tables.control_decisions, rows)
        usage = selection.usage.select(
            pl.lit(run_id).alias("run_id"), "shift_start", "terminal", "resource", "shift",
            "capacity", "used",
        )  # fmt: skip
        store.bulk_insert(conn, tables.selection_capacity, usage)
        store.bulk_insert(conn, tables.selection_control_use, _control_use(run_id, capacity))
        chain.append(
            conn, actor=actor, action="select", object_type="selection_run", object_id=run_id,
            details={"from": window_from.isoformat(), "to": window_to.isoformat(),
                     "capacity_sha256": capacity.sha256, "random_rate": random_rate,
                     "seed": seed, "objective": round(selection.objective, 2), **counts},
        )  # fmt: skip
    return SelectionRun(run_id, selection, counts)


def _control_use(run_id: str, capacity: Capacity) -> pl.DataFrame:
    """What one control of each type uses of each resource, as the run's capacity file says."""
    rows = [
        {"run_id": run_id, "control_type": control.upper(), "resource": resource,
         "amount": float(capacity.use[k, q])}
        for k, control in enumerate(CONTROLS)
        for q, resource in enumerate(capacity.resources)
        if capacity.use[k, q] > 0
    ]  # fmt: skip
    return pl.DataFrame(rows, schema={"run_id": pl.String, "control_type": pl.String,
                                      "resource": pl.String, "amount": pl.Float64})  # fmt: skip
