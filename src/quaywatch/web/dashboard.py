"""The KPI dashboard: what controls found over a period, for managers and the officers and
analysts who steer selection (``kpi:read``).

``/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD`` (default: the 30 days up to today, both included)
shows ``services.kpis.compute_kpis`` of that period: controls, hits, hit rate, revenue
recovered and seizures; the hit rate of each arm side by side (risk model, rules, officers,
the random sample), by lane and by control type, drawn as bars (inline SVG, no script); each
profile's effectiveness; seizures by goods; orders by state; time to release; and the control
burden on AEO traders against the others.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.domain.access import Permission
from quaywatch.errors import InputError, said
from quaywatch.services.kpis import compute_kpis
from quaywatch.web.pages import admitted, gettext, render, told

router = APIRouter(include_in_schema=False)

#: Days the dashboard shows when no period is asked for.
DEFAULT_DAYS = 30


def _day(text: str | None, default: date, name: str) -> date:
    if not text:
        return default
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(said("%(name)s must be a date as YYYY-MM-DD, got %(value)s", name=name,
                              value=repr(text))) from None  # fmt: skip
    if day >= date.max:
        raise InputError(
            said(
                "%(name)s must be a date before %(last)s, got %(value)s",
                name=name,
                last=date.max.isoformat(),
                value=repr(text),
            )
        )
    return day


@router.get("/kpis")
async def kpis(request: Request) -> Response:
    """The KPIs of a period of whole days."""
    state, visitor, refusal = await admitted(request, Permission.KPI_READ)
    if refusal is not None:
        return refusal
    today = datetime.now(UTC).date()
    asked_from, asked_to = request.query_params.get("from"), request.query_params.get("to")
    try:
        first = _day(asked_from, today - timedelta(days=DEFAULT_DAYS - 1), "from")
        last = _day(asked_to, today, "to")
        start = datetime.combine(first, time(), UTC)
        end = datetime.combine(last, time(), UTC) + timedelta(days=1)  # whole days
        figures = await run_in_threadpool(compute_kpis, state.store, period_from=start,
                                          period_to=end)  # fmt: skip
    except InputError as exc:
        error = gettext(visitor.language, "This period cannot be shown: %(reason)s") % {
            "reason": told(visitor.language, exc)
        }
        return render(request, visitor, "kpis.html",
                      {"k": None, "first": asked_from or "", "last": asked_to or "",
                       "error": error}, status=422)  # fmt: skip
    return render(request, visitor, "kpis.html",
                  {"k": figures, "first": first.isoformat(), "last": last.isoformat(),
                   "error": None})  # fmt: skip
