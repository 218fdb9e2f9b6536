"""Capacity use in the KPIs counts the controls in force after the officers' lane overrides
(SQLite and PostgreSQL): a consignment raised from no control to an examination adds what an
examination uses, one lowered from a documentary check to none takes that away."""

from __future__ import annotations

import pytest
from control_scenario import DAY_FROM, DAY_TO
from sqlalchemy import select

from quaywatch.learning import kpis
from quaywatch.services import decisions
from quaywatch.store import tables
from quaywatch.store.store import Store


def _first(store: Store, run_id: str, control: str | None) -> str:
    d = tables.control_decisions
    query = select(d.c.consignment_id).where(d.c.run_id == run_id, d.c.selected_by != "RANDOM")
    query = query.where(
        d.c.control_type.is_(None) if control is None else d.c.control_type == control
    )
    with store.reading() as conn:
        return str(conn.execute(query.order_by(d.c.consignment_id).limit(1)).scalar_one())


def _planned(store: Store) -> dict[str, float]:
    figures = kpis.compute(store, DAY_FROM, DAY_TO)["capacity"]
    return {r["resource"]: r["planned"] for r in figures["resources"]}


def _selected(store: Store) -> int:
    rows = kpis.compute(store, DAY_FROM, DAY_TO)["capacity"]["by_terminal_shift"]
    return sum(r["selected"] for r in rows)


def test_capacity_use_counts_the_controls_after_the_overrides(selected: tuple[Store, str]) -> None:
    store, run_id = selected
    use = tables.selection_control_use
    with store.reading() as conn:
        amounts = {(r.control_type, r.resource): r.amount for r in conn.execute(
            select(use).where(use.c.run_id == run_id))}  # fmt: skip
        stored: dict[str, float] = {}
        for r in conn.execute(select(tables.selection_capacity)):
            stored[r.resource] = stored.get(r.resource, 0.0) + r.used
    before = _planned(store)
    assert before == pytest.approx(stored, abs=0.01)  # counted again: what the run stored
    chosen_before = _selected(store)

    raised, lowered = _first(store, run_id, None), _first(store, run_id, "DOCUMENTARY")
    decisions.override_lane(store, run_id, raised, lane="red", reason_code="NEW_INTELLIGENCE",
                            actor="ana")  # fmt: skip
    after_raise = _planned(store)
    for resource, planned in before.items():
        gained = amounts.get(("PHYSICAL", resource), 0.0)
        assert after_raise[resource] == pytest.approx(planned + gained, abs=0.01), resource
    assert after_raise != before
    assert _selected(store) == chosen_before + 1

    decisions.override_lane(store, run_id, lowered, lane="green",
                            reason_code="DOCUMENTS_CLARIFIED", actor="ana")  # fmt: skip
    after = _planned(store)
    for resource, planned in after_raise.items():
        lost = amounts.get(("DOCUMENTARY", resource), 0.0)
        assert after[resource] == pytest.approx(planned - lost, abs=0.01), resource
    assert _selected(store) == chosen_before
