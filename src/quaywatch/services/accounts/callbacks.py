"""DCSA event-subscription callbacks: events a carrier's or terminal's platform pushes to us.

A DCSA Track & Trace publisher delivers the events of a subscription to the subscriber's
callback URL, signed: the header ``Notification-Signature: sha256=<hex>`` is the HMAC-SHA256 of
the request body with the subscription's shared secret, and ``Subscription-ID`` names the
subscription. It cannot send our bearer tokens, so the signature is the credential: a callback
registered here (``register_callback``) ties the publisher's subscription id to a feed account
and a secret; ``authenticate_callback`` checks a delivery and gives the feed's principal.

The secret must be kept as it is (the HMAC needs it, unlike a token that is compared through
its hash): 64 random bytes, base64, shown once when generated. Whoever reads the store's
``event_callbacks`` can forge deliveries for that subscription: protect the store as the
credentials it holds. Revoking a callback, or disabling its feed account, refuses its
deliveries from then on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from quaywatch.audit import chain
from quaywatch.domain.access import Principal, Role
from quaywatch.errors import AuthenticationError, ConflictError, InputError, NotFoundError
from quaywatch.services.accounts.users import now_or, principal_of, require_user, stored_roles
from quaywatch.store import tables
from quaywatch.store.store import Store

_C, _U = tables.event_callbacks, tables.users
#: Bytes of a generated secret (DCSA's reference publisher takes HMAC-SHA256 keys of 64).
SECRET_BYTES = 64
#: What a subscription id may hold: a UUID as DCSA publishers make them, or a similar token.
_SUBSCRIPTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_INVALID = "invalid callback delivery: unknown subscription or bad signature"


@dataclass(frozen=True, slots=True)
class Callback:
    """A registered callback: the subscription, the feed account it posts as, its state."""

    subscription_id: str
    username: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RegisteredCallback:
    """A new callback and its secret (base64), shown here once: give it to the publisher."""

    secret: str
    callback: Callback


def _subscription(subscription_id: str) -> str:
    if not isinstance(subscription_id, str) or not _SUBSCRIPTION.fullmatch(subscription_id):
        raise InputError(
            "subscription_id must be 1 to 100 letters, digits or . _ : - (the publisher's "
            f"subscription id), got {subscription_id!r}"
        )
    return subscription_id


def _listed() -> Any:
    return select(_C.c.subscription_id, _U.c.username, _C.c.created_at, _C.c.revoked_at).join(
        _U, _U.c.user_id == _C.c.user_id
    )


def register_callback(
    store: Store, subscription_id: str, *, username: str, secret: str | None = None, actor: str
) -> RegisteredCallback:
    """Register the publisher's subscription ``subscription_id`` for the feed ``username``.

    ``secret`` (base64, 32 to 96 bytes) is the one agreed with the publisher; without it one
    is generated. The feed account must hold the ``feed`` role. ``ConflictError`` if the
    subscription is registered already.
    """
    sid = _subscription(subscription_id)
    if secret is None:
        secret = base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    else:
        try:
            key = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("secret must be base64") from None
        if not 32 <= len(key) <= 96:
            raise InputError(f"secret must hold 32 to 96 bytes, got {len(key)}")
    moment = tables.utcnow()
    with store.transaction() as conn:
        user = require_user(conn, username)
        if Role.FEED not in stored_roles(user.roles):
            raise InputError(f"user {user.username} does not hold the feed role")
        if conn.execute(select(_C.c.subscription_id).where(_C.c.subscription_id == sid)).first():
            raise ConflictError(f"subscription {sid} is registered already")
        conn.execute(insert(_C).values(subscription_id=sid, user_id=user.user_id, secret=secret,
                                       created_at=moment))  # fmt: skip
        chain.append(
            conn, actor=actor, action="callback_register", object_type="event_callback",
            object_id=sid, details={"username": user.username},
        )  # fmt: skip
        row = conn.execute(_listed().where(_C.c.subscription_id == sid)).one()
    return RegisteredCallback(secret, Callback(*row))


def list_callbacks(store: Store) -> tuple[Callback, ...]:
    """Every registered callback, oldest first (never its secret)."""
    with store.reading() as conn:
        rows = conn.execute(_listed().order_by(_C.c.created_at, _C.c.subscription_id)).all()
    return tuple(Callback(*row) for row in rows)


def revoke_callback(
    store: Store, subscription_id: str, *, actor: str, now: datetime | None = None
) -> Callback:
    """Refuse the subscription's deliveries from now on."""
    moment = now_or(now)
    sid = _subscription(subscription_id)
    with store.transaction() as conn:
        row = conn.execute(_listed().where(_C.c.subscription_id == sid)).first()
        if row is None:
            raise NotFoundError(f"no callback for subscription {sid}")
        if row.revoked_at is not None:
            raise ConflictError(f"the callback of subscription {sid} was revoked already")
        conn.execute(update(_C).where(_C.c.subscription_id == sid).values(revoked_at=moment))
        chain.append(
            conn, actor=actor, action="callback_revoke", object_type="event_callback",
            object_id=sid, details={"username": row.username},
        )  # fmt: skip
        return Callback(*conn.execute(_listed().where(_C.c.subscription_id == sid)).one())


def authenticate_callback(
    store: Store, subscription_id: str, *, signature: str | None, header_id: str | None,
    body: bytes,
) -> Principal:  # fmt: skip
    """The feed principal of a signed delivery for ``subscription_id`` (the callback URL's).

    ``signature`` is the ``Notification-Signature`` header, ``header_id`` the
    ``Subscription-ID`` header (it must name the same subscription), ``body`` the request body
    as received. One ``AuthenticationError`` for every failure (unknown or revoked
    subscription, disabled feed, missing or malformed header, wrong signature), compared in
    constant time.
    """
    found = _SIGNATURE.fullmatch((signature or "").strip())
    if (
        found is None
        or not isinstance(subscription_id, str)
        or not _SUBSCRIPTION.fullmatch(subscription_id)
        or (header_id or "").strip() != subscription_id
    ):
        raise AuthenticationError(_INVALID)
    with store.reading() as conn:
        row = conn.execute(
            select(_C.c.secret, _C.c.revoked_at, _U)
            .join(_U, _U.c.user_id == _C.c.user_id)
            .where(_C.c.subscription_id == subscription_id)
        ).first()
    if row is None or row.revoked_at is not None or row.disabled:
        raise AuthenticationError(_INVALID)
    expected = hmac.new(base64.b64decode(row.secret), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, found.group(1).lower()):
        raise AuthenticationError(_INVALID)
    feed = principal_of(row)
    # A delivery may only submit data, whatever else the account holds.
    return Principal(feed.name, feed.roles & {Role.FEED}, feed.terminals)
