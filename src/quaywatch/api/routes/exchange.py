"""The exchange with partner administrations over HTTP.

- ``POST /exchange/inbox``: a partner's quaywatch node delivers signed messages (the HTTP push
  of its outbox). The caller needs a token of the ``partner_node`` role bound to its partner,
  which this administration issues to each partner's node (``quaywatch tokens create USER
  --role partner_node --partner BEANR``); the envelope's signature, checked as for an imported
  file (``mailbox.receive``), is what proves who sent a message, and a message signed by
  another partner is refused (403, nothing of the post stored). The answer says, per record,
  accepted, duplicate, or rejected with the reason.
- the partner liaison's routes (permission ``exchange``): the inbox, the rejected messages,
  the outbox with the feedback owed and the push's state, sending (queueing) a message, and
  the partners.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, ExchangeLiaison, PartnerNode, Service, ServiceState
from quaywatch.errors import InputError, PermissionDeniedError, said
from quaywatch.services import exchange

router = APIRouter(
    prefix=PREFIX, tags=["exchange"], responses=problems.documented(401, 403, 404, 409, 422)
)

#: A transport record as a partner's node posts it (OpenAPI example; its signature is fake).
EXAMPLE_RECORD: dict[str, Any] = {
    "format": "quaywatch-exchange/1",
    "payload_sha256": "9f2c…",
    "envelope": {
        "payload": "eyJib2R5Ijp7…",
        "payloadType": "application/vnd.quaywatch.seizure-report.v1+json",
        "signatures": [{"keyid": "4b1e…", "sig": "MEUCIQ…"}],
    },
}
EXAMPLE_SEIZURE: dict[str, Any] = {
    "containers": ["CSQU3054383"], "case_reference": "BEANR-2026-0042",
    "seizure_date": "2026-12-05T10:00:00Z", "place": "BEANR", "hs_code": "080390",
    "goods_description": "cocaine in banana boxes", "quantity": 412.5, "unit": "KGM",
    "concealment": "RIP_ON_RIP_OFF", "detection_method": "NII_SCAN", "vessel_imo": "9074729",
    "voyage": "123W", "route": ["ECGYE", "BEANR"],
}  # fmt: skip

_INBOX_BODY = {
    "requestBody": {
        "required": True,
        "description": "One transport record, a JSON array of them, or JSON Lines (at most "
        f"{exchange.MAX_POSTED_RECORDS:,} records, {exchange.MAX_POSTED_BYTES:,} bytes).",
        "content": {
            media: {"schema": {}, "examples": {
                "one": {"summary": "One transport record", "value": EXAMPLE_RECORD},
                "several": {"summary": "An array of them", "value": [EXAMPLE_RECORD]},
            }}
            for media in ("application/json", "application/x-ndjson")
        },
    }
}  # fmt: skip


class RecordOutcome(BaseModel):
    """What became of one record posted: ``accepted`` (stored), ``duplicate`` (stored before:
    kept once) or ``rejected`` (kept among the rejected messages with ``reason``)."""

    record: int = Field(description="Its position in the post, from 1.")
    status: Literal["accepted", "duplicate", "rejected"]
    message_id: str | None
    reason: exchange.Reason | None = Field(None, description="Why it was rejected.")
    detail: str | None = None


class InboxAnswer(BaseModel):
    """The outcome of every record of a post, in order, and their counts."""

    outcomes: list[RecordOutcome]
    accepted: int
    duplicate: int
    rejected: int


class ReceivedMessage(BaseModel):
    """A message accepted from a partner, with its signed payload (JSON text)."""

    message_id: str
    sender: str
    message_type: str
    issued_at: datetime
    expires_at: datetime
    in_reply_to: str | None
    received_at: datetime
    source: str
    payload: str


class RejectedMessage(BaseModel):
    """A record refused, with its reason and the bytes received (base64, as kept)."""

    rejection_id: str
    reason: exchange.Reason
    detail: str
    sender: str | None
    message_id: str | None
    received_at: datetime
    source: str
    raw_base64: str
    raw_bytes: int


class OutboxMessage(BaseModel):
    """A message queued for a partner: its export, its HTTP push, and the feedback owed."""

    message_id: str
    recipient: str
    message_type: str
    in_reply_to: str | None
    created_at: datetime
    expires_at: datetime
    exported_at: datetime | None
    exports: int
    delivery: Literal["queued", "retrying", "delivered", "refused", "expired"]
    push_attempts: int
    next_push_at: datetime | None
    last_push_error: str | None
    delivered_at: datetime | None
    refused_reason: str | None
    feedback: Literal["received", "due", "overdue", "-"] = Field(
        description="Owed on a risk analysis result with a due date: received, due, overdue."
    )
    feedback_due_by: datetime | None
    feedback_messages: list[str] = Field(description="Ids of the Feedback messages answering it.")


class SendRequest(BaseModel):
    """A message to sign and queue for a partner."""

    to: str = Field(min_length=2, max_length=20, examples=["NLRTM"])
    type: exchange.MessageType = Field(examples=["seizure-report"])
    body: dict[str, Any] = Field(examples=[EXAMPLE_SEIZURE],
                                 description="The fields of the type (docs/exchange.md).")  # fmt: skip
    in_reply_to: str | None = Field(None, max_length=36, description="The message it answers.")
    valid_days: int = Field(30, ge=1, le=3660)


class PartnerView(BaseModel):
    """A partner administration: its root of keys in force, its state, its inbox URL."""

    administration: str
    root_version: int
    fingerprint: str
    key_ids: list[str]
    threshold: int
    expires_at: datetime
    added_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    revoked_keys: list[str]
    inbox_url: str | None


def _outbox_view(e: exchange.OutboxEntry, now: datetime) -> OutboxMessage:
    return OutboxMessage(
        message_id=e.message_id, recipient=e.recipient, message_type=e.message_type,
        in_reply_to=e.in_reply_to, created_at=e.created_at, expires_at=e.expires_at,
        exported_at=e.exported_at, exports=e.exports, delivery=e.delivery(now),
        push_attempts=e.push_attempts, next_push_at=e.next_push_at,
        last_push_error=e.last_push_error, delivered_at=e.delivered_at,
        refused_reason=e.refused_reason, feedback=e.feedback(now),
        feedback_due_by=e.feedback_due_by, feedback_messages=list(e.feedback_from),
    )  # fmt: skip


async def _read_body(request: Request) -> bytes:
    """The body, refused (422) once it passes ``MAX_POSTED_BYTES``, before more is read."""
    limit = exchange.MAX_POSTED_BYTES
    stated = request.headers.get("content-length")
    if stated is not None and (not stated.isdigit() or int(stated) > limit):
        raise InputError(f"the body is above {limit:,} bytes", source="request body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(f"the body is above {limit:,} bytes", source="request body")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/exchange/inbox",
    summary="Deliver signed messages from a partner's node",
    openapi_extra=_INBOX_BODY,
)
async def deliver(request: Request, state: ServiceState, who: PartnerNode) -> InboxAnswer:
    """Each transport record goes through every check of the receiver (docs/exchange.md): it is
    accepted, a duplicate of one stored (kept once), or rejected with its reason and kept with
    its bytes. Answers 200 with the outcome of each, whatever they are: a rejection is the
    partner's message's fault, not the request's."""
    if who.partner is None:
        raise PermissionDeniedError(said(
            "%(name)s's token is bound to no partner: issue the partner's node a token that "
            "names it (quaywatch tokens create USER --role partner_node --partner CODE)",
            name=who.name,
        ))  # fmt: skip
    body = await _read_body(request)
    outcomes = await run_in_threadpool(_receive, state, body, who.name, who.partner)
    listed = [
        RecordOutcome(record=n, status=o.status, message_id=o.message_id,
                      reason=o.reason, detail=o.detail)
        for n, o in enumerate(outcomes, start=1)
    ]  # fmt: skip
    return InboxAnswer(
        outcomes=listed, **{k: sum(1 for o in outcomes if o.status == k)
                            for k in ("accepted", "duplicate", "rejected")},
    )  # fmt: skip


