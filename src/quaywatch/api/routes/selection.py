"""Selection over HTTP: choose controls within capacity, list the runs, read a worklist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, SelectionReader, Selector, ServiceState
from quaywatch.services import selection, worklist as worklists

router = APIRouter(
    prefix=PREFIX, tags=["selection"], responses=problems.documented(401, 403, 404, 422, 503)
)

RunId = Annotated[str, Path(min_length=1, max_length=36)]


class SelectionRequest(BaseModel):
    """The arrivals to select controls for, and the random sample."""

    window_from: datetime = Field(examples=["2026-12-10T00:00:00Z"],
                                  description="ETAs from (inclusive), with a time zone.")  # fmt: skip
    window_to: datetime = Field(examples=["2026-12-11T00:00:00Z"],
                                description="ETAs before (exclusive), with a time zone.")  # fmt: skip
    random_rate: float = Field(0.02, ge=0, le=1, description="Share drawn for random control.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the random draw.")


@router.post("/selection-runs", summary="Select controls within capacity", status_code=201)
def select(body: SelectionRequest, state: ServiceState, who: Selector) -> selection.SelectionResult:
    """Choose the controls of the assessed consignments arriving in the window, within the
    capacity of each terminal shift (the site's capacity file), with the random sample."""
    return selection.select_controls(
        state.store, window_from=body.window_from, window_to=body.window_to,
        capacity_file=state.settings.capacity_file, random_rate=body.random_rate,
        seed=body.seed, actor=who.name,
    )  # fmt: skip


@router.post(
    "/selection-runs/{run_id}/again", summary="Select again over a run's window", status_code=201
)
def select_again(run_id: RunId, state: ServiceState, who: Selector) -> selection.SelectionResult:
    """A new run over the window of ``run_id``, with its random rate and seed, on the newest
    assessments and the site's capacity file; the old run keeps its overrides and orders."""
    return selection.select_again(state.store, run_id, actor=who.name,
                                  capacity_file=state.settings.capacity_file)  # fmt: skip


@router.get("/selection-runs", summary="Selection runs, newest first")
def runs(
    state: ServiceState, who: SelectionReader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[selection.SelectionRun]:
    """The stored selection runs."""
    return list(selection.list_selection_runs(state.store, limit=limit))


@router.get("/selection-runs/{run_id}/worklist", summary="The worklist of a run")
def worklist(
    run_id: RunId,
    state: ServiceState,
    who: SelectionReader,
    terminal: Annotated[str | None, Query(max_length=16)] = None,
    lane: Annotated[str | None, Query(max_length=6)] = None,
    shift_start: Annotated[datetime | None, Query(description="A terminal shift's start.")] = None,
    vessel_call: Annotated[
        str | None, Query(max_length=60, description="IMO or IMO/voyage.")
    ] = None,
    sort: Annotated[str, Query(description="shift, score, value or eta.")] = "shift",
    offset: Annotated[int, Query(ge=0, le=worklists.MAX_OFFSET)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> list[worklists.WorklistEntry]:
    """The consignments the run selected (those the filters let through), with lanes,
    reasons, hits and orders, in the order ``sort`` names, one page at a time."""
    chosen = worklists.WorklistFilter(terminal, lane, shift_start, vessel_call)
    return worklists.worklist(state.store, run_id, chosen, sort=sort, offset=offset, limit=limit)


@router.get("/selection-runs/{run_id}/capacity", summary="The capacity meter of a run")
def capacity(
    run_id: RunId,
    state: ServiceState,
    who: SelectionReader,
    terminal: Annotated[str | None, Query(max_length=16)] = None,
    shift_start: Annotated[datetime | None, Query(description="A terminal shift's start.")] = None,
) -> worklists.CapacityMeter | None:
    """The controls the run planned in the terminal shifts asked for, by type and of the
    random sample, against what those shifts offer of each resource (null for a run stored
    before the capacity was kept)."""
    chosen = worklists.WorklistFilter(terminal=terminal, shift_start=shift_start)
    return worklists.capacity_meter(state.store, run_id, chosen)
