"""Making a run's inspection orders while an officer overrides a lane, at the same moment
(SQLite and PostgreSQL): whichever commits first, the order ends up with the control of the
lane in force. Each test holds one of the two inside its transaction (just before it
commits) and starts the other: the other must wait for it, then see what it wrote."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from quaywatch.audit import chain
from quaywatch.services import control, decisions
from quaywatch.store import tables
from quaywatch.store.store import Store


class Pause:
    """Holds the transaction that appends the audit event ``action`` until released."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.inside = threading.Event()
        self.release = threading.Event()


@pytest.fixture
def pause(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Pause]]:
    held: list[Pause] = []
    original = chain.append

    def append(conn: Any, *args: Any, **kwargs: Any) -> Any:
        for p in held:
            if kwargs.get("action") == p.action and not p.inside.is_set():
                p.inside.set()
                assert p.release.wait(60)
        return original(conn, *args, **kwargs)

    monkeypatch.setattr(chain, "append", append)

    def make(action: str) -> Pause:
        held.append(Pause(action))
        return held[-1]

    yield make
    for p in held:
        p.release.set()


def _documentary(store: Store, run_id: str) -> str:
    d = tables.control_decisions
    with store.reading() as conn:
        return str(conn.execute(
            select(d.c.consignment_id).where(d.c.run_id == run_id, d.c.selected_by == "MODEL",
                                             d.c.control_type == "DOCUMENTARY")
            .order_by(d.c.consignment_id).limit(1)
        ).scalar_one())  # fmt: skip


def _order(store: Store, run_id: str, consignment_id: str) -> control.Order:
    (found,) = [o for o in control.list_orders(store, run_id=run_id)
                if o.consignment_id == consignment_id]  # fmt: skip
    return found


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    return thread, result


def _override(store: Store, run_id: str, consignment_id: str) -> Callable[[], object]:
    return lambda: decisions.override_lane(store, run_id, consignment_id, lane="red",
                                           reason_code="NEW_INTELLIGENCE", actor="ana")  # fmt: skip


def test_orders_made_during_an_override_follow_it(
    selected: tuple[Store, str], pause: Callable[[str], Pause]
) -> None:
    store, run_id = selected
    consignment = _documentary(store, run_id)
    held = pause("lane_override")
    overriding, _ = _in_thread(_override(store, run_id, consignment))
    assert held.inside.wait(60)
    making, made = _in_thread(lambda: control.create_orders(store, run_id, actor="bob"))
    making.join(1.0)
    assert making.is_alive(), "the orders were made while the override was uncommitted"
    held.release.set()
    overriding.join(60)
    making.join(60)
    assert made, "create_orders failed"
    order = _order(store, run_id, consignment)
    assert (order.decided_type, order.control_type, order.lane) == ("DOCUMENTARY", "PHYSICAL",
                                                                    "red")  # fmt: skip


def test_an_override_during_the_making_of_orders_changes_the_order_made(
    selected: tuple[Store, str], pause: Callable[[str], Pause]
) -> None:
    store, run_id = selected
    consignment = _documentary(store, run_id)
    held = pause("create_orders")
    making, _ = _in_thread(lambda: control.create_orders(store, run_id, actor="bob"))
    assert held.inside.wait(60)
    overriding, done = _in_thread(_override(store, run_id, consignment))
    overriding.join(1.0)
    assert overriding.is_alive(), "the override passed orders not yet committed"
    held.release.set()
    making.join(60)
    overriding.join(60)
    assert done, "the override failed"
    followed = done[0]
    assert isinstance(followed, decisions.LaneOverridden)
    assert (followed.order_state, followed.order_control_type) == ("planned", "PHYSICAL")
    order = _order(store, run_id, consignment)
    assert (order.control_type, order.lane) == ("PHYSICAL", "red")
