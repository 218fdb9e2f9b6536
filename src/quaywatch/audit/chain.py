"""An append-only, hash-chained audit log.

Each event's hash covers its own fields and the previous event's hash, so editing, inserting or
deleting a row breaks the chain from that row on. The ``audit_head`` row holds the newest
sequence number and hash, which catches a truncated tail; an operator who keeps the head printed
by ``quaywatch audit verify`` elsewhere (an anchor) can prove even a rewrite of the whole table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from quaywatch.errors import AuditChainError
from quaywatch.store.tables import audit_events, audit_head, utcnow

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of the audit trail."""

    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Verification:
    """Result of a successful verification: how many events, and the head to keep as anchor."""

    events: int
    head_seq: int
    head_hash: str


def _canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def _event_hash(
    seq: int, at: datetime, actor: str, action: str, object_type: str, object_id: str,
    details_json: str, prev_hash: str,
) -> str:  # fmt: skip
    payload = "\x1f".join(
        [str(seq), at.isoformat(), actor, action, object_type, object_id, details_json, prev_hash]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event inside the caller's transaction and return it."""
    # Lock the head row so concurrent writers on PostgreSQL take turns (SQLite writers already
    # do); the row is created by the first append.
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS)
    at = utcnow()
    details_json = _canonical(details or {})
    digest = _event_hash(seq, at, actor, action, object_type, object_id, details_json, prev_hash)
    conn.execute(
        insert(audit_events).values(
            seq=seq, at=at, actor=actor, action=action, object_type=object_type,
            object_id=object_id, details=details_json, prev_hash=prev_hash, hash=digest,
        )
    )  # fmt: skip
    if head:
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=digest))
    else:
        conn.execute(insert(audit_head).values(id=1, seq=seq, hash=digest))
    return AuditEvent(
        seq, at, actor, action, object_type, object_id, details or {}, prev_hash, digest
    )


def verify(conn: Connection, *, anchor: tuple[int, str] | None = None) -> Verification:
    """Walk the whole chain; raise ``AuditChainError`` naming the first broken event.

    ``anchor`` is a ``(seq, hash)`` pair recorded earlier: the chain must still contain it.
    """
    prev_hash, expected_seq, count = GENESIS, 1, 0
    rows = conn.execute(select(audit_events).order_by(audit_events.c.seq))
    anchor_seen = anchor is None
    for row in rows:
        if row.seq != expected_seq:
            raise AuditChainError(
                f"audit event {expected_seq} is missing (next is {row.seq}): rows were deleted"
            )
        if row.prev_hash != prev_hash:
            raise AuditChainError(
                f"audit event {row.seq} does not follow event {row.seq - 1}: "
                "an event was inserted, deleted or edited"
            )
        digest = _event_hash(
            row.seq, row.at, row.actor, row.action, row.object_type, row.object_id,
            row.details, row.prev_hash,
        )  # fmt: skip
        if digest != row.hash:
            raise AuditChainError(f"audit event {row.seq} was edited: its hash does not match")
        if anchor is not None and row.seq == anchor[0]:
            if row.hash != anchor[1]:
                raise AuditChainError(f"audit event {row.seq} differs from the anchor kept")
            anchor_seen = True
        prev_hash, expected_seq, count = row.hash, row.seq + 1, count + 1
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (expected_seq - 1, prev_hash):
        raise AuditChainError(
            f"the audit head says event {head_seq} is last but the log ends at "
            f"{expected_seq - 1}: events were deleted or the head was changed"
        )
    if not anchor_seen:
        assert anchor is not None
        raise AuditChainError(f"anchored audit event {anchor[0]} is no longer in the log")
    return Verification(count, head_seq, head_hash)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to read: each field that is set must match (``since`` inclusive, ``until``
    exclusive, ``before`` a sequence number the events lie below)."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None


def recent(conn: Connection, limit: int = 20, where: EventFilter | None = None) -> list[AuditEvent]:
    """The newest ``limit`` events (that pass ``where``), newest first."""
    e = audit_events
    query = select(e)
    if where is not None:
        exact = (("actor", where.actor), ("action", where.action),
                 ("object_type", where.object_type), ("object_id", where.object_id))  # fmt: skip
        for name, value in exact:
            if value is not None:
                query = query.where(e.c[name] == value)
        if where.since is not None:
            query = query.where(e.c.at >= where.since)
        if where.until is not None:
            query = query.where(e.c.at < where.until)
        if where.before is not None:
            query = query.where(e.c.seq < where.before)
    rows = conn.execute(query.order_by(e.c.seq.desc()).limit(limit))
    return [
        AuditEvent(
            r.seq,
            r.at,
            r.actor,
            r.action,
            r.object_type,
            r.object_id,
            json.loads(r.details),
            r.prev_hash,
            r.hash,
        )  # fmt: skip
        for r in rows
    ]


def vocabulary(conn: Connection) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every action and every object type in the log, sorted."""
    e = audit_events
    actions = conn.execute(select(e.c.action).distinct().order_by(e.c.action)).scalars()
    kinds = conn.execute(select(e.c.object_type).distinct().order_by(e.c.object_type)).scalars()
    return tuple(actions), tuple(kinds)
