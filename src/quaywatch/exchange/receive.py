"""The receiver's checks: a transport record is accepted, or refused with one reason.

``check`` runs them in this order, so that nothing in a payload is believed before its
signature holds, and each refusal says the first thing wrong:

=================  ==========================================================================
reason             refused because
=================  ==========================================================================
malformed          not a transport record holding a well-formed DSSE envelope
unknown_schema     the payload type names a message type or version this quaywatch does not read
unknown_sender     no signature by a key of a partner (or the payload names another sender
                   than the administration whose key signed it)
revoked_key        signed only by keys revoked here (or of a partner revoked here)
superseded_key     signed only by keys of an older root of the partner (rotated out)
payload_altered    the payload's digest differs from the one its sender recorded
bad_signature      no signature by a partner's current key verifies
invalid_payload    the payload is not a valid message of its type (names the field), its
                   ``issued_at`` is more than ``MAX_CLOCK_SKEW`` (5 minutes) ahead of this
                   node's clock
wrong_recipient    the message is addressed to another administration
expired            the message, or the sender's root of keys, has expired
replayed           a message with this id was received before with other content
=================  ==========================================================================

The replay check needs the store, so ``mailbox`` makes it, on the sender and the message id: a
message received again from its sender with the same content is no refusal but a duplicate,
stored once.

Clocks: a message issued in the future by more than ``MAX_CLOCK_SKEW`` is refused (its sender's
clock is wrong, or the message was made to outlive its validity); less is the drift two
administrations' clocks may have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from quaywatch.exchange import envelope as dsse, messages

#: How far ahead of this node's clock a message's ``issued_at`` may be (the clocks' drift).
MAX_CLOCK_SKEW = timedelta(minutes=5)


class Reason(StrEnum):
    """Why a message was refused (the table in the module docstring)."""

    MALFORMED = "malformed"
    UNKNOWN_SCHEMA = "unknown_schema"
    UNKNOWN_SENDER = "unknown_sender"
    REVOKED_KEY = "revoked_key"
    SUPERSEDED_KEY = "superseded_key"
    PAYLOAD_ALTERED = "payload_altered"
    BAD_SIGNATURE = "bad_signature"
    INVALID_PAYLOAD = "invalid_payload"
    WRONG_RECIPIENT = "wrong_recipient"
    EXPIRED = "expired"
    REPLAYED = "replayed"


@dataclass(frozen=True, slots=True)
class PartnerKeys:
    """What the receiver trusts of one partner: its current keys and until when."""

    administration: str
    keys: dict[str, Ed25519PublicKey]
    root_version: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Trust:
    """Everything the checks need to know of the receiver and its partners.

    ``superseded`` and ``revoked``: key id → the partner it was of. A key of a revoked partner
    is in ``revoked``, and the partner is not in ``partners``.
    """

    own: str
    partners: dict[str, PartnerKeys]
    superseded: dict[str, str] = field(default_factory=dict)
    revoked: dict[str, str] = field(default_factory=dict)

    def owner_of(self, kid: str) -> PartnerKeys | None:
        """The partner whose current keys include ``kid``."""
        return next((p for p in self.partners.values() if kid in p.keys), None)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message that passed every check but the replay check (``mailbox`` makes it)."""

    message: messages.Message
    envelope: dsse.Envelope
    key_id: str
    payload_sha256: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A refused record: the reason, what was wrong, and what could be read of it."""

    reason: Reason
    detail: str
    payload_type: str | None = None
    sender: str | None = None
    message_id: str | None = None


def check(record: bytes, trust: Trust, now: datetime) -> Accepted | Refused:
    """Run every check but replay on one transport record (the module docstring's order)."""
    try:
        signed, declared = dsse.read_record(record)
    except dsse.EnvelopeError as exc:
        return Refused(Reason.MALFORMED, str(exc))
    kind = signed.payload_type
    known = messages.KNOWN_PAYLOAD_TYPES.get(kind)
    if known is None:
        return Refused(
            Reason.UNKNOWN_SCHEMA, f"payload type {kind[:120]!r} is not one this reads", kind
        )
    keyids = signed.keyids()
    partner = next((p for k in keyids if (p := trust.owner_of(k)) is not None), None)
    if partner is None:
        return _unknown_key(keyids, trust, kind)
    sender = partner.administration
    payload_sha256 = dsse.payload_digest(signed.payload)
    verified = dsse.verified_keyids(signed, partner.keys)
    if not verified:
        if payload_sha256 != declared:
            return Refused(
                Reason.PAYLOAD_ALTERED,
                "the payload's SHA-256 differs from the one its sender recorded",
                kind, sender,
            )  # fmt: skip
        return Refused(
            Reason.BAD_SIGNATURE, f"no signature by a key of {sender} verifies", kind, sender
        )
    try:
        message = messages.parse(signed.payload, known[0])
    except messages.MessageProblem as exc:
        return Refused(Reason.INVALID_PAYLOAD, str(exc), kind, sender)
    header = message.header
    seen = {"payload_type": kind, "sender": sender, "message_id": header.message_id}
    if header.sender != sender:
        return Refused(
            Reason.UNKNOWN_SENDER,
            f"signed by a key of {sender} but names {header.sender} as its sender",
            **seen,
        )
    if header.recipient != trust.own:
        return Refused(
            Reason.WRONG_RECIPIENT, f"addressed to {header.recipient}, not {trust.own}", **seen
        )
    if header.issued_at > now + MAX_CLOCK_SKEW:
        return Refused(
            Reason.INVALID_PAYLOAD,
            f"header.issued_at {header.issued_at.isoformat()} is more than "
            f"{MAX_CLOCK_SKEW.total_seconds() / 60:g} minutes ahead of this node's clock "
            f"({now.isoformat()}): check {sender}'s clock",
            **seen,
        )
    if header.expires_at <= now:
        return Refused(Reason.EXPIRED, f"expired at {header.expires_at.isoformat()}", **seen)
    if partner.expires_at <= now:
        return Refused(
            Reason.EXPIRED,
            f"{sender}'s root of keys (version {partner.root_version}) expired at "
            f"{partner.expires_at.isoformat()}: ask {sender} for its newer root",
            **seen,
        )
    return Accepted(message, signed, min(verified), payload_sha256)


def _unknown_key(keyids: tuple[str, ...], trust: Trust, kind: str) -> Refused:
    for kid in keyids:
        if kid in trust.revoked:
            owner = trust.revoked[kid]
            return Refused(Reason.REVOKED_KEY, f"key {kid[:16]} of {owner} is revoked", kind, owner)
    for kid in keyids:
        if kid in trust.superseded:
            owner = trust.superseded[kid]
            return Refused(
                Reason.SUPERSEDED_KEY,
                f"key {kid[:16]} of {owner} was rotated out of its root of keys",
                kind, owner,
            )  # fmt: skip
    return Refused(Reason.UNKNOWN_SENDER, "signed by no key of a partner", kind)
