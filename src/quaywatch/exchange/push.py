"""The outbox's HTTP push, as state in the store: what is due, and what became of each try.

Nothing of the push lives in memory only, so that either node may stop at any moment:

- ``claim`` takes the messages due (not delivered, not refused by the partner, not expired,
  to a partner with an inbox URL, and whose ``next_push_at`` has come), counts the attempt,
  and moves ``next_push_at`` a lease ahead, in one short transaction: a second pusher (another
  process, or a restart during the send) does not take them until the lease has passed;
- the caller sends each record outside the transaction, then ``delivered``, ``refused`` or
  ``failed`` records the answer. A push whose answer was lost (the process stopped) is tried
  again after the lease; the receiver stores a message it already holds once, and answers
  ``duplicate``, which marks it delivered here.

Retries back off exponentially: after the n-th failed attempt the next is due ``base_s *
2 ** (n - 1)`` seconds later, at most ``max_s`` (``Backoff``). A message is pushed until it is
delivered, refused, or has expired (the partner would refuse it then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Connection, or_, select, update

from quaywatch.audit import chain
from quaywatch.errors import ConflictError, InputError
from quaywatch.exchange import envelope as dsse, trust
from quaywatch.exchange.keys import KeyDir
from quaywatch.exchange.mailbox import signing_key
from quaywatch.exchange.receive import Reason
from quaywatch.store import tables

_OUT, _P = tables.exchange_outbox, tables.exchange_partners
#: Characters of an error kept on the outbox row.
MAX_ERROR = 500
#: Hosts on which plain HTTP is allowed (tests, two nodes on one machine).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
#: Doublings of the backoff at most: 2**62 seconds is far beyond any ``max_s``.
MAX_DOUBLINGS = 62


@dataclass(frozen=True, slots=True)
class Backoff:
    """When the next attempt is due after a failed one: ``base_s * 2 ** (attempts - 1)``
    seconds, at most ``max_s``; ``lease_s``: how long a claimed message is left to its pusher
    before another may take it."""

    base_s: float = 30.0
    max_s: float = 3600.0
    lease_s: float = 120.0

    @classmethod
    def with_timeout(cls, base_s: float, max_s: float, timeout_s: float) -> Backoff:
        """The schedule for pushes that wait ``timeout_s`` for an answer: the lease outlasts
        the push in progress (two minutes, or twice the timeout when that is longer). The
        pusher claims one message at a time (``services.exchange_push.push_once``), so one
        push, not a pass of many, is what the lease must outlast."""
        return cls(base_s, max_s, max(120.0, 2 * timeout_s))

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt. The exponent is capped (at
        ``MAX_DOUBLINGS``) before it is raised: a message tried for months would otherwise
        overflow a float."""
        doublings = min(max(attempts - 1, 0), MAX_DOUBLINGS)
        return timedelta(seconds=min(self.base_s * 2**doublings, self.max_s))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message to push now: where, its record (signed with a key in force), which attempt."""

    message_id: str
    recipient: str
    url: str
    record: bytes
    attempt: int


def check_url(url: str) -> str:
    """``url`` if it is an https URL (or http on a loopback host); ``InputError`` otherwise.

    Plain HTTP elsewhere would show the messages (and the token) to everyone on the way."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 2000:
        raise InputError(f"inbox URL {url[:200]!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InputError(
            f"inbox URL {url[:200]!r}: plain http only on this machine (127.0.0.1, localhost); "
            "a partner's inbox is reached over https"
        )
    return url


def set_url(
    conn: Connection, administration: str, url: str | None, *, now: datetime, actor: str
) -> None:
    """Set (or with None, clear) the inbox URL the outbox pushes ``administration``'s
    messages to; messages already queued are pushed there too."""
    partner = trust.require_partner(conn, administration)
    if partner.revoked_at is not None:
        raise ConflictError(f"partner {administration} is revoked; nothing is sent to it")
    if url is not None:
        check_url(url)
    conn.execute(update(_P).where(_P.c.administration == administration)
                 .values(inbox_url=url, updated_at=now))  # fmt: skip
    chain.append(conn, actor=actor, action="exchange_partner_url", object_type="exchange_partner",
                 object_id=administration, details={"inbox_url": url})  # fmt: skip


