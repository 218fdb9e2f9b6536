"""API tokens: create, list, revoke, and authenticate a presented token.

A token reads ``qw_<token id>_<secret>``; the store keeps the SHA-256 of the secret only (the
package docstring says why that is enough). A token is looked up by its id and its secret
compared in constant time.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from quaywatch.audit import chain
from quaywatch.domain.access import Principal, Role
from quaywatch.errors import AuthenticationError, ConflictError, InputError, NotFoundError, said
from quaywatch.services.accounts.users import (
    now_or,
    parse_roles,
    require_user,
    sha256_hex,
    stored_roles,
)
from quaywatch.store import tables
from quaywatch.store.store import Store

TOKEN_PREFIX = "qw_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365
#: A token's last use is written only when the one recorded is older than this.
TOUCH_EVERY = timedelta(minutes=1)

_TOKEN = re.compile(r"qw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
#: A partner administration's code, as the exchange names it (``exchange.messages``).
_PARTNER = re.compile(r"[A-Z]{2}[A-Z0-9]{3,15}")
_INVALID = "invalid or expired token"
_U, _T = tables.users, tables.api_tokens
_LISTED = select(
    _T.c.token_id, _U.c.username, _T.c.name, _T.c.roles, _T.c.created_at, _T.c.expires_at,
    _T.c.revoked_at, _T.c.last_used_at, _T.c.partner,
).join(_U, _U.c.user_id == _T.c.user_id)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as others may see it: never its secret or hash."""

    token_id: str
    username: str
    name: str
    roles: tuple[Role, ...]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    partner: str | None = None

    def state(self, now: datetime | None = None) -> str:
        """``revoked``, ``expired`` or ``active`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now_or(now) >= self.expires_at else "active"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: ``token`` is the secret, in this result only and never shown again."""

    token: str
    info: TokenInfo


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        row.token_id, row.username, row.name, stored_roles(row.roles), row.created_at,
        row.expires_at, row.revoked_at, row.last_used_at, row.partner,
    )  # fmt: skip


