"""Helpers the exchange tests share: administrations with keys, trust, and signed records.

Named ``exchange_support`` (not ``conftest``) so tests import it plainly, as ``pg_support``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from quaywatch.exchange import envelope as dsse, messages, roots
from quaywatch.exchange.keys import key_id
from quaywatch.exchange.receive import PartnerKeys, Trust

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

SEIZURE: dict[str, Any] = {
    "containers": ["CSQU3054383"],
    "case_reference": "BEANR-2026-0042",
    "seizure_date": "2026-12-05T10:00:00Z",
    "place": "BEANR",
    "hs_code": "080390",
    "goods_description": "cocaine in banana boxes",
    "quantity": 412.5,
    "unit": "KGM",
    "concealment": "RIP_ON_RIP_OFF",
    "detection_method": "NII_SCAN",
    "vessel_imo": "9074729",
    "voyage": "123W",
    "route": ["ECGYE", "BEANR"],
}


@dataclass
class Admin:
    """An administration with private keys in memory and its root chain."""

    code: str
    keys: list[Ed25519PrivateKey] = field(default_factory=list)
    chain: list[tuple[roots.Root, dsse.Envelope]] = field(default_factory=list)

    @classmethod
    def new(cls, code: str, count: int = 1, threshold: int = 1) -> Admin:
        admin = cls(code, [Ed25519PrivateKey.generate() for _ in range(count)])
        root = roots.make_root(
            code, 1, [k.public_key() for k in admin.keys], threshold=threshold,
            issued_at=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=365),
        )  # fmt: skip
        admin.chain.append((root, roots.sign_root(root, admin.keys)))
        return admin

    @property
    def root(self) -> roots.Root:
        return self.chain[-1][0]

    def partner_keys(self) -> PartnerKeys:
        return PartnerKeys(
            self.code, self.root.public_keys(), self.root.version, self.root.expires_at
        )

    def message(
        self, to: str, body: dict[str, Any] | None = None, *, message_id: str | None = None,
        kind: messages.MessageType = messages.MessageType.SEIZURE_REPORT,
        expires_at: datetime | None = None, sender: str | None = None,
    ) -> bytes:  # fmt: skip
        """A signed transport record of a message from this administration to ``to``."""
        header = messages.Header(
            message_id=message_id or str(uuid.uuid4()), message_type=kind,
            sender=sender or self.code, recipient=to, issued_at=NOW - timedelta(hours=1),
            expires_at=expires_at or NOW + timedelta(days=30),
        )  # fmt: skip
        typed = messages.BODIES[kind].model_validate(SEIZURE if body is None else body)
        payload = messages.encode(header, typed)
        return dsse.record_line(dsse.sign(messages.payload_type(kind), payload, self.keys[:1]))


def trust_of(own: str, *partners: Admin) -> Trust:
    return Trust(own, {p.code: p.partner_keys() for p in partners})


def kid(key: Ed25519PrivateKey) -> str:
    return key_id(key.public_key())
