"""Assessments over HTTP: assess consignments now, read one's history, run a scoring run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, AssessmentReader, AssessmentRunner, ServiceState
from quaywatch.api.schemas import assessments_example
from quaywatch.services import assessments, hit_weights, risk

router = APIRouter(
    prefix=PREFIX, tags=["assessments"], responses=problems.documented(401, 403, 404, 422, 503)
)

ConsignmentId = Annotated[str, Path(min_length=1, max_length=35, examples=["261102-BEANR-0000000"])]


class AssessRequest(BaseModel):
    """Consignments to assess (their newest stored versions)."""

    consignment_ids: list[str] = Field(
        min_length=1, max_length=assessments.MAX_CONSIGNMENTS,
        examples=[["261102-BEANR-0000000", "261102-BEANR-0000001"]],
    )  # fmt: skip


class ScoringRequest(BaseModel):
    """A scoring run over the stored consignments."""

    at: datetime | None = Field(
        None, description="What is known at this moment (outcomes, events); default now."
    )
    since: datetime | None = Field(None, description="Only consignments lodged from then.")
    rescore: bool = Field(False, description="Assess again what this model assessed already.")
    explain_all: bool = Field(False, description="Give reasons to every assessment.")
    top: int = Field(10, ge=0, le=1000, description="Highest scores to return.")


@router.post(
    "/assessments",
    summary="Assess consignments now",
    responses=assessments_example(
        "The assessments, each with its model, profile and reference data versions"
    ),
)
def assess(
    body: AssessRequest, state: ServiceState, who: AssessmentReader
) -> list[assessments.Assessment]:
    """The assessment of each consignment's newest version, with reasons: made now if the
    current model has not assessed it yet or container events arrived since, else the stored
    one. Stored and audited like any assessment."""
    model = state.models.require()
    return list(
        assessments.assess_consignments(
            state.store,
            body.consignment_ids,
            model=model,
            actor=who.name,
            saturation_pct=state.settings.hit_saturation_pct,
            key_dir=state.settings.key_dir,
        )  # fmt: skip
    )


@router.get(
    "/consignments/{consignment_id}/assessments",
    summary="Every assessment of a consignment",
    responses=assessments_example("Every assessment, oldest first"),
)
def history(
    consignment_id: ConsignmentId, state: ServiceState, who: AssessmentReader
) -> list[assessments.Assessment]:
    """Every assessment of every version, oldest first, with the model and profile versions
    that made it."""
    return list(assessments.assessment_history(state.store, consignment_id))


@router.post("/scoring-runs", summary="Score the stored consignments", status_code=201)
def score(body: ScoringRequest, state: ServiceState, who: AssessmentRunner) -> risk.ScoreResult:
    """Assess what the current model has not assessed yet (or everything, with ``rescore``),
    store the assessments, and give the highest scores."""
    state.models.require()
    return risk.score_period(
        state.store, model_path=state.settings.model_dir, at=body.at, since=body.since,
        rescore=body.rescore, explain_all=body.explain_all, top=body.top, actor=who.name,
        saturation_pct=state.settings.hit_saturation_pct, key_dir=state.settings.key_dir,
    )  # fmt: skip


@router.get("/hit-weights", summary="The hit weight set scoring applies")
def active_hit_weights(state: ServiceState, who: AssessmentReader) -> dict[str, Any]:
    """The active set of hit weights fitted on this port's outcomes (``quaywatch weights
    fit``): per code its shipped, fitted and applied weight, how often it fired, was controlled
    and found something, and whether it saturates; the JSON of ``quaywatch weights show
    --json``. 404 when scoring uses the shipped weights."""
    return hit_weights.show_weights(state.store).to_dict()
