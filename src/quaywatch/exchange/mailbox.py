"""The outbox, the inbox and the rejected messages in the store.

``queue`` signs a message to a partner and keeps its transport record in the outbox; ``export``
writes queued records to a file (JSON Lines) for air-gapped exchange, and the HTTP push
(``push``) delivers the same outbox to the partners' inboxes. ``receive`` takes transport
records (from an imported file, or posted to the inbox endpoint): each passes ``receive.check`` and the replay check, and is stored in the inbox, or
kept with its reason and exact bytes among the rejected messages; every accept and reject is
audited. The same message received twice is stored once: a record whose sender and message id
are in the inbox with the same payload is a duplicate, one with another payload is refused as
replayed. The inbox is keyed on (sender, message id): a message id is its sender's to give.

A delivery over HTTP comes from one partner's node (``only_from``): a record signed by another
partner's key is not taken from it (``PermissionDeniedError``, and nothing of the post is
stored), so that one partner's node cannot relay, or replay, another partner's messages.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select, update

from quaywatch.audit import chain
from quaywatch.errors import (
    ConfigurationError,
    ConflictError,
    InputError,
    PermissionDeniedError,
    said,
)
from quaywatch.exchange import envelope as dsse, messages, protection, roots, trust
from quaywatch.exchange.keys import KeyDir
from quaywatch.exchange.receive import Accepted, Reason, Refused, check
from quaywatch.store import tables
from quaywatch.store.store import Store

_IN, _OUT, _REJ = tables.exchange_received, tables.exchange_outbox, tables.exchange_rejected
#: Characters of a refusal's detail kept: it may quote what the sender sent.
MAX_DETAIL = 1000


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message signed for a partner, and whether it was exported."""

    message_id: str
    recipient: str
    message_type: str
    in_reply_to: str | None
    created_at: datetime
    expires_at: datetime
    exported_at: datetime | None
    exports: int
    feedback_due_by: datetime | None = None
    feedback_from: tuple[str, ...] = ()
    push_attempts: int = 0
    next_push_at: datetime | None = None
    last_push_error: str | None = None
    delivered_at: datetime | None = None
    refused_reason: str | None = None

    def delivery(self, now: datetime) -> str:
        """Where the HTTP push stands: ``delivered``, ``refused`` (by the partner: see
        ``last_push_error``), ``expired`` (undelivered), ``retrying`` (an attempt failed),
        or ``queued`` (not tried yet, or the partner has no inbox URL)."""
        if self.delivered_at is not None:
            return "delivered"
        if self.refused_reason is not None:
            return "refused"
        if self.expires_at <= now:
            return "expired"
        return "retrying" if self.last_push_error else "queued"

    def feedback(self, now: datetime) -> str:
        """Feedback the partner owes on this message: ``received``, ``overdue``, ``due`` or
        ``-`` (none owed: only a RiskAnalysisResult with a due date asks for it)."""
        if self.feedback_from:
            return "received"
        if self.feedback_due_by is None:
            return "-"
        return "overdue" if self.feedback_due_by <= now else "due"


@dataclass(frozen=True, slots=True)
class Received:
    """A message accepted into the inbox."""

    message_id: str
    sender: str
    message_type: str
    issued_at: datetime
    expires_at: datetime
    in_reply_to: str | None
    received_at: datetime
    source: str
    payload: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record refused, with its reason and the bytes received."""

    rejection_id: str
    reason: Reason
    detail: str
    sender: str | None
    message_id: str | None
    received_at: datetime
    source: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one record received: accepted, duplicate or rejected (with why)."""

    source: str
    status: str
    message_id: str | None
    reason: Reason | None = None
    detail: str | None = None


def _entry(row: Any, feedback: tuple[str, ...] = ()) -> OutboxEntry:
    due = None
    if row.message_type == messages.MessageType.RISK_ANALYSIS_RESULT:
        body = json.loads(row.payload)["body"]
        due = None if body.get("feedback_due_by") is None else datetime.fromisoformat(
            body["feedback_due_by"])  # fmt: skip
    return OutboxEntry(
        row.message_id, row.recipient, row.message_type, row.in_reply_to, row.created_at,
        row.expires_at, row.exported_at, row.exports, due, feedback, row.push_attempts,
        row.next_push_at, row.last_push_error, row.delivered_at, row.refused_reason,
    )  # fmt: skip


