"""The outcome of a control: it completes the order and becomes a ``control_outcomes`` row.

Outcomes recorded here land in the same table as the legacy outcomes intake imports, checked
by the same rules (``intake.outcomes.validate``) and hashed the same way, so training, KPIs and
evaluation read one history. The row's ``control_id`` is the order id; ``selected_by`` and
``propensity`` are copied from the selection decision (an officer's override changes the
control, not how the consignment came to be selected), ``controlled_at`` is when the order was
started and ``known_at`` when the outcome was recorded.

A compliant or irregular result releases the consignment (CUSR, unless another order still
holds it); a seizure keeps it held. Recording the same outcome again changes nothing and
succeeds; a different outcome for a finished order is refused: the first one has been learnt
from already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, insert, select

from quaywatch.audit import rows as row_hashes
from quaywatch.control.orders import Order, load, log, release, set_state
from quaywatch.control.states import State, check
from quaywatch.domain.models import ControlResult
from quaywatch.errors import ConflictError, RecordError, said
from quaywatch.intake import entity_state, fields, outcomes
from quaywatch.store import tables
from quaywatch.store.store import Store

#: The fields an officer states; the rest come from the order. Two outcomes are the same when
#: these are.
STATED = [
    "result",
    "irregularity",
    "revenue_recovered_eur",
    *outcomes.SEIZURE_COLUMNS,
]


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """The outcome of an order; ``created`` is False when the same one was already recorded."""

    order_id: str
    result: str
    created: bool
    released: bool
    row: dict[str, Any]


def _container(conn: Connection, order: Order) -> str | None:
    """The consignment's container when it has exactly one (an outcome names at most one)."""
    k = tables.containers
    boxes = conn.execute(
        select(k.c.container_number).where(
            k.c.consignment_id == order.consignment_id, k.c.version == order.version
        )
    ).scalars().all()  # fmt: skip
    return boxes[0] if len(boxes) == 1 else None


def _checked(raw: dict[str, str | None], order_id: str) -> dict[str, Any]:
    """``raw`` checked and normalised by intake's outcome rules, with its content hash."""
    frame = pl.DataFrame(
        {name: [raw.get(name)] for name in outcomes.COLUMNS},
        schema=dict.fromkeys(outcomes.COLUMNS, pl.String),
    ).with_columns(pl.lit(f"order {order_id}").alias("_loc"), pl.lit(0).alias("_run"))
    valid = outcomes.validate(frame)
    problems = valid.item(0, "_problems")
    if problems:
        field, reason = fields.split_problems(problems)[0]
        raise RecordError(reason, record_id=order_id, field=field)
    hashed = fields.content_hashes(valid, outcomes.COLUMNS, ["control_id"])
    row = valid.select(outcomes.COLUMNS).row(0, named=True)
    return {**row, "content_sha256": hashed.item(0, "content_sha256")}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def record_outcome(
    store: Store,
    order_id: str,
    *,
    result: str,
    irregularity: str | None = None,
    revenue_recovered_eur: float = 0.0,
    seizure_goods: str | None = None,
    seizure_quantity: float | None = None,
    seizure_unit: str | None = None,
    seizure_hs6: str | None = None,
    concealment: str | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> RecordedOutcome:
    """Record the outcome of an order in progress, complete it and store the outcome row.

    ``result`` is COMPLIANT, IRREGULAR (with ``irregularity``, e.g. VALUE, and the revenue
    recovered) or SEIZURE (with goods, quantity, unit, and where known the HS6 code and the
    concealment method). A ``NotFoundError`` for an unknown order, a ``RecordError`` naming the
    field for an outcome intake would quarantine, a ``ConflictError`` for an order not in
    progress or one that ended with another outcome.
    """
    at = now or tables.utcnow()
    co = tables.control_outcomes
    with store.transaction() as conn:
        order = load(conn, order_id, lock=True)
        stated = {
            "result": result, "irregularity": irregularity,
            "revenue_recovered_eur": repr(float(revenue_recovered_eur)),
            "seizure_goods": seizure_goods, "seizure_quantity": _text(seizure_quantity),
            "seizure_unit": seizure_unit, "seizure_hs6": seizure_hs6, "concealment": concealment,
        }  # fmt: skip
        raw = {
            "control_id": order_id, "consignment_id": order.consignment_id,
            "version": str(order.version), "container_number": _container(conn, order),
            "control_type": order.control_type, "selected_by": order.selected_by,
            "propensity": repr(order.propensity),
            "controlled_at": (order.started_at or at).isoformat(), "known_at": at.isoformat(),
            **stated,
        }  # fmt: skip
        row = _checked(raw, order_id)
        stored = conn.execute(select(co).where(co.c.control_id == order_id)).mappings().first()
        if stored is not None:
            if order.state != State.DONE:
                raise ConflictError(
                    said("control id %(order)s is already used by an imported outcome; "
                         "order %(order)s cannot record its own", order=order_id)
                )  # fmt: skip
            if any(stored[name] != row[name] for name in STATED):
                raise ConflictError(
                    said("order %(order)s is done with outcome %(result)s recorded at "
                         "%(at)s UTC; a different outcome is refused", order=order_id,
                         result=stored["result"], at=stored["known_at"].strftime("%Y-%m-%d %H:%M"))
                )  # fmt: skip
            return RecordedOutcome(order_id, stored["result"], False, False, dict(stored))
        check(order_id, order.state, State.DONE)
        row.update(received_at=at, batch_id=order_id)
        conn.execute(insert(co).values(**row))
        # The row as stored is bound into the order's outcome event, as an import binds its rows.
        written = [
            dict(r) for r in conn.execute(select(co).where(co.c.control_id == order_id)).mappings()
        ]
        bound = row_hashes.bind_rows(conn, f"outcome-{order_id}", co, written)
        entity_state.outcomes_stored(store, conn, [order_id])
        set_state(conn, order_id, state=State.DONE.value, finished_at=at)
        released = row["result"] != ControlResult.SEIZURE and release(conn, order, at)
        log(conn, order, "outcome", actor=actor, at=at, to_state=State.DONE,
            details={name: row[name] for name in STATED if row[name] is not None}
            | {"released": released, "rows": bound})  # fmt: skip
    return RecordedOutcome(order_id, row["result"], True, released, row)


def get_outcome(store: Store, order_id: str) -> dict[str, Any] | None:
    """The outcome row of an order (``control_id`` = order id), or None while it has none."""
    co = tables.control_outcomes
    with store.reading() as conn:
        row = conn.execute(select(co).where(co.c.control_id == order_id)).mappings().first()
    return None if row is None else dict(row)
