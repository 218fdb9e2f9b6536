"""Carriers' documents over HTTP: a DCSA eBL B/L or shipping instructions with its revisions,
the consignments declaring it and their discrepancies; one consignment's discrepancies with
the carrier's filing. For analysts and targeting officers (``assessment:read``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, AssessmentReader, ServiceState
from quaywatch.domain.vocabulary import WEIGHT_TOLERANCE
from quaywatch.risk.carrier_documents import Linked
from quaywatch.services import documents

router = APIRouter(
    prefix=PREFIX, tags=["documents"], responses=problems.documented(401, 403, 404, 422)
)


@router.get("/documents/{reference}", summary="A carrier's document and its discrepancies")
def document(
    reference: Annotated[str, Path(min_length=1, max_length=100, examples=["HHL71800000"])],
    state: ServiceState,
    who: AssessmentReader,
) -> documents.DocumentView:
    """The carrier document filed under ``reference`` (its own reference or the B/L number it
    carries), newest revision in full; every revision; the consignments declaring its B/L,
    each with its discrepancies with the carrier's filing."""
    return documents.show_document(state.store, reference)


@router.get(
    "/consignments/{consignment_id}/document-check",
    summary="A consignment against the carrier's filing",
)
def document_check(
    consignment_id: Annotated[str, Path(min_length=1, max_length=35)],
    state: ServiceState,
    who: AssessmentReader,
    version: Annotated[int | None, Query(ge=1, description="Default: the newest.")] = None,
    tolerance: Annotated[
        float, Query(ge=0, lt=1, description="Relative gross weight difference tolerated.")
    ] = WEIGHT_TOLERANCE,
) -> Linked:
    """The carrier documents of the consignment's B/L (own and master) and each discrepancy:
    containers, seals (rip-on/rip-off indicator), gross weights, ports, vessel."""
    return documents.check_consignment(state.store, consignment_id, version, tolerance=tolerance)
