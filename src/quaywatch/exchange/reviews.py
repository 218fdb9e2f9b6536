"""The review queue of risk profiles partners share: received, never activated automatically.

A ``RiskProfileShare`` accepted into the inbox waits here until an analyst accepts it (the
service then loads it as a DRAFT profile through the profile service: activating it is the
analyst's own later step) or declines it. Each decision is stored once and audited.

A shared profile is named by its message id; two partners may use one id (a message id is its
sender's to give), and then the sender is named too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from quaywatch.audit import chain
from quaywatch.errors import ConflictError, NotFoundError
from quaywatch.exchange import messages as m
from quaywatch.store import tables

_IN, _R = tables.exchange_received, tables.exchange_profile_reviews


@dataclass(frozen=True, slots=True)
class SharedProfile:
    """A profile a partner shared, and what became of it (``pending``, ``accepted``,
    ``declined``; the draft profile made when accepted)."""

    message_id: str
    sender: str
    received_at: datetime
    share: m.RiskProfileShare
    status: str
    profile_id: str | None = None
    profile_version: int | None = None
    decided_by: str | None = None


def shared(
    conn: Connection, message_id: str | None = None, sender: str | None = None
) -> list[SharedProfile]:
    """Every profile received (or those of ``message_id``, from ``sender``), newest first."""
    query = (
        select(_IN.c.message_id, _IN.c.sender, _IN.c.received_at, _IN.c.payload,
               _R.c.decision, _R.c.profile_id, _R.c.profile_version, _R.c.decided_by)
        .select_from(_IN.outerjoin(
            _R, (_R.c.message_id == _IN.c.message_id) & (_R.c.sender == _IN.c.sender)))
        .where(_IN.c.message_type == m.MessageType.RISK_PROFILE_SHARE.value)
        .order_by(_IN.c.received_at.desc(), _IN.c.message_id)
    )  # fmt: skip
    if message_id is not None:
        query = query.where(_IN.c.message_id == message_id)
    if sender is not None:
        query = query.where(_IN.c.sender == sender)
    return [
        SharedProfile(r.message_id, r.sender, r.received_at,
                      m.RiskProfileShare.model_validate(json.loads(r.payload)["body"]),
                      r.decision or "pending", r.profile_id, r.profile_version, r.decided_by)
        for r in conn.execute(query)
    ]  # fmt: skip


def pending(
    conn: Connection, message_id: str, sender: str | None = None, *, lock: bool = False
) -> SharedProfile:
    """The shared profile ``message_id`` (from ``sender``, needed only when two partners used
    the id) still awaiting review; ``NotFoundError`` or ``ConflictError`` (already decided, or
    the sender needed) else. ``lock``: its inbox row is locked first (on PostgreSQL; SQLite has
    one writer), so that a second review of it waits for this transaction and then finds it
    decided."""
    if lock:
        query = select(_IN.c.message_id).where(_IN.c.message_id == message_id)
        if sender is not None:
            query = query.where(_IN.c.sender == sender)
        conn.execute(query.with_for_update())
    found = shared(conn, message_id, sender)
    if not found:
        raise NotFoundError(f"no shared profile {message_id} in the inbox")
    if len(found) > 1:
        senders = ", ".join(sorted(p.sender for p in found))
        raise ConflictError(
            f"shared profile id {message_id} was used by {senders}: name the sender (--sender)"
        )
    if found[0].status != "pending":
        raise ConflictError(f"shared profile {message_id} was {found[0].status} already")
    return found[0]


def decide(
    conn: Connection, share: SharedProfile, decision: str, *, profile: tuple[str, int] | None,
    note: str | None, now: datetime, actor: str,
) -> None:  # fmt: skip
    """Store the review of ``share`` (``accepted`` with the draft made, or ``declined``)."""
    message_id = share.message_id
    conn.execute(_R.insert().values(
        sender=share.sender, message_id=message_id, decision=decision,
        profile_id=None if profile is None else profile[0],
        profile_version=None if profile is None else profile[1],
        note=note, decided_at=now, decided_by=actor))  # fmt: skip
    chain.append(conn, actor=actor, action=f"exchange_profile_{decision}",
                 object_type="exchange_message", object_id=message_id,
                 details={"sender": share.sender, "profile_id": None if profile is None else profile[0],
                          "profile_version": None if profile is None else profile[1],
                          "note": note})  # fmt: skip
