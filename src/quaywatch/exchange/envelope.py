"""DSSE envelopes and the transport record that carries one.

An envelope (https://github.com/secure-systems-lab/dsse, v1.0) holds the payload bytes, their
payload type and signatures over the pre-authentication encoding (PAE) of both, so neither the
payload nor its type can be swapped without breaking every signature::

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

with LEN the byte length in ASCII decimal. Its JSON form carries payload and signatures in
standard base64. Decoding is strict: base64 must be canonical (the one text that encodes the
bytes), so a changed character is never silently decoded to the same bytes.

The transport record is what travels, one JSON line each (file export today, HTTP later)::

    {"format": "quaywatch-exchange/1", "payload_sha256": HEX, "envelope": {...}}

``payload_sha256`` is the sender's digest of the payload. It proves nothing (whoever changes
the payload can change it too) and decides nothing: it only tells the receiver's two refusals
apart, "the payload was altered after signing" from "the signature is bad".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from quaywatch.exchange.keys import key_id, verifies

#: The transport record format this code writes and reads.
RECORD_FORMAT = "quaywatch-exchange/1"


class EnvelopeError(ValueError):
    """Bytes that are not a well-formed envelope or transport record."""


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature: the id of the key that made it and its 64 bytes."""

    keyid: str
    sig: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self) -> dict[str, Any]:
        """The envelope's JSON form."""
        return {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": _b64(s.sig)} for s in self.signatures],
        }

    def keyids(self) -> tuple[str, ...]:
        """The key ids the signatures name, in order."""
        return tuple(s.keyid for s in self.signatures)


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding of ``payload_type`` and ``payload``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def sign(payload_type: str, payload: bytes, keys: Iterable[Ed25519PrivateKey]) -> Envelope:
    """``payload`` in an envelope signed by each of ``keys``."""
    message = pae(payload_type, payload)
    signatures = tuple(Signature(key_id(k.public_key()), k.sign(message)) for k in keys)
    return Envelope(payload_type, payload, signatures)


def verified_keyids(envelope: Envelope, keys: Mapping[str, Ed25519PublicKey]) -> frozenset[str]:
    """The ids among ``keys`` with a signature in ``envelope`` that verifies.

    A key counts once however many signatures name it; a signature naming a key not in
    ``keys`` counts for nothing.
    """
    message = pae(envelope.payload_type, envelope.payload)
    return frozenset(
        s.keyid
        for s in envelope.signatures
        if s.keyid in keys and verifies(keys[s.keyid], s.sig, message)
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(f"{what} must be base64 text")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"{what} is not valid base64") from None
    if _b64(data) != text:
        raise EnvelopeError(f"{what} is not canonical base64")
    return data


def from_json(data: Any) -> Envelope:
    """The envelope of a decoded JSON object; ``EnvelopeError`` naming the field if malformed."""
    if not isinstance(data, dict) or set(data) != {"payload", "payloadType", "signatures"}:
        raise EnvelopeError("an envelope has exactly payload, payloadType and signatures")
    kind, signatures = data["payloadType"], data["signatures"]
    if not isinstance(kind, str) or not kind:
        raise EnvelopeError("payloadType must be non-empty text")
    if not isinstance(signatures, list) or not 1 <= len(signatures) <= 16:
        raise EnvelopeError("signatures must be a list of 1 to 16 signatures")
    parsed = []
    for i, s in enumerate(signatures):
        if not isinstance(s, dict) or set(s) != {"keyid", "sig"} or not isinstance(s["keyid"], str):
            raise EnvelopeError(f"signatures.{i} must hold exactly keyid (text) and sig")
        parsed.append(Signature(s["keyid"], _unb64(s["sig"], f"signatures.{i}.sig")))
    return Envelope(kind, _unb64(data["payload"], "payload"), tuple(parsed))


def payload_digest(payload: bytes) -> str:
    """The hex SHA-256 of ``payload``."""
    return hashlib.sha256(payload).hexdigest()


def record_line(envelope: Envelope) -> bytes:
    """The transport record of ``envelope``: one line of JSON, without its newline."""
    record = {
        "envelope": envelope.to_json(),
        "format": RECORD_FORMAT,
        "payload_sha256": payload_digest(envelope.payload),
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode("ascii")


def read_record(line: bytes) -> tuple[Envelope, str]:
    """The envelope of a transport record and the payload digest it declares."""
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeError("not a JSON object in UTF-8") from None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise EnvelopeError(f"not a transport record of format {RECORD_FORMAT}")
    digest = data.get("payload_sha256")
    if set(data) != {"envelope", "format", "payload_sha256"} or not isinstance(digest, str):
        raise EnvelopeError("a transport record holds exactly format, payload_sha256, envelope")
    return from_json(data["envelope"]), digest
