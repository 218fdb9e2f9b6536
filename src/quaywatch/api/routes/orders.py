"""Inspection orders over HTTP: make a run's orders, list them, and work each step.

An inspector reads and works only the orders of their own terminals
(``services.control.check_order_access``); the other roles that hold the permission, all.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import (
    PREFIX,
    OrderCreator,
    OrderOverrider,
    OrderReader,
    OrderWorker,
    ServiceState,
)
from quaywatch.control.orders import Order
from quaywatch.control.outcome import RecordedOutcome
from quaywatch.control.results import ScanResult
from quaywatch.control.states import State
from quaywatch.domain.access import Permission
from quaywatch.domain.vocabulary import (
    Concealment,
    ControlResult,
    ControlType,
    Irregularity,
    SeizureUnit,
    Verdict,
)
from quaywatch.services import control

router = APIRouter(
    prefix=PREFIX, tags=["orders"], responses=problems.documented(401, 403, 404, 409, 422, 503)
)

OrderId = Annotated[str, Path(min_length=1, max_length=35)]
RunId = Annotated[str, Path(min_length=1, max_length=36)]


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


class ScanBody(BaseModel):
    """An NII scan's result."""

    verdict: Verdict
    image_ref: str = Field(min_length=1, max_length=512, examples=["scanner-3/img-000812"])
    analyst: str = Field(min_length=1, max_length=128, description="Who read the image.")
    scan_id: str | None = Field(None, max_length=35, description="The scanner's id of the scan.")


class FindingsBody(BaseModel):
    """What the physical examination found."""

    note: str = Field(min_length=1, max_length=4000)
    seals_intact: bool | None = None
    goods_as_declared: bool | None = None


class OutcomeBody(BaseModel):
    """How the control ended."""

    result: ControlResult
    irregularity: Irregularity | None = None
    revenue_recovered_eur: float = Field(0.0, ge=0, allow_inf_nan=False)
    seizure_goods: str | None = Field(None, max_length=512)
    seizure_quantity: float | None = Field(None, gt=0, allow_inf_nan=False)
    seizure_unit: SeizureUnit | None = None
    seizure_hs6: str | None = Field(None, examples=["293972"])
    concealment: Concealment | None = None


class OverrideBody(BaseModel):
    """Another control type for the order, or its cancellation, with the reason."""

    reason: str = Field(min_length=1, max_length=4000)
    control_type: ControlType | None = None
    cancel: bool = False


@router.post("/selection-runs/{run_id}/orders", summary="Make the orders of a run", status_code=201)
def create(run_id: RunId, state: ServiceState, who: OrderCreator) -> control.OrdersCreated:
    """One inspection order per selected consignment; again for the same run: nothing new."""
    return control.create_orders(state.store, run_id, actor=who.name)


@router.get("/orders", summary="Inspection orders, oldest shift first")
def list_orders(
    state: ServiceState,
    who: OrderReader,
    order_state: Annotated[State | None, Query(alias="state")] = None,
    run_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = control.DEFAULT_LIMIT,
) -> list[Order]:
    """The orders the caller may read (an inspector: those of their terminals)."""
    return control.list_orders(
        state.store,
        state=None if order_state is None else order_state.value,
        run_id=run_id,
        limit=limit,
        viewer=who,
    )


@router.get("/orders/{order_id}", summary="One order whole")
def dossier(order_id: OrderId, state: ServiceState, who: OrderReader) -> control.OrderDossier:
    """The order, its steps, its scans and its outcome."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_READ)
    return control.order_dossier(state.store, order_id)


@router.post("/orders/{order_id}/start", summary="Start working an order")
def start(order_id: OrderId, state: ServiceState, who: OrderWorker) -> Order:
    """The order moves to IN_PROGRESS."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.start_order(state.store, order_id, actor=who.name)


@router.post("/orders/{order_id}/scan", summary="Record an NII scan", status_code=201)
def scan(order_id: OrderId, body: ScanBody, state: ServiceState, who: OrderWorker) -> ScanResult:
    """The scan's verdict and image; the same image again changes nothing."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.record_scan(
        state.store, order_id, verdict=body.verdict.value, image_ref=body.image_ref,
        analyst=body.analyst, scan_id=body.scan_id, actor=who.name,
    )  # fmt: skip


@router.post("/orders/{order_id}/findings", summary="Record examination findings")
def findings(
    order_id: OrderId, body: FindingsBody, state: ServiceState, who: OrderWorker
) -> control.FindingsRecorded:
    """What the examination found, for an order in progress."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.record_findings(
        state.store, order_id, note=body.note, seals_intact=body.seals_intact,
        goods_as_declared=body.goods_as_declared, actor=who.name,
    )  # fmt: skip


@router.post("/orders/{order_id}/outcome", summary="Record the outcome")
def outcome(
    order_id: OrderId, body: OutcomeBody, state: ServiceState, who: OrderWorker
) -> RecordedOutcome:
    """The control's outcome; it becomes a label for learning. The same again changes nothing;
    another outcome for a finished order is refused."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.record_outcome(
        state.store, order_id, result=body.result.value,
        irregularity=_value(body.irregularity),
        revenue_recovered_eur=body.revenue_recovered_eur, seizure_goods=body.seizure_goods,
        seizure_quantity=body.seizure_quantity, seizure_unit=_value(body.seizure_unit),
        seizure_hs6=body.seizure_hs6, concealment=_value(body.concealment), actor=who.name,
    )  # fmt: skip


@router.post("/orders/{order_id}/override", summary="Change or cancel an order")
def override(
    order_id: OrderId, body: OverrideBody, state: ServiceState, who: OrderOverrider
) -> Order:
    """Another control type, or cancellation, with a mandatory reason."""
    return control.override_order(
        state.store, order_id, reason=body.reason, control_type=_value(body.control_type),
        cancel=body.cancel, actor=who.name,
    )  # fmt: skip
