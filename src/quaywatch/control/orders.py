"""Inspection orders: created from a selection run's decisions, started, overridden, read.

One order per consignment and decided control: its id is derived from the consignment id and
the control type the run decided, so creating the orders of a run again, or of a later run that
decides the same control for the same consignment, adds nothing (``create_orders`` is
idempotent). The id is also the ``control_id`` of the outcome the order ends with, which ties
the ``control_outcomes`` row the learning loop reads back to the order and its decision.

Each step here (and in ``results`` and ``outcome``) is one transaction that changes the order,
appends a row to ``order_history`` and appends an audit event (``chain.append``). The order row
is read ``FOR UPDATE`` first, so two officers acting on the same order on PostgreSQL take turns.

>>> created = create_orders(store, run_id, actor="ana")  # doctest: +SKIP
>>> start(store, created.order_ids[0], actor="ben")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, insert, select, update

from quaywatch.audit import chain
from quaywatch.control import events
from quaywatch.control.states import OPEN, State, check, require_open
from quaywatch.domain.models import ControlType, EquipmentEventCode, SelectedBy
from quaywatch.errors import NotFoundError, RecordError
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

#: The audit trail's name for an order.
OBJECT_TYPE = "inspection_order"


@dataclass(frozen=True, slots=True)
class Order:
    """One inspection order as stored (``tables.inspection_orders``)."""

    order_id: str
    run_id: str
    consignment_id: str
    version: int
    decided_type: str
    control_type: str
    lane: str
    selected_by: str
    propensity: float
    terminal: str
    shift_start: datetime
    state: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    released_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedOrders:
    """What ``create_orders`` did: the new orders' ids, how many existed, events emitted."""

    run_id: str
    order_ids: list[str]
    existing: int
    events: int


def order_id_for(consignment_id: str, control_type: str) -> str:
    """The order id of ``control_type`` on ``consignment_id``: ``QW`` and 12 hex digits."""
    digest = hashlib.sha256(f"{consignment_id}\x1f{control_type}".encode()).hexdigest()
    return f"QW{digest[:12].upper()}"


def load(conn: Connection, order_id: str, *, lock: bool = False) -> Order:
    """The order ``order_id``, locked for update with ``lock``; a ``NotFoundError`` if none."""
    o = tables.inspection_orders
    query = select(o).where(o.c.order_id == order_id)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFoundError(f"no inspection order {order_id!r}")
    return Order(**row)


