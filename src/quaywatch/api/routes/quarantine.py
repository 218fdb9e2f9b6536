"""The quarantine over HTTP: the records intake could not store, and storing them again."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import (
    PREFIX,
    QuarantineReader,
    QuarantineRetrier,
    ServiceState,
)
from quaywatch.config import read_intake_options
from quaywatch.services import intake

router = APIRouter(
    prefix=PREFIX, tags=["quarantine"], responses=problems.documented(401, 403, 404, 422)
)

QuarantineId = Annotated[int, Path(ge=1, le=intake.MAX_QUARANTINE_ID)]


class RetryRequest(BaseModel):
    """The record corrected (as ``raw`` shows it, as a JSON object), or nothing to retry it as
    it is (after the reference data or the consignment it needed arrived)."""

    record: dict[str, Any] | None = Field(None, description="The corrected record.")


Status = Literal["open", "resolved", "all"]
ReasonText = Annotated[
    str | None,
    Query(
        min_length=1, max_length=intake.MAX_REASON_CHARS,
        description="Only entries whose reason holds this text (ASCII letters in any case).",
    ),
]  # fmt: skip


class RetryByReason(BaseModel):
    """Which open entries to retry as they are: those whose reason holds ``reason``."""

    reason: str = Field(
        min_length=1, max_length=intake.MAX_REASON_CHARS,
        description="Text of the reason (ASCII letters in any case), e.g. a port's code.",
    )  # fmt: skip
    kind: Literal["consignments", "events", "outcomes", "documents"] | None = None
    limit: int = Field(
        1_000, ge=1, le=10_000,
        description="At most this many, oldest first (each retried and audited on its own).",
    )  # fmt: skip


@router.get("/quarantine", summary="Quarantined records, newest first")
def listing(
    state: ServiceState,
    who: QuarantineReader,
    status: Status = "open",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
    reason: ReasonText = None,
) -> list[intake.QuarantineEntry]:
    """Each entry with its problems and the record as read."""
    return intake.list_quarantine(state.store, status=status, limit=limit, reason=reason)


@router.get("/quarantine/reasons", summary="Quarantined records counted by cause")
def reasons(
    state: ServiceState, who: QuarantineReader, status: Status = "open", reason: ReasonText = None
) -> list[intake.ReasonCount]:
    """Entries by kind, field and reason (each number written N), the largest cause first."""
    return intake.quarantine_reasons(state.store, status=status, reason=reason)


@router.post("/quarantine/retry", summary="Store again every open record of one cause")
def retry_by_reason(
    body: RetryByReason, state: ServiceState, who: QuarantineRetrier
) -> intake.RetryResult:
    """Once the cause is fixed (a port added to the reference data, a consignment imported),
    each matching entry is retried as it is and audited; the result says what each did."""
    return intake.retry_quarantine_matching(
        state.store, body.reason, kind=body.kind, limit=body.limit, actor=who.name,
        options=read_intake_options(state.settings),
    )  # fmt: skip


@router.get("/quarantine/{quarantine_id}", summary="One quarantined record")
def entry(
    quarantine_id: QuarantineId, state: ServiceState, who: QuarantineReader
) -> intake.QuarantineEntry:
    """The entry, its problems and the record as read."""
    return intake.get_quarantine(state.store, quarantine_id)


@router.post("/quarantine/{quarantine_id}/retry", summary="Store a quarantined record again")
def retry(
    quarantine_id: QuarantineId, body: RetryRequest, state: ServiceState, who: QuarantineRetrier
) -> intake.RetryOutcome:
    """Stored: the entry is resolved; still invalid: it stays open with its new reasons."""
    text = None if body.record is None else json.dumps(body.record, ensure_ascii=False)
    done = intake.retry_quarantine(
        state.store, [quarantine_id], record_text=text, actor=who.name,
        options=read_intake_options(state.settings),
    )  # fmt: skip
    return done.outcomes[0]
