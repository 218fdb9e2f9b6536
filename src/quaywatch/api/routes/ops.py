"""Probes and metrics: ``/health`` (the process answers), ``/ready`` (it can serve: store,
schema, model), ``/metrics`` (Prometheus). No credentials; nothing about the traffic."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from quaywatch.api.context import ServiceState
from quaywatch.api.metrics import CONTENT_TYPE, Metrics
from quaywatch.errors import ModelError
from quaywatch.services.health import Readiness, readiness

router = APIRouter(tags=["operations"])


@router.get("/health", summary="The process answers")
def health() -> dict[str, str]:
    """Liveness: always ``ok`` while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="The service can answer requests",
    responses={503: {"model": Readiness, "description": "A check failed"}},
)
def ready(state: ServiceState) -> Any:
    """Readiness: the store answers, its schema is current and a risk model is loaded; 503
    with the failed checks otherwise."""
    try:
        model, problem = state.models.get(), None
    except ModelError as exc:
        model, problem = None, exc.message
    found = readiness(state.store, model_version=None if model is None else model.version,
                      model_problem=problem)  # fmt: skip
    if found.ready:
        return found
    return JSONResponse(jsonable_encoder(found), status_code=503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Exposition text"}},
)
def metrics(request: Request, state: ServiceState) -> Response:
    """Requests by route and status, their duration, and whether a model is loaded."""
    measured = request.app.state.metrics
    assert isinstance(measured, Metrics)
    try:
        loaded = state.models.get() is not None
    except ModelError:
        loaded = False
    measured.model_loaded.set(1 if loaded else 0)
    return Response(measured.text(), media_type=CONTENT_TYPE)
