"""The audit trail over HTTP: verify the chain, read the events newest first, filtered."""

from __future__ import annotations

from datetime import datetime
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
    full: Annotated[
        bool, Query(description="Also re-hash every stored row the trail binds (slow).")
    ] = False,
) -> Verification:
    """Every event's hash, link (and signature, with an audit key) checked; 500
    ``audit-chain-broken`` names the first bad event. ``full``: every stored row re-hashed too;
    500 names the rows changed, missing or added."""
    return audit.verify_audit(state.store, anchor=anchor, full=full)


@router.get("/audit/events", summary="The newest audit events")
def events(
    state: ServiceState,
    who: AuditReader,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 20,
    actor: Annotated[str | None, Query(max_length=140, description="Who acted.")] = None,
    action: Annotated[
        str | None, Query(max_length=140, description="What they did.", examples=["import"])
    ] = None,
    object_type: Annotated[
        str | None, Query(max_length=140, description="The kind of object.", examples=["user"])
    ] = None,
    object_id: Annotated[str | None, Query(max_length=140, description="The object's id.")] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="Events at or after this moment.")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="Events before this moment.")
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=2**31 - 1, description="Cursor: events below this `seq` (a page's last)."),
    ] = None,
) -> list[AuditEvent]:
    """Newest first: who did what to which object, when. Each filter given must match; the
    next (older) page is ``before`` = the last event's ``seq``."""
    return audit.audit_log(
        state.store, limit=limit, actor=actor, action=action, object_type=object_type,
        object_id=object_id, since=since, until=until, before=before,
    )  # fmt: skip
