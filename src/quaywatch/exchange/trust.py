"""Roots of keys and partners in the store: this administration's own, and its partners'.

Private keys stay in the key directory (``keys.KeyDir``); the store keeps every root document,
signed, so that the chain of an administration's keys can be shown and handed on
(``root_chain``), and what ``receive.check`` trusts is read from it (``load_trust``). Each change
is one step in the caller's transaction with its audit event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from quaywatch.audit import chain
from quaywatch.errors import ConfigurationError, ConflictError, InputError, NotFoundError
from quaywatch.exchange import envelope as dsse, roots
from quaywatch.exchange.keys import KeyDir
from quaywatch.exchange.receive import PartnerKeys, Trust
from quaywatch.store import tables

_R, _P, _K = tables.exchange_roots, tables.exchange_partners, tables.exchange_revoked_keys


@dataclass(frozen=True, slots=True)
class StoredRoot:
    """A root as stored: the document, its signed envelope (JSON text) and fingerprint."""

    root: roots.Root
    envelope: str
    fingerprint: str
    own: bool


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner administration: its root in force, whether it is revoked, and the inbox URL
    the outbox pushes to (None: exchange by file only)."""

    administration: str
    root: StoredRoot
    added_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    revoked_keys: tuple[str, ...]
    inbox_url: str | None = None


def _stored(row: Any) -> StoredRoot:
    signed = dsse.from_json(json.loads(row.envelope))
    return StoredRoot(roots.parse_root(signed), row.envelope, row.fingerprint, bool(row.own))


def _save(
    conn: Connection, root: roots.Root, signed: dsse.Envelope, own: bool, now: datetime
) -> None:
    conn.execute(insert(_R).values(
        administration=root.administration, version=root.version, own=own,
        envelope=json.dumps(signed.to_json(), sort_keys=True), fingerprint=roots.fingerprint(signed),
        threshold=root.threshold, key_ids=[k.keyid for k in root.keys],
        issued_at=root.issued_at, expires_at=root.expires_at, stored_at=now,
    ))  # fmt: skip


def _newest(conn: Connection, administration: str | None, *, own: bool) -> StoredRoot | None:
    query = select(_R).where(_R.c.own == own).order_by(_R.c.version.desc()).limit(1)
    if administration is not None:
        query = query.where(_R.c.administration == administration)
    row = conn.execute(query).first()
    return None if row is None else _stored(row)


def own_root(conn: Connection) -> StoredRoot | None:
    """This administration's root in force, or None before ``generate``."""
    return _newest(conn, None, own=True)


def require_own_root(conn: Connection) -> StoredRoot:
    """This administration's root in force; ``ConflictError`` before keys were generated."""
    found = own_root(conn)
    if found is None:
        raise ConflictError("this administration has no keys yet: run `quaywatch keys generate`")
    return found


def root_chain(conn: Connection, administration: str) -> list[str]:
    """Every root of ``administration``, oldest first, as envelope JSON lines."""
    rows = conn.execute(
        select(_R.c.envelope).where(_R.c.administration == administration).order_by(_R.c.version)
    )
    return [row.envelope for row in rows]


def generate(
    conn: Connection, key_dir: KeyDir, administration: str, *, count: int, threshold: int,
    valid_days: int, now: datetime, actor: str,
) -> StoredRoot:  # fmt: skip
    """This administration's first keys and root (version 1), signed by all its keys."""
    if own_root(conn) is not None:
        raise ConflictError(
            "this administration has keys already: `quaywatch keys rotate` replaces them"
        )
    _check_counts(count, threshold, valid_days)
    private = [key_dir.generate() for _ in range(count)]
    root = roots.make_root(
        administration, 1, [k.public_key() for k in private], threshold=threshold,
        issued_at=now, expires_at=now + timedelta(days=valid_days),
    )  # fmt: skip
    signed = roots.sign_root(root, private)
    _save(conn, root, signed, True, now)
    chain.append(conn, actor=actor, action="exchange_keys_generate", object_type="exchange_root",
                 object_id=f"{administration}/1", details={"key_ids": [k.keyid for k in root.keys],
                 "threshold": threshold, "fingerprint": roots.fingerprint(signed)})  # fmt: skip
    return own_root(conn) or _never()


