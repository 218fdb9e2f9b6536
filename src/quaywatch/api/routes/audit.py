"""The audit trail over HTTP: verify the chain, read the newest events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, AuditReader, ServiceState
from quaywatch.audit.chain import AuditEvent, Verification
from quaywatch.services import audit

router = APIRouter(prefix=PREFIX, tags=["audit"], responses=problems.documented(401, 403, 422))


@router.get(
    "/audit/verify",
    summary="Verify the audit chain",
    responses={500: {"model": problems.Problem, "description": "The chain does not verify"}},
)
def verify(
    state: ServiceState,
    who: AuditReader,
    anchor: Annotated[
        str | None, Query(max_length=200, description="SEQ:HASH from an earlier verify.")
    ] = None,
) -> Verification:
    """Every event's hash and link checked; 500 ``audit-chain-broken`` names the first bad
    event."""
    return audit.verify_audit(state.store, anchor=anchor)


@router.get("/audit/events", summary="The newest audit events")
def events(
    state: ServiceState, who: AuditReader, limit: Annotated[int, Query(ge=1, le=10_000)] = 20
) -> list[AuditEvent]:
    """Newest first: who did what to which object, when."""
    return audit.audit_log(state.store, limit=limit)
