"""Root documents: an administration's keys, signed, and their TUF-style rotation.

A root names its administration, a version, when it expires, its keys and a threshold: how many
of those keys must sign the next root (messages need one signature by a key of the root in
force). Roots travel as DSSE envelopes of payload type ``ROOT_PAYLOAD_TYPE``.

Trust follows The Update Framework's root rotation (TUF specification, 5.3):

- the first root of a partner is trusted on first use, if a threshold of its own keys sign it:
  the liaison officers compare its fingerprint (``fingerprint``) by another channel;
- root N+1 is trusted only if a threshold of root N's keys and a threshold of its own keys sign
  it, so a stolen key below the threshold cannot replace the keys, and new keys cannot be
  slipped in without the old ones agreeing; a key of root N revoked here does not count
  towards that threshold;
- versions go up by exactly one; only the newest root of a chain must be unexpired.

Keys of an older root are superseded: a message they sign is refused (``receive``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Annotated, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from quaywatch.errors import InputError, TrustError
from quaywatch.exchange import envelope as dsse
from quaywatch.exchange.keys import SCHEME, key_id, public_bytes, public_from_hex
from quaywatch.exchange.messages import Administration

ROOT_PAYLOAD_TYPE = "application/vnd.quaywatch.root.v1+json"
#: Most keys one root may list.
MAX_KEYS = 16


class RootKey(BaseModel):
    """One public key of a root: its id, scheme and raw public key in hex."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keyid: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    scheme: Annotated[str, Field(pattern=f"^{SCHEME}$")]
    public: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

    @model_validator(mode="after")
    def _id_is_hash(self) -> Self:
        if key_id(public_from_hex(self.public)) != self.keyid:
            raise ValueError("keyid is not the SHA-256 of the public key")
        return self


class Root(BaseModel):
    """An administration's root document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    administration: Administration
    version: Annotated[int, Field(ge=1)]
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    threshold: Annotated[int, Field(ge=1, le=MAX_KEYS)]
    keys: Annotated[tuple[RootKey, ...], Field(min_length=1, max_length=MAX_KEYS)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len({k.keyid for k in self.keys}) != len(self.keys):
            raise ValueError("a key is listed twice")
        if self.threshold > len(self.keys):
            raise ValueError(f"threshold {self.threshold} is above the {len(self.keys)} keys")
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        return self

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """The root's keys by id."""
        return {k.keyid: public_from_hex(k.public) for k in self.keys}

    def payload(self) -> bytes:
        """The root as canonical JSON bytes, the payload that is signed."""
        data = self.model_dump(mode="json")
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("ascii")


def make_root(
    administration: str,
    version: int,
    keys: Iterable[Ed25519PublicKey],
    *,
    threshold: int,
    issued_at: datetime,
    expires_at: datetime,
) -> Root:
    """A root document of ``keys``; ``InputError`` naming the field if it cannot be one."""
    listed = [{"keyid": key_id(k), "scheme": SCHEME, "public": public_bytes(k).hex()} for k in keys]
    try:
        return Root.model_validate({
            "administration": administration, "version": version, "issued_at": issued_at,
            "expires_at": expires_at, "threshold": threshold, "keys": listed,
        })  # fmt: skip
    except ValidationError as exc:
        raise InputError(_problem(exc)) from None


def sign_root(root: Root, signers: Iterable[Ed25519PrivateKey]) -> dsse.Envelope:
    """``root`` as an envelope signed by ``signers``."""
    return dsse.sign(ROOT_PAYLOAD_TYPE, root.payload(), signers)


def fingerprint(signed: dsse.Envelope) -> str:
    """The SHA-256 of a root's payload: what two liaison officers compare by phone."""
    return dsse.payload_digest(signed.payload)


def _problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"root document, field {where}: {message}" if where else f"root document: {message}"


def parse_root(signed: dsse.Envelope) -> Root:
    """The root an envelope holds, unverified; ``TrustError`` if it holds none."""
    if signed.payload_type != ROOT_PAYLOAD_TYPE:
        raise TrustError(f"payload type {signed.payload_type!r} is not {ROOT_PAYLOAD_TYPE}")
    try:
        return Root.model_validate_json(signed.payload)
    except ValidationError as exc:
        raise TrustError(_problem(exc)) from None


def _require_threshold(
    signed: dsse.Envelope, keys: Mapping[str, Ed25519PublicKey], threshold: int, whose: str
) -> None:
    valid = len(dsse.verified_keyids(signed, keys))
    if valid < threshold:
        raise TrustError(
            f"root document has {valid} valid signature(s) of {whose}, {threshold} needed"
        )


def verify_chain(
    trusted: Root | None, chain: Iterable[dsse.Envelope], now: datetime,
    revoked: Collection[str] = (),
) -> list[tuple[Root, dsse.Envelope]]:  # fmt: skip
    """The roots of ``chain`` newer than ``trusted``, each verified against the one before.

    ``trusted`` None: the first root is trusted on first use if a threshold of its own keys
    sign it. Roots not newer than ``trusted`` are passed over. ``TrustError`` if a root does not
    verify, a version is skipped or repeated, the administration changes, or the newest root
    has expired at ``now``; nothing of the chain is then trusted.

    ``revoked``: key ids revoked here (``partners revoke --key``). They do not count towards
    the threshold of the older root that approves the next: a thief of a revoked key cannot
    help sign the root that replaces it.
    """
    newer: list[tuple[Root, dsse.Envelope]] = []
    current = trusted
    for signed in chain:
        root = parse_root(signed)
        if current is not None and root.version <= current.version and not newer:
            continue
        if current is None:
            _require_threshold(signed, root.public_keys(), root.threshold, "its own keys")
        else:
            if root.administration != current.administration:
                raise TrustError(
                    f"root version {root.version} is {root.administration}'s, not "
                    f"{current.administration}'s"
                )
            if root.version != current.version + 1:
                raise TrustError(
                    f"root version {root.version} of {root.administration} does not follow "
                    f"version {current.version}: each version must be given in turn"
                )
            approving = {k: v for k, v in current.public_keys().items() if k not in revoked}
            _require_threshold(
                signed, approving, current.threshold,
                f"the keys of version {current.version} not revoked",
            )  # fmt: skip
            _require_threshold(signed, root.public_keys(), root.threshold, "its own keys")
        newer.append((root, signed))
        current = root
    if newer and newer[-1][0].expires_at <= now:
        last = newer[-1][0]
        raise TrustError(
            f"root version {last.version} of {last.administration} expired at "
            f"{last.expires_at:%Y-%m-%d %H:%M} UTC: ask for a newer one"
        )
    return newer


def read_chain(text: bytes, source: str) -> list[dsse.Envelope]:
    """The root envelopes of a root file: one envelope JSON per line, oldest first."""
    found: list[dsse.Envelope] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(dsse.from_json(json.loads(line)))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"line {number}: not a root envelope: {exc}", source=source) from None
    if not found:
        raise InputError("holds no root document", source=source)
    return found