def rotate(
    conn: Connection, key_dir: KeyDir, *, count: int, threshold: int, valid_days: int,
    now: datetime, actor: str,
) -> StoredRoot:  # fmt: skip
    """New keys and root N+1, signed by a threshold of root N's keys and all the new keys.

    ``ConfigurationError`` if the key directory holds fewer than the threshold of root N's
    private keys: then nothing is stored (the new private keys stay in the directory, unused).
    """
    current = require_own_root(conn).root
    _check_counts(count, threshold, valid_days)
    held = [k.keyid for k in current.keys if key_dir.has(k.keyid)]
    if len(held) < current.threshold:
        raise ConfigurationError(
            f"the key directory {key_dir.path} holds {len(held)} of the private keys of root "
            f"version {current.version}; {current.threshold} must sign its successor"
        )
    old = [key_dir.load(kid) for kid in held[: current.threshold]]
    private = [key_dir.generate() for _ in range(count)]
    root = roots.make_root(
        current.administration, current.version + 1, [k.public_key() for k in private],
        threshold=threshold, issued_at=now, expires_at=now + timedelta(days=valid_days),
    )  # fmt: skip
    signed = roots.sign_root(root, [*old, *private])
    # The same checks a partner makes, so that a root this store hands on is one they accept.
    roots.verify_chain(current, [signed], now)
    _save(conn, root, signed, True, now)
    chain.append(conn, actor=actor, action="exchange_keys_rotate", object_type="exchange_root",
                 object_id=f"{root.administration}/{root.version}", details={
                 "key_ids": [k.keyid for k in root.keys], "threshold": threshold,
                 "superseded": [k.keyid for k in current.keys],
                 "fingerprint": roots.fingerprint(signed)})  # fmt: skip
    return own_root(conn) or _never()


def _check_counts(count: int, threshold: int, valid_days: int) -> None:
    if not 1 <= count <= roots.MAX_KEYS:
        raise InputError(f"count must be 1 to {roots.MAX_KEYS} keys, got {count}")
    if not 1 <= threshold <= count:
        raise InputError(f"threshold must be 1 to the {count} keys, got {threshold}")
    if not 1 <= valid_days <= 3660:
        raise InputError(f"valid_days must be 1 to 3660, got {valid_days}")


def _never() -> StoredRoot:
    raise AssertionError("a root just stored is missing")


def add_partner(
    conn: Connection, chain_of_roots: Sequence[dsse.Envelope], *, now: datetime, actor: str
) -> tuple[Partner, int]:
    """Trust a partner's root chain: add it, or move it to its newer roots (rotation).

    Returns the partner and how many roots were new. ``TrustError`` if the chain does not
    verify (``roots.verify_chain``); ``ConflictError`` for this administration's own roots or a
    revoked partner.
    """
    first = roots.parse_root(chain_of_roots[0])
    administration = first.administration
    own = own_root(conn)
    if own is not None and own.root.administration == administration:
        raise ConflictError(f"{administration} is this administration, not a partner")
    row = conn.execute(
        select(_P).where(_P.c.administration == administration).with_for_update()
    ).first()
    if row is not None and row.revoked_at is not None:
        raise ConflictError(f"partner {administration} is revoked; its roots are not taken")
    trusted = _newest(conn, administration, own=False)
    revoked = {r.key_id for r in conn.execute(
        select(_K.c.key_id).where(_K.c.administration == administration))}  # fmt: skip
    newer = roots.verify_chain(
        None if trusted is None else trusted.root, chain_of_roots, now, revoked
    )
    for root, signed in newer:
        _save(conn, root, signed, False, now)
    if newer:
        version = newer[-1][0].version
        if row is None:
            conn.execute(insert(_P).values(administration=administration, root_version=version,
                                           added_at=now, updated_at=now))  # fmt: skip
        else:
            conn.execute(update(_P).where(_P.c.administration == administration)
                         .values(root_version=version, updated_at=now))  # fmt: skip
        last = newer[-1]
        chain.append(conn, actor=actor,
                     action="exchange_partner_add" if row is None else "exchange_partner_rotate",
                     object_type="exchange_partner", object_id=administration, details={
                     "root_version": version, "fingerprint": roots.fingerprint(last[1]),
                     "key_ids": [k.keyid for k in last[0].keys]})  # fmt: skip
    elif row is None:
        raise InputError(f"the root file of {administration} holds no root to trust")
    return require_partner(conn, administration), len(newer)