def _receive(state: Service, body: bytes, actor: str, partner: str) -> tuple[exchange.Outcome, ...]:
    """Split and receive a posted body (in a worker thread: parsing 16 MiB takes a while)."""
    records = exchange.split_posted(body, f"http:{actor}")
    return exchange.receive_posted(state.store, records, actor=actor, only_from=partner)


Limit = Annotated[int, Query(ge=1, le=10_000, description="Most messages listed, newest first.")]


@router.get("/exchange/inbox", summary="Messages accepted from partners")
def inbox(state: ServiceState, who: ExchangeLiaison, limit: Limit = 100) -> list[ReceivedMessage]:
    """The newest messages accepted, with their signed payloads."""
    found = exchange.inbox(state.store, limit=limit)
    return [ReceivedMessage(**_fields(r)) for r in found.received]


@router.get("/exchange/rejected", summary="Messages refused, with their reasons")
def rejected(
    state: ServiceState, who: ExchangeLiaison, limit: Limit = 100
) -> list[RejectedMessage]:
    """The newest records refused: reason, detail, and the exact bytes received (base64)."""
    found = exchange.inbox(state.store, limit=limit)
    return [
        RejectedMessage(
            rejection_id=j.rejection_id,
            reason=j.reason,
            detail=j.detail,
            sender=j.sender,
            message_id=j.message_id,
            received_at=j.received_at,
            source=j.source,
            raw_base64=base64.b64encode(j.raw).decode("ascii"),
            raw_bytes=len(j.raw),
        )  # fmt: skip
        for j in found.rejected
    ]


