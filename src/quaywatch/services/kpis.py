"""Use case of measurement: the control KPIs of a period (``compute_kpis``).

Hit rates by lane, control type and who selected, profile effectiveness, revenue recovered,
seizures, capacity use, time to release and the control burden on AEOs, over the controls,
decisions and orders of [``period_from``, ``period_to``) (``learning.kpis`` explains each
figure). The result is the KPI dict with the stable keys ``learning.kpis.KEYS``, JSON-ready.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quaywatch.errors import InputError
from quaywatch.learning import kpis as measures
from quaywatch.store.store import Store

#: Top-level keys of the KPI dict, in order.
KEYS = measures.KEYS


def check_period(period_from: datetime, period_to: datetime) -> None:
    """An ``InputError`` naming the field unless both are aware and ``period_from`` is first."""
    for name, moment in (("period_from", period_from), ("period_to", period_to)):
        if moment.tzinfo is None:
            raise InputError(f"{name} must be a timezone-aware time, got {moment.isoformat()}")
    if period_to <= period_from:
        raise InputError(
            f"the period ends before it starts: period_to {period_to.isoformat()} is not after "
            f"period_from {period_from.isoformat()}"
        )


def compute_kpis(store: Store, *, period_from: datetime, period_to: datetime) -> dict[str, Any]:
    """The KPIs of [``period_from``, ``period_to``) as a JSON-ready dict, keys as ``KEYS``."""
    check_period(period_from, period_to)
    return measures.compute(store, period_from, period_to)