def queue(
    conn: Connection, key_dir: KeyDir, recipient: str, message_type: messages.MessageType,
    body: Any, *, valid_days: int, in_reply_to: str | None, now: datetime, actor: str,
    source: str = "body",
) -> OutboxEntry:  # fmt: skip
    """Sign a message of ``message_type`` with ``body`` to ``recipient`` and put it in the outbox.

    Personal data in it are de-identified (``protection.deidentify``, with the group key of the
    key directory) unless a permission lets ``recipient`` receive them in this message type.

    ``InputError`` naming the field for a body that is not valid; ``NotFoundError`` for an
    unknown partner, ``ConflictError`` for a revoked one or before keys were generated.
    """
    own = trust.require_own_root(conn).root
    partner = trust.require_partner(conn, recipient)
    if partner.revoked_at is not None:
        raise ConflictError(
            said("partner %(code)s is revoked; nothing is sent to it", code=recipient)
        )
    if not 1 <= valid_days <= 3660:
        raise InputError(said("valid_days must be 1 to 3660, got %(got)s", got=valid_days))
    try:
        typed = messages.BODIES[message_type].model_validate(body)
        header = messages.Header(
            message_id=str(uuid.uuid4()), message_type=message_type, sender=own.administration,
            recipient=recipient, issued_at=now, expires_at=now + timedelta(days=valid_days),
            in_reply_to=in_reply_to,
        )  # fmt: skip
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "the body"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InputError(
            said("field %(where)s: %(message)s", where=where, message=message), source=source
        ) from None
    personal = protection.personal_values(typed)
    deidentified = bool(personal) and not protection.may_receive_personal(
        conn, recipient, message_type
    )
    if deidentified:
        typed = protection.deidentify(typed, protection.load_group_key(key_dir.path))
    payload = messages.encode(header, typed)
    signer, key = signing_key(own, key_dir)
    signed = dsse.sign(messages.payload_type(message_type), payload, [key])
    conn.execute(insert(_OUT).values(
        message_id=header.message_id, recipient=recipient, message_type=message_type.value,
        payload_type=signed.payload_type, payload_sha256=dsse.payload_digest(payload),
        in_reply_to=in_reply_to, payload=payload.decode("utf-8"),
        record=dsse.record_line(signed).decode("ascii"),
        created_at=now, created_by=actor, expires_at=header.expires_at, exported_at=None,
        exports=0, push_attempts=0,
    ))  # fmt: skip
    chain.append(conn, actor=actor, action="exchange_queue", object_type="exchange_message",
                 object_id=header.message_id, details={"recipient": recipient,
                 "message_type": message_type.value, "payload_sha256": dsse.payload_digest(payload),
                 "key_id": signer, "personal_values": len(personal),
                 "deidentified": deidentified})  # fmt: skip
    return _entry(conn.execute(select(_OUT).where(_OUT.c.message_id == header.message_id)).one())


def signing_key(own: roots.Root, key_dir: KeyDir) -> tuple[str, Ed25519PrivateKey]:
    """The first key of ``own`` whose private key the key directory holds."""
    signer = next((k.keyid for k in own.keys if key_dir.has(k.keyid)), None)
    if signer is None:
        raise ConfigurationError(said(
            "the key directory %(path)s holds no private key of this administration's root "
            "version %(version)s (QUAYWATCH_KEY_DIR)", path=str(key_dir.path), version=own.version,
        ))  # fmt: skip
    return signer, key_dir.load(signer)


def outbox(conn: Connection) -> list[OutboxEntry]:
    """Every message in the outbox, newest first, with the feedback received on each (the ids
    of accepted Feedback messages that answer it)."""
    answers: dict[tuple[str, str], list[str]] = {}
    for row in conn.execute(
        select(_IN.c.sender, _IN.c.in_reply_to, _IN.c.message_id)
        .where(_IN.c.message_type == messages.MessageType.FEEDBACK.value)
        .where(_IN.c.in_reply_to.is_not(None))
        .order_by(_IN.c.received_at)
    ):
        answers.setdefault((row.sender, row.in_reply_to), []).append(row.message_id)
    rows = conn.execute(select(_OUT).order_by(_OUT.c.created_at.desc(), _OUT.c.message_id))
    # Only the recipient of a message answers it: feedback naming it from anyone else is not.
    return [_entry(row, tuple(answers.get((row.recipient, row.message_id), ()))) for row in rows]


