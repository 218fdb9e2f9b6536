"""An append-only, hash-chained audit log.

Each event's hash covers its own fields and the previous event's hash, so editing, inserting or
deleting a row breaks the chain from that row on. The ``audit_head`` row holds the newest
sequence number and hash, which catches a truncated tail; an operator who keeps the head printed
by ``quaywatch audit verify`` elsewhere (an anchor) can prove even a rewrite of the whole table.

Hashes need no secret, so someone who can write to the database can recompute a whole forged
chain. With an audit key configured (``audit.signing``, which states the threat model), each
event also carries an HMAC of its hash, and a signed anchor file pins the head: then a forged
or re-hashed event, and a deleted tail, are detected. The data the events speak of is bound in
by ``audit.rows``: an import's event carries the Merkle root of every row it wrote.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from quaywatch.audit.signing import Anchor, AuditKey
from quaywatch.errors import AuditChainError, InputError
from quaywatch.store.database import AUDIT_KEY
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
    """Result of a successful verification: how many events, and the head to keep as anchor.

    ``signed``: events carrying a MAC; ``key_checked``: whether those MACs were checked (an
    audit key was configured). ``rows``: what ``audit verify --full`` found in the stored data
    (None when only the chain was checked).
    """

    events: int
    head_seq: int
    head_hash: str
    signed: int = 0
    key_checked: bool = False
    rows: RowsChecked | None = None


@dataclass(frozen=True, slots=True)
class RowsChecked:
    """The stored rows re-hashed by ``audit verify --full``: all matched their audited hash.

    ``groups``: audited writes (import batches, emitted events) whose Merkle root matched;
    ``rows``: rows re-hashed; ``legacy_rows``: those stored before row hashes existed, which
    the upgrade bound into its baseline (``audit.full.bind_legacy``); ``seconds``: time taken.
    """

    groups: int
    rows: int
    legacy_rows: int
    seconds: float


def _canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


#: Between the fields of an event as hashed; ``append`` refuses it inside a field.
_SEPARATOR = "\x1f"


def _event_hash(
    seq: int, at: datetime, actor: str, action: str, object_type: str, object_id: str,
    details_json: str, prev_hash: str,
) -> str:  # fmt: skip
    payload = _SEPARATOR.join(
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
    """Append an event inside the caller's transaction and return it.

    ``InputError`` if a name field holds U+001F, the separator of the hashed fields: with none
    in any field, no edit can move text across a field boundary and keep the event's hash.
    """
    for name, value in (("actor", actor), ("action", action), ("object type", object_type),
                        ("object id", object_id)):  # fmt: skip
        if _SEPARATOR in value:
            raise InputError(f"an audit event's {name} cannot hold the character U+001F")
    # Lock the head row so concurrent writers on PostgreSQL take turns (SQLite writers already
    # do); the row is created by the first append.
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS)
    at = utcnow()
    details_json = _canonical(details or {})
    digest = _event_hash(seq, at, actor, action, object_type, object_id, details_json, prev_hash)
    # The store passes the audit key, when one is configured, on every connection it opens.
    key: AuditKey | None = conn.get_execution_options().get(AUDIT_KEY)
    conn.execute(
        insert(audit_events).values(
            seq=seq, at=at, actor=actor, action=action, object_type=object_type,
            object_id=object_id, details=details_json, prev_hash=prev_hash, hash=digest,
            mac=None if key is None else key.mac("event", digest),
            key_id=None if key is None else key.key_id,
        )
    )  # fmt: skip
    # The head is signed too, with the event signing began at: the key then proves that every
    # event from there on was signed, which stripping every signature cannot undo.
    signed_from = head.signed_from if head and head.signed_from is not None else None
    if key is not None and signed_from is None:
        signed_from = seq
    values = {
        "seq": seq,
        "hash": digest,
        "signed_from": signed_from,
        "mac": None if key is None else key.mac("head", _head_message(seq, digest, signed_from)),
    }
    if head:
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(**values))
    else:
        conn.execute(insert(audit_head).values(id=1, **values))
    return AuditEvent(
        seq, at, actor, action, object_type, object_id, details or {}, prev_hash, digest
    )


def _head_message(seq: int, digest: str, signed_from: int | None) -> str:
    return f"{seq}:{digest}:{'' if signed_from is None else signed_from}"


def _check_head(head: Any, key: AuditKey | None) -> None:
    """With ``key``: the head's own signature must hold (it says where signing began).

    A trail with events whose head is unsigned is refused: either no event was appended with
    the key yet (the next one signs the trail), or the signatures were stripped, which the key
    alone could not tell apart from a trail never signed."""
    if key is None or head is None:
        return
    if head.mac is None:
        raise AuditChainError(
            "the audit head is not signed although an audit key is configured: no event was "
            "appended with the key yet (the next import or audited action signs the trail), or "
            "the signatures were removed; an anchor exported earlier tells which"
        )
    if not key.verifies("head", _head_message(head.seq, head.hash, head.signed_from), head.mac):
        raise AuditChainError(
            "the audit head's signature does not verify under the configured key: the head was "
            "changed without the key (the trail rewritten?) or another key signed it"
        )


def verify(
    conn: Connection,
    *,
    anchor: tuple[int, str] | None = None,
    key: AuditKey | None = None,
    signed_anchor: Anchor | None = None,
) -> Verification:
    """Walk the whole chain; raise ``AuditChainError`` naming the first broken event.

    ``anchor`` is a ``(seq, hash)`` pair recorded earlier: the chain must still contain it.
    ``signed_anchor`` (read and checked by ``signing.read_anchor``) too, and the MAC its event
    had. With ``key``, the head's MAC is checked first: it says which event signing began at,
    and from there on every event must be signed (an event appended without the key, or a
    trail stripped of its signatures and rewritten, is reported); every event's MAC is checked.
    """
    pins = [
        p
        for p in (
            anchor,
            None if signed_anchor is None else (signed_anchor.seq, signed_anchor.hash),
        )
        if p
    ]
    prev_hash, expected_seq, count, signed = GENESIS, 1, 0, 0
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
    # Where signing began, as the head says (its own signature is checked last, after the
    # events, so that an event at fault is named first).
    first_signed = head.signed_from if key is not None and head is not None else None
    if signed_anchor is not None and signed_anchor.event_mac is not None:
        # the anchored event was signed: all later ones are
        first_signed = min(signed_anchor.seq, first_signed or signed_anchor.seq)
    rows = conn.execute(select(audit_events).order_by(audit_events.c.seq))
    seen: set[int] = set()
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
        _check_mac(row, key, first_signed)
        if row.mac is not None:
            signed += 1
            if first_signed is None or row.seq < first_signed:
                first_signed = row.seq
        for pin_seq, pin_hash in pins:
            if row.seq == pin_seq:
                if row.hash != pin_hash:
                    raise AuditChainError(f"audit event {row.seq} differs from the anchor kept")
                seen.add(pin_seq)
        if (
            signed_anchor is not None
            and row.seq == signed_anchor.seq
            and signed_anchor.event_mac is not None
            and row.mac != signed_anchor.event_mac
        ):
            raise AuditChainError(
                f"audit event {row.seq} no longer carries the signature the anchor kept"
            )
        prev_hash, expected_seq, count = row.hash, row.seq + 1, count + 1
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (expected_seq - 1, prev_hash):
        raise AuditChainError(
            f"the audit head says event {head_seq} is last but the log ends at "
            f"{expected_seq - 1}: events were deleted or the head was changed"
        )
    for pin_seq, _ in pins:
        if pin_seq not in seen and pin_seq != 0:
            raise AuditChainError(
                f"anchored audit event {pin_seq} is no longer in the log "
                f"(the log ends at {expected_seq - 1}): events were deleted"
            )
    _check_head(head, key)
    return Verification(count, head_seq, head_hash, signed, key is not None)


def _check_mac(row: Any, key: AuditKey | None, first_signed: int | None) -> None:
    """Raise if ``row``'s MAC does not verify under ``key``, or it lacks one it must carry."""
    if key is None:
        return
    if row.mac is None:
        if first_signed is not None and row.seq > first_signed:
            raise AuditChainError(
                f"audit event {row.seq} is not signed although the trail is signed from event "
                f"{first_signed} on: it was added without the audit key (forged?)"
            )
        return
    if row.key_id != key.key_id:
        raise AuditChainError(
            f"audit event {row.seq} is signed with key {row.key_id}, not with the key "
            f"configured ({key.key_id})"
        )
    if not key.verifies("event", row.hash, row.mac):
        raise AuditChainError(
            f"audit event {row.seq} carries a signature that does not verify: it was forged "
            "or altered without the audit key"
        )


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