def inbox_urls(conn: Connection) -> dict[str, str]:
    """The inbox URL of every partner that has one and is not revoked."""
    rows = conn.execute(
        select(_P.c.administration, _P.c.inbox_url)
        .where(_P.c.inbox_url.is_not(None))
        .where(_P.c.revoked_at.is_(None))
    )
    return {row.administration: row.inbox_url for row in rows}


def claim(
    conn: Connection, key_dir: KeyDir, *, now: datetime, backoff: Backoff, limit: int = 100,
    recipient: str | None = None,
) -> list[Claimed]:  # fmt: skip
    """The messages due now, oldest first, each counted as an attempt and leased (module
    docstring). Each record is signed again with a key in force (after a rotation)."""
    urls = inbox_urls(conn)
    if recipient is not None:
        urls = {k: v for k, v in urls.items() if k == recipient}
    if not urls:
        return []
    query = (
        select(_OUT)
        .where(_OUT.c.delivered_at.is_(None), _OUT.c.refused_reason.is_(None))
        .where(_OUT.c.expires_at > now, _OUT.c.recipient.in_(sorted(urls)))
        .where(or_(_OUT.c.next_push_at.is_(None), _OUT.c.next_push_at <= now))
        .order_by(_OUT.c.created_at, _OUT.c.message_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(query).all()
    if not rows:
        return []
    _, key = signing_key(trust.require_own_root(conn).root, key_dir)
    claimed: list[Claimed] = []
    for row in rows:
        record = dsse.record_line(dsse.sign(row.payload_type, row.payload.encode("utf-8"), [key]))
        attempt = row.push_attempts + 1
        conn.execute(update(_OUT).where(_OUT.c.message_id == row.message_id).values(
            record=record.decode("ascii"), push_attempts=attempt,
            next_push_at=now + timedelta(seconds=backoff.lease_s)))  # fmt: skip
        claimed.append(Claimed(row.message_id, row.recipient, urls[row.recipient], record, attempt))
    return claimed


def delivered(
    conn: Connection, claimed: Claimed, status: str, *, now: datetime, actor: str
) -> None:
    """The partner's inbox took the message (``status``: accepted, or duplicate: it had it).
    Marked once: a second answer for a message delivered already changes nothing."""
    done = conn.execute(
        update(_OUT)
        .where(_OUT.c.message_id == claimed.message_id, _OUT.c.delivered_at.is_(None))
        .values(delivered_at=now, next_push_at=None, last_push_error=None)
    )
    if done.rowcount:
        chain.append(conn, actor=actor, action="exchange_push", object_type="exchange_message",
                     object_id=claimed.message_id, details={"recipient": claimed.recipient,
                     "url": claimed.url, "attempt": claimed.attempt, "answer": status})  # fmt: skip


def refused(
    conn: Connection, claimed: Claimed, reason: Reason, detail: str, *, now: datetime, actor: str
) -> None:
    """The partner's inbox refused the message: it is not pushed again (a refusal is the same
    every time); the outbox shows the reason."""
    conn.execute(
        update(_OUT)
        .where(_OUT.c.message_id == claimed.message_id, _OUT.c.delivered_at.is_(None))
        .values(refused_reason=reason.value, next_push_at=None,
                last_push_error=f"refused by {claimed.recipient}: {detail}"[:MAX_ERROR])
    )  # fmt: skip
    chain.append(conn, actor=actor, action="exchange_push_refused", object_type="exchange_message",
                 object_id=claimed.message_id, details={"recipient": claimed.recipient,
                 "reason": reason.value, "detail": detail[:MAX_ERROR]})  # fmt: skip


def failed(
    conn: Connection, claimed: Claimed, error: str, *, now: datetime, backoff: Backoff
) -> datetime:
    """The push did not reach the partner's inbox, or got no usable answer: the next attempt
    is due after the backoff. Returns when. (Not audited: only the outcome of a message is.)"""
    due = now + backoff.delay(claimed.attempt)
    conn.execute(
        update(_OUT)
        .where(_OUT.c.message_id == claimed.message_id, _OUT.c.delivered_at.is_(None))
        .values(next_push_at=due, last_push_error=error[:MAX_ERROR])
    )
    return due
