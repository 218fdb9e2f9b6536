"""Logins and sessions: log in (rate limited), authenticate a session cookie, log out.

A login verifies the password only after the rate limits (per username, per client) let it
through, records the attempt, and on success opens a session: the cookie value is returned
once, the store keeps its SHA-256. The package docstring gives the limits and why.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from quaywatch.audit import chain
from quaywatch.domain.access import Principal
from quaywatch.errors import AuthenticationError
from quaywatch.services.accounts.attempts import (
    check_rate,
    record_attempt,
    typed_text,
)
from quaywatch.services.accounts.users import (
    find_user,
    hash_password,
    needs_rehash,
    now_or,
    principal_of,
    sha256_hex,
    verify_password,
)
from quaywatch.store import tables
from quaywatch.store.store import Store

SESSION_LIFETIME = timedelta(hours=8)
SESSION_IDLE = timedelta(hours=1)
#: A session's last use is written only when the one recorded is older than this.
TOUCH_EVERY = timedelta(minutes=1)

_SESSION = re.compile(r"[A-Za-z0-9_-]{43}")
_CSRF_CONTEXT = b"quaywatch csrf v1"
_INVALID_SESSION = "invalid or expired session; log in again"
_INVALID_LOGIN = "invalid username or password"
_U, _S = tables.users, tables.sessions


@dataclass(frozen=True, slots=True)
class LoginSession:
    """A successful login: the cookie value (shown once), its CSRF token, its end, who it is."""

    session: str
    csrf_token: str
    expires_at: datetime
    principal: Principal
    language: str | None = None
    #: The password was a one-time password: the user must replace it before anything else.
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class SessionPrincipal:
    """Who a session cookie belongs to, and the CSRF token its pages and requests carry."""

    principal: Principal
    csrf_token: str
    expires_at: datetime
    #: The language the user chose for the web application (None: their browser's).
    language: str | None = None
    #: The user logged in with a one-time password and must replace it before anything else.
    must_change_password: bool = False

    def csrf_ok(self, presented: str | None) -> bool:
        """Whether ``presented`` is this session's CSRF token (compared in constant time)."""
        if not isinstance(presented, str):
            return False
        given = presented.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given, self.csrf_token.encode())


def _csrf(session: str) -> str:
    return hmac.new(session.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def login(
    store: Store, username: str, password: str, *, client: str, now: datetime | None = None
) -> LoginSession:
    """Check a username and password and open a session; ``client`` is the caller's address.

    ``TooManyAttemptsError`` (with ``retry_after_s``) once too many logins failed, before the
    password is looked at; ``AuthenticationError`` ("invalid username or password") for an
    unknown user, a wrong password, a disabled user or one without a password alike.
    """
    moment = now_or(now)
    typed, where = typed_text(username, 128), typed_text(client, 64) or "unknown"
    with store.reading() as conn:
        user = find_user(conn, typed)
        check_rate(conn, typed, where, user, moment)
    stored = user.password_hash if user is not None else None
    ok = verify_password(stored, password) and user is not None and not user.disabled
    rehashed = hash_password(password) if ok and stored and needs_rehash(stored) else None
    session = secrets.token_urlsafe(32)
    with store.transaction() as conn:
        record_attempt(conn, typed, where, user, moment, succeeded=ok)
        if ok:
            assert user is not None
            if rehashed is not None:
                conn.execute(update(_U).where(_U.c.user_id == user.user_id)
                             .values(password_hash=rehashed))  # fmt: skip
            conn.execute(insert(_S).values(
                session_id_hash=sha256_hex(session), user_id=user.user_id, client=where,
                created_at=moment, last_seen_at=moment, expires_at=moment + SESSION_LIFETIME,
            ))  # fmt: skip
            chain.append(
                conn, actor=user.username, action="login", object_type="user",
                object_id=user.username,
                details={"client": where, "rehashed": rehashed is not None},
            )  # fmt: skip
    if not ok or user is None:  # raised here: inside the block it would undo the attempt
        raise AuthenticationError(_INVALID_LOGIN)
    return LoginSession(
        session, _csrf(session), moment + SESSION_LIFETIME, principal_of(user), user.language,
        bool(user.must_change_password),
    )  # fmt: skip


def authenticate_session(
    store: Store, session_value: str, *, now: datetime | None = None
) -> SessionPrincipal:
    """The principal of a session cookie, with the CSRF token its requests must carry.

    ``AuthenticationError`` for a malformed, unknown, revoked or expired (8 hours after login,
    or an hour unused) session, or a disabled user.
    """
    moment = now_or(now)
    if not isinstance(session_value, str) or not _SESSION.fullmatch(session_value):
        raise AuthenticationError(_INVALID_SESSION)
    digest = sha256_hex(session_value)
    with store.reading() as conn:
        row = conn.execute(
            select(_S.c.expires_at, _S.c.last_seen_at, _S.c.revoked_at, _U)
            .join(_U, _U.c.user_id == _S.c.user_id).where(_S.c.session_id_hash == digest)
        ).first()  # fmt: skip
    if (
        row is None
        or row.revoked_at is not None
        or moment >= row.expires_at
        or moment >= row.last_seen_at + SESSION_IDLE
        or row.disabled
    ):
        raise AuthenticationError(_INVALID_SESSION)
    if moment - row.last_seen_at >= TOUCH_EVERY:
        with store.transaction() as conn:
            conn.execute(
                update(_S).where(_S.c.session_id_hash == digest).values(last_seen_at=moment)
            )
    return SessionPrincipal(
        principal_of(row), _csrf(session_value), row.expires_at, row.language,
        bool(row.must_change_password),
    )  # fmt: skip


def logout(store: Store, session_value: str, *, now: datetime | None = None) -> None:
    """End a session; an unknown, malformed or ended one is left as it is, without error."""
    moment = now_or(now)
    if not isinstance(session_value, str) or not _SESSION.fullmatch(session_value):
        return
    digest = sha256_hex(session_value)
    with store.transaction() as conn:
        row = conn.execute(
            select(_U.c.username).join(_S, _S.c.user_id == _U.c.user_id)
            .where(_S.c.session_id_hash == digest, _S.c.revoked_at.is_(None))
        ).first()  # fmt: skip
        if row is None:
            return
        conn.execute(update(_S).where(_S.c.session_id_hash == digest).values(revoked_at=moment))
        chain.append(
            conn, actor=row.username, action="logout", object_type="user", object_id=row.username
        )