def log(
    conn: Connection,
    order: Order,
    action: str,
    *,
    actor: str,
    at: datetime,
    to_state: State | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append the step to the order's history and to the audit trail, in ``conn``'s transaction."""
    body = {"consignment_id": order.consignment_id, **(details or {})}
    conn.execute(
        insert(tables.order_history).values(
            order_id=order.order_id, at=at, actor=actor, action=action, from_state=order.state,
            to_state=to_state, reason=reason,
            details=json.dumps(body, sort_keys=True, separators=(",", ":"), default=str),
        )
    )  # fmt: skip
    audited = {**body, "from": order.state, "to": to_state, "reason": reason}
    chain.append(conn, actor=actor, action=f"order_{action}", object_type=OBJECT_TYPE,
                 object_id=order.order_id,
                 details={k: v for k, v in audited.items() if v is not None})  # fmt: skip


def set_state(conn: Connection, order_id: str, **values: Any) -> None:
    """Update columns of one order."""
    o = tables.inspection_orders
    conn.execute(update(o).where(o.c.order_id == order_id).values(**values))


def release(conn: Connection, order: Order, at: datetime) -> bool:
    """Emit CUSR for the order's consignment unless another order on it is still open, or
    any control of it ended in a seizure (seized goods stay held, whatever else is closed).

    Returns whether the consignment was released (and ``released_at`` set on the order).
    """
    o, c = tables.inspection_orders, tables.control_outcomes
    others = conn.execute(
        select(func.count()).where(
            o.c.consignment_id == order.consignment_id,
            o.c.order_id != order.order_id,
            o.c.state.in_([str(s) for s in OPEN]),
        )
    ).scalar_one()
    seized = conn.execute(
        select(func.count()).where(
            c.c.consignment_id == order.consignment_id, c.c.result == "SEIZURE"
        )
    ).scalar_one()
    if others or seized:
        return False
    events.emit(conn, {order.order_id: EquipmentEventCode.CUSR}, at)
    set_state(conn, order.order_id, released_at=at)
    return True


def create_orders(
    store: Store, run_id: str, *, actor: str = "system", now: datetime | None = None
) -> CreatedOrders:
    """An order, planned, for every control the selection run ``run_id`` decided, as the
    officers' lane overrides left it (``control.decisions``): of the control type of the
    consignment's newest override; none for a consignment lowered to no control; and for one
    raised from no control, an order ``selected_by`` OFFICER with propensity 1.

    Skips consignments that already have an order for the same decided control type (from this
    run or an earlier one), emits CUSS (scan) or CUSI (physical or documentary) for each new
    order's containers, and appends one audit event for the run naming the orders created.
    Serialised with ``control.decisions.override_lane`` by row locks on the run's decisions.
    """
    at = now or tables.utcnow()
    d, o = tables.control_decisions, tables.inspection_orders
    with store.transaction() as conn:
        found = conn.execute(
            select(tables.selection_runs.c.run_id).where(tables.selection_runs.c.run_id == run_id)
        ).first()
        if found is None:
            raise NotFoundError(f"no selection run {run_id!r}")
        # The run's decisions are locked (in one order: no deadlock) before the overrides are
        # read: an officer's lane override (which locks its decision) either committed
        # before, and is read here, or waits and then finds the order to follow. Without
        # this, on PostgreSQL an override committed meanwhile is missed by the order made.
        conn.execute(
            select(d.c.consignment_id).where(d.c.run_id == run_id)
            .order_by(d.c.consignment_id).with_for_update()
        ).all()  # fmt: skip
        lo = reads.latest_lane_overrides(run_id)
        control = case((lo.c.override_id.is_not(None), lo.c.control_type),
                       else_=d.c.control_type)  # fmt: skip
        decided = conn.execute(
            select(
                d.c.consignment_id,
                d.c.version,
                d.c.control_type.label("decided_type"),
                control.label("control_type"),
                func.coalesce(lo.c.to_lane, d.c.lane).label("lane"),
                d.c.selected_by,
                d.c.propensity,
                d.c.terminal,
                d.c.shift_start,
            )  # fmt: skip
            .select_from(d.outerjoin(lo, (lo.c.run_id == d.c.run_id)
                                     & (lo.c.consignment_id == d.c.consignment_id)))
            .where(d.c.run_id == run_id, control.is_not(None))
            .order_by(d.c.consignment_id)
        ).all()  # fmt: skip
        in_run = select(d.c.consignment_id).where(d.c.run_id == run_id)
        held = conn.execute(
            select(o.c.consignment_id, o.c.decided_type, o.c.run_id, o.c.selected_by)
            .where(o.c.consignment_id.in_(in_run))
        ).all()  # fmt: skip
        known = {(h.consignment_id, h.decided_type) for h in held}
        raised = {h.consignment_id for h in held
                  if h.run_id == run_id and h.selected_by == SelectedBy.OFFICER}  # fmt: skip
        rows = []
        for r in decided:
            # A consignment the run decided no control for and an officer raised: the order
            # is the officer's, made once (``control.decisions``).
            by_officer = r.decided_type is None
            decided_type = r.control_type if by_officer else r.decided_type
            if (r.consignment_id, decided_type) in known or (
                by_officer and r.consignment_id in raised
            ):
                continue
            rows.append(
                {"order_id": order_id_for(r.consignment_id, decided_type), "run_id": run_id,
                 "consignment_id": r.consignment_id, "version": r.version,
                 "decided_type": decided_type, "control_type": r.control_type, "lane": r.lane,
                 "selected_by": SelectedBy.OFFICER.value if by_officer else r.selected_by,
                 "propensity": 1.0 if by_officer else r.propensity, "terminal": r.terminal,
                 "shift_start": r.shift_start, "state": State.PLANNED.value, "created_at": at,
                 "started_at": None, "finished_at": None, "released_at": None}
            )  # fmt: skip
        emitted = 0
        if rows:
            conn.execute(insert(o), rows)
            conn.execute(
                insert(tables.order_history),
                [{"order_id": r["order_id"], "at": at, "actor": actor, "action": "create",
                  "from_state": None, "to_state": State.PLANNED.value, "reason": None,
                  "details": json.dumps({"run_id": run_id, "control_type": r["control_type"]},
                                        sort_keys=True, separators=(",", ":"))}
                 for r in rows],
            )  # fmt: skip
            codes = {r["order_id"]: events.selection_code(r["control_type"]) for r in rows}
            emitted = events.emit(conn, codes, at)
        ids = [r["order_id"] for r in rows]
        chain.append(
            conn, actor=actor, action="create_orders", object_type="selection_run",
            object_id=run_id,
            details={"orders": len(ids), "existing": len(decided) - len(ids), "events": emitted,
                     "order_ids": ids},
        )  # fmt: skip
    return CreatedOrders(run_id, ids, len(decided) - len(ids), emitted)


def start(
    store: Store, order_id: str, *, actor: str = "system", now: datetime | None = None
) -> Order:
    """Move a planned order to ``in_progress``: the officer has begun the control."""
    at = now or tables.utcnow()
    with store.transaction() as conn:
        order = load(conn, order_id, lock=True)
        check(order_id, order.state, State.IN_PROGRESS)
        set_state(conn, order_id, state=State.IN_PROGRESS.value, started_at=at)
        log(conn, order, "start", actor=actor, at=at, to_state=State.IN_PROGRESS)
        return load(conn, order_id)


def override(
    store: Store,
    order_id: str,
    *,
    reason: str,
    control_type: str | None = None,
    cancel: bool = False,
    actor: str = "system",
    now: datetime | None = None,
) -> Order:
    """An officer changes the order's control type, or cancels it; ``reason`` is mandatory.

    A new type that needs another customs event (a scan becoming a physical examination: CUSI)
    emits it; a cancellation releases the consignment (CUSR) unless another order holds it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise RecordError("an override needs a reason", record_id=order_id, field="reason")
    if cancel == (control_type is not None):
        raise RecordError(
            "an override either changes the control type or cancels, exactly one",
            record_id=order_id, field="control_type",
        )  # fmt: skip
    at = now or tables.utcnow()
    with store.transaction() as conn:
        order = load(conn, order_id, lock=True)
        apply_override(conn, order, reason=reason, control_type=control_type, actor=actor, at=at)
        return load(conn, order_id)


def apply_override(
    conn: Connection,
    order: Order,
    *,
    reason: str,
    control_type: str | None,
    actor: str,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """``override`` inside the caller's transaction, on ``order`` read locked: change its
    control type to ``control_type``, or cancel it (``control_type`` None), and log the step
    with ``reason`` (and ``details``, added to the history's). A lane override
    (``control.decisions``) moves an order this way in its own transaction."""
    order_id = order.order_id
    if control_type is None:
        check(order_id, order.state, State.CANCELLED)
        set_state(conn, order_id, state=State.CANCELLED.value, finished_at=at)
        released = release(conn, order, at)
        log(conn, order, "cancel", actor=actor, at=at, to_state=State.CANCELLED,
            reason=reason, details={**(details or {}), "released": released})  # fmt: skip
        return
    try:
        new_type = ControlType(str(control_type).upper())
    except ValueError:
        raise RecordError(
            f"unknown control type {control_type!r} (DOCUMENTARY, SCAN or PHYSICAL)",
            record_id=order_id, field="control_type",
        ) from None  # fmt: skip
    require_open(order_id, order.state, "change the control type of")
    if new_type == order.control_type:
        raise RecordError(
            f"the order is already a {new_type} control", record_id=order_id,
            field="control_type",
        )  # fmt: skip
    set_state(conn, order_id, control_type=new_type.value)
    code = events.selection_code(new_type)
    emitted = 0
    if code != events.selection_code(order.control_type):
        emitted = events.emit(conn, {order_id: code}, at)
    log(conn, order, "override", actor=actor, at=at, reason=reason,
        details={**(details or {}), "from_type": order.control_type, "to_type": new_type.value,
                 "events": emitted})  # fmt: skip


def get_order(store: Store, order_id: str) -> Order:
    """The order ``order_id``; a ``NotFoundError`` if there is none."""
    with store.reading() as conn:
        return load(conn, order_id)


def list_orders(
    store: Store,
    *,
    state: str | None = None,
    run_id: str | None = None,
    terminals: Collection[str] | None = None,
    limit: int | None = None,
) -> list[Order]:
    """Orders, oldest shift first; only those in ``state``, from ``run_id`` or at one of
    ``terminals`` when given."""
    o = tables.inspection_orders
    query = select(o).order_by(o.c.shift_start, o.c.terminal, o.c.order_id)
    if terminals is not None:
        query = query.where(o.c.terminal.in_(sorted(terminals)))
    if state is not None:
        try:
            query = query.where(o.c.state == State(state).value)
        except ValueError:
            known = ", ".join(State)
            raise RecordError(f"unknown state {state!r} ({known})", field="state") from None
    if run_id is not None:
        query = query.where(o.c.run_id == run_id)
    if limit is not None:
        query = query.limit(limit)
    with store.reading() as conn:
        return [Order(**row) for row in conn.execute(query).mappings()]


def history(store: Store, order_id: str) -> list[dict[str, Any]]:
    """The order's steps, oldest first, each with its details decoded."""
    h = tables.order_history
    with store.reading() as conn:
        load(conn, order_id)
        rows = conn.execute(
            select(h).where(h.c.order_id == order_id).order_by(h.c.entry_id)
        ).mappings()
        return [{**row, "details": json.loads(row["details"])} for row in rows]