@router.get("/exchange/outbox", summary="Messages sent to partners, with feedback owed")
def outbox(state: ServiceState, who: ExchangeLiaison, limit: Limit = 100) -> list[OutboxMessage]:
    """Newest first: each one's delivery (queued, retrying, delivered, refused, expired), its
    push attempts and last error, and the feedback owed (received, due, overdue)."""
    now = datetime.now(UTC)
    return [_outbox_view(e, now) for e in exchange.outbox(state.store)[:limit]]


@router.post(
    "/exchange/outbox", summary="Send a message to a partner", status_code=201,
    responses={201: {"description": "Signed and queued; the push delivers it"}},
)  # fmt: skip
def send(body: SendRequest, state: ServiceState, who: ExchangeLiaison) -> OutboxMessage:
    """Checks the body (a wrong field is named, nothing is queued), signs the message with this
    administration's key and queues it in the outbox."""
    entry = exchange.send_body(
        state.store, state.settings.key_dir, body.to, body.type, body.body,
        valid_days=body.valid_days, in_reply_to=body.in_reply_to, actor=who.name,
    )  # fmt: skip
    return _outbox_view(entry, datetime.now(UTC))


@router.get("/exchange/partners", summary="Partner administrations")
def partners(state: ServiceState, who: ExchangeLiaison) -> list[PartnerView]:
    """Every partner: its root of keys in force (compare the fingerprint with the partner's),
    its state and revoked keys, and the inbox URL its messages are pushed to."""
    return [
        PartnerView(
            administration=p.administration,
            root_version=p.root.root.version,
            fingerprint=p.root.fingerprint,
            key_ids=[k.keyid for k in p.root.root.keys],
            threshold=p.root.root.threshold,
            expires_at=p.root.root.expires_at,
            added_at=p.added_at,
            revoked_at=p.revoked_at,
            revoke_reason=p.revoke_reason,
            revoked_keys=list(p.revoked_keys),
            inbox_url=p.inbox_url,
        )  # fmt: skip
        for p in exchange.list_partners(state.store)
    ]


def _fields(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}