def take_for_export(
    conn: Connection, key_dir: KeyDir, *, recipient: str | None, again: bool, now: datetime,
    actor: str,
) -> list[bytes]:  # fmt: skip
    """The transport records to export (not yet exported, or all with ``again``), oldest first,
    marked exported in the caller's transaction: the caller writes them before it commits.

    Each is signed again with a key of this administration's root in force, so that a message
    queued before a key rotation is not refused by a partner who took the new root (Ed25519
    signatures are deterministic: the same key gives the same record).
    """
    signer, key = signing_key(trust.require_own_root(conn).root, key_dir)
    query = select(_OUT).order_by(_OUT.c.created_at, _OUT.c.message_id).with_for_update()
    if recipient is not None:
        query = query.where(_OUT.c.recipient == recipient)
    if not again:
        query = query.where(_OUT.c.exported_at.is_(None))
    records: list[bytes] = []
    for row in conn.execute(query).all():
        record = dsse.record_line(dsse.sign(row.payload_type, row.payload.encode("utf-8"), [key]))
        conn.execute(update(_OUT).where(_OUT.c.message_id == row.message_id).values(
            record=record.decode("ascii"), exported_at=now, exports=row.exports + 1))  # fmt: skip
        records.append(record)
        chain.append(conn, actor=actor, action="exchange_export", object_type="exchange_message",
                     object_id=row.message_id, details={"recipient": row.recipient,
                     "key_id": signer, "payload_sha256": row.payload_sha256})  # fmt: skip
    return records


def receive(
    conn: Connection, records: Iterable[tuple[str, bytes]], *, now: datetime, actor: str,
    only_from: str | None = None,
) -> list[Outcome]:  # fmt: skip
    """Check and store each ``(source, record)``; what became of each, in order.

    ``only_from``: the partner whose node delivers them; ``PermissionDeniedError`` naming the
    record if one is signed by another partner's key (the caller's transaction then stores
    nothing of the delivery).
    """
    trusted = trust.load_trust(conn)
    return [_receive_one(conn, source, raw, trusted, now, actor, only_from)
            for source, raw in records]  # fmt: skip


def _receive_one(
    conn: Connection, source: str, raw: bytes, trusted: Any, now: datetime, actor: str,
    only_from: str | None,
) -> Outcome:  # fmt: skip
    verdict = check(raw, trusted, now)
    sender = verdict.message.header.sender if isinstance(verdict, Accepted) else verdict.sender
    if only_from is not None and sender is not None and sender != only_from:
        raise PermissionDeniedError(said(
            "%(source)s: signed by %(sender)s, but this node's token delivers for %(partner)s "
            "only", source=source, sender=sender, partner=only_from,
        ))  # fmt: skip
    if isinstance(verdict, Accepted):
        header = verdict.message.header
        # The replay check is on (sender, message id): a message id is the sender's to give,
        # and the inbox keys its rows on both, so another sender's message reusing an id is
        # no replay of this one's.
        earlier = conn.execute(
            select(_IN.c.payload_sha256).where(
                _IN.c.sender == header.sender, _IN.c.message_id == header.message_id
            )
        ).first()
        if earlier is not None and earlier.payload_sha256 == verdict.payload_sha256:
            return Outcome(source, "duplicate", header.message_id)
        if earlier is not None:
            verdict = Refused(
                Reason.REPLAYED, "a message with this id was received before with other content",
                verdict.envelope.payload_type, header.sender, header.message_id,
            )  # fmt: skip
        else:
            _accept(conn, verdict, raw, source, now, actor)
            return Outcome(source, "accepted", header.message_id)
    return _reject(conn, verdict, raw, source, now, actor)


def _accept(
    conn: Connection, accepted: Accepted, raw: bytes, source: str, now: datetime, actor: str
) -> None:
    header = accepted.message.header
    conn.execute(insert(_IN).values(
        message_id=header.message_id, sender=header.sender, recipient=header.recipient,
        message_type=header.message_type.value, payload_type=accepted.envelope.payload_type,
        payload_sha256=accepted.payload_sha256, key_id=accepted.key_id,
        issued_at=header.issued_at, expires_at=header.expires_at, in_reply_to=header.in_reply_to,
        payload=accepted.envelope.payload.decode("utf-8"), record=raw.decode("utf-8"),
        source=source, received_at=now,
    ))  # fmt: skip
    chain.append(conn, actor=actor, action="exchange_accept", object_type="exchange_message",
                 object_id=header.message_id, details={"sender": header.sender,
                 "message_type": header.message_type.value,
                 "payload_sha256": accepted.payload_sha256, "key_id": accepted.key_id})  # fmt: skip


