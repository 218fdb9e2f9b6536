"""Use cases of the audit trail: verify the hash chain (optionally against an anchor) and the
stored data it binds, export a signed anchor, make an audit key, read the trail.

An anchor is ``SEQ:HASH``, the head a verification reported earlier and someone kept outside
the database: a later verification proves the chain still holds that event unchanged. A signed
anchor file (``export_anchor``) also carries the head event's signature and is signed with the
audit key, so it cannot be forged or edited either (``audit.signing`` states the threat model).
``full`` re-hashes every stored row the trail binds (``audit.full``): slower, and it names
every row changed, missing or added.

The trail is read newest first, filtered by who acted (``actor``), what they did (``action``),
the object (``object_type`` and ``object_id``) and a period (``since`` inclusive, ``until``
exclusive), one page at a time: ``before`` is a cursor, the sequence number the page starts
below (the last one of the previous page), so a page never shifts when events are added.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from quaywatch.audit import chain, full as full_check, signing
from quaywatch.audit.chain import AuditEvent, EventFilter, Verification
from quaywatch.errors import ConfigurationError, InputError, TamperedError
from quaywatch.services.arguments import check_at_least, check_interval, require_aware
from quaywatch.store import tables
from quaywatch.store.store import Store

__all__ = [
    "AuditEvent",
    "AuditPage",
    "Verification",
    "audit_log",
    "audit_page",
    "export_anchor",
    "make_key",
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


def verify_audit(
    store: Store,
    *,
    anchor: str | None = None,
    anchor_file: Path | None = None,
    full: bool = False,
) -> Verification:
    """Walk the whole chain; ``AuditChainError`` names the first event edited, added or lost.

    ``anchor``: ``SEQ:HASH`` kept earlier; ``anchor_file``: a signed anchor exported by
    ``export_anchor`` (needs the store's audit key). With the key, every event's signature is
    checked too. ``full``: then re-hash every stored row the trail binds; ``TamperedError``
    lists the rows changed, missing or added (table and key).
    """
    expected = parse_anchor(anchor) if anchor is not None else None
    signed = None
    if anchor_file is not None:
        try:
            data = anchor_file.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read the anchor file: {exc.strerror}", source=str(anchor_file)
            ) from None
        signed = signing.read_anchor(data, store.audit_key, source=str(anchor_file))
    with store.reading() as conn:
        result = chain.verify(conn, anchor=expected, key=store.audit_key, signed_anchor=signed)
        if not full:
            return result
        checked, findings, total = full_check.verify_rows(conn)
    if total:
        shown = "\n".join(f"  {finding}" for finding in findings[:_FINDINGS_SHOWN])
        more = f"\n  ... and {total - _FINDINGS_SHOWN} more" if total > _FINDINGS_SHOWN else ""
        raise TamperedError(
            f"the stored data differs from what the audit trail bound ({total} findings; the "
            f"chain itself verifies):\n{shown}{more}"
        )
    return replace(result, rows=checked)


#: Findings a ``TamperedError`` lists (the count is always complete).
_FINDINGS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class Exported:
    """The anchor written: which event it pins, and where it went."""

    seq: int
    hash: str
    signed_event: bool
    path: Path


def export_anchor(store: Store, to: Path) -> Exported:
    """Write the head of the trail, signed with the audit key, to the new file ``to``.

    Keep the file outside the database host (see docs/reliability.md): ``verify_audit`` with
    it proves the trail still holds that event, so a deleted or forged tail is detected.
    """
    if store.audit_key is None:
        raise ConfigurationError(
            "exporting a signed anchor needs the audit key: set QUAYWATCH_AUDIT_KEY_FILE"
        )
    e = tables.audit_events
    with store.reading() as conn:
        head = conn.execute(select(e).order_by(e.c.seq.desc()).limit(1)).first()
    now = tables.utcnow()
    seq, digest, at, mac = (
        (head.seq, head.hash, head.at, head.mac) if head else (0, chain.GENESIS, now, None)
    )
    data = signing.sign_anchor(store.audit_key, seq, digest, at, mac, now)
    _write_new(to, data, "anchor file")
    return Exported(seq, digest, mac is not None, to)


def make_key(to: Path) -> str:
    """Write a new random audit key (32 bytes, hex) to the new file ``to``, readable by its
    owner only; return its key id."""
    secret = secrets.token_hex(32).encode("ascii")
    _write_new(to, secret + b"\n", "key file", mode=0o600)
    return signing.AuditKey.of(secret).key_id


def _write_new(path: Path, data: bytes, what: str, *, mode: int = 0o644) -> None:
    """Create ``path`` with ``data``; never overwrite (an anchor or a key is kept, not replaced)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise InputError(
            f"{path} exists; a {what} is never overwritten, choose a new name"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot create the {what} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as file:
        file.write(data)


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
