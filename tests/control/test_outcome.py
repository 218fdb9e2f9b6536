"""Scan results and outcomes: one control_outcomes history, idempotent, checked (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from control_scenario import T0, Ordered
from sqlalchemy import func, select

from quaywatch.audit import chain
from quaywatch.control import orders, outcome, results
from quaywatch.control.states import State
from quaywatch.errors import ConflictError, NotFoundError, RecordError
from quaywatch.features.assessment import hit
from quaywatch.store import reads, tables

STARTED, DONE = T0 + timedelta(hours=1), T0 + timedelta(hours=4)


def first(ordered: Ordered, control_type: str) -> orders.Order:
    return next(o for o in orders.list_orders(ordered.store) if o.control_type == control_type)


def test_scan_then_seizure_lands_in_control_outcomes(ordered: Ordered) -> None:
    store = ordered.store
    order = first(ordered, "SCAN")
    with pytest.raises(ConflictError, match="in_progress"):
        results.record_scan(store, order.order_id, scan_id="S1", image_ref="nii://1",
                            verdict="suspicious", analyst="al")  # fmt: skip
    orders.start(store, order.order_id, actor="ben", now=STARTED)
    scan = results.record_scan(store, order.order_id, scan_id="S1", image_ref="nii://1",
                               verdict="Suspicious", analyst="al", actor="ben")  # fmt: skip
    assert scan.created and scan.verdict == results.Verdict.SUSPICIOUS
    again = results.record_scan(store, order.order_id, scan_id="S1", image_ref="nii://1",
                                verdict="suspicious", analyst="al")  # fmt: skip
    assert not again.created and len(results.scans(store, order.order_id)) == 1
    with pytest.raises(ConflictError, match="scan S1 is already recorded"):
        results.record_scan(store, order.order_id, scan_id="S1", image_ref="nii://2",
                            verdict="clear", analyst="al")  # fmt: skip
    with pytest.raises(RecordError, match="field verdict: unknown verdict"):
        results.record_scan(store, order.order_id, scan_id="S2", image_ref="x", verdict="maybe",
                            analyst="al")  # fmt: skip
    with pytest.raises(ConflictError, match="override its type to PHYSICAL"):
        results.record_findings(store, order.order_id, note="opened")
    orders.override(store, order.order_id, reason="suspicious image", control_type="PHYSICAL")
    results.record_findings(store, order.order_id, note="false wall", seals_intact=False)
    done = outcome.record_outcome(
        store, order.order_id, result="seizure", irregularity="drugs", seizure_goods="cocaine",
        seizure_quantity=120, seizure_unit="kgm", seizure_hs6="293979", concealment="false_wall",
        actor="ben", now=DONE,
    )  # fmt: skip
    assert done.created and not done.released  # a seizure keeps the consignment held
    stored = reads.control_outcomes(store)
    assert stored.height == 1
    row = stored.row(0, named=True)
    assert row["control_id"] == order.order_id and row["consignment_id"] == order.consignment_id
    assert (row["selected_by"], row["propensity"]) == (order.selected_by, order.propensity)
    assert row["control_type"] == "PHYSICAL" and row["result"] == "SEIZURE"
    assert (row["controlled_at"], row["known_at"]) == (STARTED, DONE)
    assert (row["seizure_goods"], row["seizure_quantity"], row["seizure_unit"]) == (
        "cocaine",
        120.0,
        "KGM",
    )
    assert (row["concealment"], row["irregularity"], row["batch_id"]) == (
        "FALSE_WALL",
        "DRUGS",
        order.order_id,
    )
    assert stored.select(hit()).item() is True  # the models learn from it as from any outcome
    finished = orders.get_order(store, order.order_id)
    assert (finished.state, finished.finished_at, finished.released_at) == (State.DONE, DONE, None)
    steps = [s["action"] for s in orders.history(store, order.order_id)]
    assert steps == ["create", "start", "scan", "override", "finding", "outcome"]
    with store.reading() as conn:
        # The last events: the order's steps, and the events_emit of the CUSI/CUSS it emitted.
        actions = [e.action for e in chain.recent(conn, 10) if e.object_id == order.order_id]
        chain.verify(conn)
    assert actions == [
        "order_outcome",
        "order_finding",
        "order_override",
        "order_scan",
        "order_start",
    ]


def test_same_outcome_twice_is_idempotent_a_different_one_refused(ordered: Ordered) -> None:
    store = ordered.store
    order = first(ordered, "DOCUMENTARY")
    orders.start(store, order.order_id, now=STARTED)
    kwargs = {"result": "IRREGULAR", "irregularity": "VALUE", "revenue_recovered_eur": 2_500.0}
    made = outcome.record_outcome(store, order.order_id, now=DONE, **kwargs)  # type: ignore[arg-type]
    assert made.created and made.released
    with store.reading() as conn:
        audited = conn.execute(select(func.count()).select_from(tables.audit_events)).scalar_one()
    repeat = outcome.record_outcome(store, order.order_id, now=DONE + timedelta(hours=1), **kwargs)  # type: ignore[arg-type]
    assert not repeat.created and repeat.result == "IRREGULAR"
    with store.reading() as conn:
        assert (
            conn.execute(select(func.count()).select_from(tables.audit_events)).scalar_one()
            == audited
        )
    assert reads.control_outcomes(store).height == 1
    e = tables.events
    cusr = reads.frame(store, select(e.c.event_code).where(e.c.batch_id == order.order_id,
                                                            e.c.event_code == "CUSR"))  # fmt: skip
    assert cusr.height >= 1  # one per container, once
    with pytest.raises(
        ConflictError, match=f"order {order.order_id} is done with outcome IRREGULAR"
    ):
        outcome.record_outcome(store, order.order_id, result="COMPLIANT")
    assert reads.control_outcomes(store)["result"].to_list() == ["IRREGULAR"]


def test_unknown_order_and_invalid_outcomes_are_rejected(ordered: Ordered) -> None:
    store = ordered.store
    with pytest.raises(NotFoundError, match="no inspection order 'QW-NOPE'"):
        outcome.record_outcome(store, "QW-NOPE", result="COMPLIANT")
    order = first(ordered, "PHYSICAL")
    orders.start(store, order.order_id)
    cases = [
        ({"result": "IRREGULAR"}, "irregularity", "missing"),
        ({"result": "COMPLIANT", "revenue_recovered_eur": 10.0}, "revenue_recovered_eur", "a COMPLIANT control recovers"),
        ({"result": "SEIZURE", "irregularity": "DRUGS", "seizure_goods": "cocaine"}, "seizure_quantity", "missing"),
        ({"result": "FINE"}, "result", ""),
        ({"result": "SEIZURE", "irregularity": "DRUGS", "seizure_goods": "x", "seizure_quantity": 1.0,
          "seizure_unit": "KGM", "seizure_hs6": "12"}, "seizure_hs6", ""),
    ]  # fmt: skip
    for kwargs, field, reason in cases:
        with pytest.raises(RecordError, match=f"record {order.order_id}, field {field}: {reason}"):
            outcome.record_outcome(store, order.order_id, **kwargs)  # type: ignore[arg-type]
    assert orders.get_order(store, order.order_id).state == State.IN_PROGRESS
    assert reads.control_outcomes(store).is_empty()
    assert isinstance(reads.control_outcomes(store), pl.DataFrame)