def _reject(
    conn: Connection, refused: Refused, raw: bytes, source: str, now: datetime, actor: str
) -> Outcome:
    raw_sha256 = dsse.payload_digest(raw)
    known = conn.execute(select(_REJ.c.rejection_id).where(
        _REJ.c.raw_sha256 == raw_sha256, _REJ.c.reason == refused.reason.value)).first()  # fmt: skip
    if known is None:
        rejection_id = str(uuid.uuid4())
        payload_type = None if refused.payload_type is None else refused.payload_type[:200]
        conn.execute(insert(_REJ).values(
            rejection_id=rejection_id, raw_sha256=raw_sha256, reason=refused.reason.value,
            detail=refused.detail[:MAX_DETAIL], payload_type=payload_type, sender=refused.sender,
            message_id=refused.message_id, raw=raw, source=source, received_at=now,
        ))  # fmt: skip
        chain.append(conn, actor=actor, action="exchange_reject", object_type="exchange_rejection",
                     object_id=rejection_id, details={"reason": refused.reason.value,
                     "detail": refused.detail[:MAX_DETAIL], "sender": refused.sender,
                     "message_id": refused.message_id, "raw_sha256": raw_sha256})  # fmt: skip
    return Outcome(source, "rejected", refused.message_id, refused.reason, refused.detail)


def inbox(conn: Connection, limit: int = 1000) -> tuple[list[Received], list[Rejected]]:
    """The newest accepted and rejected messages (``limit`` of each), newest first."""
    accepted = conn.execute(
        select(_IN).order_by(_IN.c.received_at.desc(), _IN.c.message_id).limit(limit)
    )
    refused = conn.execute(
        select(_REJ).order_by(_REJ.c.received_at.desc(), _REJ.c.rejection_id).limit(limit)
    )
    return (
        [Received(r.message_id, r.sender, r.message_type, r.issued_at, r.expires_at,
                  r.in_reply_to, r.received_at, r.source, r.payload) for r in accepted],
        [Rejected(r.rejection_id, Reason(r.reason), r.detail, r.sender, r.message_id,
                  r.received_at, r.source, bytes(r.raw)) for r in refused],
    )  # fmt: skip


def received_rows(
    store: Store, kinds: Collection[messages.MessageType]
) -> list[tuple[Any, datetime | None]]:
    """The inbox rows of ``kinds`` (``payload``, ``received_at``), oldest first, each with the
    moment its sender, or the key that signed it, was revoked here (the earlier; None if not)."""
    r, p, k = _IN, tables.exchange_partners, tables.exchange_revoked_keys
    with store.reading() as conn:
        rows = conn.execute(
            select(r.c.payload, r.c.received_at, p.c.revoked_at.label("partner_revoked_at"),
                   k.c.revoked_at.label("key_revoked_at"))
            .select_from(
                r.outerjoin(p, p.c.administration == r.c.sender)
                .outerjoin(k, (k.c.key_id == r.c.key_id) & (k.c.administration == r.c.sender))
            )
            .where(r.c.message_type.in_([kind.value for kind in kinds]))
            .order_by(r.c.received_at, r.c.sender, r.c.message_id)
        ).all()  # fmt: skip
    found: list[tuple[Any, datetime | None]] = []
    for row in rows:
        revoked = [t for t in (row.partner_revoked_at, row.key_revoked_at) if t is not None]
        found.append((row, min(revoked) if revoked else None))
    return found


def inbox_state(store: Store, kinds: Collection[messages.MessageType]) -> tuple[Any, ...]:
    """What ``received_rows(store, kinds)`` depends on, in a few aggregates: how many such
    messages, the first and last received, and how many partners and keys were revoked and
    when last. Equal states give equal rows (a reader keeps what it parsed from them)."""
    r, p, k = _IN, tables.exchange_partners, tables.exchange_revoked_keys
    with store.reading() as conn:
        inbox = conn.execute(
            select(func.count(), func.min(r.c.received_at), func.max(r.c.received_at))
            .where(r.c.message_type.in_([kind.value for kind in kinds]))
        ).one()  # fmt: skip
        partners = conn.execute(select(func.count(p.c.revoked_at), func.max(p.c.revoked_at))).one()
        keys = conn.execute(select(func.count(k.c.revoked_at), func.max(k.c.revoked_at))).one()
    return (*inbox, *partners, *keys)


_Parsed = TypeVar("_Parsed")


class ParsedInbox(Generic[_Parsed]):
    """What a reader parsed from the received messages of ``kinds``, kept per open store and
    parsed again only when the inbox changed (``inbox_state``): scoring asks on every run and
    every assessment, and parsing every message with its schema each time would cost more than
    the assessment."""

    def __init__(
        self, kinds: Collection[messages.MessageType], parse: Callable[[Store], list[_Parsed]]
    ) -> None:
        self._kinds, self._parse = tuple(kinds), parse
        self._kept: weakref.WeakKeyDictionary[Store, tuple[Any, tuple[_Parsed, ...]]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, store: Store) -> list[_Parsed]:
        state = inbox_state(store, self._kinds)
        kept = self._kept.get(store)
        if kept is not None and kept[0] == state:
            return list(kept[1])
        found = self._parse(store)
        self._kept[store] = (state, tuple(found))
        return found
