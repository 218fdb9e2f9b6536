"""The rows the control workflow writes into covered tables (the CUSS/CUSI/CUSR events it
emits, the outcome row of an order) are bound into the audit trail as an import's are:
``audit verify --full`` passes, then names them once changed, on both stores."""

from __future__ import annotations

import re

import pytest
from control_scenario import T0, Ordered
from sqlalchemy import text

from quaywatch.control import orders, outcome
from quaywatch.errors import TamperedError
from quaywatch.services import audit


def test_emitted_events_and_outcomes_are_bound(ordered: Ordered) -> None:
    store, order_id = ordered.store, ordered.order_ids[0]
    orders.start(store, order_id, actor="ana", now=T0)
    outcome.record_outcome(store, order_id, result="COMPLIANT", actor="ana", now=T0)
    checked = audit.verify_audit(store, full=True)
    assert checked.rows is not None and checked.rows.legacy_rows == 0
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE control_outcomes SET result = 'SEIZURE' WHERE control_id = :o"),
                     {"o": order_id})  # fmt: skip
        conn.execute(text("UPDATE events SET un_locode = 'XXXXX' WHERE batch_id = :o"),
                     {"o": order_id})  # fmt: skip
    with pytest.raises(TamperedError, match=rf'control_outcomes \["{order_id}"\]: changed') as e:
        audit.verify_audit(store, full=True)
    assert re.search(r"events \[\"[^\"]+\"\]: changed", e.value.message)
