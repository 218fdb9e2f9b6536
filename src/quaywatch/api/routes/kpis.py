"""KPIs over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, KpiReader, ServiceState
from quaywatch.services import kpis

router = APIRouter(prefix=PREFIX, tags=["kpis"], responses=problems.documented(401, 403, 422))


@router.get("/kpis", summary="KPIs of a period")
def period_kpis(
    state: ServiceState,
    who: KpiReader,
    period_from: Annotated[datetime, Query(alias="from", examples=["2026-11-01T00:00:00Z"])],
    period_to: Annotated[datetime, Query(alias="to", examples=["2026-12-01T00:00:00Z"])],
) -> dict[str, Any]:
    """Hit rates by what selected the control (rules, model, random), capacity use, time to
    release, burden on AEO traders, seizures and revenue recovered, in [from, to)."""
    return kpis.compute_kpis(state.store, period_from=period_from, period_to=period_to)