def create_token(
    store: Store,
    username: str,
    *,
    name: str,
    roles: Iterable[str | Role] | None = None,
    expires_in_days: int = DEFAULT_TOKEN_DAYS,
    partner: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> IssuedToken:
    """A new API token for ``username`` carrying ``roles`` (default: all the user's roles).

    A token carrying ``partner_node`` is bound to one ``partner`` (its administration code,
    e.g. BEANR): the exchange inbox takes from it only messages that partner signed.

    The secret is in the result only; the store keeps its hash. ``InputError`` for an empty
    ``name``, a role the user does not hold, ``expires_in_days`` outside 1 to 365, a
    partner_node token without its partner or a partner named for another token;
    ``NotFoundError`` for an unknown user, ``ConflictError`` for a disabled one.
    """
    moment = now_or(now)
    label = name.strip()
    if not label or len(label) > 128 or not label.isprintable():
        raise InputError(said("name must be 1 to 128 printable characters: what the token is for"))
    if not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise InputError(said("expires_in_days must be 1 to %(most)s, got %(got)s",
                              most=MAX_TOKEN_DAYS, got=expires_in_days))  # fmt: skip
    carried = None if roles is None else parse_roles(roles)
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires_at = moment + timedelta(days=expires_in_days)
    with store.transaction() as conn:
        user = require_user(conn, username)
        if user.disabled:
            raise ConflictError(
                said("user %(name)s is disabled; enable it to give it a token", name=user.username)
            )
        held = stored_roles(user.roles)
        carried = carried or held
        if missing := [r.value for r in carried if r not in held]:
            raise InputError(said(
                "roles: %(name)s does not hold %(missing)s; a token carries only roles of its "
                "user (%(held)s)", name=user.username, missing=", ".join(missing),
                held=", ".join(held),
            ))  # fmt: skip
        bound = _partner_of(conn, carried, partner)
        conn.execute(insert(_T).values(
            token_id=token_id, user_id=user.user_id, name=label, token_hash=sha256_hex(secret),
            roles=[r.value for r in carried], created_at=moment, expires_at=expires_at,
            partner=bound,
        ))  # fmt: skip
        chain.append(
            conn, actor=actor, action="token_create", object_type="api_token",
            object_id=token_id, details={"username": user.username, "name": label,
            "roles": [r.value for r in carried], "expires_at": expires_at.isoformat(),
            **({"partner": bound} if bound else {})},
        )  # fmt: skip
    info = TokenInfo(token_id, user.username, label, carried, moment, expires_at, None, None,
                     bound)  # fmt: skip
    return IssuedToken(f"{TOKEN_PREFIX}{token_id}_{secret}", info)


def _partner_of(conn: Connection, carried: Iterable[Role], partner: str | None) -> str | None:
    """The partner a token carrying ``carried`` is bound to (checked: a partner registered
    and not revoked, read in the token's transaction), or None."""
    code = None if partner is None else partner.strip().upper() or None
    if Role.PARTNER_NODE not in carried:
        if code is not None:
            raise InputError(
                said("partner: only a token carrying the partner_node role is bound to a partner")
            )
        return None
    if code is None:
        raise InputError(said(
            "partner: a partner_node token names the partner administration it delivers for "
            "(e.g. BEANR)"))  # fmt: skip
    if not _PARTNER.fullmatch(code):
        raise InputError(said(
            "partner: %(code)s is not an administration code (two letters and 3 to 15 letters "
            "or digits, e.g. BEANR)", code=repr(code[:40])))  # fmt: skip
    p = tables.exchange_partners
    row = conn.execute(
        select(p.c.revoked_at).where(p.c.administration == code)
    ).first()  # fmt: skip
    if row is None:
        raise InputError(said(
            "partner: %(code)s is not a registered partner (add it first: quaywatch partners "
            "add)", code=code))  # fmt: skip
    if row.revoked_at is not None:
        raise ConflictError(said(
            "partner: %(code)s was revoked on %(when)s; a revoked partner gets no token",
            code=code, when=format(row.revoked_at, "%Y-%m-%d")))  # fmt: skip
    return code


def list_tokens(store: Store, username: str | None = None) -> tuple[TokenInfo, ...]:
    """Every token (revoked and expired ones too), or ``username``'s, oldest first."""
    query = _LISTED.order_by(_T.c.created_at, _T.c.token_id)
    with store.reading() as conn:
        if username is not None:
            query = query.where(_T.c.user_id == require_user(conn, username).user_id)
        return tuple(_info(r) for r in conn.execute(query))


def revoke_token(
    store: Store, token_id: str, *, actor: str, now: datetime | None = None
) -> TokenInfo:
    """Revoke the token ``token_id`` (or a whole token, as leaked); it fails from now on.

    ``NotFoundError`` for an unknown id, ``ConflictError`` if it was revoked already.
    """
    moment = now_or(now)
    whole = _TOKEN.fullmatch(token_id.strip())
    wanted = whole.group(1) if whole else token_id.strip().lower()
    with store.transaction() as conn:
        row = conn.execute(_LISTED.where(_T.c.token_id == wanted)).first()
        if row is None:
            raise NotFoundError(said("no token %(id)s", id=repr(wanted)))
        if row.revoked_at is not None:
            raise ConflictError(said(
                "token %(token)s was revoked already, at %(when)s", token=wanted,
                when=format(row.revoked_at, "%Y-%m-%d %H:%M"),
            ))  # fmt: skip
        conn.execute(update(_T).where(_T.c.token_id == wanted).values(revoked_at=moment))
        chain.append(
            conn, actor=actor, action="token_revoke", object_type="api_token", object_id=wanted,
            details={"username": row.username, "name": row.name},
        )  # fmt: skip
        return _info(conn.execute(_LISTED.where(_T.c.token_id == wanted)).one())


def parse_token(presented: str) -> tuple[str, str]:
    """``(token_id, secret)`` of a token as presented; ``AuthenticationError`` if malformed."""
    found = _TOKEN.fullmatch(presented) if isinstance(presented, str) else None
    if found is None:
        raise AuthenticationError(_INVALID)
    return found.group(1), found.group(2)


def authenticate_token(store: Store, presented: str, *, now: datetime | None = None) -> Principal:
    """The principal of a presented API token (``Principal.token_id`` names the token).

    ``AuthenticationError`` ("invalid or expired token", whatever the cause) for a malformed,
    unknown, tampered, expired or revoked token or a disabled user. The principal's roles are
    those of the token its user still holds; its terminals are the user's.
    """
    moment = now_or(now)
    token_id, secret = parse_token(presented)
    with store.reading() as conn:
        row = conn.execute(
            select(_T.c.token_hash, _T.c.roles, _T.c.expires_at, _T.c.revoked_at,
                   _T.c.last_used_at, _T.c.partner, _U.c.username, _U.c.roles.label("user_roles"),
                   _U.c.terminals, _U.c.disabled)
            .join(_U, _U.c.user_id == _T.c.user_id).where(_T.c.token_id == token_id)
        ).first()  # fmt: skip
    if (
        row is None
        or not hmac.compare_digest(row.token_hash, sha256_hex(secret))
        or row.revoked_at is not None
        or moment >= row.expires_at
        or row.disabled
    ):
        raise AuthenticationError(_INVALID)
    if row.last_used_at is None or moment - row.last_used_at >= TOUCH_EVERY:
        with store.transaction() as conn:
            conn.execute(update(_T).where(_T.c.token_id == token_id).values(last_used_at=moment))
    roles = frozenset(stored_roles(row.roles)) & frozenset(stored_roles(row.user_roles))
    return Principal(name=row.username, roles=roles, terminals=frozenset(row.terminals or ()),
                     token_id=token_id, partner=row.partner)  # fmt: skip
