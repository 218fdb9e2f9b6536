"""The control workflow's services on the store (SQLite and PostgreSQL): each step, its result,
what it leaves in the store and the audit trail, and each refusal."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from quaywatch.audit import chain
from quaywatch.control.states import State
from quaywatch.errors import ConflictError, InputError, NotFoundError, RecordError
from quaywatch.services import control
from quaywatch.store.store import Store

# The control tests' scenario (an assessed port day and a selection run) lives beside them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))
from control_scenario import assess_and_select  # noqa: E402


@dataclass(frozen=True)
class Run:
    store: Store
    run_id: str
    made: control.OrdersCreated


@pytest.fixture
def run(store: Store, tmp_path: Path) -> Run:
    run_id = assess_and_select(store, tmp_path)
    return Run(store, run_id, control.create_orders(store, run_id, actor="ana"))


def actions(store: Store, limit: int = 50) -> list[tuple[str, str, str]]:
    """(actor, action, object id) of the newest audit events, oldest first."""
    with store.reading() as conn:
        chain.verify(conn)
        return [(e.actor, e.action, e.object_id) for e in reversed(chain.recent(conn, limit))]


def an_order(run: Run, control_type: str) -> str:
    return next(o.order_id for o in run.made.orders if o.control_type == control_type)


def test_create_orders_lists_the_runs_orders_and_is_idempotent(run: Run) -> None:
    made = run.made
    assert made.run_id == run.run_id and made.created and made.existing == 0 and made.events > 0
    assert sorted(o.order_id for o in made.orders) == sorted(made.created)
    assert all(o.state == State.PLANNED and o.run_id == run.run_id for o in made.orders)
    again = control.create_orders(run.store, run.run_id, actor="ben")
    assert again.created == [] and again.existing == len(made.created) and again.events == 0
    assert [o.order_id for o in again.orders] == [o.order_id for o in made.orders]
    assert ("ben", "create_orders", run.run_id) in actions(run.store)
    with pytest.raises(NotFoundError, match="no selection run 'nope'"):
        control.create_orders(run.store, "nope", actor="ana")


def test_list_orders_filters_by_state_and_run_and_limits(run: Run) -> None:
    store = run.store
    everything = control.list_orders(store)
    assert len(everything) == len(run.made.created)
    assert len(control.list_orders(store, limit=1)) == 1
    assert control.list_orders(store, run_id="other") == []
    first = everything[0].order_id
    control.start_order(store, first, actor="ana")
    assert [o.order_id for o in control.list_orders(store, state="in_progress")] == [first]
    assert first not in {o.order_id for o in control.list_orders(store, state=State.PLANNED)}
    with pytest.raises(InputError, match="limit must be at least 1, got 0"):
        control.list_orders(store, limit=0)
    with pytest.raises(RecordError, match="unknown state 'lost'") as raised:
        control.list_orders(store, state="lost")
    assert raised.value.field == "state"


def test_a_scan_that_becomes_a_seizure_leaves_its_dossier(run: Run) -> None:
    store, order_id = run.store, an_order(run, "SCAN")
    started = control.start_order(store, order_id, actor="ana")
    assert started.state == State.IN_PROGRESS and started.started_at is not None
    scan = control.record_scan(store, order_id, verdict="suspicious", image_ref="nii://a/1",
                               analyst="al", actor="ana")  # fmt: skip
    assert scan.created and scan.scan_id == control.default_scan_id(order_id, "nii://a/1")
    assert scan.scan_id.startswith(f"{order_id}-")
    same = control.record_scan(store, order_id, verdict="suspicious", image_ref="nii://a/1",
                               analyst="al", actor="ana")  # fmt: skip
    assert not same.created and same.scan_id == scan.scan_id
    with pytest.raises(ConflictError, match="override its type to PHYSICAL"):
        control.record_findings(store, order_id, note="false wall", actor="ana")
    changed = control.override_order(store, order_id, reason="dense image",
                                     control_type="PHYSICAL", actor="ben")  # fmt: skip
    assert changed.control_type == "PHYSICAL" and changed.decided_type == "SCAN"
    found = control.record_findings(store, order_id, note=" false wall ", seals_intact=False,
                                    actor="ben")  # fmt: skip
    assert found == control.FindingsRecorded(order_id, "false wall", False, None)
    done = control.record_outcome(
        store, order_id, result="SEIZURE", irregularity="DRUGS", seizure_goods="cocaine",
        seizure_quantity=120.0, seizure_unit="KGM", concealment="FALSE_WALL", actor="ben",
    )  # fmt: skip
    assert done.created and done.result == "SEIZURE" and not done.released

    dossier = control.order_dossier(store, order_id)
    assert dossier.order.state == State.DONE and dossier.order.control_type == "PHYSICAL"
    assert [h.action for h in dossier.history] == [
        "create", "start", "scan", "override", "finding", "outcome"]  # fmt: skip
    assert [h.to_state for h in dossier.history if h.to_state] == [
        "planned", "in_progress", "done"]  # fmt: skip
    override = dossier.history[3]
    assert override.actor == "ben" and override.reason == "dense image"
    assert override.details["to_type"] == "PHYSICAL"
    assert [s.scan_id for s in dossier.scans] == [scan.scan_id]
    assert dossier.outcome is not None and dossier.outcome.result == "SEIZURE"
    assert dossier.outcome.details["seizure_goods"] == "cocaine"
    assert dossier.outcome.details["seizure_quantity"] == 120.0
    assert "revenue_recovered_eur" not in dossier.outcome.details  # zero: not stated
    assert [a for a in actions(run.store) if a[2] == order_id] == [
        ("ana", "order_start", order_id), ("ana", "order_scan", order_id),
        ("ben", "order_override", order_id), ("ben", "order_finding", order_id),
        ("ben", "order_outcome", order_id),
    ]  # fmt: skip


def test_a_compliant_outcome_releases_and_a_cancel_needs_a_reason(run: Run) -> None:
    store, documentary = run.store, an_order(run, "DOCUMENTARY")
    control.start_order(store, documentary, actor="ana")
    done = control.record_outcome(store, documentary, result="COMPLIANT", actor="ana")
    assert done.created and done.released
    again = control.record_outcome(store, documentary, result="COMPLIANT", actor="ana")
    assert not again.created
    physical = an_order(run, "PHYSICAL")
    with pytest.raises(RecordError, match="needs a reason") as raised:
        control.override_order(store, physical, reason=" ", cancel=True, actor="ana")
    assert raised.value.field == "reason"
    with pytest.raises(RecordError, match="exactly one") as raised:
        control.override_order(store, physical, reason="x", control_type="SCAN", cancel=True,
                               actor="ana")  # fmt: skip
    assert raised.value.field == "control_type"
    cancelled = control.override_order(store, physical, reason="duplicate", cancel=True,
                                       actor="ana")  # fmt: skip
    assert cancelled.state == State.CANCELLED and cancelled.finished_at is not None


@pytest.mark.parametrize(
    "step",
    [
        lambda s, o: control.start_order(s, o, actor="a"),
        lambda s, o: control.record_scan(s, o, verdict="clear", image_ref="i", analyst="a",
                                         actor="a"),
        lambda s, o: control.record_findings(s, o, note="n", actor="a"),
        lambda s, o: control.record_outcome(s, o, result="COMPLIANT", actor="a"),
        lambda s, o: control.override_order(s, o, reason="r", cancel=True, actor="a"),
        control.order_dossier,
    ],
    ids=["start", "scan", "findings", "outcome", "override", "dossier"],
)  # fmt: skip
def test_an_unknown_order_is_not_found_by_any_step(store: Store, step: object) -> None:
    assert callable(step)
    with pytest.raises(NotFoundError, match="no inspection order 'QWNOPE'"):
        step(store, "QWNOPE")


def test_a_step_the_state_forbids_is_a_conflict(run: Run) -> None:
    store, order_id = run.store, an_order(run, "SCAN")
    with pytest.raises(ConflictError, match="is planned; it cannot move to done"):
        control.record_outcome(store, order_id, result="COMPLIANT", actor="ana")
    with pytest.raises(ConflictError, match="recorded while it is in_progress"):
        control.record_scan(store, order_id, verdict="clear", image_ref="i", analyst="al",
                            actor="ana")  # fmt: skip
    control.start_order(store, order_id, actor="ana")
    with pytest.raises(ConflictError, match="is in_progress; it cannot move to in_progress"):
        control.start_order(store, order_id, actor="ana")
    control.record_outcome(store, order_id, result="COMPLIANT", actor="ana")
    with pytest.raises(ConflictError, match="a different outcome is refused"):
        control.record_outcome(store, order_id, result="IRREGULAR", irregularity="VALUE",
                               revenue_recovered_eur=10.0, actor="ana")  # fmt: skip
    with pytest.raises(ConflictError, match="cannot change the control type of a finished"):
        control.override_order(store, order_id, reason="late", control_type="PHYSICAL",
                               actor="ana")  # fmt: skip


def test_bad_values_name_their_field(run: Run) -> None:
    store, order_id = run.store, an_order(run, "SCAN")
    control.start_order(store, order_id, actor="ana")
    with pytest.raises(InputError, match="revenue_recovered_eur must be 0 or more, got -5"):
        control.record_outcome(store, order_id, result="IRREGULAR", irregularity="VALUE",
                               revenue_recovered_eur=-5.0, actor="ana")  # fmt: skip
    with pytest.raises(RecordError, match="unknown verdict") as raised:
        control.record_scan(store, order_id, verdict="maybe", image_ref="i", analyst="al",
                            actor="ana")  # fmt: skip
    assert raised.value.field == "verdict"
    with pytest.raises(RecordError) as raised:
        control.record_outcome(store, order_id, result="SEIZURE", actor="ana")
    assert raised.value.field and raised.value.record_id == order_id
    assert control.order_dossier(store, order_id).order.state == State.IN_PROGRESS
