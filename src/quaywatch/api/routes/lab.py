"""The policy lab over HTTP: start a run (it runs in the background), list the runs, read one
with its figures, and read the set-ups and limits a run may have."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, LabRunner, ServiceState
from quaywatch.services import lab_runs
from quaywatch.services.lab_runs import DEFAULTS

router = APIRouter(
    prefix=PREFIX, tags=["lab"], responses=problems.documented(401, 403, 404, 409, 422, 503)
)

RunId = Annotated[str, Path(min_length=1, max_length=36)]


class LabRunRequest(BaseModel):
    """What to replay; bounds and set-ups: ``GET /api/v1/lab/options``."""

    weeks: int = Field(DEFAULTS.weeks, description="Arrival weeks to replay.")
    warmup_weeks: int = Field(
        DEFAULTS.warmup_weeks, description="Weeks of legacy control history before the replay."
    )
    per_day: int = Field(DEFAULTS.per_day, description="Consignments a day.")
    seed: int = Field(DEFAULTS.seed, description="Seed of the traffic and of every draw.")
    strategies: list[str] | None = Field(
        None,
        examples=[["rules", "hybrid"]],
        description="The set-ups to compare (none: the defaults).",
    )
    displacement: bool = Field(
        DEFAULTS.displacement, description="Cocaine traffic moves to new routes two weeks in."
    )
    title: str | None = Field(None, description="A name for the run.")


class LabRunAccepted(BaseModel):
    """A run queued, and where to read it."""

    run: lab_runs.LabRun
    url: str = Field(examples=["/api/v1/lab/runs/0b6f1c1e-3f0e-4a61-9d43-6a0e2b1f9c55"])


@router.post("/lab/runs", summary="Start a policy lab run", status_code=202)
def start(
    body: LabRunRequest, response: Response, state: ServiceState, who: LabRunner
) -> LabRunAccepted:
    """Queue a replay of generated weeks through the chosen set-ups; the service runs one at
    a time in the background. Read it at ``url`` until its state is done or failed."""
    run = lab_runs.start_lab_run(
        state.store, weeks=body.weeks, warmup_weeks=body.warmup_weeks, per_day=body.per_day,
        seed=body.seed, strategies=body.strategies, displacement=body.displacement,
        title=body.title, actor=who.name, worker=state.lab,
    )  # fmt: skip
    url = f"{PREFIX}/lab/runs/{run.run_id}"
    response.headers["Location"] = url
    return LabRunAccepted(run=run, url=url)


@router.get("/lab/runs", summary="Policy lab runs, newest first")
def runs(
    state: ServiceState, who: LabRunner, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[lab_runs.LabRun]:
    """The runs with their state and parameters, without their figures."""
    return lab_runs.lab_runs(state.store, limit=limit)


@router.get("/lab/runs/{run_id}", summary="One policy lab run with its figures")
def run(run_id: RunId, state: ServiceState, who: LabRunner) -> lab_runs.LabRunReport:
    """The run; once done, the figures of each set-up over the replay and week by week."""
    return lab_runs.lab_run(state.store, run_id)


@router.get("/lab/options", summary="The set-ups and limits of a policy lab run")
def options(who: LabRunner) -> lab_runs.LabOptions:
    """Every set-up with what it is, and the bounds and default of each parameter."""
    return lab_runs.lab_options()