def require_partner(conn: Connection, administration: str) -> Partner:
    """The partner ``administration``; ``NotFoundError`` if it is none."""
    row = conn.execute(select(_P).where(_P.c.administration == administration)).first()
    stored = _newest(conn, administration, own=False)
    if row is None or stored is None:
        raise NotFoundError(f"no partner {administration}: `quaywatch partners add FILE` adds one")
    revoked = conn.execute(select(_K.c.key_id).where(_K.c.administration == administration))
    return Partner(administration, stored, row.added_at, row.revoked_at, row.revoke_reason,
                   tuple(sorted(r.key_id for r in revoked)), row.inbox_url)  # fmt: skip


def list_partners(conn: Connection) -> list[Partner]:
    """Every partner, by administration code."""
    names = conn.execute(select(_P.c.administration).order_by(_P.c.administration))
    return [require_partner(conn, row.administration) for row in names]


def revoke(
    conn: Connection, administration: str, key_id: str | None, *, reason: str, now: datetime,
    actor: str,
) -> Partner:  # fmt: skip
    """Revoke one key of a partner, or (``key_id`` None) the partner: its messages are refused."""
    partner = require_partner(conn, administration)
    if not reason.strip() or len(reason) > 500:
        raise InputError("reason must be 1 to 500 characters: why the key or partner is revoked")
    if key_id is None:
        if partner.revoked_at is not None:
            raise ConflictError(f"partner {administration} is revoked already")
        conn.execute(update(_P).where(_P.c.administration == administration)
                     .values(revoked_at=now, revoke_reason=reason))  # fmt: skip
    else:
        known = {
            kid
            for r in conn.execute(select(_R.c.key_ids).where(_R.c.administration == administration))
            for kid in r.key_ids
        }
        if key_id not in known:
            raise NotFoundError(f"{administration} has no key {key_id}")
        if key_id in partner.revoked_keys:
            raise ConflictError(f"key {key_id} of {administration} is revoked already")
        conn.execute(insert(_K).values(key_id=key_id, administration=administration,
                                       revoked_at=now, reason=reason))  # fmt: skip
    chain.append(conn, actor=actor, action="exchange_partner_revoke", object_type="exchange_partner",
                 object_id=administration, details={"key_id": key_id, "reason": reason})  # fmt: skip
    return require_partner(conn, administration)


def load_trust(conn: Connection) -> Trust:
    """What the receiver's checks trust now (``receive.Trust``)."""
    own = require_own_root(conn).root.administration
    partners: dict[str, PartnerKeys] = {}
    superseded: dict[str, str] = {}
    revoked: dict[str, str] = {r.key_id: r.administration for r in conn.execute(select(_K))}
    for partner in list_partners(conn):
        current = partner.root.root
        old = conn.execute(select(_R.c.key_ids).where(
            _R.c.administration == partner.administration, _R.c.version < current.version))  # fmt: skip
        keys = current.public_keys()
        superseded.update(
            {kid: partner.administration for r in old for kid in r.key_ids if kid not in keys}
        )
        if partner.revoked_at is not None:
            revoked.update(dict.fromkeys(keys, partner.administration))
            continue
        live = {kid: key for kid, key in keys.items() if kid not in revoked}
        partners[partner.administration] = PartnerKeys(
            partner.administration, live, current.version, current.expires_at
        )
    return Trust(own, partners, superseded, revoked)
