"""Use cases of the audit trail: verify the hash chain (optionally against an anchor), read it.

An anchor is ``SEQ:HASH``, the head a verification reported earlier and someone kept outside
the database: a later verification proves the chain still holds that event unchanged.

The trail is read newest first, filtered by who acted (``actor``), what they did (``action``),
the object (``object_type`` and ``object_id``) and a period (``since`` inclusive, ``until``
exclusive), one page at a time: ``before`` is a cursor, the sequence number the page starts
below (the last one of the previous page), so a page never shifts when events are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from quaywatch.audit import chain
from quaywatch.audit.chain import AuditEvent, EventFilter, Verification
from quaywatch.errors import InputError
from quaywatch.services.arguments import check_at_least, check_interval, require_aware
from quaywatch.store.store import Store

__all__ = [
    "AuditEvent",
    "AuditPage",
    "Verification",
    "audit_log",
    "audit_page",
    "parse_anchor",
    "verify_audit",
]

#: Events one page may hold at most.
MAX_PAGE = 10_000

_HASH_LENGTH = 64


#: The largest event sequence number the stores keep (a signed 32-bit integer).
MAX_SEQ = 2**31 - 1


def parse_anchor(anchor: str) -> tuple[int, str]:
    """``SEQ:HASH`` as ``(seq, hash)``, or ``InputError`` naming ``anchor``."""
    seq, _, digest = anchor.strip().partition(":")
    digest = digest.lower()
    if (
        not seq.isdigit()
        or len(digest) != _HASH_LENGTH
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise InputError(
            f"anchor must be SEQ:HASH as an earlier verification printed it "
            f"(a number, a colon, 64 hexadecimal digits), got {anchor!r}"
        )
    return int(seq), digest


def verify_audit(store: Store, *, anchor: str | None = None) -> Verification:
    """Walk the whole chain; ``AuditChainError`` names the first event edited, added or lost."""
    expected = parse_anchor(anchor) if anchor is not None else None
    with store.reading() as conn:
        return chain.verify(conn, anchor=expected)


def _filter(
    limit: int,
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
) -> EventFilter:
    """The filter of the arguments, each checked (``InputError`` naming the bad one)."""
    check_at_least("limit", limit)
    if limit > MAX_PAGE:
        raise InputError(f"limit must be at most {MAX_PAGE}, got {limit}")
    for name, value in (("actor", actor), ("action", action), ("object_type", object_type),
                        ("object_id", object_id)):  # fmt: skip
        if value is not None and (not value.strip() or len(value) > 140):
            raise InputError(f"{name} must have 1 to 140 characters, got {value!r}")
    require_aware("since", since)
    require_aware("until", until)
    if since is not None and until is not None:
        check_interval("period", ("since", since), ("until", until))
    if before is not None:
        check_at_least("before", before)
        if before > MAX_SEQ:
            raise InputError(f"before must be at most {MAX_SEQ}, got {before}")
    return EventFilter(actor, action, object_type, object_id, since, until, before)


def audit_log(
    store: Store,
    *,
    limit: int = 20,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
) -> list[AuditEvent]:
    """The newest ``limit`` audit events that pass the filters (see the module), newest first.

    >>> audit_log(store, actor="ana", object_type="risk_profile", limit=5)  # doctest: +SKIP
    """
    chosen = _filter(limit, actor, action, object_type, object_id, since, until, before)
    with store.reading() as conn:
        return chain.recent(conn, limit, chosen)


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the trail, newest first: ``next_before`` is the cursor of the next (older)
    page, None on the last; ``actions`` and ``object_types`` are every value stored, to choose
    a filter from."""

    events: tuple[AuditEvent, ...]
    next_before: int | None
    actions: tuple[str, ...]
    object_types: tuple[str, ...]


def audit_page(
    store: Store,
    *,
    limit: int = 50,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
) -> AuditPage:
    """A page of ``audit_log`` (same filters) with the cursor of the next page and the choices
    of the filters: what the audit screen shows."""
    chosen = _filter(limit, actor, action, object_type, object_id, since, until, before)
    with store.reading() as conn:
        found = chain.recent(conn, limit + 1, chosen)
        actions, object_types = chain.vocabulary(conn)
    shown = tuple(found[:limit])
    more = len(found) > limit
    return AuditPage(shown, shown[-1].seq if more else None, actions, object_types)
