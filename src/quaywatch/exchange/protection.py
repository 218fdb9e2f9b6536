"""Data protection: which partner may receive personal data, and the de-identified version the
others get.

Personal data travel only in a party's ``name``, ``address``, ``phone`` and ``eori`` (a
natural person's EORI identifies them; ``messages.PERSONAL_FIELDS``). For each partner and message type an analyst records whether
those may be sent and on which legal basis (``allow``: stored and audited); without such a
permission a message is **de-identified** before it is signed: each personal value is replaced
by its keyed hash, HMAC-SHA256 under the partner group's key, written as 64 hex digits. The
group key is shared by the administrations of the partner group (out of band, like a root
file), held in the key directory (``group.key``, mode 0600) and never in the store; the value
is normalised (case, spaces) before it is hashed, so the same offender named by two ports, or
twice by one, gives the same hash: repeat offenders still match without names. Without the key
nobody can test a guessed name against a hash.

Free texts (a seizure's goods description, a referral's text, a shared profile) are not
searched for names: whoever writes them keeps names out of them (docs/exchange.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, select

from quaywatch.audit import chain
from quaywatch.errors import ConfigurationError, InputError
from quaywatch.exchange import messages as m
from quaywatch.store import tables

#: The group key's file in the key directory.
GROUP_KEY_FILE = "group.key"
#: What a de-identified value looks like: the hex HMAC-SHA256 of the normalised value.
PSEUDONYM_RE = re.compile(r"^[0-9a-f]{64}$")
_P = tables.exchange_permissions
_M = TypeVar("_M", bound=BaseModel)


def _key_file(key_dir: Path) -> Path:
    return key_dir / GROUP_KEY_FILE


def write_group_key(key_dir: Path, key: bytes | None = None) -> Path:
    """Write the group key (``key``, else 32 new random bytes) to the key directory as hex,
    mode 0600; ``ConfigurationError`` if one is there (a group key is never overwritten)."""
    raw = secrets.token_bytes(32) if key is None else key
    if len(raw) < 32:
        raise InputError(f"a group key must be at least 32 bytes, got {len(raw)}")
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = _key_file(key_dir)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(f"{target} exists; a group key is never overwritten") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(raw.hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return target


def read_group_key_file(path: Path) -> bytes:
    """The key a group key file holds (hex); ``InputError`` if it holds none."""
    try:
        text = path.read_text("ascii").strip()
        raw = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError):
        raise InputError("not a group key file (hex digits)", source=str(path)) from None
    if len(raw) < 32:
        raise InputError("a group key must be at least 32 bytes", source=str(path))
    return raw


def load_group_key(key_dir: Path) -> bytes:
    """The partner group's key from the key directory; ``ConfigurationError`` if missing or
    readable by other users."""
    path = _key_file(key_dir)
    try:
        mode = path.stat().st_mode
    except OSError:
        raise ConfigurationError(
            f"no group key in the key directory {key_dir} (QUAYWATCH_KEY_DIR): personal data "
            "cannot be de-identified; run `quaywatch keys group-generate` once in the group "
            "and `quaywatch keys group-import FILE` at every other administration"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"group key file {path} may be read by other users (mode {stat.S_IMODE(mode):04o}); "
            "make it 0600 (chmod 600) before it is used"
        )
    return read_group_key_file(path)


def group_key_if_any(key_dir: Path | None) -> bytes | None:
    """The group key of ``key_dir`` when it holds one (None when there is no key directory or
    no key: de-identified entries then match nobody); ``ConfigurationError`` as
    ``load_group_key`` for a key file others may read."""
    if key_dir is None or not _key_file(key_dir).exists():
        return None
    return load_group_key(key_dir)


def normalise(value: str) -> str:
    """A value as it is hashed: case folded, runs of spaces one space, trimmed."""
    return " ".join(value.casefold().split())


def pseudonym(key: bytes, value: str) -> str:
    """The keyed hash of ``value`` under the group ``key`` (64 hex digits)."""
    return hmac.new(key, normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()


def personal_values(body: BaseModel) -> list[str]:
    """Every personal value in ``body`` (its parties' names, addresses, phones, EORIs)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, m.Party):
            found.extend(v for f in m.PERSONAL_FIELDS if (v := getattr(value, f)) is not None)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)

    walk(body)
    return found


def deidentify(body: _M, key: bytes) -> _M:
    """``body`` with every personal value replaced by its keyed hash (``pseudonym``)."""

    def walk(value: Any) -> Any:
        if isinstance(value, m.Party):
            return value.model_copy(update={
                f: pseudonym(key, v) for f in m.PERSONAL_FIELDS
                if (v := getattr(value, f)) is not None})  # fmt: skip
        if isinstance(value, BaseModel):
            changes = {n: walk(getattr(value, n)) for n in type(value).model_fields}
            return value.model_copy(update=changes)
        if isinstance(value, tuple):
            return tuple(walk(item) for item in value)
        return value

    result: _M = walk(body)
    return result


@dataclass(frozen=True, slots=True)
class Permission:
    """Whether ``partner`` may receive personal data in messages of ``message_type``."""

    partner: str
    message_type: str
    personal: bool
    legal_basis: str | None
    granted_at: datetime
    granted_by: str


def allow(
    conn: Connection, partner: str, message_type: m.MessageType, *, personal: bool,
    basis: str | None, now: datetime, actor: str,
) -> Permission:  # fmt: skip
    """Record (or change) whether ``partner`` may receive personal data in ``message_type``
    messages; allowing needs the legal basis. Audited."""
    basis = None if basis is None else basis.strip() or None
    if personal and basis is None:
        raise InputError("personal data may be sent only with the legal basis recorded (--basis)")
    if basis is not None and len(basis) > 2000:
        raise InputError("the legal basis must be at most 2,000 characters")
    values = {"personal": personal, "legal_basis": basis, "granted_at": now, "granted_by": actor}
    key = (_P.c.partner == partner) & (_P.c.message_type == message_type.value)
    if conn.execute(select(_P.c.partner).where(key)).first() is None:
        conn.execute(_P.insert().values(partner=partner, message_type=message_type.value,
                                        **values))  # fmt: skip
    else:
        conn.execute(_P.update().where(key).values(**values))
    chain.append(conn, actor=actor, action="exchange_permission", object_type="exchange_partner",
                 object_id=partner, details={"message_type": message_type.value,
                 "personal": personal, "legal_basis": basis})  # fmt: skip
    return Permission(partner, message_type.value, personal, basis, now, actor)


def permissions(conn: Connection, partner: str | None = None) -> list[Permission]:
    """The permissions recorded (of ``partner``), by partner and message type."""
    query = select(_P).order_by(_P.c.partner, _P.c.message_type)
    if partner is not None:
        query = query.where(_P.c.partner == partner)
    return [Permission(r.partner, r.message_type, r.personal, r.legal_basis, r.granted_at,
                       r.granted_by) for r in conn.execute(query)]  # fmt: skip


def may_receive_personal(conn: Connection, partner: str, message_type: m.MessageType) -> bool:
    """Whether a permission with a legal basis lets ``partner`` receive personal data in
    ``message_type`` messages (none recorded: no)."""
    row = conn.execute(select(_P.c.personal).where(
        _P.c.partner == partner, _P.c.message_type == message_type.value)).first()  # fmt: skip
    return bool(row is not None and row.personal)
