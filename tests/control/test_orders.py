"""Orders from a selection run, overrides and the customs events they emit (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from control_scenario import T0, Ordered
from sqlalchemy import select

from quaywatch.audit import chain
from quaywatch.control import orders, outcome, results
from quaywatch.control.states import State
from quaywatch.errors import ConflictError, NotFoundError, RecordError
from quaywatch.store import reads, tables
from quaywatch.store.store import Store


def events_of(store: Store, order_id: str) -> pl.DataFrame:
    e = tables.events
    return reads.frame(store, select(*e.columns).where(e.c.batch_id == order_id))


def test_create_orders_one_per_decided_control_and_idempotent(ordered: Ordered) -> None:
    store, run_id = ordered.store, ordered.run_id
    d = tables.control_decisions
    with store.reading() as conn:
        decided = conn.execute(
            select(d.c.consignment_id, d.c.control_type, d.c.selected_by, d.c.propensity).where(
                d.c.run_id == run_id, d.c.control_type.is_not(None)
            )
        ).all()
        undecided = conn.execute(
            select(d.c.consignment_id).where(d.c.run_id == run_id, d.c.control_type.is_(None))
        ).all()
    assert undecided, "the small capacity leaves some consignments uncontrolled"
    made = {o.consignment_id: o for o in orders.list_orders(store, run_id=run_id)}
    assert len(made) == len(decided) == len(ordered.order_ids)
    for consignment_id, control_type, selected_by, propensity in decided:
        order = made[consignment_id]
        assert order.state == State.PLANNED and order.control_type == control_type
        assert (order.selected_by, order.propensity) == (selected_by, propensity)
        assert order.order_id == orders.order_id_for(consignment_id, control_type)
    again = orders.create_orders(store, run_id, actor="ana")
    assert again.order_ids == [] and again.existing == len(decided) and again.events == 0
    assert len(orders.list_orders(store)) == len(decided)
    with store.reading() as conn:
        audit = [e for e in chain.recent(conn, 50) if e.action == "create_orders"]
        chain.verify(conn)
    assert [e.details["orders"] for e in audit] == [0, len(decided)]
    assert audit[1].details["order_ids"] == ordered.order_ids
    with pytest.raises(NotFoundError, match="no selection run 'nope'"):
        orders.create_orders(store, "nope")


def test_orders_emit_cuss_for_scans_and_cusi_for_the_rest(ordered: Ordered) -> None:
    store = ordered.store
    k, c = tables.containers, tables.consignments
    for order in orders.list_orders(store):
        emitted = events_of(store, order.order_id)
        with store.reading() as conn:
            boxes = set(
                conn.execute(
                    select(k.c.container_number).where(
                        k.c.consignment_id == order.consignment_id, k.c.version == order.version
                    )
                ).scalars()
            )
            port, document = conn.execute(select(c.c.port_of_discharge, c.c.transport_document).where(
                c.c.consignment_id == order.consignment_id)).one()  # fmt: skip
        expected = "CUSS" if order.control_type == "SCAN" else "CUSI"
        assert emitted["event_code"].to_list() == [expected] * len(boxes)
        assert set(emitted["container_number"]) == boxes
        assert (emitted["un_locode"] == port).all() and (
            emitted["transport_document"] == document
        ).all()
        assert (emitted["classifier"] == "ACT").all() and (
            emitted["event_type"] == "EQUIPMENT"
        ).all()
        assert not emitted["is_transshipment"].any() and (emitted["event_time"] == T0).all()


def test_override_needs_a_reason_and_is_recorded(ordered: Ordered) -> None:
    store = ordered.store
    scan = next(o for o in orders.list_orders(store) if o.control_type == "SCAN")
    for reason in ("", "   "):
        with pytest.raises(RecordError, match="field reason: an override needs a reason"):
            orders.override(store, scan.order_id, reason=reason, control_type="PHYSICAL")
    with pytest.raises(RecordError, match="exactly one"):
        orders.override(store, scan.order_id, reason="x", control_type="PHYSICAL", cancel=True)
    with pytest.raises(RecordError, match="unknown control type"):
        orders.override(store, scan.order_id, reason="x", control_type="XRAY")
    assert orders.get_order(store, scan.order_id).control_type == scan.control_type
    changed = orders.override(store, scan.order_id, reason="intel: known offender",
                              control_type="physical", actor="bob", now=T0 + timedelta(hours=1))  # fmt: skip
    assert changed.control_type == "PHYSICAL" and changed.decided_type == scan.control_type
    assert changed.state == State.PLANNED
    codes = events_of(store, scan.order_id)["event_code"].to_list()
    # The terminal is told the scan became an examination: a CUSI for each CUSS.
    assert sorted(set(codes)) == ["CUSI", "CUSS"] and codes.count("CUSI") == codes.count("CUSS")
    orders.override(store, scan.order_id, reason="no officer free", control_type="DOCUMENTARY")
    assert events_of(store, scan.order_id)["event_code"].to_list() == codes  # CUSI already
    steps = orders.history(store, scan.order_id)
    assert [s["action"] for s in steps] == ["create", "override", "override"]
    assert steps[1]["reason"] == "intel: known offender" and steps[1]["actor"] == "bob"
    assert steps[1]["details"]["to_type"] == "PHYSICAL"
    with store.reading() as conn:
        last = chain.recent(conn, 2)[1]
    assert (last.action, last.object_id, last.actor) == ("order_override", scan.order_id, "bob")
    assert last.details["reason"] == "intel: known offender"


def test_cancel_releases_the_consignment_and_is_final(ordered: Ordered) -> None:
    store, order_id = ordered.store, ordered.order_ids[0]
    cancelled = orders.override(store, order_id, reason="duplicate of a post-clearance audit",
                                cancel=True, now=T0 + timedelta(hours=2))  # fmt: skip
    assert cancelled.state == State.CANCELLED and cancelled.released_at == T0 + timedelta(hours=2)
    assert "CUSR" in events_of(store, order_id)["event_code"].to_list()
    with pytest.raises(ConflictError, match=f"order {order_id} is cancelled; it cannot move to"):
        orders.override(store, order_id, reason="again", cancel=True)
    with pytest.raises(ConflictError, match="cannot change the control type of a finished order"):
        orders.override(store, order_id, reason="x", control_type="SCAN")


def test_every_illegal_transition_is_refused_on_the_store(ordered: Ordered) -> None:
    store = ordered.store
    planned, done, cancelled = ordered.order_ids[:3]
    for order_id in (done, cancelled):
        orders.start(store, order_id)
    outcome.record_outcome(store, done, result="COMPLIANT")
    orders.override(store, cancelled, reason="officer ill", cancel=True)
    refused = [
        (planned, lambda o: outcome.record_outcome(store, o, result="COMPLIANT"), "planned", "done"),
        (done, lambda o: orders.start(store, o), "done", "in_progress"),
        (done, lambda o: orders.override(store, o, reason="r", cancel=True), "done", "cancelled"),
        (cancelled, lambda o: orders.start(store, o), "cancelled", "in_progress"),
        (cancelled, lambda o: outcome.record_outcome(store, o, result="COMPLIANT"), "cancelled", "done"),
        (cancelled, lambda o: orders.override(store, o, reason="r", cancel=True), "cancelled", "cancelled"),
    ]  # fmt: skip
    for order_id, act, state, target in refused:
        with pytest.raises(
            ConflictError, match=f"order {order_id} is {state}; it cannot move to {target}"
        ):
            act(order_id)
    orders.start(store, planned)
    with pytest.raises(
        ConflictError, match=f"order {planned} is in_progress; it cannot move to in_progress"
    ):
        orders.start(store, planned)
    assert orders.get_order(store, done).state == State.DONE
    assert orders.get_order(store, cancelled).state == State.CANCELLED
    with pytest.raises(ConflictError, match="in_progress"):
        results.record_findings(store, done, note="late note")
    with pytest.raises(NotFoundError, match="no inspection order 'QW000'"):
        orders.start(store, "QW000")


def test_seized_goods_stay_held_when_another_order_on_them_ends(ordered: Ordered) -> None:
    """A second order on a seized consignment, cancelled or done, must not release it."""
    store = ordered.store
    first = orders.get_order(store, ordered.order_ids[0])
    other = "PHYSICAL" if first.control_type != "PHYSICAL" else "SCAN"
    d, r = tables.control_decisions, tables.selection_runs
    with store.transaction() as conn:  # a later run decides another control for it
        run = conn.execute(select(r).where(r.c.run_id == ordered.run_id)).mappings().one()
        conn.execute(r.insert().values(**{**run, "run_id": "run-2"}))
        decision = conn.execute(select(d).where(
            d.c.run_id == ordered.run_id, d.c.consignment_id == first.consignment_id,
        )).mappings().one()  # fmt: skip
        conn.execute(d.insert().values(**{**decision, "run_id": "run-2", "control_type": other}))
    second = orders.create_orders(store, "run-2", actor="ana", now=T0).order_ids[0]
    orders.start(store, first.order_id, now=T0 + timedelta(hours=1))
    seized = outcome.record_outcome(
        store, first.order_id, result="SEIZURE", irregularity="DRUGS", seizure_goods="cocaine",
        seizure_quantity=10.0, seizure_unit="KGM", now=T0 + timedelta(hours=2),
    )  # fmt: skip
    assert not seized.released
    cancelled = orders.override(store, second, reason="goods already seized", cancel=True,
                                now=T0 + timedelta(hours=3))  # fmt: skip
    assert cancelled.released_at is None
    e = tables.events
    released = reads.frame(store, select(e.c.event_code).where(
        e.c.event_code == "CUSR", e.c.batch_id.in_([first.order_id, second])))  # fmt: skip
    assert released.is_empty()
