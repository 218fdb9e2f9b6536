"""The KPI service on the store (SQLite and PostgreSQL): figures after an officer's controls, and
the periods it refuses.

(Named ``test_control_kpis`` rather than ``test_kpis``: ``tests/control/test_kpis.py`` holds that
module name already, and test folders are not packages.)
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from quaywatch.errors import InputError
from quaywatch.services import control, kpis
from quaywatch.store.store import Store

# The control tests' scenario (an assessed port day and a selection run) lives beside them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))
from control_scenario import assess_and_select  # noqa: E402

FROM, TO = datetime(2026, 11, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def test_kpis_count_the_controls_and_their_hits(store: Store, tmp_path: Path) -> None:
    run_id = assess_and_select(store, tmp_path)
    made = control.create_orders(store, run_id, actor="ana")
    seized, compliant = made.orders[0], made.orders[1]
    for order in (seized, compliant):
        control.start_order(store, order.order_id, actor="ana")
    control.record_outcome(store, seized.order_id, result="SEIZURE", irregularity="DRUGS",
                           seizure_goods="cocaine", seizure_quantity=12.0, seizure_unit="KGM",
                           actor="ana")  # fmt: skip
    control.record_outcome(store, compliant.order_id, result="COMPLIANT", actor="ana")
    figures = kpis.compute_kpis(store, period_from=FROM, period_to=TO)
    assert tuple(figures) == kpis.KEYS
    assert figures["controls"] == 2 and figures["hits"] == 1 and figures["hit_rate"] == 0.5
    assert figures["seizures"]["count"] == 1
    assert figures["seizures"]["by_goods"][0]["goods"] == "cocaine"
    assert figures["capacity"]["orders"]["done"] == 2
    assert figures["period"] == {"from": FROM.isoformat(), "to": TO.isoformat()}
    json.dumps(figures)  # JSON-ready, as an API returns it


def test_kpis_of_an_empty_store_are_zero(store: Store) -> None:
    figures = kpis.compute_kpis(store, period_from=FROM, period_to=TO)
    assert figures["controls"] == 0 and figures["hit_rate"] is None


@pytest.mark.parametrize(
    ("period_from", "period_to", "message"),
    [
        (TO, FROM, "the period ends before it starts: period_to .* is not after period_from"),
        (FROM, FROM, "period_to .* is not after period_from"),
        (datetime(2026, 11, 1), TO, "period_from must be a timezone-aware time"),
        (FROM, datetime(2100, 1, 1), "period_to must be a timezone-aware time"),
    ],
)  # fmt: skip
def test_a_bad_period_names_its_field(
    store: Store, period_from: datetime, period_to: datetime, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        kpis.compute_kpis(store, period_from=period_from, period_to=period_to)
