# Fixtures of the control workflow tests.
#
# - `selected`: a generated port day (40 consignments, with containers and events) ingested
#   into the `store` fixture (SQLite and PostgreSQL), every consignment assessed with a known
#   probability and, for every third one, the reason `profile:COC-001` (every fifth also
#   `profile:UND-002`), then a selection run over the day with the shipped capacity file cut
#   down to one scan, one documentary check and one examination per terminal shift (so that
#   some consignments go unselected) and a 10 % random sample. Gives the store and the run id.
# - `ordered`: `selected` with its inspection orders created at T0; gives store, run id and
#   the created orders' ids.
from __future__ import annotations

from pathlib import Path

import pytest
from control_scenario import T0, Ordered, assess_and_select

from quaywatch.control import orders
from quaywatch.store.store import Store


@pytest.fixture
def selected(store: Store, tmp_path: Path) -> tuple[Store, str]:
    return store, assess_and_select(store, tmp_path)


@pytest.fixture
def ordered(selected: tuple[Store, str]) -> Ordered:
    store, run_id = selected
    created = orders.create_orders(store, run_id, actor="ana", now=T0)
    assert created.order_ids
    return Ordered(store, run_id, created.order_ids)
