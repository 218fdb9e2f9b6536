"""Use cases of the audit trail: verify the hash chain (optionally against an anchor), read it.

An anchor is ``SEQ:HASH``, the head a verification reported earlier and someone kept outside
the database: a later verification proves the chain still holds that event unchanged.
"""

from __future__ import annotations

from quaywatch.audit import chain
from quaywatch.audit.chain import AuditEvent, Verification
from quaywatch.errors import InputError
from quaywatch.services.arguments import check_at_least
from quaywatch.store.store import Store

__all__ = ["AuditEvent", "Verification", "audit_log", "parse_anchor", "verify_audit"]

_HASH_LENGTH = 64


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


def audit_log(store: Store, *, limit: int = 20) -> list[AuditEvent]:
    """The newest ``limit`` audit events, newest first."""
    check_at_least("limit", limit)
    with store.reading() as conn:
        return chain.recent(conn, limit)
