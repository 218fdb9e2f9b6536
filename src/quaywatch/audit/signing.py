"""The audit key held outside the store: signed audit events and signed anchor files.

Threat model. An attacker who can write to the database but does not hold the key (a DBA, a
stolen backup restored elsewhere, SQL injection) can edit, insert or delete any row, and can
recompute every SHA-256 in the store, since hashes need no secret. What they cannot do without
the key is make an HMAC-SHA256 that verifies. So, with ``QUAYWATCH_AUDIT_KEY_FILE`` set:

- every audit event appended carries ``mac`` = HMAC(key, its hash): an event forged, edited and
  re-hashed, or appended by someone without the key fails ``audit verify`` (once the trail is
  signed, every later event must be);
- the head row carries HMAC(key, seq, hash, the event signing began at): pointing the head back
  after deleting the tail, or stripping every signature and rewriting the trail, leaves a head
  whose signature fails or is missing, and ``audit verify`` with the key refuses a trail that
  has events but no signed head (``audit.chain``);
- ``quaywatch audit anchor --to FILE`` exports the head (seq, hash, time, the head event's mac,
  key id) signed with the key; kept outside the store (write-once storage, another host, a
  printout), it proves the trail still holds that event: deleting the tail, even every event,
  or rewriting the trail before it is detected by ``audit verify --anchor FILE``.

What stays possible without the key: deleting the events appended after some earlier moment
together with restoring the head row as it was then (a copy of it from a backup), which only a
newer anchor detects (export anchors often: after every import, or hourly), and, on a trail
never signed, anything an anchor does not pin. Reading data is not prevented (this is integrity, not secrecy). An
attacker who holds the key can forge anything; keep it off the database host when possible.

The MAC is the standard library's ``hmac`` (HMAC-SHA256, RFC 2104), compared in constant time;
``cryptography`` is not installed, so no signature scheme with a public key is offered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from quaywatch.errors import AuditChainError, ConfigurationError, InputError

#: Fewest bytes of key material accepted (256 bits, the size of HMAC-SHA256's output).
MIN_KEY_BYTES = 32
#: The anchor file format this code writes and reads.
ANCHOR_FORMAT = "quaywatch-audit-anchor/1"

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class AuditKey:
    """A secret key and its public id (a hash of it, so anchors say which key signed them)."""

    secret: bytes = field(repr=False)
    key_id: str

    @classmethod
    def of(cls, secret: bytes) -> AuditKey:
        """The key of ``secret`` (at least ``MIN_KEY_BYTES`` bytes)."""
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"the audit key must hold at least {MIN_KEY_BYTES} bytes, it has {len(secret)}; "
                "make one with `quaywatch audit keygen --to FILE`"
            )
        key_id = hashlib.sha256(b"quaywatch-audit-key-id\x00" + secret).hexdigest()[:16]
        return cls(secret, key_id)

    def mac(self, purpose: str, message: str) -> str:
        """HMAC-SHA256 of ``message`` for ``purpose`` (``event`` or ``anchor``), hex."""
        data = f"quaywatch-audit-{purpose}\x00{message}".encode()
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

    def verifies(self, purpose: str, message: str, mac: str | None) -> bool:
        """Whether ``mac`` is this key's MAC of ``message`` (constant-time comparison)."""
        return mac is not None and hmac.compare_digest(self.mac(purpose, message), mac)


def load_key(path: Path) -> AuditKey:
    """The key in file ``path`` (its bytes, surrounding whitespace stripped), or a
    ``ConfigurationError`` naming the file and what is wrong."""
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigurationError(
            f"QUAYWATCH_AUDIT_KEY_FILE: cannot read the audit key file {path}: {exc.strerror}"
        ) from None
    try:
        return AuditKey.of(secret)
    except ConfigurationError as exc:
        raise ConfigurationError(f"QUAYWATCH_AUDIT_KEY_FILE {path}: {exc.message}") from None


@dataclass(frozen=True, slots=True)
class Anchor:
    """A signed head kept outside the store: event ``seq`` had ``hash`` (and ``event_mac``)."""

    seq: int
    hash: str
    at: str
    event_mac: str | None
    key_id: str
    exported_at: str
    signature: str

    def payload(self) -> dict[str, Any]:
        """The fields the signature covers."""
        return {"format": ANCHOR_FORMAT, "seq": self.seq, "hash": self.hash, "at": self.at,
                "event_mac": self.event_mac, "key_id": self.key_id,
                "exported_at": self.exported_at}  # fmt: skip


def _canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sign_anchor(
    key: AuditKey, seq: int, digest: str, at: datetime, event_mac: str | None, now: datetime
) -> bytes:
    """The anchor file's bytes: one line of canonical JSON, signed with ``key``."""
    unsigned = Anchor(seq, digest, at.isoformat(), event_mac, key.key_id, now.isoformat(), "")
    payload = unsigned.payload()
    signed = {**payload, "signature": key.mac("anchor", _canonical(payload))}
    return (_canonical(signed) + "\n").encode("ascii")


def read_anchor(data: bytes, key: AuditKey | None, *, source: str) -> Anchor:
    """The anchor in ``data``, checked byte for byte and by its signature.

    Any change to the file, even one that leaves the JSON meaning the same, is refused: the file
    must be exactly as ``sign_anchor`` wrote it (``InputError``), and its signature must be
    ``key``'s (``AuditChainError``). Without the key an anchor cannot be trusted, so ``key`` is
    required.
    """
    try:
        parsed = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("not an audit anchor file (one line of JSON)", source=source) from None
    if not isinstance(parsed, dict) or (_canonical(parsed) + "\n").encode() != data:
        raise InputError(
            "the anchor file is not exactly as `quaywatch audit anchor` wrote it: it was edited",
            source=source,
        )
    if parsed.get("format") != ANCHOR_FORMAT or set(parsed) != {*_FIELDS, "format"}:
        raise InputError(f"not a {ANCHOR_FORMAT} file", source=source)
    anchor = Anchor(**{name: parsed[name] for name in _FIELDS})
    if not _well_formed(anchor):
        raise InputError("the anchor file's fields are malformed", source=source)
    if key is None:
        raise InputError(
            "checking a signed anchor needs the audit key: set QUAYWATCH_AUDIT_KEY_FILE",
            source=source,
        )
    if anchor.key_id != key.key_id:
        raise AuditChainError(
            f"{source}: the anchor was signed with key {anchor.key_id}, not with the key "
            f"configured ({key.key_id})"
        )
    if not key.verifies("anchor", _canonical(anchor.payload()), anchor.signature):
        raise AuditChainError(f"{source}: the anchor's signature does not verify: it was altered")
    return anchor


_FIELDS = ("seq", "hash", "at", "event_mac", "key_id", "exported_at", "signature")


def _hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and set(value) <= _HEX


def _well_formed(anchor: Anchor) -> bool:
    return (
        type(anchor.seq) is int
        and anchor.seq >= 0
        and _hex(anchor.hash, 64)
        and (anchor.event_mac is None or _hex(anchor.event_mac, 64))
        and _hex(anchor.key_id, 16)
        and _hex(anchor.signature, 64)
        and isinstance(anchor.at, str)
        and isinstance(anchor.exported_at, str)
    )
