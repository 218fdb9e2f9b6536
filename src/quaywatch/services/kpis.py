"""Use case of measurement: the control KPIs of a period (``compute_kpis``).

Hit rates by lane, control type and who selected, profile effectiveness, revenue recovered,
seizures, capacity use, time to release and the control burden on AEOs, over the controls,
decisions and orders of [``period_from``, ``period_to``) (``learning.kpis`` explains each
figure). The result is the KPI dict with the stable keys ``learning.kpis.KEYS``, JSON-ready.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quaywatch.learning import kpis as measures
from quaywatch.services.arguments import check_interval
from quaywatch.store.store import Store

#: Top-level keys of the KPI dict, in order.
KEYS = measures.KEYS


def compute_kpis(store: Store, *, period_from: datetime, period_to: datetime) -> dict[str, Any]:
    """The KPIs of [``period_from``, ``period_to``) as a JSON-ready dict, keys as ``KEYS``."""
    check_interval("period", ("period_from", period_from), ("period_to", period_to))
    return measures.compute(store, period_from, period_to)
